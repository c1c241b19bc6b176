import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import * as azdev from 'azure-devops-node-api';
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import { GitObjectType, GitPullRequestMergeStrategy, GitRefUpdateStatus, PullRequestAsyncStatus, PullRequestStatus } from 'azure-devops-node-api/interfaces/GitInterfaces';
import {
  addBulkOrganization,
  FABRIKAM,
  isolatedGitEnv,
  pullRequests,
  refsOf,
  repositoryIn,
  runGit,
  SEED,
  seedBytes,
  serverErrorFault,
  startEmulators,
  TF402455,
  throttlingFault,
  UAMI_BUILD,
  UAMI_READER,
  ZERO_ID,
  type Emulators,
  type GitResult,
} from '../emulators';

type HttpError = Error & { statusCode?: number; result?: { typeKey?: string; message?: string }; rateLimit?: { retryAfter?: number; resource?: string } };

const PROJECT = FABRIKAM.project.name;
const REPO = FABRIKAM.templates.id;

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Asserts the rejection's HTTP status, ADO typeKey and message. */
const rejects = (status: number, typeKey: string | undefined, text: RegExp) => (err: HttpError) => {
  assert.equal(err.statusCode, status, err.message);
  if (typeKey) assert.equal(err.result?.typeKey, typeKey);
  assert.match(err.message, text);
  return true;
};

describe('Azure DevOps emulator: Git REST with the real azure-devops-node-api and git', function () {
  let emu: Emulators;
  let scratch: string;
  let git: IGitApi;
  let readerGit: IGitApi;
  let bare: string;
  let mainTip: string;
  let myId: string;

  const bareGit = async (...args: string[]): Promise<string> => (await runGit(['-C', bare, ...args])).stdout.trim();
  const bearer = (key: string): string[] => ['-c', `http.extraheader=AUTHORIZATION: bearer ${emu.tokenFor(key)}`];
  const gitIn = (args: string[]): Promise<GitResult> =>
    runGit(['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', ...args], { cwd: scratch, env: isolatedGitEnv() });
  const raw = (pathAndQuery: string, init: RequestInit = {}, key: string = UAMI_BUILD.key): Promise<Response> =>
    fetch(`${emu.devops.orgUrl(FABRIKAM.name)}/${pathAndQuery}`, {
      ...init,
      headers: { Authorization: `Bearer ${emu.tokenFor(key)}`, 'X-TFS-FedAuthRedirect': 'Suppress', Accept: 'application/json;api-version=7.1', ...init.headers },
    });

  before(async () => {
    emu = await startEmulators();
    scratch = fs.mkdtempSync(path.join(emu.root, 'scratch-'));
    const api = new azdev.WebApi(emu.devops.orgUrl(FABRIKAM.name), azdev.getBearerHandler(emu.tokenFor(UAMI_BUILD.key)));
    const reader = new azdev.WebApi(emu.devops.orgUrl(FABRIKAM.name), azdev.getBearerHandler(emu.tokenFor(UAMI_READER.key)));
    [git, readerGit] = await Promise.all([api.getGitApi(), reader.getGitApi()]);
    myId = (await api.connect()).authenticatedUser?.id ?? '';
    bare = repositoryIn(emu.world, FABRIKAM.name, PROJECT, FABRIKAM.templates.name).bareDir;
    mainTip = await bareGit('rev-parse', 'refs/heads/main');
  });
  after(async () => emu?.stop());

  describe('items', () => {
    it('getItemContent streams raw bytes (binary-safe) for the default branch, a tag and a commit', async () => {
      const stream = (await git.getItemContent(REPO, SEED.binaryFile, PROJECT)) as IncomingMessage;
      assert.equal(stream.statusCode, 200);
      assert.equal(stream.headers['content-type'], 'application/octet-stream');
      assert.deepEqual(await readAll(stream), seedBytes(FABRIKAM.templates.id, 4096));
      const seen = emu.devops.requests.findLast((r) => r.path.endsWith('/items'));
      assert.equal(seen?.headers.accept, 'application/octet-stream;api-version=7.2-preview.1');

      const atTag = (await git.getItemContent(REPO, '/CHANGELOG.md', PROJECT, undefined, undefined, false, false, true, { version: SEED.annotatedTag, versionType: 1 })) as IncomingMessage;
      assert.match((await readAll(atTag)).toString(), /## 1\.0\.0/);
      assert.match(String(atTag.headers['content-disposition']), /^attachment; filename=CHANGELOG\.md/);
      const atCommit = (await git.getItemContent(REPO, 'README.md', PROJECT, undefined, undefined, false, false, false, { version: mainTip, versionType: 2 })) as IncomingMessage;
      assert.match((await readAll(atCommit)).toString(), /^# templates/);
    });

    it('getItem answers a GitItem (case-insensitive lookup, optional content)', async () => {
      const item = await git.getItem(REPO, '/readme.md', PROJECT, undefined, undefined, false, false, false, { version: 'main', versionType: 0 }, true);
      assert.ok(item);
      assert.equal(item.path, '/README.md');
      assert.equal(item.gitObjectType, GitObjectType.Blob);
      assert.equal(item.commitId, mainTip);
      assert.equal(item.objectId, await bareGit('rev-parse', 'main:README.md'));
      assert.match(item.content ?? '', /Seeded by the Azure DevOps emulator/);
      assert.equal(await git.getItem(REPO, '/nope.txt', PROJECT), null, 'node-api resolves null on 404');
    });

    it('a missing file is TF401174 and a missing branch TF401175, as JSON envelopes', async () => {
      const missing = (await git.getItemContent(REPO, '/docs/nope.txt', PROJECT)) as IncomingMessage;
      assert.equal(missing.statusCode, 404);
      const body = JSON.parse((await readAll(missing)).toString()) as { typeKey: string; message: string };
      assert.equal(body.typeKey, 'GitItemNotFoundException');
      assert.equal(
        body.message,
        `TF401174: The item 'docs/nope.txt' could not be found in the repository '${FABRIKAM.templates.name}' at the version specified by '<Branch:  >' (resolved to commit '${mainTip}')`,
      );
      const onMain = await raw(`${encodeURIComponent(PROJECT)}/_apis/git/repositories/${REPO}/items?path=/nope&versionDescriptor.version=main&versionDescriptor.versionType=branch`);
      assert.match(((await onMain.json()) as { message: string }).message, /at the version specified by '<Branch: main >'/);

      const noBranch = (await git.getItemContent(REPO, '/README.md', PROJECT, undefined, undefined, false, false, true, { version: 'gone', versionType: 0 })) as IncomingMessage;
      assert.equal(noBranch.statusCode, 404);
      assert.deepEqual(JSON.parse((await readAll(noBranch)).toString()), {
        $id: '1',
        innerException: null,
        message: `TF401175:The version descriptor <Branch: gone > could not be resolved to a version in the repository ${FABRIKAM.templates.name}`,
        typeName: 'Microsoft.TeamFoundation.Git.Server.GitUnresolvableToCommitException, Microsoft.TeamFoundation.Git.Server',
        typeKey: 'GitUnresolvableToCommitException',
        errorCode: 0,
        eventId: 3000,
      });
    });
  });

  describe('refs', () => {
    it('getRefs filters by prefix without refs/ and peels annotated tags', async () => {
      const heads = await git.getRefs(REPO, PROJECT, 'heads/main');
      assert.deepEqual(heads.map((r) => [r.name, r.objectId]), [['refs/heads/main', mainTip]]);
      const tags = await git.getRefs(REPO, PROJECT, 'tags/', false, false, false, false, true);
      const annotated = tags.find((r) => r.name === `refs/tags/${SEED.annotatedTag}`);
      assert.equal(annotated?.peeledObjectId, await bareGit('rev-parse', 'refs/heads/release/1.0'));
      assert.notEqual(annotated?.objectId, annotated?.peeledObjectId);
      assert.equal(tags.find((r) => r.name === `refs/tags/${SEED.lightweightTag}`)?.peeledObjectId, undefined);
    });

    it('updateRefs creates, refuses a stale update (200, per item) and deletes, in the bare repository', async () => {
      const [created] = await git.updateRefs([{ name: 'refs/heads/topic/a', oldObjectId: ZERO_ID, newObjectId: mainTip }], REPO, PROJECT);
      assert.deepEqual([created.success, created.updateStatus, created.repositoryId, created.isLocked], [true, GitRefUpdateStatus.Succeeded, FABRIKAM.templates.id, false]);
      assert.equal(await bareGit('rev-parse', 'refs/heads/topic/a'), mainTip);
      const [stale] = await git.updateRefs([{ name: 'refs/heads/topic/a', oldObjectId: ZERO_ID, newObjectId: mainTip }], REPO, PROJECT);
      assert.deepEqual([stale.success, stale.updateStatus], [false, GitRefUpdateStatus.StaleOldObjectId]);
      const [deleted] = await git.updateRefs([{ name: 'refs/heads/topic/a', oldObjectId: mainTip, newObjectId: ZERO_ID }], REPO, PROJECT);
      assert.equal(deleted.success, true);
      assert.equal((await refsOf(bare)).some((r) => r.name === 'refs/heads/topic/a'), false);
    });

    it('a read-only identity gets 200 with create*/writePermissionRequired and TF401027; nothing changes', async () => {
      const before = await refsOf(bare);
      const results = await readerGit.updateRefs(
        [
          { name: 'refs/tags/reader-tag', oldObjectId: ZERO_ID, newObjectId: mainTip },
          { name: 'refs/heads/reader-branch', oldObjectId: ZERO_ID, newObjectId: mainTip },
          { name: 'refs/heads/main', oldObjectId: mainTip, newObjectId: ZERO_ID },
        ],
        REPO,
        PROJECT,
      );
      assert.deepEqual(
        results.map((r) => [r.success, r.updateStatus]),
        [
          [false, GitRefUpdateStatus.CreateTagPermissionRequired],
          [false, GitRefUpdateStatus.CreateBranchPermissionRequired],
          [false, GitRefUpdateStatus.WritePermissionRequired],
        ],
      );
      assert.equal(results[0].customMessage, `TF401027: You need the Git 'CreateTag' permission to perform this action. Details: identity '${UAMI_READER.key}', scope 'repository'.`);
      assert.match(results[2].customMessage ?? '', /'GenericContribute'/);
      assert.deepEqual(await refsOf(bare), before);
    });
  });

  describe('commits and annotated tags', () => {
    it('getCommit answers a GitCommit; an unknown id is 404 TF401029', async () => {
      const commit = await git.getCommit(mainTip, REPO, PROJECT);
      assert.equal(commit.commitId, mainTip);
      assert.equal(commit.treeId, await bareGit('rev-parse', 'main^{tree}'));
      assert.deepEqual(commit.parents, [await bareGit('rev-parse', 'main^')]);
      assert.equal(commit.comment, 'Add pipeline template\n');
      assert.equal(commit.author?.name, 'Emulator Seed');
      assert.ok(commit.author?.date instanceof Date);
      const unknown = 'f'.repeat(40);
      assert.equal(await git.getCommit(unknown, REPO, PROJECT), null);
      const res = await raw(`${encodeURIComponent(PROJECT)}/_apis/git/repositories/${REPO}/commits/${unknown}`);
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json().then((b) => [(b as { typeKey: string }).typeKey, (b as { message: string }).message]), [
        'GitCommitDoesNotExistException',
        `TF401029: Couldn't find Git commit with ID ${unknown}.`,
      ]);
    });

    it('getMergeBases answers every merge base as a bare GitCommitRef, in both orders; an unknown commit is 404 TF401029', async () => {
      const older = await bareGit('rev-parse', 'main^');
      assert.deepEqual((await git.getMergeBases(REPO, mainTip, older, PROJECT)).map((c) => c.commitId), [older], 'an ancestor is its own merge base');
      assert.deepEqual((await git.getMergeBases(REPO, older, mainTip, PROJECT)).map((c) => c.commitId), [older]);
      const release = await bareGit('rev-parse', 'refs/heads/release/1.0');
      const expected = await bareGit('merge-base', '--all', mainTip, release);
      const bases = await git.getMergeBases(REPO, mainTip, release, PROJECT);
      assert.deepEqual(bases.map((c) => c.commitId), expected.split('\n'));
      assert.deepEqual(Object.keys(bases[0]!), ['commitId'], 'only the commit id, as GitMergeBasesController answers');
      const unknown = 'f'.repeat(40);
      const res = await raw(`${encodeURIComponent(PROJECT)}/_apis/git/repositories/${REPO}/commits/${mainTip}/mergebases?otherCommitId=${unknown}`);
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { typeKey: string }).typeKey, 'GitCommitDoesNotExistException');
    });

    it('createAnnotatedTag writes a real tag object by the identity; a duplicate is 409, a reader 409 TF401027', async () => {
      const tag = await git.createAnnotatedTag({ name: 'v2.0.0', taggedObject: { objectId: mainTip }, message: 'Release 2.0.0' }, PROJECT, REPO);
      assert.equal(tag.name, 'v2.0.0');
      assert.equal(tag.objectId, await bareGit('rev-parse', 'refs/tags/v2.0.0'));
      assert.deepEqual([tag.taggedObject?.objectId, tag.taggedObject?.objectType], [mainTip, GitObjectType.Commit]);
      assert.equal(tag.taggedBy?.name, UAMI_BUILD.key);
      assert.equal(tag.message, 'Release 2.0.0');
      assert.match(await bareGit('cat-file', 'tag', 'refs/tags/v2.0.0'), new RegExp(`^tag v2\\.0\\.0\\ntagger ${UAMI_BUILD.key} <>`, 'm'));
      const listed = await git.getRefs(REPO, PROJECT, 'tags/v2.0.0', false, false, false, false, true);
      assert.equal(listed[0]?.peeledObjectId, mainTip);

      await assert.rejects(
        git.createAnnotatedTag({ name: 'v2.0.0', taggedObject: { objectId: mainTip }, message: 'again' }, PROJECT, REPO),
        rejects(409, 'GitRefNameAlreadyExistsException', /^A Git ref with the name refs\/tags\/v2\.0\.0 already exists\.$/),
      );
      await assert.rejects(
        readerGit.createAnnotatedTag({ name: 'v3', taggedObject: { objectId: mainTip }, message: 'no' }, PROJECT, REPO),
        rejects(409, 'GitFailedToCreateTagException', /TF401027: You need the Git 'CreateTag' permission/),
      );
      assert.equal((await refsOf(bare)).some((r) => r.name === 'refs/tags/v3'), false);
    });
  });

  describe('pull requests', () => {
    const source = 'refs/heads/feature/pr';
    const target = 'refs/heads/main';
    let featureTip: string;

    before(async () => {
      // The source branch arrives by a real push.
      const dir = path.join(scratch, 'pr-clone');
      const url = emu.devops.cloneUrl(FABRIKAM.name, PROJECT, FABRIKAM.templates.name);
      assert.equal((await gitIn([...bearer(UAMI_BUILD.key), 'clone', '--quiet', url, dir])).code, 0);
      fs.writeFileSync(path.join(dir, 'feature.txt'), 'feature\n');
      await gitIn(['-C', dir, 'add', '.']);
      await gitIn(['-C', dir, 'commit', '--quiet', '-m', 'Feature']);
      const pushed = await gitIn(['-C', dir, ...bearer(UAMI_BUILD.key), 'push', '--quiet', 'origin', `HEAD:${source}`]);
      assert.equal(pushed.code, 0, pushed.stderr);
      featureTip = await bareGit('rev-parse', source);
    });

    it('creates (201), refuses a duplicate with 409 TF401179, finds it by search criteria (numbers or names)', async () => {
      const pr = await git.createPullRequest({ sourceRefName: source, targetRefName: target, title: 'Feature', description: 'Adds a feature', isDraft: false }, REPO, PROJECT);
      assert.ok(pr.pullRequestId && pr.pullRequestId > 0);
      assert.equal(pr.codeReviewId, pr.pullRequestId);
      assert.deepEqual([pr.status, pr.mergeStatus, pr.isDraft], [PullRequestStatus.Active, PullRequestAsyncStatus.Queued, false]);
      assert.deepEqual([pr.createdBy?.id, pr.createdBy?.displayName], [myId, UAMI_BUILD.key]);
      assert.deepEqual([pr.lastMergeSourceCommit?.commitId, pr.lastMergeTargetCommit?.commitId], [featureTip, mainTip]);
      assert.deepEqual([pr.repository?.name, pr.repository?.project?.name], [FABRIKAM.templates.name, PROJECT]);
      assert.ok(pr.creationDate instanceof Date);
      assert.equal(emu.devops.requests.findLast((r) => r.method === 'POST' && /\/pullrequests$/i.test(r.path))?.status, 201);

      await assert.rejects(
        git.createPullRequest({ sourceRefName: source, targetRefName: target, title: 'Again' }, REPO, PROJECT),
        rejects(409, 'GitPullRequestExistsException', /^TF401179: An active pull request for the source and target branch already exists\.$/),
      );
      const found = await git.getPullRequests(REPO, { sourceRefName: source, targetRefName: target, status: PullRequestStatus.Active }, PROJECT);
      assert.deepEqual(found.map((p) => [p.pullRequestId, p.mergeStatus]), [[pr.pullRequestId, PullRequestAsyncStatus.Succeeded]]);
      const byName = await raw(`${encodeURIComponent(PROJECT)}/_apis/git/repositories/${REPO}/pullrequests?searchCriteria.status=active&searchCriteria.sourceRefName=${encodeURIComponent(source)}`);
      assert.deepEqual(((await byName.json()) as { value: { status: string }[] }).value.map((p) => p.status), ['active']);
      assert.equal((await git.getPullRequest(REPO, pr.pullRequestId, PROJECT))?.title, 'Feature');
      assert.equal(pullRequests(emu.world, FABRIKAM.name, PROJECT, FABRIKAM.templates.name).length, 1);
    });

    it('refuses a missing source branch (400 TF401398) and a read-only identity (403 PullRequestContribute)', async () => {
      await assert.rejects(
        git.createPullRequest({ sourceRefName: 'refs/heads/gone', targetRefName: target, title: 'x' }, REPO, PROJECT),
        rejects(400, 'GitPullRequestCannotBeActivated', /^TF401398: The pull request cannot be activated/),
      );
      await assert.rejects(
        readerGit.createPullRequest({ sourceRefName: source, targetRefName: 'refs/heads/release/1.0', title: 'x' }, REPO, PROJECT),
        rejects(403, 'GitNeedsPermissionException', /^TF401027: You need the Git 'PullRequestContribute' permission to perform this action\. Details: identity 'uami-reader', scope 'repository'\.$/),
      );
    });

    it('updatePullRequest edits, sets auto-complete with ADO enum names, and abandons', async () => {
      const [pr] = pullRequests(emu.world, FABRIKAM.name, PROJECT, FABRIKAM.templates.name);
      const edited = await git.updatePullRequest({ title: 'Feature v2', description: 'Now better' }, REPO, pr.pullRequestId, PROJECT);
      assert.deepEqual([edited.title, edited.description], ['Feature v2', 'Now better']);
      const auto = await git.updatePullRequest(
        { autoCompleteSetBy: { id: myId }, completionOptions: { mergeStrategy: GitPullRequestMergeStrategy.Squash, deleteSourceBranch: true } },
        REPO,
        pr.pullRequestId,
        PROJECT,
      );
      assert.equal(auto.autoCompleteSetBy?.id, myId);
      assert.deepEqual([auto.completionOptions?.mergeStrategy, auto.completionOptions?.deleteSourceBranch], [GitPullRequestMergeStrategy.Squash, true]);
      assert.equal(pr.completionOptions?.mergeStrategy, 'squash', 'the wire carries the name');
      await assert.rejects(
        git.updatePullRequest({ autoCompleteSetBy: { id: '11111111-2222-4333-8444-555555555555' } }, REPO, pr.pullRequestId, PROJECT),
        rejects(400, 'InvalidArgumentValueException', /Invalid pull request auto complete set by id/),
      );
      await assert.rejects(readerGit.updatePullRequest({ title: 'x' }, REPO, pr.pullRequestId, PROJECT), rejects(403, undefined, /'PullRequestContribute'/));

      const abandoned = await git.updatePullRequest({ status: PullRequestStatus.Abandoned }, REPO, pr.pullRequestId, PROJECT);
      assert.equal(abandoned.status, PullRequestStatus.Abandoned);
      assert.ok(abandoned.closedDate instanceof Date);
      // Ids come from one counter per organization.
      const next = await git.createPullRequest({ sourceRefName: source, targetRefName: target, title: 'Retry' }, REPO, PROJECT);
      assert.equal(next.pullRequestId, pr.pullRequestId + 1);
    });
  });

  describe('branch policy', () => {
    it('requirePullRequest: git push is refused with TF402455 by a real pre-receive hook; refs API says rejectedByPolicy', async () => {
      const repo = repositoryIn(emu.world, FABRIKAM.name, PROJECT, FABRIKAM.unicode.name);
      repo.policies = [{ branch: 'refs/heads/main', kind: 'requirePullRequest' }];
      const dir = path.join(scratch, 'policy');
      const url = emu.devops.cloneUrl(FABRIKAM.name, PROJECT, FABRIKAM.unicode.name);
      assert.equal((await gitIn([...bearer(UAMI_BUILD.key), 'clone', '--quiet', url, dir])).code, 0);
      await gitIn(['-C', dir, 'commit', '--quiet', '--allow-empty', '-m', 'Direct']);
      const denied = await gitIn(['-C', dir, ...bearer(UAMI_BUILD.key), 'push', 'origin', 'HEAD:main']);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, new RegExp(`remote: ${TF402455.replace(/[.;]/g, '\\$&')}`));
      assert.match(denied.stderr, / ! \[remote rejected\] HEAD -> main \(pre-receive hook declined\)/);
      assert.equal((await gitIn(['-C', dir, ...bearer(UAMI_BUILD.key), 'push', '--quiet', 'origin', 'HEAD:refs/heads/topic'])).code, 0);

      const head = (await refsOf(repo.bareDir)).find((r) => r.name === 'refs/heads/main');
      const topic = (await refsOf(repo.bareDir)).find((r) => r.name === 'refs/heads/topic');
      const [result] = await git.updateRefs([{ name: 'refs/heads/main', oldObjectId: head?.objectId, newObjectId: topic?.objectId }], FABRIKAM.unicode.id, PROJECT);
      assert.deepEqual([result.success, result.updateStatus, result.customMessage], [false, GitRefUpdateStatus.RejectedByPolicy, TF402455]);

      repo.policies = [];
      assert.equal((await gitIn(['-C', dir, ...bearer(UAMI_BUILD.key), 'push', '--quiet', 'origin', 'HEAD:main'])).code, 0);
    });
  });

  describe('projects paging, bulk organizations and repository records', () => {
    it('builds 50 × 20 REST-only repositories, none on disk', () => {
      // No timed assertion: two suites share the machine under npm test (its speed is the benchmark's business).
      const org = addBulkOrganization(emu.world, { name: 'bulk', projects: 50, reposPerProject: 20 });
      const repos = org.projects.flatMap((p) => p.repos);
      assert.equal(repos.length, 1000);
      assert.ok(repos.every((r) => r.restOnly && r.bareDir === ''), 'REST-only records: no git repository was written');
    });

    it('pages projects with x-ms-continuationtoken through core.rest.get, one request per page', async () => {
      const api = new azdev.WebApi(emu.devops.orgUrl('bulk'), azdev.getBearerHandler(emu.tokenFor(UAMI_BUILD.key)));
      const bulkCore = await api.getCoreApi();
      const before = emu.devops.requestsTo('GET _apis/projects').length;
      const names: string[] = [];
      const tokens: string[] = [];
      let token: string | undefined;
      do {
        const query: Record<string, string | number> = { $top: 20, ...(token ? { continuationToken: token } : {}) };
        const version = await bulkCore.vsoClient.getVersioningData('7.2-preview.4', 'core', '603fe2ac-9723-48b9-88ad-09305aa6c6e1', {}, query);
        const res = await bulkCore.rest.get<{ count: number; value: { name: string }[] }>(version.requestUrl ?? '', bulkCore.createRequestOptions('application/json', version.apiVersion));
        names.push(...(res.result?.value ?? []).map((p) => p.name));
        token = (res.headers as Record<string, string | undefined>)['x-ms-continuationtoken'];
        if (token) tokens.push(token);
      } while (token);
      assert.deepEqual(tokens, ['20', '40']);
      assert.equal(names.length, 50);
      assert.deepEqual([names[0], names[49]], ['Project 001', 'Project 050']);
      assert.equal(emu.devops.requestsTo('GET _apis/projects').length - before, 3);

      // CoreApi.getProjects sends $top / $skip / continuationToken and returns a plain array.
      assert.deepEqual((await bulkCore.getProjects(undefined, 2, undefined, 40)).map((p) => p.name), ['Project 041', 'Project 042']);
      assert.deepEqual((await bulkCore.getProjects(undefined, 2, 48)).map((p) => p.name), ['Project 049', 'Project 050']);
      const repos = await (await api.getGitApi()).getRepositories('Project 007');
      assert.equal(repos.length, 20);
      assert.ok(repos.every((r) => (r.size ?? 0) > 0 && r.isDisabled === false && r.remoteUrl?.includes('/bulk/Project%20007/_git/')));
    });

    it('repository records: by GUID at organization level, by name in a project; a name alone is 400', async () => {
      const byId = await git.getRepository(FABRIKAM.unicode.id);
      assert.equal(byId?.name, FABRIKAM.unicode.name);
      assert.equal(byId?.project?.name, PROJECT);
      const enc = encodeURIComponent(FABRIKAM.unicode.name);
      assert.equal(byId?.webUrl, `${emu.devops.url}/fabrikam/Shared%20Tools/_git/${enc}`);
      assert.equal(byId?.sshUrl, `git@ssh.dev.azure.com:v3/fabrikam/Shared%20Tools/${enc}`);
      assert.ok((byId?.size ?? 0) > 0);
      const repo = repositoryIn(emu.world, FABRIKAM.name, PROJECT, FABRIKAM.templates.name);
      repo.isDisabled = true;
      try {
        assert.equal((await git.getRepository(FABRIKAM.templates.name, PROJECT))?.isDisabled, true);
      } finally {
        repo.isDisabled = false;
      }
      await assert.rejects(git.getRepository(FABRIKAM.templates.name), rejects(400, 'ArgumentException', /^A project name is required in order to reference a Git repository by name\.$/));
    });
  });

  describe('faults on REST routes', () => {
    afterEach(() => (emu.devops.faults.length = 0));

    it('throttles a route matched by method and route with 429 + Retry-After, then answers normally', async () => {
      emu.devops.faults.push(throttlingFault({ method: 'GET', route: 'GET {project}/_apis/git/repositories/{repositoryId}/refs/{*filter}', retryAfterSeconds: 7 }));
      await assert.rejects(git.getRefs(REPO, PROJECT, 'heads/'), (err: HttpError) => {
        assert.equal(err.statusCode, 429);
        assert.deepEqual([err.rateLimit?.retryAfter, err.rateLimit?.resource], [7, 'Core']);
        return /TF400733/.test(err.message);
      });
      assert.ok((await git.getRefs(REPO, PROJECT, 'heads/')).length > 0);
    });

    it('500 / 503 by path; a delayed answer carries X-RateLimit-Delay', async () => {
      emu.devops.faults.push(serverErrorFault({ status: 503, path: /\/items$/, retryAfterSeconds: 1 }), serverErrorFault({ method: 'GET', path: /\/refs$/ }));
      const unavailable = (await git.getItemContent(REPO, 'README.md', PROJECT)) as IncomingMessage;
      assert.deepEqual([unavailable.statusCode, unavailable.headers['retry-after']], [503, '1']);
      await readAll(unavailable);
      await assert.rejects(git.getRefs(REPO, PROJECT), rejects(500, undefined, /^TF400898: An Internal Error Occurred\./));

      emu.devops.faults.push(throttlingFault({ delayed: true, retryAfterSeconds: 0.2, path: `/fabrikam/${PROJECT}/_apis/git/repositories/${REPO}/commits/${mainTip}` }));
      const started = Date.now();
      const res = await raw(`${encodeURIComponent(PROJECT)}/_apis/git/repositories/${REPO}/commits/${mainTip}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ratelimit-delay'), '0.200');
      assert.ok(Date.now() - started >= 190);
    });
  });
});
