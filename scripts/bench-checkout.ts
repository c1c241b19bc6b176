/**
 * What `command: checkout` costs next to the git it runs: the PACKAGED ManagedIdentityRepository@1
 * (fetchDepth 1) through the agent-like runner, against a plain `git clone --depth 1` of the same repository
 * with the same kind of authentication (an extraheader in GIT_CONFIG_* environment variables), both against
 * the same loopback emulators. Runs alternate clone / task after one discarded warm-up pair, so drift hits
 * both sides; the figure is the ratio of the medians.
 *
 *   npx tsx scripts/bench-checkout.ts [--runs 7] [--json]      (after build + package)
 *
 * `benchCheckout()` is exported for `npm run bench`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installVsix, runJob } from '../test/agent/runner';
import { AGENT_VM, scrubbedEnv, startEmulators } from '../test/emulators';

export interface CheckoutBenchOptions {
  /** Measured runs of each side (≥ 7 for a stable median). Default 7. */
  readonly runs?: number;
  /** Which repository, as org/project/repo of the emulators' world. Default fabrikam/Shared Tools/templates. */
  readonly repository?: readonly [string, string, string];
  /** The .vsix to install. Default the only one in dist/. */
  readonly vsix?: string;
}

export interface Timings {
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
}

export interface CheckoutBenchResult {
  readonly runs: number;
  readonly repository: string;
  /** Whole job through the runner: the task's main step and its post-job step, process spawn included. */
  readonly task: Timings;
  /** The task's main step alone (spawn to exit of its process), as the runner timed it. */
  readonly taskStep: Timings;
  /** `git clone --depth 1` with the token in an extraheader. */
  readonly gitClone: Timings;
  /** task.medianMs / gitClone.medianMs. */
  readonly ratio: number;
  readonly stepRatio: number;
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const timings = (samplesMs: number[]): Timings => ({ samplesMs, medianMs: median(samplesMs) });

/** A child process that does not block the event loop (the emulators serve from this process). */
function exec(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { env }, (err, _stdout, stderr) => (err ? reject(new Error(`${file} ${args[0]} failed: ${stderr}`)) : resolve()));
  });
}

export async function benchCheckout(options: CheckoutBenchOptions = {}): Promise<CheckoutBenchResult> {
  const runs = options.runs ?? 7;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive whole number (got ${runs})`);
  const [org, project, repo] = options.repository ?? ['fabrikam', 'Shared Tools', 'templates'];
  const vsix = options.vsix ?? join('dist', readdirSync('dist').find((f) => f.endsWith('.vsix')) ?? '');
  if (!vsix.endsWith('.vsix')) throw new Error('No .vsix in dist/: run `npx tsx scripts/build.ts && npx tsx scripts/package.ts` first.');

  const emu = await startEmulators();
  const scratch = mkdtempSync(join(tmpdir(), 'mi-bench-checkout-'));
  try {
    const task = (await installVsix(vsix, join(scratch, 'tasks'))).get('ManagedIdentityRepository');
    if (!task) throw new Error(`${vsix} has no ManagedIdentityRepository task.`);
    const url = emu.devops.cloneUrl(org, project, repo).replace(/\/\/[^@/]+@/, '//');
    const variables = {
      'System.CollectionUri': `${emu.devops.orgUrl('contoso').replace(/\/?$/, '/')}`,
      'System.TeamProject': 'Web',
      'ManagedIdentity.TestHosts': new URL(emu.devops.url).host,
    };

    const viaTask = async (i: number): Promise<[number, number]> => {
      const agentRoot = join(scratch, `agent-${i}`);
      const started = performance.now();
      const job = await runJob({
        agentRoot,
        env: emu.env(),
        variables,
        steps: [{ task, inputs: { command: 'checkout', repository: `${org}/${project}/${repo}`, fetchDepth: '1' } }],
      });
      const elapsed = performance.now() - started;
      if (job.result !== 'Succeeded') throw new Error(`checkout task failed:\n${job.log}`);
      rmSync(agentRoot, { recursive: true, force: true });
      return [elapsed, job.steps[0]!.durationMs];
    };

    const viaGit = async (i: number): Promise<number> => {
      // The same kind of credential the task sends, minted up front: the baseline pays for no identity call.
      const token = emu.tokenFor(AGENT_VM.key);
      const env = {
        ...scrubbedEnv({ PATH: process.env['PATH'] ?? '' }),
        HOME: scratch,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: `http.${new URL(url).origin}/.extraheader`,
        GIT_CONFIG_VALUE_0: `AUTHORIZATION: bearer ${token}`,
      };
      const target = join(scratch, `clone-${i}`);
      const started = performance.now();
      await exec('git', ['clone', '--quiet', '--depth', '1', url, target], env);
      const elapsed = performance.now() - started;
      rmSync(target, { recursive: true, force: true });
      return elapsed;
    };

    await viaGit(-1);
    await viaTask(-1);
    const git: number[] = [];
    const job: number[] = [];
    const step: number[] = [];
    for (let i = 0; i < runs; i++) {
      git.push(await viaGit(i));
      const [j, s] = await viaTask(i);
      job.push(j);
      step.push(s);
    }
    const result = { task: timings(job), taskStep: timings(step), gitClone: timings(git) };
    return {
      runs,
      repository: `${org}/${project}/${repo}`,
      ...result,
      ratio: result.task.medianMs / result.gitClone.medianMs,
      stepRatio: result.taskStep.medianMs / result.gitClone.medianMs,
    };
  } finally {
    await emu.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Human-readable lines for a result. */
export function formatCheckoutBench(r: CheckoutBenchResult): string {
  const ms = (t: Timings): string => `median ${t.medianMs.toFixed(0)} ms  (${t.samplesMs.map((s) => s.toFixed(0)).join(', ')})`;
  return [
    `checkout of ${r.repository}, fetchDepth 1, ${r.runs} runs each (after one warm-up):`,
    `  git clone --depth 1 (extraheader)           ${ms(r.gitClone)}`,
    `  task through the runner, job incl. post     ${ms(r.task)}`,
    `  task main step alone (process spawn..exit)  ${ms(r.taskStep)}`,
    `  ratio of medians: job ${r.ratio.toFixed(2)}x, main step ${r.stepRatio.toFixed(2)}x the plain clone`,
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
  const at = argv.indexOf('--runs');
  const runs = at >= 0 ? Number(argv[at + 1]) : 7;
  const result = await benchCheckout({ runs });
  console.log(argv.includes('--json') ? JSON.stringify(result, null, 2) : formatCheckoutBench(result));
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
