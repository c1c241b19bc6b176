/**
 * The one place git runs. Arguments go as an array (no shell); the environment is scrubbed of trace
 * variables that could print headers; authentication travels as `http.<prefix>.extraheader` in
 * GIT_CONFIG_* environment entries (owner-readable only), never in argv or a file. Output is passed
 * through the logging-command filter, and its tail is kept to explain failures.
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { GitError } from '../core/errors';
import { neutralize } from '../core/log';

export interface GitAuth {
  /** URL prefixes (with trailing slash) that receive the header, e.g. 'https://dev.azure.com/'. */
  readonly prefixes: readonly string[];
  readonly token: string;
}

export interface GitOptions {
  readonly cwd?: string;
  readonly auth?: GitAuth;
  /** Return stdout instead of logging it. */
  readonly capture?: boolean;
  readonly env?: Readonly<Record<string, string>>;
  /** Exit codes that are not failures (e.g. 1 for `git config --get` of a missing key). */
  readonly okExitCodes?: readonly number[];
}

export interface GitResult {
  readonly exitCode: number;
  readonly stdout: string;
}

export type Git = (args: readonly string[], options?: GitOptions) => Promise<GitResult>;

const SCRUBBED = /^(GIT_TRACE.*|GIT_CURL_VERBOSE|GIT_REDACT_COOKIES|GIT_ASKPASS|SSH_ASKPASS|GIT_DIR|GIT_WORK_TREE|GIT_INDEX_FILE)$/;

/** The environment git children get: ours, scrubbed, plus auth as extra GIT_CONFIG_* entries. */
export function gitEnvironment(base: NodeJS.ProcessEnv, auth: GitAuth | undefined, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!SCRUBBED.test(k) && v !== undefined) env[k] = v;
  Object.assign(env, { GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'Never', GIT_TRACE_REDACT: '1' }, extra);
  if (!auth) return env;
  let count = Number.parseInt(env['GIT_CONFIG_COUNT'] ?? '0', 10);
  if (!Number.isFinite(count) || count < 0) count = 0;
  const add = (key: string, value: string): void => {
    env[`GIT_CONFIG_KEY_${count}`] = key;
    env[`GIT_CONFIG_VALUE_${count}`] = value;
    count++;
  };
  for (const prefix of auth.prefixes) {
    add(`http.${prefix}.extraheader`, `AUTHORIZATION: bearer ${auth.token}`);
    add(`http.${prefix}.followRedirects`, 'false');
  }
  env['GIT_CONFIG_COUNT'] = String(count);
  return env;
}

/** What a failing git said, mapped to a hint where Azure DevOps gave a known code. */
function hintFor(stderr: string): string | undefined {
  if (/TF401019/.test(stderr)) return 'The repository does not exist or the identity cannot see it: check the name and that the identity has Basic access and Read on it.';
  if (/TF401027/.test(stderr)) return 'The identity lacks a git permission on the repository (named above): grant it, e.g. Contribute, in the repository security settings.';
  if (/TF402455/.test(stderr)) return 'A branch policy protects this branch: push to another branch and open a pull request (command: pullRequest).';
  if (/Authentication failed|could not read Username|TF400813/.test(stderr)) return 'The identity is not a member of that organization, or its token was refused: add it with Basic access.';
  if (/non-fast-forward|fetch first|\[rejected\]/.test(stderr)) return 'The branch has commits you do not have: fetch and rebase or merge first, or set force: true (uses --force-with-lease).';
  if (/couldn't find remote ref|not our ref|unadvertised object/i.test(stderr)) return 'The ref does not exist in the repository: check the branch, tag or commit.';
  return undefined;
}

function tail(text: string, lines = 12): string {
  return text.split(/\r?\n/).filter((l) => l.trim()).slice(-lines).join('\n');
}

/** Splits a byte stream into whole lines (LF, CRLF or a lone CR, as git's progress uses), across chunks. */
function lineReader(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  return {
    push(chunk) {
      const lines = (pending + decoder.write(chunk)).split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      lines.forEach(onLine);
    },
    end() {
      const rest = pending + decoder.end();
      pending = '';
      if (rest) onLine(rest);
    },
  };
}

/** Creates the Git runner. `log` receives git's (filtered) output lines; `secrets` are scrubbed from captured text. */
export function createGit(log: (line: string) => void, secrets: () => readonly string[] = () => []): Git {
  return (args, options = {}) => new Promise((resolve, reject) => {
    const child = spawn('git', [...args], {
      cwd: options.cwd,
      env: gitEnvironment(process.env, options.auth, options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const out: Buffer[] = [];
    let err = '';
    const scrub = (text: string): string => secrets().reduce((t, s) => (s ? t.split(s).join('***') : t), text);
    const emitLine = (line: string): void => {
      if (line.trim()) log(neutralize(scrub(line)));
    };
    const stdoutLines = lineReader(emitLine);
    const stderrLines = lineReader(emitLine);
    child.stdout.on('data', (chunk: Buffer) => (options.capture ? out.push(chunk) : stdoutLines.push(chunk)));
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
      if (err.length > 64_000) err = err.slice(-32_000);
      stderrLines.push(chunk);
    });
    child.on('error', (e) => reject(new GitError(`Could not run git: ${e.message}`, 'Install git 2.31 or later on the agent and put it on PATH.', null)));
    child.on('close', (code) => {
      stdoutLines.end();
      stderrLines.end();
      const exitCode = code ?? -1;
      const stdout = scrub(Buffer.concat(out).toString('utf8'));
      if (exitCode === 0 || options.okExitCodes?.includes(exitCode)) {
        resolve({ exitCode, stdout });
        return;
      }
      // eslint-disable-next-line no-control-regex
      const said = neutralize(tail(scrub(err)).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ''));
      const command = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c') ?? '';
      reject(new GitError(`git ${command} failed (exit code ${exitCode})${said ? `:\n${said}` : '.'}`, hintFor(err), exitCode));
    });
  });
}
