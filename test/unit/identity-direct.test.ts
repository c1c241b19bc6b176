import assert from 'node:assert/strict';
import { startEmulators, scrubbedEnv, UAMI_BUILD, type Emulators } from '../emulators';
import { run } from '../e2e/support';

// One child process per token: msal keeps its source and cache per process (managed-identity.md §3.3).
const SCRIPT = `
const { getAzureDevOpsToken } = require('./src/identity/managed-identity');
const selector = JSON.parse(process.argv[1]);
getAzureDevOpsToken(selector, { info() {}, warn() {}, debug() {} }, { direct: process.argv[2] === 'direct' })
  .then((t) => { console.log(JSON.stringify({ oid: t.claims.oid, expires: t.expiresOn.getTime() })); process.exit(0); })
  .catch((e) => { console.error(e.message); process.exit(1); });
`;

const SELECTORS = [
  { kind: 'system' },
  { kind: 'clientId', value: UAMI_BUILD.clientId },
  { kind: 'objectId', value: UAMI_BUILD.objectId },
];

describe('the credential helper’s direct path (identity-direct.ts) asks exactly as msal does', function () {
  this.timeout(60_000);
  let emu: Emulators;
  before(async () => { emu = await startEmulators(); });
  after(() => emu?.stop());

  async function tokenVia(mode: 'direct' | 'library', env: Record<string, string>, selector: object): Promise<{ request: unknown; answer: string }> {
    const before = emu.identity.requests.length;
    const result = await run(process.execPath, ['--require', 'tsx/cjs', '-e', SCRIPT, JSON.stringify(selector), mode], scrubbedEnv(env));
    assert.equal(result.status, 0, result.stderr);
    const requests = emu.identity.requests.slice(before);
    assert.equal(requests.length, 1, `${mode}: one request`);
    const r = requests[0]!;
    const relevant = ['metadata', 'x-identity-header', 'secret'];
    return {
      request: { method: r.method, path: r.path, query: r.query, headers: Object.fromEntries(Object.entries(r.headers).filter(([k]) => relevant.includes(k))) },
      answer: result.stdout.trim(),
    };
  }

  for (const source of ['imds', 'appService'] as const) {
    for (const selector of SELECTORS) {
      it(`${source}, ${selector.kind}: same request and same token facts as @azure/identity`, async () => {
        const env = emu.identity.envFor(source);
        const library = await tokenVia('library', env, selector);
        const direct = await tokenVia('direct', env, selector);
        assert.deepEqual(direct.request, library.request);
        const [a, b] = [JSON.parse(library.answer) as { oid: string; expires: number }, JSON.parse(direct.answer) as { oid: string; expires: number }];
        assert.equal(b.oid, a.oid);
        assert.ok(Math.abs(b.expires - a.expires) < 5_000);
      });
    }
  }

  it('leaves other sources to @azure/identity', async () => {
    const env = emu.identity.envFor('serviceFabric');
    const result = await tokenVia('direct', env, { kind: 'system' });
    assert.ok((result.request as { headers: Record<string, string> }).headers['secret'], 'Service Fabric’s protocol, sent by msal');
  });
});
