/**
 * Leak proofs: in every scenario below (both tasks, success, failure, cancellation, System.Debug,
 * verbose tracing variables), no form of any token the emulators issued during the job turns up in
 * the raw output (outside the commands that register it), the masked log, the argv of any process
 * (git wrapper, git's trace, strace of the task and script process trees), files left under the agent
 * root / HOME / workspace / TMPDIR after the post-job steps, requests' URLs and bodies, or non-secret
 * variables; and every task step that obtained a token registered all its forms first.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobResult, Step } from '../agent/runner';
import { CONTOSO_LIBS, FABRIKAM, FABRIKAM_TOOLS, UAMI_OUTSIDER, UAMI_READER, matchRequest, packagingBase } from '../emulators';
import { harness, taskDir, type Harness } from './support';
import { findLeaks, observe, scanned } from './security-support';

const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

/** Variables a developer sets to see everything: the tasks must keep them away from their own git. */
const VERBOSE_TASK_ENV = {
  GIT_TRACE: '1', GIT_TRACE_CURL: '1', GIT_CURL_VERBOSE: '1', GIT_TRACE_REDACT: '0', GIT_TRACE_PACKET: '1',
  AZURE_LOG_LEVEL: 'verbose', DEBUG: '*',
};
/** What a later script step may set itself (git redacts credentials in this trace). */
const VERBOSE_SCRIPT_ENV = { GIT_TRACE_CURL: '1', AZURE_LOG_LEVEL: 'verbose' };
const DEBUG = { 'System.Debug': 'true' };
/** Cancel quickly: SIGINT, then SIGTERM 0.5 s later, then SIGKILL. */
const FAST_CANCEL = { ...DEBUG, PROCESS_SIGINT_TIMEOUT: '500', PROCESS_SIGTERM_TIMEOUT: '500' };

describe('security: no token leaks, in any scenario of either task', function () {
  this.timeout(120_000);
  let h: Harness;
  let auth: string;
  let repo: string;
  let count = 0;
  const tally = { scenarios: 0, steps: 0, gitCalls: 0, execs: 0, requests: 0, tokens: 0, straced: 0 };

  before(async () => {
    [h, auth, repo] = await Promise.all([harness(), taskDir('ManagedIdentityAuthenticate'), taskDir('ManagedIdentityRepository')]);
  });
  after(async () => {
    await h?.stop();
    console.log(`      leak scans: ${tally.scenarios} scenarios, ${tally.steps} steps, ${tally.tokens} tokens, ` +
      `${tally.gitCalls} git argv, ${tally.execs} traced execs (${tally.straced} scenarios under strace), ${tally.requests} requests`);
  });

  const templatesUrl = (): string => h.emu.devops.cloneUrl('fabrikam', FABRIKAM.project.name, FABRIKAM.templates.name).replace(/\/\/[^@/]+@/, '//');

  interface Scenario {
    steps: Step[];
    variables?: Record<string, string>;
    /** false for cancelled jobs: strace would hold the signals the runner sends. */
    exec?: boolean;
    /** At least this many tokens must have been issued (the scenario reached the identity). */
    tokens?: number;
    /** NODE_DEBUG=http: Node prints request headers itself; the token must be registered before. */
    maskedAfterRegistration?: boolean;
  }

  /** Runs one job with everything observed, scans it, and returns it for scenario-specific checks. */
  async function scan(s: Scenario): Promise<{ result: JobResult; execs: string[]; tracesExec: boolean }> {
    const observer = observe(s.exec ?? true);
    const from = { devops: h.emu.devops.requests.length, identity: h.emu.identity.requests.length };
    const issued = h.emu.tokens.issued.length;
    try {
      const result = await h.run(s.steps, {
        variables: s.variables ?? DEBUG,
        env: observer.env,
        ...(observer.nodePath ? { nodePath: observer.nodePath } : {}),
        ...(observer.node24Path ? { node24Path: observer.node24Path } : {}),
        keepTempDirectory: true,
      });
      const tokens = h.emu.tokens.issued.slice(issued).map((t) => t.token);
      assert.ok(tokens.length >= (s.tokens ?? 1), `the scenario reached the identity endpoint (${tokens.length} tokens)\n${result.log}`);
      const leakScan = { h, result, tokens, observer, requestsFrom: from, maskedAfterRegistration: s.maskedAfterRegistration ?? false };
      assert.deepEqual(findLeaks(leakScan), [], result.log);
      const counts = scanned(leakScan);
      tally.scenarios++;
      tally.steps += counts.steps;
      tally.gitCalls += counts.gitCalls;
      tally.execs += counts.execs;
      tally.requests += counts.requests;
      tally.tokens += tokens.length;
      if (observer.tracesExec) tally.straced++;
      return { result, execs: observer.execs(), tracesExec: observer.tracesExec };
    } finally {
      observer.dispose();
    }
  }

  const sessionFiles = (result: JobResult): string[] => readdirSync(result.dirs.temp).filter((f) => f.startsWith('miado-git-'));

  describe('ManagedIdentityAuthenticate@1', () => {
    it('authenticates two organizations, a later plain git clone goes through the credential helpers and the token broker (System.Debug, verbose logging)', async () => {
      const { result, execs, tracesExec } = await scan({
        steps: [
          { task: auth, inputs: { organizations: 'contoso\nfabrikam' } },
          { script: `git clone --quiet "${templatesUrl()}" "$AGENT_TEMPDIRECTORY/later" && git -C "$AGENT_TEMPDIRECTORY/later" rev-parse HEAD`, env: VERBOSE_SCRIPT_ENV },
        ],
      });
      assert.equal(result.result, 'Succeeded', result.log);
      if (tracesExec) assert.ok(execs.some((l) => l.includes('credential-cache')), 'the helper invocation (git\'s cache client, to the token broker) was traced');
      assert.deepEqual(sessionFiles(result), []);
    });

    it('publishes an output variable with verbose tracing variables in the task environment', async () => {
      const { result } = await scan({ steps: [{ task: auth, inputs: { isOutput: 'true' }, env: VERBOSE_TASK_ENV }] });
      assert.equal(result.result, 'Succeeded', result.log);
    });

    it('registers the token before Node’s own NODE_DEBUG=http output can print the request headers', async () => {
      const { result } = await scan({
        steps: [{ task: auth, inputs: { organizations: 'contoso\nfabrikam' }, env: { NODE_DEBUG: 'http,https,net,tls' } }],
        maskedAfterRegistration: true,
      });
      assert.equal(result.result, 'Succeeded', result.log);
      assert.match(result.steps[0]!.raw, /Authorization: 'Bearer /, 'Node printed the request headers (so this scenario tests something)');
    });

    it('fails when the organization refuses the identity (TF400813)', async () => {
      const { result } = await scan({ steps: [{ task: auth, inputs: { clientId: UAMI_OUTSIDER.clientId, organizations: 'contoso\nfabrikam' } }] });
      assert.equal(result.result, 'Failed');
    });

    it('is cancelled while it verifies the organization (SIGINT, SIGTERM), and the post-job step still runs', async () => {
      h.emu.devops.faults.push({ match: matchRequest({ path: /\/_apis\/connectionData$/ }), delayMs: 8000 });
      const { result } = await scan({ steps: [{ task: auth, inputs: {}, cancelAfterMs: 2500 }], variables: FAST_CANCEL, exec: false });
      assert.equal(result.result, 'Cancelled', result.log);
      assert.equal(result.steps.at(-1)!.phase, 'post');
      assert.deepEqual(sessionFiles(result), []);
    });

    it('ends the git session in the post-job step after a later step was cancelled mid-clone', async () => {
      h.emu.devops.faults.push({ match: matchRequest({ path: /\/_git\/templates\/info\/refs$/ }), delayMs: 2000 });
      const { result } = await scan({
        steps: [
          { task: auth, inputs: { organizations: 'contoso\nfabrikam' } },
          { script: `git clone "${templatesUrl()}" "$AGENT_TEMPDIRECTORY/slow"`, cancelAfterMs: 1000 },
        ],
        variables: FAST_CANCEL,
        exec: false,
      });
      assert.equal(result.result, 'Cancelled', result.log);
      assert.equal(result.steps.at(-1)!.result, 'Succeeded', 'the post-job step ran');
      assert.deepEqual(sessionFiles(result), [], 'the post-job step removed the session file');
    });

    it('configures every package client for two organizations\' feeds; later npm install and pip download use them (System.Debug)', async () => {
      const libs = packagingBase(h.emu.devops.url, CONTOSO_LIBS.org, CONTOSO_LIBS.name);
      const tools = packagingBase(h.emu.devops.url, FABRIKAM_TOOLS.org, FABRIKAM_TOOLS.name, FABRIKAM_TOOLS.project);
      const { result } = await scan({
        steps: [
          { task: auth, inputs: { feeds: `contoso/libs\nfabrikam/${FABRIKAM_TOOLS.project}/tools\nhttps://pkgs.dev.azure.com/contoso/_packaging/libs/nuget/v3/index.json`.replace('https://pkgs.dev.azure.com/', `${h.emu.devops.url}/`) } },
          {
            script: [
              'set -e',
              `printf '%s\\n' '{"name":"app","version":"1.0.0","private":true}' > package.json`,
              `printf '%s\\n' '@contoso:registry=${libs}npm/registry/' > .npmrc`,
              'npm install --no-audit --no-fund --loglevel=verbose @contoso/greeting@1.0.0',
              // This Python itself: a pyenv shim would start a second `bash` (under a second strace).
              `"${PYTHON}" -m pip download --no-cache-dir --disable-pip-version-check -v -d pydl fabrikam-tools==1.0.0 --extra-index-url "${tools}pypi/simple/"`,
            ].join('\n'),
          },
        ],
      });
      assert.equal(result.result, 'Succeeded', result.log);
      assert.match(result.log, /added 1 package[\s\S]*Saved \.\/pydl\/fabrikam_tools-1\.0\.0-py3-none-any\.whl/);
      assert.deepEqual(readdirSync(result.dirs.temp).filter((f) => f.startsWith('miado-feeds-')), [], 'the post-job step removed the feed files');
    });
  });

  describe('the job\'s token broker', () => {
    it('renews the token for a later step\'s git: the new one is registered before anything prints it, and is nowhere else', async () => {
      h.emu.tokens.lifetimeSeconds = 4;
      try {
        const host = new URL(h.emu.devops.url).host;
        const { result } = await scan({
          steps: [
            { task: auth, inputs: { organizations: 'contoso\nfabrikam' } },
            // The first git request gets a token for the job's broker (the helper asks the identity endpoint and starts it);
            // three seconds later that 4-second token is due for renewal, which the broker does for the clone.
            { script: `git ls-remote "${templatesUrl()}" HEAD >/dev/null && sleep 3; git clone --quiet "${templatesUrl()}" "$AGENT_TEMPDIRECTORY/renewed" && printf 'protocol=http\\nhost=${host}\\npath=fabrikam/x\\n\\n' | git credential fill`, env: VERBOSE_SCRIPT_ENV },
          ],
          tokens: 3,
          // `git credential fill` prints the renewed token: the agent masks it, because the helper registered it first.
          maskedAfterRegistration: true,
        });
        assert.equal(result.result, 'Succeeded', result.log);
        assert.match(result.log, /^password=\*\*\*$/m);
      } finally {
        h.emu.tokens.lifetimeSeconds = 24 * 3600;
      }
    });
  });

  describe('ManagedIdentityRepository@1', () => {
    it('checkout with cross-organization submodules and persistCredentials, a later fetch in the clone, verbose tracing variables', async () => {
      const { result } = await scan({
        steps: [
          { task: repo, inputs: { command: 'checkout', repository: 'contoso/Web/app', submodules: 'true', persistCredentials: 'true' }, env: VERBOSE_TASK_ENV },
          { script: 'git -C "$PIPELINE_WORKSPACE/s/app" fetch --quiet origin && git -C "$PIPELINE_WORKSPACE/s/app" log -1 --format=%H', env: VERBOSE_SCRIPT_ENV },
        ],
      });
      assert.equal(result.result, 'Succeeded', result.log);
      const config = join(result.dirs.workspace, 's', 'app', '.git', 'config');
      if (existsSync(config)) assert.doesNotMatch(readFileSync(config, 'utf8'), /credential/, 'the post-job step removed the helper from the clone');
      assert.deepEqual(sessionFiles(result), []);
    });

    it('checkout of a ref that does not exist', async () => {
      const { result } = await scan({ steps: [{ task: repo, inputs: { command: 'checkout', repository: 'fabrikam/Shared Tools/templates', ref: 'no-such-branch' } }] });
      assert.equal(result.result, 'Failed');
    });

    it('checkout cancelled in the middle of the fetch', async () => {
      h.emu.devops.faults.push({ match: matchRequest({ method: 'POST', path: /\/_git\/templates\/git-upload-pack$/ }), delayMs: 8000 });
      const { result } = await scan({
        steps: [{ task: repo, inputs: { command: 'checkout', repository: 'fabrikam/Shared Tools/templates', persistCredentials: 'true' }, cancelAfterMs: 2500 }],
        variables: FAST_CANCEL,
        exec: false,
      });
      assert.equal(result.result, 'Cancelled', result.log);
    });

    it('list with an output file, and list of an organization in another tenant', async () => {
      const { result } = await scan({
        steps: [
          { task: repo, inputs: { command: 'list', organization: 'fabrikam', outputFile: 'a/repos.json' } },
          { task: repo, inputs: { command: 'list', organization: 'northwind' } },
        ],
      });
      assert.equal(result.steps[1]!.result, 'Failed', result.log);
    });

    it('readFile of a binary file, then of a file that does not exist', async () => {
      const { result } = await scan({
        steps: [
          { task: repo, inputs: { command: 'readFile', repository: 'fabrikam/Shared Tools/templates', filePath: 'assets/logo.bin', destination: 'a/logo.bin' } },
          { task: repo, inputs: { command: 'readFile', repository: 'fabrikam/Shared Tools/templates', filePath: 'no/such/file.txt' } },
        ],
        tokens: 2,
      });
      assert.equal(result.steps[1]!.result, 'Failed', result.log);
    });

    it('checkout, commit, push, tag and pullRequest in one job, with verbose tracing variables', async () => {
      const branch = `feature/leak-${++count}`;
      const where = '"$PIPELINE_WORKSPACE/s/templates"';
      const { result } = await scan({
        steps: [
          { task: repo, inputs: { command: 'checkout', repository: 'fabrikam/Shared Tools/templates' }, env: VERBOSE_TASK_ENV },
          { script: `cd ${where} && echo change > leak.txt && git add leak.txt && git -c user.name=Pipeline -c user.email=p@example.invalid commit --quiet -m "leak test"` },
          { task: repo, inputs: { command: 'push', sourceDirectory: 's/templates', targetBranch: branch, tags: 'true' }, env: VERBOSE_TASK_ENV },
          { task: repo, inputs: { command: 'tag', repository: 'fabrikam/Shared Tools/templates', tagName: `leak-${count}`, ref: branch, message: 'annotated' } },
          { task: repo, inputs: { command: 'pullRequest', repository: 'fabrikam/Shared Tools/templates', sourceBranch: branch, targetBranch: 'main', autoComplete: 'true' } },
        ],
        tokens: 4,
      });
      assert.equal(result.result, 'Succeeded', result.log);
    });

    it('push, tag and pullRequest refused for an identity that may only read', async () => {
      const where = '"$PIPELINE_WORKSPACE/s/templates"';
      const reader = { clientId: UAMI_READER.clientId };
      const branch = `feature/leak-${++count}`;
      const { result } = await scan({
        steps: [
          { task: repo, inputs: { command: 'checkout', repository: 'fabrikam/Shared Tools/templates' } },
          { script: `cd ${where} && echo change > leak.txt && git add leak.txt && git -c user.name=Pipeline -c user.email=p@example.invalid commit --quiet -m "leak test"` },
          { task: repo, inputs: { command: 'push', sourceDirectory: 's/templates', targetBranch: branch, ...reader } },
        ],
        tokens: 2,
      });
      assert.equal(result.steps[2]!.result, 'Failed', result.log);
      const refused = await scan({
        steps: [{ task: repo, inputs: { command: 'tag', repository: 'fabrikam/Shared Tools/templates', tagName: `leak-${count}`, ref: 'main', ...reader } }],
      });
      assert.equal(refused.result.result, 'Failed', refused.result.log);
      const pr = await scan({
        steps: [{ task: repo, inputs: { command: 'pullRequest', repository: 'fabrikam/Shared Tools/templates', sourceBranch: 'release/1.0', targetBranch: 'main', ...reader } }],
      });
      assert.equal(pr.result.result, 'Failed', pr.result.log);
    });
  });

  describe('in total', () => {
    it('scanned every scenario, with git calls, traced processes and requests to look at', () => {
      assert.equal(tally.scenarios, 17, `${tally.scenarios} scenarios`);
      assert.ok(tally.gitCalls > 0 && tally.requests > 0 && tally.tokens >= tally.scenarios);
    });
  });
});
