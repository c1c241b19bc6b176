/**
 * The release flavour (dist/*.vsix, what ships) has no test-host switch: its bundles hold neither
 * ManagedIdentity.TestHosts nor the code that would let a loopback host receive a token, and its tasks refuse
 * such an organization whatever a pipeline variable, a step's env: or the agent's environment says, without
 * sending anything there. The emulator flavour (dist/test/*.vsix) is the one the other tests use
 * (src/core/flavour.ts, scripts/build.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSZip from 'jszip';
import { installVsix, packagedVsix } from '../agent/runner';
import { EMULATOR_ONLY_MARKERS, emulatorMarkersIn } from '../../scripts/build';
import { harness, run, type Harness } from './support';

async function bundles(vsix: string): Promise<Map<string, string>> {
  const zip = await JSZip.loadAsync(readFileSync(vsix));
  const files = new Map<string, string>();
  for (const [name, entry] of Object.entries(zip.files)) if (!entry.dir && name.endsWith('.js')) files.set(name, await entry.async('string'));
  return files;
}

describe('the release flavour has no test-host switch (dist/*.vsix)', function () {
  this.timeout(120_000);
  let h: Harness;
  let release: Map<string, string>;
  let emulator: Map<string, string>;
  let listener: Server;
  const received: IncomingMessage[] = [];
  let host: string;
  const scratch = mkdtempSync(join(tmpdir(), 'mi-release-'));

  before(async () => {
    h = await harness();
    release = await installVsix(packagedVsix('release'), join(scratch, 'release'));
    emulator = await installVsix(packagedVsix('emulator'), join(scratch, 'emulator'));
    listener = createServer((req, res) => {
      received.push(req);
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(listener.address() as AddressInfo).port}`;
  });
  after(async () => {
    await h?.stop();
    await new Promise((resolve) => listener?.close(resolve));
    rmSync(scratch, { recursive: true, force: true });
  });
  beforeEach(() => {
    received.length = 0;
  });

  it('its bundles hold none of the emulator-only code; the emulator flavour\'s do', async () => {
    const shipped = await bundles(packagedVsix('release'));
    assert.ok(shipped.size >= 8, [...shipped.keys()].join());
    for (const [name, code] of shipped) {
      assert.deepEqual(emulatorMarkersIn(code), [], `${name} holds emulator-only code`);
      assert.ok(!code.includes('loopbackHosts.includes'), `${name} can still accept a listed loopback host`);
    }
    const test = await bundles(packagedVsix('emulator'));
    const all = [...test.values()].join('\n');
    for (const marker of EMULATOR_ONLY_MARKERS.filter((m) => m !== 'MIADO_EMULATOR_BUILD')) assert.ok(all.includes(marker), `the emulator flavour holds ${marker}`);
    assert.ok(all.includes('loopbackHosts.includes'));
  });

  const orgUrl = (): string => `http://${host}/MyOrg`;
  /** Every way a pipeline could try to name the listener as a test host. */
  const everyWay = (): { variables: Record<string, string>; env: Record<string, string>; stepEnv: Record<string, string> } => ({
    variables: { 'ManagedIdentity.TestHosts': host, 'secret.ManagedIdentity.TestHosts': host, 'System.CollectionUri': 'https://dev.azure.com/contoso/' },
    env: { MANAGEDIDENTITY_TESTHOSTS: host },
    stepEnv: { MANAGEDIDENTITY_TESTHOSTS: host, SECRET_MANAGEDIDENTITY_TESTHOSTS: host },
  });

  it('Authenticate refuses organizations: http://127.0.0.1:PORT/MyOrg with the variable set, and sends nothing there', async () => {
    const ways = everyWay();
    const result = await h.run([{ task: release.get('ManagedIdentityAuthenticate')!, inputs: { organizations: orgUrl() }, env: ways.stepEnv }],
      { variables: ways.variables, env: ways.env });
    assert.equal(result.result, 'Failed', result.log);
    assert.deepEqual(result.steps[0]!.errors, [`Input 'organizations' must be an organization name such as 'contoso' or its URL, https://dev.azure.com/contoso or https://contoso.visualstudio.com (https only) (got '${orgUrl()}').`]);
    assert.equal(received.length, 0, 'nothing reached the listener');
    assert.ok(!result.variables.has('AzureDevOps.AccessToken'), 'no token was handed to the job');

    // The same job on the emulator flavour does send there: the refusal above is the flavour, not the setup.
    const test = await h.run([{ task: emulator.get('ManagedIdentityAuthenticate')!, inputs: { organizations: orgUrl() } }],
      { variables: { 'ManagedIdentity.TestHosts': host, 'System.CollectionUri': 'https://dev.azure.com/contoso/' } });
    assert.equal(test.result, 'Failed', test.log);
    assert.ok(received.length > 0, 'the emulator flavour did contact the listed host');
    assert.match(received[0]!.headers.authorization ?? '', /^Bearer /);
  });

  it('Repository refuses a repository and an organization on the listener, and sends nothing there', async () => {
    const ways = everyWay();
    const task = release.get('ManagedIdentityRepository')!;
    const result = await h.run([
      { task, inputs: { command: 'list', organization: orgUrl() }, env: ways.stepEnv },
    ], { variables: ways.variables, env: ways.env });
    assert.equal(result.result, 'Failed', result.log);
    assert.match(result.steps[0]!.errors.join('\n'), /Input 'organization' must be an organization name .*\(https only\)/);
    const checkout = await h.run([
      { task, inputs: { command: 'checkout', repository: `${orgUrl()}/Web/_git/app` }, env: ways.stepEnv },
    ], { variables: ways.variables, env: ways.env });
    assert.equal(checkout.result, 'Failed', checkout.log);
    assert.match(checkout.steps[0]!.errors.join('\n'), /Input 'repository' /);
    assert.equal(received.length, 0, 'nothing reached the listener');
  });

  it('keeps msal-node\'s fixed Azure Arc key folder: MIADO_EMULATOR_ARC_TOKENS_DIR moves it in the emulator flavour only', async () => {
    const arc = h.emu.identity.envFor('arc');
    assert.ok(arc['MIADO_EMULATOR_ARC_TOKENS_DIR']?.startsWith(h.emu.root), 'the emulator names its own key folder');
    const job = (tasks: Map<string, string>): ReturnType<Harness['run']> => h.run(
      [{ task: tasks.get('ManagedIdentityAuthenticate')!, inputs: { verify: 'false', configureGit: 'false' } }],
      { variables: { 'System.CollectionUri': 'https://dev.azure.com/contoso/' }, env: arc });
    const shipped = await job(release);
    assert.equal(shipped.result, 'Failed', shipped.log);
    assert.match(shipped.steps[0]!.errors.join('\n'), /Azure Arc asked for proof .* reading it failed: invalid_file_path\.$/);
    const test = await job(emulator);
    assert.equal(test.result, 'Succeeded', test.log);
  });

  it('its credential helper answers nothing for a loopback host, even from a session file that lists it', async () => {
    const session = join(scratch, 'miado-git-forged.json');
    writeFileSync(session, JSON.stringify({ version: 1, selector: { kind: 'system' }, prefixes: [`http://${host}/`], policy: { loopbackHosts: [host] } }), { mode: 0o600 });
    const ask = (dir: string): ReturnType<typeof run> => {
      const script = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(dir, 'credential-helper.js'))} ${JSON.stringify(session)} get`;
      return run('sh', ['-c', `printf 'protocol=http\\nhost=${host}\\npath=MyOrg/Web/_git/app\\n\\n' | ${script}`], h.emu.env());
    };
    const shipped = await ask(release.get('ManagedIdentityAuthenticate')!);
    assert.equal(shipped.status, 0, shipped.stderr);
    assert.equal(shipped.stdout, '', 'no credentials for a host that is not Azure DevOps');
    const test = await ask(emulator.get('ManagedIdentityAuthenticate')!);
    assert.match(test.stdout, /^username=ManagedIdentity\npassword=\S+/, 'the emulator flavour answers: the session file is well formed');
  });
});
