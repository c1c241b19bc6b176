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
    const accepted = [
      'https://dev.azure.com/x', 'https://dev.azure.com/', 'https://vssps.dev.azure.com/x', 'https://contoso.visualstudio.com/',
      'https://contoso.visualstudio.com/DefaultCollection/Web/_git/app', 'https://dev.azure.com/contoso/Web/_git/app',
      // Azure Artifacts feeds (the feeds work calls isTokenHost for these).
      'https://pkgs.dev.azure.com/contoso/_packaging/tools/npm/registry/', 'https://pkgs.dev.azure.com/contoso/Web/_packaging/tools/nuget/v3/index.json',
      'https://feeds.dev.azure.com/contoso/_apis/packaging/feeds', 'https://contoso.pkgs.visualstudio.com/_packaging/tools/npm/registry/',
      'https://contoso.feeds.visualstudio.com/_apis/packaging/feeds', 'https://PKGS.Dev.Azure.com:443/contoso/',
      'https://vsrm.dev.azure.com/contoso/_apis/release/releases', 'https://almsearch.dev.azure.com/contoso/_apis/search/codesearchresults',
      'https://contoso.vsrm.visualstudio.com/', 'https://contoso.vsblob.visualstudio.com/',
    ];
    for (const url of accepted) assert.ok(isTokenHost(new URL(url), AZURE_DEVOPS_ONLY), url);
    const refused = [
      'http://dev.azure.com/x', 'https://dev.azure.com.evil.test/', 'https://evildev.azure.com/', 'https://x@dev.azure.com/', 'http://127.0.0.1:8080/x',
      // Look-alikes of the feed hosts, and hosts deeper than the one level Azure DevOps uses.
      'http://pkgs.dev.azure.com/contoso/', 'https://pkgs.dev.azure.com.evil.example/contoso/', 'https://dev.azure.com@evil.example/contoso/',
      'https://x.y.dev.azure.com/contoso/', 'https://contoso.pkgs.dev.azure.com/contoso/', 'https://evil.dev.azure.com/contoso/',
      'https://pkgs.dev.azure.com:8443/contoso/', 'https://u:p@pkgs.dev.azure.com/contoso/', 'https://contoso.evil.visualstudio.com/',
      'https://a.b.pkgs.visualstudio.com/', 'http://contoso.pkgs.visualstudio.com/', 'https://pkgs.visualstudio.com/', 'https://feeds.visualstudio.com/',
      // Microsoft sites on the same domains that are not an organization's Azure DevOps.
      'https://code.visualstudio.com/', 'https://marketplace.visualstudio.com/items?itemName=x', 'https://www.visualstudio.com/',
      'https://my.visualstudio.com/', 'https://app.vssps.visualstudio.com/_apis/profile/profiles/me', 'https://app.vsaex.visualstudio.com/',
      'https://aexprodea1.vsaex.visualstudio.com/', 'https://status.dev.azure.com/_apis/status/health', 'https://aex.dev.azure.com/me',
      'https://developercommunity.visualstudio.com/', 'https://visualstudio.com/', 'https://azure.com/', 'https://dev.azure.com./contoso/',
      // dev.azure.com and its service hosts without an organization first in the path.
      'https://dev.azure.com/_apis/resourceAreas', 'https://vssps.dev.azure.com/_apis/x', 'https://dev.azure.com/-x/', 'https://dev.azure.com/www/',
    ];
    for (const url of refused) assert.equal(isTokenHost(new URL(url), AZURE_DEVOPS_ONLY), false, url);
    assert.ok(isTokenHost(new URL('http://127.0.0.1:8080/x'), emulator));
  });

  it('refuses Microsoft sites as organizations, in every form', () => {
    for (const value of ['code', 'https://code.visualstudio.com', 'https://marketplace.visualstudio.com/', 'www', 'https://dev.azure.com/www', 'https://app.visualstudio.com']) {
      assert.throws(() => parseOrganization('organizations', value, AZURE_DEVOPS_ONLY), (err: unknown) => err instanceof InputError && err.message.startsWith("Input 'organizations'"), value);
    }
    for (const org of [parseOrganization('organizations', 'contoso', AZURE_DEVOPS_ONLY), parseOrganization('organizations', 'https://fabrikam.visualstudio.com', AZURE_DEVOPS_ONLY)]) {
      for (const prefix of [org.url, ...org.gitPrefixes]) assert.ok(isTokenHost(new URL(prefix), AZURE_DEVOPS_ONLY), prefix);
    }
  });

  it('accepts only loopback test hosts', () => {
    for (const value of ['10.0.0.1:80', 'example.test:80', '127.0.0.1', '127.0.0.1:99999', 'localhost:1@evil']) {
      assert.throws(() => parseLoopbackHosts('ManagedIdentity.TestHosts', value), /ManagedIdentity\.TestHosts/, value);
    }
    assert.deepEqual(parseLoopbackHosts('v', 'localhost:1, [::1]:2').loopbackHosts, ['localhost:1', '[::1]:2']);
  });
});
