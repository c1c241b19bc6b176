/**
 * Git credentials of the packaged tasks, through the agent-like runner: organization names in any letter case
 * on either side (issue 12 item 1), tokens the helpers hand out registered as secrets for the rest of the job
 * (item 5), https only for the tasks' own git (item 6), nothing of the token for trace2, hooks or fsmonitor
 * (item 8), and the job's token broker ending with the job.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FABRIKAM, MYORG } from '../emulators';
import { createRepository } from '../emulators/git-repos';
import { processesWith } from '../agent/orphans';
import { harness, leakForms, taskDir, type Harness } from './support';

describe('git credentials of the tasks (packaged, through the agent-like runner)', function () {
  this.timeout(180_000);
  let h: Harness;
  let auth: string;
  let repo: string;
  let scratch: string;
  before(async () => {
    [h, auth, repo] = await Promise.all([harness(), taskDir('ManagedIdentityAuthenticate'), taskDir('ManagedIdentityRepository')]);
    scratch = mkdtempSync(join(tmpdir(), 'mi-git-credentials-'));
  });
  after(async () => {
    await h?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
  afterEach(() => {
    h.emu.tokens.lifetimeSeconds = 24 * 3600;
  });

  /** The clone URL in `spelling` of the organization, without the user name the REST remoteUrl carries. */
  const myorgUrl = (spelling: string): string => `${h.emu.devops.url}/${spelling}/${MYORG.project.name}/_git/${MYORG.repo.name}`;

  describe('organization names in any letter case (Azure DevOps compares them without case; git compares credential paths with it)', () => {
    it('organizations: myorg verifies, then later plain git clones of MyOrg and MYORG URLs authenticate', async () => {
      const result = await h.run([
        { task: auth, inputs: { organizations: 'myorg' } },
        { script: `git clone --quiet "${myorgUrl('MyOrg')}" "$AGENT_TEMPDIRECTORY/a" && git clone --quiet "${myorgUrl('MYORG')}" "$AGENT_TEMPDIRECTORY/b" && echo both-cloned` },
      ]);
      assert.equal(result.result, 'Succeeded', result.log);
      assert.match(result.log, /Organization 'myorg' knows this identity as/);
      assert.match(result.log, /both-cloned/);
    });

    it('a collection URI spelled MyOrg (the default organization), then git with myorg', async () => {
      const result = await h.run([
        { task: auth, inputs: {} },
        { script: `git ls-remote "${myorgUrl('myorg')}" HEAD` },
      ], { variables: { 'System.CollectionUri': `${h.emu.devops.url}/MyOrg/`, 'System.TeamFoundationCollectionUri': `${h.emu.devops.url}/MyOrg/` } });
      assert.equal(result.result, 'Succeeded', result.log);
      assert.match(result.log, /^[0-9a-f]{40}\tHEAD$/m);
    });

    it('checkout of MYORG/Platform/service with persistCredentials, then git in the clone with other spellings', async () => {
      const result = await h.run([
        { task: repo, inputs: { command: 'checkout', repository: `MYORG/${MYORG.project.name}/${MYORG.repo.name}`, path: 's/service', persistCredentials: 'true' } },
        { script: `cd "$PIPELINE_WORKSPACE/s/service" && git fetch --quiet "${myorgUrl('myorg')}" && git ls-remote "${myorgUrl('MyOrg')}" HEAD && git fetch --quiet origin && echo fetched` },
      ]);
      assert.equal(result.result, 'Succeeded', result.log);
      assert.match(result.log, /fetched/);
    });

    it('says which organization is missing when git asks for one the job was not set up for', async () => {
      const result = await h.run([
        { task: auth, inputs: { organizations: 'myorg' } },
        { script: `git ls-remote "${h.emu.devops.cloneUrl('fabrikam', FABRIKAM.project.name, 'templates').replace(/\/\/[^@/]+@/, '//')}" HEAD` },
      ]);
      assert.equal(result.steps[1]!.result, 'Failed');
      assert.match(result.log, /Managed identity credential helper: http:\/\/127\.0\.0\.1:\d+\/fabrikam\/Shared%20Tools\/_git\/templates is not in one of this job's organizations \(myorg\): not answering\. Add its organization to the organizations input/);
    });
  });

  describe('tokens the credential helper hands out are secrets for the rest of the job', () => {
    it('a token renewed for a later step is masked when the step prints what git was given', async () => {
      h.emu.tokens.lifetimeSeconds = 4;
      const issued = h.emu.tokens.issued.length;
      const host = new URL(h.emu.devops.url).host;
      const result = await h.run([
        { task: auth, inputs: { organizations: 'fabrikam' } },
        // Past half its lifetime the job's token is renewed; `git credential fill` prints the new one.
        { script: `sleep 3; printf 'protocol=http\\nhost=${host}\\npath=fabrikam/x/_git/y\\n\\n' | git credential fill` },
        { script: `printf 'protocol=http\\nhost=${host}\\npath=fabrikam/x/_git/y\\n\\n' | git credential fill 2>/dev/null` },
      ]);
      assert.equal(result.result, 'Succeeded', result.log);
      const tokens = h.emu.tokens.issued.slice(issued).map((t) => t.token);
      const renewed = /^password=(\S+)$/m.exec(result.steps[1]!.raw)?.[1] ?? '';
      assert.ok(tokens.indexOf(renewed) > 0, 'the later step got a token issued after the authenticate step\'s');
      assert.match(result.steps[1]!.log.join('\n'), /^password=\*\*\*$/m, 'and its log shows it masked');
      for (const form of leakForms(renewed)) assert.ok(!result.log.includes(form), 'no form of the renewed token in the masked log');
      assert.ok(result.steps[1]!.raw.includes(`##vso[task.setsecret]${renewed}`), 'registered by the helper, on stderr');
      // A step that hides git's stderr still gets masking for a token an earlier step registered.
      assert.ok(result.steps[2]!.raw.includes(`password=${renewed}`));
      assert.equal(result.steps[2]!.log.filter((l) => l === 'password=***').length, 1);
    });
  });

  describe('https only for the tasks\' own git', () => {
    it('refuses ssh:// and git:// submodules with one error naming them and their URLs; ssh never starts', async () => {
      const project = h.emu.world.organizations.find((o) => o.name === 'fabrikam')!.projects[0]!;
      if (!project.repos.some((r) => r.name === 'hostile-submodules')) {
        const hostile = { id: '6c1f0f3e-8f0b-4d55-9a57-2f7d3c8f5b10', name: 'hostile-submodules', defaultBranch: 'refs/heads/main', bareDir: join(h.emu.root, 'repos', 'fabrikam', 'hostile.git') };
        const commit = 'a'.repeat(40);
        await createRepository(hostile, [{ path: 'evil', url: 'ssh://git@127.0.0.1:9/evil/x', commit }, { path: 'old', url: 'git://127.0.0.1:9/old', commit }]);
        project.repos.push(hostile);
      }
      const marker = join(scratch, 'ssh-ran');
      const result = await h.run([
        { task: repo, inputs: { command: 'checkout', repository: `fabrikam/${FABRIKAM.project.name}/hostile-submodules`, path: 's/hostile', submodules: 'true' } },
      ], { env: { GIT_SSH_COMMAND: `touch '${marker}'; false`, GIT_SSH_VARIANT: 'ssh' } });
      assert.equal(result.result, 'Failed', result.log);
      assert.deepEqual(result.steps[0]!.errors, [
        "Submodule 'evil' (ssh://git@127.0.0.1:9/evil/x), 'old' (git://127.0.0.1:9/old) use ssh and git: the task's git speaks https only, so they were not cloned.",
      ]);
      assert.ok(!existsSync(marker), 'git never started ssh');
    });
  });

  describe('nothing of the token for trace2, hooks or fsmonitor', () => {
    it('trace2 turned on in the global git config records no form of the token', async () => {
      const home = mkdtempSync(join(scratch, 'home-'));
      const events = join(scratch, `trace2-${Date.now()}.json`);
      writeFileSync(join(home, '.gitconfig'), [
        '[trace2]',
        `\teventTarget = ${events}`,
        '\tconfigParams = http.*,credential.*,core.*,protocol.*',
        `\tenvVars = ${Array.from({ length: 12 }, (_, i) => `GIT_CONFIG_VALUE_${i}`).join(',')},GIT_CONFIG_PARAMETERS`,
        '',
      ].join('\n'));
      const issued = h.emu.tokens.issued.length;
      const result = await h.run([
        { task: repo, inputs: { command: 'checkout', repository: `fabrikam/${FABRIKAM.project.name}/templates`, path: 's/traced' } },
      ], { env: { HOME: home } });
      assert.equal(result.result, 'Succeeded', result.log);
      const trace = readFileSync(events, 'utf8');
      assert.match(trace, /"event":"def_param"/, 'trace2 recorded config parameters');
      for (const token of h.emu.tokens.issued.slice(issued).map((t) => t.token)) {
        assert.ok(!leakForms(token).some((f) => trace.includes(f)), 'no form of the token in the trace2 events');
      }
      assert.match(trace, /credential\.http:\/\/127\.0\.0\.1:\d+\.helper/, 'the credential helper entries were recorded: they hold no secret');
    });

    it('a re-used clone\'s hooks, fsmonitor and sshCommand do not run while the task\'s git holds the token', async () => {
      const marks = mkdtempSync(join(scratch, 'marks-'));
      const plant = [
        'cd "$PIPELINE_WORKSPACE/s/reused"',
        `printf '#!/bin/sh\\ntouch "${marks}/$(basename "$0")"\\n' > .git/hooks/post-checkout`,
        'chmod +x .git/hooks/post-checkout',
        'for h in reference-transaction pre-auto-gc post-merge; do cp .git/hooks/post-checkout .git/hooks/$h; done',
        `printf '#!/bin/sh\\ntouch "${marks}/fsmonitor"\\n' > ../fsmonitor.sh && chmod +x ../fsmonitor.sh`,
        'git config core.fsmonitor "$PIPELINE_WORKSPACE/s/fsmonitor.sh"',
        `git config core.sshCommand "touch '${marks}/ssh'"`,
      ].join(' && ');
      const checkout = { task: repo, inputs: { command: 'checkout', repository: `fabrikam/${FABRIKAM.project.name}/templates`, path: 's/reused', ref: 'release/1.0' } };
      const result = await h.run([checkout, { script: plant }, { ...checkout, inputs: { ...checkout.inputs, ref: 'main' } }]);
      assert.equal(result.result, 'Succeeded', result.log);
      assert.match(result.log, /Re-using the existing clone/);
      assert.deepEqual(readdirSync(marks), [], 'no hook, fsmonitor or ssh command ran');
    });
  });

  describe('the job\'s token broker', () => {
    const templates = (): string => h.emu.devops.cloneUrl('fabrikam', FABRIKAM.project.name, FABRIKAM.templates.name).replace(/\/\/[^@/]+@/, '//');
    // This job's broker names its session file, under this job's temp directory (other jobs may run meanwhile).
    const brokers = 'pgrep -f "git-broker.js $AGENT_TEMPDIRECTORY/" | wc -l';

    it('starts with the job\'s first git request, not with the step; later requests cost no identity request; it ends with the post-job step', async () => {
      const issued = h.emu.tokens.issued.length;
      const result = await h.run([
        { task: auth, inputs: { organizations: 'fabrikam' } },
        { script: `echo "before git: $(${brokers})"` },
        { script: `git ls-remote "${templates()}" HEAD >/dev/null && echo "after git: $(${brokers})" && for i in 1 2 3 4 5; do git ls-remote "${templates()}" HEAD >/dev/null || exit 1; done && echo done` },
      ]);
      assert.equal(result.result, 'Succeeded', result.log);
      assert.match(result.steps[1]!.log.join('\n'), /before git: 0$/m, 'the authenticate step started no process');
      assert.match(result.steps[2]!.log.join('\n'), /after git: 1$/m, 'the first git request started one broker');
      assert.match(result.log, /^done$/m);
      assert.equal(h.emu.tokens.issued.length - issued, 2, 'the step\'s token and the first git request\'s; the next five asked the broker');
      assert.doesNotMatch(result.log, /Terminate orphan process/);
      assert.equal(processesWith(result.variables.get('VSTS_PROCESS_LOOKUP_ID')!.value).length, 0);
    });

    it('when no post-job step runs, the agent\'s orphan cleanup ends it, as the real agent does', async () => {
      const result = await h.run([
        { task: auth, inputs: { organizations: 'fabrikam' } },
        { script: `git ls-remote "${templates()}" HEAD >/dev/null` },
      ], { skipPostJobSteps: true });
      assert.equal(result.result, 'Succeeded', result.log);
      // The name is the process's comm, as the agent reads it: Node 24 renames its main thread, and so the process, 'MainThread'.
      assert.match(result.log, /Terminate orphan process: pid \(\d+\) \((node|MainThread)\)/);
      assert.equal(processesWith(result.variables.get('VSTS_PROCESS_LOOKUP_ID')!.value).length, 0);
    });
  });
});
