/**
 * `npm run bench`: whole-process timings, peak memory and sizes of the PACKAGED tasks against the loopback
 * emulators, each figure next to a baseline measured in the same invocation, checked against the budgets
 * below. Prints a table and writes bench-results/bench-<timestamp>.json and bench-results/latest.json.
 *
 * How the task processes are timed: through the agent-like runner (test/agent), the same path the e2e
 * tests take, so each task gets exactly the environment, INPUT_* and working directory the agent gives it.
 * The figure is the step's `durationMs`: spawn to close of the task's own process as the runner's
 * ProcessInvoker sees it, excluding the runner's job set-up. The `node -e 0` baseline goes through that
 * same process runner (test/agent/step-process.ts), so both sides carry the same spawn and pipe costs. The credential helper needs stdin, so it and its baseline use one small spawn timer here.
 * Checkout vs `git clone --depth 1` is scripts/bench-checkout.ts's measurement, reused as is: on the 4 KiB seed repository
 * and on a generated one of 20 MiB and 2,000 files, which carries the budget (on the small one the task's fixed costs are all
 * there is to see; the notes give them in ms).
 * Runs alternate baseline / subject, after one discarded warm-up pair, so drift hits both sides; on a
 * busy machine read the ratios (and the spread), not the absolute times.
 *
 * Start-up on Node 20 and Node 24, cold and warm compile cache, against an empty Node task: scripts/bench-start.ts.
 * Many git requests and many agents on one VM: scripts/bench-git.ts (--only git).
 *
 * Options: --runs N (default 7), --only auth,helper,checkout,list,feeds,git,start (default all; feeds is scripts/bench-feeds.ts).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { packagedVsix } from '../test/agent/install';
import { runProcess } from '../test/agent/step-process';
import { RSS_FILE_ENV, RSS_PROBE } from '../test/agent/task-step';
import type { JobResult, StepResult } from '../test/agent/types';
import { harness, run as runAsync, taskDir, type Harness } from '../test/e2e/support';
import { addBulkOrganization, isolatedGitEnv, scrubbedEnv } from '../test/emulators';
import { writeSession } from '../src/git/session';
import { benchCheckout, CHECKOUT_CASES } from './bench-checkout';
import { benchFeeds, feedsBudget, feedsNotes } from './bench-feeds';
import { benchStart, startReport } from './bench-start';
import { benchGit, describeGit, gitBudgets } from './bench-git';
import { quantile, summarize, type Summary } from './stats';

export { quantile, summarize, type Summary };

// ---------------------------------------------------------------------------------------------------
// Statistics and the report: pure, covered by test/unit/bench.test.ts.

export type Unit = 'ms' | 'MiB' | 'KiB' | 'bytes' | 'requests' | 'count';

/** One measured quantity: its samples, or why it could not be measured. */
export interface Measure {
  readonly id: string;
  readonly label: string;
  readonly unit: Unit;
  readonly samples: readonly number[];
  readonly summary?: Summary;
  /** Set when the process under test failed: the measure is reported as failing, not as a number. */
  readonly failure?: string;
  /** The id of the measure it is compared with. */
  readonly baseline?: string;
}

export function measure(id: string, label: string, unit: Unit, samples: readonly number[], extra: { failure?: string; baseline?: string } = {}): Measure {
  return { id, label, unit, samples: [...samples], ...(samples.length ? { summary: summarize(samples) } : {}), ...extra };
}

export type BudgetStatus = 'met' | 'missed' | 'failing';

export interface BudgetCheck {
  readonly id: string;
  readonly budget: string;
  /** What was compared with the limit, e.g. "2.4 × node -e 0" or "812 ms". */
  readonly measured: string;
  readonly value?: number;
  readonly limit: number;
  readonly status: BudgetStatus;
  readonly note?: string;
}

/** median(subject) ≤ maxRatio × median(baseline); failing when either side has no figure. */
export function ratioBudget(id: string, budget: string, subject: Measure | undefined, baseline: Measure | undefined, maxRatio: number): BudgetCheck {
  if (!subject?.summary || !baseline?.summary || baseline.summary.median <= 0) {
    return { id, budget, measured: 'no figure', limit: maxRatio, status: 'failing', note: subject?.failure ?? baseline?.failure ?? 'not measured' };
  }
  const ratio = subject.summary.median / baseline.summary.median;
  return { id, budget, measured: `${ratio.toFixed(2)} × ${baseline.label}`, value: ratio, limit: maxRatio, status: ratio <= maxRatio ? 'met' : 'missed' };
}

/** value ≤ limit; failing when there is no value. */
export function limitBudget(id: string, budget: string, value: number | undefined, limit: number, unit: Unit, note?: string): BudgetCheck {
  if (value === undefined || !Number.isFinite(value)) return { id, budget, measured: 'no figure', limit, status: 'failing', note: note ?? 'not measured' };
  return { id, budget, measured: formatValue(value, unit), value, limit, status: value <= limit ? 'met' : 'missed', ...(note ? { note } : {}) };
}

/** Several conditions that must all hold (e.g. the list budget); failing wins over missed. */
export function allOf(id: string, budget: string, parts: readonly BudgetCheck[]): BudgetCheck {
  const status: BudgetStatus = parts.some((p) => p.status === 'failing') ? 'failing' : parts.some((p) => p.status === 'missed') ? 'missed' : 'met';
  const notes = parts.filter((p) => p.status !== 'met').map((p) => `${p.budget}: ${p.note ?? p.measured}`);
  return { id, budget, measured: parts.map((p) => p.measured).join('; '), limit: parts.length, status, ...(notes.length ? { note: notes.join('; ') } : {}) };
}

export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case 'ms': return `${value.toFixed(value < 100 ? 1 : 0)} ms`;
    case 'MiB': return `${value.toFixed(1)} MiB`;
    case 'KiB': return `${(value / 1024).toFixed(1)} MiB`;
    case 'bytes': return value >= 1024 * 1024 ? `${(value / 1024 / 1024).toFixed(2)} MiB` : `${(value / 1024).toFixed(1)} KiB`;
    case 'requests': return `${value} req`;
    case 'count': return String(value);
  }
}

export interface Machine {
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryMiB: number;
  readonly git: string;
}

export interface BenchReport {
  readonly schema: 1;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly commit: string;
  readonly machine: Machine;
  readonly runs: number;
  readonly measures: readonly Measure[];
  readonly sizes: Readonly<Record<string, number>>;
  readonly details: Readonly<Record<string, unknown>>;
  readonly budgets: readonly BudgetCheck[];
  /** Observations worth reading next to the budgets (request breakdowns, failures). */
  readonly notes: readonly string[];
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** The readable report: measures (median, spread, baseline, ratio), sizes, then budgets marked met/MISSED/FAILING. */
export function formatReport(report: BenchReport, previous?: BenchReport): string {
  const byId = new Map(report.measures.map((m) => [m.id, m]));
  const before = new Map((previous?.measures ?? []).map((m) => [m.id, m]));
  const header = ['measure', 'median', 'min–max', 'IQR', 'n', 'baseline median', 'ratio'];
  if (previous) header.push('last run');
  const rows = [header];
  for (const m of report.measures) {
    const base = m.baseline ? byId.get(m.baseline) : undefined;
    const s = m.summary;
    const row = s
      ? [m.label, formatValue(s.median, m.unit), `${formatValue(s.min, m.unit)}–${formatValue(s.max, m.unit)}`, formatValue(s.iqr, m.unit), String(s.n),
        base?.summary ? `${formatValue(base.summary.median, base.unit)} (${base.label})` : '',
        base?.summary && base.summary.median > 0 ? `${(s.median / base.summary.median).toFixed(2)}×` : '']
      : [m.label, `FAILING: ${m.failure ?? 'no samples'}`, '', '', '0', '', ''];
    if (previous) {
      const p = before.get(m.id)?.summary;
      row.push(p ? formatValue(p.median, m.unit) : '');
    }
    rows.push(row);
  }
  const sizes = [['file', 'size'], ...Object.entries(report.sizes).map(([name, bytes]) => [name, formatValue(bytes, 'bytes')])];
  const budgets = [['budget', 'measured', 'status'], ...report.budgets.map((b) => [b.budget, b.measured,
    b.status === 'met' ? 'met' : `${b.status.toUpperCase()}${b.note ? ` (${b.note})` : ''}`])];
  const m = report.machine;
  return [
    `Benchmark ${report.startedAt}, commit ${report.commit}, ${report.runs} runs each (median, min–max, interquartile range)`,
    `node ${m.node}, ${m.git}, ${m.platform}/${m.arch}, ${m.cpus} × ${m.cpuModel}, ${m.memoryMiB} MiB`,
    '',
    pad(rows),
    '',
    pad(sizes),
    '',
    pad(budgets),
    '',
    ...report.notes.map((n) => `- ${n}`),
    ...(report.notes.length ? [''] : []),
    `${report.budgets.filter((b) => b.status === 'met').length} of ${report.budgets.length} budgets met; whole run ${(report.durationMs / 1000).toFixed(1)} s.`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Measuring.

const MiB = 1024 * 1024;
const BUDGET = {
  authenticateRatio: 3,
  helperRatio: 2,
  rssMiB: 100,
  checkoutRatio: 1.2,
  listMs: 2000,
  vsixBytes: 2 * MiB,
} as const;
/** Server latency added to every REST request in the list concurrency series (ms). */
const LIST_LATENCY_MS = 25;

interface Options {
  runs: number;
  only: Set<string>;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const runs = Number(value('runs') ?? 7);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer (got '${value('runs')}')`);
  const all = ['auth', 'helper', 'checkout', 'list', 'feeds', 'git', 'start'];
  const only = new Set((value('only') ?? all.join(',')).split(',').map((s) => s.trim()).filter(Boolean));
  for (const name of only) if (!all.includes(name)) throw new Error(`--only takes ${all.join(', ')} (got '${name}')`);
  return { runs, only };
}

interface Timed {
  readonly ms: number;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly peakRssKiB?: number;
}

/** `node --require <rss probe> …args` the way the runner measures task processes, through its process runner. */
async function timedProcess(file: string, args: readonly string[], env: Record<string, string>, cwd: string): Promise<Timed> {
  const outcome = await runProcess({ file, args, cwd, env }, {
    onLine: () => undefined,
    sigintTimeoutMs: 7500,
    sigtermTimeoutMs: 2500,
    forceCompleted: new Promise<void>(() => undefined),
  });
  return { ms: outcome.durationMs, exitCode: outcome.exitCode, stdout: outcome.raw, stderr: '' };
}

/** Spawn → close of a Node script fed `stdin`, with the runner's RSS probe preloaded. */
function timedNode(args: readonly string[], env: Record<string, string>, stdin: string): Promise<Timed> {
  const rssFile = join(tmpdir(), `bench-rss-${randomUUID()}`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--require', RSS_PROBE, ...args], { env: { ...env, [RSS_FILE_ENV]: rssFile }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (exitCode) => {
      const ms = performance.now() - started;
      let peakRssKiB: number | undefined;
      try {
        peakRssKiB = Number.parseInt(readFileSync(rssFile, 'utf8'), 10);
        rmSync(rssFile, { force: true });
      } catch {
        peakRssKiB = undefined;
      }
      resolve({ ms: Math.round(ms * 10) / 10, exitCode, stdout, stderr, ...(peakRssKiB === undefined ? {} : { peakRssKiB }) });
    });
    child.stdin.end(stdin);
  });
}

/** `node -e 0` timed like a task process: through the runner's process runner, RSS probe preloaded. */
async function nodeBaseline(env: Record<string, string>): Promise<Timed> {
  const rssFile = join(tmpdir(), `bench-rss-${randomUUID()}`);
  const t = await timedProcess(process.execPath, ['--require', RSS_PROBE, '-e', '0'], { ...env, [RSS_FILE_ENV]: rssFile }, tmpdir());
  const peak = existsSync(rssFile) ? Number.parseInt(readFileSync(rssFile, 'utf8'), 10) : undefined;
  rmSync(rssFile, { force: true });
  return { ...t, ...(peak === undefined ? {} : { peakRssKiB: peak }) };
}

function firstError(job: JobResult): string {
  const failed = job.steps.find((s) => s.result === 'Failed');
  return (failed?.errors[0] ?? failed?.log.at(-1) ?? job.result).slice(0, 300);
}

/** Collects samples of several measures; a failed run stops the series and records why. */
class Collector {
  readonly samples = new Map<string, number[]>();
  readonly failures = new Map<string, string>();
  add(id: string, value: number | undefined): void {
    if (value === undefined) return;
    const list = this.samples.get(id) ?? [];
    list.push(value);
    this.samples.set(id, list);
  }
  fail(id: string, why: string): void {
    if (!this.failures.has(id)) this.failures.set(id, why);
  }
  measure(id: string, label: string, unit: Unit, baseline?: string): Measure {
    const failure = this.failures.get(id);
    return measure(id, label, unit, this.samples.get(id) ?? [], { ...(failure ? { failure } : {}), ...(baseline ? { baseline } : {}) });
  }
}

function stepRss(c: Collector, id: string, step: StepResult | undefined): void {
  if (step?.peakRssKiB !== undefined) c.add(id, step.peakRssKiB / 1024);
}

/** Alternates baseline and subject `runs` times after one discarded warm-up pair. */
async function alternate(runs: number, baseline: (record: boolean) => Promise<void>, subject: (record: boolean) => Promise<boolean>): Promise<void> {
  await baseline(false);
  if (!(await subject(false))) return;
  for (let i = 0; i < runs; i++) {
    await baseline(true);
    if (!(await subject(true))) return;
  }
}

async function benchAuthenticate(h: Harness, c: Collector, runs: number): Promise<void> {
  const task = await taskDir('ManagedIdentityAuthenticate');
  const env = scrubbedEnv(h.emu.env());
  await alternate(runs,
    async (record) => {
      const t = await nodeBaseline(env);
      if (record) {
        c.add('node', t.ms);
        c.add('rss.node', t.peakRssKiB === undefined ? undefined : t.peakRssKiB / 1024);
      }
    },
    async (record) => {
      const job = await h.run([{ task, inputs: { organizations: 'contoso', verify: 'true' } }], { measureRss: true });
      if (job.result !== 'Succeeded') {
        c.fail('auth.main', firstError(job));
        return false;
      }
      if (record) {
        const main = job.steps.find((s) => s.phase === 'main');
        const post = job.steps.find((s) => s.phase === 'post');
        c.add('auth.main', main?.durationMs);
        c.add('auth.post', post?.durationMs);
        stepRss(c, 'rss.auth.main', main);
        stepRss(c, 'rss.auth.post', post);
      }
      return true;
    });
}

async function benchHelper(h: Harness, c: Collector, runs: number): Promise<Record<string, unknown>> {
  const helper = join(await taskDir('ManagedIdentityAuthenticate'), 'credential-helper.js');
  const temp = mkdtempSync(join(tmpdir(), 'bench-helper-'));
  const host = new URL(h.emu.devops.url).host;
  const org = `${h.emu.devops.orgUrl('contoso')}/`;
  const session = writeSession(temp, { version: 1, selector: { kind: 'system' }, prefixes: [org], policy: { loopbackHosts: [host] } });
  const request = `protocol=http\nhost=${host}\npath=contoso/Web/_git/app\n\n`;
  const env = scrubbedEnv(h.emu.env());
  try {
    await alternate(runs,
      async (record) => {
        const t = await timedNode(['-e', '0'], env, request);
        if (record) c.add('node.stdin', t.ms);
      },
      async (record) => {
        const t = await timedNode([helper, session, 'get'], env, request);
        if (t.exitCode !== 0 || !/^password=./m.test(t.stdout)) {
          c.fail('helper.get', `exit ${t.exitCode}, ${t.stdout.includes('password=') ? 'answered' : 'no password answered'}: ${t.stderr.trim().slice(0, 200)}`);
          return false;
        }
        if (record) {
          c.add('helper.get', t.ms);
          c.add('rss.helper', t.peakRssKiB === undefined ? undefined : t.peakRssKiB / 1024);
        }
        return true;
      });
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return { helper: 'ManagedIdentityAuthenticateV1/credential-helper.js', request: 'get for contoso/Web/_git/app through IMDS' };
}

/** The repository the peak RSS of checkout is sampled on: the small case of scripts/bench-checkout.ts (the task's memory does not grow with the repository: git holds the data). */
const RSS_CHECKOUT_REPOSITORY = CHECKOUT_CASES.find((c) => c.id === 'small')!.repository;

/** Measure ids of each checkout case: the large (realistic) repository carries the budget, as 'clone' and 'checkout'. */
function checkoutIds(caseId: string): { clone: string; checkout: string; job: string } {
  return caseId === 'large' ? { clone: 'clone', checkout: 'checkout', job: 'checkout.job' } : { clone: `clone.${caseId}`, checkout: `checkout.${caseId}`, job: `checkout.${caseId}.job` };
}

/**
 * Checkout vs `git clone --depth 1` on a small and a realistic repository: scripts/bench-checkout.ts measures
 * it (its own emulators, alternating runs, one warm-up pair). The peak RSS of the checkout process is sampled
 * here with the same inputs.
 */
async function benchCheckoutVsClone(h: Harness, c: Collector, runs: number): Promise<Record<string, unknown>> {
  const details: Record<string, unknown> = { measuredBy: 'scripts/bench-checkout.ts benchCheckout()' };
  try {
    for (const result of await benchCheckout({ runs })) {
      const ids = checkoutIds(result.case.id);
      result.gitClone.samplesMs.forEach((ms) => c.add(ids.clone, ms));
      result.taskStep.samplesMs.forEach((ms) => c.add(ids.checkout, ms));
      result.task.samplesMs.forEach((ms) => c.add(ids.job, ms));
      details[result.case.id] = { repository: result.repository, label: result.case.label, ...(result.generated ? { generated: result.generated } : {}), ratio: result.ratio, stepRatio: result.stepRatio };
    }
  } catch (err) {
    c.fail('checkout', (err instanceof Error ? err.message : String(err)).split('\n').find((l) => /##\[error\]|failed/.test(l))?.slice(0, 300) ?? 'failed');
  }
  const task = await taskDir('ManagedIdentityRepository');
  for (let i = 0; i < runs; i++) {
    const job = await h.run([{ task, inputs: { command: 'checkout', repository: RSS_CHECKOUT_REPOSITORY.join('/'), fetchDepth: '1' } }], { measureRss: true });
    rmSync(job.dirs.agentRoot, { recursive: true, force: true });
    if (job.result !== 'Succeeded') {
      c.fail('rss.checkout', firstError(job));
      break;
    }
    stepRss(c, 'rss.checkout', job.steps.find((s) => s.phase === 'main'));
    stepRss(c, 'rss.repository.post', job.steps.find((s) => s.phase === 'post'));
  }
  return details;
}

/** Wraps every REST route so each answer takes `latency()` ms and the peak of requests in flight is known. */
function instrumentRoutes(h: Harness): { latency: number; peak: number; reset(): void } {
  const state = { latency: 0, peak: 0, inFlight: 0, reset() { state.peak = 0; } };
  const routes = h.emu.devops.routes;
  routes.forEach((route, i) => {
    const original = route.handle.bind(route);
    routes[i] = {
      ...route,
      handle: async (ctx) => {
        state.inFlight++;
        state.peak = Math.max(state.peak, state.inFlight);
        try {
          if (state.latency > 0) await new Promise((resolve) => setTimeout(resolve, state.latency));
          return await original(ctx);
        } finally {
          state.inFlight--;
        }
      },
    };
  });
  return state;
}

async function benchList(h: Harness, c: Collector, runs: number): Promise<Record<string, unknown>> {
  const task = await taskDir('ManagedIdentityRepository');
  addBulkOrganization(h.emu.world, { name: 'bulk', projects: 50, reposPerProject: 20 });
  const routes = instrumentRoutes(h);
  const details: Record<string, unknown> = { organization: 'bulk: 50 projects × 20 repositories', latencySeriesMs: LIST_LATENCY_MS };
  const listJob = async (inputs: Record<string, string>, record: boolean, id: string): Promise<boolean> => {
    const first = h.emu.devops.requests.length;
    routes.reset();
    const job = await h.run([{ task, name: 'list', inputs: { command: 'list', ...inputs } }], { measureRss: true });
    rmSync(job.dirs.agentRoot, { recursive: true, force: true });
    if (job.result !== 'Succeeded') {
      c.fail(id, firstError(job));
      return false;
    }
    const requests = h.emu.devops.requests.slice(first);
    const byRoute: Record<string, number> = {};
    for (const r of requests) byRoute[r.route ?? `${r.method} (no route)`] = (byRoute[r.route ?? `${r.method} (no route)`] ?? 0) + 1;
    // Discovery (OPTIONS, ResourceAreas) is node-api's version negotiation; every other request is a page.
    const discovery = (r: (typeof requests)[number]): boolean => r.method === 'OPTIONS' || /ResourceAreas/.test(r.route ?? '');
    const seen = new Set<string>();
    const repeats = requests.filter((r) => {
      const key = `${r.method} ${r.path}?${new URLSearchParams(r.query).toString()}`;
      const again = seen.has(key);
      seen.add(key);
      return again;
    });
    if (record) {
      const main = job.steps.find((s) => s.phase === 'main');
      c.add(id, main?.durationMs);
      c.add(`${id}.requests`, requests.length);
      c.add(`${id}.peakInFlight`, routes.peak);
      stepRss(c, `rss.${id}`, main);
      details[id] = {
        count: Number(job.variables.get('list.count')?.value ?? NaN),
        requests: requests.length,
        pageRequests: requests.filter((r) => !discovery(r)).length,
        discoveryRequests: requests.filter(discovery).length,
        byRoute,
        repeatedRequests: repeats.filter((r) => !discovery(r)).map((r) => `${r.method} ${decodeURIComponent(r.path)}`),
        repeatedDiscovery: repeats.filter(discovery).length,
        peakInFlight: routes.peak,
      };
    }
    return true;
  };
  const bulk = { organization: 'bulk' };
  await alternate(runs,
    (record) => listJob({ organization: 'contoso', project: 'Web' }, record, 'list.one').then(() => undefined),
    (record) => listJob(bulk, record, 'list.bulk'));
  routes.latency = LIST_LATENCY_MS;
  await alternate(runs,
    (record) => listJob({ organization: 'contoso', project: 'Web' }, record, 'list.one.latency').then(() => undefined),
    (record) => listJob(bulk, record, 'list.bulk.latency'));
  routes.latency = 0;
  return details;
}

/** `vsix`: the package's path relative to the checkout (dist/x.vsix), which is also its row's name. */
function bundleSizes(taskDirs: Map<string, string>, vsix: string): Record<string, number> {
  const sizes: Record<string, number> = { [vsix]: statSync(vsix).size };
  for (const [name, dir] of [...taskDirs].sort()) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) sizes[`${name}V1/${file}`] = statSync(join(dir, file)).size;
  }
  return sizes;
}

async function machine(): Promise<Machine> {
  const git = (await runAsync('git', ['--version'], isolatedGitEnv())).stdout.trim();
  return { node: process.version, platform: process.platform, arch: process.arch, cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown', memoryMiB: Math.round(totalmem() / MiB), git };
}

async function currentCommit(): Promise<string> {
  const head = await runAsync('git', ['rev-parse', '--short', 'HEAD'], scrubbedEnv());
  const dirty = await runAsync('git', ['status', '--porcelain', '--untracked-files=no'], scrubbedEnv());
  return `${head.stdout.trim() || 'unknown'}${dirty.stdout.trim() ? '+dirty' : ''}`;
}

/** What the task adds to a plain clone on each repository, in ms and as a ratio. */
function checkoutNotes(measures: readonly Measure[]): string[] {
  const m = new Map(measures.map((x) => [x.id, x.summary?.median]));
  return [['small', '4 KiB seed repository'], ['large', '20 MiB generated repository']].flatMap(([id, what]) => {
    const ids = checkoutIds(id!);
    const task = m.get(ids.checkout);
    const clone = m.get(ids.clone);
    return task !== undefined && clone ? [`checkout of the ${what}: ${(task / clone).toFixed(2)} × git clone --depth 1, ${(task - clone).toFixed(0)} ms over it (${task.toFixed(0)} vs ${clone.toFixed(0)} ms)`] : [];
  });
}

const RSS_PROCESSES: Array<[string, string]> = [
  ['rss.auth.main', 'Authenticate main'], ['rss.auth.post', 'Authenticate post'], ['rss.helper', 'credential helper get'],
  ['rss.checkout', 'Repository checkout'],
  ['rss.list.bulk', 'Repository list (1,000 repos)'], ['rss.list.one', 'Repository list (1 project)'], ['rss.repository.post', 'Repository post'],
];

export function buildBudgets(measures: readonly Measure[], sizes: Readonly<Record<string, number>>, list: { count?: number; repeated?: number; peakInFlight?: number; perProjectRequests?: number }): BudgetCheck[] {
  const m = new Map(measures.map((x) => [x.id, x]));
  const budgets: BudgetCheck[] = [];
  if (m.has('auth.main')) budgets.push(ratioBudget('auth', 'Authenticate main ≤ 3 × node -e 0', m.get('auth.main'), m.get('node'), BUDGET.authenticateRatio));
  if (m.has('helper.get')) budgets.push(ratioBudget('helper', 'credential helper get ≤ 2 × node -e 0', m.get('helper.get'), m.get('node.stdin'), BUDGET.helperRatio));
  if (m.has('checkout')) budgets.push(ratioBudget('checkout', 'checkout ≤ 1.2 × git clone --depth 1 (20 MiB, 2,000 files)', m.get('checkout'), m.get('clone'), BUDGET.checkoutRatio));
  if (m.has('list.bulk')) {
    const bulk = m.get('list.bulk')!;
    budgets.push(allOf('list', 'list 1,000 repos in 50 projects: < 2 s, one request per page, pages concurrent', [
      bulk.summary ? limitBudget('list.time', '< 2 s', bulk.summary.median, BUDGET.listMs, 'ms') : limitBudget('list.time', '< 2 s', undefined, BUDGET.listMs, 'ms', bulk.failure),
      list.count === 1000 ? limitBudget('list.count', 'all 1,000 listed', 1000, 1000, 'count') : { id: 'list.count', budget: 'all 1,000 listed', measured: String(list.count ?? 'none'), limit: 1000, status: bulk.summary ? 'missed' : 'failing', note: `listed ${list.count ?? 'none'}` },
      limitBudget('list.repeated', 'no page requested twice', list.repeated, 0, 'requests', list.repeated ? `${list.repeated} repeated requests` : undefined),
      list.perProjectRequests && list.perProjectRequests > 1
        ? { id: 'list.concurrent', budget: 'pages concurrent', measured: `${list.peakInFlight ?? 0} in flight`, value: list.peakInFlight, limit: 2, status: (list.peakInFlight ?? 0) >= 2 ? 'met' : 'missed', note: 'per-project pages were fetched one at a time' }
        : { id: 'list.concurrent', budget: 'pages concurrent', measured: 'one repository page', limit: 2, status: 'met' },
    ]));
  }
  const rss = RSS_PROCESSES.map(([id, label]) => [label, m.get(id)?.summary?.median] as const).filter(([, v]) => v !== undefined);
  if (rss.length) {
    const [label, worst] = rss.reduce((a, b) => (b[1]! > a[1]! ? b : a));
    budgets.push(limitBudget('rss', 'peak RSS of any task process ≤ 100 MiB', worst, BUDGET.rssMiB, 'MiB', `largest: ${label}`));
  }
  const feeds = feedsBudget(measures);
  if (feeds) budgets.push(feeds);
  const vsix = Object.entries(sizes).find(([name]) => name.endsWith('.vsix'));
  budgets.push(limitBudget('vsix', '.vsix ≤ 2 MiB', vsix?.[1], BUDGET.vsixBytes, 'bytes'));
  return budgets;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const vsix = packagedVsix('release');
  const h = await harness();
  const c = new Collector();
  const details: Record<string, unknown> = {
    method: 'task processes through test/agent runJob (durationMs: spawn to close), baselines through the same process runner; alternating, one warm-up pair discarded',
  };
  const section = async <T>(name: string, work: () => Promise<T>): Promise<T | undefined> => {
    if (!options.only.has(name)) return undefined;
    const t = Date.now();
    process.stdout.write(`${name}… `);
    try {
      return await work();
    } catch (err) {
      c.fail(name, err instanceof Error ? err.message : String(err));
      details[`${name}.error`] = err instanceof Error ? err.stack : String(err);
      return undefined;
    } finally {
      process.stdout.write(`${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    }
  };
  try {
    await section('auth', () => benchAuthenticate(h, c, options.runs));
    details['helper'] = await section('helper', () => benchHelper(h, c, options.runs));
    details['checkout'] = await section('checkout', () => benchCheckoutVsClone(h, c, options.runs));
    details['list'] = await section('list', () => benchList(h, c, options.runs));
    details['feeds'] = await section('feeds', () => benchFeeds(h, c, options.runs));
    details['git'] = await section('git', () => benchGit(h, { runs: options.runs }));
  } finally {
    await h.stop();
  }
  const start = await section('start', async () => startReport(await benchStart({ runs: options.runs })));

  const measures: Measure[] = [];
  const add = (id: string, label: string, unit: Unit, baseline?: string): void => {
    if (c.samples.has(id) || c.failures.has(id)) measures.push(c.measure(id, label, unit, baseline));
  };
  add('node', 'node -e 0', 'ms');
  add('auth.main', 'Authenticate main (verify, 1 org)', 'ms', 'node');
  add('auth.post', 'Authenticate post', 'ms', 'node');
  add('node.stdin', 'node -e 0 (stdin)', 'ms');
  add('helper.get', 'credential helper get', 'ms', 'node.stdin');
  add('clone.small', 'git clone --depth 1, 4 KiB repo', 'ms');
  add('checkout.small', 'checkout fetchDepth 1, 4 KiB repo (main step)', 'ms', 'clone.small');
  add('checkout.small.job', 'checkout job, 4 KiB repo (main + post)', 'ms', 'clone.small');
  add('clone', 'git clone --depth 1, 20 MiB repo', 'ms');
  add('checkout', 'checkout fetchDepth 1, 20 MiB repo (main step)', 'ms', 'clone');
  add('checkout.job', 'checkout job, 20 MiB repo (main + post)', 'ms', 'clone');
  add('list.one', 'list 1 project (1 repo)', 'ms');
  add('list.bulk', 'list 50 projects × 20 repos', 'ms', 'list.one');
  add('list.one.requests', 'list 1 project: requests', 'requests');
  add('list.bulk.requests', 'list 1,000 repos: requests', 'requests', 'list.one.requests');
  add('list.one.latency', `list 1 project, ${LIST_LATENCY_MS} ms/request`, 'ms');
  add('list.bulk.latency', `list 1,000 repos, ${LIST_LATENCY_MS} ms/request`, 'ms', 'list.one.latency');
  add('list.bulk.latency.peakInFlight', `list 1,000 repos: peak requests in flight`, 'count');
  add('auth.nofeeds', 'Authenticate main (verify, 1 org), no feeds', 'ms');
  add('auth.feeds5', 'Authenticate main (verify, 1 org), five feeds of every client', 'ms', 'auth.nofeeds');
  add('rss.node', 'peak RSS node -e 0', 'MiB');
  for (const [id, label] of RSS_PROCESSES) add(id, `peak RSS ${label}`, 'MiB', 'rss.node');
  measures.push(...(start?.measures ?? []));
  for (const [name, why] of c.failures) if (!measures.some((m) => m.id === name)) measures.push(measure(name, name, 'ms', [], { failure: why }));

  // Sizes of what ships: the release flavour (tasks/<Name>V1, dist/*.vsix); the runs above used the emulator flavour.
  const sizes = bundleSizes(new Map([['ManagedIdentityAuthenticate', join('tasks', 'ManagedIdentityAuthenticateV1')], ['ManagedIdentityRepository', join('tasks', 'ManagedIdentityRepositoryV1')]]), vsix);
  const bulk = (details['list'] as Record<string, unknown> | undefined)?.['list.bulk'] as
    { count?: number; pageRequests?: number; discoveryRequests?: number; repeatedDiscovery?: number; repeatedRequests?: string[]; byRoute?: Record<string, number> } | undefined;
  const bulkLatency = (details['list'] as Record<string, unknown> | undefined)?.['list.bulk.latency'] as { peakInFlight?: number } | undefined;
  const perProjectRequests = bulk?.byRoute?.['GET {project}/_apis/git/repositories'];
  const git = details['git'] as Parameters<typeof describeGit>[0] | undefined;
  const budgets = [...(start?.budgets ?? []), ...buildBudgets(measures, sizes, {
    ...(bulk?.count === undefined ? {} : { count: bulk.count }),
    ...(bulk?.repeatedRequests === undefined ? {} : { repeated: bulk.repeatedRequests.length }),
    ...(bulkLatency?.peakInFlight === undefined ? {} : { peakInFlight: bulkLatency.peakInFlight }),
    ...(perProjectRequests === undefined ? {} : { perProjectRequests }),
  }), ...(git ? gitBudgets(git) : [])];
  const report: BenchReport = {
    schema: 1,
    startedAt,
    durationMs: Date.now() - started,
    commit: await currentCommit(),
    machine: await machine(),
    runs: options.runs,
    measures,
    sizes,
    details,
    budgets,
    notes: [
      ...(bulk?.byRoute ? [`list of 1,000 repos: ${bulk.pageRequests} page requests and ${bulk.discoveryRequests} discovery requests (${bulk.repeatedDiscovery} of them repeats); by route: ${Object.entries(bulk.byRoute).map(([r, n]) => `${r} × ${n}`).join(', ')}`] : []),
      ...checkoutNotes(measures),
      ...feedsNotes(details['feeds']),
      ...(start?.notes ?? []),
      ...(git ? describeGit(git) : []),
      ...[...c.failures].map(([id, why]) => `${id} failed: ${why}`),
    ],
  };
  const previousFile = join('bench-results', 'latest.json');
  const previous = existsSync(previousFile) ? (JSON.parse(readFileSync(previousFile, 'utf8')) as BenchReport) : undefined;
  console.log(`\n${formatReport(report, previous?.schema === 1 ? previous : undefined)}`);
  mkdirSync('bench-results', { recursive: true });
  const file = join('bench-results', `bench-${startedAt.replace(/[:.]/g, '-')}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(previousFile, json);
  console.log(`Wrote ${file} and ${previousFile}.`);
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
