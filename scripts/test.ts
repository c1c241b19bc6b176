/**
 * `npm test` (after `pretest` built and packaged): the whole mocha suite twice, at the same time, in two processes:
 * - Node 20: mocha on the machine's Node; the agent-like runner runs the tasks with it, as agents do by default
 *   (a task's Node24 entry still runs on the agent's node20_1 binary unless a knob says otherwise);
 *   in both suites the agent's node20_1 is the machine's Node 20 ($AGENT_RUNNER_NODE20);
 * - Node 24: mocha on Node 24 (scripts/node24.ts), with AGENT_RUNNER_NODE24 naming it, so the runner plays an
 *   agent that has Node 24 and runs Node24 handlers with it (AGENT_USE_NODE24_WITH_HANDLER_DATA, test/agent). The
 *   unit tests and the tooling they drive (tsx, esbuild, tfx-cli, the emulators) run on Node 24 as well.
 * Each line is shown as it comes, prefixed with its suite; a failing suite's failures are printed again, whole, at the
 * end, with each suite's wall time. The exit code is 0 only when both pass.
 *
 *   npm test                         both suites
 *   npm test -- --node 24            one of them
 *   npm test -- --grep 'Arc'         anything else goes to both mocha processes
 */
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { node24Path } from './node24';

interface Suite {
  readonly name: string;
  readonly node: string;
  readonly env: Record<string, string>;
}

interface Outcome {
  readonly suite: Suite;
  readonly code: number;
  readonly ms: number;
  readonly lines: string[];
}

function parseArgs(argv: readonly string[]): { only?: string; mocha: string[] } {
  const mocha: string[] = [];
  let only: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--node') only = argv[++i];
    else mocha.push(argv[i]!);
  }
  if (only !== undefined && only !== '20' && only !== '24') throw new Error(`--node takes 20 or 24 (got '${only}')`);
  return { ...(only === undefined ? {} : { only }), mocha };
}

function run(suite: Suite, mochaArgs: readonly string[]): Promise<Outcome> {
  const started = Date.now();
  const lines: string[] = [];
  const child = spawn(suite.node, [require.resolve('mocha/bin/mocha.js'), ...(process.stdout.isTTY ? ['--color'] : []), ...mochaArgs], {
    env: { ...process.env, ...suite.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${suite.name}] `;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      process.stdout.write(`${prefix}${line}\n`);
    });
  }
  // Once mocha has printed its totals it only has to exit; one that does not is held up by something a test left
  // running (an emulator's child, a server). That is a failure to see, not a CI run to hang until its deadline.
  let watchdog: NodeJS.Timeout | undefined;
  let hung = false;
  const lineHandler = (line: string): void => {
    if (watchdog || !/^\s*\d+ passing/.test(plain(line))) return;
    watchdog = setTimeout(() => {
      hung = true;
      const left = leftovers(child.pid);
      const message = `mocha did not exit within ${EXIT_GRACE_MS / 1000} s of its last test; still running under it:\n${left || '(nothing: an open handle in mocha itself)'}`;
      lines.push(message);
      process.stdout.write(`${prefix}${message.replace(/\n/g, `\n${prefix}`)}\n`);
      child.kill('SIGKILL');
    }, EXIT_GRACE_MS);
  };
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', lineHandler);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      resolve({ suite, code: hung ? 1 : code ?? (signal ? 1 : 0), ms: Date.now() - started, lines });
    });
  });
}

/** How long mocha may take to exit after printing its totals. */
const EXIT_GRACE_MS = 60_000;

/** The processes under `pid` (ps, where there is one), to name what kept a suite from ending. */
function leftovers(pid: number | undefined): string {
  if (!pid || process.platform === 'win32') return '';
  try {
    const table = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).split('\n').map((row) => row.trim().split(/\s+/))
      .filter((cols) => cols.length >= 3).map(([p, pp, ...args]) => ({ pid: Number(p), ppid: Number(pp), args: args.join(' ') }));
    const under = new Set([pid]);
    for (let grew = true; grew;) {
      grew = false;
      for (const row of table) {
        if (under.has(row.ppid) && !under.has(row.pid)) {
          under.add(row.pid);
          grew = true;
        }
      }
    }
    return table.filter((row) => row.pid !== pid && under.has(row.pid)).map((row) => `  ${row.pid} ${row.args}`).join('\n');
  } catch {
    return '';
  }
}

// eslint-disable-next-line no-control-regex
const plain = (line: string): string => line.replace(/\x1b\[[0-9;]*m/g, '');

/** From mocha's "N failing" line to the end: the failures with their stacks. */
function failures(lines: readonly string[]): string[] {
  const start = lines.findIndex((line) => /^\s*\d+ failing/.test(plain(line)));
  return start < 0 ? [] : lines.slice(start);
}

function minutes(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const { only, mocha } = parseArgs(process.argv.slice(2));
  const suites: Suite[] = [];
  // Both agents' node20_1 is this Node (the machine's Node 20), whichever Node mocha itself runs on.
  const node20 = process.execPath;
  if (only !== '24') suites.push({ name: `node ${process.versions.node.split('.')[0]}`, node: node20, env: { AGENT_RUNNER_NODE24: '', AGENT_RUNNER_NODE20: node20 } });
  if (only !== '20') {
    const node24 = node24Path();
    suites.push({ name: 'node 24', node: node24, env: { AGENT_RUNNER_NODE24: node24, AGENT_RUNNER_NODE20: node20 } });
  }
  const outcomes = await Promise.all(suites.map((suite) => run(suite, mocha)));
  for (const outcome of outcomes.filter((o) => o.code !== 0)) {
    console.log(`\n=== ${outcome.suite.name}: failures ===`);
    for (const line of failures(outcome.lines)) console.log(line);
  }
  console.log('');
  for (const { suite, code, ms } of outcomes) console.log(`${suite.name.padEnd(8)} ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${minutes(ms)}`);
  console.log(`npm test: ${minutes(Date.now() - started)} wall time for ${outcomes.length} suite(s) in parallel`);
  if (outcomes.some((o) => o.code !== 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
