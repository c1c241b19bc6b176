/**
 * Faults the emulators inject: identity endpoints that fail, reset or dawdle; Azure DevOps throttling
 * (429 with Retry-After and X-RateLimit-*), 500/503 on idempotent calls, a connection dropped mid-clone,
 * a sign-in page, a token that expires mid-job. Idempotent calls are retried within a budget;
 * non-idempotent ones (tag and ref creation, pull request creation, git push) are sent exactly once.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { JobResult, Step } from '../agent/runner';
import { FABRIKAM, matchRequest, serverErrorFault, throttlingFault, type DevOpsRequest, type RequestMatch } from '../emulators';
import { END_JOB_BROKER, harness, taskDir, type Harness } from './support';

const TEMPLATES = `fabrikam/${FABRIKAM.project.name}/templates`;

describe('security: faults are survived, or fail cleanly without blind retries', function () {
  this.timeout(120_000);
  let h: Harness;
  let auth: string;
  let repo: string;
  let survived = 0;
  let branch = 0;

  before(async () => {
    [h, auth, repo] = await Promise.all([harness(), taskDir('ManagedIdentityAuthenticate'), taskDir('ManagedIdentityRepository')]);
  });
  after(async () => {
    await h?.stop();
    console.log(`      faults survived: ${survived}`);
  });
  afterEach(() => {
    h.emu.devops.faults.length = 0;
    h.emu.identity.faults.length = 0;
    h.emu.tokens.lifetimeSeconds = 24 * 3600;
  });

  /** Runs a job and returns it with the Azure DevOps requests it made that match `m`. */
  async function job(steps: Step[], m: RequestMatch = {}, variables: Record<string, string> = {}): Promise<{ result: JobResult; matching: DevOpsRequest[]; identityRequests: number }> {
    const from = { devops: h.emu.devops.requests.length, identity: h.emu.identity.requests.length };
    const result = await h.run(steps, { variables, keepTempDirectory: true });
    return {
      result,
      matching: h.emu.devops.requests.slice(from.devops).filter(matchRequest(m)),
      identityRequests: h.emu.identity.requests.length - from.identity,
    };
  }

  const templatesUrl = (): string => h.emu.devops.cloneUrl('fabrikam', FABRIKAM.project.name, FABRIKAM.templates.name).replace(/\/\/[^@/]+@/, '//');

  describe('identity endpoint', () => {
    const faults: Array<[string, Array<Parameters<typeof h.emu.identity.faults.push>[0]>]> = [
      ['a 500, then a connection reset', [{ status: 500, body: { error: 'server_error', error_description: 'transient' } }, { resetConnection: true }]],
      ['a 429 with Retry-After', [{ status: 429, headers: { 'Retry-After': '1' }, body: { error: 'too_many_requests' } }]],
      ['an answer that takes 1.5 s', [{ delayMs: 1500 }]],
    ];
    for (const [what, queued] of faults) {
      it(`survives ${what}`, async () => {
        h.emu.identity.faults.push(...queued);
        const { result, identityRequests } = await job([{ task: auth, inputs: { configureGit: 'false' } }]);
        assert.equal(result.result, 'Succeeded', result.log);
        assert.equal(h.emu.identity.faults.length, 0, 'every fault was served');
        assert.ok(identityRequests >= queued.filter((f) => !f.delayMs).length + 1, `${identityRequests} identity requests`);
        survived += queued.length;
      });
    }

    it('the job\'s token broker renewing for a later step survives a 500 and a reset too', async () => {
      // The task's token request and the first git request's (which starts the job's broker) pass; the renewal's first two fail.
      h.emu.tokens.lifetimeSeconds = 4;
      let requests = 0;
      h.emu.identity.faults.push(
        { match: () => ++requests > 2, status: 500, body: { error: 'server_error' } },
        { match: () => requests > 2, resetConnection: true },
      );
      const { result, identityRequests } = await job([
        { task: auth, inputs: { organizations: 'fabrikam' } },
        { script: `git ls-remote "${templatesUrl()}" HEAD >/dev/null && sleep 3 && git clone --quiet "${templatesUrl()}" "$AGENT_TEMPDIRECTORY/t" && echo cloned` },
      ]);
      assert.equal(result.result, 'Succeeded', result.log);
      assert.match(result.log, /cloned/);
      assert.ok(identityRequests >= 5, `${identityRequests} identity requests`);
      survived += 2;
    });

    it('with the broker gone, the credential helper asks the identity endpoint itself and survives a 500 and a reset', async () => {
      let requests = 0;
      h.emu.identity.faults.push(
        { match: () => ++requests > 2, status: 500, body: { error: 'server_error' } },
        { match: () => requests > 2, resetConnection: true },
      );
      const { result, identityRequests } = await job([
        { task: auth, inputs: { organizations: 'fabrikam' } },
        // The first git request starts the job's broker; it is killed (its session file is under this agent's temp
        // directory), and the clone's helper asks the identity endpoint: the broker is started once per job.
        { script: `git ls-remote "${templatesUrl()}" HEAD >/dev/null && kill $(pgrep -f "git-broker.js $AGENT_TEMPDIRECTORY/") && sleep 0.5 && git clone --quiet "${templatesUrl()}" "$AGENT_TEMPDIRECTORY/t" && echo cloned` },
      ]);
      assert.equal(result.result, 'Succeeded', result.log);
      assert.match(result.log, /cloned/);
      assert.ok(identityRequests >= 5, `${identityRequests} identity requests`);
      assert.equal((result.log.match(/Managed identity credential helper: could not start/g) ?? []).length, 0);
      survived += 2;
    });
  });

  describe('a token of several lines', () => {
    // What an IMDS answer would be if the endpoint, or something rewriting its answers, put a line break in the token.
    const multiLine = (): { status: number; body: object; match: (r: { path: string }) => boolean; times: number } => {
      const token = h.emu.tokenFor('agent-vm');
      const at = token.indexOf('.') + 5;
      const expiresOn = Math.floor(Date.now() / 1000) + 3600;
      return {
        match: (r) => r.path.includes('/oauth2/token'), times: Infinity, status: 200,
        body: { access_token: `${token.slice(0, at)}\n${token.slice(at)}`, client_id: '', expires_in: '3600', expires_on: String(expiresOn), ext_expires_in: '3600', not_before: String(expiresOn - 3600), resource: '499b84ac-1321-427f-aa17-267ca6975798', token_type: 'Bearer' },
      };
    };
    const lines = (fault: ReturnType<typeof multiLine>): string[] => (fault.body as { access_token: string }).access_token.split('\n');

    it('is refused by the task with one clear error, before anything registers or prints it', async () => {
      const fault = multiLine();
      h.emu.identity.faults.push(fault);
      const { result } = await job([{ task: auth, inputs: { configureGit: 'false' } }]);
      assert.equal(result.result, 'Failed', result.log);
      assert.deepEqual(result.steps[0]!.errors, ['The IMDS endpoint returned an access token that spans several lines; it is refused, because the agent cannot keep a secret of several lines masked.']);
      assert.doesNotMatch(result.log, /Secrets cannot contain multiple lines/);
      for (const part of lines(fault)) {
        assert.ok(!result.steps[0]!.raw.includes(part), 'no line of the token reaches the output');
        assert.ok(!result.secrets.some((s) => s.includes(part)), 'no line of it is registered');
      }
    });

    it('is refused by the credential helper of a later step, which answers git nothing and says why', async () => {
      const fault = multiLine();
      let requests = 0;
      h.emu.identity.faults.push({ ...fault, match: (r) => fault.match(r) && ++requests > 1 });
      const { result, matching } = await job([
        { task: auth, inputs: { organizations: 'fabrikam' } },
        // The first git request of the job has no broker to ask: the helper asks the identity endpoint.
        { script: `${END_JOB_BROKER}; git clone --quiet "${templatesUrl()}" "$AGENT_TEMPDIRECTORY/t" && echo cloned` },
      ], { match: (r) => r.auth.scheme !== null && !r.auth.valid });
      assert.equal(result.steps[0]!.result, 'Succeeded', result.log);
      assert.equal(result.steps[1]!.result, 'Failed', result.log);
      assert.match(result.log, /Managed identity credential helper: The IMDS endpoint returned an access token that spans several lines; it is refused/);
      assert.doesNotMatch(result.log, /^cloned$/m);
      for (const part of lines(fault)) assert.ok(!result.steps[1]!.raw.includes(part), 'no line of the token reaches the output');
      assert.deepEqual(matching.map((r) => r.auth.reason), [], 'git never sent a broken credential');
    });
  });

  describe('Azure DevOps, idempotent calls', () => {
    it('waits out a 429 with Retry-After and X-RateLimit-* headers, then succeeds', async () => {
      h.emu.devops.faults.push(throttlingFault({ path: /\/_apis\/connectionData$/, retryAfterSeconds: 1 }));
      const started = Date.now();
      const { result, matching } = await job([{ task: auth, inputs: { configureGit: 'false' } }], { path: /\/_apis\/connectionData$/ });
      assert.equal(result.result, 'Succeeded', result.log);
      assert.equal(matching.length, 2, 'asked again once');
      assert.equal(matching[0]!.status, 429);
      const gap = matching[1]!.time - matching[0]!.time;
      assert.ok(gap >= 995 && gap < 3000 && Date.now() - started >= 1000, `honoured Retry-After: the retry came ${gap} ms later`);
      assert.match(result.log, /answered 429 .*retrying in 1 s \(attempt 2 of 5\)/);
      survived++;
    });

    it('retries 500 and 503 on reads with backoff, then succeeds', async () => {
      const repository = { method: 'GET', path: /\/_apis\/git\/repositories\/templates$/ };
      h.emu.devops.faults.push(serverErrorFault({ ...repository, status: 500 }), serverErrorFault({ ...repository, status: 503, retryAfterSeconds: 1 }));
      const { result, matching } = await job([{ task: repo, inputs: { command: 'readFile', repository: TEMPLATES, filePath: 'README.md', destination: 'a/README.md' } }], repository);
      assert.equal(result.result, 'Succeeded', result.log);
      assert.deepEqual(matching.map((r) => r.status), [500, 503, 200], 'one request per attempt: nothing retries underneath');
      const gaps = matching.slice(1).map((r, i) => r.time - matching[i]!.time);
      assert.ok(gaps[0]! >= 495 && gaps[0]! < 2500, `backoff after the 500: ${gaps[0]} ms`);
      assert.ok(gaps[1]! >= 995 && gaps[1]! < 3000, `Retry-After: 1 after the 503: ${gaps[1]} ms`);
      survived += 2;
    });

    it('gives up on a read that keeps failing, after a bounded number of attempts, with one clear error', async () => {
      const items = { method: 'GET', path: /\/items$/ };
      h.emu.devops.faults.push({ ...serverErrorFault({ ...items, status: 503, retryAfterSeconds: 0 }), times: Infinity });
      const { result, matching } = await job([{ task: repo, inputs: { command: 'readFile', repository: TEMPLATES, filePath: 'README.md' } }], items);
      assert.equal(result.result, 'Failed');
      assert.equal(result.steps[0]!.errors.length, 1);
      assert.match(result.steps[0]!.errors[0]!, /\(HTTP 503\): .* \(gave up after 5 attempts in [\d.]+ s\)$/);
      assert.equal(matching.length, 5, 'five attempts, one request each');
    });

    it('treats a sign-in page (HTTP 203) as a failure, never as success', async () => {
      h.emu.devops.faults.push({ match: matchRequest({ path: /^\/fabrikam\// }), status: 203, body: '<html><head><title>Sign In</title></head></html>', headers: { 'content-type': 'text/html; charset=utf-8' }, times: Infinity });
      const { result } = await job([
        { task: repo, inputs: { command: 'readFile', repository: TEMPLATES, filePath: 'README.md' } },
      ]);
      assert.equal(result.result, 'Failed', result.log);
      assert.equal(result.steps[0]!.errors.length, 1, result.log);
      assert.match(result.steps[0]!.errors[0]!, /sign-in page \(HTTP 203\)/);
      survived++;
    });
  });

  describe('Azure DevOps, calls that must not be repeated', () => {
    it('sends a tag creation once when the server fails it', async () => {
      const refs = { method: 'POST', path: /\/refs$/ };
      h.emu.devops.faults.push(serverErrorFault({ ...refs, status: 503, retryAfterSeconds: 0 }));
      const { result, matching } = await job([{ task: repo, inputs: { command: 'tag', repository: TEMPLATES, tagName: `fault-${++branch}`, ref: 'main' } }], refs);
      assert.equal(result.result, 'Failed', result.log);
      assert.equal(matching.length, 1, 'POST refs was sent once');
      survived++;
    });

    it('sends an annotated tag creation once when throttled', async () => {
      const tags = { method: 'POST', path: /\/annotatedtags$/i };
      h.emu.devops.faults.push(throttlingFault({ ...tags, retryAfterSeconds: 0 }));
      const { result, matching } = await job([{ task: repo, inputs: { command: 'tag', repository: TEMPLATES, tagName: `fault-${++branch}`, ref: 'main', message: 'm' } }], tags);
      assert.equal(result.result, 'Failed', result.log);
      assert.equal(matching.length, 1, 'POST annotatedtags was sent once');
      assert.match(result.steps[0]!.errors.join('\n'), /throttled|429/);
      survived++;
    });

    it('sends a pull request creation once when the server fails it', async () => {
      const create = { method: 'POST', path: /\/pullrequests$/i };
      h.emu.devops.faults.push(serverErrorFault({ ...create, status: 500 }));
      const { result, matching } = await job([{ task: repo, inputs: { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'release/1.0', targetBranch: 'main' } }], create);
      assert.equal(result.result, 'Failed', result.log);
      assert.equal(matching.length, 1, 'POST pullrequests was sent once');
      survived++;
    });

    it('runs a git push once when the server fails it', async () => {
      const receive = { method: 'POST', path: /\/git-receive-pack$/ };
      h.emu.devops.faults.push(serverErrorFault({ ...receive, status: 500 }));
      const { result, matching } = await job([
        { task: repo, inputs: { command: 'checkout', repository: TEMPLATES } },
        { script: 'cd "$PIPELINE_WORKSPACE/s/templates" && echo x > f && git add f && git -c user.name=P -c user.email=p@example.invalid commit --quiet -m f' },
        { task: repo, inputs: { command: 'push', sourceDirectory: 's/templates', targetBranch: `fault/${++branch}` } },
      ], receive);
      assert.equal(result.steps[2]!.result, 'Failed', result.log);
      assert.equal(matching.length, 1, 'the push was sent once');
      survived++;
    });
  });

  describe('git', () => {
    it('a connection dropped mid-clone leaves no half-made clone, and the next run succeeds', async () => {
      // The first upload-pack request (resolving the ref) passes; every later one (the fetch) is reset.
      // curl retries a reset on a reused connection once by itself, so the drop has to persist.
      let seen = 0;
      h.emu.devops.faults.push({ match: (r) => r.method === 'POST' && /\/_git\/templates\/git-upload-pack$/.test(r.path) && ++seen > 1, resetConnection: true, times: Infinity });
      const { result } = await job([{ task: repo, inputs: { command: 'checkout', repository: TEMPLATES, path: 's/dropped' } }]);
      const path = join(result.dirs.workspace, 's', 'dropped');
      assert.equal(result.result, 'Failed', result.log);
      assert.ok(seen > 1, 'the fetch was reset');
      assert.ok(!existsSync(path) || readdirSync(path).length === 0, `no half-made clone in ${path}: ${existsSync(path) ? readdirSync(path).join(', ') : ''}`);
      h.emu.devops.faults.length = 0;
      const again = await h.run([{ task: repo, inputs: { command: 'checkout', repository: TEMPLATES, path: 's/dropped' } }], { agentRoot: result.dirs.agentRoot });
      assert.equal(again.result, 'Succeeded', again.log);
      assert.ok(existsSync(join(path, 'README.md')));
      survived++;
    });

    it('a token that expires mid-job: the credential helper fetches a fresh one for a later git command', async () => {
      h.emu.tokens.lifetimeSeconds = 2;
      const check = `"${process.execPath}" -e "fetch(process.env.ORG + '/_apis/connectionData', { headers: { authorization: 'Bearer ' + process.env.TOKEN, 'x-tfs-fedauthredirect': 'Suppress' } }).then((r) => console.log('first token: HTTP ' + r.status))"`;
      const { result } = await job([
        { task: auth, inputs: { organizations: 'contoso\nfabrikam' } },
        { script: `sleep 3; ${check}; git clone --quiet "${templatesUrl()}" "$AGENT_TEMPDIRECTORY/late" && echo cloned`, env: { TOKEN: '$(AzureDevOps.AccessToken)', ORG: h.emu.devops.orgUrl('fabrikam') } },
      ]);
      assert.equal(result.result, 'Succeeded', result.log);
      assert.match(result.log, /first token: HTTP 401/, result.log);
      assert.match(result.log, /cloned/);
      survived++;
    });
  });
});
