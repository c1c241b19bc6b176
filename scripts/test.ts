/**
 * `npm test` (after `pretest` built and packaged): the whole mocha suite twice, at the same time, in two processes:
 * - Node 20: mocha on the machine's Node; the agent-like runner runs the tasks with it, as agents do by default
 *   (a task's Node24 entry still runs on the agent's node20_1 binary unless a knob says otherwise);
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
import { spawn } from 'node:child_process';
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
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ suite, code: code ?? (signal ? 1 : 0), ms: Date.now() - started, lines }));
  });
}

/** From mocha's "N failing" line to the end: the failures with their stacks. */
function failures(lines: readonly string[]): string[] {
  // eslint-disable-next-line no-control-regex
  const plain = (line: string): string => line.replace(/\x1b\[[0-9;]*m/g, '');
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
  if (only !== '24') suites.push({ name: `node ${process.versions.node.split('.')[0]}`, node: process.execPath, env: { AGENT_RUNNER_NODE24: '' } });
  if (only !== '20') {
    const node24 = node24Path();
    suites.push({ name: 'node 24', node: node24, env: { AGENT_RUNNER_NODE24: node24 } });
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
