/**
 * ManagedIdentityRepository@1 `push`, `tag` and `pullRequest`, packaged, through the agent-like runner,
 * against the Azure DevOps emulator. The job runs in contoso; the repository written to is in fabrikam.
 * Local repositories are made by the test with plain git (the identity's token in an extraheader env,
 * never on disk), inside the agent root the job then uses.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobResult } from '../agent/runner';
import {
  AGENT_VM,
  AZURE_DEVOPS_RESOURCE,
  FABRIKAM,
  LOOPBACK_NO_PROXY,
  matchRequest,
  UAMI_READER,
  decodeClaims,
  isolatedGitEnv,
  pullRequests,
  refsOf,
  refValue,
  repositoryIn,
  serverErrorFault,
  type Repository,
} from '../emulators';
import { argvRecorder, filesContaining, harness, leakForms, leakedLines, run, taskDir, type Harness } from './support';

const PROJECT = FABRIKAM.project.name;
const REPO = FABRIKAM.templates.name;
const TEMPLATES = `fabrikam/${PROJECT}/${REPO}`;

describe('ManagedIdentityRepository@1 push, tag and pullRequest (packaged, through the agent-like runner)', function () {
  this.timeout(120_000);
  let h: Harness;
  let task: string;
  let suite: string;
  let templates: Repository;

  before(async () => {
    [h, task] = await Promise.all([harness(), taskDir('ManagedIdentityRepository')]);
    suite = mkdtempSync(join(tmpdir(), 'mi-repo-write-'));
    templates = repositoryIn(h.emu.world, 'fabrikam', PROJECT, REPO);
  });
  after(async () => {
    await h?.stop();
    if (suite) rmSync(suite, { recursive: true, force: true });
  });

  /** git as a developer's machine would run it: no global config, the identity's token as an extraheader in the environment. */
  function gitEnv(identityKey: string = AGENT_VM.key): Record<string, string> {
    return isolatedGitEnv({
      ...LOOPBACK_NO_PROXY,
      HOME: suite,
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraheader',
      GIT_CONFIG_VALUE_0: `AUTHORIZATION: bearer ${h.emu.tokenFor(identityKey)}`,
      GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid',
    });
  }

  async function git(cwd: string, args: string[], env = gitEnv()): Promise<string> {
    const r = await run('git', args, env, cwd);
    assert.equal(r.status, 0, `git ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  const cloneUrl = (): string => h.emu.devops.cloneUrl('fabrikam', PROJECT, REPO);

  /** A new agent root whose sources folder holds `name`: a clone of fabrikam's templates made with plain git + fetch. */
  async function agentWithClone(name: string): Promise<{ agentRoot: string; dir: string }> {
    const agentRoot = mkdtempSync(join(suite, 'agent-'));
    const dir = join(agentRoot, '_work', '1', 's', name);
    mkdirSync(dir, { recursive: true });
    await git(dir, ['init', '--quiet', '--initial-branch=main']);
    await git(dir, ['remote', 'add', 'origin', cloneUrl()]);
    await git(dir, ['fetch', '--quiet', 'origin']);
    await git(dir, ['checkout', '--quiet', '-B', 'main', 'origin/main']);
    return { agentRoot, dir };
  }

  /** Commits a file change in `dir`; returns the new commit. */
  async function commit(dir: string, file: string, content: string, message: string): Promise<string> {
    writeFileSync(join(dir, file), content);
    await git(dir, ['add', '--', file]);
    await git(dir, ['commit', '--quiet', '-m', message]);
    return git(dir, ['rev-parse', 'HEAD']);
  }

  const remote = (name: string): Promise<string | undefined> => refValue(templates.bareDir, name);
  const remoteRefs = async (prefix: string): Promise<string[]> => (await refsOf(templates.bareDir)).map((r) => r.name).filter((n) => n.startsWith(prefix));
  const output = (result: JobResult, name: string): string | undefined => result.variables.get(name)?.value;
  const errors = (result: JobResult): string => result.steps.flatMap((s) => s.errors).join('\n');

  /** The token the task minted for itself: the Azure DevOps JWT among the values it registered as secrets. */
  function taskToken(result: JobResult, objectId: string = AGENT_VM.objectId): string {
    const token = result.secrets.find((s) => {
      if (!/^ey[\w-]+\.[\w-]+\.[\w-]*$/.test(s)) return false;
      const claims = decodeClaims(s);
      return claims['aud'] === AZURE_DEVOPS_RESOURCE && claims['oid'] === objectId;
    });
    assert.ok(token, 'the task registered its token as a secret');
    return token;
  }

  /**
   * No form of the task's token in any step's output, in any git argv, or in any file of the agent root
   * (home and sources included). `gitless`: the commands ran no git at all (tag and pullRequest work through REST).
   */
  function assertNoLeaks(result: JobResult, recorder: ReturnType<typeof argvRecorder>, o: { objectId?: string; gitless?: boolean } = {}): void {
    const token = taskToken(result, o.objectId);
    for (const step of result.steps) assert.deepEqual(leakedLines(step.raw, token), [], `no leak in the output of ${step.displayName}`);
    assert.ok(!result.log.includes(token));
    const calls = recorder.calls();
    if (o.gitless) assert.deepEqual(calls, [], 'no git command ran: no clone');
    else assert.ok(calls.length > 0, 'git calls were recorded');
    assert.deepEqual(calls.filter((argv) => leakForms(token).some((f) => argv.join('\0').includes(f))), [], 'no token in any git argv');
    assert.deepEqual(filesContaining([result.dirs.agentRoot, result.dirs.home], leakForms(token)), [], 'no token in any file');
  }

  function recordingEnv(recorder: ReturnType<typeof argvRecorder>): Record<string, string> {
    return { PATH: `${recorder.binDir}:${process.env['PATH']}`, MI_ARGV_LOG: recorder.log };
  }

  it('bumps a version across organizations: commit, push with tags (twice: the second is a no-op), then a pull request with auto-complete (twice: same id, updated)', async () => {
    const { agentRoot, dir } = await agentWithClone('templates');
    const recorder = argvRecorder();
    const push = { command: 'push', sourceDirectory: 's/templates', targetBranch: 'bump/2.0.0', tags: 'true' };
    const pr = { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'bump/2.0.0', autoComplete: 'true', mergeStrategy: 'squash' };
    const result = await h.run([
      {
        script: [
          'set -e',
          'cd "$BUILD_SOURCESDIRECTORY/templates"',
          'echo 2.0.0 > VERSION',
          'git add VERSION',
          'git -c user.name=Build -c user.email=build@example.invalid commit --quiet -m "Bump version to 2.0.0"',
          'git -c user.name=Build -c user.email=build@example.invalid tag -a v2.0.0 -m "Release 2.0.0"',
          'git tag v2.0.0-light',
        ].join('\n'),
        displayName: 'bump',
      },
      { task, name: 'push', inputs: push },
      { task, name: 'pushAgain', inputs: push },
      { task, name: 'pr', inputs: { ...pr, title: 'Bump to 2.0.0', description: 'First run' } },
      { task, name: 'prAgain', inputs: { ...pr, title: 'Release 2.0.0', description: 'Second run' } },
    ], { agentRoot, env: recordingEnv(recorder) });
    assert.equal(result.result, 'Succeeded', result.log);

    const local = await git(dir, ['rev-parse', 'HEAD']);
    assert.equal(output(result, 'push.commit'), local, 'output: the pushed commit');
    assert.equal(output(result, 'pushAgain.commit'), local);
    assert.match(result.steps[2]!.log.join('\n'), /already at .*nothing to push/i, 'the second push is a no-op');

    // Clone it back: the branch and both tags arrived.
    const back = join(suite, 'back-bump');
    await git(suite, ['clone', '--quiet', '--branch', 'bump/2.0.0', cloneUrl(), back]);
    assert.equal(await git(back, ['rev-parse', 'HEAD']), local);
    assert.equal(await git(back, ['show', 'HEAD:VERSION']), '2.0.0');
    assert.equal(await git(back, ['rev-parse', 'v2.0.0^{commit}']), local);
    assert.equal(await git(back, ['cat-file', '-t', 'v2.0.0']), 'tag', 'the annotated tag stays annotated');
    assert.equal(await git(back, ['rev-parse', 'v2.0.0-light']), local);

    const id = output(result, 'pr.pullRequestId');
    assert.match(id ?? '', /^\d+$/);
    assert.equal(output(result, 'prAgain.pullRequestId'), id, 'the second run returns the same pull request');
    assert.equal(output(result, 'pr.pullRequestUrl'), `${h.emu.devops.orgUrl('fabrikam')}/${encodeURIComponent(PROJECT)}/_git/${REPO}/pullrequest/${id}`);
    const prs = pullRequests(h.emu.world, 'fabrikam', PROJECT, REPO).filter((p) => p.sourceRefName === 'refs/heads/bump/2.0.0');
    assert.equal(prs.length, 1, 'exactly one pull request');
    const [record] = prs;
    assert.equal(record!.pullRequestId, Number(id));
    assert.equal(record!.targetRefName, 'refs/heads/main', 'the default branch is the target');
    assert.equal(record!.title, 'Release 2.0.0');
    assert.equal(record!.description, 'Second run');
    assert.equal(record!.autoCompleteSetBy, AGENT_VM.key);
    assert.deepEqual(record!.completionOptions, { mergeStrategy: 'squash', deleteSourceBranch: true });
    assert.match(result.steps[4]!.log.join('\n'), new RegExp(`Pull request ${id} is already active for bump/2.0.0 -> main; updating its title and description`));

    assertNoLeaks(result, recorder);
    assert.deepEqual(filesContaining([dir], leakForms(taskToken(result))), [], 'no token in the source repository');
  });

  it('refuses a non-fast-forward push without force (the branch is unchanged) and lands it with force, through --force-with-lease', async () => {
    // Someone else pushed to ci/diverged; our clone has a different commit on top of main.
    const other = await agentWithClone('other');
    const theirs = await commit(other.dir, 'THEIRS', 'theirs\n', 'Their change');
    await git(other.dir, ['push', '--quiet', 'origin', 'HEAD:refs/heads/ci/diverged']);
    const { agentRoot, dir } = await agentWithClone('templates');
    const ours = await commit(dir, 'OURS', 'ours\n', 'Our change');
    const inputs = { command: 'push', repository: TEMPLATES, sourceDirectory: 's/templates', targetBranch: 'ci/diverged' };

    const recorder = argvRecorder();
    const refused = await h.run([{ task, inputs }], { agentRoot, env: recordingEnv(recorder) });
    assert.equal(refused.result, 'Failed');
    assert.equal(refused.steps[0]!.errors.length, 1, errors(refused));
    assert.match(errors(refused), /is not a fast-forward: the branch is at [0-9a-f]{40}, which is not in the history of [0-9a-f]{40}\. Nothing was pushed\./);
    assert.match(refused.log, /set force: true/);
    assert.equal(await remote('refs/heads/ci/diverged'), theirs, 'the branch is unchanged');
    assert.ok(!recorder.calls().some((argv) => argv.includes('push')), 'git push was never attempted');
    assertNoLeaks(refused, recorder);

    const forced = await h.run([{ task, name: 'push', inputs: { ...inputs, force: 'true' } }], { agentRoot, env: recordingEnv(recorder) });
    assert.equal(forced.result, 'Succeeded', forced.log);
    assert.equal(await remote('refs/heads/ci/diverged'), ours);
    assert.equal(output(forced, 'push.commit'), ours);
    assert.ok(recorder.calls().some((argv) => argv.includes(`--force-with-lease=refs/heads/ci/diverged:${theirs}`)), 'the lease names the tip read before');
    assertNoLeaks(forced, recorder);
  });

  it('pushes from a shallow checkout (fetchDepth: 1): Azure DevOps decides what the local history cannot show, and every message says only what was checked', async () => {
    // shallow/behind is an ancestor of main the clone never fetched; shallow/diverged a sibling commit of main.
    const main = await git(templates.bareDir, ['rev-parse', 'refs/heads/main']);
    const behind = await git(templates.bareDir, ['rev-parse', 'main~1']);
    const diverged = await git(templates.bareDir, ['commit-tree', '-p', behind, '-m', 'Their change', 'main~1^{tree}']);
    await git(templates.bareDir, ['update-ref', 'refs/heads/shallow/behind', behind]);
    await git(templates.bareDir, ['update-ref', 'refs/heads/shallow/diverged', diverged]);
    const push = (targetBranch: string, extra: Record<string, string> = {}): { task: string; name: string; inputs: Record<string, string> } =>
      ({ task, name: 'push', inputs: { command: 'push', sourceDirectory: 's/shallow', targetBranch, ...extra } });
    const mergeBaseRequests = (): number => h.emu.devops.requests.filter((r) => r.route?.endsWith('commits/{commitId}/mergebases')).length;

    const recorder = argvRecorder();
    const start = mergeBaseRequests();
    const landed = await h.run([
      { task, inputs: { command: 'checkout', repository: TEMPLATES, path: 's/shallow', fetchDepth: '1' } },
      { script: 'cd "$PIPELINE_WORKSPACE/s/shallow" && test "$(git rev-parse --is-shallow-repository)" = true && echo shallow > SHALLOW && git add SHALLOW && git -c user.name=P -c user.email=p@example.invalid commit --quiet -m "Shallow change"' },
      push('shallow/behind'),
    ], { env: recordingEnv(recorder) });
    assert.equal(landed.result, 'Succeeded', landed.log);
    const ours = output(landed, 'push.commit')!;
    assert.equal(await remote('refs/heads/shallow/behind'), ours, 'the fast-forward landed');
    assert.equal(await git(templates.bareDir, ['rev-parse', `${ours}~1`]), main);
    assert.match(landed.log, new RegExp(`This clone is shallow: the history of ${ours} ends at ${main}, before it can show whether ${behind} \\(the tip of 'shallow/behind' of '${TEMPLATES}'\\) is in it\\. Asking Azure DevOps\\.`));
    assert.match(landed.log, new RegExp(`Azure DevOps confirms ${behind} is in the history of ${main}, and so of ${ours}: this push is a fast-forward\\.`));
    assert.match(landed.log, new RegExp(`Pushed ${ours} to 'shallow/behind' of '${TEMPLATES}' \\(was ${behind}\\)\\.`));
    assert.doesNotMatch(landed.log, /forced update|overwrit/);
    assert.equal(mergeBaseRequests() - start, 1, 'one merge-base question');
    assert.ok(recorder.calls().some((argv) => argv.includes(`--force-with-lease=refs/heads/shallow/behind:${behind}`)), 'the push is leased on the tip Azure DevOps checked');
    assertNoLeaks(landed, recorder);

    const agentRoot = landed.dirs.agentRoot;
    const refused = await h.run([push('shallow/diverged')], { agentRoot });
    assert.equal(refused.result, 'Failed');
    assert.deepEqual(refused.steps[0]!.errors, [
      `Pushing ${ours} to 'shallow/diverged' of '${TEMPLATES}' is not a fast-forward: the branch is at ${diverged}, which is not in the history of ${ours} (Azure DevOps checked the history this shallow clone lacks). Nothing was pushed.`,
    ]);
    assert.equal(await remote('refs/heads/shallow/diverged'), diverged, 'the branch is unchanged');

    // Another repository lacks the commit this clone's history ends at: nobody can tell, so nothing is pushed.
    const elsewhere = await h.run([push('main', { repository: `fabrikam/${PROJECT}/Ünïcode Repo` })], { agentRoot });
    assert.equal(elsewhere.result, 'Failed');
    assert.deepEqual(elsewhere.steps[0]!.errors, [
      `Cannot tell whether pushing ${ours} to 'main' of 'fabrikam/${PROJECT}/Ünïcode Repo' is a fast-forward: this clone is shallow (its history ends at ${main}), and Azure DevOps does not have that commit in 'fabrikam/${PROJECT}/Ünïcode Repo'. Nothing was pushed.`,
    ]);
    assert.match(elsewhere.log, /fetchDepth: 0, or git fetch --unshallow/);

    const forced = await h.run([push('shallow/diverged', { force: 'true' })], { agentRoot });
    assert.equal(forced.result, 'Succeeded', forced.log);
    assert.equal(await remote('refs/heads/shallow/diverged'), ours);
    assert.match(forced.log, new RegExp(`Pushed ${ours} to 'shallow/diverged' of '${TEMPLATES}' \\(was ${diverged}; force: true, and whether that overwrote commits was not checked: this clone is shallow\\)\\.`));
  });

  it('takes the repository from an origin remote carrying credentials without using or showing them, and refuses an origin elsewhere or no repository', async () => {
    const { agentRoot, dir } = await agentWithClone('templates');
    const ours = await commit(dir, 'ORIGIN', 'origin\n', 'Origin change');
    const password = 'hunter2-not-the-token';
    await git(dir, ['remote', 'set-url', 'origin', cloneUrl().replace('//fabrikam@', `//someone:${password}@`)]);
    const inputs = { command: 'push', sourceDirectory: 's/templates', targetBranch: 'origin/credentials' };
    const pushed = await h.run([{ task, name: 'push', inputs }], { agentRoot });
    assert.equal(pushed.result, 'Succeeded', pushed.log);
    assert.equal(await remote('refs/heads/origin/credentials'), ours);
    assert.ok(!pushed.steps[0]!.raw.includes(password), 'the password in the origin URL is never shown');

    await git(dir, ['remote', 'set-url', 'origin', `https://someone:${password}@github.com/contoso/app.git`]);
    const elsewhere = await h.run([{ task, inputs }], { agentRoot });
    assert.equal(elsewhere.result, 'Failed');
    assert.equal(elsewhere.steps[0]!.errors.length, 1, errors(elsewhere));
    assert.match(errors(elsewhere), /The 'origin' remote of .*templates is not an Azure DevOps repository \(https:\/\/github\.com\/contoso\/app\.git\)\./);
    assert.match(elsewhere.log, /Give repository/);
    assert.ok(!elsewhere.steps[0]!.raw.includes(password));

    mkdirSync(join(agentRoot, '_work', '1', 's', 'plain'));
    const plain = await h.run([{ task, inputs: { ...inputs, sourceDirectory: 's/plain' } }], { agentRoot });
    assert.equal(plain.result, 'Failed');
    assert.equal(plain.steps[0]!.errors.length, 1, errors(plain));
    assert.match(errors(plain), /plain is not a git repository\./);
  });

  it('creates lightweight and annotated tags on a branch, a tag or a commit, idempotently, and refuses a tag that exists on another commit', async () => {
    const main = (await remote('refs/heads/main'))!;
    const release = (await remote('refs/heads/release/1.0'))!;
    const recorder = argvRecorder();
    const tag = (name: string, inputs: Record<string, string>) => ({ task, name, inputs: { command: 'tag', repository: TEMPLATES, ...inputs } });
    const result = await h.run([
      tag('light', { tagName: 'build-42' }),
      tag('lightAgain', { tagName: 'build-42', ref: 'main' }),
      tag('annotated', { tagName: 'v2.1.0', ref: 'release/1.0', message: 'Release 2.1.0\n\nNotes.' }),
      tag('annotatedAgain', { tagName: 'v2.1.0', ref: 'refs/heads/release/1.0', message: 'Release 2.1.0\n\nNotes.' }),
      tag('onTag', { tagName: 'v1.0.0-lts', ref: 'v1.0.0' }),
      tag('onCommit', { tagName: 'first', ref: main }),
    ], { env: recordingEnv(recorder) });
    assert.equal(result.result, 'Succeeded', result.log);

    assert.deepEqual(await remoteRefs('refs/tags/build-42'), ['refs/tags/build-42'], 'exactly one ref');
    assert.equal(await remote('refs/tags/build-42'), main, 'a lightweight tag on the default branch');
    for (const step of ['light', 'lightAgain']) {
      assert.equal(output(result, `${step}.commit`), main);
      assert.equal(output(result, `${step}.tagObjectId`), main);
    }
    assert.match(result.steps[1]!.log.join('\n'), /already exists on .*nothing to do/);

    const tagObject = (await remote('refs/tags/v2.1.0'))!;
    assert.notEqual(tagObject, release, 'an annotated tag is a tag object');
    assert.equal(await git(templates.bareDir, ['cat-file', '-t', tagObject]), 'tag');
    assert.match(await git(templates.bareDir, ['cat-file', 'tag', tagObject]), new RegExp(`^object ${release}\\n[^]*\\n\\nRelease 2\\.1\\.0\\n\\nNotes\\.`));
    for (const step of ['annotated', 'annotatedAgain']) {
      assert.equal(output(result, `${step}.tagObjectId`), tagObject);
      assert.equal(output(result, `${step}.commit`), release);
    }
    assert.equal(output(result, 'onTag.commit'), release, 'a tag names the commit it points at');
    assert.equal(await remote('refs/tags/v1.0.0-lts'), release);
    assert.equal(await remote('refs/tags/first'), main);
    assertNoLeaks(result, recorder, { gitless: true });

    const clash = await h.run([tag('clash', { tagName: 'build-42', ref: 'release/1.0' })]);
    assert.equal(clash.result, 'Failed');
    assert.equal(clash.steps[0]!.errors.length, 1, errors(clash));
    assert.match(errors(clash), new RegExp(`Tag 'build-42' already exists in '${REPO}' on commit ${main}, not on ${release}`));
    assert.equal(await remote('refs/tags/build-42'), main, 'the tag did not move');
  });

  const route = (method: string, tail: string): string => `${method} {project}/_apis/git/repositories/{repositoryId}/${tail}`;

  /** Pushes a new commit on top of main to `branch` of templates, as someone else would. */
  async function remoteBranch(branch: string): Promise<string> {
    const other = await agentWithClone('elsewhere');
    const sha = await commit(other.dir, 'CHANGE', `${branch}\n`, `Change for ${branch}`);
    await git(other.dir, ['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`]);
    return sha;
  }

  it('retries a read after a server error, but sends a creating request only once: a clear failure and nothing created', async () => {
    await remoteBranch('retry/source');
    h.emu.devops.faults.push(serverErrorFault({ status: 503, route: route('GET', 'refs/{*filter}') }));
    const read = await h.run([{ task, inputs: { command: 'tag', repository: TEMPLATES, tagName: 'retry-read' } }]);
    assert.equal(read.result, 'Succeeded', read.log);
    assert.ok(h.emu.devops.requestsTo(route('GET', 'refs/{*filter}')).some((r) => r.status === 503), 'the fault was served');
    assert.ok(await remote('refs/tags/retry-read'));

    const receivePacks = (): number => h.emu.devops.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/git-receive-pack')).length;
    const sourcePrs = (): number => pullRequests(h.emu.world, 'fabrikam', PROJECT, REPO).filter((p) => p.sourceRefName === 'refs/heads/retry/source').length;
    const sent = (tail: string) => (): number => h.emu.devops.requestsTo(route('POST', tail)).length;
    const creates: Array<[string, string, Record<string, string>, () => Promise<boolean>]> = [
      ['lightweight tag', 'refs', { command: 'tag', repository: TEMPLATES, tagName: 'retry-light' }, async () => !(await remote('refs/tags/retry-light'))],
      ['annotated tag', 'annotatedtags', { command: 'tag', repository: TEMPLATES, tagName: 'retry-annotated', message: 'Retry' }, async () => !(await remote('refs/tags/retry-annotated'))],
      ['pull request', 'pullrequests', { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'retry/source' }, async () => sourcePrs() === 0],
    ];
    for (const [what, tail, inputs, nothing] of creates) {
      const count = sent(tail);
      const before = count();
      h.emu.devops.faults.push(serverErrorFault({ status: 503, route: route('POST', tail) }));
      const result = await h.run([{ task, inputs }]);
      assert.equal(result.result, 'Failed', `${what}: ${result.log}`);
      assert.equal(result.steps[0]!.errors.length, 1, errors(result));
      assert.match(errors(result), /HTTP 503/);
      assert.equal(count() - before, 1, `${what}: the creating request was sent once`);
      assert.ok(await nothing(), `${what}: nothing was created`);
    }

    const { agentRoot, dir } = await agentWithClone('templates');
    await commit(dir, 'RETRY', 'retry\n', 'Retry push');
    const before = receivePacks();
    h.emu.devops.faults.push(serverErrorFault({ status: 503, method: 'POST', path: /\/git-receive-pack$/ }));
    const pushed = await h.run([{ task, inputs: { command: 'push', sourceDirectory: 's/templates', targetBranch: 'retry/push' } }], { agentRoot });
    assert.equal(pushed.result, 'Failed');
    assert.equal(pushed.steps[0]!.errors.length, 1, errors(pushed));
    assert.equal(receivePacks() - before, 1, 'git push was sent once');
    assert.equal(await remote('refs/heads/retry/push'), undefined);
  });

  it('returns what another run created meanwhile: a pull request (409 TF401179) and a tag (staleOldObjectId) count as found, not duplicated', async () => {
    await remoteBranch('race/source');
    const inputs = { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'race/source', title: 'Race' };
    const first = await h.run([{ task, name: 'pr', inputs }, { task, name: 'tag', inputs: { command: 'tag', repository: TEMPLATES, tagName: 'race-tag' } }]);
    assert.equal(first.result, 'Succeeded', first.log);
    const id = output(first, 'pr.pullRequestId');
    // The searches miss them once, as if the other run had not finished yet when this one looked.
    const nothingFound = { status: 200, body: { count: 0, value: [] }, times: 1 };
    h.emu.devops.faults.push({ match: matchRequest({ route: route('GET', 'pullrequests') }), ...nothingFound });
    h.emu.devops.faults.push({ match: matchRequest({ method: 'GET', path: /\/refs\/tags\/race-tag$/ }), ...nothingFound });
    const posts = h.emu.devops.requestsTo(route('POST', 'pullrequests')).length;
    const second = await h.run([{ task, name: 'pr', inputs }, { task, name: 'tag', inputs: { command: 'tag', repository: TEMPLATES, tagName: 'race-tag' } }]);
    assert.equal(second.result, 'Succeeded', second.log);
    assert.equal(h.emu.devops.requestsTo(route('POST', 'pullrequests')).at(-1)?.status, 409, 'the create met TF401179');
    assert.equal(h.emu.devops.requestsTo(route('POST', 'pullrequests')).length - posts, 1);
    assert.equal(output(second, 'pr.pullRequestId'), id);
    assert.equal(pullRequests(h.emu.world, 'fabrikam', PROJECT, REPO).filter((p) => p.sourceRefName === 'refs/heads/race/source').length, 1);
    assert.equal(output(second, 'tag.tagObjectId'), output(first, 'tag.tagObjectId'));
    assert.deepEqual(await remoteRefs('refs/tags/race-tag'), ['refs/tags/race-tag']);
  });

  describe('with an identity that may only read (uami-reader in fabrikam)', () => {
    const reader = { clientId: UAMI_READER.clientId };

    it('push fails with TF401027 and changes nothing', async () => {
      const { agentRoot } = await agentWithClone('templates').then(async (c) => {
        await commit(c.dir, 'READER', 'x\n', 'Reader change');
        return c;
      });
      const recorder = argvRecorder();
      const result = await h.run([{ task, inputs: { command: 'push', sourceDirectory: 's/templates', targetBranch: 'reader/push', ...reader } }],
        { agentRoot, env: recordingEnv(recorder) });
      assert.equal(result.result, 'Failed');
      assert.equal(result.steps[0]!.errors.length, 1, errors(result));
      assert.match(errors(result), /TF401027: You need the Git 'GenericContribute' permission/);
      assert.match(result.log, /Contribute/);
      assert.equal(await remote('refs/heads/reader/push'), undefined, 'no branch was created');
      assertNoLeaks(result, recorder, { objectId: UAMI_READER.objectId });
    });

    for (const [kind, extra] of [['lightweight', {}], ['annotated', { message: 'Not allowed' }]] as const) {
      it(`${kind === 'annotated' ? 'an' : 'a'} ${kind} tag fails with TF401027 and creates no ref`, async () => {
        const recorder = argvRecorder();
        const result = await h.run([{ task, inputs: { command: 'tag', repository: TEMPLATES, tagName: `reader-${kind}`, ...extra, ...reader } }],
          { env: recordingEnv(recorder) });
        assert.equal(result.result, 'Failed');
        assert.equal(result.steps[0]!.errors.length, 1, errors(result));
        assert.match(errors(result), /TF401027: You need the Git 'CreateTag' permission/);
        assert.deepEqual(await remoteRefs(`refs/tags/reader-${kind}`), []);
        assertNoLeaks(result, recorder, { objectId: UAMI_READER.objectId, gitless: true });
      });
    }

    it('pullRequest fails with TF401027 and opens nothing', async () => {
      const other = await agentWithClone('reader-source');
      await commit(other.dir, 'READER', 'x\n', 'Reader source');
      await git(other.dir, ['push', '--quiet', 'origin', 'HEAD:refs/heads/reader/source']);
      const recorder = argvRecorder();
      const result = await h.run([{ task, inputs: { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'reader/source', title: 'x', autoComplete: 'true', ...reader } }],
        { env: recordingEnv(recorder) });
      assert.equal(result.result, 'Failed');
      assert.equal(result.steps[0]!.errors.length, 1, errors(result));
      assert.match(errors(result), /TF401027: You need the Git 'PullRequestContribute' permission/);
      assert.deepEqual(pullRequests(h.emu.world, 'fabrikam', PROJECT, REPO).filter((p) => p.sourceRefName === 'refs/heads/reader/source'), []);
      assertNoLeaks(result, recorder, { objectId: UAMI_READER.objectId, gitless: true });
    });
  });

  it('reports a branch policy (TF402455) with the server’s text, and the branch is unchanged', async () => {
    const { agentRoot, dir } = await agentWithClone('templates');
    await commit(dir, 'DIRECT', 'direct\n', 'Direct change');
    const before = await remote('refs/heads/main');
    templates.policies = [{ branch: 'refs/heads/main', kind: 'requirePullRequest' }];
    try {
      const result = await h.run([{ task, inputs: { command: 'push', sourceDirectory: 's/templates', targetBranch: 'main' } }], { agentRoot });
      assert.equal(result.result, 'Failed');
      assert.equal(result.steps[0]!.errors.length, 1, errors(result));
      assert.match(errors(result), /TF402455: Pushes to this branch are not permitted; you must use a pull request to update this branch\./);
      assert.match(result.log, /pullRequest/);
      assert.equal(await remote('refs/heads/main'), before);
    } finally {
      templates.policies = [];
    }
  });

  it('opens a pull request whose source branch is missing with a clear error', async () => {
    const result = await h.run([{ task, inputs: { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'no/such-branch' } }]);
    assert.equal(result.result, 'Failed');
    assert.equal(result.steps[0]!.errors.length, 1, errors(result));
    assert.match(errors(result), /no\/such-branch/);
    assert.deepEqual(pullRequests(h.emu.world, 'fabrikam', PROJECT, REPO).filter((p) => p.sourceRefName === 'refs/heads/no/such-branch'), []);
  });

  const badInputs: Array<[string, Record<string, string>, RegExp]> = [
    ['push without targetBranch', { command: 'push' }, /Input 'targetBranch' is required for command 'push'/],
    ['push with a sourceRef that looks like an option', { command: 'push', targetBranch: 'x', sourceRef: '--force' }, /Input 'sourceRef' must be HEAD, a local branch.*got '--force'/],
    ['push with a sourceDirectory outside the workspace', { command: 'push', targetBranch: 'x', sourceDirectory: '/etc' }, /Input 'sourceDirectory' must be a path inside the pipeline workspace.*got '\/etc'/],
    ['push to a ref that is not a branch', { command: 'push', targetBranch: 'refs/tags/v1' }, /Input 'targetBranch' must be a branch name such as main or refs\/heads\/main \(got 'refs\/tags\/v1'\)/],
    ['tag with a tag name git refuses', { command: 'tag', repository: TEMPLATES, tagName: 'v1..2' }, /Input 'tagName' must be a tag name such as v1\.2\.3.*got 'v1\.\.2'/],
    ['pullRequest with an unknown merge strategy', { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'x', mergeStrategy: 'octopus' }, /Input 'mergeStrategy' must be one of noFastForward, squash, rebase, rebaseMerge.*got 'octopus'/],
    ['pullRequest with a merge strategy that is an object property', { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'x', mergeStrategy: 'toString' }, /Input 'mergeStrategy' must be one of/],
    ['pullRequest with a description over 4000 characters', { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'x', description: 'd'.repeat(4001) }, /Input 'description' must be at most 4000 characters \(it has 4001\)/],
    ['pullRequest with a commit SHA as sourceBranch', { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'a'.repeat(40) }, /Input 'sourceBranch' must be a branch name/],
  ];
  for (const [what, inputs, message] of badInputs) {
    it(`refuses ${what} with one clear error, before any request`, async () => {
      const before = h.emu.identity.requests.length;
      const result = await h.run([{ task, inputs }]);
      assert.equal(result.result, 'Failed');
      assert.equal(result.steps[0]!.errors.length, 1, errors(result));
      assert.match(errors(result), message);
      assert.equal(h.emu.identity.requests.length, before, 'no token was requested');
    });
  }
});
