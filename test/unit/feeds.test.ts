/**
 * src/feeds without the agent: the feed lines, the hosts a token may go to, and what each writer puts in
 * its file or variables, through a recording FeedJob (the agent adapter's interface) in a temp directory.
 * The packaged task with real clients is test/e2e/feeds.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/core/errors';
import { AZURE_DEVOPS_ONLY, isTokenHost, parseLoopbackHosts, parseOrganization } from '../../src/devops/organizations';
import type { AzureDevOpsToken } from '../../src/identity/managed-identity';
import type { IdentitySource } from '../../src/identity/source';
import { configureFeeds, removeFeedConfiguration, renewalClientId } from '../../src/feeds/configure';
import { parseFeeds } from '../../src/feeds/feed';
import type { FeedJob } from '../../src/feeds/job';
import { withServers } from '../../src/feeds/maven';
import { nerfDart, withoutCredentials } from '../../src/feeds/npm';
import { iniSections } from '../../src/feeds/twine';

const EMULATOR = parseLoopbackHosts('ManagedIdentity.TestHosts', '127.0.0.1:8080');
const HOME = parseOrganization('System.CollectionUri', 'http://127.0.0.1:8080/contoso/', EMULATOR);
const urls = (feeds: ReturnType<typeof parseFeeds>, i = 0): Record<string, string> => Object.fromEntries(feeds[i]!.urls);

describe('feeds: the feed lines', () => {
  it('{org}/{feed} and {org}/{project}/{feed} configure every client on pkgs.dev.azure.com; verification goes to feeds.dev.azure.com', () => {
    const feeds = parseFeeds('feeds', 'contoso/libs\nfabrikam/Shared Tools/tools as fabrikamTools  # another organization', AZURE_DEVOPS_ONLY);
    assert.deepEqual(urls(feeds), {
      npm: 'https://pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/',
      pip: 'https://pkgs.dev.azure.com/contoso/_packaging/libs/pypi/simple/',
      twine: 'https://pkgs.dev.azure.com/contoso/_packaging/libs/pypi/upload/',
      nuget: 'https://pkgs.dev.azure.com/contoso/_packaging/libs/nuget/v3/index.json',
      maven: 'https://pkgs.dev.azure.com/contoso/_packaging/libs/maven/v1',
      gradle: 'https://pkgs.dev.azure.com/contoso/_packaging/libs/maven/v1',
      cargo: 'https://pkgs.dev.azure.com/contoso/_packaging/libs/Cargo/index/',
    });
    assert.equal(feeds[0]!.api.url, 'https://feeds.dev.azure.com/contoso/');
    assert.equal(feeds[0]!.apiPath, '_apis/packaging/feeds/libs');
    assert.equal(feeds[1]!.project, 'Shared Tools');
    assert.equal(feeds[1]!.name, 'fabrikamTools');
    assert.equal(feeds[1]!.line, 2);
    assert.equal(urls(feeds, 1)['npm'], 'https://pkgs.dev.azure.com/fabrikam/Shared%20Tools/_packaging/tools/npm/registry/');
    assert.equal(feeds[1]!.apiPath, 'Shared%20Tools/_apis/packaging/feeds/tools');
  });

  it('a client URL configures that client (Maven also Gradle), kept as written with the trailing slash npm, pip and Cargo need', () => {
    const feeds = parseFeeds('feeds', [
      'https://pkgs.dev.azure.com/contoso/Web/_packaging/libs@Release/npm/registry',
      'https://contoso.pkgs.visualstudio.com/_packaging/libs/nuget/v3/index.json',
      'sparse+https://pkgs.dev.azure.com/contoso/_packaging/libs/cargo/index as libs2',
      'https://pkgs.dev.azure.com/Contoso/_packaging/libs/maven/v1',
      '# a comment',
      '',
      'https://pkgs.dev.azure.com/contoso/_packaging/b5f5c6e2-7f0e-4f64-9b5c-3f2a1d0e9c11/pypi/upload/',
    ].join('\n'), AZURE_DEVOPS_ONLY);
    assert.deepEqual(urls(feeds, 0), { npm: 'https://pkgs.dev.azure.com/contoso/Web/_packaging/libs@Release/npm/registry/' });
    assert.equal(feeds[0]!.feed, 'libs@Release');
    assert.equal(feeds[0]!.name, 'libs');
    assert.equal(feeds[0]!.apiPath, 'Web/_apis/packaging/feeds/libs%40Release');
    assert.deepEqual(urls(feeds, 1), { nuget: 'https://contoso.pkgs.visualstudio.com/_packaging/libs/nuget/v3/index.json' });
    assert.equal(feeds[1]!.api.url, 'https://feeds.dev.azure.com/contoso/');
    assert.deepEqual(urls(feeds, 2), { cargo: 'https://pkgs.dev.azure.com/contoso/_packaging/libs/cargo/index/' });
    assert.deepEqual(Object.keys(urls(feeds, 3)), ['maven', 'gradle']);
    assert.equal(feeds[3]!.org, 'Contoso');
    assert.equal(feeds[4]!.line, 7);
  });

  it('on a listed loopback emulator, and a bare {org}/{feed} where the pipeline\'s organization lives', () => {
    const feeds = parseFeeds('feeds', 'http://127.0.0.1:8080/fabrikam/_packaging/tools/npm/registry/\ncontoso/libs', EMULATOR, HOME);
    assert.equal(urls(feeds)['npm'], 'http://127.0.0.1:8080/fabrikam/_packaging/tools/npm/registry/');
    assert.equal(feeds[0]!.api.url, 'http://127.0.0.1:8080/fabrikam/');
    assert.equal(urls(feeds, 1)['pip'], 'http://127.0.0.1:8080/contoso/_packaging/libs/pypi/simple/');
    assert.throws(() => parseFeeds('feeds', 'http://127.0.0.1:9999/contoso/_packaging/libs/npm/registry/', EMULATOR), /not an Azure Artifacts feed URL/);
  });

  it('tokens go only to Azure Artifacts hosts: look-alikes, http, other ports and credentials in the URL are refused', () => {
    const ok = ['https://pkgs.dev.azure.com/x', 'https://contoso.pkgs.visualstudio.com/x', 'https://CONTOSO.PKGS.VISUALSTUDIO.COM/x'];
    const refused = ['https://contoso.pkgs.visualstudio.com.evil.test/x', 'https://a.b.pkgs.visualstudio.com/x', 'http://contoso.pkgs.visualstudio.com/x',
      'https://contoso.pkgs.visualstudio.com:8443/x', 'https://u:p@contoso.pkgs.visualstudio.com/x', 'https://evil.test/x'];
    for (const u of ok) assert.ok(isTokenHost(new URL(u), AZURE_DEVOPS_ONLY), u);
    for (const u of refused) assert.ok(!isTokenHost(new URL(u), AZURE_DEVOPS_ONLY), u);
    for (const line of ['https://pkgs.dev.azure.com.evil.test/contoso/_packaging/libs/npm/registry/', 'https://dev.azure.com/contoso/_packaging/libs/npm/registry/']) {
      assert.throws(() => parseFeeds('feeds', line, AZURE_DEVOPS_ONLY), InputError, line);
    }
  });

  it('refuses malformed lines, names clients would share, and Cargo names Cargo does not allow, naming the line', () => {
    const refused: Array<[string, RegExp]> = [
      ['contoso', /line 1 must list one feed a line/],
      ['contoso/a/b/c', /line 1 must list/],
      ['con toso/libs', /line 1 must list/],
      ['contoso/.libs', /line 1 must list/],
      ['contoso/libs@a@b', /line 1 must list/],
      ['\n\nhttps://pkgs.dev.azure.com/contoso/_packaging/libs/nuget/v2/', /line 3 is not a URL any client is given for a feed/],
      ['https://pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/?x=1', /line 1 must list/],
      ['https://u:p@pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/', /line 1 holds credentials/],
      ['https://pkgs.dev.azure.com/contoso/_packaging/my.feed/Cargo/index/', /line 1 would name a Cargo registry 'my.feed'/],
      ['contoso/libs as one\nfabrikam/tools as one', /line 2 names its feed 'one' for Maven, like line 1/],
      [`contoso/libs as ${'x'.repeat(65)}`, /line 1 gives the name/],
    ];
    for (const [value, message] of refused) {
      assert.throws(() => parseFeeds('feeds', value, AZURE_DEVOPS_ONLY), (err: unknown) => err instanceof InputError && message.test(err.message) && err.message.startsWith("Input 'feeds' "), value);
    }
    assert.equal(parseFeeds('feeds', 'https://pkgs.dev.azure.com/contoso/_packaging/my.feed/Cargo/index/ as my_feed', AZURE_DEVOPS_ONLY)[0]!.name, 'my_feed');
    assert.equal(parseFeeds('feeds', 'contoso/libs\nhttps://pkgs.dev.azure.com/contoso/_packaging/libs/maven/v1', AZURE_DEVOPS_ONLY).length, 2, 'the same URL twice is no conflict');
    assert.deepEqual(parseFeeds('feeds', undefined, AZURE_DEVOPS_ONLY), []);
  });
});

describe('feeds: what the writers write', () => {
  it('npm: nerf darts, and credentials of these registries dropped from the carried-over config', () => {
    assert.equal(nerfDart('https://PKGS.dev.azure.com/contoso/_packaging/libs/npm/registry'), '//pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/');
    const carried = 'registry=https://x/\n//pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/:_authToken=old\n' +
      '//pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/:username = me\n//other.example/:_authToken=keep\n//pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/:always-auth=true\n';
    assert.equal(withoutCredentials(carried, ['//pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/']),
      'registry=https://x/\n//other.example/:_authToken=keep\n//pkgs.dev.azure.com/contoso/_packaging/libs/npm/registry/:always-auth=true\n');
  });

  it('Maven: the feeds\' servers into the carried-over settings, replacing same ids, whatever shape <servers> has', () => {
    const ours = '    <server><id>libs</id></server>\n';
    assert.equal(withServers('<settings>\n  <servers>\n    <server>\n      <id>libs</id>\n      <password>old</password>\n    </server>\n    <server><id>x</id></server>\n  </servers>\n</settings>\n', ['libs'], ours),
      '<settings>\n  <servers>\n    <server><id>libs</id></server>\n    <server><id>x</id></server>\n  </servers>\n</settings>\n');
    assert.match(withServers('<settings><mirrors/></settings>', ['libs'], ours)!, /<mirrors\/> {2}<servers>\n {4}<server><id>libs<\/id><\/server>\n {2}<\/servers>\n<\/settings>/);
    assert.match(withServers('<settings><servers/></settings>', ['libs'], ours)!, /<servers>\n {4}<server><id>libs/);
    assert.match(withServers('<settings xmlns="x"/>', ['libs'], ours)!, /^<settings xmlns="x">\n {2}<servers>/);
    assert.equal(withServers('<settings>\n<!-- <servers></servers> -->\n</settings>', ['libs'], ours)!.match(/<servers>/g)!.length, 1, 'a commented <servers> is not edited');
    assert.equal(withServers('not xml', ['libs'], ours), undefined);
  });

  it('twine: INI sections of a carried-over .pypirc', () => {
    assert.deepEqual(iniSections('[distutils]\nindex-servers = a\n\n[a]\nrepository = https://x/\n'), [
      { name: 'distutils', lines: ['index-servers = a'] },
      { name: 'a', lines: ['repository = https://x/'] },
    ]);
  });

  it('NuGet renews through the credential provider wherever MSAL can reach the identity (not AKS workload identity)', () => {
    const token = (name: IdentitySource['name'], claims: Record<string, string> = {}): AzureDevOpsToken =>
      ({ token: 't', expiresOn: new Date(), claims, source: { name } as IdentitySource });
    assert.equal(renewalClientId(token('IMDS'), { kind: 'system' }), 'system');
    assert.equal(renewalClientId(token('App Service'), { kind: 'clientId', value: 'c' }), 'c');
    assert.equal(renewalClientId(token('IMDS', { appid: 'from-token' }), { kind: 'objectId', value: 'o' }), 'from-token');
    assert.equal(renewalClientId(token('AKS workload identity'), { kind: 'clientId', value: 'c' }), undefined);
  });
});

describe('feeds: configure and remove, through a recording job', () => {
  let temp: string;
  let home: string;
  const savedHome = process.env['HOME'];
  beforeEach(() => {
    temp = mkdtempSync(join(tmpdir(), 'mi-feeds-unit-'));
    home = mkdtempSync(join(tmpdir(), 'mi-feeds-home-'));
    process.env['HOME'] = home; // the user config and settings.xml carried over come from here (none)
  });
  afterEach(() => {
    process.env['HOME'] = savedHome;
    rmSync(temp, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  function job(preset: Record<string, string> = {}): FeedJob & { vars: Map<string, string>; secrets: string[]; lines: string[] } {
    const vars = new Map(Object.entries(preset));
    const secrets: string[] = [];
    const lines: string[] = [];
    return {
      vars, secrets, lines,
      variable: (n) => vars.get(n) || undefined,
      setEnvironmentVariable: (n, v) => vars.set(n, v),
      setSecret: (v) => secrets.push(v),
      info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), debug: () => undefined,
    };
  }
  const token: AzureDevOpsToken = { token: 'eyJ.token.sig', expiresOn: new Date('2030-01-01T00:00:00Z'), claims: {}, source: { name: 'AKS workload identity' } as IdentitySource };

  it('keeps what earlier steps set (extra indexes, .pypirc sections, NuGet endpoints, MAVEN_ARGS) and removes only its own files', () => {
    const pypirc = join(temp, 'earlier.pypirc');
    writeFileSync(pypirc, '[distutils]\nindex-servers = other\n\n[other]\nrepository = https://upload.example/\nusername = u\npassword = p\n');
    const j = job({
      PIP_EXTRA_INDEX_URL: 'https://mirror.example/simple/',
      PYPIRC_PATH: pypirc,
      VSS_NUGET_EXTERNAL_FEED_ENDPOINTS: JSON.stringify({ endpointCredentials: [{ endpoint: 'https://x/index.json', password: 'p' }, { endpoint: 'HTTPS://PKGS.DEV.AZURE.COM/CONTOSO/_packaging/libs/nuget/v3/index.json', password: 'stale' }] }),
      MAVEN_ARGS: '-B -ntp',
    });
    const feeds = parseFeeds('feeds', 'contoso/libs', AZURE_DEVOPS_ONLY);
    const result = configureFeeds(j, token, { feeds, onlyAddExtraIndex: true, tempDir: temp, selector: { kind: 'system' } });
    assert.equal(j.vars.get('PIP_INDEX_URL'), undefined);
    assert.equal(j.vars.get('PIP_EXTRA_INDEX_URL'), 'https://ManagedIdentity:eyJ.token.sig@pkgs.dev.azure.com/contoso/_packaging/libs/pypi/simple/ https://mirror.example/simple/');
    const rc = readFileSync(j.vars.get('PYPIRC_PATH')!, 'utf8');
    assert.match(rc, /index-servers =\n {4}libs\n {4}other\n/);
    assert.match(rc, /\[other\]\nrepository = https:\/\/upload\.example\//);
    const nuget = JSON.parse(j.vars.get('VSS_NUGET_EXTERNAL_FEED_ENDPOINTS')!) as { endpointCredentials: Array<{ endpoint: string; password: string }> };
    assert.deepEqual(nuget.endpointCredentials.map((e) => e.password), ['p', 'eyJ.token.sig'], 'the stale entry for the same endpoint (any case) is replaced');
    assert.match(j.vars.get('MAVEN_ARGS')!, /^--settings \S+miado-feeds-maven-settings-[^ ]+\.xml -B -ntp$/);
    assert.ok(j.secrets.includes(Buffer.from('ManagedIdentity:eyJ.token.sig').toString('base64')), 'the Basic form Cargo gets is registered');
    for (const file of result.state.files) assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(j.lines.join('\n'), /valid until 2030-01-01T00:00:00\.000Z/);

    const outside = join(home, 'miado-feeds-npmrc-x');
    writeFileSync(outside, 'keep');
    const post = job();
    removeFeedConfiguration(post, temp, JSON.stringify({ ...result.state, files: [...result.state.files, outside, pypirc] }));
    for (const file of result.state.files) assert.ok(!existsSync(file), file);
    assert.ok(existsSync(outside) && existsSync(pypirc), 'files that are not ours are left alone');
    assert.equal(post.lines.filter((l) => l.startsWith('warning: Not removing')).length, 2);
    assert.equal(post.vars.get('PIP_EXTRA_INDEX_URL'), '', 'token-bearing variables are emptied');
    assert.equal(post.vars.get('MAVEN_ARGS'), '-B -ntp', 'others are set back');
    removeFeedConfiguration(post, temp, 'not json');
    assert.match(post.lines.at(-1)!, /warning: Not removing the feed configuration: its saved state is not readable\./);
  });
});
