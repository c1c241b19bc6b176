/**
 * src/core/compile-cache.ts: where the compile cache lives, when a directory may hold compiled code, and the
 * start file scripts/build.ts writes, run on the real Node 24 (scripts/node24.ts) and Node 20: the cache is
 * written, read back, survives corruption and concurrent writers, and is never used where others could write.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { CACHE_FOLDER, OUTCOME_KEY, cacheDirectory, compileCacheRoot, describeCompileCache, untrustedReason, type CacheHost } from '../../src/core/compile-cache';
import { startOptions } from '../../scripts/build';
import { node24Path } from '../../scripts/node24';
import { agentNode20 } from '../agent/runner';
import { run } from '../e2e/support';

const uid = process.getuid?.() ?? -1;
const isRoot = uid === 0;
const host = (over: Partial<CacheHost> = {}): CacheHost => ({ env: {}, platform: 'linux', uid, home: '/home/agent', ...over });

describe('compile cache (src/core/compile-cache.ts)', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'compile-cache-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('where it lives', () => {
    it('is the user cache directory of each platform, never on Windows', () => {
      assert.deepEqual(compileCacheRoot(host()), { root: join('/home/agent/.cache', CACHE_FOLDER) });
      assert.deepEqual(compileCacheRoot(host({ env: { XDG_CACHE_HOME: '/var/cache/agent' } })), { root: join('/var/cache/agent', CACHE_FOLDER) });
      assert.deepEqual(compileCacheRoot(host({ env: { XDG_CACHE_HOME: 'relative/cache' } })), { root: join('/home/agent/.cache', CACHE_FOLDER) }, 'XDG requires an absolute path');
      assert.deepEqual(compileCacheRoot(host({ platform: 'darwin' })), { root: join('/home/agent/Library/Caches', CACHE_FOLDER) });
      assert.match((compileCacheRoot(host({ platform: 'win32' })) as { reason: string }).reason, /Windows/);
      assert.match((compileCacheRoot(host({ home: '' })) as { reason: string }).reason, /no home directory/);
    });
  });

  describe('which directories may hold compiled code', () => {
    it('accepts a private directory of the user under a sticky /tmp, and one reached through a symbolic link', () => {
      const own = join(dir, 'own');
      mkdirSync(own, { mode: 0o700 });
      assert.equal(untrustedReason(own, uid), undefined);
      symlinkSync(own, join(dir, 'link'));
      assert.equal(untrustedReason(join(dir, 'link'), uid), undefined);
    });

    it('refuses a directory that group or others can write, and one under a folder others can write (not sticky)', () => {
      const open = join(dir, 'open');
      mkdirSync(open);
      chmodSync(open, 0o777);
      assert.match(untrustedReason(open, uid) ?? '', /open is writable by group or others \(mode 0777\)/);
      chmodSync(open, 0o770);
      assert.match(untrustedReason(open, uid) ?? '', /mode 0770/);
      const inner = join(open, 'inner');
      mkdirSync(inner, { mode: 0o700 });
      assert.match(untrustedReason(inner, uid) ?? '', /open is writable by group or others/, 'an ancestor others can write lets them swap the folder');
      chmodSync(open, 0o1777);
      assert.equal(untrustedReason(inner, uid), undefined, 'sticky: others cannot rename what is ours');
      // Through a link, the real path is what counts.
      symlinkSync(open, join(dir, 'to-open'));
      chmodSync(open, 0o777);
      assert.match(untrustedReason(join(dir, 'to-open'), uid) ?? '', new RegExp(`${open} is writable`));
    });

    it('refuses a directory that belongs to another user, and what is not a directory', function () {
      const file = join(dir, 'file');
      writeFileSync(file, '');
      assert.match(untrustedReason(file, uid) ?? '', /is not a directory/);
      assert.match(untrustedReason(join(dir, 'missing'), uid) ?? '', /cannot be resolved \(ENOENT\)/);
      if (!isRoot) {
        // Not root: the system's own folders stand in for another user's (they belong to root).
        assert.match(untrustedReason('/usr', uid) ?? '', /belongs to uid 0/);
        return;
      }
      const theirs = join(dir, 'theirs');
      mkdirSync(theirs, { mode: 0o700 });
      chownSync(theirs, 65534, 65534);
      assert.match(untrustedReason(theirs, 0) ?? '', /theirs belongs to uid 65534, not to uid 0/);
      const mine = join(theirs, 'mine');
      mkdirSync(mine, { mode: 0o700 });
      assert.match(untrustedReason(mine, 0) ?? '', /theirs belongs to uid 65534, not to uid 0 or root/, 'an ancestor of another user');
    });
  });

  describe('cacheDirectory', () => {
    it('creates the task version directory privately', () => {
      const outcome = cacheDirectory('ManagedIdentityAuthenticate-1.1.0', host({ home: dir }));
      const expected = join(dir, '.cache', CACHE_FOLDER, 'ManagedIdentityAuthenticate-1.1.0');
      assert.deepEqual(outcome, { status: 'enabled', directory: expected });
      assert.equal(untrustedReason(expected, uid), undefined);
      assert.equal(describeCompileCache(outcome), `Compile cache: ${expected}.`);
      assert.equal(describeCompileCache({ status: 'enabled', directory: expected, file: join(expected, 'x.v8cache'), use: 'read' }), `Compile cache: ${join(expected, 'x.v8cache')} (read).`);
    });

    it('does not use a directory others could write', () => {
      const root = join(dir, '.cache', CACHE_FOLDER);
      mkdirSync(root, { recursive: true });
      chmodSync(root, 0o777);
      const outcome = cacheDirectory('T-1.0.0', host({ home: dir }));
      assert.equal(outcome.status, 'off');
      assert.match(describeCompileCache(outcome), /node-compile-cache is writable by group or others \(mode 0777\); compiled code is never read from where another user could write/);
    });

    it('stays off when switched off and when it cannot create the directory, and never throws', () => {
      assert.match(describeCompileCache(cacheDirectory('T-1.0.0', host({ home: dir, env: { NODE_DISABLE_COMPILE_CACHE: '1' } }))), /NODE_DISABLE_COMPILE_CACHE/);
      writeFileSync(join(dir, 'file'), '');
      assert.match(describeCompileCache(cacheDirectory('T-1.0.0', host({ home: join(dir, 'file') }))), /cannot be created \(ENOTDIR\)/);
      const throwing = host({ home: dir, env: new Proxy({}, { get: () => { throw new Error('boom'); } }) });
      assert.match(describeCompileCache(cacheDirectory('T-1.0.0', throwing)), /unexpected error: boom/);
      assert.equal(describeCompileCache(undefined), 'Compile cache: not started (the task was not run from its start file).');
    });
  });

  describe('the start file on real Node', () => {
    let task: string;
    let node24: string;
    before(async function () {
      this.timeout(300_000);
      node24 = node24Path();
      task = mkdtempSync(join(tmpdir(), 'compile-cache-task-'));
      // A bundle with enough code for V8 to cache, printing what the start file decided.
      const body = Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + ${i}; }`).join('\n');
      writeFileSync(join(task, 'main.bundle.js'), `${body}\nconst o = globalThis[Symbol.for(${JSON.stringify(OUTCOME_KEY)})];\nconsole.log(JSON.stringify({ sum: f7(6), status: o && o.status, use: o && o.use }));\n`);
      await build(startOptions('main', join(task, 'main.js'), 'Probe-1.2.3'));
    });
    after(() => rmSync(task, { recursive: true, force: true }));

    const start = (nodePath: string, home: string, extra: Record<string, string> = {}): Promise<{ status: number; stdout: string; stderr: string }> =>
      run(nodePath, [join(task, 'main.js')], { PATH: process.env['PATH'] ?? '', HOME: home, ...extra });
    const cacheFiles = (home: string): string[] => {
      const root = join(home, '.cache', CACHE_FOLDER, 'Probe-1.2.3');
      return existsSync(root) ? readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)) : [];
    };
    const ran = (r: { status: number; stdout: string; stderr: string }): [number, unknown, string] => [r.status, r.stdout ? JSON.parse(r.stdout) : r.stdout, r.stderr];
    const out = (status: string, use?: string): [number, unknown, string] => [0, { sum: 49, status, ...(use ? { use } : {}) }, ''];

    for (const line of ['24', '20'] as const) {
      const nodePath = (): string => (line === '24' ? node24 : agentNode20());

      it(`Node ${line}: writes the cache at the end of the first run and reads it on the next`, async () => {
        assert.deepEqual(ran(await start(nodePath(), dir)), out('enabled', 'written at exit'));
        assert.equal(cacheFiles(dir).length, 1, 'one cache file for main.bundle.js');
        assert.match(cacheFiles(dir)[0]!, /main\.bundle\.js\.[0-9a-f]{16}\.node-\d+\.\d+\.\d+-\w+\.v8cache$/);
        assert.deepEqual(ran(await start(nodePath(), dir)), out('enabled', 'read'));
      });

      it(`Node ${line}: a damaged cache is rejected, and rewritten at exit, silently`, async () => {
        await start(nodePath(), dir);
        for (const file of cacheFiles(dir)) writeFileSync(file, Buffer.alloc(readFileSync(file).length, 0x5a));
        assert.deepEqual(ran(await start(nodePath(), dir)), out('enabled', 'rejected, rewritten at exit'));
        assert.deepEqual(ran(await start(nodePath(), dir)), out('enabled', 'read'), 'the rewritten file is good again');
      });
    }

    it('Node 24 and 20 keep their caches side by side', async () => {
      await start(node24, dir);
      await start(agentNode20(), dir);
      assert.deepEqual(ran(await start(node24, dir)), out('enabled', 'read'));
      assert.deepEqual(ran(await start(agentNode20(), dir)), out('enabled', 'read'));
    });

    it('Node 24: concurrent first runs sharing one cache all succeed and leave a usable cache', async () => {
      const results = await Promise.all(Array.from({ length: 6 }, () => start(node24, dir)));
      // Each either found no cache yet (and wrote one) or found a whole one another wrote: never half a file.
      for (const r of results) assert.ok([out('enabled', 'written at exit'), out('enabled', 'read')].some((o) => JSON.stringify(o) === JSON.stringify(ran(r))), JSON.stringify(ran(r)));
      assert.deepEqual(ran(await start(node24, dir)), out('enabled', 'read'));
      assert.deepEqual(readdirSync(join(dir, '.cache', CACHE_FOLDER, 'Probe-1.2.3')).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left');
    });

    it('Node 24: runs without the cache where it cannot write, or where others could', async () => {
      writeFileSync(join(dir, 'not-a-folder'), '');
      assert.deepEqual(ran(await start(node24, dir, { XDG_CACHE_HOME: join(dir, 'not-a-folder', 'cache') })), out('off'));
      const root = join(dir, '.cache', CACHE_FOLDER);
      mkdirSync(root, { recursive: true });
      chmodSync(join(dir, '.cache'), 0o777);
      assert.deepEqual(ran(await start(node24, dir)), out('off'));
      assert.deepEqual(cacheFiles(dir), [], 'nothing written where others could write');
    });

    it('a new build of the bundle gets a cache file of its own', async () => {
      await start(node24, dir);
      const other = mkdtempSync(join(tmpdir(), 'compile-cache-task-'));
      try {
        writeFileSync(join(other, 'main.bundle.js'), readFileSync(join(task, 'main.bundle.js'), 'utf8').replace('x * 7', 'x * 7 ').replace('return x * 1 +', 'return x*1 + '));
        await build(startOptions('main', join(other, 'main.js'), 'Probe-1.2.3'));
        const changed = await run(node24, [join(other, 'main.js')], { PATH: process.env['PATH'] ?? '', HOME: dir });
        assert.deepEqual(ran(changed), out('enabled', 'written at exit'), 'not the other build\'s cache');
        assert.equal(cacheFiles(dir).length, 2);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    });

    it('drops the url.parse deprecation a bundle causes on Node 24 (src/core/node-warnings.ts), and no other warning', async () => {
      const probe = mkdtempSync(join(tmpdir(), 'node-warnings-task-'));
      try {
        writeFileSync(join(probe, 'main.bundle.js'), [
          "require('node:url').parse('https://dev.azure.com/contoso/');",
          "process.emitWarning('a deprecation of our own', 'DeprecationWarning', 'DEP0999');",
          "process.emitWarning('an experimental feature', { type: 'ExperimentalWarning', code: 'EXP1' });",
          "console.log('done');",
        ].join('\n'));
        await build(startOptions('main', join(probe, 'main.js'), 'Probe-1.2.3'));
        // Without the start file, Node 24 prints DEP0169 for the bundle's call: what the start file keeps out of the log.
        const bare = await run(node24, [join(probe, 'main.bundle.js')], { PATH: process.env['PATH'] ?? '', HOME: dir });
        assert.match(bare.stderr, /\[DEP0169\]/);
        for (const nodePath of [node24, agentNode20()]) {
          const result = await run(nodePath, [join(probe, 'main.js')], { PATH: process.env['PATH'] ?? '', HOME: dir });
          assert.equal(result.stdout, 'done\n', result.stderr);
          assert.doesNotMatch(result.stderr, /DEP0169|url\.parse/);
          assert.match(result.stderr, /\[DEP0999\] DeprecationWarning: a deprecation of our own/);
          assert.match(result.stderr, /ExperimentalWarning: an experimental feature/);
        }
      } finally {
        rmSync(probe, { recursive: true, force: true });
      }
    });
  });
});
