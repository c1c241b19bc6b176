/**
 * Azure DevOps REST through azure-devops-node-api: one WebApi per organization, the identity check
 * (connectionData), throttling, and one place that turns ADO's answers into messages a user can act on.
 */
import type { WebApi } from 'azure-devops-node-api';
import { DevOpsError, TaskError, printable } from '../core/errors';
import type { TokenClaims } from '../identity/jwt';
import { parseRetryAfter } from '../identity/transport';
import type { Log } from '../core/log';
import { isTokenHost, type HostPolicy, type Organization } from './organizations';

const ANONYMOUS_ID = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';

/**
 * The one retry layer for Azure DevOps REST (`retrying`): at most `attempts` requests for one read, waiting what
 * Retry-After says or else `baseDelayMs` doubled at each retry plus up to `jitter` of it, and never past `budgetMs`
 * from the first attempt. typed-rest-client's own retries are off underneath (see connectOrganization).
 */
export const RETRY_POLICY = Object.freeze({ attempts: 5, baseDelayMs: 500, jitter: 0.2, budgetMs: 60_000 });

export interface DevOpsIdentity {
  readonly id: string;
  readonly displayName: string;
}

/** What a failed request looked like, as typed-rest-client reports it (and node-api's rate-limit fields). */
interface RestError {
  statusCode?: number;
  message?: string;
  code?: string;
  result?: { message?: string; typeKey?: string } | null;
  responseHeaders?: Record<string, string | string[] | undefined>;
  rateLimit?: { retryAfter?: number };
}

function header(err: RestError, name: string): string | undefined {
  const value = err.responseHeaders?.[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Loads azure-devops-node-api (about 10 ms of CPU) at the next turn of the event loop. Called right before
 * a token is requested, that turn comes while the process waits for the identity endpoint's answer, so the
 * load takes no time of its own; connectOrganization then finds the module loaded. A failure to load is
 * left for connectOrganization to report.
 */
export function preloadDevOpsClient(): void {
  setImmediate(() => void import('azure-devops-node-api').catch(() => undefined));
}

/** Opens a client for one organization; refuses hosts a token must not go to. */
export async function connectOrganization(org: Organization, token: string, policy: HostPolicy): Promise<WebApi> {
  if (!isTokenHost(new URL(org.url), policy)) {
    throw new TaskError(`Refusing to send the Azure DevOps token to ${org.url}: not an Azure DevOps host.`);
  }
  const [{ WebApi, getBearerHandler }, { LocationsApi }] = await Promise.all([import('azure-devops-node-api'), import('azure-devops-node-api/LocationsApi.js')]);
  /**
   * typed-rest-client retries by itself when `allowRetries` is set: reads (OPTIONS, GET, DELETE, HEAD) answered 502,
   * 503 or 504, and connection errors (ECONNRESET, ETIMEDOUT …), up to `maxRetries` more times, 10, 20, 40 … ms apart,
   * never reading Retry-After (node_modules/typed-rest-client/HttpClient.js, HttpResponseRetryCodes, NetworkRetryErrors,
   * RetryableHttpVerbs and _performExponentialBackoff, lines 52-56, 211-222, 265-273, 508-511). Under `retrying` that
   * multiplied the requests (a persistent 503 made 24) and hid Retry-After, so it stays off: `allowRetries: false`. And
   * node-api turns it back on, with `maxRetries: 5`, for the LocationsApi it uses for resource-area discovery
   * (node_modules/azure-devops-node-api/WebApi.js, getLocationsApi, lines 275-283): this WebApi makes that one with
   * the same options as every other client.
   */
  class OneRetryLayer extends WebApi {
    override async getLocationsApi(serverUrl?: string, handlers?: Parameters<WebApi['getLocationsApi']>[1]): ReturnType<WebApi['getLocationsApi']> {
      return new LocationsApi(serverUrl || this.serverUrl, handlers || [this.authHandler], this.options, this.userAgent);
    }
  }
  // One handler per organization, pinned to its host: node-api's default would send the token to any host.
  return new OneRetryLayer(org.url, getBearerHandler(token, false), {
    allowRedirects: false,
    allowRetries: false,
    socketTimeout: 30_000,
  });
}

/** Describes the identity in a token for messages: its object id and tenant (a token carries no display name). */
export function identityLabel(claims: TokenClaims): string {
  return `object id ${claims.oid ?? 'unknown'}, tenant ${claims.tid ?? 'unknown'}`;
}

/**
 * Maps an Azure DevOps failure to one message naming the cause and the fix. `what` says what was being
 * done ("list repositories of 'Web'"). Codes: research/devops-side.md §2.
 */
export function explainDevOpsError(err: unknown, org: Organization, what: string, claims: TokenClaims): TaskError {
  if (err instanceof TaskError) return err;
  const e = (err ?? {}) as RestError;
  const status = e.statusCode;
  const retried = typeof err === 'object' && err !== null ? GAVE_UP.get(err) : undefined;
  const serverMessage = printable(e.result?.message ?? e.message ?? String(err), 500) + (retried ? ` (${retried})` : '');
  const who = identityLabel(claims);
  if (/TF401444/.test(serverMessage)) {
    return new DevOpsError(
      `Organization '${org.name}' has not activated the identity (${who}) yet: TF401444.`,
      `Add the identity to the organization (Organization settings > Users > Add users, search by its object id ${claims.oid ?? ''}) with Basic access.`,
      status, { cause: err });
  }
  if (status === 401 || /TF400813/.test(serverMessage)) {
    const resourceTenant = header(e, 'x-vss-resourcetenant');
    if (resourceTenant && claims.tid && !resourceTenant.split(',').some((t) => t.trim().toLowerCase() === claims.tid!.toLowerCase())) {
      return new DevOpsError(
        `Organization '${org.name}' belongs to tenant ${resourceTenant}, but the identity (${who}) is from another tenant (TF400813).`,
        'A managed identity can only be added to organizations connected to its own Microsoft Entra tenant; use an agent identity from that tenant.',
        status, { cause: err });
    }
    return new DevOpsError(
      `The identity (${who}) is not a member of organization '${org.name}' (TF400813: not authorized) while trying to ${what}.`,
      `Add the identity to '${org.name}' under Organization settings > Users as a service principal with Basic access, then add it to the projects it needs.`,
      status, { cause: err });
  }
  if (status === 203) return signInPage(org, who);
  // node-api reports an API discovery (OPTIONS) answer that is not JSON, such as a 203 sign-in page, only
  // as this; Azure DevOps serves every API these tasks use, so the token was not accepted.
  if (/Failed to find api location/i.test(serverMessage)) {
    return new DevOpsError(
      `Organization '${org.name}' answered with a sign-in page (HTTP 203) or something else that is not data while trying to ${what}: the token of the identity (${who}) was not accepted.`,
      `Add the identity to '${org.name}' with Basic access; a sign-in page is never treated as success.`,
      status, { cause: err });
  }
  if (status === 403 || /TF401027/.test(serverMessage)) {
    return new DevOpsError(
      `The identity (${who}) lacks a permission in '${org.name}' to ${what}: ${serverMessage}`,
      'Grant the identity the permission named above (for example Contribute on the repository) in the project or repository security settings.',
      status, { cause: err });
  }
  if (status === 404 || /TF401019|TF200016/.test(serverMessage)) {
    return new DevOpsError(
      `Could not ${what} in '${org.name}': ${serverMessage || 'not found'}`,
      'Check the name, and that the identity has Basic access (Stakeholder cannot read repositories) and is a member of the project.',
      status, { cause: err });
  }
  if (status === 429) {
    return new DevOpsError(`Azure DevOps throttled the identity while trying to ${what} (429): ${serverMessage}`,
      'Wait and re-run; see Azure DevOps rate limits.', status, { cause: err });
  }
  return new DevOpsError(`Azure DevOps failed to ${what} in '${org.name}'${status ? ` (HTTP ${status})` : ''}: ${serverMessage}`, undefined, status, { cause: err });
}

function signInPage(org: Organization, who: string): DevOpsError {
  return new DevOpsError(
    `Organization '${org.name}' answered with a sign-in page (HTTP 203) instead of data: the token of the identity (${who}) was not accepted.`,
    `Add the identity to '${org.name}' with Basic access; a sign-in page is never treated as success.`,
    203);
}

/** A Retry-After in milliseconds: from the headers, or, when typed-rest-client dropped them (a body that is not JSON), node-api's copy. */
function retryAfterMs(err: RestError): number | undefined {
  const fromHeader = parseRetryAfter(header(err, 'retry-after'));
  if (fromHeader !== undefined) return fromHeader;
  const seconds = err.rateLimit?.retryAfter;
  return typeof seconds === 'number' && Number.isFinite(seconds) ? Math.max(0, seconds * 1000) : undefined;
}

/** Connection failures worth another attempt on a read (the ones typed-rest-client used to retry, ENOTFOUND aside). */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);

/** Why a failed read may succeed later: a status to show, or undefined when it will not. */
function transient(e: RestError): string | undefined {
  const status = e.statusCode ?? 0;
  if (status === 429 || status === 500 || status === 502 || status === 503 || status === 504) return String(status);
  if (!status && e.code && TRANSIENT_CODES.has(e.code)) return e.code;
  // typed-rest-client's socket timeout carries no code (HttpClient.js requestRawWithCallback).
  if (!status && /^Request timeout: /.test(e.message ?? '')) return 'a timeout';
  return undefined;
}

/** How `retrying` ended for an error it gave up on, for explainDevOpsError to say: keyed by the error, which stays untouched. */
const GAVE_UP = new WeakMap<object, string>();

const secondsText = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/**
 * Runs an idempotent request: the one retry layer (RETRY_POLICY). 429, 500, 502, 503, 504 and connection failures
 * are retried after Retry-After when the answer has one (node-api never honours it: devops-side.md §3.6), else after
 * exponential backoff with jitter; a Retry-After longer than what is left of the budget ends it at once. The
 * request count and the time are both bounded. Non-idempotent calls must not use this.
 */
export async function retrying<T>(what: string, log: Log, request: () => Promise<T>, policy = RETRY_POLICY): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      const e = (err ?? {}) as RestError;
      const reason = transient(e);
      if (!reason) throw err;
      const asked = retryAfterMs(e);
      const wait = asked ?? policy.baseDelayMs * 2 ** (attempt - 1) * (1 + Math.random() * policy.jitter);
      const elapsed = Date.now() - started;
      const stop = attempt >= policy.attempts
        ? `gave up after ${attempt} attempts in ${secondsText(elapsed)}`
        : elapsed + wait > policy.budgetMs
          ? (asked !== undefined
            ? `it asked to retry after ${secondsText(asked)}; this task waits at most ${secondsText(policy.budgetMs)} in all`
            : `gave up after ${attempt} attempts in ${secondsText(elapsed)}, at the ${secondsText(policy.budgetMs)} limit`)
          : undefined;
      if (stop) {
        if (typeof err === 'object' && err !== null) GAVE_UP.set(err, stop);
        throw err;
      }
      log.info(`Azure DevOps answered ${reason} to '${what}'; retrying in ${secondsText(wait)} (attempt ${attempt + 1} of ${policy.attempts}).`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/**
 * Asks the organization who the token is (`_apis/connectionData`). An anonymous answer or a sign-in
 * page means the token was not accepted: that is a failure, never success.
 */
export async function whoAmI(api: WebApi, org: Organization, claims: TokenClaims, log: Log): Promise<DevOpsIdentity> {
  const what = 'read connectionData';
  let data: Awaited<ReturnType<WebApi['connect']>> | null;
  try {
    data = await retrying(what, log, () => api.connect());
  } catch (err) {
    throw explainDevOpsError(err, org, what, claims);
  }
  const user = data?.authenticatedUser;
  if (!user?.id) throw signInPage(org, identityLabel(claims));
  if (user.id.toLowerCase() === ANONYMOUS_ID) throw explainDevOpsError({ statusCode: 401, message: 'TF400813: anonymous' }, org, what, claims);
  return { id: user.id, displayName: user.customDisplayName || user.providerDisplayName || user.id };
}

/** Verifies every organization knows the token's identity; returns what each calls it. Fails on the first that does not. */
export async function verifyOrganizations(
  orgs: readonly Organization[], token: string, claims: TokenClaims, policy: HostPolicy, log: Log,
): Promise<DevOpsIdentity[]> {
  return Promise.all(orgs.map(async (org) => {
    const identity = await whoAmI(await connectOrganization(org, token, policy), org, claims, log);
    log.info(`Organization '${org.name}' knows this identity as '${identity.displayName}' (${identity.id}).`);
    return identity;
  }));
}
