/**
 * Property tests over every input parser: for any string, a parser either returns a value that keeps
 * the validators' promises (an organization URL on an Azure DevOps or listed loopback host, names
 * without control characters or '/', refs git accepts that never start with '-', paths that stay inside
 * the workspace also through symbolic links) or throws one InputError naming the input. Nothing else is
 * ever thrown. Strings are drawn from fragments that matter (URL parts, look-alike hosts, '..', '@', '%',
 * option prefixes, line breaks) mixed with arbitrary Unicode.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import fc from 'fast-check';
import { parseCommand } from '../../test/agent/vso';
import { InputError } from '../../src/core/errors';
import { identityInput, variableNameInput, type InputSource } from '../../src/agent/inputs';
import { AZURE_DEVOPS_ONLY, isAzureDevOpsHostname, isTokenHost, parseLoopbackHosts, parseOrganization, type HostPolicy, type Organization } from '../../src/devops/organizations';
import { filterInput, isValidRef, refInput } from '../../src/repository/refs';
import { cloneUrl, isValidName, parseRepository, type RepositoryRef } from '../../src/devops/repository-ref';
import { readAuthenticateSettings } from '../../src/tasks/authenticate/settings';
import { COMMANDS, readRepositorySettings } from '../../src/tasks/repository/settings';
import { pathInside, pathInsideOneOf } from '../../src/core/workspace';
import { parseFeeds } from '../../src/feeds/feed';

const LOOPBACK = '127.0.0.1:8080';
const EMULATOR: HostPolicy = parseLoopbackHosts('ManagedIdentity.TestHosts', LOOPBACK);
const HOME_EMULATOR = parseOrganization('System.CollectionUri', `http://${LOOPBACK}/contoso/`, EMULATOR);
const HOME_AZURE = parseOrganization('System.CollectionUri', 'https://dev.azure.com/contoso/', AZURE_DEVOPS_ONLY);
const GUID = '0b7b3c1e-5f0e-4d0c-9a43-3c3f1d2e4a5b';
const RESOURCE = `/subscriptions/${GUID}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami`;

const FRAGMENTS = [
  'https://', 'http://', 'ssh://', 'file://', 'dev.azure.com', '.dev.azure.com', 'vssps.dev.azure.com', 'contoso', 'CONTOSO', '.visualstudio.com',
  'pkgs.dev.azure.com', 'feeds.dev.azure.com', 'status.dev.azure.com', 'x.y.dev.azure.com', '.pkgs.visualstudio.com', '.feeds.visualstudio.com',
  'code', 'marketplace', 'www', 'app.vssps', '_packaging', '_apis', 'dev.azure.com@evil.example', 'pkgs.dev.azure.com.evil.example',
  'evil.test', '.evil.test', 'dev.azure.com.evil.test', LOOPBACK, '127.0.0.1:9999', 'localhost:1', '[::1]:2', ':443', ':8443',
  '/', '//', '\\', '_git', '/_git/', 'DefaultCollection', 'Web', 'Shared Tools', 'Ünïcode', 'app', '..', '.', '%2e%2e', '%2F', '%0A', '%',
  '@', 'u:p@', ':', '#', '?', '?x=1', '&', '=', ';', ']', '[', ',', '+', '$', '{', '}', '*', '~', '^', '"', '|', '<',
  '\n', '\r', '\t', ' ', '\0', '\u007f', '\u2028', '-', '--', '--upload-pack=x', '-oProxyCommand=x', '_', 'x', 'A', '0',
  'refs/', 'heads/', 'tags/', 'refs/heads/main', 'main', 'v1.2', '@{', '@{-1}', '.lock', 'HEAD', 'a'.repeat(60), 'f'.repeat(40),
  'blob:none', 'tree:0', 'blob:limit=1m', 'combine:', '##vso[', 'task.setvariable variable=X]evil', GUID, GUID.toUpperCase(), RESOURCE,
];
const fragmentText = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 8 }).map((parts) => parts.join(''));
/** Interesting fragments, plain Unicode, and both mixed. */
const text = fc.oneof(
  { weight: 5, arbitrary: fragmentText },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 4 })), { maxLength: 8 }).map((p) => p.join('')) },
);

/** A slot of a well-formed shape: a plausible name, or hostile text. */
const slot = fc.oneof(fc.constantFrom('contoso', 'fabrikam', 'Web', 'app', 'Shared Tools', 'Ünïcode Repo', 'a.b', 'x-y', 'DefaultCollection', '_git'), fragmentText);
/** Organization and repository shapes PRODUCT.md lists, with slots that may be anything. */
const shaped = fc.tuple(slot, slot, slot, fc.integer({ min: 0, max: 7 })).map(([o, p, r, form]) => [
  `https://dev.azure.com/${o}/${p}/_git/${r}`, `https://${o}.visualstudio.com/${p}/_git/${r}`, `${o}/${p}/${r}`, `${p}/${r}`, r,
  `http://${LOOPBACK}/${o}/${p}/_git/${r}`, `https://dev.azure.com/${o}`, `https://${o}.visualstudio.com/`,
][form]!);
const inputText = fc.oneof({ weight: 3, arbitrary: text }, { weight: 2, arbitrary: shaped });

const runs = new Map<string, { runs: number; accepted: number }>();
/**
 * Runs `predicate` over `numRuns` values; it returns whether the value was accepted. At least
 * `minAccepted` of the runs must be accepted, so the invariants on parsed values are really exercised.
 */
function check<T>(name: string, arb: fc.Arbitrary<T>, predicate: (value: T) => boolean, numRuns: number, minAccepted = 0.02): void {
  let accepted = 0;
  fc.assert(fc.property(arb, (value) => {
    if (predicate(value)) accepted++;
  }), { numRuns });
  runs.set(name, { runs: numRuns, accepted });
  assert.ok(accepted >= numRuns * minAccepted, `${name}: only ${accepted} of ${numRuns} values were accepted`);
}

/** The only acceptable failure: one InputError naming one of `inputs`, on a single line. */
function refusedProperly(err: unknown, inputs: readonly string[]): void {
  if (!(err instanceof InputError)) throw new Error(`threw ${String(err)} instead of an InputError`, { cause: err });
  const named = /^Input '([^']+)' /.exec(err.message)?.[1];
  assert.ok(named && inputs.includes(named), `the error names one of ${inputs.join(', ')}: ${err.message}`);
  assert.doesNotMatch(err.message, /[\r\n]/, 'one line');
}

function outcome<T>(parse: () => T, inputs: readonly string[]): T | undefined {
  try {
    return parse();
  } catch (err) {
    refusedProperly(err, inputs);
    return undefined;
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const ORG_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$/;

function assertOrganization(org: Organization, policy: HostPolicy): void {
  assert.match(org.name, ORG_NAME);
  const url = new URL(org.url);
  assert.equal(org.url, `${url.origin}/${org.name}/`, 'the REST base is origin/name/');
  assert.ok(isTokenHost(url, policy), `${org.url} may receive the token`);
  assert.ok(url.protocol === 'https:' ? url.hostname === 'dev.azure.com' : policy.loopbackHosts.includes(url.host), org.url);
  for (const prefix of org.gitPrefixes) {
    const git = new URL(prefix);
    assert.ok(isTokenHost(git, policy) && prefix.endsWith('/') && !git.search && !git.hash, prefix);
  }
}

function assertRepository(ref: RepositoryRef, policy: HostPolicy): void {
  assertOrganization(ref.organization, policy);
  for (const name of [ref.project, ref.repository]) {
    assert.ok(isValidName(name), name);
    assert.doesNotMatch(name, /[/\\]|^[-._]|^\.\.?$/);
    assert.doesNotMatch(name, CONTROL);
  }
  const url = new URL(cloneUrl(ref));
  assert.ok(isTokenHost(url, policy) && !url.username && !url.search && !url.hash);
  const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  assert.deepEqual(segments.slice(-3), [ref.project, '_git', ref.repository], 'the clone URL names exactly this repository');
}

const gitAccepts = (ref: string): boolean => spawnSync('git', ['check-ref-format', '--allow-onelevel', ref]).status === 0;

describe('input parsers, for any string (fast-check)', function () {
  this.timeout(60_000);
  after(() => {
    const total = [...runs.values()].reduce((a, b) => a + b.runs, 0);
    console.log(`      property runs (accepted/run): ${[...runs].map(([n, c]) => `${n} ${c.accepted}/${c.runs}`).join(', ')}; ${total} in all`);
  });

  it('parseOrganization: an organization on an Azure DevOps or listed loopback host, or one InputError', () => {
    const policies = fc.constantFrom<[HostPolicy, Organization | undefined]>([AZURE_DEVOPS_ONLY, undefined], [AZURE_DEVOPS_ONLY, HOME_AZURE], [EMULATOR, HOME_EMULATOR], [EMULATOR, undefined]);
    check('parseOrganization', fc.tuple(inputText, policies), ([value, [policy, home]]) => {
      const org = outcome(() => parseOrganization('organizations', value, policy, home), ['organizations']);
      if (org) assertOrganization(org, policy);
      return org !== undefined;
    }, 3000);
  });

  it('parseRepository: a repository whose names and clone URL stay what was asked, or one InputError', () => {
    const policies = fc.constantFrom<[HostPolicy, Organization | undefined]>([AZURE_DEVOPS_ONLY, HOME_AZURE], [EMULATOR, HOME_EMULATOR], [EMULATOR, undefined]);
    check('parseRepository', fc.tuple(inputText, policies, fc.constantFrom('Web', undefined)), ([value, [policy, home], project]) => {
      const ref = outcome(() => parseRepository('repository', value, policy, home, project), ['repository']);
      if (ref) assertRepository(ref, policy);
      return ref !== undefined;
    }, 3000);
  });

  it('refInput / isValidRef: refs git accepts, never an option, or one InputError', () => {
    check('refInput', text, (value) => {
      const ref = outcome(() => refInput('ref', value), ['ref']);
      if (ref === undefined) return false;
      assert.equal(ref, value);
      // eslint-disable-next-line no-control-regex
      assert.ok(!ref.startsWith('-') && !/[\u0000-\u0020\u007f]/.test(ref), ref);
      assert.ok(/^[0-9a-f]{40}$/i.test(ref) || gitAccepts(ref), `git check-ref-format refuses ${JSON.stringify(ref)}`);
      return true;
    }, 1000);
    assert.equal(isValidRef('--upload-pack=x'), false);
  });

  it('filterInput: a filter git reads as one option value, or one InputError', () => {
    check('filterInput', fc.oneof(text, fc.constantFrom('blob:none', 'tree:0', 'blob:none+tree:0', 'blob:limit=1m', ' blob:none', 'tree:0\n')), (value) => {
      const filter = outcome(() => filterInput('fetchFilter', value), ['fetchFilter']);
      if (filter !== undefined) assert.match(filter, /^(combine:)?(blob:none|tree:\d+|blob:limit=\d+[kmg]?|object:type=\w+)(\+(blob:none|tree:\d+|blob:limit=\d+[kmg]?|object:type=\w+))*$/);
      return filter !== undefined;
    }, 2000);
  });

  it('variableNameInput: a name no logging command can be bent by, or one InputError', () => {
    check('variableNameInput', text, (value) => {
      const source: InputSource = { input: () => value || undefined, variable: () => undefined };
      const name = outcome(() => variableNameInput(source, 'variableName', 'AzureDevOps.AccessToken'), ['variableName']);
      if (name === undefined) return false;
      assert.doesNotMatch(name, /[;\]%\s]/);
      const command = parseCommand(`##vso[task.setvariable variable=${name};issecret=true;]value`);
      assert.deepEqual([command?.properties['variable'], command?.properties['issecret'], command?.data], [name, 'true', 'value']);
      return true;
    }, 2000);
  });

  it('identityInput: the system identity or exactly one well-formed selector, or one InputError', () => {
    const id = fc.option(fc.oneof(text, fc.constantFrom(GUID, GUID.toUpperCase(), RESOURCE)), { nil: undefined });
    check('identityInput', fc.record({ clientId: id, objectId: id, resourceId: id }), (inputs) => {
      const source: InputSource = { input: (n) => (inputs as Record<string, string | undefined>)[n] || undefined, variable: () => undefined };
      const selector = outcome(() => identityInput(source), ['clientId', 'objectId', 'resourceId']);
      if (selector === undefined) return false;
      const given = Object.entries(inputs).filter(([, v]) => v);
      if (selector.kind === 'system') {
        assert.equal(given.length, 0);
        return true;
      }
      assert.equal(given.length, 1);
      if (selector.kind === 'resourceId') assert.match(selector.value, /^\/subscriptions\/[0-9a-f-]{36}\/resourcegroups\/.+\/userassignedidentities\/[\w-]+$/i);
      else assert.match(selector.value, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      return true;
    }, 2000);
  });

  it('parseLoopbackHosts and isTokenHost: tokens go to Azure DevOps over https or to listed loopback hosts only', () => {
    const hostList = fc.array(fc.oneof(fc.constantFrom(LOOPBACK, 'localhost:1', '[::1]:2', '127.1.2.3:65535', ' 127.0.0.1:1 ', '10.0.0.1:80',
      'evil.test:1', '127.0.0.1', '127.0.0.1:99999', 'localhost:1@evil.test', '127.0.0.1.evil.test:80'), fragmentText), { maxLength: 3 }).map((h) => h.join(','));
    check('parseLoopbackHosts', fc.oneof(text, hostList), (value) => {
      const policy = outcome(() => parseLoopbackHosts('ManagedIdentity.TestHosts', value), ['ManagedIdentity.TestHosts']);
      for (const host of policy?.loopbackHosts ?? []) assert.match(host, /^(127(\.\d{1,3}){3}|localhost|\[::1\]):\d{1,5}$/);
      return (policy?.loopbackHosts.length ?? 0) > 0;
    }, 2000, 0.005);
    // The hosts a token may reach, written out here from the sources organizations.ts cites, as a model to check the code against.
    const services = ['advsec', 'almsearch', 'analytics', 'artifacts', 'auditservice', 'extmgmt', 'feeds', 'pkgs', 'vsaex', 'vsrm', 'vssps', 'vstmr'];
    const legacyServices = ['feeds', 'pkgs', 'vsblob', 'vsrm', 'vssps', 'vstmr'];
    const sites = ['app', 'aex', 'code', 'developercommunity', 'marketplace', 'my', 'status', 'www', 'vsaex', ...legacyServices];
    const orgLabel = (label: string | undefined): boolean => label !== undefined && ORG_NAME.test(label) && !sites.includes(label.toLowerCase());
    const allowed = (url: URL): boolean => {
      const labels = url.hostname.split('.');
      const devAzure = url.hostname === 'dev.azure.com' || (labels.length === 4 && url.hostname.endsWith('.dev.azure.com') && services.includes(labels[0]!));
      if (devAzure) return url.pathname === '/' || orgLabel(decodeURIComponent(url.pathname.split('/')[1] ?? ''));
      if (!url.hostname.endsWith('.visualstudio.com')) return false;
      return (labels.length === 3 && orgLabel(labels[0])) || (labels.length === 4 && orgLabel(labels[0]) && legacyServices.includes(labels[1]!));
    };
    // URLs shaped like the service and feed hosts, with slots that may be anything.
    const hostShaped = fc.tuple(fc.constantFrom(...services, ...legacyServices, ...sites, 'x', 'evil'), slot, slot, fc.integer({ min: 0, max: 5 })).map(([svc, o, rest, form]) => [
      `https://${svc}.dev.azure.com/${o}/${rest}`, `https://${o}.${svc}.visualstudio.com/${rest}`, `https://${svc}.visualstudio.com/${rest}`,
      `https://${svc}.${o}.dev.azure.com/${o}/`, `https://dev.azure.com/${o}/${rest}`, `http://${svc}.dev.azure.com/${o}/`,
    ][form]!);
    check('isTokenHost', fc.tuple(fc.oneof(inputText, hostShaped), fc.constantFrom(AZURE_DEVOPS_ONLY, EMULATOR)), ([value, policy]) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return false;
      }
      const https = url.protocol === 'https:' && url.port === '' && !url.username && !url.password;
      let expected = policy.loopbackHosts.includes(url.host) && !url.username && !url.password && (url.protocol === 'http:' || url.protocol === 'https:');
      try {
        expected ||= https && allowed(url);
      } catch {
        // A path segment that is not valid percent-encoding names no organization.
      }
      assert.equal(isTokenHost(url, policy), expected, `${url.href}: ${expected ? 'an Azure DevOps URL was refused' : 'may not receive the token'}`);
      if (expected && !policy.loopbackHosts.includes(url.host)) assert.ok(isAzureDevOpsHostname(url.hostname), url.hostname);
      return expected;
    }, 4000);
  });

  it('parseFeeds: every URL a client gets is an Azure Artifacts host over https (or a listed loopback host), or one InputError', () => {
    const feedSlot = fc.oneof(fc.constantFrom('libs', 'libs@Release', 'a.b_c-d', GUID, 'Shared Tools', 'Shared%20Tools', '_packaging', 'x@y@z'), fragmentText);
    const client = fc.constantFrom('npm/registry/', 'pypi/simple/', 'pypi/upload/', 'nuget/v3/index.json', 'maven/v1', 'Cargo/index/', 'nuget/v2/', '');
    const host = fc.constantFrom('https://pkgs.dev.azure.com/contoso/', 'https://contoso.pkgs.visualstudio.com/', 'sparse+https://pkgs.dev.azure.com/contoso/',
      'https://pkgs.dev.azure.com.evil.test/contoso/', 'http://pkgs.dev.azure.com/contoso/', `http://${LOOPBACK}/contoso/`, 'https://feeds.dev.azure.com/contoso/', 'https://u:p@pkgs.dev.azure.com/contoso/');
    const feedLine = fc.oneof(
      fc.tuple(host, fc.constantFrom('', 'Web/', 'Shared%20Tools/'), feedSlot, client).map(([h, p, f, c]) => `${h}${p}_packaging/${f}/${c}`),
      fc.tuple(slot, feedSlot, fc.boolean()).map(([o, f, project]) => (project ? `${o}/Web/${f}` : `${o}/${f}`)),
    );
    const lines = fc.array(fc.oneof({ weight: 8, arbitrary: feedLine }, { weight: 1, arbitrary: text }), { minLength: 1, maxLength: 2 })
      .chain((ls) => fc.tuple(fc.constant(ls), fc.array(fc.constantFrom('', '', ' as alias', ' as x y', '  # note'), { minLength: ls.length, maxLength: ls.length })))
      .map(([ls, suffixes]) => ls.map((l, i) => `${l}${suffixes[i]}`).join('\n'));
    const policies = fc.constantFrom<[HostPolicy, Organization | undefined]>([AZURE_DEVOPS_ONLY, HOME_AZURE], [EMULATOR, HOME_EMULATOR], [EMULATOR, undefined]);
    check('parseFeeds', fc.tuple(lines, policies), ([value, [policy, home]]) => {
      const feeds = outcome(() => parseFeeds('feeds', value, policy, home), ['feeds']);
      for (const feed of feeds ?? []) {
        assert.match(feed.org, ORG_NAME);
        assert.match(feed.name, /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
        assert.doesNotMatch(feed.feed, /[/\\\s#?]/);
        assert.ok(feed.urls.size > 0);
        for (const url of [...feed.urls.values(), feed.api.url]) {
          const u = new URL(url);
          assert.ok(!u.username && !u.password && !u.search && !u.hash, url);
          const azure = u.protocol === 'https:' && u.port === '' && ['pkgs.dev.azure.com', 'feeds.dev.azure.com', `${feed.org.toLowerCase()}.pkgs.visualstudio.com`].includes(u.hostname);
          assert.ok(azure || policy.loopbackHosts.includes(u.host), `${url} may not receive the token`);
          assert.ok(u.hostname === `${feed.org.toLowerCase()}.pkgs.visualstudio.com` || decodeURIComponent(u.pathname).split('/')[1] === feed.org, `${url} is in organization ${feed.org}`);
        }
      }
      return (feeds?.length ?? 0) > 0;
    }, 2000);
  });

  describe('paths', () => {
    let root: string;
    let workspace: string;
    let agentTemp: string;
    let outside: string;
    before(() => {
      root = realpathSync(mkdtempSync(join(tmpdir(), 'mi-paths-')));
      workspace = join(root, 'ws');
      agentTemp = join(root, '_temp');
      outside = join(root, 'outside');
      mkdirSync(join(workspace, 's', 'repo'), { recursive: true });
      mkdirSync(outside);
      mkdirSync(agentTemp);
      // The temp folder links out of itself and into the workspace, as a script of the job could make it.
      symlinkSync(outside, join(agentTemp, 'link-out'));
      symlinkSync(join(outside, 'missing'), join(agentTemp, 'dangling-out'));
      symlinkSync(join(workspace, 's'), join(agentTemp, 'link-ws'));
      symlinkSync(agentTemp, join(workspace, 's', 'link-temp'));
      symlinkSync(outside, join(workspace, 's', 'link-out'));
      symlinkSync(join(workspace, 's', 'repo'), join(workspace, 's', 'link-in'));
      symlinkSync(join(outside, 'missing'), join(workspace, 's', 'dangling-out'));
      symlinkSync('../../outside/missing-too', join(workspace, 's', 'relative-dangling-out'));
      symlinkSync('loop-b', join(workspace, 's', 'loop-a'));
      symlinkSync('loop-a', join(workspace, 's', 'loop-b'));
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    /** Where a write to `path` would land: every symbolic link along it followed, dangling ones too. */
    function landing(path: string, depth = 0): string {
      if (depth > 40) return '/';
      const parts = resolve(path).split('/').filter(Boolean);
      let current = '/';
      for (let i = 0; i < parts.length; i++) {
        const next = join(current, parts[i]!);
        let link: string | undefined;
        try {
          if (lstatSync(next).isSymbolicLink()) link = readlinkSync(next);
        } catch {
          return join(next, ...parts.slice(i + 1));
        }
        current = link === undefined ? next : landing(resolve(dirname(next), link), depth + 1);
      }
      return current;
    }

    it('pathInside: a path whose every write lands inside the workspace, links followed, or one InputError', () => {
      const segment = fc.constantFrom('..', '.', 's', 'repo', 'link-out', 'link-in', 'dangling-out', 'relative-dangling-out', 'loop-a', 'new', '-x', '%2e%2e', '', 'a\nb', '~');
      const value = fc.oneof(
        fc.tuple(fc.constantFrom('', '/', '/etc/', 'ROOT/', 'OUTSIDE/'), fc.array(segment, { maxLength: 6 })).map(([start, segs]) => `${start}${segs.join('/')}`),
        text,
      );
      check('pathInside', fc.tuple(value, fc.boolean()), ([raw, allowRoot]) => {
        const v = raw.replace(/^ROOT\//, `${workspace}/`).replace(/^OUTSIDE\//, `${outside}/`);
        const path = outcome(() => pathInside('destination', v, workspace, 'the pipeline workspace', allowRoot), ['destination']);
        if (path === undefined) return false;
        assert.ok(isAbsolute(path));
        const lands = landing(path);
        const rel = relative(workspace, lands);
        assert.ok(rel === '' ? allowRoot : !rel.startsWith('..') && !isAbsolute(rel), `${JSON.stringify(v)} -> ${path} lands at ${lands}, outside ${workspace}`);
        return true;
      }, 2000);
    });

    it('pathInsideOneOf: a path whose every write lands inside the workspace or the agent temp folder, links followed, or one InputError', () => {
      const segment = fc.constantFrom('..', '.', 's', 'repo', 'link-out', 'link-in', 'link-ws', 'link-temp', 'dangling-out', 'relative-dangling-out', 'loop-a', 'new', '_temp', '-x', '');
      const value = fc.tuple(fc.constantFrom('', '/', '/etc/', 'ROOT/', 'TEMP/', 'OUTSIDE/', 'PARENT/'), fc.array(segment, { maxLength: 6 }))
        .map(([start, segs]) => `${start}${segs.join('/')}`);
      check('pathInsideOneOf', fc.tuple(value, fc.boolean()), ([raw, allowRoot]) => {
        const v = raw.replace(/^ROOT\//, `${workspace}/`).replace(/^TEMP\//, `${agentTemp}/`).replace(/^OUTSIDE\//, `${outside}/`).replace(/^PARENT\//, `${root}/`);
        const roots = [{ path: workspace, name: 'the pipeline workspace' }, { path: agentTemp, name: 'Agent.TempDirectory' }] as const;
        const path = outcome(() => pathInsideOneOf('outputFile', v, roots, allowRoot), ['outputFile']);
        if (path === undefined) return false;
        const lands = landing(path);
        const within = [workspace, agentTemp].map((base) => relative(base, lands)).filter((rel) => !rel.startsWith('..') && !isAbsolute(rel));
        assert.ok(within.length > 0 && (allowRoot || within.some((rel) => rel !== '')), `${JSON.stringify(v)} -> ${path} lands at ${lands}, outside both roots`);
        return true;
      }, 2000, 0.1);
    });

    it('readRepositorySettings: settings every later step can trust, or one InputError naming the input', () => {
      const names = ['repository', 'ref', 'path', 'fetchDepth', 'fetchFilter', 'fetchTags', 'submodules', 'lfs', 'clean', 'sparseCheckoutDirectories',
        'persistCredentials', 'organization', 'project', 'outputFile', 'filePath', 'destination', 'sourceDirectory', 'sourceRef', 'targetBranch',
        'tags', 'force', 'tagName', 'message', 'sourceBranch', 'title', 'description', 'isDraft', 'autoComplete', 'mergeStrategy',
        'deleteSourceBranch', 'clientId', 'objectId', 'resourceId'];
      const inputs = fc.dictionary(fc.constantFrom(...names), fc.oneof(inputText, fc.constantFrom('true', 'false', 'contoso/Web/app', 'main', 's/x', 'README.md', 'fabrikam', '1')), { maxKeys: 8 });
      const variables: Record<string, string> = {
        'Pipeline.Workspace': workspace, 'Build.SourcesDirectory': join(workspace, 's'), 'Agent.TempDirectory': agentTemp,
        'System.CollectionUri': `http://${LOOPBACK}/contoso/`, 'System.TeamProject': 'Web', 'ManagedIdentity.TestHosts': LOOPBACK,
      };
      const inside = (p: string | undefined, allowRoot = false, roots = [workspace]): void => {
        if (p === undefined) return;
        const rels = roots.map((base) => relative(base, landing(p))).filter((rel) => !rel.startsWith('..') && !isAbsolute(rel));
        assert.ok(rels.some((rel) => rel !== '' || allowRoot), p);
      };
      const ref = (r: string | undefined): void => assert.ok(r === undefined || (isValidRef(r) && !r.startsWith('-')), r);
      check('readRepositorySettings', fc.tuple(fc.oneof(fc.constantFrom(...COMMANDS), text), inputs), ([command, given]) => {
        const all: Record<string, string> = { ...given, command };
        const source: InputSource = { input: (n) => all[n]?.trim() || undefined, variable: (n) => variables[n] };
        const settings = outcome(() => readRepositorySettings(source), [...names, 'command']);
        if (!settings) return false;
        assert.ok(Object.isFrozen(settings) && Object.isFrozen(settings.command));
        const s = settings.command as unknown as Record<string, unknown>;
        if (s['repository']) assertRepository(s['repository'] as RepositoryRef, EMULATOR);
        if (s['organization']) assertOrganization(s['organization'] as Organization, EMULATOR);
        inside(s['path'] as string | undefined);
        inside(s['outputFile'] as string | undefined, false, [workspace, agentTemp]);
        inside(s['destination'] as string | undefined, false, [workspace, agentTemp]);
        inside(s['sourceDirectory'] as string | undefined, true);
        for (const key of ['ref', 'targetBranch', 'sourceBranch', 'tagName']) ref(s[key] as string | undefined);
        if (s['sourceRef'] !== 'HEAD') ref(s['sourceRef'] as string | undefined);
        for (const dir of (s['sparseCheckoutDirectories'] as string[] | undefined) ?? []) assert.ok(!dir.startsWith('-') && !dir.startsWith('/') && !dir.split('/').includes('..'), dir);
        if (s['filePath'] !== undefined) assert.ok(String(s['filePath']).startsWith('/') && !String(s['filePath']).split('/').includes('..'));
        return true;
      }, 3000);
    });

    it('readAuthenticateSettings: verified organizations and a safe variable name, or one InputError', () => {
      const names = ['clientId', 'objectId', 'resourceId', 'variableName', 'isOutput', 'organizations', 'verify', 'configureGit', 'feeds', 'onlyAddExtraIndex'];
      const inputs = fc.dictionary(fc.constantFrom(...names), fc.oneof(inputText, fc.constantFrom('true', 'false', 'contoso\nfabrikam', GUID)), { maxKeys: 5 });
      check('readAuthenticateSettings', fc.tuple(inputs, fc.constantFrom(LOOPBACK, '', 'evil.test:1')), ([given, testHosts]) => {
        const variables: Record<string, string> = { 'System.CollectionUri': `http://${LOOPBACK}/contoso/`, 'ManagedIdentity.TestHosts': testHosts };
        const source: InputSource = { input: (n) => given[n]?.trim() || undefined, variable: (n) => variables[n] || undefined };
        const settings = outcome(() => readAuthenticateSettings(source), [...names, 'ManagedIdentity.TestHosts', 'System.CollectionUri']);
        if (!settings) return false;
        assert.equal(testHosts, LOOPBACK, 'an emulator organization needs its host listed');
        for (const org of settings.organizations) assertOrganization(org, settings.policy);
        assert.match(settings.variableName, /^[A-Za-z_][A-Za-z0-9._-]{0,99}$/);
        return true;
      }, 2000);
    });

    it('the workspace fixture has the links the properties rely on', () => {
      assert.ok(existsSync(join(workspace, 's', 'link-out')) && !existsSync(join(workspace, 's', 'dangling-out')));
      assert.ok(lstatSync(join(workspace, 's', 'dangling-out')).isSymbolicLink());
    });
  });
});
