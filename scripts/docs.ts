/**
 * Keeps overview.md (the Marketplace page) true to the code:
 * - the regions between `<!-- inputs:<Task> -->` and `<!-- /inputs -->`, and `<!-- outputs:<Task> -->` and
 *   `<!-- /outputs -->`, are tables written from tasks/<Task>V1/task.json;
 * - every message the tasks emit (the first argument of `new TaskError|IdentityError|DevOpsError|GitError(…)`,
 *   InputError's whole message, and the text of every `….warn(…)`) needs a row in a table of the Troubleshooting section.
 *
 *   npx tsx scripts/docs.ts            rewrite the generated regions of overview.md
 *   npx tsx scripts/docs.ts --check    exit 1 when overview.md is stale or a message has no row
 *
 * How a row covers a message: the message becomes a pattern, its literal text with `…` for each `${…}`
 * (an identifier is followed to a top-level string constant of the same file; `x.message` passes on a message made,
 * and checked, elsewhere). The row's Message cell, also read
 * with `…` as "any text", must match that pattern from its start: it may stop early, put an example
 * value where the code has `${…}` ("The App Service endpoint …"), or skip text with `…`; and it must
 * share at least 20 literal characters with the message (all of them, if it has fewer). InputError's
 * messages all read `Input '<name>' <accepted form> (got '<value>').`: a few generic rows cover them.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

// ---------------------------------------------------------------------------------------------------
// Tables from task.json

interface TaskInput {
  name: string;
  type: string;
  label?: string;
  defaultValue?: string | boolean;
  required?: boolean;
  helpMarkDown?: string;
  visibleRule?: string;
  groupName?: string;
  options?: Record<string, string>;
}

interface TaskJson {
  name: string;
  inputs?: TaskInput[];
  outputVariables?: Array<{ name: string; description?: string }>;
}

const cell = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, ' ').replace(/\|/g, '\\|').trim();
const code = (text: string): string => `\`${text}\``;

/** The commands an input is shown for (`command = a || command = b`), or undefined when it has no rule. */
function commandsOf(input: TaskInput): string[] | undefined {
  if (!input.visibleRule) return undefined;
  const commands = [...input.visibleRule.matchAll(/command\s*=\s*([A-Za-z]+)/g)].map((m) => m[1]!);
  return commands.length ? commands : undefined;
}

function defaultOf(input: TaskInput): string {
  const value = String(input.defaultValue ?? '');
  if (input.required) return value ? `${code(value)} (required)` : 'required';
  return value ? code(value) : '';
}

function meaningOf(input: TaskInput): string {
  const help = cell(input.helpMarkDown ?? input.label ?? '');
  const options = input.type === 'pickList' && input.options && !Object.keys(input.options).every((o) => help.includes(code(o)))
    ? ` One of ${Object.keys(input.options).map(code).join(', ')}.` : '';
  return help + options;
}

/** The inputs of a task as a Markdown table; a Commands column when inputs depend on `command`. */
export function inputsTable(task: TaskJson): string {
  const inputs = task.inputs ?? [];
  const byCommand = inputs.some((i) => commandsOf(i) !== undefined);
  const header = byCommand ? ['Input', 'Commands', 'Default', 'Meaning'] : ['Input', 'Default', 'Meaning'];
  const rows = inputs.map((input) => {
    const commands = commandsOf(input)?.map(code).join(', ') ?? 'all';
    return byCommand
      ? [code(input.name), commands, defaultOf(input), meaningOf(input)]
      : [code(input.name), defaultOf(input), meaningOf(input)];
  });
  return table(header, rows);
}

/** The output variables a task declares, as a Markdown table (empty when it declares none). */
export function outputsTable(task: TaskJson): string {
  const outputs = task.outputVariables ?? [];
  if (!outputs.length) return '';
  return table(['Output variable', 'Meaning'], outputs.map((o) => [code(o.name), cell(o.description ?? '')]));
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const REGION = /(<!-- (inputs|outputs):([A-Za-z]+) -->\n)[\s\S]*?(<!-- \/\2 -->)/g;

/** overview.md with every generated region rewritten from `taskJson(name)`. */
export function generate(overview: string, taskJson: (name: string) => TaskJson): string {
  return overview.replace(REGION, (_, open: string, kind: string, name: string, close: string) => {
    const task = taskJson(name);
    const body = kind === 'inputs' ? inputsTable(task) : outputsTable(task);
    return `${open}${body ? `${body}\n` : ''}${close}`;
  });
}

/** The generated regions overview.md has, as `kind:Task`. */
export function regionsIn(overview: string): string[] {
  return [...overview.matchAll(REGION)].map((m) => `${m[2]}:${m[3]}`);
}

export function readTaskJson(name: string, root = '.'): TaskJson {
  return JSON.parse(readFileSync(join(root, 'tasks', `${name}V1`, 'task.json'), 'utf8')) as TaskJson;
}

// ---------------------------------------------------------------------------------------------------
// Messages the tasks emit

/** Stands for text only known at run time (a `${…}` in the code, a `…` in a row). */
export const ANY = Symbol('any');
export type Pattern = Array<string | typeof ANY>;

export interface EmittedMessage {
  /** `src/x.ts:12` */
  where: string;
  kind: 'error' | 'warning';
  /** The class for errors (`DevOpsError`), `warn` for warnings. */
  source: string;
  pattern: Pattern;
}

const ERROR_CLASSES = new Set(['TaskError', 'IdentityError', 'DevOpsError', 'GitError', 'InputError']);

/** The message with `…` for each run-time part, whitespace collapsed. */
export function showPattern(pattern: Pattern): string {
  return pattern.map((p) => (p === ANY ? '…' : p)).join('').replace(/\s+/g, ' ');
}

/** The file's top-level `const NAME = '…'` (or a template, or '…' + '…'): what a message may be built from. */
function stringConstants(file: ts.SourceFile): Map<string, ts.Expression> {
  const found = new Map<string, ts.Expression>();
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement) || !(statement.declarationList.flags & ts.NodeFlags.Const)) continue;
    for (const declaration of statement.declarationList.declarations) {
      const init = declaration.initializer;
      if (ts.isIdentifier(declaration.name) && init && (ts.isStringLiteralLike(init) || ts.isTemplateExpression(init)
        || (ts.isBinaryExpression(init) && init.operatorToken.kind === ts.SyntaxKind.PlusToken))) {
        found.set(declaration.name.text, init);
      }
    }
  }
  return found;
}

function patternOf(expr: ts.Expression | undefined, constants: Map<string, ts.Expression>, depth = 0): Pattern {
  if (!expr) return [ANY];
  if (ts.isStringLiteralLike(expr)) return [expr.text];
  if (ts.isTemplateExpression(expr)) {
    const constant = (e: ts.Expression): Pattern => (ts.isIdentifier(e) && constants.has(e.text) ? patternOf(e, constants, depth) : [ANY]);
    return [expr.head.text, ...expr.templateSpans.flatMap((span) => [...constant(span.expression), span.literal.text])];
  }
  if (ts.isParenthesizedExpression(expr)) return patternOf(expr.expression, constants, depth);
  if (ts.isBinaryExpression(expr) && expr.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    return [...patternOf(expr.left, constants, depth), ...patternOf(expr.right, constants, depth)];
  }
  if (ts.isIdentifier(expr) && depth < 3 && constants.has(expr.text)) return patternOf(constants.get(expr.text), constants, depth + 1);
  return [ANY];
}

/** InputError(input, value, accepted) says `Input '<input>' <accepted> (got '<value>').` (src/core/errors.ts). */
function inputErrorPattern(accepted: Pattern): Pattern {
  return ["Input '", ANY, "' ", ...accepted, " (got '", ANY, "')."];
}

const literalLength = (pattern: Pattern): number => pattern.reduce<number>((n, p) => n + (p === ANY ? 0 : p.replace(/\s+/g, ' ').length), 0);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every error and warning message constructed in the TypeScript files under `dir`. */
export function emittedMessages(dir = 'src'): EmittedMessage[] {
  return sourceFiles(dir).flatMap((path) => messagesIn(relative('.', path), readFileSync(path, 'utf8')));
}

/** The error and warning messages constructed in one source text. */
export function messagesIn(path: string, text: string): EmittedMessage[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const constants = stringConstants(file);
  const found: EmittedMessage[] = [];
  const where = (node: ts.Node): string => `${path.replace(/\\/g, '/')}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && ERROR_CLASSES.has(node.expression.text)) {
      const name = node.expression.text;
      const first = node.arguments?.[0];
      // `new DevOpsError(explained.message, …)` passes on a message made (and scanned) elsewhere.
      const forwarded = first !== undefined && ts.isPropertyAccessExpression(first) && first.name.text === 'message';
      const pattern = name === 'InputError'
        ? inputErrorPattern(patternOf(node.arguments?.[2], constants))
        : patternOf(first, constants);
      if (!forwarded) found.push({ where: where(node), kind: 'error', source: name, pattern });
    }
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'warn') {
      const pattern = patternOf(node.arguments[0], constants);
      // A warn that forwards a message it was given (`warn: (m) => io.warn(m)`) is not a message of its own.
      if (literalLength(pattern) > 0) found.push({ where: where(node), kind: 'warning', source: 'warn', pattern });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

// ---------------------------------------------------------------------------------------------------
// The Troubleshooting table

export interface TroubleshootingRow {
  message: string;
  cause: string;
  fix: string;
}

function splitCells(line: string): string[] {
  const cells: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\' && line[i + 1] === '|') {
      current += '|';
      i++;
    } else if (line[i] === '|') {
      cells.push(current.trim());
      current = '';
    } else {
      current += line[i];
    }
  }
  cells.push(current.trim());
  return cells.slice(1, -1);
}

/** The rows of every table in the `## Troubleshooting` section (its `###` subsections included), headers left out. */
export function troubleshootingRows(overview: string): TroubleshootingRow[] {
  const lines = overview.split('\n');
  const start = lines.findIndex((l) => /^##\s+Troubleshooting\s*$/.test(l));
  if (start < 0) return [];
  const rows: TroubleshootingRow[] = [];
  for (let i = start + 1; i < lines.length && !/^#{1,2}\s/.test(lines[i]!); i++) {
    if (!lines[i]!.startsWith('|')) continue;
    const isHeader = /^\|[\s:|-]+\|$/.test(lines[i + 1] ?? '') && !lines[i - 1]?.startsWith('|');
    if (isHeader || /^\|[\s:|-]+\|$/.test(lines[i]!)) continue;
    const [message = '', cause = '', fix = ''] = splitCells(lines[i]!);
    rows.push({ message, cause, fix });
  }
  return rows;
}

/** A row's Message cell as a pattern: code spans unwrapped, `…` for "any text". */
export function rowPattern(message: string): Pattern {
  const text = message.replace(/`/g, '').replace(/\s+/g, ' ').trim();
  return text.split('…').flatMap((part, i): Pattern => (i === 0 ? [part] : [ANY, part])).filter((p) => p !== '');
}

type Token = string | typeof ANY;
const tokens = (pattern: Pattern): Token[] =>
  pattern.flatMap((p): Token[] => (p === ANY ? [ANY] : [...p.replace(/\s+/g, ' ')]));

/**
 * How many literal characters `row` shares with `message` when the row is read from the message's start
 * (see the header), or -1 when it does not match.
 */
export function matchedLiterals(row: Pattern, message: Pattern): number {
  const r = tokens(row);
  const m = tokens(message);
  // Both start with literal text that differs: no match (this settles most pairs without the table below).
  for (let k = 0; k < Math.min(r.length, m.length) && r[k] !== ANY && m[k] !== ANY; k++) if (r[k] !== m[k]) return -1;
  // best(i, j): the most literal characters row[i..] matches against message[j..]; -1: no match. Only the
  // states reachable from the start are visited: a literal that differs from a literal ends a path at once.
  const memo = new Map<number, number>();
  const best = (i: number, j: number): number => {
    if (i === r.length) return 0;
    const key = i * (m.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let value = -1;
    if (r[i] === ANY) {
      value = Math.max(best(i + 1, j), j < m.length ? best(i, j + 1) : -1);
    } else if (j < m.length) {
      if (m[j] === ANY) value = Math.max(best(i, j + 1), best(i + 1, j));
      else if (m[j] === r[i]) value = best(i + 1, j + 1) >= 0 ? best(i + 1, j + 1) + 1 : -1;
    }
    memo.set(key, value);
    return value;
  };
  return best(0, 0);
}

export const MIN_SHARED = 20;

/** True when the row documents the message (see the header). */
export function covers(row: Pattern, message: Pattern): boolean {
  return matchedLiterals(row, message) >= Math.min(MIN_SHARED, literalLength(message));
}

/** The messages no row covers, and messages with no literal text at all (they cannot be documented). */
export function undocumented(messages: readonly EmittedMessage[], rows: readonly TroubleshootingRow[]): EmittedMessage[] {
  const patterns = rows.map((row) => rowPattern(row.message));
  return messages.filter((m) => literalLength(m.pattern) === 0 || !patterns.some((p) => covers(p, m.pattern)));
}

// ---------------------------------------------------------------------------------------------------

/** What `--check` reports: a stale region, rows without cause or fix, messages without a row. */
export function problems(overview: string, messages: readonly EmittedMessage[], taskJson: (name: string) => TaskJson): string[] {
  const found: string[] = [];
  if (generate(overview, taskJson) !== overview) found.push('overview.md: generated tables differ from task.json; run `npm run docs`.');
  const rows = troubleshootingRows(overview);
  if (!rows.length) found.push('overview.md: no table in the "## Troubleshooting" section.');
  for (const row of rows) if (!row.cause || !row.fix) found.push(`overview.md: the row "${row.message}" needs a cause and a fix.`);
  for (const m of undocumented(messages, rows)) {
    found.push(`${m.where}: ${m.kind} "${showPattern(m.pattern)}" has no row in the Troubleshooting table of overview.md.`);
  }
  return found;
}

function main(): void {
  const overview = readFileSync('overview.md', 'utf8');
  if (process.argv.includes('--check')) {
    const found = problems(overview, emittedMessages('src'), (name) => readTaskJson(name));
    for (const line of found) console.error(line);
    process.exitCode = found.length ? 1 : 0;
    if (!found.length) console.log('overview.md is up to date.');
    return;
  }
  const updated = generate(overview, (name) => readTaskJson(name));
  if (updated !== overview) writeFileSync('overview.md', updated);
  console.log(updated === overview ? 'overview.md is up to date.' : `Rewrote ${regionsIn(updated).join(', ')} in overview.md.`);
}

if (require.main === module) main();
