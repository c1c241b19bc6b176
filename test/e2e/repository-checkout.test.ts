import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UAMI_OUTSIDER, repositoryIn } from '../emulators';
import type { JobResult } from '../agent/runner';
import { argvRecorder, filesContaining, harness, laterStepEnv, leakForms, leakedLines, run, taskDir, type Harness } from './support';

const TEMPLATES = 'fabrikam/Shared Tools/templates';

describe('ManagedIdentityRepository@1 checkout (packaged, through the agent-like runner)', function () {
  this.timeout(120_000);
  let h: Harness;
  let task: string;
  let bare: string;
  /** A commit that no branch or tag points at any more (main moved on): only reachable by SHA. */
  let buried: string;

  async function git(cwd: string, ...args: string[]): Promise<string> {
    const r = await run('git', args, { PATH: process.env['PATH'] ?? '', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' }, cwd);
    assert.equal(r.status, 0, `git ${args.join(' ')} in ${cwd}: ${r.stderr}`);
    return r.stdout.trim();
  }

  const checkout = (inputs: Record<string, string>, name?: string): { task: string; name?: string; inputs: Record<string, string> } =>
    ({ task, ...(name ? { name } : {}), inputs: { command: 'checkout', ...inputs } });

  /** Every token the identity endpoints issued so far: the task's, and those the credential helper minted. */
  const issuedTokenForms = (): string[] => h.emu.tokens.issued.flatMap((t) => leakForms(t.token));

  function assertNoLeak(result: JobResult, recorder?: ReturnType<typeof argvRecorder>): void {
    const forms = issuedTokenForms();
    for (const step of result.steps) {
      for (const token of h.emu.tokens.issued.map((t) => t.token)) assert.deepEqual(leakedLines(step.raw, token), [], `no token in the output of ${step.displayName}`);
    }
    assert.deepEqual(filesContaining([result.dirs.agentRoot, result.dirs.home], forms), [], 'no file holds a token');
    if (recorder) {
      const calls = recorder.calls();
      assert.ok(calls.length > 0, 'git calls were recorded');
      assert.deepEqual(calls.filter((argv) => forms.some((f) => argv.join(' ').includes(f))), [], 'no token in any git argv');
    }
  }

  function failure(result: JobResult): string {
    assert.equal(result.result, 'Failed', result.log);
    assert.equal(result.steps[0]!.errors.length, 1, result.steps[0]!.errors.join('\n'));
    return result.steps[0]!.errors[0]!;
  }

  before(async () => {
    [h, task] = await Promise.all([harness(), taskDir('ManagedIdentityRepository')]);
    bare = repositoryIn(h.emu.world, 'fabrikam', 'Shared Tools', 'templates').bareDir;
    buried = await git(bare, 'rev-parse', 'main');
    const later = await run('git', ['-C', bare, 'commit-tree', 'main^{tree}', '-p', 'main', '-m', 'Later work'], {
      PATH: process.env['PATH'] ?? '', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@t.invalid', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@t.invalid',
    });
    await git(bare, 'update-ref', 'refs/heads/main', later.stdout.trim());
  });
  after(() => h?.stop());

  it('checks out a repository of another organization at a branch, an annotated tag, a lightweight tag and a SHA, with commit and path outputs', async () => {
    const recorder = argvRecorder();
    const result = await h.run([
      checkout({ repository: TEMPLATES, ref: 'release/1.0', path: 'x/branch', fetchDepth: '1' }, 'branch'),
      checkout({ repository: TEMPLATES, ref: 'v1.0.0', path: 'x/annotated' }, 'annotated'),
      checkout({ repository: TEMPLATES, ref: 'refs/tags/v0.9', path: 'x/lightweight' }, 'lightweight'),
      checkout({ repository: TEMPLATES, ref: buried, path: 'x/sha' }, 'sha'),
      { script: 'test "$(git -C "$CLONE" rev-parse HEAD)" = "$COMMIT" && echo "later step sees $COMMIT"', env: { CLONE: '$(branch.path)', COMMIT: '$(branch.commit)' } },
    ], { env: { PATH: `${recorder.binDir}:${process.env['PATH']}`, MI_ARGV_LOG: recorder.log } });
    assert.equal(result.result, 'Succeeded', result.log);

    const expected: Record<string, string> = {
      branch: await git(bare, 'rev-parse', 'release/1.0'),
      annotated: await git(bare, 'rev-parse', 'v1.0.0^{commit}'),
      lightweight: await git(bare, 'rev-parse', 'v0.9'),
      sha: buried,
    };
    assert.notEqual(await git(bare, 'rev-parse', 'v1.0.0'), expected['annotated'], 'v1.0.0 is an annotated tag object');
    for (const [name, commit] of Object.entries(expected)) {
      const path = join(result.dirs.workspace, 'x', name);
      assert.equal(result.variables.get(`${name}.commit`)?.value, commit, `${name}.commit`);
      assert.equal(result.variables.get(`${name}.path`)?.value, path, `${name}.path`);
      assert.equal(await git(path, 'rev-parse', 'HEAD'), commit, `HEAD of ${name}`);
      assert.equal(await git(path, 'status', '--porcelain'), '', `clean working tree in ${name}`);
    }
    assert.match(result.steps[4]!.log.join('\n'), new RegExp(`later step sees ${expected['branch']}`));
    assert.equal(await git(join(result.dirs.workspace, 'x/branch'), 'rev-list', '--count', 'HEAD'), '1', 'fetchDepth 1 gives one commit');
    assert.equal(await git(join(result.dirs.workspace, 'x/annotated'), 'rev-list', '--count', 'HEAD'), '2', 'fetchDepth 0 gives the whole history');
    assert.ok(existsSync(join(result.dirs.workspace, 'x/branch/CHANGELOG.md')), 'the release branch’s file is there');
    assert.ok(!existsSync(join(result.dirs.workspace, 'x/lightweight/pipelines')), 'v0.9 predates pipelines/');
    assertNoLeak(result, recorder);
  });

  it('makes a blobless partial clone with fetchFilter: blob:none, fetching the blobs it checks out with the identity', async () => {
    const uploadPacks = (): number => h.emu.devops.requests.filter((r) => r.path.endsWith('/git-upload-pack')).length;
    const before = uploadPacks();
    const result = await h.run([checkout({ repository: TEMPLATES, fetchFilter: 'blob:none' }, 'partial')]);
    assert.equal(result.result, 'Succeeded', result.log);
    assert.doesNotMatch(result.log, /filtering not recognized/);
    const path = result.variables.get('partial.path')!.value;
    assert.equal(await git(path, 'config', 'remote.origin.promisor'), 'true');
    assert.equal(await git(path, 'config', 'remote.origin.partialclonefilter'), 'blob:none');
    assert.ok(readdirSync(join(path, '.git/objects/pack')).some((f) => f.endsWith('.promisor')), 'a promisor pack');
    assert.ok(uploadPacks() - before >= 2, 'the fetch, then the blobs the checkout needed');
    assert.equal(await git(path, 'hash-object', 'assets/logo.bin'), await git(bare, 'rev-parse', 'main:assets/logo.bin'), 'the binary file is intact');
    assert.equal(await git(path, 'status', '--porcelain'), '');
  });

  it('leaves only the named folders with sparseCheckoutDirectories (cone mode keeps files at the root), and fetches no other blobs when blobless', async () => {
    const result = await h.run([checkout({ repository: TEMPLATES, sparseCheckoutDirectories: 'pipelines', fetchFilter: 'blob:none' }, 'sparse')]);
    assert.equal(result.result, 'Succeeded', result.log);
    const path = result.variables.get('sparse.path')!.value;
    assert.deepEqual(readdirSync(path).sort(), ['.git', 'README.md', 'pipelines']);
    assert.ok(existsSync(join(path, 'pipelines/build.yml')));
    assert.equal(await git(path, 'sparse-checkout', 'list'), 'pipelines');
    const logo = await git(bare, 'rev-parse', 'main:assets/logo.bin');
    assert.match(await git(path, 'rev-list', '--objects', '--missing=print', 'HEAD'), new RegExp(`^\\?${logo}$`, 'm'), 'the blob outside the cone was never downloaded');
  });

  it('populates a submodule that lives in another organization (submodules: recursive)', async () => {
    const recorder = argvRecorder();
    const result = await h.run([checkout({ repository: 'app', submodules: 'recursive' }, 'app')],
      { env: { PATH: `${recorder.binDir}:${process.env['PATH']}`, MI_ARGV_LOG: recorder.log } });
    assert.equal(result.result, 'Succeeded', result.log);
    const path = result.variables.get('app.path')!.value;
    assert.equal(path, join(result.dirs.sources, 'app'), 'default path: s/<repository>');
    const appBare = repositoryIn(h.emu.world, 'contoso', 'Web', 'app').bareDir;
    const pinned = (await git(appBare, 'ls-tree', 'main', 'templates')).split(/\s+/)[2];
    assert.equal(await git(join(path, 'templates'), 'rev-parse', 'HEAD'), pinned);
    assert.ok(existsSync(join(path, 'templates/pipelines/build.yml')), 'the submodule’s files are there');
    assert.match(await git(path, 'submodule', 'status', '--recursive'), new RegExp(`^${pinned} templates `), 'initialized and at the pinned commit (no - or + prefix)');
    assert.match(await git(path, 'config', '--file', '.gitmodules', 'submodule.templates.url'), /\/fabrikam\/Shared%20Tools\/_git\/templates$/);
    assertNoLeak(result, recorder);
  });

  it('re-uses the clone on a second run with clean: true (fetch + reset) and removes untracked files', async () => {
    const result = await h.run([
      checkout({ repository: TEMPLATES, ref: 'main', path: 'reuse' }, 'first'),
      { script: 'cd "$CLONE" && git remote set-url origin "$(git remote get-url origin | sed "s#//#//fabrikam@#")" && echo scratch > untracked.txt && mkdir -p build && echo x > build/out.o && echo edited >> README.md && echo kept > .git/marker && stat -c %i .git > "$AGENT_TEMPDIRECTORY/../inode"', env: { CLONE: '$(first.path)' } },
      checkout({ repository: TEMPLATES, ref: 'release/1.0', path: 'reuse', clean: 'true' }, 'second'),
    ]);
    assert.equal(result.result, 'Succeeded', result.log);
    const path = join(result.dirs.workspace, 'reuse');
    assert.match(result.steps[2]!.log.join('\n'), /Re-using the existing clone/);
    assert.equal(readFileSync(join(path, '.git/marker'), 'utf8'), 'kept\n', 'the .git folder survived');
    assert.equal(String(statSync(join(path, '.git')).ino), readFileSync(join(result.dirs.work, 'inode'), 'utf8').trim(), 'same .git inode');
    assert.ok(!existsSync(join(path, 'untracked.txt')) && !existsSync(join(path, 'build')), 'untracked files are gone');
    assert.doesNotMatch(readFileSync(join(path, 'README.md'), 'utf8'), /edited/, 'local edits are reset');
    assert.equal(result.variables.get('second.commit')?.value, await git(bare, 'rev-parse', 'release/1.0'), 'the new ref was fetched');
    assert.equal(await git(path, 'status', '--porcelain', '--ignored'), '');
    assert.doesNotMatch(await git(path, 'remote', 'get-url', 'origin'), /@/, 'a clone whose origin has the {org}@ user name is the same repository; the URL is ours again');
  });

  it('with persistCredentials, later plain git fetches in the clone and its cross-org submodule work; after the post-job step nothing authenticates and nothing holds a token', async () => {
    const recorder = argvRecorder();
    const result = await h.run([
      checkout({ repository: 'app', submodules: 'recursive', persistCredentials: 'true' }, 'persist'),
      {
        script: 'git -C "$CLONE" fetch --quiet origin main && git -C "$CLONE/templates" fetch --quiet origin release/1.0 && git -C "$CLONE/templates" rev-parse FETCH_HEAD',
        env: { CLONE: '$(persist.path)' },
      },
    ], { env: { PATH: `${recorder.binDir}:${process.env['PATH']}`, MI_ARGV_LOG: recorder.log }, keepTempDirectory: true });
    assert.equal(result.result, 'Succeeded', result.log);
    assert.equal(result.steps[1]!.result, 'Succeeded', 'the later plain git fetches authenticated');
    assert.ok(result.steps[1]!.log.includes(await git(bare, 'rev-parse', 'release/1.0')), 'the submodule (fabrikam) fetched');
    assert.equal(result.steps.at(-1)!.phase, 'post');
    assert.match(result.steps.at(-1)!.log.join('\n'), /Removed persisted git credentials/);

    const path = result.variables.get('persist.path')!.value;
    for (const config of [join(path, '.git/config'), join(path, '.git/modules/templates/config')]) {
      assert.doesNotMatch(readFileSync(config, 'utf8'), /helper|extraheader|credential/i, `the post-job step removed the helper from ${config}`);
    }
    assert.deepEqual(readdirSync(result.dirs.temp).filter((f) => f.startsWith('miado-git-')), [], 'no session file is left');
    for (const [dir, branch] of [[path, 'main'], [join(path, 'templates'), 'release/1.0']] as const) {
      const after = await run('git', ['-C', dir, 'fetch', 'origin', branch], laterStepEnv(result, h.emu.env()));
      assert.notEqual(after.status, 0, `fetch in ${dir} after the post-job step must fail`);
      assert.match(after.stderr, /Authentication failed|could not read (Username|Password)/);
    }
    assertNoLeak(result, recorder);
  });

  describe('failures: one message naming the cause and the fix, and nothing left behind', () => {
    const nothingLeft = (result: JobResult, path = join(result.dirs.sources, 'templates')): void => {
      assert.ok(!existsSync(path), `${path} must not remain`);
      assert.deepEqual(readdirSync(result.dirs.temp).filter((f) => f.startsWith('miado-git-')), [], 'no credentials');
    };

    const cases: Array<[string, Record<string, string>, RegExp, RegExp?]> = [
      ['a repository that does not exist or is not visible (TF401019)', { repository: 'fabrikam/Shared Tools/nope' },
        /^TF401019: Repository 'nope' does not exist in project 'Shared Tools' of 'fabrikam', or the identity has no permission to read it\.$/, /grant the identity Read/],
      ['a project that does not exist (TF200016)', { repository: 'fabrikam/Nope/templates' },
        /^TF200016: Project 'Nope' does not exist in organization 'fabrikam'/, /Check the project name/],
      ['an identity that is not a member of the organization (TF400813)', { repository: TEMPLATES, clientId: UAMI_OUTSIDER.clientId },
        /is not a member of organization 'fabrikam' \(TF400813/, /Organization settings > Users/],
      ['an organization of another tenant', { repository: 'northwind/Ops/infra' },
        /Organization 'northwind' belongs to tenant .* another tenant/, /own Microsoft Entra tenant/],
      ['a branch that does not exist', { repository: TEMPLATES, ref: 'no-such-branch' },
        /^The ref 'no-such-branch' does not exist in the repository: no branch, tag or commit has that name\.$/, /40-character commit SHA/],
      ['a full ref that does not exist', { repository: TEMPLATES, ref: 'refs/heads/no-such-branch' },
        /^The ref 'refs\/heads\/no-such-branch' does not exist in the repository/, /40-character commit SHA/],
      ['a commit that does not exist', { repository: TEMPLATES, ref: '0123456789abcdef0123456789abcdef01234567' },
        /^The ref '0123456789abcdef0123456789abcdef01234567' does not exist in the repository/],
    ];
    for (const [what, inputs, message, hint] of cases) {
      it(`explains ${what}`, async () => {
        const result = await h.run([checkout(inputs)], { keepTempDirectory: true });
        assert.match(failure(result), message);
        if (hint) assert.match(result.log, hint);
        nothingLeft(result, join(result.dirs.sources, inputs['repository']!.split('/').pop()!));
        if (/ref/.test(what) || /commit/.test(what)) assert.match(result.log, /Removed the incomplete clone/);
      });
    }

    const refusals: Array<[string, Record<string, string>, RegExp]> = [
      ['a path that climbs out of the workspace', { path: '../x' }, /^Input 'path' must be a path inside the pipeline workspace \(.*\) \(got '\.\.\/x'\)\.$/],
      ['an absolute path elsewhere', { path: '/etc/miado' }, /^Input 'path' must be a path inside the pipeline workspace \(.*\) \(got '\/etc\/miado'\)\.$/],
      ['the workspace itself', { path: '.' }, /^Input 'path' must be a path inside the pipeline workspace \(.*\), not the folder itself \(got '\.'\)\.$/],
      ['a ref that git would read as an option', { ref: '--upload-pack=touch /tmp/pwned' }, /^Input 'ref' must be a branch .* must not start with "-" \(got '--upload-pack=touch \/tmp\/pwned'\)\.$/],
      ['a short ref starting with -', { ref: '-b' }, /^Input 'ref' .*\(got '-b'\)\.$/],
      ['a fetchFilter Azure Repos does not serve', { fetchFilter: 'blob:limit=1m' }, /^Input 'fetchFilter' must be blob:none .* or tree:0 .*\(got 'blob:limit=1m'\)\.$/],
    ];
    for (const [what, inputs, message] of refusals) {
      it(`refuses ${what} before any request`, async () => {
        const before = h.emu.identity.requests.length + h.emu.devops.requests.length;
        const result = await h.run([checkout({ repository: TEMPLATES, ...inputs })], { keepTempDirectory: true });
        assert.match(failure(result), message);
        assert.equal(h.emu.identity.requests.length + h.emu.devops.requests.length, before, 'no request was made');
        nothingLeft(result);
        assert.ok(!existsSync('/etc/miado') && !existsSync(join(result.dirs.work, 'x')));
      });
    }

    it('refuses lfs: true on an agent without git-lfs before fetching anything', async function () {
      if ((await run('git', ['lfs', 'version'], { PATH: process.env['PATH'] ?? '' })).status === 0) this.skip();
      const before = h.emu.devops.requests.filter((r) => r.path.includes('/_git/')).length;
      const result = await h.run([checkout({ repository: TEMPLATES, lfs: 'true' })], { keepTempDirectory: true });
      assert.equal(failure(result), 'lfs is true but git-lfs is not installed on the agent.');
      assert.match(result.log, /Install Git LFS on the agent/);
      assert.equal(h.emu.devops.requests.filter((r) => r.path.includes('/_git/')).length, before, 'no git request');
      nothingLeft(result);
    });

    it('does not touch a folder that is not a clone of the repository unless clean is true', async () => {
      const result = await h.run([
        { script: 'mkdir -p "$PIPELINE_WORKSPACE/mine" && echo precious > "$PIPELINE_WORKSPACE/mine/file.txt"' },
        checkout({ repository: TEMPLATES, path: 'mine' }),
      ]);
      assert.equal(result.result, 'Failed');
      assert.match(result.steps[1]!.errors.join('\n'), /The folder '.*\/mine' is not empty and is not a clone of .*templates/);
      assert.equal(readFileSync(join(result.dirs.workspace, 'mine/file.txt'), 'utf8'), 'precious\n');
    });
  });
});
