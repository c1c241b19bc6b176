import assert from 'node:assert/strict';
import { InputError } from '../../src/core/errors';
import { AZURE_DEVOPS_ONLY, isTokenHost, parseLoopbackHosts, parseOrganization } from '../../src/devops/organizations';

describe('organizations', () => {
  const emulator = parseLoopbackHosts('ManagedIdentity.TestHosts', '127.0.0.1:8080');

  it('accepts names and both Azure DevOps URL forms', () => {
    for (const value of ['contoso', 'https://dev.azure.com/contoso', 'https://dev.azure.com/contoso/', 'https://contoso.visualstudio.com', 'https://CONTOSO.visualstudio.com/DefaultCollection/']) {
      const org = parseOrganization('organizations', value, AZURE_DEVOPS_ONLY);
      assert.equal(org.name.toLowerCase(), 'contoso', value);
      assert.equal(org.url.toLowerCase(), 'https://dev.azure.com/contoso/', value);
      assert.deepEqual(org.gitPrefixes.map((p) => p.toLowerCase()), ['https://dev.azure.com/contoso/', 'https://contoso.visualstudio.com/']);
    }
  });

  it('refuses look-alike hosts, userinfo, queries, http and extra segments, naming the input', () => {
    const bad = [
      'https://dev.azure.com.evil.test/contoso', 'https://evil.test/dev.azure.com', 'http://dev.azure.com/contoso',
      'https://user:pw@dev.azure.com/contoso', 'https://dev.azure.com/contoso?x=1', 'https://dev.azure.com/contoso#x',
      'https://dev.azure.com/contoso/project', 'https://dev.azure.com:8443/contoso', '--upload-pack=x', 'con toso',
      'https://a.b.visualstudio.com/', 'https://127.0.0.1:8080/contoso', 'contoso/../x', '-contoso',
    ];
    for (const value of bad) {
      assert.throws(() => parseOrganization('organizations', value, AZURE_DEVOPS_ONLY), (err: unknown) =>
        err instanceof InputError && err.message.startsWith("Input 'organizations'") && err.message.includes('https://dev.azure.com/contoso'), value);
    }
  });

  it('accepts a loopback emulator only when the pipeline lists it, and resolves bare names there', () => {
    const home = parseOrganization('System.CollectionUri', 'http://127.0.0.1:8080/contoso/', emulator);
    assert.equal(home.url, 'http://127.0.0.1:8080/contoso/');
    assert.equal(parseOrganization('organizations', 'fabrikam', emulator, home).url, 'http://127.0.0.1:8080/fabrikam/');
    assert.throws(() => parseOrganization('organizations', 'http://127.0.0.1:9999/contoso/', emulator), InputError);
  });

  it('sends tokens only to Azure DevOps over https or to listed loopback hosts', () => {
    assert.ok(isTokenHost(new URL('https://dev.azure.com/x'), AZURE_DEVOPS_ONLY));
    assert.ok(isTokenHost(new URL('https://vssps.dev.azure.com/x'), AZURE_DEVOPS_ONLY));
    assert.ok(isTokenHost(new URL('https://contoso.visualstudio.com/'), AZURE_DEVOPS_ONLY));
    for (const url of ['http://dev.azure.com/x', 'https://dev.azure.com.evil.test/', 'https://evildev.azure.com/', 'https://x@dev.azure.com/', 'http://127.0.0.1:8080/x']) {
      assert.equal(isTokenHost(new URL(url), AZURE_DEVOPS_ONLY), false, url);
    }
    assert.ok(isTokenHost(new URL('http://127.0.0.1:8080/x'), emulator));
  });

  it('accepts only loopback test hosts', () => {
    for (const value of ['10.0.0.1:80', 'example.test:80', '127.0.0.1', '127.0.0.1:99999', 'localhost:1@evil']) {
      assert.throws(() => parseLoopbackHosts('ManagedIdentity.TestHosts', value), /ManagedIdentity\.TestHosts/, value);
    }
    assert.deepEqual(parseLoopbackHosts('v', 'localhost:1, [::1]:2').loopbackHosts, ['localhost:1', '[::1]:2']);
  });
});
