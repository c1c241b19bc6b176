/**
 * src/identity/direct.ts mirrors the requests msal-node sends for IMDS and App Service. Here the INSTALLED
 * @azure/identity (with its msal-node) and our direct path each get a token from the emulators, one child process
 * per token (msal keeps its source and cache per process, managed-identity.md §3.3), for every selector and for the
 * environments that change the request; an upgrade that changes what msal sends makes these fail.
 */
import assert from 'node:assert/strict';
import { directRequest } from '../../src/identity/direct';
import { AZURE_DEVOPS_RESOURCE } from '../../src/identity/managed-identity';
import { detectIdentitySource } from '../../src/identity/source';
import { identityByKey, startEmulators, scrubbedEnv, UAMI_BUILD, type Emulators, type IdentitySource } from '../emulators';
import { run } from '../e2e/support';

const SCRIPT = `
const { getAzureDevOpsToken } = require('./src/identity/managed-identity');
const selector = JSON.parse(process.argv[1]);
getAzureDevOpsToken(selector, { info() {}, warn() {}, debug() {} }, { direct: process.argv[2] === 'direct' })
  .then((t) => { console.log(JSON.stringify({ oid: t.claims.oid, expiresAfterExp: t.expiresOn.getTime() - t.claims.exp * 1000 })); process.exit(0); })
  .catch((e) => { console.error(e.message); process.exit(1); });
`;

type Selector = { readonly kind: 'system' } | { readonly kind: 'clientId' | 'objectId' | 'resourceId'; readonly value: string };
const KINDS = ['system', 'clientId', 'objectId', 'resourceId'] as const;

interface Outcome {
  readonly status: number;
  readonly requests: readonly unknown[];
  readonly answer: string;
}

describe('the direct path (identity/direct.ts) asks exactly as the installed msal does', function () {
  this.timeout(180_000);
  let emu: Emulators;
  let selectors: Record<(typeof KINDS)[number], Selector>;
  before(async () => {
    emu = await startEmulators();
    const build = identityByKey(emu.world, UAMI_BUILD.key);
    selectors = { system: { kind: 'system' }, clientId: { kind: 'clientId', value: build.clientId }, objectId: { kind: 'objectId', value: build.objectId }, resourceId: { kind: 'resourceId', value: build.resourceId } };
  });
  after(() => emu?.stop());

  async function tokenVia(mode: 'direct' | 'library', env: Record<string, string>, selector: object): Promise<Outcome> {
    const before = emu.identity.requests.length;
    const result = await run(process.execPath, ['--require', 'tsx/cjs', '-e', SCRIPT, JSON.stringify(selector), mode], scrubbedEnv(env));
    const relevant = ['metadata', 'x-identity-header', 'secret'];
    const requests = emu.identity.requests.slice(before).map((r) => ({
      method: r.method, path: r.path, query: r.query, headers: Object.fromEntries(Object.entries(r.headers).filter(([k]) => relevant.includes(k))),
    }));
    return { status: result.status, requests, answer: result.status === 0 ? result.stdout.trim() : result.stderr.trim() };
  }

  async function same(env: Record<string, string>, selector: object): Promise<Outcome> {
    const library = await tokenVia('library', env, selector);
    const direct = await tokenVia('direct', env, selector);
    assert.deepEqual(direct.requests, library.requests, 'the same requests');
    assert.equal(direct.status, library.status, `the same outcome: ${library.answer} / ${direct.answer}`);
    if (library.status === 0) {
      // Each token is minted when asked (the two processes may run seconds apart on a busy machine): compare how
      // each path reads the expiry against the token's own exp claim.
      const [a, b] = [JSON.parse(library.answer) as { oid: string; expiresAfterExp: number }, JSON.parse(direct.answer) as { oid: string; expiresAfterExp: number }];
      assert.equal(b.oid, a.oid);
      // (The emulator's expires_on and exp may straddle a second.)
      assert.ok(Math.abs(b.expiresAfterExp - a.expiresAfterExp) <= 1_000, `the same expiry for the same answer: ${a.expiresAfterExp} / ${b.expiresAfterExp}`);
    } else {
      const untimed = (text: string): string => text.replace(/\d+(?:\.\d+)? s\b/g, 'N s');
      assert.equal(untimed(direct.answer), untimed(library.answer), 'the same message');
    }
    return library;
  }

  for (const source of ['imds', 'appService'] as const) {
    for (const kind of KINDS) {
      it(`${source}, ${kind}: the same request and the same token`, async () => {
        const library = await same(emu.identity.envFor(source), selectors[kind]);
        assert.equal(library.status, 0, library.answer);
        assert.equal(library.requests.length, 1);
      });
    }
  }

  it('imds: an AZURE_POD_IDENTITY_AUTHORITY_HOST with a trailing slash and upper case', async () => {
    const host = emu.identity.envFor('imds')['AZURE_POD_IDENTITY_AUTHORITY_HOST']!.replace('http://', 'HTTP://');
    const library = await same({ AZURE_POD_IDENTITY_AUTHORITY_HOST: `${host}/` }, selectors.clientId);
    assert.equal(library.status, 0, library.answer);
  });

  it('appService: an IDENTITY_ENDPOINT that already has a query', async () => {
    const env = emu.identity.envFor('appService');
    await same({ ...env, IDENTITY_ENDPOINT: `${env['IDENTITY_ENDPOINT']}?tenant=x` }, selectors.system);
  });

  for (const authority of ['https://login.microsoftonline.us', 'http://login.example', '']) {
    it(`AZURE_AUTHORITY_HOST='${authority}': the library and the direct path agree (no request when it refuses)`, async () => {
      const library = await same({ ...emu.identity.envFor('imds'), AZURE_AUTHORITY_HOST: authority }, selectors.system);
      assert.equal(library.status === 0, authority.startsWith('https:'), library.answer);
      if (library.status !== 0) assert.deepEqual(library.requests, []);
    });
  }

  it('an answer without a token fails alike', async () => {
    emu.identity.faults.push({ status: 200, body: { token_type: 'Bearer' }, times: 2 });
    await same(emu.identity.envFor('imds'), selectors.system);
  });

  it('leaves every other source to @azure/identity', () => {
    const others: Array<[IdentitySource | 'aks', Record<string, string>]> = [
      ['serviceFabric', emu.identity.envFor('serviceFabric')], ['cloudShell', emu.identity.envFor('cloudShell')],
      ['machineLearning', emu.identity.envFor('machineLearning')], ['arc', emu.identity.envFor('arc')],
      ['aks', { AZURE_CLIENT_ID: UAMI_BUILD.clientId, AZURE_TENANT_ID: 't', AZURE_FEDERATED_TOKEN_FILE: '/f' }],
    ];
    for (const [name, env] of others) {
      const source = detectIdentitySource(env, false, () => false);
      for (const kind of KINDS) assert.equal(directRequest(source, selectors[kind], AZURE_DEVOPS_RESOURCE, env), undefined, `${name} ${kind}`);
    }
  });
});
