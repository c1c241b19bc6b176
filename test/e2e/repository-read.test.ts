import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UAMI_OUTSIDER, addBulkOrganization, repositoryIn } from '../emulators';
import type { JobResult, Step } from '../agent/runner';
import { harness, leakedLines, taskDir, type Harness } from './support';

const TEMPLATES = 'fabrikam/Shared Tools/templates';

/** `git show <rev>` in a bare repository, as bytes (async: the emulators live in this process). */
function show(bare: string, rev: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile('git', ['-C', bare, 'show', rev], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

function git(bare: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['-C', bare, ...args], { encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}

interface ListedRepository { id: string; name: string; projectName: string; projectId: string; defaultBranch?: string; remoteUrl: string; webUrl: string; size: number; isDisabled: boolean }

describe('ManagedIdentityRepository@1 list and readFile (packaged, through the agent-like runner)', function () {
  this.timeout(120_000);
  let h: Harness;
  let task: string;
  let bare: string;

  const step = (inputs: Record<string, string>, name = 'step'): { task: string; name: string; inputs: Record<string, string> } =>
    ({ task, name, inputs });

  function failure(result: JobResult): string {
    assert.equal(result.result, 'Failed', result.log);
    assert.equal(result.steps[0]!.errors.length, 1, result.steps[0]!.errors.join('\n'));
    return result.steps[0]!.errors[0]!;
  }

  function assertNoLeak(result: JobResult): void {
    for (const s of result.steps) for (const { token } of h.emu.tokens.issued) assert.deepEqual(leakedLines(s.raw, token), [], s.displayName);
  }

  before(async () => {
    [h, task] = await Promise.all([harness(), taskDir('ManagedIdentityRepository')]);
    bare = repositoryIn(h.emu.world, 'fabrikam', 'Shared Tools', 'templates').bareDir;
  });
  after(() => h?.stop());

  describe('list', () => {
    it('lists every repository of an organization with more projects than one page, one request per page, and writes outputFile', async () => {
      const bulk = addBulkOrganization(h.emu.world, { name: 'bulk', projects: 230, reposPerProject: 5 });
      const start = h.emu.devops.requests.length;
      const result = await h.run([step({ command: 'list', organization: 'bulk', outputFile: 'out/repos.json' }, 'list')]);
      assert.equal(result.result, 'Succeeded', result.log);
      assert.equal(result.variables.get('list.count')?.value, '1150');

      const requests = h.emu.devops.requests.slice(start).filter((r) => r.path.startsWith('/bulk/'));
      const pages = requests.filter((r) => r.route === 'GET _apis/projects');
      assert.deepEqual(pages.map((r) => [r.query['$top'], r.query['continuationToken']]), [['100', undefined], ['100', '100'], ['100', '200']],
        'projects are paged with $top and follow x-ms-continuationtoken, one request per page');
      const repoLists = requests.filter((r) => r.route === 'GET {project}/_apis/git/repositories');
      assert.equal(repoLists.length, 230, 'one repository request per project');
      assert.equal(new Set(repoLists.map((r) => r.path)).size, 230);
      const discovery = requests.filter((r) => r.method === 'OPTIONS' || r.path.endsWith('/_apis/ResourceAreas'));
      assert.deepEqual(discovery.map((r) => `${r.method} ${r.path}`).sort(), [
        'GET /bulk/_apis/ResourceAreas', 'OPTIONS /bulk/_apis/Location', 'OPTIONS /bulk/_apis/core', 'OPTIONS /bulk/_apis/git',
      ], 'each discovery request once, not once per parallel worker');

      const written = JSON.parse(readFileSync(join(result.dirs.workspace, 'out/repos.json'), 'utf8')) as ListedRepository[];
      assert.equal(written.length, 1150);
      const expected = bulk.projects.flatMap((p) => p.repos.map((r) => `${p.name}/${r.name}/${r.id}`)).sort();
      assert.deepEqual(written.map((r) => `${r.projectName}/${r.name}/${r.id}`).sort(), expected, 'every repository, once');
      const first = written[0]!;
      assert.equal(first.projectName, 'Project 001');
      assert.equal(first.name, 'repo-001');
      assert.equal(first.defaultBranch, 'refs/heads/main');
      assert.match(first.remoteUrl, /\/bulk\/Project%20001\/_git\/repo-001$/);
      assert.equal(typeof first.size, 'number');

      const log = result.steps[0]!.log.join('\n');
      assert.match(log, /^Project\s+Repository\s+Default branch\s+Size\s+Disabled$/m, 'a table header');
      assert.match(log, /^Project 230\s+repo-005\s+main\s+\d/m, 'the last page’s projects are in the table');
      assert.match(log, /1150 repositories in 'bulk'\./);
      assertNoLeak(result);
    });

    it('lists one project, names with spaces and non-ASCII included, and uses the pipeline’s organization by default', async () => {
      const result = await h.run([
        step({ command: 'list', organization: 'fabrikam', project: 'Shared Tools' }, 'shared'),
        step({ command: 'list' }, 'own'),
      ]);
      assert.equal(result.result, 'Succeeded', result.log);
      assert.equal(result.variables.get('shared.count')?.value, '2');
      assert.match(result.steps[0]!.log.join('\n'), /^Shared Tools\s+Ünïcode Repo\s+main\s+[\d.]+ KiB$/m);
      assert.equal(result.variables.get('own.count')?.value, '1');
      assert.match(result.steps[1]!.log.join('\n'), /^Web\s+app\s+main/m);
    });

    it('refuses an outputFile outside the workspace before any request', async () => {
      const before = h.emu.devops.requests.length;
      const result = await h.run([step({ command: 'list', outputFile: '../repos.json' })]);
      assert.match(failure(result), /^Input 'outputFile' must be a path inside the pipeline workspace \(.*\) \(got '\.\.\/repos\.json'\)\.$/);
      assert.equal(h.emu.devops.requests.length, before);
    });

    it('explains an organization the identity is not a member of, and a project that does not exist', async () => {
      const outsider = await h.run([step({ command: 'list', organization: 'fabrikam', clientId: UAMI_OUTSIDER.clientId })]);
      assert.match(failure(outsider), /is not a member of organization 'fabrikam' \(TF400813/);
      const missing = await h.run([step({ command: 'list', organization: 'fabrikam', project: 'Nope' })]);
      assert.match(failure(missing), /^TF200016: Project 'Nope' does not exist in organization 'fabrikam', or the identity cannot see it\.$/);
    });
  });

  describe('readFile', () => {
    it('writes a binary file byte for byte as git has it, with the path output', async () => {
      const result = await h.run([step({ command: 'readFile', repository: TEMPLATES, filePath: 'assets/logo.bin', destination: 'in/logo.bin' }, 'logo')]);
      assert.equal(result.result, 'Succeeded', result.log);
      const path = join(result.dirs.workspace, 'in/logo.bin');
      assert.equal(result.variables.get('logo.path')?.value, path);
      const expected = await show(bare, 'main:assets/logo.bin');
      assert.ok(expected.length > 1000 && expected.includes(0), 'the seed file is binary');
      assert.ok(readFileSync(path).equals(expected), 'byte-identical to git show');
      assert.deepEqual(readdirSync(join(result.dirs.workspace, 'in')), ['logo.bin'], 'no partial file left beside it');
      assertNoLeak(result);
    });

    it('reads a text file at an annotated tag, a lightweight tag, a full ref and a SHA', async () => {
      const sha = await git(bare, 'rev-parse', 'release/1.0');
      const result = await h.run([
        step({ command: 'readFile', repository: TEMPLATES, filePath: '/CHANGELOG.md', ref: 'v1.0.0', destination: 'tag/CHANGELOG.md' }, 'tag'),
        step({ command: 'readFile', repository: TEMPLATES, filePath: 'README.md', ref: 'v0.9', destination: 'light/README.md' }, 'light'),
        step({ command: 'readFile', repository: TEMPLATES, filePath: 'pipelines/build.yml', ref: 'refs/heads/main', destination: 'full/build.yml' }, 'full'),
        step({ command: 'readFile', repository: TEMPLATES, filePath: 'CHANGELOG.md', ref: sha, destination: 'sha/CHANGELOG.md' }, 'sha'),
      ]);
      assert.equal(result.result, 'Succeeded', result.log);
      const expectations: Array<[string, string, string]> = [
        ['tag', 'tag/CHANGELOG.md', 'v1.0.0:CHANGELOG.md'],
        ['light', 'light/README.md', 'v0.9:README.md'],
        ['full', 'full/build.yml', 'main:pipelines/build.yml'],
        ['sha', 'sha/CHANGELOG.md', `${sha}:CHANGELOG.md`],
      ];
      for (const [name, file, rev] of expectations) {
        const path = join(result.dirs.workspace, file);
        assert.equal(result.variables.get(`${name}.path`)?.value, path);
        assert.equal(readFileSync(path, 'utf8'), (await show(bare, rev)).toString('utf8'), rev);
      }
      assert.match(readFileSync(join(result.dirs.workspace, 'tag/CHANGELOG.md'), 'utf8'), /## 1\.0\.0/);
    });

    it('reads from a repository with a non-ASCII name, given as its clone URL, into a folder given as destination', async () => {
      const unicode = repositoryIn(h.emu.world, 'fabrikam', 'Shared Tools', 'Ünïcode Repo').bareDir;
      const result = await h.run([
        { script: 'mkdir -p "$PIPELINE_WORKSPACE/docs"' },
        step({ command: 'readFile', repository: h.emu.devops.cloneUrl('fabrikam', 'Shared Tools', 'Ünïcode Repo'), filePath: 'README.md', destination: 'docs' }, 'unicode'),
      ]);
      assert.equal(result.result, 'Succeeded', result.log);
      const path = join(result.dirs.workspace, 'docs/README.md');
      assert.equal(result.variables.get('unicode.path')?.value, path);
      assert.equal(readFileSync(path, 'utf8'), (await show(unicode, 'main:README.md')).toString('utf8'));
      assert.match(readFileSync(path, 'utf8'), /^# Ünïcode Repo/);
    });

    const failures: Array<[string, Record<string, string>, RegExp, RegExp]> = [
      ['a file that does not exist', { filePath: 'nope.txt' },
        /^The file '\/nope\.txt' does not exist in 'Shared Tools\/templates' at the default branch \(TF401174\)\.$/, /Check filePath/],
      ['a file that does not exist at that tag', { filePath: 'pipelines/build.yml', ref: 'v0.9' },
        /^The file '\/pipelines\/build\.yml' does not exist in 'Shared Tools\/templates' at 'v0\.9' \(TF401174\)\.$/, /Check filePath/],
      ['a ref that does not exist', { filePath: 'README.md', ref: 'no-such-ref' },
        /^The ref 'no-such-ref' does not exist in 'Shared Tools\/templates' \(TF401175\): no branch, tag or commit has that name\.$/, /Check ref/],
      ['a commit that does not exist', { filePath: 'README.md', ref: '0123456789abcdef0123456789abcdef01234567' },
        /^The ref '0123456789abcdef0123456789abcdef01234567' does not exist in 'Shared Tools\/templates'/, /Check ref/],
      ['a repository that does not exist', { repository: 'fabrikam/Shared Tools/nope', filePath: 'README.md' }, /^TF401019: Repository 'nope'/, /grant the identity Read/],
    ];
    for (const [what, inputs, message, hint] of failures) {
      it(`explains ${what} in one message and writes nothing`, async () => {
        const result = await h.run([step({ command: 'readFile', repository: TEMPLATES, destination: 'got/file', ...inputs })]);
        assert.match(failure(result), message);
        assert.match(result.log, hint);
        assert.ok(!existsSync(join(result.dirs.workspace, 'got')), 'nothing was written');
      });
    }

    it('writes into $(Agent.TempDirectory) too (readFile destination and list outputFile), following links only where they stay inside', async () => {
      const result = await h.run([
        step({ command: 'readFile', repository: TEMPLATES, filePath: 'README.md', destination: '$(Agent.TempDirectory)/shared/README.md' }, 'readme'),
        step({ command: 'list', organization: 'fabrikam', outputFile: '$(Agent.TempDirectory)/repos.json' }, 'repos'),
        // A folder of the workspace reached through a link in the temp folder is fine too.
        { script: 'ln -s "$PIPELINE_WORKSPACE" "$AGENT_TEMPDIRECTORY/ws"' },
        step({ command: 'readFile', repository: TEMPLATES, filePath: 'README.md', destination: '$(Agent.TempDirectory)/ws/linked/README.md' }, 'linked'),
      ], { keepTempDirectory: true });
      assert.equal(result.result, 'Succeeded', result.log);
      const readme = join(result.dirs.temp, 'shared', 'README.md');
      assert.equal(result.variables.get('readme.path')?.value, readme);
      assert.ok(readFileSync(readme).equals(await show(bare, 'main:README.md')));
      assert.equal((JSON.parse(readFileSync(join(result.dirs.temp, 'repos.json'), 'utf8')) as unknown[]).length, 2);
      assert.ok(existsSync(join(result.dirs.workspace, 'linked', 'README.md')), 'written through the link, into the workspace');
    });

    it('refuses a destination that leaves $(Agent.TempDirectory), also through a link a script made there, naming both folders', async () => {
      const before = h.emu.devops.requests.length;
      const refusal = async (steps: Step[]): Promise<[string, JobResult]> => {
        const result = await h.run(steps, { keepTempDirectory: true });
        const last = result.steps.filter((s) => s.phase === 'main').at(-1)!;
        assert.equal(last.result, 'Failed', result.log);
        const roots = `the pipeline workspace (${result.dirs.workspace}) or Agent.TempDirectory (${result.dirs.temp})`;
        return [last.errors.join('\n').replace(roots, '<roots>'), result];
      };
      const [link, linked] = await refusal([
        { script: 'mkdir -p "$AGENT_WORKFOLDER/outside" && ln -s "$AGENT_WORKFOLDER/outside" "$AGENT_TEMPDIRECTORY/out"' },
        step({ command: 'readFile', repository: TEMPLATES, filePath: 'README.md', destination: '$(Agent.TempDirectory)/out/README.md' }),
      ]);
      assert.match(link, /^Input 'destination' must be a path inside <roots> \(got '.*\/out\/README\.md'\)\.$/);
      assert.ok(!existsSync(join(linked.dirs.work, 'outside', 'README.md')));
      const [parent, listed] = await refusal([step({ command: 'list', outputFile: '$(Agent.TempDirectory)/../repos.json' })]);
      assert.match(parent, /^Input 'outputFile' must be a path inside <roots> \(got '.*\/\.\.\/repos\.json'\)\.$/);
      assert.ok(!existsSync(join(listed.dirs.work, 'repos.json')));
      const [itself] = await refusal([step({ command: 'readFile', repository: TEMPLATES, filePath: 'README.md', destination: '$(Agent.TempDirectory)' })]);
      assert.match(itself, /^Input 'destination' must be a path inside <roots>, not the folder itself \(got '.*'\)\.$/);
      assert.equal(h.emu.devops.requests.length, before, 'no request was made');
    });

    for (const destination of ['../escape.txt', '/tmp/miado-escape.txt', '.']) {
      it(`refuses destination '${destination}' before any request`, async () => {
        const before = h.emu.devops.requests.length;
        const result = await h.run([step({ command: 'readFile', repository: TEMPLATES, filePath: 'README.md', destination })]);
        assert.match(failure(result), new RegExp(`^Input 'destination' must be a path inside the pipeline workspace .*\\(got '${destination.replace(/\./g, '\\.')}'\\)\\.$`));
        assert.equal(h.emu.devops.requests.length, before, 'no request was made');
        assert.ok(!existsSync('/tmp/miado-escape.txt') && !existsSync(join(result.dirs.work, 'escape.txt')));
      });
    }
  });
});
