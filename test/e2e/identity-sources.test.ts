/**
 * Every managed-identity source, through the packaged ManagedIdentityAuthenticate task run like the agent
 * runs it: the request each emulator received, the identity Azure DevOps saw, the log line naming the
 * source and why, and no secret of the source in the output. Then selection by client, object and
 * resource id where each source honours it (and a clear refusal where it does not), our deadline and
 * retries, and stray variables of other sources.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { runJob, type JobResult, type StepResult } from '../agent/runner';
import {
  AGENT_VM, AZURE_DEVOPS_RESOURCE, LOOPBACK_NO_PROXY, UAMI_BUILD, UAMI_OUTSIDER, identityByKey, startEmulators,
  type EntraEmulator, type Emulators, type IdentitySource, type RecordedRequest,
} from '../emulators';
import { jobVariables, taskDir } from './support';

const VAR = 'AzureDevOps.AccessToken';
type Kind = 'clientId' | 'objectId' | 'resourceId';
const KINDS: readonly Kind[] = ['clientId', 'objectId', 'resourceId'];

interface Run {
  readonly job: JobResult;
  readonly main: StepResult;
  /** Requests the identity emulator received during this run. */
  readonly requests: RecordedRequest[];
  readonly entra: RecordedRequest[];
}

/** What each source's emulator must have received (research/managed-identity.md §1.2, msal-node 5.6.0 sources). */
interface SourceCase {
  readonly source: IdentitySource;
  readonly name: string;
  readonly decided: RegExp;
  readonly method: 'GET' | 'POST';
  readonly path: RegExp;
  readonly apiVersion?: string;
  readonly headers: (emu: Emulators) => Record<string, string>;
  readonly absentHeaders: readonly string[];
  /** Query parameter per selector the source honours. */
  readonly selectors: Partial<Record<Kind, string>>;
  /** Secrets the task must never print. */
  readonly secrets: (emu: Emulators) => string[];
}

const SOURCES: readonly SourceCase[] = [
  {
    source: 'imds', name: 'IMDS', decided: /\(AZURE_POD_IDENTITY_AUTHORITY_HOST is set\)/, method: 'GET',
    path: /^\/+metadata\/identity\/oauth2\/token\/?$/, apiVersion: '2018-02-01',
    headers: () => ({ metadata: 'true' }), absentHeaders: ['x-identity-header', 'secret'],
    selectors: { clientId: 'client_id', objectId: 'object_id', resourceId: 'msi_res_id' }, secrets: () => [],
  },
  {
    source: 'appService', name: 'App Service', decided: /\(IDENTITY_ENDPOINT and IDENTITY_HEADER are set\)/, method: 'GET',
    path: /^\/msi\/token$/, apiVersion: '2019-08-01',
    headers: (emu) => ({ 'x-identity-header': emu.identity.config.appServiceSecret }), absentHeaders: ['metadata', 'secret'],
    selectors: { clientId: 'client_id', objectId: 'object_id', resourceId: 'mi_res_id' }, secrets: (emu) => [emu.identity.config.appServiceSecret],
  },
  {
    source: 'arc', name: 'Azure Arc', decided: /\(IDENTITY_ENDPOINT and IMDS_ENDPOINT are set\)/, method: 'GET',
    path: /^\/arc\/metadata\/identity\/oauth2\/token$/, apiVersion: '2020-06-01',
    headers: () => ({ metadata: 'true' }), absentHeaders: ['x-identity-header', 'secret'],
    // msal-node 5.6.0 forwards every selector to Arc and checks Arc's echo (managed-identity.md §4 said 5.x refuses them).
    selectors: { clientId: 'client_id', objectId: 'object_id', resourceId: 'msi_res_id' }, secrets: () => [],
  },
  {
    source: 'serviceFabric', name: 'Service Fabric', decided: /\(IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT are set\)/,
    method: 'GET', path: /^\/sf\/token$/, apiVersion: '2019-07-01-preview',
    headers: (emu) => ({ secret: emu.identity.config.serviceFabricSecret }), absentHeaders: ['x-identity-header', 'metadata'],
    selectors: {}, secrets: (emu) => [emu.identity.config.serviceFabricSecret],
  },
  {
    source: 'cloudShell', name: 'Cloud Shell', decided: /\(MSI_ENDPOINT is set\)/, method: 'POST', path: /^\/cloudshell\/token$/,
    headers: () => ({ metadata: 'true' }), absentHeaders: ['x-identity-header', 'secret'], selectors: {}, secrets: () => [],
  },
  {
    source: 'machineLearning', name: 'Azure Machine Learning', decided: /\(MSI_ENDPOINT and MSI_SECRET are set\)/, method: 'GET',
    path: /^\/msi2017\/token$/, apiVersion: '2017-09-01',
    headers: (emu) => ({ metadata: 'true', secret: emu.identity.config.msiSecret }), absentHeaders: ['x-identity-header'],
    selectors: { clientId: 'clientid' }, secrets: (emu) => [emu.identity.config.msiSecret],
  },
];

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that accepts connections and never answers. */
async function blackHole(): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('identity sources (packaged ManagedIdentityAuthenticate through the agent-like runner)', function () {
  this.timeout(60_000);
  let emu: Emulators;
  let entra: EntraEmulator;
  let task: string;
  const roots: string[] = [];

  before(async () => {
    [emu, task] = await Promise.all([startEmulators(), taskDir('ManagedIdentityAuthenticate')]);
    entra = await emu.entra();
  });
  after(async () => {
    await emu?.stop();
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });
  afterEach(() => {
    emu.identity.faults.length = 0;
    entra.faults.length = 0;
    emu.identity.config.arcMode = 'challenge';
    delete emu.identity.config.substitute;
  });

  /** Runs the authenticate task alone (no git) with exactly `env` as the agent's identity environment. */
  async function authenticate(env: Record<string, string>, inputs: Record<string, string> = {}): Promise<Run> {
    const [identityBefore, entraBefore] = [emu.identity.requests.length, entra.requests.length];
    const job = await runJob({
      steps: [{ task, inputs: { configureGit: 'false', ...inputs } }],
      variables: jobVariables(emu),
      env: { ...LOOPBACK_NO_PROXY, ...env },
    });
    roots.push(job.dirs.agentRoot);
    return { job, main: job.steps[0]!, requests: emu.identity.requests.slice(identityBefore), entra: entra.requests.slice(entraBefore) };
  }

  function assertKnownAs(run: Run, identity: { key: string; objectId: string }): void {
    assert.equal(run.job.result, 'Succeeded', run.job.log);
    assert.equal(run.job.variables.get(`${VAR}.ObjectId`)?.value, identity.objectId, 'the ObjectId variable names the identity');
    assert.match(run.job.log, new RegExp(`Organization 'contoso' knows this identity as '${identity.key}'`));
  }

  function assertNoSecret(run: Run, secrets: readonly string[]): void {
    for (const secret of secrets) {
      assert.ok(secret.length >= 8, 'a real secret');
      for (const step of run.job.steps) assert.ok(!step.raw.includes(secret), `the secret of the source is absent from ${step.displayName}'s raw output`);
    }
  }

  function failure(run: Run): string {
    assert.equal(run.job.result, 'Failed', run.job.log);
    assert.equal(run.main.errors.length, 1, run.main.errors.join('\n'));
    assert.equal(run.job.variables.has(VAR), false, 'no token variable after a failure');
    return run.main.errors[0]!;
  }

  const resourceIdOf = (key: string): string => identityByKey(emu.world, key).resourceId;
  const selectorValue = (kind: Kind, ids: { key: string; clientId: string; objectId: string }): string =>
    kind === 'resourceId' ? resourceIdOf(ids.key) : ids[kind];

  describe('one source at a time: the request each endpoint received, and who Azure DevOps saw', () => {
    for (const c of SOURCES) {
      it(`${c.name}`, async () => {
        if (c.source === 'arc') emu.identity.config.arcMode = 'open';
        const run = await authenticate(emu.identity.envFor(c.source));
        assertKnownAs(run, { key: AGENT_VM.key, objectId: AGENT_VM.objectId });
        assert.equal(run.requests.length, 1, JSON.stringify(run.requests));
        const [r] = run.requests as [RecordedRequest];
        assert.equal(r.method, c.method);
        assert.match(r.path, c.path);
        if (c.method === 'GET') {
          assert.equal(r.query['api-version'], c.apiVersion);
          assert.equal(r.query['resource'], AZURE_DEVOPS_RESOURCE);
        } else {
          assert.equal(new URLSearchParams(r.body).get('resource'), AZURE_DEVOPS_RESOURCE);
        }
        for (const [name, value] of Object.entries(c.headers(emu))) assert.equal(r.headers[name], value, `header ${name}`);
        for (const name of c.absentHeaders) assert.equal(r.headers[name], undefined, `no ${name} header`);
        for (const param of ['client_id', 'object_id', 'msi_res_id', 'mi_res_id']) assert.equal(r.query[param], undefined, `no ${param} for the system identity`);
        if (c.source === 'machineLearning') assert.equal(r.query['clientid'], AGENT_VM.clientId, 'DEFAULT_IDENTITY_CLIENT_ID is sent as clientid');
        assert.match(run.job.log, new RegExp(`Identity source: ${c.name} at http://127\\.0\\.0\\.1:\\d+/\\S* ${c.decided.source}`));
        assert.deepEqual(run.main.warnings, [], 'no stray variables, no warnings');
        assertNoSecret(run, c.secrets(emu));
      });
    }

    it('Azure Arc with the key-file challenge (401, then Basic with the key from the key folder)', async () => {
      // msal-node reads the key only from /var/opt/azcmagent/tokens/ (AzureArc.ts); the emulator flavour reads
      // this run's own folder instead (MIADO_EMULATOR_ARC_TOKENS_DIR, scripts/build.ts), with msal's checks intact.
      const run = await authenticate(emu.identity.envFor('arc'));
      assertKnownAs(run, { key: AGENT_VM.key, objectId: AGENT_VM.objectId });
      assert.equal(run.requests.length, 2);
      const [challenge, answer] = run.requests as [RecordedRequest, RecordedRequest];
      assert.equal(challenge.status, 401);
      assert.equal(challenge.headers['authorization'], undefined);
      assert.equal(answer.status, 200);
      const key = /^Basic (.+)$/.exec(answer.headers['authorization'] ?? '')?.[1];
      assert.ok(key, 'the second request carries the key file content');
      assert.equal(answer.headers['metadata'], 'true');
      assertNoSecret(run, [key]);
    });

    it('AKS workload identity: the federated token exchanged at Entra over TLS (test CA via NODE_EXTRA_CA_CERTS)', async () => {
      const env = entra.env(UAMI_BUILD.key);
      const assertion = readFileSync(env['AZURE_FEDERATED_TOKEN_FILE']!, 'utf8').trim();
      const run = await authenticate(env);
      assertKnownAs(run, { key: UAMI_BUILD.key, objectId: UAMI_BUILD.objectId });
      assert.deepEqual(run.requests, [], 'no local identity endpoint was asked');
      const tenant = identityByKey(emu.world, UAMI_BUILD.key).tenantId;
      const metadata = run.entra.find((r) => r.method === 'GET' && r.path === `/${tenant}/v2.0/.well-known/openid-configuration`);
      assert.ok(metadata, `openid-configuration was read: ${run.entra.map((r) => `${r.method} ${r.path}`).join(', ')}`);
      const exchange = run.entra.filter((r) => r.method === 'POST' && r.path === `/${tenant}/oauth2/v2.0/token`);
      assert.equal(exchange.length, 1);
      const form = new URLSearchParams(exchange[0]!.body);
      assert.equal(form.get('grant_type'), 'client_credentials');
      assert.equal(form.get('client_id'), UAMI_BUILD.clientId);
      assert.equal(form.get('scope'), `${AZURE_DEVOPS_RESOURCE}/.default`);
      assert.equal(form.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      assert.equal(form.get('client_assertion'), assertion);
      assert.match(run.job.log, /Identity source: AKS workload identity at https:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+\/oauth2\/v2\.0\/token \(AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE are set\)/);
      assertNoSecret(run, [assertion]);
    });
  });

  describe('selection by clientId, objectId and resourceId', () => {
    for (const c of SOURCES) {
      for (const kind of KINDS) {
        const param = c.selectors[kind];
        if (param) {
          it(`${c.name} honours ${kind} (query ${param})`, async () => {
            if (c.source === 'arc') emu.identity.config.arcMode = 'open';
            const value = selectorValue(kind, UAMI_BUILD);
            const run = await authenticate(emu.identity.envFor(c.source), { [kind]: value });
            assertKnownAs(run, { key: UAMI_BUILD.key, objectId: UAMI_BUILD.objectId });
            assert.equal(run.requests.length, 1);
            assert.equal(run.requests[0]!.query[param], value);
          });
        } else {
          it(`${c.name} refuses ${kind} with a clear error, before any request`, async () => {
            const value = selectorValue(kind, UAMI_BUILD);
            const run = await authenticate(emu.identity.envFor(c.source), { [kind]: value });
            const error = failure(run);
            assert.match(error, new RegExp(`^${c.name} cannot select a user-assigned identity by ${kind} \\(got '`));
            assert.ok(error.includes(value), 'the error names the value');
            assert.deepEqual(run.requests, []);
          });
        }
      }
    }

    it('AKS workload identity honours clientId (the client id of the exchange)', async () => {
      const env = { ...entra.env(UAMI_BUILD.key) };
      delete env['AZURE_CLIENT_ID'];
      const run = await authenticate(env, { clientId: UAMI_BUILD.clientId });
      assertKnownAs(run, { key: UAMI_BUILD.key, objectId: UAMI_BUILD.objectId });
      assert.equal(new URLSearchParams(run.entra.find((r) => r.method === 'POST')!.body).get('client_id'), UAMI_BUILD.clientId);
      assert.match(run.job.log, /\(AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE are set\)/);
    });

    for (const kind of ['objectId', 'resourceId'] as const) {
      it(`AKS workload identity refuses ${kind} (the library would silently ignore it)`, async () => {
        const run = await authenticate(entra.env(UAMI_BUILD.key), { [kind]: selectorValue(kind, UAMI_BUILD) });
        assert.match(failure(run), new RegExp(`^AKS workload identity cannot select a user-assigned identity by ${kind}`));
        assert.deepEqual(run.entra, []);
      });
    }

    for (const kind of KINDS) {
      it(`refuses a token for another identity than the ${kind} requested (IMDS)`, async () => {
        emu.identity.config.substitute = UAMI_OUTSIDER.key;
        const run = await authenticate(emu.identity.envFor('imds'), { [kind]: selectorValue(kind, UAMI_BUILD) });
        const error = failure(run);
        assert.match(error, new RegExp(`returned a token for another identity \\(${kind} '${selectorValue(kind, UAMI_OUTSIDER).replace(/[/.]/g, '\\$&')}'\\) than the one requested`));
        assert.equal(run.requests.length, 1, 'not retried');
      });
    }

    it('refuses a token for another identity on App Service', async () => {
      emu.identity.config.substitute = UAMI_OUTSIDER.key;
      const run = await authenticate(emu.identity.envFor('appService'), { objectId: UAMI_BUILD.objectId });
      assert.match(failure(run), /App Service endpoint returned a token for another identity \(objectId '2f0187ba/);
    });

    it('Azure Arc: an answer that does not confirm the requested identity is refused (msal-node’s echo check)', async () => {
      emu.identity.config.arcMode = 'open';
      emu.identity.config.substitute = UAMI_OUTSIDER.key;
      const run = await authenticate(emu.identity.envFor('arc'), { clientId: UAMI_BUILD.clientId });
      assert.match(failure(run), new RegExp(`^Azure Arc did not confirm the identity with clientId '${UAMI_BUILD.clientId}'`));
    });
  });

  describe('deadline and retries (ours, within 15 s)', () => {
    it('fails fast when nothing listens at the identity endpoint, saying what was looked for and what to do', async () => {
      const port = await closedPort();
      const run = await authenticate({ AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://127.0.0.1:${port}` });
      const error = failure(run);
      assert.match(error, new RegExp(`^No managed identity endpoint answered: IMDS at http://127\\.0\\.0\\.1:${port}/metadata/identity/oauth2/token refused the connection \\(ECONNREFUSED; 3 attempts in \\d+\\.\\d s\\)\\.$`));
      assert.match(run.job.log, /Hint: Looked for AKS workload identity, Service Fabric, App Service, Azure Machine Learning, Cloud Shell and Azure Arc .* first; none is configured on this agent\. Run the job on an agent that has a managed identity/);
      assert.ok(run.main.durationMs < 15_000, `failed in ${run.main.durationMs} ms`);
      assert.ok(run.main.durationMs < 5_000, `refused connections are not retried for long (${run.main.durationMs} ms)`);
    });

    it('AKS workload identity with Entra refusing connections fails fast too', async () => {
      const port = await closedPort();
      const run = await authenticate({ ...entra.env(UAMI_BUILD.key), AZURE_AUTHORITY_HOST: `https://127.0.0.1:${port}` });
      assert.match(failure(run), new RegExp(`^No managed identity endpoint answered: AKS workload identity could not reach Entra ID: https://127\\.0\\.0\\.1:${port}/[0-9a-f-]+/v2\\.0/\\.well-known/openid-configuration refused the connection \\(ECONNREFUSED; 3 attempts in \\d+\\.\\d s\\)\\.$`));
      assert.match(run.job.log, /Hint: Allow the agent pod to reach Entra ID/);
      assert.ok(run.main.durationMs < 5_000, `failed in ${run.main.durationMs} ms`);
    });

    it('fails within the deadline when endpoints accept connections and never answer (IMDS: no answer; Entra: no TLS handshake)', async () => {
      const [imdsHole, entraHole] = await Promise.all([blackHole(), blackHole()]);
      try {
        // Run side by side to keep the suite fast; each job has its own endpoint.
        const [imds, aks] = await Promise.all([
          authenticate({ AZURE_POD_IDENTITY_AUTHORITY_HOST: imdsHole.url }),
          authenticate({ ...entra.env(UAMI_BUILD.key), AZURE_AUTHORITY_HOST: entraHole.url.replace('http:', 'https:') }),
        ]);
        assert.match(failure(imds), /^No managed identity endpoint answered: IMDS at http:\/\/127\.0\.0\.1:\d+\/metadata\/identity\/oauth2\/token accepted the connection but sent no answer within 5\.0 s \(2 attempts in \d+\.\d s\)\.$/);
        assert.match(failure(aks), /^No managed identity endpoint answered: AKS workload identity could not reach Entra ID: https:\/\/127\.0\.0\.1:\d+\/\S+ did not complete a connection within 2\.0 s \(3 attempts in \d+\.\d s\)\.$/);
        for (const run of [imds, aks]) assert.ok(run.main.durationMs < 15_000, `failed in ${run.main.durationMs} ms`);
      } finally {
        await Promise.all([imdsHole.stop(), entraHole.stop()]);
      }
    });

    it('AKS workload identity: Entra answering 503 with Retry-After is waited for, then succeeds', async () => {
      entra.faults.push({ match: (r) => r.method === 'POST', status: 503, headers: { 'Retry-After': '1' }, body: { error: 'temporarily_unavailable', error_description: 'AADSTS90033: A transient error has occurred.' } });
      const run = await authenticate(entra.env(UAMI_BUILD.key));
      assertKnownAs(run, { key: UAMI_BUILD.key, objectId: UAMI_BUILD.objectId });
      const posts = run.entra.filter((r) => r.method === 'POST');
      assert.deepEqual(posts.map((r) => r.status), [503, 200]);
      assert.ok(posts[1]!.time - posts[0]!.time >= 1_000, `waited ${posts[1]!.time - posts[0]!.time} ms`);
    });

    it('retries IMDS answering 500 twice, then succeeds', async () => {
      emu.identity.faults.push({ status: 500, times: 2 });
      const run = await authenticate(emu.identity.envFor('imds'));
      assertKnownAs(run, { key: AGENT_VM.key, objectId: AGENT_VM.objectId });
      assert.deepEqual(run.requests.map((r) => r.status), [500, 500, 200]);
      assert.equal(run.main.log.filter((l) => /The IMDS endpoint answered HTTP 500; retrying in/.test(l)).length, 2, run.main.log.join('\n'));
    });

    it('waits as Retry-After says on 429, then succeeds', async () => {
      emu.identity.faults.push({ status: 429, headers: { 'Retry-After': '1' }, body: { error: 'too_many_requests', error_description: 'Too many requests' } });
      const run = await authenticate(emu.identity.envFor('imds'));
      assertKnownAs(run, { key: AGENT_VM.key, objectId: AGENT_VM.objectId });
      const [first, second] = run.requests as [RecordedRequest, RecordedRequest];
      assert.deepEqual(run.requests.map((r) => r.status), [429, 200]);
      assert.ok(second.time - first.time >= 1_000, `waited ${second.time - first.time} ms`);
      assert.match(run.job.log, /The IMDS endpoint answered HTTP 429 \(Too many requests\); retrying in 1\.[0-5] s\./, 'at least Retry-After, with jitter');
    });

    it('waits out throttling that lasts several seconds (the deadline bounds it, not a retry count), with jitter', async () => {
      emu.identity.faults.push({ status: 429, headers: { 'Retry-After': '1' }, body: { error: 'too_many_requests', error_description: 'IMDS Throttle limit reached.' }, times: 6 });
      const run = await authenticate(emu.identity.envFor('imds'));
      assertKnownAs(run, { key: AGENT_VM.key, objectId: AGENT_VM.objectId });
      assert.deepEqual(run.requests.map((r) => r.status), [429, 429, 429, 429, 429, 429, 200]);
      const gaps = run.requests.slice(1).map((r, i) => r.time - run.requests[i]!.time);
      assert.ok(gaps.every((g) => g >= 1_000 && g < 2_500), `each wait at least Retry-After, at most 1.5 × it plus overhead: ${gaps.join(', ')} ms`);
      assert.ok(new Set(gaps.map((g) => Math.round(g / 50))).size > 1, `waits are spread, not all equal: ${gaps.join(', ')} ms`);
    });

    it('gives up on throttling that outlasts the 15 s deadline with a message whose numbers are the requests made', async () => {
      emu.identity.faults.push({ status: 429, headers: { 'Retry-After': '2' }, body: { error: 'too_many_requests', error_description: 'IMDS Throttle limit reached.' }, times: Infinity });
      try {
        const run = await authenticate(emu.identity.envFor('imds'));
        const message = failure(run);
        const said = /gave up after (\d+) attempts in ([\d.]+) s, as waiting again would pass the 15\.0 s limit\./.exec(message);
        assert.ok(said, message);
        assert.equal(Number(said[1]), run.requests.length, 'the attempts it names are the requests it made');
        assert.ok(Number(said[2]) <= 15 && Number(said[2]) >= 10, `it used the deadline: ${said[2]} s`);
      } finally {
        emu.identity.faults.length = 0;
      }
    });

    it('fails at once when Retry-After is beyond the deadline, saying so', async () => {
      emu.identity.faults.push({ status: 429, headers: { 'Retry-After': '60' }, body: { error: 'too_many_requests', error_description: 'Too many requests' } });
      const run = await authenticate(emu.identity.envFor('imds'));
      assert.match(failure(run), /^The IMDS endpoint is throttling token requests \(HTTP 429, Retry-After 60\.0 s\); gave up after 1 attempt in \d+\.\d s, as waiting again would pass the 15\.0 s limit\./);
      assert.equal(run.requests.length, 1);
      assert.ok(run.main.durationMs < 5_000, `${run.main.durationMs} ms`);
    });

    it('fails at once, naming it, for a client id the endpoint does not know (not retried)', async () => {
      const unknown = '0b6a1e47-2f27-4bb8-9a4f-1d1e6c3f0a99';
      const run = await authenticate(emu.identity.envFor('imds'), { clientId: unknown });
      assert.match(failure(run), new RegExp(`^The IMDS endpoint does not know the identity with clientId '${unknown}': identity not found \\(HTTP 400: Identity not found\\)\\.$`));
      assert.equal(run.requests.length, 1, 'not retried');
      assert.match(run.job.log, new RegExp(`Hint: Check that clientId '${unknown}' belongs to a user-assigned identity attached to the agent's host`));
    });

    it('explains an agent with several user-assigned identities and no selector', async () => {
      const assigned = [...emu.world.assigned];
      emu.world.assigned = assigned.filter((key) => key !== AGENT_VM.key);
      try {
        const run = await authenticate(emu.identity.envFor('imds'));
        assert.match(failure(run), /^The IMDS endpoint cannot choose an identity: the agent has several user-assigned identities and no system-assigned one \(HTTP 400: Multiple user assigned identities exist/);
        assert.match(run.job.log, /Hint: Select one with the clientId, objectId or resourceId input\./);
        assert.equal(run.requests.length, 1, 'not retried');
      } finally {
        emu.world.assigned = assigned;
      }
    });

    it('retries a connection reset, then succeeds', async () => {
      emu.identity.faults.push({ resetConnection: true });
      const run = await authenticate(emu.identity.envFor('imds'));
      assertKnownAs(run, { key: AGENT_VM.key, objectId: AGENT_VM.objectId });
      assert.equal(run.requests.length, 2);
      assert.match(run.job.log, /The IMDS endpoint closed the connection without an answer \(ECONNRESET\); retrying in 0\.[5-8] s\./);
    });

    it('explains an App Service endpoint that refuses the identity header, without printing it', async () => {
      const env = { ...emu.identity.envFor('appService'), IDENTITY_HEADER: 'not-the-secret-0f3c9a' };
      const run = await authenticate(env);
      assert.match(failure(run), /^The App Service endpoint refused the request \(HTTP 401: Unauthorized\)\.$/);
      assert.match(run.job.log, /Hint: IDENTITY_HEADER does not match the endpoint's secret/);
      assertNoSecret(run, ['not-the-secret-0f3c9a', emu.identity.config.appServiceSecret]);
    });

    it('explains an Azure Arc key file the agent cannot read', async () => {
      emu.identity.faults.push({ status: 401, headers: { 'WWW-Authenticate': `Basic realm=${emu.identity.config.arcKeyDir}/0d2e9c1e-absent.key` }, body: {} });
      const run = await authenticate(emu.identity.envFor('arc'));
      assert.match(failure(run), /^Azure Arc asked for proof that the agent may use the identity \(a key file the Connected Machine agent writes\), and reading it failed: unable_to_read_secret_file\.$/);
      assert.match(run.job.log, /Hint: Add the agent's service account to the 'himds' group/);
    });

    it('explains a workload identity federation Entra does not know (AADSTS70021)', async () => {
      const env = entra.env(UAMI_BUILD.key, entra.writeFederatedToken({ subject: 'system:serviceaccount:other:agent' }));
      const run = await authenticate(env);
      assert.match(failure(run), new RegExp(`^Entra ID refused the workload identity token exchange for client id ${UAMI_BUILD.clientId}: AADSTS70021: No matching federated identity record found for presented assertion\\.`));
      assert.match(run.job.log, /Hint: Add a federated identity credential to .* subject system:serviceaccount:<namespace>/);
    });
  });

  describe('stray identity variables', () => {
    it('a leftover MSI_ENDPOINT decides the source: the log and the error say so, and how to fix it', async () => {
      const port = await closedPort();
      const run = await authenticate({ ...emu.identity.envFor('imds'), MSI_ENDPOINT: `http://127.0.0.1:${port}/msi/token` });
      assert.match(run.job.log, /Identity source: Cloud Shell at http:\/\/127\.0\.0\.1:\d+\/msi\/token \(MSI_ENDPOINT is set\)\./);
      assert.match(run.main.warnings.join('\n'), /Also set, but not what chose the identity source: AZURE_POD_IDENTITY_AUTHORITY_HOST\./);
      assert.match(failure(run), /^No managed identity endpoint answered: Cloud Shell at .* refused the connection/);
      assert.match(run.job.log, /Hint: Cloud Shell was chosen because MSI_ENDPOINT is set\. If this agent is not hosted on Cloud Shell, remove MSI_ENDPOINT from the agent's environment/);
      assert.deepEqual(run.requests, [], 'IMDS was not asked');
    });

    it('an http AZURE_AUTHORITY_HOST, which @azure/identity refuses for every source, is named', async () => {
      const run = await authenticate({ ...emu.identity.envFor('imds'), AZURE_AUTHORITY_HOST: 'http://login.example' });
      assert.match(failure(run), /^AZURE_AUTHORITY_HOST must be an https URL: @azure\/identity refuses every managed identity source while it is not/);
      assert.deepEqual(run.requests, []);
    });

    it('variables of other sources that are set but ignored are a warning, and their values never appear', async () => {
      const env = {
        ...emu.identity.envFor('appService'),
        AZURE_CLIENT_ID: UAMI_OUTSIDER.clientId, MSI_SECRET: 'stray-msi-secret-7d1f', IMDS_ENDPOINT: 'http://127.0.0.1:1', IDENTITY_SERVER_THUMBPRINT: '',
      };
      const run = await authenticate(env);
      assertKnownAs(run, { key: AGENT_VM.key, objectId: AGENT_VM.objectId });
      const warning = run.main.warnings.join('\n');
      assert.match(warning, /Also set, but not what chose the identity source: AZURE_CLIENT_ID, IDENTITY_SERVER_THUMBPRINT \(empty\), IMDS_ENDPOINT, MSI_SECRET\./);
      assert.match(warning, /AZURE_CLIENT_ID does not select an identity here: use the clientId input\./);
      assertNoSecret(run, [emu.identity.config.appServiceSecret, 'stray-msi-secret-7d1f']);
    });
  });
});
