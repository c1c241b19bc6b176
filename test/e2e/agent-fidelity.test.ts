/**
 * What the packaged tasks do where agents differ or where the agent's rules leave room:
 * - post-job steps run for every task step, also when its main step was skipped or failed (agent
 *   JobExtension.cs adds them at job start with always(), lines 392-399 at v4.266.2), so they find no task
 *   variables, or only what a pipeline variable of the same environment name holds;
 * - agents before 5.277.0 let a pipeline variable whose environment name is INPUT_<X> or ENDPOINT_<X> replace that
 *   input or endpoint, 5.277.0 and later do not (test/agent/environment.ts). The tasks refuse such a variable on
 *   both, read no endpoint, and check the state a post-job step is handed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentNode20 } from '../agent/runner';
import { harness, taskDir, type Harness } from './support';

const AGENTS = ['4.266.2', '5.277.0'] as const;
const TOKEN_VARIABLE = 'AzureDevOps.AccessToken';

describe('agent fidelity: post-job steps without their main step, and variables named like inputs (both agent orders)', function () {
  this.timeout(120_000);
  let h: Harness;
  let auth: string;
  let repo: string;
  before(async () => {
    [h, auth, repo] = await Promise.all([harness(), taskDir('ManagedIdentityAuthenticate'), taskDir('ManagedIdentityRepository')]);
  });
  after(() => h?.stop());

  it('runs the tasks on the Node the agent picks: Node 24 for their Node24 handler in npm test\'s Node 24 suite, else node20_1', async () => {
    const node24 = process.env['AGENT_RUNNER_NODE24'] || undefined;
    const result = await h.run([{ task: auth, inputs: { organizations: 'contoso' } }], { variables: { 'System.Debug': 'true' } });
    assert.equal(result.result, 'Succeeded', result.log);
    const expected = node24 ?? agentNode20();
    assert.equal(result.steps[0]!.argv[0], expected);
    assert.ok(result.steps[0]!.log.includes(`##[debug]Using node path: ${expected}`));
    // Node 24 would print DEP0169 for the bundled libraries' url.parse() (src/core/node-warnings.ts).
    assert.doesNotMatch(result.log, /DeprecationWarning|DEP0169/);
    // The helper command the task wrote names its own process.execPath: the binary it really ran on.
    const helper = [...result.variables].find(([name, v]) => /^GIT_CONFIG_VALUE_\d+$/.test(name) && v.value.includes('credential-helper.js'))?.[1].value;
    assert.ok(helper?.includes(`; '${realpathSync(expected)}' '`), helper);
  });

  describe('post-job steps with no task variables from their main step', () => {
    it('after a skipped main step (an earlier step failed): both post-job steps succeed quietly', async () => {
      const result = await h.run([
        { script: 'exit 1', displayName: 'fails' },
        { task: auth, inputs: { organizations: 'contoso' } },
        { task: repo, inputs: { command: 'checkout', repository: 'app', persistCredentials: 'true' } },
      ]);
      assert.equal(result.result, 'Failed');
      assert.deepEqual(result.steps.map((s) => `${s.displayName}:${s.result}`), [
        'fails:Failed', 'ManagedIdentityAuthenticate:Skipped', 'ManagedIdentityRepository:Skipped',
        'Post-job: ManagedIdentityRepository:Succeeded', 'Post-job: ManagedIdentityAuthenticate:Succeeded',
      ]);
      for (const post of result.steps.filter((s) => s.phase === 'post')) {
        assert.equal(post.exitCode, 0);
        assert.deepEqual([...post.warnings, ...post.errors], [], `${post.displayName}: ${post.log.join('\n')}`);
      }
    });

    it('after a main step that failed before saving anything: both post-job steps succeed quietly', async () => {
      const failingAuth = { task: auth, inputs: { organizations: 'not an organization!' } };
      const failingRepo = { task: repo, inputs: { command: 'checkout', repository: 'app', persistCredentials: 'true', fetchDepth: '-1' } };
      for (const steps of [[failingAuth, failingRepo], [failingRepo, failingAuth]]) {
        const result = await h.run(steps);
        assert.equal(result.result, 'Failed');
        assert.deepEqual(result.steps.filter((s) => s.phase === 'main').map((s) => s.result), ['Failed', 'Skipped']);
        const posts = result.steps.filter((s) => s.phase === 'post');
        assert.deepEqual(posts.map((s) => s.result), ['Succeeded', 'Succeeded']);
        for (const post of posts) assert.deepEqual([...post.warnings, ...post.errors], [], post.log.join('\n'));
      }
    });

    it('after a skipped main step, state forged through pipeline variables touches nothing outside the job', async () => {
      // A clone outside the workspace with a credential helper entry, and a session file outside Agent.TempDirectory.
      const outside = mkdtempSync(join(tmpdir(), 'mi-forged-'));
      try {
        const clone = join(outside, 'clone');
        mkdirSync(clone);
        execFileSync('git', ['init', '-q', clone]);
        execFileSync('git', ['-C', clone, 'config', '--add', 'credential.https://dev.azure.com/.helper', 'keep-me']);
        const session = join(outside, 'miado-git-00000000-0000-0000-0000-000000000000.json');
        writeFileSync(session, '{}');
        const forged = {
          'VSTS_TASKVARIABLE_MIADO.PERSISTEDCREDENTIALS': JSON.stringify([{ repoPath: clone, sessionFile: session, prefixes: ['https://dev.azure.com/'] }]),
          'VSTS_TASKVARIABLE_MIADO.GITSESSION': session,
        };
        for (const agentVersion of AGENTS) {
          const result = await h.run([
            { script: 'exit 1', displayName: 'fails' },
            { task: auth, inputs: { organizations: 'contoso' } },
            { task: repo, inputs: { command: 'checkout', repository: 'app', persistCredentials: 'true' } },
          ], { variables: forged, agentVersion });
          const [repoPost, authPost] = result.steps.filter((s) => s.phase === 'post');
          assert.equal(repoPost?.result, 'Succeeded', repoPost?.log.join('\n'));
          assert.equal(authPost?.result, 'Succeeded', authPost?.log.join('\n'));
          assert.ok(repoPost.warnings.some((w) => w.startsWith(`Not removing credentials from '${clone}': it is not a clone inside the pipeline workspace.`)), repoPost.warnings.join('\n'));
          assert.ok(authPost.warnings.some((w) => w.startsWith(`Not removing '${session}'`)), authPost.warnings.join('\n'));
          for (const post of [repoPost, authPost]) {
            assert.ok(post.warnings.some((w) => /^Pipeline variable 'VSTS_TASKVARIABLE_MIADO\.\w+' has the environment name of this task's state/.test(w)), post.warnings.join('\n'));
          }
          assert.equal(execFileSync('git', ['-C', clone, 'config', '--get-all', 'credential.https://dev.azure.com/.helper'], { encoding: 'utf8' }).trim(), 'keep-me', agentVersion);
          assert.equal(execFileSync('sh', ['-c', `test -f '${session}' && echo present`], { encoding: 'utf8' }).trim(), 'present', agentVersion);
        }
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });
  });

  describe('a pipeline variable named like an input', () => {
    for (const agentVersion of AGENTS) {
      it(`Authenticate refuses it before asking for a token (agent ${agentVersion})`, async () => {
        const before = h.emu.identity.requests.length;
        const result = await h.run([{ task: auth, inputs: { organizations: 'contoso' } }],
          { variables: { 'input.organizations': 'fabrikam' }, agentVersion });
        assert.equal(result.result, 'Failed', result.log);
        assert.deepEqual(result.steps[0]!.errors, [
          "Pipeline variable 'input.organizations' has the environment name of input 'organizations' (INPUT_ORGANIZATIONS): agents before 5.277 let it replace the input.",
        ]);
        assert.match(result.log, /Hint: Rename or remove that pipeline variable/);
        assert.equal(h.emu.identity.requests.length, before, 'no token was asked for');
        assert.equal(result.variables.has(TOKEN_VARIABLE), false);
      });

      it(`Repository refuses it before asking for a token (agent ${agentVersion})`, async () => {
        const before = h.emu.identity.requests.length;
        const result = await h.run([{ task: repo, inputs: { command: 'readFile', repository: 'app', filePath: 'README.md' } }],
          { variables: { 'Input.Command': 'push' }, agentVersion });
        assert.equal(result.result, 'Failed', result.log);
        assert.deepEqual(result.steps[0]!.errors, [
          "Pipeline variable 'Input.Command' has the environment name of input 'command' (INPUT_COMMAND): agents before 5.277 let it replace the input.",
        ]);
        assert.equal(h.emu.identity.requests.length, before, 'no token was asked for');
      });
    }

    it('a variable named like the secret form of one the task reads is refused too (every agent)', async () => {
      const result = await h.run([{ task: auth, inputs: { organizations: 'contoso' } }], { variables: { 'secret.GIT_CONFIG_COUNT': '7' } });
      assert.equal(result.result, 'Failed', result.log);
      assert.deepEqual(result.steps[0]!.errors, [
        "Pipeline variable 'secret.GIT_CONFIG_COUNT' has the environment name of the secret form of variable 'GIT_CONFIG_COUNT' (SECRET_GIT_CONFIG_COUNT): the task would read it as that variable.",
      ]);
    });
  });

  describe('a pipeline variable named like an endpoint', () => {
    let listener: Server;
    let hits = 0;
    before(async () => {
      listener = createServer((_req, res) => {
        hits++;
        res.writeHead(500).end();
      });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    });
    after(() => new Promise((resolve) => listener?.close(resolve)));

    for (const agentVersion of AGENTS) {
      it(`changes nothing: the tasks read no endpoint, not even SystemVssConnection (agent ${agentVersion})`, async () => {
        const url = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/`;
        const result = await h.run([
          { task: auth, inputs: { organizations: 'contoso' } },
          { task: repo, inputs: { command: 'list', organization: 'contoso' } },
        ], {
          variables: {
            'endpoint.url.SystemVssConnection': url,
            ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({ parameters: { AccessToken: 'forged' }, scheme: 'OAuth' }),
            ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN: 'forged',
          },
          agentVersion,
        });
        const main = result.steps.filter((s) => s.phase === 'main');
        if (agentVersion === '4.266.2') assert.equal(main[0]!.env['ENDPOINT_URL_SYSTEMVSSCONNECTION'], url, 'the 4.x order hands the task the variable');
        else assert.notEqual(main[0]!.env['ENDPOINT_URL_SYSTEMVSSCONNECTION'], url, 'the 5.277 order hands the task the endpoint');
        assert.equal(result.result, 'Succeeded', result.log);
        assert.equal(hits, 0, 'nothing went to the forged endpoint');
      });
    }
  });
});
