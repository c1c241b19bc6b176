/**
 * How the packaged tasks start (scripts/build.ts start files, src/core/compile-cache.ts), run like the agent runs
 * them: on Node 24 and 20 the bundles are compiled from a per-user cache under HOME, outside the task folder, which
 * holds no secret and which concurrent agents of one user share; a corrupted cache or one that others could write to
 * changes nothing but speed. And IMDS and App Service tokens never load
 * azure-identity.js (src/identity/direct.ts), while the other sources do.
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { agentNode20, runJob, type JobResult, type Step } from '../agent/runner';
import { startEmulators, type Emulators, type IdentitySource } from '../emulators';
import { CACHE_FOLDER } from '../../src/core/compile-cache';
import { node24Path } from '../../scripts/node24';
import { filesContaining, jobVariables, leakForms, taskDir } from './support';

const VAR = 'AzureDevOps.AccessToken';

function filesUnder(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)) : [];
}

/** name + "-" + version of a task folder's task.json: its compile cache directory. */
function cacheKey(task: string): string {
  const json = JSON.parse(readFileSync(join(task, 'task.json'), 'utf8')) as { name: string; version: { Major: number; Minor: number; Patch: number } };
  return `${json.name}-${json.version.Major}.${json.version.Minor}.${json.version.Patch}`;
}

describe('task start: compile cache and what each step loads', function () {
  this.timeout(180_000);
  let emu: Emulators;
  let auth: string;
  let node24: string;
  let scratch: string;
  before(async function () {
    this.timeout(300_000);
    node24 = node24Path();
    [emu, auth] = await Promise.all([startEmulators(), taskDir('ManagedIdentityAuthenticate')]);
    scratch = mkdtempSync(join(tmpdir(), 'mi-start-'));
  });
  after(async () => {
    await emu?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const authenticate = (task = auth): Step => ({ task, inputs: { organizations: 'contoso' } });
  const job = (steps: Step[], home: string, options: { nodePath?: string; source?: IdentitySource } = {}): Promise<JobResult> =>
    runJob({
      steps,
      variables: { ...jobVariables(emu), 'System.Debug': 'true' },
      env: { ...emu.env(), ...(options.source ? emu.identity.envFor(options.source) : {}), HOME: home },
      // The Node under test as the agent's node20_1: naming a node24Path keeps the runner from turning on the Node 24
      // knob of npm test's Node 24 suite (test/agent/job.ts), so both suites run each test on the Node it names.
      nodePath: options.nodePath ?? node24,
      node24Path: node24,
    });
  const newHome = (): string => mkdtempSync(join(scratch, 'home-'));

  it('Node 24: main, the credential helper and post compile from a private cache under HOME, which holds no token', async () => {
    const home = newHome();
    const taskFiles = readdirSync(auth).sort();
    const result = await job([authenticate(), { script: 'git ls-remote "$(System.CollectionUri)Web/_git/app" HEAD' }], home);
    assert.equal(result.result, 'Succeeded', result.log);
    const dir = join(home, '.cache', CACHE_FOLDER, cacheKey(auth));
    assert.match(result.log, new RegExp(`##\\[debug\\]Compile cache: ${join(dir, 'main.bundle.js.').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[0-9a-f]{16}\\.node-24\\.\\S+\\.v8cache \\(written at exit\\)\\.`));
    const files = filesUnder(dir);
    // main.bundle.js, credential-helper.bundle.js and post.bundle.js each leave a file (named by bundle, build and Node).
    // (and the job's broker, which the helper started, one of git-broker.bundle.js when it has ended).
    const cached = files.map((f) => /^(.+\.bundle\.js)\.[0-9a-f]{16}\.node-24\.[^/]*\.v8cache$/.exec(basename(f))?.[1]);
    for (const bundle of ['credential-helper.bundle.js', 'main.bundle.js', 'post.bundle.js']) assert.ok(cached.includes(bundle), `${bundle}: ${files.join(', ')}`);
    assert.ok(cached.every(Boolean), files.join(', '));
    assert.equal(statSync(dir).mode & 0o077, 0, 'private to the user');
    assert.deepEqual(readdirSync(auth).sort(), taskFiles, 'nothing written into the task folder');
    const token = result.variables.get(VAR)!.value;
    assert.deepEqual(filesContaining([join(home, '.cache')], leakForms(token)), []);
  });

  it('Node 24: two agents of one user start with an empty cache at the same time, both succeed, and the cache is used after', async () => {
    const home = newHome();
    const results = await Promise.all([job([authenticate()], home), job([authenticate()], home)]);
    for (const r of results) assert.equal(r.result, 'Succeeded', r.log);
    const dir = join(home, '.cache', CACHE_FOLDER, cacheKey(auth));
    const before = filesUnder(dir).map((f) => [f, statSync(f).mtimeMs] as const);
    assert.ok(before.length >= 2);
    const again = await job([authenticate()], home);
    assert.equal(again.result, 'Succeeded', again.log);
    // An accepted entry is not written again; Node only rewrites what it had to recompile.
    assert.deepEqual(filesUnder(dir).map((f) => [f, statSync(f).mtimeMs] as const), before);
  });

  it('Node 24: a corrupted cache changes nothing but the time', async () => {
    const home = newHome();
    assert.equal((await job([authenticate()], home)).result, 'Succeeded');
    const files = filesUnder(join(home, '.cache', CACHE_FOLDER));
    assert.ok(files.length > 0);
    for (const file of files) writeFileSync(file, Buffer.alloc(statSync(file).size, 0xa5));
    const result = await job([authenticate()], home);
    assert.equal(result.result, 'Succeeded', result.log);
    assert.equal(result.steps.find((s) => s.phase === 'main')!.warnings.length, 0);
  });

  it('Node 24: a cache directory others can write to is not used', async () => {
    const home = newHome();
    const root = join(home, '.cache', CACHE_FOLDER);
    mkdirSync(root, { recursive: true });
    chmodSync(root, 0o777);
    const result = await job([authenticate()], home);
    assert.equal(result.result, 'Succeeded', result.log);
    assert.match(result.log, /##\[debug\]Compile cache: off, \S*node-compile-cache is writable by group or others \(mode 0777\)/);
    assert.deepEqual(filesUnder(root), []);
  });

  it('Node 20: the same cache, in files of its own, read on the next run', async () => {
    const home = newHome();
    const result = await job([authenticate()], home, { nodePath: agentNode20() });
    assert.equal(result.result, 'Succeeded', result.log);
    assert.match(result.log, /##\[debug\]Compile cache: \S+main\.bundle\.js\.[0-9a-f]{16}\.node-20\.\S+\.v8cache \(written at exit\)\./);
    const again = await job([authenticate()], home, { nodePath: agentNode20() });
    assert.match(again.log, /##\[debug\]Compile cache: \S+main\.bundle\.js\.[0-9a-f]{16}\.node-20\.\S+\.v8cache \(read\)\./);
  });

  describe('azure-identity.js is loaded only for sources the task does not ask directly', () => {
    let withoutLibrary: string;
    before(() => {
      withoutLibrary = join(scratch, 'without-library', 'ManagedIdentityAuthenticateV1');
      cpSync(auth, withoutLibrary, { recursive: true });
      rmSync(join(withoutLibrary, 'azure-identity.js'));
    });

    for (const source of ['imds', 'appService'] as const) {
      it(`${source}: the task gets its token without azure-identity.js`, async () => {
        const result = await job([authenticate(withoutLibrary)], newHome(), { source, nodePath: agentNode20() });
        assert.equal(result.result, 'Succeeded', result.log);
        assert.ok(result.variables.get(VAR)?.value);
      });
    }

    it('cloudShell: the task needs azure-identity.js (the library asks)', async () => {
      const result = await job([authenticate(withoutLibrary)], newHome(), { source: 'cloudShell', nodePath: agentNode20() });
      assert.equal(result.result, 'Failed');
      assert.match(result.log, /azure-identity\.js/);
      const intact = await job([authenticate()], newHome(), { source: 'cloudShell', nodePath: agentNode20() });
      assert.equal(intact.result, 'Succeeded', intact.log);
    });
  });
});
