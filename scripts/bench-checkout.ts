/**
 * What `command: checkout` costs next to the git it runs: the PACKAGED ManagedIdentityRepository@1
 * (fetchDepth 1) through the agent-like runner, against a plain `git clone --depth 1` of the same repository
 * with the same kind of authentication (an extraheader in GIT_CONFIG_* environment variables), both against
 * the same loopback emulators. Runs alternate clone / task after one discarded warm-up pair, so drift hits
 * both sides; the figure is the ratio of the medians.
 *
 * Two repositories, because the ratio means little on one alone: the seeded `templates` (three files, a few
 * KiB), where the task's fixed costs (Node start, token, REST look-up) are nearly all of it, and a generated
 * one of realistic size (2,000 files, 20 MiB of mostly incompressible content, 50 commits; written by
 * test/emulators addGeneratedRepository in about a second), where the transfer and the checkout count.
 *
 *   npx tsx scripts/bench-checkout.ts [--runs 7] [--only small,large] [--json]      (after build + package)
 *
 * `benchCheckout()` is exported for `npm run bench`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installVsix, packagedVsix, runJob } from '../test/agent/runner';
import { AGENT_VM, addGeneratedRepository, scrubbedEnv, startEmulators, type GeneratedRepositoryOptions } from '../test/emulators';
import { median } from './stats';

const MiB = 1024 * 1024;

/** One repository to check out. */
export interface CheckoutCase {
  /** Short name, used in measure ids and --only: 'small', 'large'. */
  readonly id: string;
  readonly label: string;
  /** org/project/repo in the emulators' world. */
  readonly repository: readonly [string, string, string];
  /** Generate the repository (in the world's existing org and project) before measuring. */
  readonly generate?: Omit<GeneratedRepositoryOptions, 'org' | 'project' | 'name'>;
}

export const CHECKOUT_CASES: readonly CheckoutCase[] = [
  { id: 'small', label: 'seed repository: 3 files, 4 KiB', repository: ['fabrikam', 'Shared Tools', 'templates'] },
  {
    id: 'large',
    label: 'generated repository: 2,000 files, 20 MiB, 50 commits',
    repository: ['fabrikam', 'Shared Tools', 'generated-large'],
    generate: { files: 2000, bytes: 20 * MiB, commits: 50 },
  },
];

export interface CheckoutBenchOptions {
  /** Measured runs of each side (≥ 7 for a stable median). Default 7. */
  readonly runs?: number;
  /** Which repositories. Default CHECKOUT_CASES. */
  readonly cases?: readonly CheckoutCase[];
  /** The .vsix to install. Default the emulator flavour, dist/test/*.vsix. */
  readonly vsix?: string;
}

export interface Timings {
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
}

export interface CheckoutBenchResult {
  readonly case: CheckoutCase;
  readonly runs: number;
  readonly repository: string;
  /** What was generated, for a generated repository: files and bytes on the tip, commits, pack size. */
  readonly generated?: { readonly files: number; readonly bytes: number; readonly commits: number; readonly packBytes: number };
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

const timings = (samplesMs: number[]): Timings => ({ samplesMs, medianMs: median(samplesMs) });

/** A child process that does not block the event loop (the emulators serve from this process). */
function exec(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { env }, (err, _stdout, stderr) => (err ? reject(new Error(`${file} ${args[0]} failed: ${stderr}`)) : resolve()));
  });
}

export async function benchCheckout(options: CheckoutBenchOptions = {}): Promise<CheckoutBenchResult[]> {
  const runs = options.runs ?? 7;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive whole number (got ${runs})`);
  const cases = options.cases ?? CHECKOUT_CASES;
  const vsix = options.vsix ?? packagedVsix('emulator');

  const emu = await startEmulators();
  const scratch = mkdtempSync(join(tmpdir(), 'mi-bench-checkout-'));
  try {
    const task = (await installVsix(vsix, join(scratch, 'tasks'))).get('ManagedIdentityRepository');
    if (!task) throw new Error(`${vsix} has no ManagedIdentityRepository task.`);
    const variables = {
      'System.CollectionUri': `${emu.devops.orgUrl('contoso').replace(/\/?$/, '/')}`,
      'System.TeamProject': 'Web',
      'ManagedIdentity.TestHosts': new URL(emu.devops.url).host,
    };
    const results: CheckoutBenchResult[] = [];
    for (const c of cases) {
      const [org, project, repo] = c.repository;
      const generated = c.generate ? await addGeneratedRepository(emu.world, { org, project, name: repo, ...c.generate }) : undefined;
      const url = emu.devops.cloneUrl(org, project, repo).replace(/\/\/[^@/]+@/, '//');

      const viaTask = async (i: number): Promise<[number, number]> => {
        const agentRoot = join(scratch, `agent-${c.id}-${i}`);
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
        const target = join(scratch, `clone-${c.id}-${i}`);
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
      results.push({
        case: c,
        runs,
        repository: `${org}/${project}/${repo}`,
        ...(generated ? { generated: { files: generated.files, bytes: generated.bytes, commits: generated.commits, packBytes: generated.packBytes } } : {}),
        ...result,
        ratio: result.task.medianMs / result.gitClone.medianMs,
        stepRatio: result.taskStep.medianMs / result.gitClone.medianMs,
      });
    }
    return results;
  } finally {
    await emu.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Human-readable lines for results. */
export function formatCheckoutBench(results: readonly CheckoutBenchResult[]): string {
  const ms = (t: Timings): string => `median ${t.medianMs.toFixed(0)} ms  (${t.samplesMs.map((s) => s.toFixed(0)).join(', ')})`;
  return results.map((r) => [
    `checkout of ${r.repository} (${r.case.label}), fetchDepth 1, ${r.runs} runs each (after one warm-up):`,
    `  git clone --depth 1 (extraheader)           ${ms(r.gitClone)}`,
    `  task through the runner, job incl. post     ${ms(r.task)}`,
    `  task main step alone (process spawn..exit)  ${ms(r.taskStep)}`,
    `  ratio of medians: job ${r.ratio.toFixed(2)}x, main step ${r.stepRatio.toFixed(2)}x the plain clone ` +
      `(main step ${(r.taskStep.medianMs - r.gitClone.medianMs).toFixed(0)} ms over it)`,
  ].join('\n')).join('\n\n');
}

async function main(argv: readonly string[]): Promise<void> {
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const runs = Number(value('runs') ?? 7);
  const only = value('only')?.split(',').map((s) => s.trim());
  const cases = only ? CHECKOUT_CASES.filter((c) => only.includes(c.id)) : CHECKOUT_CASES;
  if (only && cases.length !== only.length) throw new Error(`--only takes ${CHECKOUT_CASES.map((c) => c.id).join(', ')} (got '${only.join(',')}')`);
  const results = await benchCheckout({ runs, cases });
  console.log(argv.includes('--json') ? JSON.stringify(results, null, 2) : formatCheckoutBench(results));
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
