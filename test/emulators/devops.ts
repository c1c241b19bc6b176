/**
 * Azure DevOps on one loopback server, laid out like dev.azure.com: `/{org}/…` REST routes
 * (devops-routes.ts) and `/{org}/{project}/_git/{repo}` smart HTTP (devops-git.ts).
 * Every request is authenticated (devops-auth.ts) and recorded without its secret.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { authorize, readCredentials, refusal, challengeHeaders, SIGN_IN_PAGE, type Access, type Credentials } from './devops-auth';
import { parseGitPath, serveGit } from './devops-git';
import { DevOpsError, devopsIdentityId, envelope } from './devops-json';
import { checkApiVersion, findLocation } from './devops-locations';
import { GIT_ROUTES } from './devops-repos';
import { matchRoute, routeKey, ROUTES, type RestReply, type Route } from './devops-routes';
import { applyFault, takeFault, type Fault } from './faults';
import type { FeedsService } from './feeds';
import { closeServer, flattenHeaders, listen, queryObject, readBody, requestUrl, sendBytes, sendJson, sendText, Sleeper, type RecordedRequest } from './http-util';
import type { TokenIssuer } from './tokens';
import { AZURE_DEVOPS_RESOURCE, cloneUrlFor, findOrganization, type Organization, type World } from './world';

export interface DevOpsRequest extends RecordedRequest {
  /** The Authorization header is never recorded: only its scheme and whether the token verified. */
  auth: { scheme: string | null; valid: boolean; reason?: string };
  tokenOid?: string;
  /** From the query or the Accept header (`application/json;api-version=7.1`). */
  apiVersion?: string;
  /** The REST route that serves it, as `METHOD template` (e.g. `GET _apis/projects`); absent for git and unknown paths. */
  route?: string;
}

export interface DevOpsOptions {
  /** Token audiences accepted (default: the Azure DevOps resource id only). */
  audiences: string[];
  /**
   * 'enforce': OPTIONS and ResourceAreas check credentials like everything else; 'open': they
   * never do. Real ADO's choice is unknown (devops-side.md §0), so a client must cope with both.
   */
  discoveryAuth: 'enforce' | 'open';
}

export interface DevOpsEmulator {
  readonly url: string;
  orgUrl(org: string): string;
  /** Like the REST `remoteUrl`: `http://{org}@127.0.0.1:PORT/{org}/{project}/_git/{repo}`, percent-encoded. */
  cloneUrl(org: string, project: string, repo: string): string;
  readonly requests: DevOpsRequest[];
  readonly faults: Fault<DevOpsRequest>[];
  readonly options: DevOpsOptions;
  /** The REST route table; push more routes to extend the emulator. */
  readonly routes: Route[];
  /** Recorded requests served by one route, e.g. `requestsTo('GET _apis/projects')` (see DevOpsRequest.route). */
  requestsTo(route: string): DevOpsRequest[];
  stop(): Promise<void>;
}

/** Which requests a fault applies to; every given field must match. */
export interface RequestMatch {
  method?: string;
  /** The request path, raw (`/fabrikam/Shared%20Tools/_apis/…`) or decoded; a RegExp is tried on both. */
  path?: string | RegExp;
  /** The route label, e.g. `GET {project}/_apis/git/repositories/{repositoryId}/items/{*path}` (DevOpsRequest.route). */
  route?: string;
  /** Any other condition. */
  match?: (r: DevOpsRequest) => boolean;
}

/** A predicate for `Fault.match` from method / path / route. */
export function matchRequest(m: RequestMatch): (r: DevOpsRequest) => boolean {
  return (r) => {
    if (m.method && r.method.toUpperCase() !== m.method.toUpperCase()) return false;
    if (m.route && r.route !== m.route) return false;
    if (m.path !== undefined) {
      let decoded = r.path;
      try {
        decoded = decodeURIComponent(r.path);
      } catch {
        /* keep the raw path */
      }
      const ok = typeof m.path === 'string' ? m.path === r.path || m.path === decoded : m.path.test(r.path) || m.path.test(decoded);
      if (!ok) return false;
    }
    return m.match ? m.match(r) : true;
  };
}

const matcherOf = (m: RequestMatch): { match?: (r: DevOpsRequest) => boolean } =>
  m.method || m.path !== undefined || m.route || m.match ? { match: matchRequest(m) } : {};

export interface ThrottlingOptions extends RequestMatch {
  retryAfterSeconds?: number;
  times?: number;
  /** X-RateLimit-Resource (default `Core`) and the namespace named in TF400733 (default `User`). */
  resource?: string;
  namespace?: string;
  /**
   * Instead of blocking (429), delay the normal answer by `retryAfterSeconds` and send the rate-limit
   * headers with it, `X-RateLimit-Delay` included ("delayed, not blocked", rate-limits.md).
   */
  delayed?: boolean;
}

/**
 * A 429 like ADO's global rate limiter sends (docs/integrate/concepts/rate-limits.md): TF400733 wrapping
 * RequestBlockedException's text (Framework.Server Resources `RequestBlockedWithFwlink`, shortened as
 * the docs quote it), Retry-After and the X-RateLimit-* headers.
 */
export function throttlingFault(opts: ThrottlingOptions = {}): Fault<DevOpsRequest> {
  const seconds = opts.retryAfterSeconds ?? 1;
  const resource = opts.resource ?? 'Core';
  const headers: Record<string, string> = {
    'Retry-After': String(seconds),
    'X-RateLimit-Resource': resource,
    'X-RateLimit-Limit': '200',
    'X-RateLimit-Remaining': '0',
    'X-RateLimit-Reset': String(Math.floor(Date.now() / 1000) + seconds),
  };
  if (opts.delayed) {
    return { ...matcherOf(opts), times: opts.times ?? 1, delayMs: seconds * 1000, headers: { ...headers, 'X-RateLimit-Delay': seconds.toFixed(3) } };
  }
  const message = `TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource '${resource}' in namespace '${opts.namespace ?? 'User'}'.`;
  return {
    ...matcherOf(opts),
    times: opts.times ?? 1,
    status: 429,
    body: envelope(new DevOpsError(429, 'RequestBlockedException', message)),
    headers,
  };
}

export interface ServerErrorOptions extends RequestMatch {
  status?: 500 | 502 | 503 | 504;
  times?: number;
  /** Adds Retry-After (seconds). */
  retryAfterSeconds?: number;
}

/**
 * A server failure. 500 carries ADO's internal-error envelope (TF400898, Framework.Server Resources
 * `Error_InternalTFSFailureWithCorrelation`); guesses: its typeKey, and the 502/503/504 bodies, which
 * come from the front ends rather than the application (plain text here).
 */
export function serverErrorFault(opts: ServerErrorOptions = {}): Fault<DevOpsRequest> {
  const status = opts.status ?? 500;
  const headers: Record<string, string> = opts.retryAfterSeconds !== undefined ? { 'Retry-After': String(opts.retryAfterSeconds) } : {};
  const body: object | string =
    status === 500
      ? envelope(new DevOpsError(500, 'TeamFoundationServiceException', `TF400898: An Internal Error Occurred. Activity Id: ${randomUUID()}.`))
      : `${status} ${status === 503 ? 'Service Unavailable' : status === 502 ? 'Bad Gateway' : 'Gateway Timeout'}`;
  return { ...matcherOf(opts), times: opts.times ?? 1, status, body, headers };
}

function apiVersionOf(url: URL, req: IncomingMessage): string | undefined {
  const fromAccept = /api-version=([^;,\s]+)/i.exec(req.headers.accept ?? '');
  return url.searchParams.get('api-version') ?? fromAccept?.[1];
}

function recordOf(req: IncomingMessage, url: URL, creds: Credentials): DevOpsRequest {
  const headers = flattenHeaders(req.headers);
  delete headers.authorization;
  return {
    time: Date.now(),
    method: req.method ?? 'GET',
    path: (req.url ?? '/').split('?')[0],
    query: queryObject(url),
    headers,
    body: '',
    auth: {
      scheme: creds.kind === 'none' ? null : creds.scheme,
      valid: creds.kind === 'token',
      ...(creds.kind === 'invalid' ? { reason: creds.reason } : {}),
    },
    ...(creds.kind === 'token' ? { tokenOid: creds.oid } : {}),
    apiVersion: apiVersionOf(url, req),
  };
}

function setCommonHeaders(res: ServerResponse): void {
  const activity = randomUUID();
  res.setHeader('ActivityId', activity);
  res.setHeader('X-TFS-Session', activity);
  res.setHeader('X-VSS-E2EID', activity);
  res.setHeader('X-Frame-Options', 'SAMEORIGIN');
  res.setHeader('Access-Control-Expose-Headers', 'Request-Context,ActivityId,X-TFS-Session,X-MS-ContinuationToken');
}

export async function startDevOps(opts: { world: World; tokens: TokenIssuer; options?: Partial<DevOpsOptions>; feeds?: FeedsService }): Promise<DevOpsEmulator> {
  const { world, tokens, feeds } = opts;
  const options: DevOpsOptions = { audiences: [AZURE_DEVOPS_RESOURCE], discoveryAuth: 'enforce', ...opts.options };
  const requests: DevOpsRequest[] = [];
  const faults: Fault<DevOpsRequest>[] = [];
  const routes = [...ROUTES, ...GIT_ROUTES, ...(feeds?.routes ?? [])];
  const sleeper = new Sleeper();
  let baseUrl = '';

  const rest = async (
    req: IncomingMessage,
    url: URL,
    org: Organization,
    segments: string[],
    creds: Credentials,
    access: Access,
    body: Buffer,
  ): Promise<RestReply | 'sign-in page'> => {
    const method = req.method ?? 'GET';
    const matched = matchRoute(routes, method, segments);
    if (!matched) {
      // Guessed shape for an unknown route.
      throw new DevOpsError(404, 'HttpException', `The controller for path '${url.pathname}' was not found or does not implement IController.`);
    }
    const { route, params } = matched;
    const open = (route.discovery && options.discoveryAuth === 'open') || (route.anonymous && creds.kind === 'none');
    if (!open && !access.ok) {
      const suppress = (req.headers['x-tfs-fedauthredirect'] ?? '').toString().toLowerCase() === 'suppress';
      const refused = refusal(org, access.why, creds, suppress);
      if (refused === 'sign-in page') return refused;
      throw refused;
    }
    const location = route.locationId ? findLocation(route.locationId) : undefined;
    const apiVersion = apiVersionOf(url, req);
    const version = location ? checkApiVersion(apiVersion, location) : { ok: true as const };
    if (!version.ok) throw new DevOpsError(400, version.typeKey, version.message);
    return route.handle({
      world,
      org,
      baseUrl,
      orgUrl: `${baseUrl}/${encodeURIComponent(org.name)}`,
      params,
      query: url.searchParams,
      headers: req.headers,
      apiVersion,
      caller: access.ok && !(route.anonymous && creds.kind === 'none') ? { identity: access.identity, membership: access.membership } : undefined,
      body,
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestUrl(req);
    const creds = readCredentials(req, tokens, options.audiences);
    const record = recordOf(req, url, creds);
    requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));

    let segments: string[] | undefined;
    try {
      segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      segments = undefined;
    }
    // Label the request with its route first, so faults can match on it.
    const packaging = segments && segments.length > 1 ? feeds?.parse(segments.slice(1)) : undefined;
    const matched = segments && segments.length > 1 && !packaging && !parseGitPath(segments.slice(1)) ? matchRoute(routes, record.method, segments.slice(1)) : undefined;
    if (matched) record.route = routeKey(matched.route);
    if (packaging) record.route = `${record.method} _packaging/{feed}/${packaging.rest.slice(0, 2).join('/').toLowerCase()}`;

    const fault = takeFault(faults, record);
    if (fault && (await applyFault(fault, res, sleeper))) return;
    setCommonHeaders(res);
    if (!segments) return sendText(res, 400, 'Bad Request: malformed percent-encoding');

    const org = segments.length > 0 ? findOrganization(world, segments[0]) : undefined;
    if (!org) {
      // Guessed: the real service's answer for an unknown organization is not documented.
      const err = new DevOpsError(404, 'HostNotFoundException', `The organization '${segments[0] ?? ''}' could not be found.`);
      return sendJson(res, 404, envelope(err));
    }
    const access = authorize(world, org, creds);
    if (access.ok) res.setHeader('X-VSS-UserData', `${devopsIdentityId(org, access.identity)}:${access.identity.displayName}`);

    if (segments.length === 1) {
      // GCM and preflights read the tenant from an unauthenticated HEAD/GET of the org (devops-side.md §4.4).
      return access.ok ? sendText(res, 200, '', 'text/html; charset=utf-8') : sendText(res, 401, '', 'text/html; charset=utf-8', challengeHeaders(org));
    }
    if (packaging && feeds) {
      await feeds.serve(req, res, org, packaging, creds, access, baseUrl);
      return;
    }
    const git = parseGitPath(segments.slice(1));
    if (git) return serveGit(req, res, org, git, access, url.searchParams);

    try {
      const body = await readBody(req);
      record.body = body.toString();
      const reply = await rest(req, url, org, segments.slice(1), creds, access, body);
      if (reply === 'sign-in page') return sendText(res, 203, SIGN_IN_PAGE, 'text/html; charset=utf-8');
      if (reply.raw) return sendBytes(res, reply.status, reply.raw, reply.contentType ?? 'application/octet-stream', reply.headers);
      sendJson(res, reply.status, reply.body, reply.headers);
    } catch (err) {
      if (!(err instanceof DevOpsError)) throw err;
      sendJson(res, err.status, envelope(err), err.headers);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendText(res, 500, `emulator error: ${err.stack ?? err.message}`);
    });
  });
  baseUrl = `http://127.0.0.1:${await listen(server)}`;

  return {
    url: baseUrl,
    orgUrl: (org) => `${baseUrl}/${encodeURIComponent(org)}`,
    cloneUrl: (org, project, repo) => cloneUrlFor(baseUrl, org, project, repo),
    requests,
    faults,
    options,
    routes,
    requestsTo: (route) => requests.filter((r) => r.route === route),
    async stop() {
      sleeper.cancelAll();
      await closeServer(server);
    },
  };
}
