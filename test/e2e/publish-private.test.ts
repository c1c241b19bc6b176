/**
 * `npm run publish:private` (scripts/publish-private.ts) against the Marketplace emulator (test/emulators/marketplace.ts),
 * as a child process under `strace -f -e execve`: the requests tfx-cli's classes send (discovery, the streamed
 * octet-stream upload, validation polls, one share per organization), the token only ever in their Authorization
 * header — never in argv (of any process, Azure CLI included), a file, a URL or a body — and one clear line for
 * each way it can fail.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_VM, UAMI_OUTSIDER, startEmulators, type Emulators } from '../emulators';
import { MARKETPLACE_LOCATIONS, startMarketplace, type MarketplaceEmulator } from '../emulators/marketplace';
import { azInvocation, checkToken, explainFailure, parseShareWith, serviceUrl } from '../../scripts/publish-private';
import { readManifest } from '../../scripts/publisher';
import { filesContaining, leakForms, run } from './support';

const manifest = readManifest();
const PUBLISHER = 'contoso-platform';
const ITEM = `${PUBLISHER}.${manifest.id}`;
const tsx = require.resolve('tsx/cli');

interface Published {
  status: number;
  stdout: string;
  stderr: string;
  /** Every execve of the script's process tree, as strace printed it. */
  execs: string;
  home: string;
  tmp: string;
}

describe('npm run publish:private against the Marketplace emulator', function () {
  this.timeout(240_000);
  let emu: Emulators;
  let root: string;
  let vsix: string;
  let mp: MarketplaceEmulator | undefined;
  const oid = (key: string): string => emu.world.identities.find((i) => i.key === key)!.objectId;

  before(async () => {
    emu = await startEmulators();
    root = mkdtempSync(join(tmpdir(), 'mi-publish-'));
    const out = join(root, 'vsix');
    const packaged = await run(process.execPath, [tsx, 'scripts/package.ts', '--publisher', PUBLISHER, '--out', out], { ...process.env } as Record<string, string>);
    assert.equal(packaged.status, 0, packaged.stderr);
    vsix = join(out, readdirSync(out).find((f) => f.endsWith('.vsix'))!);
  });
  afterEach(async () => {
    await mp?.stop();
    mp = undefined;
  });
  after(async () => {
    await emu?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function marketplace(options: { validationFailure?: string } = {}): Promise<MarketplaceEmulator> {
    mp = await startMarketplace({ tokens: emu.tokens, publishers: { [PUBLISHER]: [oid(AGENT_VM.key)] }, organizations: ['contoso', 'fabrikam'], ...options });
    return mp;
  }

  /** Runs the script under strace with a fresh HOME and TMPDIR; `env` adds to (or, with '', removes from) them. */
  async function publish(args: string[], env: Record<string, string>): Promise<Published> {
    const dir = mkdtempSync(join(root, 'run-'));
    const home = join(dir, 'home');
    const tmp = join(dir, 'tmp');
    mkdirSync(home);
    mkdirSync(tmp);
    const trace = join(dir, 'execve.log');
    const base: Record<string, string> = { PATH: process.env['PATH']!, HOME: home, TMPDIR: tmp, MARKETPLACE_SERVICE_URL: mp?.url ?? '' };
    const merged = Object.fromEntries(Object.entries({ ...base, ...env }).filter(([, v]) => v !== ''));
    const result = await run('strace', ['-f', '-qq', '-e', 'trace=execve', '-s', '65536', '-o', trace, process.execPath, tsx, 'scripts/publish-private.ts', ...args], merged);
    return { ...result, execs: readFileSync(trace, 'utf8'), home, tmp };
  }

  /** The token went nowhere but Authorization headers: not argv, files, URLs, bodies or other headers. */
  function assertOnlyInAuthorization(token: string, run: Published): void {
    const forms = leakForms(token);
    assert.deepEqual(forms.filter((f) => run.execs.includes(f)), [], 'no process got the token in its argv or environment listing');
    assert.deepEqual(filesContaining([run.home, run.tmp, '.tmp', 'dist'], forms), [], 'no file holds the token');
    assert.deepEqual(forms.filter((f) => run.stdout.includes(f) || run.stderr.includes(f)), [], 'the output shows no token');
    const basic = `Basic ${Buffer.from(`OAuth:${token}`).toString('base64')}`;
    for (const r of mp!.requests) {
      assert.equal(r.headers['authorization'], basic, `${r.method} ${r.path}: tfx's PAT form, "OAuth" and the token`);
      const elsewhere = { ...r.headers, authorization: '' };
      assert.deepEqual(forms.filter((f) => `${r.path}?${JSON.stringify(r.query)} ${JSON.stringify(elsewhere)}`.includes(f) || r.body.includes(f)), [], `${r.method} ${r.path}`);
    }
  }

  it('creates the private extension with the identity\'s token, waits for validation and shares it with each organization', async () => {
    const marketplaceEmu = await marketplace();
    const token = emu.tokenFor(AGENT_VM.key);
    const result = await publish(['--publisher', PUBLISHER, '--share-with', 'contoso, https://dev.azure.com/fabrikam', '--vsix', vsix], { MARKETPLACE_TOKEN: token });
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.match(result.stdout, new RegExp(`^Published ${ITEM.replace(/\./g, '\\.')} ${manifest.version.replace(/\./g, '\\.')} \\(private\\), shared with contoso, fabrikam\\.`, 'm'));

    const routes = marketplaceEmu.requests.map((r) => `${r.method} ${r.route ?? r.path}`);
    assert.equal(routes[0], 'OPTIONS OPTIONS', 'one discovery of the gallery area first');
    assert.equal(routes.filter((r) => r.startsWith('OPTIONS')).length, 1, 'discovery is cached for the session');
    assert.equal(routes[1], `GET ${MARKETPLACE_LOCATIONS.publisherExtension}`, 'is it published?');
    const upload = marketplaceEmu.requests[2]!;
    assert.equal(`${upload.method} ${upload.path}`, 'POST /_apis/gallery/extensions');
    assert.equal(upload.headers['content-type'], 'application/octet-stream');
    assert.equal(upload.headers['transfer-encoding'], 'chunked', 'streamed, as tfx does for the hosted Marketplace');
    assert.match(upload.headers['accept']!, /api-version=7\.2-preview\.2/);
    assert.ok(upload.body.equals(readFileSync(vsix)), 'the body is the .vsix, byte for byte');
    const polls = marketplaceEmu.requests.filter((r) => r.method === 'GET' && r.query['flags'] === '1');
    assert.ok(polls.length >= 2, 'validation was polled until it passed');
    const shares = marketplaceEmu.requests.filter((r) => r.route === MARKETPLACE_LOCATIONS.shareByName).map((r) => r.path).sort();
    assert.deepEqual(shares, ['contoso', 'fabrikam'].map((org) => `/_apis/gallery/publisher/${PUBLISHER}/extension/${manifest.id}/accountsbyname/${org}`));

    const ext = marketplaceEmu.publishers.get(PUBLISHER)!.extensions.get(manifest.id)!;
    assert.deepEqual(ext.versions.map((v) => [v.version, v.flags]), [[manifest.version, 'validated']]);
    assert.deepEqual(ext.sharedWith.sort(), ['contoso', 'fabrikam']);
    assertOnlyInAuthorization(token, result);
  });

  it('updates an extension that is already published (PUT, streamed) and refuses a version that does not increase', async () => {
    const marketplaceEmu = await marketplace();
    marketplaceEmu.publishers.get(PUBLISHER)!.extensions.set(manifest.id, {
      extensionId: 'b0b1bd4c-6bd2-4c4e-9dc0-4bce4bd6a6a5', extensionName: manifest.id, displayName: 'old', sharedWith: ['contoso'],
      versions: [{ version: '0.0.1', flags: 'validated', lastUpdated: new Date(Date.now() - 86_400_000).toISOString(), pendingPolls: 0, vsix: Buffer.alloc(0) }],
    });
    const token = emu.tokenFor(AGENT_VM.key);
    const first = await publish(['--publisher', PUBLISHER, '--share-with', 'fabrikam', '--vsix', vsix], { MARKETPLACE_TOKEN: token });
    assert.equal(first.status, 0, first.stderr);
    const update = marketplaceEmu.requests.find((r) => r.method === 'PUT')!;
    assert.equal(update.path, `/_apis/gallery/publishers/${PUBLISHER}/extensions/${manifest.id}`);
    assert.equal(update.query['bypassScopeCheck'], 'false');
    assert.equal(update.headers['content-type'], 'application/octet-stream');
    assert.ok(update.body.equals(readFileSync(vsix)));
    assert.deepEqual(marketplaceEmu.publishers.get(PUBLISHER)!.extensions.get(manifest.id)!.sharedWith.sort(), ['contoso', 'fabrikam']);
    assertOnlyInAuthorization(token, first);

    const again = await publish(['--publisher', PUBLISHER, '--share-with', 'fabrikam', '--vsix', vsix], { MARKETPLACE_TOKEN: token });
    assert.equal(again.status, 1);
    assert.match(again.stderr.trim(), /^npm run publish:private: Version number must increase each time an extension is published\..* Raise "version" in vss-extension\.json/);
    assert.equal(again.stderr.trim().split('\n').length, 1, 'one line');
  });

  it('takes the token from the Azure CLI when MARKETPLACE_TOKEN is not set (its stdout, not its argv)', async () => {
    await marketplace();
    const token = emu.tokenFor(AGENT_VM.key);
    const bin = mkdtempSync(join(root, 'az-'));
    const argvLog = join(bin, 'argv.log');
    writeFileSync(join(bin, 'tokenfile'), token);
    writeFileSync(join(bin, 'az'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${argvLog}'\ncat '${join(bin, 'tokenfile')}'\necho\n`);
    chmodSync(join(bin, 'az'), 0o755);
    const result = await publish(['--publisher', PUBLISHER, '--share-with', 'contoso', '--vsix', vsix], { PATH: `${bin}:${process.env['PATH']}` });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(readFileSync(argvLog, 'utf8').trim().split('\n'), azInvocation('linux').args);
    rmSync(join(bin, 'tokenfile'));
    assertOnlyInAuthorization(token, result);
  });

  it('fails in one line, before any request, without a token, with a PAT, a token for another resource or another host', async () => {
    const marketplaceEmu = await marketplace();
    // Each case: environment, options replacing the defaults, the one line expected.
    const cases: Array<[Record<string, string>, Record<string, string>, RegExp]> = [
      [{ PATH: '/usr/bin:/bin' }, {}, /No token: MARKETPLACE_TOKEN is not set and the Azure CLI \(az\) is not installed\./],
      [{ MARKETPLACE_TOKEN: 'a'.repeat(52) }, {}, /MARKETPLACE_TOKEN is not an Entra access token \(a JWT\); Personal Access Tokens are not accepted\./],
      [{ MARKETPLACE_TOKEN: emu.tokenFor(AGENT_VM.key, 'https://management.azure.com/') }, {}, /is a token for 'https:\/\/management\.azure\.com\/', not for Azure DevOps/],
      [{ MARKETPLACE_TOKEN: emu.tokenFor(AGENT_VM.key), MARKETPLACE_SERVICE_URL: 'https://marketplace.example.com' }, {}, /Refusing to send the token to 'https:\/\/marketplace\.example\.com'/],
      [{ MARKETPLACE_TOKEN: emu.tokenFor(AGENT_VM.key) }, { '--share-with': 'not an org!' }, /Input '--share-with' must be/],
      [{ MARKETPLACE_TOKEN: emu.tokenFor(AGENT_VM.key) }, { '--vsix': 'dist/nothing.vsix' }, /--vsix 'dist\/nothing\.vsix' does not exist\./],
    ];
    for (const [env, extra, expected] of cases) {
      const args = Object.entries({ '--publisher': PUBLISHER, '--share-with': 'contoso', '--vsix': vsix, ...extra }).flat();
      const result = await publish(args, env);
      assert.equal(result.status, 1, `${expected}: ${result.stdout}`);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, expected);
    }
    const noShare = await publish(['--publisher', PUBLISHER, '--vsix', vsix], { MARKETPLACE_TOKEN: emu.tokenFor(AGENT_VM.key) });
    assert.match(noShare.stderr, /--share-with is required/);
    const twice = await publish(['--publisher', PUBLISHER, '--share-with', 'contoso', '--share-with', 'fabrikam', '--vsix', vsix], { MARKETPLACE_TOKEN: emu.tokenFor(AGENT_VM.key) });
    assert.match(twice.stderr, /--share-with is given 2 times; give it once\./);
    const otherPublisher = await publish(['--publisher', 'fabrikam-tools', '--share-with', 'contoso', '--vsix', vsix], { MARKETPLACE_TOKEN: emu.tokenFor(AGENT_VM.key) });
    assert.match(otherPublisher.stderr, /is packaged for publisher 'contoso-platform', not 'fabrikam-tools'/);
    assert.equal(marketplaceEmu.requests.length, 0, 'nothing was sent');
  });

  it('names the identity and the fix when it is not a member of the publisher, and when validation fails', async () => {
    await marketplace();
    const outsider = await publish(['--publisher', PUBLISHER, '--share-with', 'contoso', '--vsix', vsix], { MARKETPLACE_TOKEN: emu.tokenFor(UAMI_OUTSIDER.key) });
    assert.equal(outsider.status, 1);
    assert.equal(outsider.stderr.trim(),
      `npm run publish:private: The Marketplace refused the identity ${oid(UAMI_OUTSIDER.key)} of tenant ${emu.world.identities.find((i) => i.key === UAMI_OUTSIDER.key)!.tenantId} ` +
      `for publisher '${PUBLISHER}' (HTTP 401). Add it to the publisher (marketplace.visualstudio.com/manage/publishers/${PUBLISHER} › Members, role Contributor or Owner), searching by that object id.`);
    await mp!.stop();
    await marketplace({ validationFailure: 'The task.json of ManagedIdentityAuthenticateV1 is invalid.' });
    const invalid = await publish(['--publisher', PUBLISHER, '--share-with', 'contoso', '--vsix', vsix], { MARKETPLACE_TOKEN: emu.tokenFor(AGENT_VM.key) });
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr.trim(), /^npm run publish:private: Publishing to the Marketplace failed: Extension validation failed\. .*The task\.json of ManagedIdentityAuthenticateV1 is invalid\.$/);
    assert.equal(mp!.requests.filter((r) => r.route === MARKETPLACE_LOCATIONS.shareByName).length, 0, 'not shared when validation failed');
  });
});

describe('publish:private input checks', () => {
  it('accepts the Marketplace or a loopback emulator, and nothing else, as the service URL', () => {
    assert.equal(serviceUrl(undefined), 'https://marketplace.visualstudio.com');
    assert.equal(serviceUrl('https://marketplace.visualstudio.com/'), 'https://marketplace.visualstudio.com');
    assert.equal(serviceUrl('http://127.0.0.1:4321'), 'http://127.0.0.1:4321');
    for (const bad of ['http://marketplace.visualstudio.com', 'https://marketplace.visualstudio.com.evil.example', 'https://user@marketplace.visualstudio.com', 'http://10.0.0.1:80', 'https://marketplace.visualstudio.com/x']) {
      assert.throws(() => serviceUrl(bad), /Refusing to send the token/, bad);
    }
  });

  it('reads organizations as names or URLs, once each', () => {
    assert.deepEqual(parseShareWith('contoso,fabrikam contoso\nhttps://northwind.visualstudio.com'), ['contoso', 'fabrikam', 'northwind']);
  });

  it('refuses an expired token and explains other failures in one line', () => {
    const jwt = (claims: object): string => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
    assert.throws(() => checkToken(jwt({ aud: '499b84ac-1321-427f-aa17-267ca6975798', exp: 1_000 }), 'MARKETPLACE_TOKEN'), /MARKETPLACE_TOKEN expired at 1970-01-01T00:16:40\.000Z/);
    assert.deepEqual(checkToken(jwt({ aud: 'https://app.vssps.visualstudio.com', oid: 'o' }), 'x').oid, 'o');
    assert.equal(explainFailure('Received response 403 (Forbidden). Check…', 'p', { oid: 'o', tid: 't' }).split('\n').length, 1);
    assert.match(explainFailure(new Error('socket hang up\n  at x'), 'p', {}), /^Publishing to the Marketplace failed: socket hang up at x$/);
  });
});
