/**
 * The REST route table. A route is a method, a template relative to the organization
 * (`{project}/_apis/git/repositories/{repositoryId}`; literals match case-insensitively, `{x}`
 * takes one percent-decoded segment, `{*x}` the rest), and a handler. Add routes by appending
 * to ROUTES; templates never overlap when they differ in where `_apis` sits.
 */
import * as fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import * as path from 'node:path';
import { LOCATION_IDS, LOCATIONS, RESOURCE_AREAS } from './devops-locations';
import { argumentError, connectionDataJson, DevOpsError, projectJson, projectNotFound, repositoryJson, repositoryNotFound } from './devops-json';
import type { HeaderValues } from './http-util';
import { findProject, findRepository, type Identity, type Membership, type Organization, type Project, type Repository, type World } from './world';

export interface RouteContext {
  world: World;
  org: Organization;
  /** Server root (`http://127.0.0.1:PORT`) and `${baseUrl}/${org}`. */
  baseUrl: string;
  orgUrl: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Request headers (lower-cased names), e.g. `accept` for the items route. */
  headers: IncomingHttpHeaders;
  apiVersion: string | undefined;
  /** Undefined only on `anonymous` routes called without credentials. */
  caller: { identity: Identity; membership: Membership } | undefined;
  body: Buffer;
}

export interface RestReply {
  status: number;
  /** Sent as JSON unless `raw` is set. */
  body?: unknown;
  /** Bytes sent as they are (item content), with `contentType`. */
  raw?: Buffer;
  contentType?: string;
  headers?: HeaderValues;
}

export interface Route {
  method: string;
  template: string;
  /** The api-version is checked against this location's version range. */
  locationId?: string;
  /** Answers requests without credentials (with the anonymous identity). */
  anonymous?: boolean;
  /** Discovery (OPTIONS / ResourceAreas): see DevOpsOptions.discoveryAuth. */
  discovery?: boolean;
  handle(ctx: RouteContext): RestReply | Promise<RestReply>;
}

/** `GET _apis/projects`: how requests are labelled by route (DevOpsRequest.route). */
export const routeKey = (route: Route): string => `${route.method} ${route.template}`;

export function matchRoute(routes: readonly Route[], method: string, segments: readonly string[]): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const parts = route.template.split('/').filter(Boolean);
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; ok && i < parts.length; i++) {
      const part = parts[i];
      if (part.startsWith('{*')) {
        params[part.slice(2, -1)] = segments.slice(i).join('/');
        return { route, params };
      }
      if (i >= segments.length) ok = false;
      else if (part.startsWith('{')) params[part.slice(1, -1)] = segments[i];
      else ok = part.toLowerCase() === segments[i].toLowerCase();
    }
    if (ok && parts.length === segments.length) return { route, params };
  }
  return undefined;
}

export const collection = (items: unknown[]): { count: number; value: unknown[] } => ({ count: items.length, value: items });
export const json = (body: unknown, headers?: HeaderValues, status = 200): RestReply => ({ status, body, ...(headers ? { headers } : {}) });

export function member(ctx: RouteContext): { identity: Identity; membership: Membership } {
  if (!ctx.caller) throw new Error(`route needs a caller`);
  return ctx.caller;
}

/** Stakeholder access does not include Repos: repositories are invisible (TF401019), §5. */
export const seesRepos = (ctx: RouteContext): boolean => member(ctx).membership.access === 'basic';

export function projectOf(ctx: RouteContext, nameOrId: string): Project {
  const project = findProject(ctx.org, nameOrId);
  if (!project) throw projectNotFound(nameOrId);
  return project;
}

/** Bytes of the repository's objects, packed and loose (fast-import leaves small seeds loose). */
function objectsSize(bareDir: string): number {
  const objects = path.join(bareDir, 'objects');
  let sum = 0;
  try {
    for (const dir of fs.readdirSync(objects)) {
      if (dir !== 'pack' && !/^[0-9a-f]{2}$/.test(dir)) continue;
      for (const file of fs.readdirSync(path.join(objects, dir))) sum += fs.statSync(path.join(objects, dir, file)).size;
    }
  } catch {
    return sum;
  }
  return sum;
}

export const repoJson = (ctx: RouteContext, project: Project, repo: Repository): object =>
  repositoryJson(ctx.baseUrl, ctx.org, project, repo, repo.size ?? (repo.restOnly ? 0 : objectsSize(repo.bareDir)));

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Finds `{repositoryId}` like GitServerUtils.FindRepositoryByFilters: a GUID alone, or a name or GUID
 * within `{project}`. A name without a project is a 400 ("GitRepositoryProjectNameRequired").
 * Invisible repositories (Stakeholder access) are "not found", like missing ones.
 */
export function repositoryOf(ctx: RouteContext, projectParam: string | undefined, nameOrId: string): { project: Project; repo: Repository } {
  if (!projectParam && !GUID.test(nameOrId)) throw argumentError('A project name is required in order to reference a Git repository by name.');
  const projects = projectParam ? [projectOf(ctx, projectParam)] : ctx.org.projects;
  for (const project of projects) {
    const repo = findRepository(project, nameOrId);
    if (repo && seesRepos(ctx)) return { project, repo };
  }
  throw repositoryNotFound(nameOrId);
}

function listProjects(ctx: RouteContext): RestReply {
  const all = [...ctx.org.projects].sort((a, b) => a.name.localeCompare(b.name));
  const top = Number(ctx.query.get('$top') ?? 100);
  // continuationToken is the number of projects already returned (jessehouwing.net, devops-side.md §1.4).
  const start = Number(ctx.query.get('continuationToken') ?? ctx.query.get('$skip') ?? 0);
  const page = all.slice(start, start + top);
  const more = start + top < all.length;
  return json(collection(page.map((p) => projectJson(ctx.orgUrl, p))), more ? { 'x-ms-continuationtoken': String(start + top) } : undefined);
}

function listRepositories(ctx: RouteContext, projects: Project[]): RestReply {
  const repos = seesRepos(ctx) ? projects.flatMap((p) => p.repos.map((r) => repoJson(ctx, p, r))) : [];
  return json(collection(repos));
}

function getRepository(ctx: RouteContext, project: string | undefined, nameOrId: string): RestReply {
  const found = repositoryOf(ctx, project, nameOrId);
  return json(repoJson(ctx, found.project, found.repo));
}

export const ROUTES: Route[] = [
  {
    method: 'GET',
    template: '_apis/connectionData',
    locationId: LOCATION_IDS.connectionData,
    anonymous: true,
    handle: (ctx) => json(connectionDataJson(ctx.org, ctx.caller?.identity)),
  },
  { method: 'OPTIONS', template: '_apis', discovery: true, handle: () => json(collection(Object.values(LOCATIONS).flat())) },
  {
    method: 'OPTIONS',
    template: '_apis/{area}',
    discovery: true,
    handle: (ctx) => json(collection(LOCATIONS[ctx.params.area.toLowerCase()] ?? [])),
  },
  {
    method: 'GET',
    template: '_apis/ResourceAreas',
    locationId: LOCATION_IDS.resourceAreas,
    anonymous: true, // "No credentials are required" (work-with-urls.md)
    discovery: true,
    handle: (ctx) => json(collection(RESOURCE_AREAS.map((a) => ({ ...a, locationUrl: `${ctx.orgUrl}/` })))),
  },
  {
    method: 'GET',
    template: '_apis/ResourceAreas/{areaId}',
    locationId: LOCATION_IDS.resourceAreas,
    anonymous: true,
    discovery: true,
    handle: (ctx) => {
      const area = RESOURCE_AREAS.find((a) => a.id === ctx.params.areaId.toLowerCase() || a.name === ctx.params.areaId.toLowerCase());
      if (!area) throw new DevOpsError(404, 'ResourceAreaNotFoundException', `Resource area ${ctx.params.areaId} was not found.`);
      return json({ ...area, locationUrl: `${ctx.orgUrl}/` });
    },
  },
  { method: 'GET', template: '_apis/projects', locationId: LOCATION_IDS.projects, handle: listProjects },
  {
    method: 'GET',
    template: '_apis/projects/{projectId}',
    locationId: LOCATION_IDS.projects,
    handle: (ctx) => json(projectJson(ctx.orgUrl, projectOf(ctx, ctx.params.projectId))),
  },
  {
    method: 'GET',
    template: '_apis/git/repositories',
    locationId: LOCATION_IDS.repositories,
    handle: (ctx) => listRepositories(ctx, ctx.org.projects),
  },
  {
    method: 'GET',
    template: '_apis/git/repositories/{repositoryId}',
    locationId: LOCATION_IDS.repositories,
    handle: (ctx) => getRepository(ctx, undefined, ctx.params.repositoryId),
  },
  {
    method: 'GET',
    template: '{project}/_apis/git/repositories',
    locationId: LOCATION_IDS.repositories,
    handle: (ctx) => listRepositories(ctx, [projectOf(ctx, ctx.params.project)]),
  },
  {
    method: 'GET',
    template: '{project}/_apis/git/repositories/{repositoryId}',
    locationId: LOCATION_IDS.repositories,
    handle: (ctx) => getRepository(ctx, ctx.params.project, ctx.params.repositoryId),
  },
];
