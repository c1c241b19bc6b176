/**
 * Many git requests, many agents on one VM: what the job's git credentials cost, against the loopback emulators,
 * with the PACKAGED tasks through the agent-like runner.
 *
 * - submodules: a later step's plain `git clone --recurse-submodules` of a repository with 20 submodules across two
 *   organizations, after ManagedIdentityAuthenticate@1 set git up (our helpers, and the job's token broker the first request starts), against
 *   the same clone with a static `credential.helper=store` file holding the token (the fastest thing git has, and
 *   what the extension exists to avoid). Alternating, one discarded warm-up pair; the budget is the ratio of the
 *   medians (≤ 1.3). One more clone of each kind runs with GIT_TRACE2_EVENT to count the credential helpers git
 *   started; the identity endpoint's requests are counted over the job's clones.
 * - agents: 8 jobs at once (8 agents on one VM, sharing its IMDS), each authenticating then running 25 git
 *   operations (ls-remote, alternating two organizations), against IMDS throttling scaled to this machine
 *   (AGENTS.limits below; Microsoft documents 20 token requests a second and 5 at once per VM). Reports failed jobs
 *   and git operations, identity requests, 429s served and wall time.
 *
 *   npx tsx scripts/bench-git.ts [--runs 7] [--only submodules,agents] [--vsix dist/x.vsix] [--json]   (after build + package)
 *
 * `--vsix` measures another package (e.g. one built from main) against this checkout's emulators.
 * `benchGit()` and `runAgents()` are exported for `npm run bench` and test/e2e/many-agents.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobResult } from '../test/agent/types';
import { createRepositories, findOrganization, findProject, type Repository, type SubmoduleSpec } from '../test/emulators';
import { harness, taskDir, type Harness } from '../test/e2e/support';
import type { BudgetCheck } from './bench';
import { median } from './stats';

/** IMDS limits for the agents scenario: the documented 20 a second and 5 at once, divided by 10 and 5 for a shared 2-core machine. */
export const AGENTS = { jobs: 8, operations: 25, limits: { perSecond: 2, concurrent: 1 }, latencyMs: 50 } as const;
export const SUBMODULES = 20;
export const SUBMODULE_BUDGET = 1.3;

export interface AgentsResult {
  readonly jobs: number;
  readonly operations: number;
  readonly failedJobs: number;
  readonly failedOperations: number;
  /** Token requests the identity endpoint received, answered, and refused with 429. */
  readonly identityRequests: number;
  readonly tokensIssued: number;
  readonly throttled: number;
  readonly wallMs: number;
  readonly limits: { readonly perSecond: number; readonly concurrent: number };
  /** The first error of a failed job, if any. */
  readonly firstFailure?: string;
}

const plainUrl = (h: Harness, org: string, project: string, repo: string): string => h.emu.devops.cloneUrl(org, project, repo).replace(/\/\/[^@/]+@/, '//');

/** `jobs` concurrent jobs on one VM (one identity emulator), each: authenticate, `operations` git ls-remote, post-job. */
export async function runAgents(h: Harness, options: { jobs?: number; operations?: number; limits?: { perSecond: number; concurrent: number }; latencyMs?: number } = {}): Promise<AgentsResult> {
  const jobs = options.jobs ?? AGENTS.jobs;
  const operations = options.operations ?? AGENTS.operations;
  const limits = options.limits ?? AGENTS.limits;
  const auth = await taskDir('ManagedIdentityAuthenticate');
  const urls = [plainUrl(h, 'contoso', 'Web', 'app'), plainUrl(h, 'fabrikam', 'Shared Tools', 'templates')];
  // Every operation runs; the step fails when any of them did.
  const script = ['failed=0', ...Array.from({ length: operations }, (_, i) => `git ls-remote "${urls[i % 2]}" HEAD >/dev/null && echo op-ok || { echo op-failed; failed=1; }`), 'exit $failed'].join('\n');
  const saved = { limits: h.emu.identity.config.imdsLimits, latency: h.emu.identity.config.imdsLatencyMs };
  h.emu.identity.config.imdsLimits = limits;
  h.emu.identity.config.imdsLatencyMs = options.latencyMs ?? AGENTS.latencyMs;
  const from = { requests: h.emu.identity.requests.length, issued: h.emu.tokens.issued.length };
  const started = Date.now();
  let results: JobResult[];
  try {
    results = await Promise.all(Array.from({ length: jobs }, () => h.run([
      { task: auth, inputs: { organizations: 'contoso\nfabrikam' } },
      { script },
    ])));
  } finally {
    h.emu.identity.config.imdsLimits = saved.limits;
    h.emu.identity.config.imdsLatencyMs = saved.latency;
  }
  const wallMs = Date.now() - started;
  const requests = h.emu.identity.requests.slice(from.requests);
  const ok = results.reduce((n, r) => n + (r.steps[1]?.log.filter((l) => l === 'op-ok').length ?? 0), 0);
  const failed = results.filter((r) => r.result !== 'Succeeded');
  const firstFailure = failed[0] && (failed[0].steps.find((s) => s.result === 'Failed')?.errors[0] ?? failed[0].log.split('\n').filter((l) => /error|fatal|throttl/i.test(l)).slice(0, 3).join(' | '));
  return {
    jobs,
    operations: jobs * operations,
    failedJobs: failed.length,
    failedOperations: jobs * operations - ok,
    identityRequests: requests.length,
    tokensIssued: h.emu.tokens.issued.length - from.issued,
    throttled: requests.filter((r) => r.status === 429).length,
    wallMs,
    limits,
    ...(firstFailure ? { firstFailure: firstFailure.slice(0, 300) } : {}),
  };
}

/**
 * Adds `contoso/Web/superproject` with `count` submodules, half in contoso (Web/lib-NN) and half in fabrikam
 * (Shared Tools/lib-NN), and puts them on disk. Idempotent.
 */
export async function addSuperproject(h: Harness, count = SUBMODULES): Promise<string> {
  const world = h.emu.world;
  const web = findProject(findOrganization(world, 'contoso')!, 'Web')!;
  if (!web.repos.some((r) => r.name === 'superproject')) {
    const specs: SubmoduleSpec[] = [];
    for (let i = 1; i <= count; i++) {
      const [org, projectName] = i <= count / 2 ? ['contoso', 'Web'] : ['fabrikam', 'Shared Tools'];
      const name = `lib-${String(i).padStart(2, '0')}`;
      const project = findProject(findOrganization(world, org)!, projectName)!;
      project.repos.push(repository(h, org, name));
      specs.push({ path: `libs/${name}`, org, project: projectName, repo: name });
    }
    web.repos.push({ ...repository(h, 'contoso', 'superproject'), submodules: specs });
    await createRepositories(world, h.emu.devops.url);
  }
  return plainUrl(h, 'contoso', 'Web', 'superproject');
}

function repository(h: Harness, org: string, name: string): Repository {
  const id = createHash('sha256').update(`bench-git/${org}/${name}`).digest('hex');
  const guid = `${id.slice(0, 8)}-${id.slice(8, 12)}-4${id.slice(13, 16)}-8${id.slice(17, 20)}-${id.slice(20, 32)}`;
  return { id: guid, name, defaultBranch: 'refs/heads/main', bareDir: join(h.emu.root, 'repos', org, `${name}.git`) };
}

export interface SubmodulesResult {
  readonly submodules: number;
  readonly helperMs: readonly number[];
  readonly storeMs: readonly number[];
  readonly helperMedianMs: number;
  readonly storeMedianMs: number;
  readonly ratio: number;
  /** Credential helper processes git started for one clone (from GIT_TRACE2_EVENT), by kind. */
  readonly helperInvocations: Readonly<Record<string, number>>;
  readonly storeInvocations: Readonly<Record<string, number>>;
  /**
   * Identity endpoint requests of all the job's clones with our helpers (the authenticate step's own excluded): the
   * first clone's helper asks once and starts the job's broker with that token, which answers everything after.
   */
  readonly identityRequestsForClones: number;
  /** How many clones with our helpers the job ran (warm-up and traced one included). */
  readonly helperClones: number;
  readonly failure?: string;
}

/** Credential helpers git started, from its trace2 events: `<helper> <action>` → count (a `store` of ours ends in its shell). */
function countHelpers(events: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of events.split('\n')) {
    if (!line.includes('"event":"child_start"')) continue;
    const argv = (JSON.parse(line) as { argv?: string[] }).argv?.join(' ') ?? '';
    const kind = /credential-helper\.js/.test(argv) ? 'credential-helper.js' : /credential-cache/.test(argv) ? 'credential-cache'
      : /credential-store/.test(argv) ? 'credential-store' : undefined;
    const action = /\b(get|store|erase)$/.exec(argv.trim())?.[1];
    // Our helpers are shell functions that end at once for anything but get (session.ts getOnly).
    const label = `${kind} ${action}${action !== 'get' && argv.includes('test "$1" = get') ? ' (ends in the shell)' : ''}`;
    if (kind && action) counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}

/** The 20-submodule clone with our helpers vs with a static credential-store file, alternating. */
export async function benchSubmodules(h: Harness, runs: number): Promise<SubmodulesResult> {
  const url = await addSuperproject(h);
  const auth = await taskDir('ManagedIdentityAuthenticate');
  const secret = mkdtempSync(join(tmpdir(), 'bench-store-'));
  const store = join(secret, 'credentials');
  const events = (name: string): string => join(secret, `${name}.trace2`);
  // The baseline: git's own store helper with the token in a file, in place of the job's helper variables (job
  // variables win over a step's env: mapping, so the script sets them itself).
  const storeConfig = `GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=credential.helper GIT_CONFIG_VALUE_0="store --file '${store}'" `;
  const clone = (name: string, baseline: boolean, trace?: string): string =>
    `${trace ? `GIT_TRACE2_EVENT='${trace}' ` : ''}${baseline ? storeConfig : ''}git clone --quiet --recurse-submodules "${url}" "$AGENT_TEMPDIRECTORY/${name}" && ` +
    `test -e "$AGENT_TEMPDIRECTORY/${name}/libs/lib-${SUBMODULES}/README.md" && rm -rf "$AGENT_TEMPDIRECTORY/${name}" && echo clone-ok`;
  const steps = [];
  for (let i = 0; i <= runs; i++) steps.push({ script: clone(`h${i}`, false), name: `helper${i}` }, { script: clone(`s${i}`, true), name: `store${i}` });
  steps.push({ script: clone('ht', false, events('helper')), name: 'helperTrace' }, { script: clone('st', true, events('store')), name: 'storeTrace' });
  const host = new URL(h.emu.devops.url).host;
  // Written before the job from a token minted directly: the store file needs it, the job's token stays the job's.
  // One line per user name in the submodule URLs (the REST remoteUrl form, `{org}@host`): the store matches it.
  const token = encodeURIComponent(h.emu.tokenFor('agent-vm'));
  writeFileSync(store, ['ManagedIdentity', 'contoso', 'fabrikam'].map((user) => `http://${user}:${token}@${host}\n`).join(''), { mode: 0o600 });
  const identityAt: number[] = [];
  try {
    const before = h.emu.identity.requests.length;
    const job = await h.run([{ task: auth, inputs: { organizations: 'contoso\nfabrikam' } }, ...steps]);
    const failed = job.steps.find((s) => s.result !== 'Succeeded' || (s.phase === 'main' && s.refName !== 'ManagedIdentityAuthenticate' && !s.log.includes('clone-ok')));
    const timed = (prefix: string): number[] => job.steps.filter((s) => new RegExp(`^${prefix}\\d+$`).test(s.refName)).slice(1).map((s) => s.durationMs);
    const helperMs = timed('helper');
    const storeMs = timed('store');
    identityAt.push(h.emu.identity.requests.length - before);
    const result: SubmodulesResult = {
      submodules: SUBMODULES,
      helperMs,
      storeMs,
      helperMedianMs: median(helperMs),
      storeMedianMs: median(storeMs),
      ratio: median(helperMs) / median(storeMs),
      helperInvocations: countHelpers(safeRead(events('helper'))),
      storeInvocations: countHelpers(safeRead(events('store'))),
      // The authenticate step's own request is not the clones'.
      identityRequestsForClones: Math.max(0, identityAt[0]! - 1),
      helperClones: runs + 2,
      ...(failed ? { failure: `${failed.displayName}: ${failed.errors[0] ?? failed.log.slice(-3).join(' | ')}` } : {}),
    };
    return result;
  } finally {
    rmSync(secret, { recursive: true, force: true });
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export interface GitBenchOptions {
  readonly runs?: number;
  readonly only?: ReadonlySet<string>;
}

/** Both scenarios on one harness (npm run bench). */
export async function benchGit(h: Harness, options: GitBenchOptions = {}): Promise<{ submodules?: SubmodulesResult; agents?: AgentsResult }> {
  const only = options.only ?? new Set(['submodules', 'agents']);
  return {
    ...(only.has('submodules') ? { submodules: await benchSubmodules(h, options.runs ?? 7) } : {}),
    ...(only.has('agents') ? { agents: await runAgents(h) } : {}),
  };
}

/** The budgets of these scenarios, in scripts/bench.ts's form. */
export function gitBudgets(result: { submodules?: SubmodulesResult; agents?: AgentsResult }): BudgetCheck[] {
  const budgets: BudgetCheck[] = [];
  const s = result.submodules;
  if (s) {
    budgets.push(s.failure
      ? { id: 'git.submodules', budget: `clone with ${SUBMODULES} submodules ≤ ${SUBMODULE_BUDGET} × credential.helper=store`, measured: 'no figure', limit: SUBMODULE_BUDGET, status: 'failing', note: s.failure }
      : { id: 'git.submodules', budget: `clone with ${SUBMODULES} submodules ≤ ${SUBMODULE_BUDGET} × credential.helper=store`, measured: `${s.ratio.toFixed(2)} × store`, value: s.ratio, limit: SUBMODULE_BUDGET, status: s.ratio <= SUBMODULE_BUDGET ? 'met' : 'missed' });
  }
  const a = result.agents;
  if (a) {
    const failures = a.failedJobs + a.failedOperations;
    budgets.push({ id: 'git.agents', budget: `${a.jobs} jobs × ${a.operations / a.jobs} git operations on one throttled IMDS: no failure`, measured: `${failures} failures, ${a.identityRequests} identity requests`,
      value: failures, limit: 0, status: failures === 0 ? 'met' : 'missed', ...(a.firstFailure ? { note: a.firstFailure } : {}) });
  }
  return budgets;
}

export function describeGit(result: { submodules?: SubmodulesResult; agents?: AgentsResult }): string[] {
  const lines: string[] = [];
  const s = result.submodules;
  if (s) {
    const kinds = (c: Readonly<Record<string, number>>): string => Object.entries(c).map(([k, n]) => `${n} × ${k}`).join(', ') || 'none';
    lines.push(s.failure
      ? `submodules: FAILING (${s.failure})`
      : `clone with ${s.submodules} submodules in two organizations: ${s.helperMedianMs.toFixed(0)} ms with the job's helpers vs ${s.storeMedianMs.toFixed(0)} ms with credential.helper=store: ${s.ratio.toFixed(2)} × (budget ≤ ${SUBMODULE_BUDGET}: ${s.ratio <= SUBMODULE_BUDGET ? 'met' : 'MISSED'}); ` +
        `helpers per clone: ${kinds(s.helperInvocations)} (store: ${kinds(s.storeInvocations)}); identity requests: ${s.identityRequestsForClones} for the job's ${s.helperClones} clones (the first one's helper starts the job's broker)`);
  }
  const a = result.agents;
  if (a) {
    lines.push(`${a.jobs} jobs at once × ${a.operations / a.jobs} git operations, IMDS limited to ${a.limits.perSecond}/s and ${a.limits.concurrent} at once: ` +
      `${a.failedJobs} failed jobs, ${a.failedOperations} failed git operations, ${a.identityRequests} identity requests (${a.throttled} answered 429, ${a.tokensIssued} tokens issued), ${(a.wallMs / 1000).toFixed(1)} s` +
      `${a.firstFailure ? `; first failure: ${a.firstFailure}` : ''}`);
  }
  return lines;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const value = (name: string): string | undefined => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
  const vsix = value('vsix');
  if (vsix) process.env['MI_VSIX'] = vsix;
  const runs = Number(value('runs') ?? 7);
  const only = new Set((value('only') ?? 'submodules,agents').split(','));
  const h = await harness();
  try {
    const result = await benchGit(h, { runs, only });
    if (argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
    else console.log(describeGit(result).join('\n'));
  } finally {
    await h.stop();
  }
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
