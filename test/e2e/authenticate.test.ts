import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AZURE_DEVOPS_RESOURCE, CONTOSO, FABRIKAM, UAMI_BUILD, UAMI_OUTSIDER, decodeClaims } from '../emulators';
import { argvRecorder, filesContaining, harness, laterStepEnv, leakForms, leakedLines, run, taskDir, type Harness } from './support';

const VAR = 'AzureDevOps.AccessToken';

describe('ManagedIdentityAuthenticate@1 (packaged, through the agent-like runner)', function () {
  this.timeout(120_000);
  let h: Harness;
  let task: string;
  before(async () => {
    [h, task] = await Promise.all([harness(), taskDir('ManagedIdentityAuthenticate')]);
  });
  after(() => h?.stop());

  it('hands the job a secret token, lets a later plain git clone reach another organization, and leaves nothing after the post-job step', async () => {
    const git = argvRecorder();
    const templates = h.emu.devops.cloneUrl('fabrikam', 'Shared Tools', 'templates').replace(/\/\/[^@/]+@/, '//');
    const result = await h.run([
      { task, inputs: { organizations: 'contoso\nfabrikam' } },
      { script: `git clone --quiet "${templates}" "$AGENT_TEMPDIRECTORY/../1/s/templates" && git -C "$AGENT_TEMPDIRECTORY/../1/s/templates" rev-parse HEAD` },
    ], { env: { PATH: `${git.binDir}:${process.env['PATH']}`, MI_ARGV_LOG: git.log }, keepTempDirectory: true });

    assert.equal(result.result, 'Succeeded', result.log);
    const variable = result.variables.get(VAR);
    assert.ok(variable?.secret, 'the token variable is secret');
    const token = variable.value;
    const claims = decodeClaims(token);
    assert.equal(claims['aud'], AZURE_DEVOPS_RESOURCE);
    assert.equal(result.variables.get(`${VAR}.ObjectId`)?.value, claims['oid']);
    assert.equal(result.variables.get(`${VAR}.TenantId`)?.value, claims['tid']);
    assert.ok(Date.parse(result.variables.get(`${VAR}.ExpiresOn`)?.value ?? '') > Date.now());
    assert.ok(result.variables.get(`${VAR}.DisplayName`)?.value, 'display name as Azure DevOps knows it');

    const main = result.steps[0]!;
    assert.deepEqual(leakedLines(main.raw, token), [], 'the token appears only in the commands that register it');
    assert.ok(main.raw.includes('##vso[task.setsecret]'), 'the token is registered as a secret');
    for (const step of result.steps) assert.deepEqual(leakedLines(step.raw, token), [], `no leak in ${step.displayName}`);
    assert.ok(!result.log.includes(token), 'the masked log never shows the token');
    assert.match(result.log, /Organization 'contoso' knows this identity as/);
    assert.match(result.log, /Organization 'fabrikam' knows this identity as/);

    assert.equal(result.steps[1]!.result, 'Succeeded', 'the later plain git clone of another organization works');

    assert.equal(main.summaries.length, 1, 'the step attaches a run summary');
    const summary = readFileSync(main.summaries[0]!, 'utf8');
    assert.match(summary, /\| Organizations \| contoso, fabrikam \|/);
    assert.match(summary, /\| Identity \| agent-vm \|/);
    assert.match(summary, /\| Identity source \| IMDS/);
    assert.match(summary, /\| Token valid until \| \d{4}-/);
    assert.ok(!leakForms(token).some((f) => summary.includes(f)), 'the summary holds no token');
    assert.equal(result.steps.at(-1)!.phase, 'post');
    assert.equal(result.steps.at(-1)!.result, 'Succeeded');

    // After the post-job step: a new clone with the job's environment no longer authenticates.
    const target = mkdtempSync(join(tmpdir(), 'mi-after-post-'));
    const after = await run('git', ['clone', templates, join(target, 'again')], laterStepEnv(result, h.emu.env()));
    assert.notEqual(after.status, 0, 'clone after the post-job step must fail');
    assert.match(after.stderr, /Authentication failed|could not read Username|credentials were removed/);
    assert.deepEqual(readdirSync(result.dirs.temp).filter((f) => f.startsWith('miado-git-')), [], 'no session file is left');

    // Nothing on disk, in argv or in git config holds the token.
    assert.deepEqual(filesContaining([result.dirs.agentRoot, result.dirs.home], leakForms(token)), []);
    const calls = git.calls();
    assert.ok(calls.length > 0, 'git calls were recorded');
    assert.deepEqual(calls.filter((argv) => leakForms(token).some((f) => argv.join(' ').includes(f))), []);
    assert.ok(!existsSync(join(result.dirs.home, '.gitconfig')), 'the global git config is untouched');
  });

  it('selects a user-assigned identity by client id and verifies it', async () => {
    const result = await h.run([{ task, inputs: { clientId: UAMI_BUILD.clientId, configureGit: 'false' } }]);
    assert.equal(result.result, 'Succeeded', result.log);
    assert.equal(decodeClaims(result.variables.get(VAR)!.value)['appid'], UAMI_BUILD.clientId);
    assert.equal(result.variables.get(`${VAR}.ClientId`)?.value, UAMI_BUILD.clientId);
    assert.equal(result.variables.has('GIT_CONFIG_COUNT'), false, 'configureGit: false sets no git variables');
  });

  it('publishes output variables when isOutput is true, with a warning', async () => {
    const result = await h.run([{ task, name: 'auth', inputs: { isOutput: 'true', configureGit: 'false' } }]);
    assert.equal(result.result, 'Succeeded', result.log);
    assert.ok(result.variables.get(`auth.${VAR}`)?.secret);
    assert.ok(result.variables.get(VAR)?.secret);
    assert.match(result.steps[0]!.warnings.join('\n'), /output variable/);
  });

  const badInputs: Array<[string, Record<string, string>, RegExp]> = [
    ['two selectors', { clientId: UAMI_BUILD.clientId, objectId: UAMI_BUILD.objectId }, /Input 'objectId' cannot be combined with 'clientId'/],
    ['a clientId that is not a GUID', { clientId: 'build-agent' }, /Input 'clientId' must be a GUID .*\(got 'build-agent'\)/],
    ['an organization on another host', { organizations: 'https://dev.azure.com.evil.test/contoso' }, /Input 'organizations' must be an organization name .*got 'https:\/\/dev\.azure\.com\.evil\.test\/contoso'/],
    ['a variableName with ;', { variableName: 'a;b' }, /Input 'variableName' must be a variable name.*got 'a;b'/],
    ['a variableName with ]', { variableName: 'a]b' }, /Input 'variableName' must be a variable name.*got 'a]b'/],
    ['a variableName with a newline', { variableName: 'a\nb' }, /Input 'variableName' must be a variable name.*got 'a\\u000ab'/],
  ];
  for (const [what, inputs, message] of badInputs) {
    it(`refuses ${what} with one clear error naming the input, before any request`, async () => {
      const before = h.emu.identity.requests.length;
      const result = await h.run([{ task, inputs }]);
      assert.equal(result.result, 'Failed');
      assert.equal(result.steps[0]!.errors.length, 1, result.steps[0]!.errors.join('\n'));
      assert.match(result.steps[0]!.errors[0]!, message);
      assert.equal(h.emu.identity.requests.length, before, 'no identity request was made');
      assert.equal(result.variables.has(VAR), false);
      assert.equal(result.variables.has('GIT_CONFIG_COUNT'), false);
    });
  }

  it('names the client id the identity endpoint does not know', async () => {
    const unknown = '11111111-2222-3333-4444-555555555555';
    const started = Date.now();
    const result = await h.run([{ task, inputs: { clientId: unknown } }]);
    assert.equal(result.result, 'Failed');
    assert.match(result.steps[0]!.errors.join('\n'), new RegExp(`identity not found.*|${unknown}`));
    assert.match(result.steps[0]!.errors.join('\n'), new RegExp(unknown));
    assert.ok(Date.now() - started < 10_000, 'identity not found is not retried');
  });

  it('explains TF400813 for an organization the identity is not a member of, and configures nothing', async () => {
    const result = await h.run([{ task, inputs: { clientId: UAMI_OUTSIDER.clientId, organizations: 'contoso' } }], { keepTempDirectory: true });
    assert.equal(result.result, 'Failed');
    const error = result.steps[0]!.errors.join('\n');
    assert.match(error, /not a member of organization 'contoso' \(TF400813/);
    assert.match(result.log, /Organization settings > Users/);
    assert.equal(result.variables.has(VAR), false, 'no token variable after a failure');
    assert.equal(result.variables.has('GIT_CONFIG_COUNT'), false, 'no git configuration after a failure');
    assert.deepEqual(readdirSync(result.dirs.temp).filter((f) => f.startsWith('miado-git-')), []);
  });

  it('explains an organization of another tenant', async () => {
    const result = await h.run([{ task, inputs: { organizations: 'northwind' } }]);
    assert.equal(result.result, 'Failed');
    assert.match(result.steps[0]!.errors.join('\n'), /belongs to tenant .*another tenant/);
  });

  it('treats a 203 sign-in page and an anonymous identity as failures, never success', async () => {
    h.emu.devops.faults.push({ match: (r) => r.path.endsWith('/_apis/connectionData'), status: 203, body: '<html><title>Sign In</title></html>', headers: { 'content-type': 'text/html' }, times: 1 });
    const signIn = await h.run([{ task, inputs: { configureGit: 'false' } }]);
    assert.equal(signIn.result, 'Failed', signIn.log);
    assert.match(signIn.steps[0]!.errors.join('\n'), /sign-in page \(HTTP 203\)/);

    h.emu.devops.faults.push({ match: (r) => r.path.endsWith('/_apis/connectionData'), status: 200,
      body: { authenticatedUser: { id: 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', providerDisplayName: 'Anonymous' } }, times: 1 });
    const anonymous = await h.run([{ task, inputs: { configureGit: 'false' } }]);
    assert.equal(anonymous.result, 'Failed');
    assert.match(anonymous.steps[0]!.errors.join('\n'), /not a member of organization 'contoso'/);
  });

  it('uses the pipeline’s own organization by default', async () => {
    const before = h.emu.devops.requests.length;
    const result = await h.run([{ task, inputs: {} }]);
    assert.equal(result.result, 'Succeeded', result.log);
    const paths = h.emu.devops.requests.slice(before).map((r) => r.path);
    assert.ok(paths.some((p) => p.startsWith(`/${CONTOSO.name}/_apis/connectionData`)), paths.join(' '));
    assert.ok(!paths.some((p) => p.startsWith(`/${FABRIKAM.name}/`)));
  });
});
