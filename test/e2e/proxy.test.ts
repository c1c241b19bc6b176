/**
 * On an agent with a proxy, Azure DevOps is reached through it and the identity endpoint never is.
 *
 * The agent's proxy reaches the task as the variable Agent.ProxyUrl (task-lib exposes it to
 * azure-devops-node-api as globals; research/task-extension.md §2.2, devops-side.md §3.1); operators also
 * set HTTPS_PROXY / HTTP_PROXY in the agent's environment, which @azure/identity's default transport and
 * git honour. NO_PROXY is emptied so that nothing in the environment keeps loopback off the proxy: the
 * Azure DevOps emulator and the identity emulator share 127.0.0.1, so only the product's own logic can
 * send one through the proxy and not the other. A control shows the same environment would send a bare
 * @azure/identity request through the proxy.
 */
import assert from 'node:assert/strict';
import { AGENT_VM, UAMI_BUILD } from '../emulators';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy';
import { END_JOB_BROKER, harness, run, taskDir, type Harness } from './support';

describe('proxy: Azure DevOps through the agent’s proxy, identity endpoints never', function () {
  this.timeout(60_000);
  let h: Harness;
  let proxy: RecordingProxy;
  let task: string;
  let proxyEnv: Record<string, string>;
  let devopsHost: string;
  let identityHost: string;
  before(async () => {
    [h, proxy, task] = await Promise.all([harness(), startRecordingProxy(), taskDir('ManagedIdentityAuthenticate')]);
    proxyEnv = {
      HTTPS_PROXY: proxy.url, https_proxy: proxy.url, HTTP_PROXY: proxy.url, http_proxy: proxy.url,
      NO_PROXY: '', no_proxy: '',
    };
    devopsHost = new URL(h.emu.devops.url).host;
    identityHost = new URL(h.emu.identity.url).host;
    assert.notEqual(devopsHost, identityHost);
  });
  after(async () => {
    await proxy?.stop();
    await h?.stop();
  });

  it('control: this environment sends @azure/identity’s own transport through the proxy', async () => {
    const before = proxy.requests.length;
    const script = `require('@azure/identity').ManagedIdentityCredential.prototype;
      new (require('@azure/identity').ManagedIdentityCredential)({ retryOptions: { maxRetries: 0 } })
        .getToken('499b84ac-1321-427f-aa17-267ca6975798/.default').then(() => console.log('token'), (e) => console.log(e.message));`;
    const out = await run(process.execPath, ['-e', script], { PATH: process.env['PATH'] ?? '', ...h.emu.identity.envFor('imds'), ...proxyEnv }, process.cwd());
    assert.match(out.stdout, /token/, out.stdout + out.stderr);
    const seen = proxy.requests.slice(before);
    assert.ok(seen.some((r) => r.kind === 'forward' && r.host === identityHost && r.path.startsWith('/metadata/identity/oauth2/token')),
      `the library alone went through the proxy: ${JSON.stringify(seen)}`);
  });

  it('authenticate and a later git step: connectionData and git through the proxy, every token request direct', async () => {
    const proxyBefore = proxy.requests.length;
    const identityBefore = h.emu.identity.requests.length;
    const repo = h.emu.devops.cloneUrl('fabrikam', 'Shared Tools', 'templates').replace(/\/\/[^@/]+@/, '//');
    const result = await h.run([
      { task, inputs: { clientId: UAMI_BUILD.clientId, organizations: 'contoso\nfabrikam' } },
      // The first git request's helper asks the identity endpoint (and starts the job's broker); with the broker gone,
      // the second's asks again: those requests must go direct too.
      { script: `git ls-remote "${repo}" refs/heads/main && ${END_JOB_BROKER} && git ls-remote "${repo}" refs/heads/main` },
    ], { env: proxyEnv, variables: { 'Agent.ProxyUrl': proxy.url } });

    assert.equal(result.result, 'Succeeded', result.log);
    assert.match(result.log, /Organization 'contoso' knows this identity as 'uami-build'/);
    const seen = proxy.requests.slice(proxyBefore);
    // azure-devops-node-api: CONNECT tunnels to the Azure DevOps host, with connectionData inside.
    assert.ok(seen.some((r) => r.kind === 'connect' && r.host === devopsHost), JSON.stringify(seen));
    for (const org of ['contoso', 'fabrikam']) {
      assert.ok(seen.some((r) => r.kind === 'tunnelled' && r.host === devopsHost && r.path.startsWith(`/${org}/_apis/connectionData`)),
        `connectionData of ${org} went through the proxy: ${JSON.stringify(seen)}`);
    }
    // git: absolute-URI forwarding of the smart HTTP requests.
    assert.ok(seen.some((r) => r.kind === 'forward' && r.host === devopsHost && /\/_git\/templates\/info\/refs\?service=git-upload-pack/.test(r.path)),
      `git went through the proxy: ${JSON.stringify(seen)}`);
    // The identity endpoint: never through the proxy, from the task or from the credential helper git ran.
    assert.deepEqual(seen.filter((r) => r.host === identityHost), [], 'no request to the identity endpoint passed through the proxy');
    const direct = h.emu.identity.requests.slice(identityBefore);
    assert.ok(direct.length >= 3, `the task and the credential helper of each git request asked the identity endpoint directly (${direct.length})`);
    assert.ok(direct.every((r) => r.query['client_id'] === UAMI_BUILD.clientId));
    assert.equal(result.steps[1]!.result, 'Succeeded', result.steps[1]!.log.join('\n'));
    assert.match(result.steps[1]!.raw, /refs\/heads\/main/);
  });

  it('AKS workload identity: Entra ID (not a local endpoint) is reached as the pod’s HTTPS_PROXY / NO_PROXY say', async () => {
    const entra = await h.emu.entra();
    const entraHost = new URL(entra.url).host;
    const job = (env: Record<string, string>) =>
      h.run([{ task, inputs: { configureGit: 'false' } }], { env: { ...entra.env(UAMI_BUILD.key), ...proxyEnv, ...env }, variables: { 'Agent.ProxyUrl': proxy.url } });

    let before = proxy.requests.length;
    const proxied = await job({});
    assert.equal(proxied.result, 'Succeeded', proxied.log);
    let seen = proxy.requests.slice(before);
    assert.ok(seen.some((r) => r.kind === 'connect' && r.host === entraHost), `Entra through the pod's proxy: ${JSON.stringify(seen)}`);
    assert.ok(seen.some((r) => r.kind === 'tunnelled' && r.host === devopsHost && r.path.startsWith('/contoso/_apis/connectionData')));

    before = proxy.requests.length;
    const exempt = await job({ NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' });
    assert.equal(exempt.result, 'Succeeded', exempt.log);
    seen = proxy.requests.slice(before);
    assert.deepEqual(seen.filter((r) => r.host === entraHost), [], 'NO_PROXY exempts Entra');
    assert.ok(seen.some((r) => r.kind === 'tunnelled' && r.host === devopsHost && r.path.startsWith('/contoso/_apis/connectionData')),
      'Azure DevOps still goes through the agent’s proxy');
  });

  it('with only HTTPS_PROXY in the environment (no agent proxy), the identity endpoint is still reached directly', async () => {
    const proxyBefore = proxy.requests.length;
    const result = await h.run([{ task, inputs: { configureGit: 'false' } }], { env: proxyEnv });
    assert.equal(result.result, 'Succeeded', result.log);
    assert.equal(result.variables.get('AzureDevOps.AccessToken.ObjectId')?.value, AGENT_VM.objectId);
    assert.deepEqual(proxy.requests.slice(proxyBefore).filter((r) => r.host === identityHost), []);
  });
});
