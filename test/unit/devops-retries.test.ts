/**
 * One retry layer for Azure DevOps REST, measured on the wire: the real azure-devops-node-api (and typed-rest-client
 * under it) against the emulator, whose recorded request times give the delay between attempts. Each case asserts
 * how many requests reached the server and how long the client waited before each retry: Retry-After honoured,
 * exponential backoff without it, a bounded number of attempts, and no waiting at all for a Retry-After longer than
 * the whole budget. The discovery requests (OPTIONS, ResourceAreas) and connection resets go through the same layer.
 */
import assert from 'node:assert/strict';
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import { DevOpsError } from '../../src/core/errors';
import type { Log } from '../../src/core/log';
import { connectOrganization, RETRY_POLICY, whoAmI } from '../../src/devops/client';
import { parseLoopbackHosts, parseOrganization, type HostPolicy, type Organization } from '../../src/devops/organizations';
import { call, getRepository, gitApi, type Connection } from '../../src/devops/repos';
import { readClaims } from '../../src/identity/jwt';
import { AGENT_VM, FABRIKAM, matchRequest, serverErrorFault, startEmulators, throttlingFault, type DevOpsRequest, type Emulators, type RequestMatch } from '../emulators';

/** Timers and the event loop of a shared machine: a retry may come this much later than planned, never earlier. */
const LATE_MS = 1500;
/** The emulator stamps a request when it arrives; the client's timer may fire a hair before the full wait. */
const EARLY_MS = 5;

interface Measured {
  readonly requests: number;
  /** Milliseconds between consecutive requests. */
  readonly gaps: number[];
  readonly error?: unknown;
  readonly elapsedMs: number;
  readonly log: string[];
}

describe('Azure DevOps REST: one retry layer, measured on the wire', function () {
  this.timeout(60_000);
  let emu: Emulators;
  let policy: HostPolicy;
  let org: Organization;
  let token: string;
  const figures: string[] = [];

  before(async () => {
    emu = await startEmulators();
    policy = parseLoopbackHosts('ManagedIdentity.TestHosts', new URL(emu.devops.url).host);
    org = parseOrganization('organizations', `${emu.devops.url}/${FABRIKAM.name}`, policy);
    token = emu.tokenFor(AGENT_VM.key);
  });
  after(async () => {
    await emu?.stop();
    console.log(`      measured (requests; gaps in ms):\n${figures.map((f) => `        ${f}`).join('\n')}`);
  });
  afterEach(() => (emu.devops.faults.length = 0));

  async function connection(lines: string[]): Promise<Connection> {
    const log: Log = { info: (m) => lines.push(m), warn: (m) => lines.push(m), debug: () => undefined };
    const api = await connectOrganization(org, token, policy);
    return { api, ref: { organization: org, project: FABRIKAM.project.name, repository: FABRIKAM.templates.name }, claims: readClaims(token), log };
  }

  /** Runs `work` on a fresh connection and measures the requests that match `m`. */
  async function measure(what: string, m: RequestMatch, work: (c: Connection) => Promise<unknown>): Promise<Measured> {
    const lines: string[] = [];
    const c = await connection(lines);
    const from = emu.devops.requests.length;
    const started = Date.now();
    let error: unknown;
    try {
      await work(c);
    } catch (err) {
      error = err;
    }
    const elapsedMs = Date.now() - started;
    const seen = emu.devops.requests.slice(from).filter(matchRequest(m));
    const gaps = seen.slice(1).map((r: DevOpsRequest, i) => r.time - seen[i]!.time);
    figures.push(`${what}: ${seen.length} requests; gaps ${gaps.join(', ') || '-'}; ${error ? 'failed' : 'succeeded'} after ${elapsedMs} ms`);
    return { requests: seen.length, gaps, error, elapsedMs, log: lines };
  }

  /** Each gap is at least the planned wait, and not much more (the plan's jitter, then a busy machine). */
  function assertWaits(gaps: readonly number[], planned: readonly number[], jitter = 0): void {
    assert.equal(gaps.length, planned.length, `${gaps.length} retries, expected ${planned.length}: gaps ${gaps.join(', ')}`);
    gaps.forEach((gap, i) => {
      const wait = planned[i]!;
      assert.ok(gap >= wait - EARLY_MS && gap <= wait * (1 + jitter) + LATE_MS, `retry ${i + 1} came after ${gap} ms; planned ${wait} ms (+${jitter * 100}% jitter)`);
    });
  }

  const backoff = (retry: number): number => RETRY_POLICY.baseDelayMs * 2 ** (retry - 1);
  const connectionData: RequestMatch = { method: 'GET', path: /\/_apis\/connectionData$/ };
  const repository: RequestMatch = { method: 'GET', path: /\/_apis\/git\/repositories\/templates$/ };
  const who = (c: Connection): Promise<unknown> => whoAmI(c.api, org, c.claims, c.log);
  const readRepository = async (c: Connection): Promise<unknown> => getRepository(c, await gitApi(c));

  it('the policy: a few attempts, exponential backoff with a little jitter, one overall budget', () => {
    assert.deepEqual(RETRY_POLICY, { attempts: 5, baseDelayMs: 500, jitter: 0.2, budgetMs: 60_000 });
  });

  it('503 with Retry-After: 1 — one retry, after 1 s', async () => {
    emu.devops.faults.push(serverErrorFault({ ...connectionData, status: 503, retryAfterSeconds: 1 }));
    const r = await measure('503, Retry-After: 1', connectionData, who);
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.requests, 2);
    assertWaits(r.gaps, [1000]);
    assert.match(r.log.join('\n'), /Azure DevOps answered 503 to 'read connectionData'; retrying in 1 s \(attempt 2 of 5\)\./);
  });

  it('503 without Retry-After — one retry, after the first backoff step', async () => {
    emu.devops.faults.push(serverErrorFault({ ...connectionData, status: 503 }));
    const r = await measure('503, no Retry-After', connectionData, who);
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.requests, 2);
    assertWaits(r.gaps, [backoff(1)], RETRY_POLICY.jitter);
  });

  it('429 with Retry-After: 2 — one retry, after 2 s', async () => {
    emu.devops.faults.push(throttlingFault({ ...repository, retryAfterSeconds: 2 }));
    const r = await measure('429, Retry-After: 2', repository, readRepository);
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.requests, 2);
    assertWaits(r.gaps, [2000]);
  });

  it('429 without Retry-After (a proxy’s, say) — one retry, after the first backoff step', async () => {
    const fault = throttlingFault({ ...repository });
    const headers = Object.fromEntries(Object.entries(fault.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'retry-after'));
    emu.devops.faults.push({ ...fault, headers });
    const r = await measure('429, no Retry-After', repository, readRepository);
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.requests, 2);
    assertWaits(r.gaps, [backoff(1)], RETRY_POLICY.jitter);
  });

  it('a persistent 503 — exactly as many requests as attempts, backing off 0.5, 1, 2, 4 s, then one clear error', async () => {
    emu.devops.faults.push({ ...serverErrorFault({ ...repository, status: 503 }), times: Infinity });
    const r = await measure('persistent 503, no Retry-After', repository, readRepository);
    assert.equal(r.requests, RETRY_POLICY.attempts);
    assertWaits(r.gaps, [1, 2, 3, 4].map(backoff), RETRY_POLICY.jitter);
    assert.ok(r.error instanceof DevOpsError, String(r.error));
    assert.match(r.error.message, /^Azure DevOps failed to read repository 'fabrikam\/Shared Tools\/templates' in 'fabrikam' \(HTTP 503\): 503 Service Unavailable \(gave up after 5 attempts in \d+(\.\d)? s\)$/);
  });

  it('a persistent 503 with Retry-After: 1 — every retry after 1 s, still bounded', async () => {
    emu.devops.faults.push({ ...serverErrorFault({ ...repository, status: 503, retryAfterSeconds: 1 }), times: Infinity });
    const r = await measure('persistent 503, Retry-After: 1', repository, readRepository);
    assert.equal(r.requests, RETRY_POLICY.attempts);
    assertWaits(r.gaps, [1000, 1000, 1000, 1000]);
    assert.ok(r.error instanceof DevOpsError);
  });

  it('a Retry-After beyond the budget — no waiting at all: one request and an error that says why', async () => {
    emu.devops.faults.push(throttlingFault({ ...repository, retryAfterSeconds: 120 }));
    const r = await measure('429, Retry-After: 120', repository, readRepository);
    assert.equal(r.requests, 1);
    assert.ok(r.elapsedMs < 5000, `gave up at once, not after ${r.elapsedMs} ms`);
    assert.ok(r.error instanceof DevOpsError, String(r.error));
    assert.match(r.error.message, /^Azure DevOps throttled the identity while trying to read repository '[^']+' \(429\): TF400733: .* \(it asked to retry after 120 s; this task waits at most 60 s in all\)$/);
  });

  it('discovery (GET ResourceAreas) is retried by the same layer, not by typed-rest-client underneath', async () => {
    const areas: RequestMatch = { method: 'GET', path: /\/_apis\/ResourceAreas$/ };
    emu.devops.faults.push(serverErrorFault({ ...areas, status: 503 }));
    const r = await measure('ResourceAreas 503 once', areas, (c) => gitApi(c));
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.requests, 2);
    assertWaits(r.gaps, [backoff(1)], RETRY_POLICY.jitter);
  });

  it('a connection reset on a read is retried once by the same layer', async () => {
    emu.devops.faults.push({ match: matchRequest(repository), resetConnection: true });
    const r = await measure('connection reset once', repository, readRepository);
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.requests, 2);
    assertWaits(r.gaps, [backoff(1)], RETRY_POLICY.jitter);
  });

  it('a write is never retried: one request, whatever the answer', async () => {
    const refs: RequestMatch = { method: 'POST', path: /\/refs$/ };
    emu.devops.faults.push({ ...serverErrorFault({ ...refs, status: 503, retryAfterSeconds: 0 }), times: Infinity });
    const r = await measure('POST refs, persistent 503', refs, async (c) => {
      const git: IGitApi = await gitApi(c);
      const repo = await getRepository(c, git);
      await call(c, 'create a branch', () => git.updateRefs([{ name: 'refs/heads/retry/x', oldObjectId: '0'.repeat(40), newObjectId: '0'.repeat(40) }], repo.id, repo.projectName), false);
    });
    assert.equal(r.requests, 1);
    assert.ok(r.error instanceof DevOpsError);
  });
});
