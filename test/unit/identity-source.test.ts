/**
 * Our mirror of the identity libraries' source detection, checked against the libraries themselves:
 * @azure/identity's tokenExchangeMsi.isAvailable (loaded by file path: the package's exports hide it) and
 * msal-node's ManagedIdentityApplication.getManagedIdentitySource(), over every combination of the
 * variables they read. Plus the retry decisions of identity.ts.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { ManagedIdentityApplication } from '@azure/msal-node';
import { retryDelay, spread } from '../../src/identity/managed-identity';
import { environmentProxyApplies } from '../../src/identity/transport';
import { detectIdentitySource, IDENTITY_VARIABLES, printableEndpoint, type SourceName } from '../../src/identity/source';

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

describe('identity source detection', () => {
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

describe('environmentProxyApplies (the library transport’s proxy rules, for Entra on the workload identity path)', () => {
  const url = 'https://login.microsoftonline.com/t/oauth2/v2.0/token';
  it('uses HTTPS_PROXY, ALL_PROXY or HTTP_PROXY in either case, unless NO_PROXY names the host or a .suffix of it', () => {
    assert.equal(environmentProxyApplies(url, {}), false);
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'HTTP_PROXY', 'http_proxy']) {
      assert.equal(environmentProxyApplies(url, { [name]: 'http://proxy:3128' }), true, name);
    }
    const proxy = { HTTPS_PROXY: 'http://proxy:3128' };
    assert.equal(environmentProxyApplies(url, { ...proxy, NO_PROXY: 'login.microsoftonline.com' }), false);
    assert.equal(environmentProxyApplies(url, { ...proxy, no_proxy: ' .microsoftonline.com' }), false);
    assert.equal(environmentProxyApplies(url, { ...proxy, NO_PROXY: '.login.microsoftonline.com' }), false);
    assert.equal(environmentProxyApplies(url, { ...proxy, NO_PROXY: 'microsoftonline.com,127.0.0.1' }), true, 'no implicit suffix match');
    assert.equal(environmentProxyApplies(url, { ...proxy, NO_PROXY: '' }), true);
  });
});
