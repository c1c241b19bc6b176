/**
 * Azure Artifacts feeds as the `feeds` input names them, one a line:
 *   - a URL a feed's "Connect to feed" page shows for one client, which configures that client:
 *       https://pkgs.dev.azure.com/{org}[/{project}]/_packaging/{feed}/npm/registry/
 *       …/pypi/simple/ (pip)   …/pypi/upload/ (twine)   …/nuget/v3/index.json   …/maven/v1   …/Cargo/index/
 *     also on the legacy host https://{org}.pkgs.visualstudio.com[/{project}]/_packaging/…, and Cargo's
 *     `sparse+https://…` form;
 *   - `{org}/{feed}` or `{org}/{project}/{feed}`, which configures every client for that feed.
 * A feed may name a view (`feed@Release`). ` as {name}` at the end of a line sets the name clients know
 * the feed by (Maven server id, Cargo registry, .pypirc section); default: the feed's name.
 * URL forms: MicrosoftDocs/azure-devops-docs artifacts/{npm,nuget,python,maven,cargo} "Connect to feed" pages and the Authenticate tasks
 * (microsoft/azure-pipelines-tasks Tasks/NuGetAuthenticateV1/main.ts isValidFeed, CargoAuthenticateV0's
 * `sparse+https://pkgs.dev.azure.com/{org}/{project}/_packaging/{feed}/Cargo/index/` comment).
 */
import { InputError } from '../core/errors';
import { EMULATOR_BUILD } from '../core/flavour';
import { isTokenHost, type HostPolicy, type Organization } from '../devops/organizations';
import { CARGO_NAME } from './cargo';

export type Client = 'npm' | 'pip' | 'twine' | 'nuget' | 'maven' | 'gradle' | 'cargo';
export const CLIENTS: readonly Client[] = ['npm', 'pip', 'twine', 'nuget', 'maven', 'gradle', 'cargo'];

/** What each client's URL adds to the feed's `…/_packaging/{feed}/` base. */
const CLIENT_PATHS: Record<Client, string> = {
  npm: 'npm/registry/',
  pip: 'pypi/simple/',
  twine: 'pypi/upload/',
  nuget: 'nuget/v3/index.json',
  maven: 'maven/v1',
  gradle: 'maven/v1',
  cargo: 'Cargo/index/',
};

export const CLIENT_NAMES: Record<Client, string> = { npm: 'npm', pip: 'pip', twine: 'twine', nuget: 'NuGet', maven: 'Maven', gradle: 'Gradle', cargo: 'Cargo' };

export interface Feed {
  /** 1-based line of the input. */
  readonly line: number;
  /** The line as written (trimmed). */
  readonly text: string;
  readonly org: string;
  /** Project name or id of a project-scoped feed. */
  readonly project?: string;
  /** Feed name or id, with `@view` when the line names one. */
  readonly feed: string;
  /** The name clients know the feed by: Maven server id, Cargo registry name, .pypirc section. */
  readonly name: string;
  /** Whether ` as {name}` gave the name. */
  readonly named: boolean;
  /** The clients this line configures, each with the URL it uses (as written, for a URL line). */
  readonly urls: ReadonlyMap<Client, string>;
  /** The feed REST API (feeds.dev.azure.com), the organization part: where verification goes. */
  readonly api: Organization;
  /** `{project}/_apis/packaging/feeds/{feed}` relative to `api.url`, percent-encoded. */
  readonly apiPath: string;
}

export const FEED_FORMS =
  "must list one feed a line: a feed URL from its 'Connect to feed' page (https://pkgs.dev.azure.com/{org}[/{project}]/_packaging/{feed}/npm/registry/, " +
  '…/pypi/simple/, …/pypi/upload/, …/nuget/v3/index.json, …/maven/v1 or …/Cargo/index/), which configures that client, ' +
  "or {org}/{feed} or {org}/{project}/{feed}, which configures every client; optionally followed by ' as {name}'";

const ORG_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$/;
/** Feed and view names: letters, digits, '.', '_', '-' (Azure Artifacts' rule), or a GUID. */
const FEED_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Project names: not '.'/'_' first, none of \ / : * ? " < > | ; # $ { } , + = [ ] (Azure DevOps naming restrictions). */
// eslint-disable-next-line no-control-regex -- control characters are what the rule refuses
const PROJECT_NAME = /^(?![._])[^\\/:*?"<>|;#${},+=[\]\u0000-\u001f]{1,64}$/;
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const LEGACY_PKGS = /^([a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?)\.pkgs\.visualstudio\.com$/;

function lineError(input: string, line: number, value: string, why?: string): InputError {
  return new InputError(input, value, `line ${line} ${why ? `${why}; it ` : ''}${FEED_FORMS}`);
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function validFeedPart(value: string): boolean {
  const [name = '', view, extra] = value.split('@');
  return extra === undefined && FEED_NAME.test(name) && (view === undefined || FEED_NAME.test(view));
}

interface Location {
  /** `https://pkgs.dev.azure.com/{org}/` (or the legacy host, or the emulator's `{origin}/{org}/`). */
  readonly packages: string;
  readonly api: Organization;
}

function location(org: string, emulatorOrigin: string | undefined, legacy: boolean): Location {
  if (emulatorOrigin) {
    const url = `${emulatorOrigin}/${org}/`;
    return { packages: url, api: { name: org, url, gitPrefixes: [], emulatorOrigin } };
  }
  return {
    packages: legacy ? `https://${org.toLowerCase()}.pkgs.visualstudio.com/` : `https://pkgs.dev.azure.com/${org}/`,
    api: { name: org, url: `https://feeds.dev.azure.com/${org}/`, gitPrefixes: [] },
  };
}

function build(
  line: number, text: string, loc: Location, org: string, project: string | undefined, feed: string,
  urls: Map<Client, string>, name: string | undefined,
): Feed {
  const scope = project !== undefined ? `${encodeURIComponent(project)}/` : '';
  const plain = feed.split('@')[0]!;
  return {
    line, text, org, ...(project !== undefined ? { project } : {}), feed,
    name: name ?? plain, named: name !== undefined, urls,
    api: loc.api,
    apiPath: `${scope}_apis/packaging/feeds/${encodeURIComponent(feed)}`,
  };
}

/** Every client's URL for a feed named by `{org}[/{project}]/{feed}`. */
function allClients(loc: Location, project: string | undefined, feed: string): Map<Client, string> {
  const base = `${loc.packages}${project !== undefined ? `${encodeURIComponent(project)}/` : ''}_packaging/${encodeURIComponent(feed)}/`;
  return new Map(CLIENTS.map((c) => [c, `${base}${CLIENT_PATHS[c]}`]));
}

/** Which client a URL's path after `_packaging/{feed}/` is for, and its canonical tail. */
function clientOf(tail: string[]): Client | undefined {
  const path = tail.join('/').toLowerCase().replace(/\/$/, '');
  const found = CLIENTS.find((c) => CLIENT_PATHS[c].toLowerCase().replace(/\/$/, '') === path);
  return found;
}

function parseUrlLine(input: string, line: number, text: string, value: string, policy: HostPolicy, name: string | undefined): Feed {
  const sparse = /^sparse\+/i.test(value);
  let url: URL;
  try {
    url = new URL(sparse ? value.slice('sparse+'.length) : value);
  } catch {
    throw lineError(input, line, text);
  }
  if (url.username || url.password) throw lineError(input, line, text, 'holds credentials');
  if (url.search || url.hash || /[\s\\]/.test(value)) throw lineError(input, line, text);
  if (!isTokenHost(url, policy)) {
    throw new InputError(input, text, `line ${line} is not an Azure Artifacts feed URL: refusing to send the Azure DevOps token to ${url.protocol}//${url.host} (feeds live on https://pkgs.dev.azure.com/{org}/… or https://{org}.pkgs.visualstudio.com/…)`);
  }
  const segments = url.pathname.split('/').filter(Boolean);
  const decoded = segments.map(decode);
  if (decoded.some((s) => s === undefined)) throw lineError(input, line, text);
  const parts = decoded as string[];
  const host = url.hostname.toLowerCase();
  const emulated = EMULATOR_BUILD && policy.loopbackHosts.includes(url.host.toLowerCase()); // core/flavour.ts
  const legacy = LEGACY_PKGS.exec(host);
  let org: string;
  let rest: string[];
  if (emulated || host === 'pkgs.dev.azure.com') {
    org = parts[0] ?? '';
    rest = parts.slice(1);
  } else if (legacy) {
    org = legacy[1]!;
    rest = parts;
  } else {
    throw lineError(input, line, text, `names ${host}, which serves no feeds`);
  }
  const at = rest.findIndex((s) => s.toLowerCase() === '_packaging');
  if (!ORG_NAME.test(org) || at < 0 || at > 1) throw lineError(input, line, text);
  const project = at === 1 ? rest[0] : undefined;
  const feed = rest[at + 1] ?? '';
  if ((project !== undefined && !PROJECT_NAME.test(project)) || !validFeedPart(feed)) throw lineError(input, line, text);
  const client = clientOf(rest.slice(at + 2));
  if (!client) throw lineError(input, line, text, 'is not a URL any client is given for a feed');
  const registry = name ?? feed.split('@')[0]!;
  if (client === 'cargo' && !CARGO_NAME.test(registry)) {
    throw new InputError(input, text, `line ${line} would name a Cargo registry '${registry}', but Cargo registry names are letters, digits, '-' and '_': add ' as {name}' with the name .cargo/config.toml gives the registry`);
  }
  const loc = location(org, emulated ? `${url.protocol}//${url.host}` : undefined, Boolean(legacy));
  // The client gets the URL as written (its own configuration must match it exactly: NuGet's
  // credential provider matches endpoints by the whole URI), with the trailing slash npm, pip and Cargo need.
  const written = `${url.protocol}//${url.host}${url.pathname}`;
  const clientUrl = client === 'nuget' || client === 'maven' ? written : written.replace(/\/?$/, '/');
  // A Maven repository URL serves Gradle too (the same maven/v1 endpoint, docs artifacts/maven/project-setup-gradle.md).
  const urls = new Map<Client, string>([[client, clientUrl], ...(client === 'maven' ? [['gradle', clientUrl] as const] : [])]);
  return build(line, text, loc, org, project, feed, urls, name);
}

function parseNameLine(input: string, line: number, text: string, value: string, policy: HostPolicy, home: Organization | undefined, name: string | undefined): Feed {
  const parts = value.split('/').map((p) => p.trim());
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !p)) throw lineError(input, line, text);
  const decoded = parts.map(decode);
  if (decoded.some((p) => p === undefined)) throw lineError(input, line, text);
  const [org, maybeProject, maybeFeed] = decoded as string[];
  const project = parts.length === 3 ? maybeProject : undefined;
  const feed = (parts.length === 3 ? maybeFeed : maybeProject)!;
  if (!ORG_NAME.test(org!) || (project !== undefined && !PROJECT_NAME.test(project)) || !validFeedPart(feed)) throw lineError(input, line, text);
  const origin = home?.emulatorOrigin;
  if (origin && !isTokenHost(new URL(origin), policy)) throw lineError(input, line, text);
  const loc = location(org!, origin, false);
  return build(line, text, loc, org!, project, feed, allClients(loc, project, feed), name);
}

/**
 * Parses the `feeds` input: one feed a line; blank lines and `#` comments (whole lines or after a space) ignored. A bare `{org}/…` lives
 * where the pipeline's own organization (`home`) lives (an emulator in tests). Every URL is checked with
 * the token-host rule before anything is sent; a name clients know two feeds by is refused.
 */
export function parseFeeds(input: string, value: string | undefined, policy: HostPolicy, home?: Organization): Feed[] {
  if (value === undefined) return [];
  const feeds: Feed[] = [];
  value.split(/\r?\n/).forEach((raw, i) => {
    // `#` starts a comment (names, URLs and project names cannot hold one; a URL fragment is refused anyway).
    const text = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!text) return;
    const line = i + 1;
    const named = /^(.*?)\s+as\s+([A-Za-z0-9][A-Za-z0-9._-]*)$/i.exec(text);
    const name = named?.[2];
    if (name !== undefined && !CLIENT_NAME.test(name)) {
      throw new InputError(input, text, `line ${line} gives the name '${name}'; a name is letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit`);
    }
    const body = (named?.[1] ?? text).trim();
    const feed = /^(sparse\+)?[a-z][a-z0-9+.-]*:\/\//i.test(body)
      ? parseUrlLine(input, line, text, body, policy, name)
      : parseNameLine(input, line, text, body, policy, home, name);
    // Every URL the token will be sent to, built or written, passes the token-host rule once more.
    for (const url of [...feed.urls.values(), `${feed.api.url}${feed.apiPath}`]) {
      if (!isTokenHost(new URL(url), policy)) throw lineError(input, line, text, `leads to ${url}, which may not receive the token`);
    }
    feeds.push(feed);
  });
  checkNames(input, feeds);
  return feeds;
}

/** Two lines may not give the same client the same name (a Maven id, Cargo registry or .pypirc section is one thing). */
function checkNames(input: string, feeds: readonly Feed[]): void {
  for (const client of ['maven', 'cargo', 'twine'] as const) {
    const seen = new Map<string, Feed>();
    for (const feed of feeds) {
      if (!feed.urls.has(client)) continue;
      const key = client === 'maven' ? feed.name : feed.name.toLowerCase();
      const other = seen.get(key);
      if (other && other.urls.get(client) !== feed.urls.get(client)) {
        throw new InputError(input, feed.text,
          `line ${feed.line} names its feed '${feed.name}' for ${CLIENT_NAMES[client]}, like line ${other.line}; give one of them another name with ' as {name}'`);
      }
      seen.set(key, feed);
    }
  }
}
