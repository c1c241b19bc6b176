/**
 * Our mirrors of library internals, each run next to the INSTALLED library so that an upgrade that changes the
 * library's behaviour fails here: the choice of source (@azure/identity's tokenExchangeMsi.isAvailable, loaded by file
 * path as the package's exports hide it, and msal-node's detection) over every set of identity variables present and
 * over empty values; which user-assigned selectors each source honours (the real credential against a local
 * endpoint); and the proxy rules of environmentProxyApplies (the pipeline's own proxy policy). Plus the retry
 * decisions of identity.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { ManagedIdentityApplication } from '@azure/msal-node';
import { retryDelay, spread } from '../../src/identity/managed-identity';
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { environmentProxyApplies } from '../../src/identity/transport';
import { detectIdentitySource, IDENTITY_VARIABLES, printableEndpoint, type SelectorKind, type SourceName } from '../../src/identity/source';
import { run } from '../e2e/support';
import { scrubbedEnv } from '../emulators';

const load = createRequire(__filename);
const tokenExchangeMsi = (load(join(dirname(require.resolve('@azure/identity')), 'credentials/managedIdentityCredential/tokenExchangeMsi.js')) as {
  tokenExchangeMsi: { isAvailable(clientId?: string): Promise<boolean> };
}).tokenExchangeMsi;

const MSAL_NAMES: Record<string, SourceName> = {
  ServiceFabric: 'Service Fabric',
  AppService: 'App Service',
  MachineLearning: 'Azure Machine Learning',
  CloudShell: 'Cloud Shell',
  AzureArc: 'Azure Arc',
  DefaultToImds: 'IMDS',
  Imds: 'IMDS',
};

/**
 * msal's public getManagedIdentitySource() answers from a process-wide cache once anything asked
 * (ManagedIdentityApplication.ts: `ManagedIdentityClient.sourceName || …`), so ask the detection itself.
 */
function msalSource(): string {
  const app = new ManagedIdentityApplication() as unknown as { managedIdentityClient: { getManagedIdentitySource(): string } };
  return app.managedIdentityClient.getManagedIdentitySource();
}

/** Runs `body` with exactly `vars` as the identity variables of process.env. */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T> | T): Promise<T> {
  const saved = Object.fromEntries(IDENTITY_VARIABLES.map((v) => [v, process.env[v]]));
  for (const v of IDENTITY_VARIABLES) delete process.env[v];
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const v of IDENTITY_VARIABLES) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
  }
}

const VALUES: Record<string, string> = {
  AZURE_CLIENT_ID: '779039d3-bf45-4647-92dc-83bb747cb764',
  AZURE_TENANT_ID: '43378906-d6e6-426f-85ad-7fc8269f2c09',
  AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
  AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com',
  IDENTITY_ENDPOINT: 'http://localhost:42356/msi/token',
  IDENTITY_HEADER: 'secret-header',
  IDENTITY_SERVER_THUMBPRINT: 'ABCDEF',
  IMDS_ENDPOINT: 'http://localhost:40342',
  MSI_ENDPOINT: 'http://localhost:50342/oauth2/token',
  MSI_SECRET: 'msi-secret',
  DEFAULT_IDENTITY_CLIENT_ID: 'ed966fa4-ca9c-4fe3-bc17-6351a53eafd1',
  AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:2000',
};

/** Compares our detection with the libraries' for one environment; returns a description of the difference, if any. */
async function disagreement(vars: Record<string, string>, clientIdSelected: boolean): Promise<string | undefined> {
  return withEnv(vars, async () => {
    const exchange = await tokenExchangeMsi.isAvailable(clientIdSelected ? VALUES['AZURE_CLIENT_ID'] : undefined);
    const expected = exchange ? 'AKS workload identity' : MSAL_NAMES[msalSource()];
    const ours = detectIdentitySource(process.env, clientIdSelected, () => false);
    return ours.name === expected ? undefined : `${JSON.stringify({ vars, clientIdSelected })}: ours ${ours.name}, libraries ${expected}`;
  });
}

describe('identity source detection', () => {
  it('agrees with @azure/identity and msal-node on every set of identity variables present, with and without a clientId', async function () {
    this.timeout(120_000);
    const names = [...IDENTITY_VARIABLES];
    const differences: string[] = [];
    for (let mask = 0; mask < 1 << names.length; mask++) {
      const vars = Object.fromEntries(names.filter((_, i) => mask & (1 << i)).map((v) => [v, VALUES[v]!]));
      for (const clientIdSelected of [false, true]) {
        const difference = await disagreement(vars, clientIdSelected);
        if (difference) differences.push(difference);
      }
    }
    assert.deepEqual(differences.slice(0, 5), [], `${differences.length} of ${2 << names.length} environments differ`);
  });

  it('agrees where msal sends the request (tryCreate) when variables are set but empty', async () => {
    // msal's getManagedIdentitySource() counts '' as present, tryCreate does not; the request goes where tryCreate
    // says (see the next test). Compare only environments where the two msal views agree.
    await fc.assert(fc.asyncProperty(
      fc.dictionary(fc.constantFrom(...IDENTITY_VARIABLES), fc.constantFrom('', 'value')), fc.boolean(),
      async (chosen, clientIdSelected) => {
        const vars = Object.fromEntries(Object.entries(chosen).map(([v, kind]) => [v, kind === '' ? '' : VALUES[v]!]));
        const nonEmpty = Object.fromEntries(Object.entries(vars).filter(([, value]) => value !== ''));
        const withEmpty = await withEnv(vars, () => msalSource());
        const without = await withEnv(nonEmpty, () => msalSource());
        fc.pre(withEmpty === without);
        assert.equal(await disagreement(vars, clientIdSelected), undefined);
      },
    ), { numRuns: 400 });
  });

  it('agrees with @azure/identity and msal-node on every combination of identity variables', async () => {
    await fc.assert(fc.asyncProperty(
      fc.subarray([...IDENTITY_VARIABLES]), fc.boolean(),
      async (chosen, clientIdSelected) => {
        const present: string[] = chosen;
        const vars = Object.fromEntries(present.map((v) => [v, VALUES[v]!]));
        await withEnv(vars, async () => {
          const exchange = await tokenExchangeMsi.isAvailable(clientIdSelected ? VALUES['AZURE_CLIENT_ID'] : undefined);
          const expected = exchange ? 'AKS workload identity' : MSAL_NAMES[msalSource()];
          const ours = detectIdentitySource(process.env, clientIdSelected);
          assert.equal(ours.name, expected, JSON.stringify({ present, clientIdSelected }));
          for (const v of ours.decidedBy) assert.ok(present.includes(v), `${v} decided it, so it is set`);
          for (const v of ours.ignored) assert.ok(present.includes(v) && !ours.decidedBy.includes(v));
        });
      },
    ), { numRuns: 400 });
  });

  it('follows where msal sends the request (tryCreate) when a variable is set but empty, not getManagedIdentitySource()', async () => {
    await withEnv({ IDENTITY_ENDPOINT: VALUES['IDENTITY_ENDPOINT']!, IDENTITY_HEADER: VALUES['IDENTITY_HEADER']!, IDENTITY_SERVER_THUMBPRINT: '' }, () => {
      // msal's name check counts '' as present; its tryCreate does not. The e2e test "variables of other
      // sources that are set but ignored" proves the request goes to the App Service endpoint.
      assert.equal(msalSource(), 'ServiceFabric');
      const ours = detectIdentitySource(process.env, false);
      assert.equal(ours.name, 'App Service');
      assert.deepEqual(ours.ignored, ['IDENTITY_SERVER_THUMBPRINT (empty)']);
    });
  });

  it('names the variables that decided, the endpoint, and what each source can select', () => {
    const cases: Array<[Record<string, string>, boolean, SourceName, string, string, string[]]> = [
      [{}, false, 'IMDS', 'http://169.254.169.254/metadata/identity/oauth2/token', 'no other source is configured', ['clientId', 'objectId', 'resourceId']],
      [{ AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://10.0.0.5:2579' }, false, 'IMDS', 'http://10.0.0.5:2579/metadata/identity/oauth2/token', 'AZURE_POD_IDENTITY_AUTHORITY_HOST is set', ['clientId', 'objectId', 'resourceId']],
      [{ IDENTITY_ENDPOINT: 'http://localhost:40342/metadata/identity/oauth2/token', IMDS_ENDPOINT: 'http://localhost:40342' }, false, 'Azure Arc', 'http://127.0.0.1:40342/metadata/identity/oauth2/token', 'IDENTITY_ENDPOINT and IMDS_ENDPOINT are set', ['clientId', 'objectId', 'resourceId']],
      [{ IDENTITY_ENDPOINT: 'http://localhost:8081/msi/token?x=1', IDENTITY_HEADER: 'h' }, false, 'App Service', 'http://localhost:8081/msi/token', 'IDENTITY_ENDPOINT and IDENTITY_HEADER are set', ['clientId', 'objectId', 'resourceId']],
      [{ IDENTITY_ENDPOINT: 'https://10.0.0.4:2377/metadata/identity/oauth2/token', IDENTITY_HEADER: 'h', IDENTITY_SERVER_THUMBPRINT: 't' }, false, 'Service Fabric', 'https://10.0.0.4:2377/metadata/identity/oauth2/token', 'IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT are set', []],
      [{ MSI_ENDPOINT: 'http://localhost:50342/oauth2/token' }, false, 'Cloud Shell', 'http://localhost:50342/oauth2/token', 'MSI_ENDPOINT is set', []],
      [{ MSI_ENDPOINT: 'http://127.0.0.1:46808/msi/token', MSI_SECRET: 's' }, false, 'Azure Machine Learning', 'http://127.0.0.1:46808/msi/token', 'MSI_ENDPOINT and MSI_SECRET are set', ['clientId']],
      [{ AZURE_TENANT_ID: VALUES['AZURE_TENANT_ID']!, AZURE_FEDERATED_TOKEN_FILE: '/t' }, true, 'AKS workload identity', `https://login.microsoftonline.com/${VALUES['AZURE_TENANT_ID']}/oauth2/v2.0/token`, 'AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE are set', ['clientId']],
      [{ AZURE_TENANT_ID: VALUES['AZURE_TENANT_ID']!, AZURE_FEDERATED_TOKEN_FILE: '/t' }, false, 'IMDS', 'http://169.254.169.254/metadata/identity/oauth2/token', 'no other source is configured', ['clientId', 'objectId', 'resourceId']],
    ];
    for (const [env, clientIdSelected, name, endpoint, reason, selectors] of cases) {
      const source = detectIdentitySource(env, clientIdSelected, () => false);
      assert.deepEqual([source.name, source.endpoint, source.reason, [...source.selectors]], [name, endpoint, reason, selectors], JSON.stringify(env));
    }
  });

  it('detects Azure Arc from the Connected Machine agent alone, and reports stray variables', () => {
    const arc = detectIdentitySource({ IDENTITY_ENDPOINT: 'http://localhost:1' }, false, () => true);
    assert.equal(arc.name, 'Azure Arc');
    assert.match(arc.reason, /the Azure Connected Machine agent is installed/);
    assert.equal(arc.endpoint, 'http://127.0.0.1:40342/metadata/identity/oauth2/token');
    assert.deepEqual(arc.ignored, ['IDENTITY_ENDPOINT']);
    const imds = detectIdentitySource({ AZURE_CLIENT_ID: 'x', MSI_SECRET: 's', IDENTITY_HEADER: '' }, false, () => false);
    assert.deepEqual([imds.name, imds.ignored], ['IMDS', ['AZURE_CLIENT_ID', 'IDENTITY_HEADER (empty)', 'MSI_SECRET']]);
    assert.deepEqual(imds.skipped, ['AKS workload identity', 'Service Fabric', 'App Service', 'Azure Machine Learning', 'Cloud Shell', 'Azure Arc']);
  });

  it('never shows a query string or user info of an endpoint', () => {
    assert.equal(printableEndpoint('http://user:pw@localhost:8081/msi/token?secret=1#x'), 'http://localhost:8081/msi/token');
    assert.equal(printableEndpoint('not a url'), '(not a URL)');
  });
});

describe('which user-assigned selectors each source honours', function () {
  this.timeout(120_000);
  // One process per source and selector (msal keeps the source it found for the life of the process). The endpoint is a
  // local server that counts connections and answers 500: a selector the library sends on connects; one it refuses
  // before asking does not.
  const SCRIPT = `const { ManagedIdentityCredential } = require('@azure/identity');
new ManagedIdentityCredential({ [process.argv[1]]: process.argv[2], retryOptions: { maxRetries: 0 } })
  .getToken('499b84ac-1321-427f-aa17-267ca6975798/.default').then(() => console.log('token'), (e) => console.log(e.message.split('\\n')[0]));`;
  const VALUE: Record<SelectorKind, string> = { clientId: VALUES['AZURE_CLIENT_ID']!, objectId: '28194d06-7228-4c07-a9bd-936209ac2d91', resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u' };

  it('our list for each source is what the installed @azure/identity sends (every source but AKS, every selector)', async () => {
    let connections = 0;
    const server = createServer((_, res) => res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":"emulated"}'));
    server.on('connection', () => connections++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sources: Record<string, Record<string, string>> = {
      IMDS: { AZURE_POD_IDENTITY_AUTHORITY_HOST: base },
      'App Service': { IDENTITY_ENDPOINT: `${base}/msi/token`, IDENTITY_HEADER: 'h' },
      'Service Fabric': { IDENTITY_ENDPOINT: `${base}/sf`, IDENTITY_HEADER: 'h', IDENTITY_SERVER_THUMBPRINT: 'ab' },
      'Cloud Shell': { MSI_ENDPOINT: `${base}/cs` },
      'Azure Machine Learning': { MSI_ENDPOINT: `${base}/ml`, MSI_SECRET: 's' },
      'Azure Arc': { IDENTITY_ENDPOINT: `${base}/arc`, IMDS_ENDPOINT: base },
    };
    const differences: string[] = [];
    try {
      for (const [name, env] of Object.entries(sources)) {
        const ours = detectIdentitySource(env, false, () => false);
        assert.equal(ours.name, name);
        for (const kind of Object.keys(VALUE) as SelectorKind[]) {
          const before = connections;
          const result = await run(process.execPath, ['-e', SCRIPT, kind, VALUE[kind]], scrubbedEnv(env));
          const sent = connections > before;
          if (sent !== ours.selectors.includes(kind)) differences.push(`${name} ${kind}: the library ${sent ? 'sends it' : `refuses it (${result.stdout.trim()})`}, we ${ours.selectors.includes(kind) ? 'accept' : 'refuse'} it`);
        }
      }
    } finally {
      server.close();
    }
    assert.deepEqual(differences, []);
  });

  it('AKS workload identity: the library ignores an object or resource id (it sends the client id), so we accept only clientId', async () => {
    const env = { AZURE_CLIENT_ID: VALUES['AZURE_CLIENT_ID']!, AZURE_TENANT_ID: VALUES['AZURE_TENANT_ID']!, AZURE_FEDERATED_TOKEN_FILE: '/nonexistent/token' };
    assert.deepEqual([...detectIdentitySource(env, false, () => false).selectors], ['clientId']);
    for (const kind of ['objectId', 'resourceId'] as const) {
      const result = await run(process.execPath, ['-e', SCRIPT, kind, VALUE[kind]], scrubbedEnv(env));
      // Not refused for the selector: it went on to read the federated token file, as with no selector at all.
      assert.match(result.stdout, /ENOENT.*\/nonexistent\/token/, kind);
    }
  });
});

describe('identity retry decisions', () => {
  const http = (status: number, retryAfterMs?: number): { exchange: { method: string; endpoint: string; started: number; ms: number; status: number; retryAfterMs?: number } } =>
    ({ exchange: { method: 'GET', endpoint: 'http://x/', started: 0, ms: 1, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } });
  const failed = (failure: 'refused' | 'reset' | 'response timeout') => ({ exchange: { method: 'GET', endpoint: 'http://x/', started: 0, ms: 1, failure } });

  it('honours Retry-After, backs off on 5xx, 404 and 410, and never retries 400, 401 or 403', () => {
    assert.equal(retryDelay(http(429, 1_000), []), 1_000);
    assert.equal(retryDelay(http(503, 2_500), []), 2_500);
    assert.equal(retryDelay(http(429), []), 1_000);
    assert.deepEqual([0, 1, 2, 3, 4].map((n) => retryDelay(http(500), Array(n).fill(http(500)))), [500, 1_000, 2_000, 4_000, undefined]);
    assert.equal(retryDelay(http(410), [http(410)]), 2_000);
    for (const status of [400, 401, 403]) assert.equal(retryDelay(http(status), []), undefined);
  });

  it('keeps waiting out throttling as long as the deadline allows (the deadline, not a count, bounds it)', () => {
    const throttled = (n: number, retryAfterMs?: number): Array<ReturnType<typeof http>> => Array<ReturnType<typeof http>>(n).fill(http(429, retryAfterMs));
    assert.equal(retryDelay(http(429, 1_000), throttled(12, 1_000)), 1_000, 'Retry-After honoured on the 13th 429 too');
    assert.equal(retryDelay(http(503, 1_000), Array(12).fill(http(503, 1_000))), 1_000);
    assert.deepEqual([0, 1, 2, 3, 4, 9].map((n) => retryDelay(http(429), throttled(n))), [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  it('spreads every wait between itself and 1.5 times itself, never below what the endpoint asked', () => {
    assert.equal(spread(1_000, () => 0), 1_000);
    assert.equal(spread(1_000, () => 0.999_999), 1_500);
    const waits = Array.from({ length: 200 }, () => spread(1_000));
    assert.ok(waits.every((w) => w >= 1_000 && w <= 1_500), 'within [1 s, 1.5 s]');
    assert.ok(new Set(waits).size > 50, 'agents throttled together come back at different moments');
  });

  it('gives up quickly on refused connections and after one silent endpoint', () => {
    assert.deepEqual([0, 1, 2].map((n) => retryDelay(failed('refused'), Array(n).fill(failed('refused')))), [500, 1_000, undefined]);
    assert.deepEqual([0, 1].map((n) => retryDelay(failed('response timeout'), Array(n).fill(failed('response timeout')))), [500, undefined]);
    assert.equal(retryDelay(failed('reset'), [failed('reset'), failed('reset')]), 2_000);
  });

  it('on the AKS path (no exchange of ours) retries only network failures and OAuth server_error / temporarily_unavailable', () => {
    assert.equal(retryDelay({ code: 'network_error' }, []), 500);
    assert.equal(retryDelay({ code: 'temporarily_unavailable' }, []), 1_000);
    assert.equal(retryDelay({ code: 'invalid_request' }, []), undefined);
    assert.equal(retryDelay({}, []), undefined);
  });
});

describe('environmentProxyApplies mirrors the proxy policy that the pipeline of @azure/identity runs', () => {
  // @azure/core-rest-pipeline's proxyPolicy (delegating to @typespec/ts-http-runtime's) reads NO_PROXY once per
  // module instance, so each case loads fresh copies of both files, by path, and runs the policy on a request.
  const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];
  const coreIndex = require.resolve('@azure/core-rest-pipeline');
  const corePolicy = join(dirname(coreIndex), 'policies', 'proxyPolicy.js');
  const runtimePolicies = createRequire(coreIndex).resolve('@typespec/ts-http-runtime/internal/policies');
  const fresh = [corePolicy, runtimePolicies, join(dirname(runtimePolicies), 'proxyPolicy.js')];

  /** true: the library's pipeline gives the request a proxy agent; 'throws': it refuses the proxy setting itself. */
  async function libraryProxies(url: string, env: Record<string, string>): Promise<boolean | 'throws'> {
    const saved = Object.fromEntries(PROXY_VARIABLES.map((v) => [v, process.env[v]]));
    for (const v of PROXY_VARIABLES) delete process.env[v];
    Object.assign(process.env, env);
    try {
      for (const file of fresh) delete require.cache[file];
      const { proxyPolicy } = load(corePolicy) as typeof import('@azure/core-rest-pipeline');
      let policy: ReturnType<typeof proxyPolicy>;
      try {
        policy = proxyPolicy();
      } catch {
        return 'throws';
      }
      const request = createPipelineRequest({ url });
      await policy.sendRequest(request, async (r) => ({ request: r, status: 200, headers: createHttpHeaders() }));
      return request.agent !== undefined;
    } finally {
      for (const v of PROXY_VARIABLES) {
        if (saved[v] === undefined) delete process.env[v];
        else process.env[v] = saved[v];
      }
    }
  }

  const URLS = ['https://login.microsoftonline.com/t/oauth2/v2.0/token', 'https://login.microsoftonline.us/t/oauth2/v2.0/token', 'https://127.0.0.1:8443/t/oauth2/v2.0/token', 'http://localhost:8080/x'];
  const PROXIES = ['', 'http://proxy:3128', 'http://user:pw@10.0.0.1:8080', 'not a url'];
  const NO_PROXIES = ['', 'login.microsoftonline.com', '.microsoftonline.com', 'microsoftonline.com', ' .login.microsoftonline.com , x', '*',
    'LOGIN.microsoftonline.com', 'login.microsoftonline.com:443', '127.0.0.1', 'localhost,127.0.0.1', '.com', ',,'];

  it('decides like the library for any proxy and NO_PROXY variables, in either case', async () => {
    await fc.assert(fc.asyncProperty(
      fc.record(Object.fromEntries(PROXY_VARIABLES.map((v) => [v, fc.option(fc.constantFrom(...(v.toUpperCase() === 'NO_PROXY' ? NO_PROXIES : PROXIES)), { nil: undefined })]))),
      fc.constantFrom(...URLS),
      async (chosen, url) => {
        const env = Object.fromEntries(Object.entries(chosen).filter((e): e is [string, string] => e[1] !== undefined));
        const library = await libraryProxies(url, env);
        // A proxy variable that is not a URL makes the library's pipeline throw when it is built, whatever we decide.
        fc.pre(library !== 'throws');
        assert.equal(environmentProxyApplies(url, env), library, JSON.stringify({ env, url, library }));
      },
    ), { numRuns: 600 });
  });

  it('uses HTTPS_PROXY, ALL_PROXY or HTTP_PROXY in either case, unless NO_PROXY names the host or a .suffix of it', async () => {
    const url = URLS[0]!;
    const cases: Array<[Record<string, string>, boolean]> = [
      [{}, false],
      ...['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'HTTP_PROXY', 'http_proxy'].map((name): [Record<string, string>, boolean] => [{ [name]: 'http://proxy:3128' }, true]),
      [{ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'login.microsoftonline.com' }, false],
      [{ HTTPS_PROXY: 'http://proxy:3128', no_proxy: ' .microsoftonline.com' }, false],
      [{ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '.login.microsoftonline.com' }, false],
      [{ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'microsoftonline.com,127.0.0.1' }, true],
      [{ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '' }, true],
    ];
    for (const [env, expected] of cases) {
      assert.equal(environmentProxyApplies(url, env), expected, JSON.stringify(env));
      assert.equal(await libraryProxies(url, env), expected, `library: ${JSON.stringify(env)}`);
    }
  });
});
