import assert from 'node:assert/strict';
import { InputError } from '../../src/core/errors';
import { AZURE_DEVOPS_ONLY, parseLoopbackHosts, parseOrganization, type Organization } from '../../src/devops/organizations';
import { cloneUrl, describeRepository, parseRepository, type RepositoryRef } from '../../src/devops/repository-ref';
import { readRepositorySettings, type CheckoutSettings } from '../../src/tasks/repository/settings';

const INPUT = 'repository';
const contoso = parseOrganization('System.CollectionUri', 'https://dev.azure.com/contoso/', AZURE_DEVOPS_ONLY);

interface Pipeline { home: Organization | undefined; project: string | undefined }
const IN_CONTOSO_WEB: Pipeline = { home: contoso, project: 'Web' };

function parse(value: string, pipeline = IN_CONTOSO_WEB): RepositoryRef {
  return parseRepository(INPUT, value, AZURE_DEVOPS_ONLY, pipeline.home, pipeline.project);
}

function parts(ref: RepositoryRef): [string, string, string, string] {
  return [ref.organization.name, ref.organization.url, ref.project, ref.repository];
}

/** Asserts one InputError naming the input, quoting the value and listing the accepted forms. */
function refused(value: string): void {
  assert.throws(() => parse(value), (err: unknown) => {
    assert.ok(err instanceof InputError, `${value}: ${String(err)}`);
    assert.ok(err.message.startsWith(`Input '${INPUT}' must be https://dev.azure.com/{organization}/{project}/_git/{repository}`), err.message);
    assert.ok(err.message.includes('{organization}/{project}/{repository}, {project}/{repository} or {repository}'), err.message);
    assert.ok(err.message.endsWith(`(got '${value.replace(/\n/g, '\\u000a').replace(/\t/g, '\\u0009')}').`), err.message);
    return true;
  }, value);
}

describe('repository input (repository-ref)', () => {
  it('reads every URL form of Azure DevOps', () => {
    const fabrikam = ['fabrikam', 'https://dev.azure.com/fabrikam/', 'Shared Tools', 'templates'];
    const forms = [
      'https://dev.azure.com/fabrikam/Shared%20Tools/_git/templates',
      'https://dev.azure.com/fabrikam/Shared Tools/_git/templates',
      'https://fabrikam@dev.azure.com/fabrikam/Shared%20Tools/_git/templates',
      'https://FABRIKAM@dev.azure.com/fabrikam/Shared%20Tools/_git/templates/',
      'https://fabrikam.visualstudio.com/Shared%20Tools/_git/templates',
      'https://fabrikam.visualstudio.com/DefaultCollection/Shared%20Tools/_git/templates',
      'https://fabrikam.visualstudio.com/defaultcollection/Shared%20Tools/_git/templates',
      '  https://dev.azure.com/fabrikam/Shared%20Tools/_git/templates  ',
    ];
    for (const value of forms) assert.deepEqual(parts(parse(value)), fabrikam, value);
  });

  it('reads the project-less URL form, where the project has the repository’s name', () => {
    assert.deepEqual(parts(parse('https://dev.azure.com/fabrikam/_git/Tools')), ['fabrikam', 'https://dev.azure.com/fabrikam/', 'Tools', 'Tools']);
    assert.deepEqual(parts(parse('https://fabrikam.visualstudio.com/_git/Tools')), ['fabrikam', 'https://dev.azure.com/fabrikam/', 'Tools', 'Tools']);
  });

  it('reads the short forms, taking missing parts from the pipeline', () => {
    assert.deepEqual(parts(parse('fabrikam/Shared Tools/templates')), ['fabrikam', 'https://dev.azure.com/fabrikam/', 'Shared Tools', 'templates']);
    assert.deepEqual(parts(parse('Shared Tools/templates')), ['contoso', 'https://dev.azure.com/contoso/', 'Shared Tools', 'templates']);
    assert.deepEqual(parts(parse('app')), ['contoso', 'https://dev.azure.com/contoso/', 'Web', 'app']);
    assert.deepEqual(parts(parse('fabrikam/Shared%20Tools/templates')), ['fabrikam', 'https://dev.azure.com/fabrikam/', 'Shared Tools', 'templates']);
  });

  it('keeps spaces and non-ASCII names, decoded, and encodes them again in the clone URL', () => {
    const forms = [
      'fabrikam/Shared Tools/Ünïcode Repo',
      'https://dev.azure.com/fabrikam/Shared%20Tools/_git/%C3%9Cn%C3%AFcode%20Repo',
      'https://dev.azure.com/fabrikam/Shared Tools/_git/Ünïcode Repo',
      'https://fabrikam.visualstudio.com/Shared%20Tools/_git/%C3%9Cn%C3%AFcode%20Repo',
    ];
    for (const value of forms) {
      const ref = parse(value);
      assert.deepEqual(parts(ref), ['fabrikam', 'https://dev.azure.com/fabrikam/', 'Shared Tools', 'Ünïcode Repo'], value);
      assert.equal(cloneUrl(ref), 'https://dev.azure.com/fabrikam/Shared%20Tools/_git/%C3%9Cn%C3%AFcode%20Repo');
      assert.equal(describeRepository(ref), 'fabrikam/Shared Tools/Ünïcode Repo');
    }
    // Normalization is left to Azure DevOps: a decomposed "Ü" stays decomposed.
    assert.equal(parse('Shared Tools/U\u0308ber').repository, 'U\u0308ber');
  });

  it('resolves short names to the emulator when the pipeline runs there, and accepts its URLs only when listed', () => {
    const policy = parseLoopbackHosts('ManagedIdentity.TestHosts', '127.0.0.1:8080');
    const home = parseOrganization('System.CollectionUri', 'http://127.0.0.1:8080/contoso/', policy);
    const short = parseRepository(INPUT, 'fabrikam/Shared Tools/templates', policy, home, 'Web');
    assert.equal(cloneUrl(short), 'http://127.0.0.1:8080/fabrikam/Shared%20Tools/_git/templates');
    const url = parseRepository(INPUT, 'http://fabrikam@127.0.0.1:8080/fabrikam/Shared%20Tools/_git/templates', policy, home, 'Web');
    assert.deepEqual(parts(url), ['fabrikam', 'http://127.0.0.1:8080/fabrikam/', 'Shared Tools', 'templates']);
    refused('http://127.0.0.1:8080/fabrikam/Shared%20Tools/_git/templates');
  });

  it('refuses option-shaped values and names git or a shell could misread', () => {
    for (const value of ['-x', '--upload-pack=touch /tmp/x', 'Web/-app', '-contoso/Web/app', '_app', '.app', 'app.', 'Web/_git']) {
      refused(value);
    }
  });

  it('refuses dot segments, also encoded ones the URL parser would resolve', () => {
    for (const value of [
      '..', '.', 'Web/..', '../app', 'contoso/../app', 'fabrikam/Shared Tools/..',
      'https://dev.azure.com/contoso/../fabrikam/Shared%20Tools/_git/templates',
      'https://dev.azure.com/contoso/%2e%2e/fabrikam/Shared%20Tools/_git/templates',
      'https://dev.azure.com/contoso/.%2E/fabrikam/Shared%20Tools/_git/templates',
      'https://dev.azure.com/fabrikam/Shared%20Tools/./_git/templates',
      'https://dev.azure.com/fabrikam/Shared%20Tools/_git/..',
      'https://dev.azure.com/fabrikam/Shared%20Tools/_git/%2e%2e',
    ]) {
      refused(value);
    }
  });

  it('refuses @, #, ? and other characters Azure DevOps does not allow in names', () => {
    for (const value of [
      'Web/app@evil', 'contoso@evil/Web/app', 'Web/app#x', 'Web/app?x=1', 'Web/a%40b', 'Web/a%23b', 'Web/a%3Fb',
      'Web/a:b', 'Web/a;b', 'Web/a|b', 'Web/a$b', 'Web/a{b}', 'Web/a,b', 'Web/a+b', 'Web/a=b', 'Web/a[b]', 'Web/a%25b',
      'Web/a\\b', 'Web/a*b', 'Web/a"b', 'Web/a<b>', 'We\tb/app', 'Web/ app', 'Web//app', '/app', 'a/b/c/d', 'Web/a%zzb',
      'https://dev.azure.com/fabrikam/Shared%20Tools/_git/templates?path=/x',
      'https://dev.azure.com/fabrikam/Shared%20Tools/_git/templates?',
      'https://dev.azure.com/fabrikam/Shared%20Tools/_git/templates#',
      'https://dev.azure.com/fabrikam/Shared%20Tools/_git/templates#x',
      'https://dev.azure.com/fabrikam/Shared%20Tools/_git/te%40mplates',
      'https://dev.azure.com/fabrikam\\Shared%20Tools/_git/templates',
    ]) {
      refused(value);
    }
  });

  it('refuses userinfo other than the organization’s own name, and passwords', () => {
    for (const value of [
      'https://contoso@dev.azure.com/fabrikam/Shared%20Tools/_git/templates',
      'https://fabrikam:secret@dev.azure.com/fabrikam/Shared%20Tools/_git/templates',
      'https://user@fabrikam.visualstudio.com/Shared%20Tools/_git/templates',
      'https://:x@dev.azure.com/fabrikam/Shared%20Tools/_git/templates',
    ]) {
      refused(value);
    }
  });

  it('refuses look-alike hosts, http, other ports and URLs that are not repository URLs', () => {
    for (const value of [
      'https://dev.azure.com.evil.test/fabrikam/Shared%20Tools/_git/templates',
      'https://evil.test/dev.azure.com/fabrikam/Shared%20Tools/_git/templates',
      'https://dev.azure.com@evil.test/fabrikam/Shared%20Tools/_git/templates',
      'https://fabrikam.visualstudio.com@evil.test/Shared%20Tools/_git/templates',
      'https://fabrikam.visualstudio.com.evil.test/Shared%20Tools/_git/templates',
      'https://evil-dev.azure.com/fabrikam/Shared%20Tools/_git/templates',
      'https://dev-azure.com/fabrikam/Shared%20Tools/_git/templates',
      'https://dev.azure.co/fabrikam/Shared%20Tools/_git/templates',
      'https://dev.\u0430zure.com/fabrikam/Shared%20Tools/_git/templates',
      'https://a.fabrikam.visualstudio.com/Shared%20Tools/_git/templates',
      'https://vssps.dev.azure.com/fabrikam/Shared%20Tools/_git/templates',
      'http://dev.azure.com/fabrikam/Shared%20Tools/_git/templates',
      'https://dev.azure.com:8443/fabrikam/Shared%20Tools/_git/templates',
      'http://127.0.0.1:8080/fabrikam/Shared%20Tools/_git/templates',
      'ssh://git@ssh.dev.azure.com/v3/fabrikam/Shared%20Tools/templates',
      'git@ssh.dev.azure.com:v3/fabrikam/Shared%20Tools/templates',
      'file:///srv/git/templates',
      'https://dev.azure.com/fabrikam/Shared%20Tools/templates',
      'https://dev.azure.com/fabrikam/Shared%20Tools/_git/templates/extra',
      'https://dev.azure.com/fabrikam/a/b/_git/templates',
      'https://dev.azure.com/_git/templates',
      'https://fabrikam.visualstudio.com/DefaultCollection/a/b/_git/templates',
    ]) {
      refused(value);
    }
  });

  it('asks for the missing parts when the pipeline’s organization or project is unknown', () => {
    const cases: Array<[string, Pipeline]> = [['app', { home: contoso, project: undefined }], ['Web/app', { home: undefined, project: 'Web' }], ['app', { home: undefined, project: undefined }]];
    for (const [value, pipeline] of cases) {
      assert.throws(() => parse(value, pipeline), (err: unknown) =>
        err instanceof InputError && /the organization and project of this pipeline are not known here, so give them/.test(err.message) && err.message.includes(`(got '${value}')`));
    }
    assert.equal(parse('fabrikam/Shared Tools/templates', { home: undefined, project: undefined }).organization.name, 'fabrikam');
  });

  it('reaches the task settings with System.CollectionUri and System.TeamProject filling the gaps', () => {
    const variables: Record<string, string> = {
      'System.CollectionUri': 'https://contoso.visualstudio.com/',
      'System.TeamProject': 'Web',
      'Pipeline.Workspace': '/tmp',
    };
    const settings = (repository: string): CheckoutSettings => readRepositorySettings({
      input: (name) => ({ command: 'checkout', repository } as Record<string, string>)[name],
      variable: (name) => variables[name],
    }).command as CheckoutSettings;
    assert.deepEqual(parts(settings('app').repository), ['contoso', 'https://dev.azure.com/contoso/', 'Web', 'app']);
    assert.deepEqual(parts(settings('Shared Tools/templates').repository), ['contoso', 'https://dev.azure.com/contoso/', 'Shared Tools', 'templates']);
    assert.throws(() => settings('Web/app@x'), /^InputError: Input 'repository' must be https:\/\/dev\.azure\.com/);
  });
});
