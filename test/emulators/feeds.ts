/**
 * Azure Artifacts on the Azure DevOps emulator's origin: the package protocols of pkgs.dev.azure.com at
 * `/{org}[/{project}]/_packaging/{feed}[@{view}]/…` and the feed REST API of feeds.dev.azure.com at
 * `/{org}[/{project}]/_apis/packaging/feeds/{feedId}` (on Azure these are two hosts; here one origin stands
 * for both, as it stands for dev.azure.com).
 *
 *   npm     …/npm/registry/{name}                      packument; tarballs at {name}/-/{file}.tgz
 *   PyPI    …/pypi/simple/ and …/pypi/simple/{project}/ PEP 503 HTML; files at …/pypi/download/{project}/{version}/{file}
 *           …/pypi/upload/                             the legacy upload API twine speaks (POST multipart, :action=file_upload)
 *   NuGet   …/nuget/v3/index.json                      service index; flat container at …/nuget/v3/flat2/
 *   Maven   …/maven/v1/{group/path}/{artifact}/…       repository layout, maven-metadata.xml and .sha1/.md5/.sha256
 *   Cargo   …/Cargo/index/config.json, index files     sparse index (auth-required); crates at …/Cargo/api/v1/crates/{name}/{version}/download
 *
 * Who may do what (sources: the Azure DevOps Server 2022 assemblies in github.com/mjwrona/decompiled —
 * Microsoft.VisualStudio.Services.Feed.Common FeedSecurityHelper: reads need ReadPackages, uploads
 * AddPackage, refusals are FeedNeedsPermissionsException "User '{id}' lacks permission to complete this
 * action. You need to have '{permission}'.", mapped to 403; FeedIdNotFoundException is 404 — and client
 * logs quoting the live service, which puts the message in the reason phrase: NuGet/Home#9259
 * "403 (Forbidden - User '…' lacks permission … 'ReadPackages'.)", Maven "403 Forbidden - User … (DevOps
 * Activity ID: …)"):
 *   - no or an unusable credential, or an identity the organization does not know: 401 with the same
 *     WWW-Authenticate / X-VSS-ResourceTenant headers as the rest of Azure DevOps (devops-auth.ts);
 *     Basic (any user name, the token as password) and Bearer are both accepted;
 *   - a feed that does not exist in that scope (an organization-scoped feed under a project, or a project
 *     feed without its project, a wrong name or view): 404 "TF1600011: The feed with ID '{feed}' doesn't
 *     exist." (the TF prefix as recent client logs show it);
 *   - a member without a role on the feed: 403 (ReadPackages), or for an upload without Contributor: 403
 *     (AddPackage).
 *
 * Guesses, each also marked where it is made:
 *   - pkgs.dev.azure.com never answers with the 203 sign-in page (package clients are not browsers);
 *   - links in answers (tarballs, wheel files, the flat container) repeat the feed as the request named it
 *     (name or id) on the request's own host and path, so path-scoped credentials (npm's `//host/path/`)
 *     cover them; the real service's choice of name or id in them is not documented;
 *   - the PyPI simple pages are HTML only (no PEP 691 JSON), an upload answers 200, and uploading a file
 *     name the feed already has is 409;
 *   - the NuGet service index lists only the resources served here (PackageBaseAddress/3.0.0); the real one
 *     lists more (search, registrations, publish);
 *   - Cargo's config.json `dl` and `api` values (the `…/Cargo/api/v1/crates` form);
 *   - a 404 body for an unknown package inside a readable feed is plain "Not Found".
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { challengeHeaders, type Access, type Credentials } from './devops-auth';
import { DevOpsError, derivedGuid, devopsIdentityId, envelope } from './devops-json';
import { checkApiVersion, type ApiResourceLocation } from './devops-locations';
import type { RestReply, Route, RouteContext } from './devops-routes';
import { readBody } from './http-util';
import {
  cargoCrate, cargoIndexPath, mavenArtifact, normalizePythonName, npmDist, npmPackage, nugetPackage, pythonWheel, sha256Hex,
  type FeedPackage, type PackageFile, type Protocol,
} from './feed-packages';
import { AGENT_VM, NW_BUILD, UAMI_BUILD, findOrganization, findProject, type Identity, type Organization, type World } from './world';

export * from './feed-packages';

/** Feed roles, weakest first; each includes the ones before (docs: artifacts/feeds/feed-permissions.md). */
export const FEED_ROLES = ['reader', 'collaborator', 'contributor', 'owner'] as const;
export type FeedRole = (typeof FEED_ROLES)[number];

export interface FeedRecord {
  readonly id: string;
  readonly name: string;
  /** Organization name (matched case-insensitively, like the rest of Azure DevOps). */
  readonly org: string;
  /** Set for a project-scoped feed. */
  readonly project?: { readonly id: string; readonly name: string };
  readonly views: readonly string[];
  /** Identity object id → role. Live data: change it and the next request sees it. */
  readonly permissions: Map<string, FeedRole>;
  readonly packages: FeedPackage[];
}

export const CONTOSO_LIBS = { org: 'contoso', name: 'libs', id: 'b5f5c6e2-7f0e-4f64-9b5c-3f2a1d0e9c11' } as const;
export const FABRIKAM_TOOLS = { org: 'fabrikam', project: 'Shared Tools', name: 'tools', id: '6f0c2d8e-51a4-4f3b-a0de-7a4c1b2e3d44' } as const;
export const FABRIKAM_RESTRICTED = { org: 'fabrikam', name: 'restricted', id: 'e2a9c4b7-3d1f-4e6a-8b5c-9d0e1f2a3b55' } as const;
export const NORTHWIND_OPS = { org: 'northwind', name: 'ops', id: '1c3e5a7b-9d2f-4b6a-8c0e-2f4a6c8e0b66' } as const;

/** The same small library in every protocol, so each client has something to restore. */
function library(npm: string, python: string, nuget: string, group: string, artifact: string, crate: string): FeedPackage[] {
  return [
    npmPackage(npm, '1.0.0'),
    pythonWheel(python, '1.0.0'),
    nugetPackage(nuget, '1.0.0'),
    mavenArtifact(group, artifact, '1.0.0', 'jar'),
    mavenArtifact(group, `${artifact}-bom`, '1.0.0', 'pom',
      `  <dependencyManagement>\n    <dependencies>\n      <dependency>\n        <groupId>${group}</groupId>\n        <artifactId>${artifact}</artifactId>\n        <version>1.0.0</version>\n      </dependency>\n    </dependencies>\n  </dependencyManagement>\n`),
    cargoCrate(crate, '1.0.0'),
  ];
}

/**
 * The default feeds: contoso's organization-scoped `libs` (agent-vm may publish, uami-build read),
 * fabrikam's project-scoped `Shared Tools/tools` (agent-vm and uami-build read), fabrikam's `restricted`
 * (no role for any identity of the agent) and northwind's `ops` (another tenant; nw-build reads).
 */
export function defaultFeeds(world: World): FeedRecord[] {
  const fabrikam = findOrganization(world, FABRIKAM_TOOLS.org);
  const tools = fabrikam && findProject(fabrikam, FABRIKAM_TOOLS.project);
  const views = ['Local', 'Prerelease', 'Release'];
  return [
    {
      ...CONTOSO_LIBS, views,
      permissions: new Map<string, FeedRole>([[AGENT_VM.objectId, 'contributor'], [UAMI_BUILD.objectId, 'reader']]),
      packages: library('@contoso/greeting', 'contoso-greeting', 'Contoso.Greeting', 'com.contoso', 'greeting', 'contoso-greeting'),
    },
    {
      org: FABRIKAM_TOOLS.org, name: FABRIKAM_TOOLS.name, id: FABRIKAM_TOOLS.id, views,
      ...(tools ? { project: { id: tools.id, name: tools.name } } : {}),
      permissions: new Map<string, FeedRole>([[AGENT_VM.objectId, 'reader'], [UAMI_BUILD.objectId, 'reader']]),
      packages: library('fabrikam-tools', 'fabrikam-tools', 'Fabrikam.Tools', 'com.fabrikam', 'tools', 'fabrikam-tools'),
    },
    {
      ...FABRIKAM_RESTRICTED, views, permissions: new Map<string, FeedRole>(),
      packages: library('fabrikam-secret', 'fabrikam-secret', 'Fabrikam.Secret', 'com.fabrikam', 'secret', 'fabrikam-secret'),
    },
    {
      ...NORTHWIND_OPS, views, permissions: new Map<string, FeedRole>([[NW_BUILD.objectId, 'reader']]),
      packages: library('northwind-ops', 'northwind-ops', 'Northwind.Ops', 'com.northwind', 'ops', 'northwind-ops'),
    },
  ];
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A feed by name or id (optionally `@view`), in the scope the URL names: project feeds only under their project. */
export function findFeed(feeds: readonly FeedRecord[], org: Organization, projectParam: string | undefined, feedParam: string): { feed: FeedRecord; view?: string } | undefined {
  const [nameOrId = '', view, extra] = feedParam.split('@');
  if (extra !== undefined) return undefined;
  const feed = feeds.find((f) => same(f.org, org.name) && (same(f.name, nameOrId) || (GUID.test(nameOrId) && same(f.id, nameOrId))));
  if (!feed) return undefined;
  if (Boolean(feed.project) !== Boolean(projectParam)) return undefined;
  if (feed.project && projectParam && !same(feed.project.name, projectParam) && !same(feed.project.id, projectParam)) return undefined;
  if (view !== undefined && !feed.views.some((v) => same(v, view) || same(derivedGuid(feed.id, v), view))) return undefined;
  return { feed, ...(view ? { view } : {}) };
}

const roleAtLeast = (role: FeedRole | undefined, needed: FeedRole): boolean => role !== undefined && FEED_ROLES.indexOf(role) >= FEED_ROLES.indexOf(needed);

export class FeedError extends DevOpsError {
  constructor(status: number, typeKey: string, message: string) {
    super(status, typeKey, message, `Microsoft.VisualStudio.Services.Feed.WebApi.${typeKey}, Microsoft.VisualStudio.Services.Feed.WebApi`);
  }
}

export const feedNotFound = (feed: string): FeedError => new FeedError(404, 'FeedIdNotFoundException', `TF1600011: The feed with ID '${feed}' doesn't exist.`);

/** FeedNeedsPermissionsException: the user is the identity's id in the organization, as GetUserString gives it on the service. */
export const needsPermission = (org: Organization, identity: Identity, permission: 'ReadPackages' | 'AddPackage'): FeedError =>
  new FeedError(403, 'FeedNeedsPermissionsException', `User '${devopsIdentityId(org, identity)}' lacks permission to complete this action. You need to have '${permission}'.`);

/** Feed Management - Get Feed (area Packaging, resource Feeds, route {project}/_apis/{area}/{resource}/{feedId}). */
export const FEED_LOCATION: ApiResourceLocation = {
  id: 'c65009a7-474a-4ad1-8b42-7d852107ef8c', area: 'Packaging', resourceName: 'Feeds',
  routeTemplate: '{project}/_apis/{area}/{resource}/{feedId}', resourceVersion: 1, minVersion: '1.0', maxVersion: '7.2', releasedVersion: '7.1',
};

/** The Feed JSON of the REST API (fields from the 7.1 reference's Feed model; urls on the request's origin). */
export function feedJson(orgUrl: string, feed: FeedRecord, view?: string): object {
  const scope = feed.project ? `${orgUrl}/${feed.project.id}` : orgUrl;
  const self = `${scope}/_apis/Packaging/Feeds/${feed.id}`;
  return {
    id: feed.id,
    name: feed.name,
    url: self,
    _links: { self: { href: self }, packages: { href: `${self}/Packages` }, permissions: { href: `${self}/Permissions` } },
    description: '',
    fullyQualifiedName: view ? `${feed.name}@${view}` : feed.name,
    fullyQualifiedId: view ? `${feed.id}@${derivedGuid(feed.id, view)}` : feed.id,
    viewId: view ? derivedGuid(feed.id, view) : null,
    viewName: view ?? null,
    upstreamEnabled: true,
    upstreamSources: [],
    capabilities: 'defaultCapabilities',
    hideDeletedPackageVersions: true,
    badgesEnabled: false,
    defaultViewId: derivedGuid(feed.id, 'Local'),
    ...(feed.project ? { project: { id: feed.project.id, name: feed.project.name, visibility: 'private' } } : {}),
  };
}

/** `{baseUrl}/{org}[/{project}]/_packaging/{feed}/` with each part percent-encoded, like pkgs.dev.azure.com URLs. */
export function packagingBase(baseUrl: string, org: string, feed: string, project?: string): string {
  return `${baseUrl}/${[org, ...(project ? [project] : []), '_packaging', feed].map(encodeURIComponent).join('/')}/`;
}

export interface FeedsService {
  readonly feeds: FeedRecord[];
  /** REST routes to add to the Azure DevOps emulator's table. */
  readonly routes: Route[];
  /** The `_packaging` part of a path (segments after the organization), or undefined when it is something else. */
  parse(segments: readonly string[]): PackagingPath | undefined;
  serve(req: IncomingMessage, res: ServerResponse, org: Organization, path: PackagingPath, creds: Credentials, access: Access, baseUrl: string): Promise<string>;
}

export interface PackagingPath {
  readonly project?: string;
  readonly feed: string;
  /** The path after `{feed}/`, e.g. ['npm', 'registry', '@contoso', 'greeting']. */
  readonly rest: readonly string[];
  /** The raw (percent-encoded) path up to and including `/_packaging/{feed}/`. */
  readonly prefix: string;
}

function sendReason(res: ServerResponse, status: number, reason: string, body: Buffer, contentType: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, reason, { 'Content-Type': contentType, 'Content-Length': body.length, ...headers });
  res.end(body);
}

function sendError(res: ServerResponse, err: DevOpsError): void {
  const activity = String(res.getHeader('ActivityId') ?? randomUUID());
  const reason = `${err.status === 403 ? 'Forbidden' : err.status === 404 ? 'Not Found' : err.status === 401 ? 'Unauthorized' : 'Error'} - ${err.message} (DevOps Activity ID: ${activity})`;
  sendReason(res, err.status, reason.replace(/[^\t\x20-\x7e]/g, '?'), Buffer.from(JSON.stringify(envelope(err))), 'application/json; charset=utf-8', err.headers);
}

const send = (res: ServerResponse, status: number, body: string | Buffer, contentType: string): void =>
  sendReason(res, status, status === 200 ? 'OK' : status === 404 ? 'Not Found' : 'Error', typeof body === 'string' ? Buffer.from(body) : body, contentType);

const notFound = (res: ServerResponse): void => send(res, 404, 'Not Found', 'text/plain; charset=utf-8');

/** Splits a multipart/form-data body into fields (text) and files (bytes). */
function parseMultipart(body: Buffer, contentType: string): { fields: Map<string, string>; files: Map<string, { filename: string; bytes: Buffer }> } {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  const fields = new Map<string, string>();
  const files = new Map<string, { filename: string; bytes: Buffer }>();
  if (!boundary) return { fields, files };
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString();
    const content = part.subarray(split + 4);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    const filename = /filename="([^"]*)"/i.exec(head)?.[1];
    if (name !== undefined) {
      if (filename !== undefined) files.set(name, { filename, bytes: content });
      else fields.set(name, content.toString());
    }
    at = next;
  }
  return { fields, files };
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function startFeeds(world: World, feeds: FeedRecord[] = defaultFeeds(world)): FeedsService {
  const packagesOf = (feed: FeedRecord, protocol: Protocol): FeedPackage[] => feed.packages.filter((p) => p.protocol === protocol);

  const restRoute = (template: string): Route => ({
    method: 'GET',
    template,
    handle: (ctx: RouteContext): RestReply => {
      const version = checkApiVersion(ctx.apiVersion, FEED_LOCATION);
      if (!version.ok) throw new DevOpsError(400, version.typeKey, version.message);
      const project = ctx.params['project'];
      if (project && !findProject(ctx.org, project)) {
        // Guessed text; the code comes from a Microsoft doc of the project-visibility errors (research/peers.md).
        throw new DevOpsError(404, 'ProjectDoesNotExistException', `VS800075: The project with id '${project}' does not exist, or you do not have permission to access it.`);
      }
      const found = findFeed(feeds, ctx.org, project, ctx.params['feedId']!);
      if (!found) throw feedNotFound(ctx.params['feedId']!);
      const caller = ctx.caller!;
      if (!roleAtLeast(found.feed.permissions.get(caller.identity.objectId), 'reader')) throw needsPermission(ctx.org, caller.identity, 'ReadPackages');
      return { status: 200, body: feedJson(ctx.orgUrl, found.feed, found.view) };
    },
  });

  const parse = (segments: readonly string[]): PackagingPath | undefined => {
    const at = segments.findIndex((s) => same(s, '_packaging'));
    if (at < 0 || at > 1 || segments.length < at + 2) return undefined;
    const project = at === 1 ? segments[0] : undefined;
    const feed = segments[at + 1]!;
    const raw = [...(project !== undefined ? [project] : []), '_packaging', feed].map(encodeURIComponent).join('/');
    return { ...(project !== undefined ? { project } : {}), feed, rest: segments.slice(at + 2), prefix: raw };
  };

  async function serve(req: IncomingMessage, res: ServerResponse, org: Organization, path: PackagingPath, creds: Credentials, access: Access, baseUrl: string): Promise<string> {
    const method = req.method ?? 'GET';
    const rest = path.rest;
    const kind = `${rest[0] ?? ''}/${rest[1] ?? ''}`.toLowerCase();
    const label = `${method} _packaging/{feed}/${kind}`;
    if (!access.ok) {
      // Guess: package endpoints answer 401 (never the 203 sign-in page) with the usual challenge.
      const message = creds.kind === 'none'
        ? 'TF400813: Resource not available for anonymous access. Client authentication required.'
        : access.why === 'never signed in'
          ? `TF401444: Please sign-in at least once as ${creds.kind === 'token' ? `${creds.tid}\\${creds.tid}\\${creds.oid}` : ''} in a web browser to enable access to the service.`
          : `TF400813: The user '${creds.kind === 'token' ? 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa' : ''}' is not authorized to access this resource.`;
      sendError(res, new DevOpsError(401, 'UnauthorizedRequestException', message, undefined, challengeHeaders(org)));
      return label;
    }
    const found = findFeed(feeds, org, path.project, path.feed);
    if (!found) {
      sendError(res, feedNotFound(path.feed));
      return label;
    }
    const { feed } = found;
    const role = feed.permissions.get(access.identity.objectId);
    const writing = method === 'POST' || method === 'PUT';
    if (!roleAtLeast(role, writing ? 'contributor' : 'reader')) {
      sendError(res, needsPermission(org, access.identity, writing ? 'AddPackage' : 'ReadPackages'));
      return label;
    }
    const base = `${baseUrl}/${encodeURIComponent(org.name)}/${path.prefix}`;
    switch (kind) {
      case 'npm/registry': serveNpm(res, feed, rest.slice(2), `${base}/npm/registry`, method); return label;
      case 'pypi/simple': servePypiSimple(res, feed, rest.slice(2), base); return label;
      case 'pypi/download': servePypiFile(res, feed, rest.slice(2)); return label;
      case 'pypi/upload': await servePypiUpload(req, res, feed, method); return label;
      case 'nuget/v3': serveNuget(res, feed, rest.slice(2), `${base}/nuget/v3`); return label;
      case 'maven/v1': serveMaven(res, feed, rest.slice(2)); return label;
      case 'cargo/index': serveCargoIndex(res, feed, rest.slice(2), `${base}/Cargo`); return label;
      case 'cargo/api': serveCargoDownload(res, feed, rest.slice(2)); return label;
      default: notFound(res); return label;
    }
  }

  function serveNpm(res: ServerResponse, feed: FeedRecord, rest: readonly string[], registry: string, method: string): void {
    if (method !== 'GET' && method !== 'HEAD') return notFound(res);
    // `@scope%2fname` arrives decoded as one segment '@scope/name'; `@scope/name` as two.
    const parts = rest.flatMap((s) => s.split('/'));
    const dash = parts.indexOf('-');
    const nameParts = dash >= 0 ? parts.slice(0, dash) : parts;
    const name = nameParts.join('/');
    const versions = packagesOf(feed, 'npm').filter((p) => p.name === name);
    if (!versions.length) return notFound(res);
    if (dash >= 0) {
      const file = versions.flatMap((p) => p.files).find((f) => f.name === parts[dash + 1]);
      if (!file) return notFound(res);
      return send(res, 200, file.bytes, 'application/octet-stream');
    }
    const tarballBase = `${registry}/${nameParts.join('/')}/-`;
    const packument = {
      _id: name,
      name,
      'dist-tags': { latest: versions.at(-1)!.version },
      versions: Object.fromEntries(versions.map((p) => [p.version, { ...p.metadata, _id: `${name}@${p.version}`, dist: npmDist(p.files[0]!, `${tarballBase}/${p.files[0]!.name}`) }])),
      time: Object.fromEntries(versions.map((p) => [p.version, '2026-01-01T00:00:00.000Z'])),
    };
    send(res, 200, JSON.stringify(packument), 'application/json; charset=utf-8');
  }

  function servePypiSimple(res: ServerResponse, feed: FeedRecord, rest: readonly string[], base: string): void {
    const projects = [...new Set(packagesOf(feed, 'pypi').map((p) => normalizePythonName(p.name)))];
    const html = (title: string, links: string[]): string =>
      `<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="1.0">\n    <title>${escapeHtml(title)}</title>\n  </head>\n  <body>\n${links.map((l) => `    ${l}<br/>`).join('\n')}\n  </body>\n</html>\n`;
    const project = rest.filter(Boolean)[0];
    if (!project) {
      send(res, 200, html('Simple index', projects.map((p) => `<a href="${escapeHtml(p)}/">${escapeHtml(p)}</a>`)), 'text/html; charset=utf-8');
      return;
    }
    const releases = packagesOf(feed, 'pypi').filter((p) => normalizePythonName(p.name) === normalizePythonName(project));
    if (!releases.length) return notFound(res);
    const links = releases.flatMap((p) => p.files.map((f) => {
      const href = `${base}/pypi/download/${normalizePythonName(p.name)}/${encodeURIComponent(p.version)}/${encodeURIComponent(f.name)}#sha256=${sha256Hex(f.bytes)}`;
      return `<a href="${escapeHtml(href)}">${escapeHtml(f.name)}</a>`;
    }));
    send(res, 200, html(`Links for ${project}`, links), 'text/html; charset=utf-8');
  }

  function servePypiFile(res: ServerResponse, feed: FeedRecord, rest: readonly string[]): void {
    const [project, version, filename] = rest;
    const release = packagesOf(feed, 'pypi').find((p) => normalizePythonName(p.name) === normalizePythonName(project ?? '') && p.version === version);
    const file = release?.files.find((f) => f.name === filename);
    if (!file) return notFound(res);
    send(res, 200, file.bytes, 'application/octet-stream');
  }

  async function servePypiUpload(req: IncomingMessage, res: ServerResponse, feed: FeedRecord, method: string): Promise<void> {
    if (method !== 'POST') return notFound(res);
    const { fields, files } = parseMultipart(await readBody(req), String(req.headers['content-type'] ?? ''));
    const content = files.get('content');
    const name = fields.get('name');
    const version = fields.get('version');
    if (fields.get(':action') !== 'file_upload' || !content || !name || !version) {
      return send(res, 400, 'Bad Request: expected :action=file_upload with name, version and content', 'text/plain; charset=utf-8');
    }
    const digest = fields.get('sha256_digest');
    if (digest && digest !== sha256Hex(content.bytes)) return send(res, 400, 'Bad Request: sha256_digest does not match the content', 'text/plain; charset=utf-8');
    const existing = packagesOf(feed, 'pypi').find((p) => normalizePythonName(p.name) === normalizePythonName(name) && p.version === version);
    if (existing?.files.some((f) => f.name === content.filename)) {
      return sendReason(res, 409, 'Conflict', Buffer.from(`The feed already contains file '${content.filename}' in package '${name} ${version}'.`), 'text/plain; charset=utf-8');
    }
    const file: PackageFile = { name: content.filename, bytes: content.bytes };
    if (existing) existing.files.push(file);
    else feed.packages.push({ protocol: 'pypi', name, version, files: [file], metadata: Object.fromEntries(fields) });
    send(res, 200, 'OK', 'text/plain; charset=utf-8');
  }

  function serveNuget(res: ServerResponse, feed: FeedRecord, rest: readonly string[], v3: string): void {
    if (rest.length === 1 && same(rest[0]!, 'index.json')) {
      const index = { version: '3.0.0', resources: [{ '@id': `${v3}/flat2/`, '@type': 'PackageBaseAddress/3.0.0', comment: 'Base URL of where NuGet packages are stored' }] };
      return send(res, 200, JSON.stringify(index), 'application/json; charset=utf-8');
    }
    if (!same(rest[0] ?? '', 'flat2')) return notFound(res);
    const [id = '', version, file] = rest.slice(1);
    const versions = packagesOf(feed, 'nuget').filter((p) => same(p.name, id));
    if (!versions.length) return notFound(res);
    if (version === 'index.json' && file === undefined) return send(res, 200, JSON.stringify({ versions: versions.map((p) => p.version.toLowerCase()) }), 'application/json; charset=utf-8');
    const found = versions.find((p) => same(p.version, version ?? ''))?.files.find((f) => same(f.name, file ?? ''));
    if (!found) return notFound(res);
    send(res, 200, found.bytes, found.name.endsWith('.nuspec') ? 'application/xml' : 'application/octet-stream');
  }

  function serveMaven(res: ServerResponse, feed: FeedRecord, rest: readonly string[]): void {
    const file = rest.at(-1) ?? '';
    const checksum = /\.(sha1|md5|sha256)$/.exec(file)?.[1];
    const target = checksum ? file.slice(0, -(checksum.length + 1)) : file;
    const artifacts = packagesOf(feed, 'maven');
    let bytes: Buffer | undefined;
    if (target === 'maven-metadata.xml') {
      const group = rest.slice(0, -2).join('.');
      const artifactId = rest.at(-2);
      const versions = artifacts.filter((a) => a.name === `${group}:${artifactId}`);
      if (versions.length) {
        bytes = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<metadata>\n  <groupId>${group}</groupId>\n  <artifactId>${artifactId}</artifactId>\n  <versioning>\n    <latest>${versions.at(-1)!.version}</latest>\n    <release>${versions.at(-1)!.version}</release>\n    <versions>\n${versions.map((v) => `      <version>${v.version}</version>`).join('\n')}\n    </versions>\n    <lastUpdated>20260101000000</lastUpdated>\n  </versioning>\n</metadata>\n`);
      }
    } else {
      const group = rest.slice(0, -3).join('.');
      const [artifactId, version] = rest.slice(-3, -1);
      bytes = artifacts.find((a) => a.name === `${group}:${artifactId}` && a.version === version)?.files.find((f) => f.name === target)?.bytes;
    }
    if (!bytes) return notFound(res);
    if (checksum) return send(res, 200, createHash(checksum).update(bytes).digest('hex'), 'text/plain');
    send(res, 200, bytes, target.endsWith('.pom') || target.endsWith('.xml') ? 'application/xml' : 'application/java-archive');
  }

  function serveCargoIndex(res: ServerResponse, feed: FeedRecord, rest: readonly string[], cargo: string): void {
    if (rest.length === 1 && rest[0] === 'config.json') {
      // Guessed dl/api values; auth-required is what makes Cargo send the token (registry-index.md).
      return send(res, 200, JSON.stringify({ dl: `${cargo}/api/v1/crates`, api: cargo, 'auth-required': true }), 'application/json');
    }
    const name = rest.at(-1) ?? '';
    const crates = packagesOf(feed, 'cargo').filter((p) => same(p.name, name));
    if (!crates.length || rest.join('/').toLowerCase() !== cargoIndexPath(name)) return notFound(res);
    send(res, 200, crates.map((c) => JSON.stringify(c.metadata)).join('\n') + '\n', 'text/plain');
  }

  function serveCargoDownload(res: ServerResponse, feed: FeedRecord, rest: readonly string[]): void {
    // api/v1/crates/{name}/{version}/download
    const [v1, crates, name, version, download] = rest;
    if (v1 !== 'v1' || crates !== 'crates' || download !== 'download') return notFound(res);
    const crate = packagesOf(feed, 'cargo').find((c) => same(c.name, name ?? '') && c.version === version);
    if (!crate) return notFound(res);
    send(res, 200, crate.files[0]!.bytes, 'application/x-tar');
  }

  return {
    feeds,
    routes: [restRoute('_apis/packaging/feeds/{feedId}'), restRoute('{project}/_apis/packaging/feeds/{feedId}')],
    parse,
    serve,
  };
}
