/**
 * How long the packaged tasks take to start and do their work, next to an empty Node task, on Node 20 and on
 * Node 24 (the agent runs a task on Node 24 when task.json declares the Node24 handler and the agent enables it),
 * with the bundles' code cache cold and warm (src/core/compile-cache.ts).
 *
 * The subjects:
 * - Authenticate main: the PACKAGED ManagedIdentityAuthenticate@1 (organizations contoso, verify true, IMDS) through
 *   the agent-like runner, against the loopback emulators. The figure is the step's `durationMs`: spawn to close of
 *   the task's own process, as the runner's ProcessInvoker sees it.
 * - credential helper get: the packaged credential-helper.js answering one `get` from git (stdin, IMDS), spawn to
 *   close.
 *
 * The baseline, the "empty Node task": a task folder whose task.json declares the same Node20_1 and Node24
 * handlers and whose main.js is an empty file, run through the same runner with the same variables,
 * environment and Node binary; for the helper, `node <empty .js file>` fed the same stdin with the same
 * environment. So both sides carry Node's own start, the runner's spawn and pipes, and nothing else.
 *
 * Next to the wall time, each process's CPU time (user + system, all threads, from `process.cpuUsage()` at its 'exit'
 * event, through a `--require` probe that both sides load): on a machine other jobs share, wall time mostly measures
 * the wait for a core, CPU time much less so. (The CPU figure ends at 'exit': a cold run's cache write after it is in
 * the wall time only.)
 *
 * Cold: every run gets a new HOME, so the compile cache (under HOME) is empty and the task writes it at exit.
 * Warm: one HOME for the series, after one discarded run that fills it. Runs alternate baseline / subject, so
 * drift on a shared machine hits both; each figure is reported as the ratio of the medians and as the median
 * of the paired ratios.
 *
 *   npx tsx scripts/bench-start.ts [--runs 7] [--vsix dist/x.vsix] [--json]      (after build + package)
 *
 * `benchStart()` and `startReport()` are used by `npm run bench` (`--only start`).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentNode20, installVsix, packagedVsix, runJob } from '../test/agent/runner';
import { jobVariables } from '../test/e2e/support';
import { scrubbedEnv, startEmulators, type Emulators } from '../test/emulators';
import { writeSession } from '../src/git/session';
import { node24Path } from './node24';
import { median, summarize } from './stats';
import type { BudgetCheck, Measure } from './bench';

/** Authenticate main and the helper on Node 24 with a warm cache: at most this many times the empty task. */
export const START_BUDGET = 2;

export type NodeLine = '20' | '24';
export type CacheState = 'cold' | 'warm';
export type Subject = 'auth' | 'helper';

export interface StartSeries {
  readonly node: NodeLine;
  readonly nodeVersion: string;
  readonly cache: CacheState;
  readonly subject: Subject;
  readonly subjectMs: readonly number[];
  readonly baselineMs: readonly number[];
  /** subject / baseline of each alternating pair. */
  readonly pairRatios: readonly number[];
  /** CPU time (user + system) of each process, ms. */
  readonly subjectCpuMs: readonly number[];
  readonly baselineCpuMs: readonly number[];
  readonly cpuPairRatios: readonly number[];
  readonly failure?: string;
}

export interface StartBenchOptions {
  readonly runs?: number;
  /** The .vsix to install. Default the emulator flavour, dist/test/*.vsix (the release build refuses the loopback emulators). */
  readonly vsix?: string;
  readonly nodes?: readonly NodeLine[];
  readonly log?: (line: string) => void;
}

/** The empty Node task: same handlers as the real tasks, main.js an empty file. */
export function writeEmptyTask(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'task.json'), JSON.stringify({
    id: '3c9a2f5e-0d1b-4e6a-9b7c-5f4e3d2c1b0a',
    name: 'EmptyNodeTask',
    friendlyName: 'Empty Node task (benchmark baseline)',
    description: 'Does nothing: what starting a Node task costs.',
    category: 'Utility',
    author: 'benchmark',
    version: { Major: 1, Minor: 0, Patch: 0 },
    instanceNameFormat: 'Empty Node task',
    inputs: [],
    execution: { Node20_1: { target: 'main.js', argumentFormat: '' }, Node24: { target: 'main.js', argumentFormat: '' } },
  }, null, 2));
  writeFileSync(join(dir, 'main.js'), '');
  return dir;
}

interface Timed {
  readonly ms: number;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawn → close of `node …args` fed `stdin`. */
function timedNode(nodePath: string, args: readonly string[], env: Record<string, string>, stdin: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(nodePath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ ms: Math.round((performance.now() - started) * 10) / 10, exitCode, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

interface Run {
  readonly ms: number;
  readonly cpuMs: number;
}
type Attempt = { readonly run: Run; readonly failure?: undefined } | { readonly run?: undefined; readonly failure: string };

/** Preloaded into both sides: writes the process's CPU time (ms) to $BENCH_CPU_FILE at exit. */
const CPU_PROBE = `process.on('exit', () => { const u = process.cpuUsage(); require('fs').writeFileSync(process.env.BENCH_CPU_FILE, String((u.user + u.system) / 1000)); });\n`;

function readCpu(file: string): number | undefined {
  try {
    const ms = Number(readFileSync(file, 'utf8'));
    rmSync(file, { force: true });
    return Number.isFinite(ms) && ms > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

class Series {
  readonly subjectMs: number[] = [];
  readonly baselineMs: number[] = [];
  readonly pairRatios: number[] = [];
  readonly subjectCpuMs: number[] = [];
  readonly baselineCpuMs: number[] = [];
  readonly cpuPairRatios: number[] = [];
  failure?: string;
  constructor(readonly node: NodeLine, readonly nodeVersion: string, readonly cache: CacheState, readonly subject: Subject) {}
  add(baseline: Run, subject: Run): void {
    this.baselineMs.push(baseline.ms);
    this.subjectMs.push(subject.ms);
    this.pairRatios.push(subject.ms / baseline.ms);
    this.baselineCpuMs.push(baseline.cpuMs);
    this.subjectCpuMs.push(subject.cpuMs);
    this.cpuPairRatios.push(subject.cpuMs / baseline.cpuMs);
  }
  result(): StartSeries {
    return { node: this.node, nodeVersion: this.nodeVersion, cache: this.cache, subject: this.subject, subjectMs: this.subjectMs,
      baselineMs: this.baselineMs, pairRatios: this.pairRatios, subjectCpuMs: this.subjectCpuMs, baselineCpuMs: this.baselineCpuMs,
      cpuPairRatios: this.cpuPairRatios, ...(this.failure ? { failure: this.failure } : {}) };
  }
}

/** Measures every series; a failed run stops its series and records why. */
export async function benchStart(options: StartBenchOptions = {}): Promise<StartSeries[]> {
  const runs = options.runs ?? 7;
  const log = options.log ?? (() => undefined);
  const vsix = options.vsix ?? packagedVsix('emulator');
  const scratch = mkdtempSync(join(tmpdir(), 'bench-start-'));
  const emu: Emulators = await startEmulators();
  const out: StartSeries[] = [];
  try {
    const tasks = await installVsix(vsix, join(scratch, 'tasks'));
    const auth = tasks.get('ManagedIdentityAuthenticate');
    if (!auth) throw new Error(`${vsix} has no ManagedIdentityAuthenticate task`);
    const empty = writeEmptyTask(join(scratch, 'empty-task'));
    const probe = join(scratch, 'cpu-probe.js');
    writeFileSync(probe, CPU_PROBE);
    const emptyScript = join(empty, 'main.js');
    const helper = join(auth, 'credential-helper.js');
    const host = new URL(emu.devops.url).host;
    const session = writeSession(scratch, { version: 1, selector: { kind: 'system' }, prefixes: [`${emu.devops.orgUrl('contoso')}/`], policy: { loopbackHosts: [host] } });
    const request = `protocol=http\nhost=${host}\npath=contoso/Web/_git/app\n\n`;
    const homes: string[] = [];
    const newHome = (): string => {
      const home = mkdtempSync(join(scratch, 'home-'));
      homes.push(home);
      return home;
    };

    for (const node of options.nodes ?? ['20', '24'] as const) {
      const nodePath = node === '20' ? agentNode20() : node24Path();
      const nodeVersion = (await timedNode(nodePath, ['--version'], scrubbedEnv(), '')).stdout.trim();
      let count = 0;
      const cpuFile = (): string => join(scratch, `cpu-${count++}`);
      const job = async (task: string, home: string): Promise<Attempt> => {
        const file = cpuFile();
        const result = await runJob({
          steps: [{ task, inputs: { organizations: 'contoso', verify: 'true' } }],
          variables: jobVariables(emu),
          env: { ...emu.env(), HOME: home, NODE_OPTIONS: `--require ${probe}`, BENCH_CPU_FILE: file },
          nodePath,
          skipPostJobSteps: true,
        });
        rmSync(result.dirs.agentRoot, { recursive: true, force: true });
        const step = result.steps.find((s) => s.phase === 'main');
        if (result.result !== 'Succeeded') return { failure: (step?.errors[0] ?? step?.log.at(-1) ?? result.result).slice(0, 300) };
        const cpuMs = readCpu(file);
        return step?.durationMs !== undefined && cpuMs !== undefined ? { run: { ms: step.durationMs, cpuMs } } : { failure: 'no duration or CPU time' };
      };
      const helperGet = async (script: string, home: string, expectPassword: boolean): Promise<Attempt> => {
        const file = cpuFile();
        const args = ['--require', probe, script, ...(expectPassword ? [session, 'get'] : [])];
        const t = await timedNode(nodePath, args, scrubbedEnv({ ...emu.env(), HOME: home, BENCH_CPU_FILE: file }), request);
        if (t.exitCode !== 0 || (expectPassword && !/^password=./m.test(t.stdout))) return { failure: `exit ${t.exitCode}: ${t.stderr.trim().slice(0, 200) || 'no password answered'}` };
        const cpuMs = readCpu(file);
        return cpuMs === undefined ? { failure: 'no CPU time' } : { run: { ms: t.ms, cpuMs } };
      };
      const subjects: Array<[Subject, (home: string) => Promise<Attempt>, (home: string) => Promise<Attempt>]> = [
        ['auth', (home) => job(empty, home), (home) => job(auth, home)],
        ['helper', (home) => helperGet(emptyScript, home, false), (home) => helperGet(helper, home, true)],
      ];
      for (const [subject, baseline, measured] of subjects) {
        for (const cache of ['cold', 'warm'] as const) {
          const series = new Series(node, nodeVersion, cache, subject);
          const warmHome = newHome();
          if (cache === 'warm') {
            const first = await measured(warmHome);
            if (first.failure) series.failure = first.failure;
          }
          for (let i = 0; i < runs && !series.failure; i++) {
            const home = cache === 'cold' ? newHome() : warmHome;
            const b = await baseline(home);
            const s = await measured(home);
            if (b.run && s.run) series.add(b.run, s.run);
            else series.failure = b.failure ?? s.failure;
          }
          const r = series.result();
          out.push(r);
          log(`${describeSeries(r)}: ${r.failure ? `FAILED: ${r.failure}` : `${ratioOfMedians(r).toFixed(2)} × (${median(r.subjectMs).toFixed(0)} vs ${median(r.baselineMs).toFixed(0)} ms); CPU ${median(r.cpuPairRatios).toFixed(2)} × (${median(r.subjectCpuMs).toFixed(0)} vs ${median(r.baselineCpuMs).toFixed(0)} ms)`}`);
        }
      }
    }
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  } finally {
    await emu.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  return out;
}

const SUBJECT_LABEL: Record<Subject, string> = { auth: 'Authenticate main', helper: 'credential helper get' };

export function describeSeries(s: Pick<StartSeries, 'node' | 'cache' | 'subject'>): string {
  return `${SUBJECT_LABEL[s.subject]}, Node ${s.node}, ${s.cache} cache`;
}

export function ratioOfMedians(s: StartSeries): number {
  return median(s.subjectMs) / median(s.baselineMs);
}

const seriesId = (s: Pick<StartSeries, 'node' | 'cache' | 'subject'>, side: 'subject' | 'baseline'): string =>
  `start.${s.subject}.node${s.node}.${s.cache}${side === 'baseline' ? '.empty' : ''}`;

/**
 * The figures as bench.ts measures and budgets: each subject with its own empty-task baseline, and one budget
 * per subject: on Node 24 with a warm cache, at most START_BUDGET × the empty task (the median of the paired
 * ratios, which drift on a shared machine moves least).
 */
export function startReport(series: readonly StartSeries[]): { measures: Measure[]; budgets: BudgetCheck[]; notes: string[] } {
  const measures: Measure[] = [];
  const budgets: BudgetCheck[] = [];
  const notes: string[] = [];
  for (const s of series) {
    const base = seriesId(s, 'baseline');
    const emptyLabel = s.subject === 'auth' ? 'empty Node task' : 'node <empty file> (stdin)';
    const failure = s.failure ? { failure: s.failure } : {};
    measures.push({ id: base, label: `${emptyLabel}, Node ${s.node} (${s.cache})`, unit: 'ms', samples: s.baselineMs, ...(s.baselineMs.length ? { summary: summarize(s.baselineMs) } : {}), ...failure });
    measures.push({ id: seriesId(s, 'subject'), label: describeSeries(s), unit: 'ms', samples: s.subjectMs, ...(s.subjectMs.length ? { summary: summarize(s.subjectMs) } : {}), baseline: base, ...failure });
    if (s.subjectCpuMs.length) {
      measures.push({ id: `${base}.cpu`, label: `CPU time, ${emptyLabel}, Node ${s.node} (${s.cache})`, unit: 'ms', samples: s.baselineCpuMs, summary: summarize(s.baselineCpuMs) });
      measures.push({ id: `${seriesId(s, 'subject')}.cpu`, label: `CPU time, ${describeSeries(s)}`, unit: 'ms', samples: s.subjectCpuMs, summary: summarize(s.subjectCpuMs), baseline: `${base}.cpu` });
    }
    if (s.pairRatios.length) {
      const pairs = summarize(s.pairRatios);
      const cpu = summarize(s.cpuPairRatios);
      notes.push(`${describeSeries(s)} (${s.nodeVersion}): ${ratioOfMedians(s).toFixed(2)} × the ${emptyLabel} (ratio of medians); paired ratios median ${pairs.median.toFixed(2)}, ${pairs.min.toFixed(2)}–${pairs.max.toFixed(2)}; CPU time ${cpu.median.toFixed(2)} × (${median(s.subjectCpuMs).toFixed(0)} vs ${median(s.baselineCpuMs).toFixed(0)} ms)`);
    }
    if (s.node === '24' && s.cache === 'warm') {
      const id = `start.${s.subject}`;
      const budget = `${SUBJECT_LABEL[s.subject]} on Node 24, warm cache ≤ ${START_BUDGET} × ${emptyLabel}`;
      if (!s.pairRatios.length) budgets.push({ id, budget, measured: 'no figure', limit: START_BUDGET, status: 'failing', note: s.failure ?? 'not measured' });
      else {
        const value = median(s.pairRatios);
        budgets.push({ id, budget, measured: `${value.toFixed(2)} × (median of paired ratios)`, value, limit: START_BUDGET, status: value <= START_BUDGET ? 'met' : 'missed' });
      }
    }
  }
  return { measures, budgets, notes };
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const runs = Number(option('runs') ?? 7);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer (got '${option('runs')}')`);
  const json = process.argv.includes('--json');
  const vsix = option('vsix');
  const series = await benchStart({ runs, ...(vsix ? { vsix } : {}), log: json ? undefined : (line) => console.log(line) });
  if (json) {
    console.log(JSON.stringify(series, null, 2));
    return;
  }
  const { budgets, notes } = startReport(series);
  console.log(['', ...notes.map((n) => `- ${n}`), '', ...budgets.map((b) => `${b.budget}: ${b.measured} ${b.status === 'met' ? 'met' : b.status.toUpperCase()}`)].join('\n'));
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
