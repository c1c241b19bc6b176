/**
 * Managed identity -> Azure DevOps access token, through @azure/identity 4.13.1 (msal-node 5.6.0).
 *
 * We own what the library leaves open (research/managed-identity.md §3.1, checked in node_modules):
 * - The deadline: IDENTITY_DEADLINE_MS for everything, retries included. The library has none.
 * - Retries: the library's are switched off (`retryOptions.maxRetries: 0` turns off both its IMDS 404/410
 *   policy and the core retry policy), and ours decide on what the endpoint actually answered (status,
 *   Retry-After, socket error, recorded by our transport), within the deadline. The library's policies
 *   could spend 12-90 s on 404/410 alone and never see a black-holed endpoint.
 * - The transport for local identity endpoints (transport.ts): always direct, never through a proxy.
 * - The messages: one per failure, naming the source, why it was chosen, and what to do.
 *
 * AKS workload identity is the one source whose endpoint is not local: Entra ID. We build the
 * WorkloadIdentityCredential exactly as the library's tokenExchangeMsi.js does (client id, tenant, token
 * file, disableInstanceDiscovery) but with retries off. Entra is reached the way the pod's environment says
 * (HTTPS_PROXY / NO_PROXY, as every Azure SDK does): when that environment names a proxy for Entra, the
 * library's own transport takes it (and only our deadline bounds it); otherwise our transport goes direct,
 * as the library's would, with its time limits and records.
 */
import type { AccessToken as CoreAccessToken } from '@azure/core-auth';
import { IdentityError, printable } from '../core/errors';
import { arcKeyFileHint, describeSource, detectIdentitySource, lookedFor, windowsContainerNote, type IdentitySource, type SelectorKind } from './source';
import { directRequest, directToken } from './direct';
import { DirectTransport, environmentProxyApplies, type Exchange, type TransportFailure } from './transport';
import { readClaims, type TokenClaims } from './jwt';
import type { Log } from '../core/log';

/** The Entra application id of Azure DevOps; tokens are requested for it, never for its URI. */
export const AZURE_DEVOPS_RESOURCE = '499b84ac-1321-427f-aa17-267ca6975798';
export const AZURE_DEVOPS_SCOPE = `${AZURE_DEVOPS_RESOURCE}/.default`;
export const IDENTITY_DEADLINE_MS = 15_000;
/** Per request to a local identity endpoint: connecting (link-local or loopback) and answering. */
export const CONNECT_TIMEOUT_MS = 2_000;
export const RESPONSE_TIMEOUT_MS = 5_000;
/** No new attempt starts with less than this left before the deadline. */
const MIN_ATTEMPT_MS = 500;

/** Which identity to use: the system-assigned one, or a user-assigned one by one of its ids. */
export type IdentitySelector =
  | { readonly kind: 'system' }
  | { readonly kind: SelectorKind; readonly value: string };

export interface AzureDevOpsToken {
  readonly token: string;
  readonly expiresOn: Date;
  readonly claims: TokenClaims;
  readonly source: IdentitySource;
}

export interface TokenOptions {
  /** Log the source and warn about stray identity variables before asking (task steps; not the credential helper). */
  readonly announce?: boolean;
  readonly deadlineMs?: number;
  /** Ask IMDS and App Service directly, without loading @azure/identity (task steps and the credential helper; direct.ts). */
  readonly direct?: boolean;
}

export function describeSelector(selector: IdentitySelector): string {
  return selector.kind === 'system' ? 'the system-assigned (or only) identity' : `the identity with ${selector.kind} '${selector.value}'`;
}

/**
 * One transport per process: msal-node keeps the first managed-identity source it creates, with the
 * network client of the credential that created it, for the life of the process (ManagedIdentityClient
 * `static identitySource`), so every credential must share it.
 */
const transport = new DirectTransport({ connectMs: CONNECT_TIMEOUT_MS, responseMs: RESPONSE_TIMEOUT_MS });

const HOSTING_HINT =
  'Run the job on an agent that has a managed identity: an Azure VM, scale set or Managed DevOps Pool with an identity assigned ' +
  '(IMDS at 169.254.169.254 must be reachable directly), an Arc-enabled server, AKS with workload identity, App Service or ' +
  'Container Apps. See "Hosting types" on the extension page.';

const WINDOWS_CONTAINER_HINT =
  'Run this job on the agent\'s host instead of in a container (remove its container:), or run the agent on the Windows host itself; ' +
  'a container that must use the identity needs a route to 169.254.169.254 through its default gateway, added as ContainerAdministrator.';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The hint for "nothing answered": where the choice came from and what to change. */
function unreachableHint(source: IdentitySource): string {
  if (source.name === 'AKS workload identity') return ENTRA_HINT;
  if (source.name === 'IMDS') {
    const container = windowsContainerNote(source);
    if (container) return `${container[0]!.toUpperCase()}${container.slice(1)}. ${WINDOWS_CONTAINER_HINT}`;
    const moved = source.decidedBy.length
      ? ` AZURE_POD_IDENTITY_AUTHORITY_HOST sends IMDS requests to ${source.endpoint} (AAD Pod Identity); remove it from the agent's environment unless that is intended.`
      : '';
    return `${lookedFor(source)} ${HOSTING_HINT}${moved}`;
  }
  const names = source.decidedBy.join(', ');
  const they = source.decidedBy.length === 1 ? 'it is' : 'they are';
  return `${source.name} was chosen because ${source.reason}. If this agent is not hosted on ${source.name}, remove ${names} ` +
    `from the agent's environment (${they} often left over from another setup) and restart the agent; otherwise check that the ` +
    `${source.name} identity endpoint is running.`;
}

const FAILURE_TEXT: Record<TransportFailure, string> = {
  refused: 'refused the connection',
  reset: 'closed the connection without an answer',
  unreachable: 'is unreachable from this machine',
  dns: 'has a host name that does not resolve',
  'connect timeout': `did not complete a connection within ${seconds(CONNECT_TIMEOUT_MS)}`,
  'response timeout': `accepted the connection but sent no answer within ${seconds(RESPONSE_TIMEOUT_MS)}`,
  aborted: 'was abandoned',
  other: 'failed',
};

/** What the endpoint did last, for "retrying" lines and messages; `extra` joins the parenthesis. */
function whatHappened(e: Exchange, extra?: string): string {
  const details = e.status !== undefined
    ? [e.description && printable(e.description, 200), extra]
    : [e.code && e.failure !== 'connect timeout' && e.failure !== 'response timeout' ? e.code : undefined, extra];
  const shown = details.filter(Boolean);
  const text = e.status !== undefined ? `answered HTTP ${e.status}` : FAILURE_TEXT[e.failure ?? 'other'];
  return shown.length ? `${text} (${shown.join('; ')})` : text;
}

/** The msal error inside what @azure/identity throws (its `cause` chain), if any. */
function msalCode(err: unknown): string | undefined {
  for (let e = err as { cause?: unknown; errorCode?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.errorCode === 'string' && e.errorCode) return e.errorCode;
  }
  // AKS: WorkloadIdentityCredential rethrows msal's ServerError as AuthenticationRequiredError, whose
  // message starts with the OAuth error code ("server_error: …", "invalid_request: …").
  const text = err instanceof Error ? err.message : '';
  return /^(?:[A-Za-z]+: )?([a-z_]+): /.exec(text)?.[1];
}

const errorText = (err: unknown): string => printable(err instanceof Error ? err.message : String(err), 500);

interface Attempt {
  readonly exchange?: Exchange;
  readonly code?: string;
}

/**
 * How long to wait before trying again (before jitter, see `spread`), or undefined when trying again cannot
 * help. Throttling (429, or 503 with Retry-After) is retried as often as the deadline allows, waiting what the
 * endpoint asks: IMDS limits each VM to 20 token requests a second and 5 at once (instance-metadata-service.md,
 * "Rate limiting"), so several agents on one VM are throttled together and must outwait it. Other failures get
 * a few attempts with exponential backoff.
 */
export function retryDelay(attempt: Attempt, previous: readonly Attempt[]): number | undefined {
  const same = previous.filter((p) => (p.exchange?.status ?? p.exchange?.failure ?? p.code) === (attempt.exchange?.status ?? attempt.exchange?.failure ?? attempt.code)).length;
  const backoff = (base: number, max: number): number | undefined => (same < max ? base * 2 ** same : undefined);
  const e = attempt.exchange;
  if (e?.status !== undefined) {
    const status = e.status;
    if ((status === 429 || status === 503) && e.retryAfterMs !== undefined) return e.retryAfterMs;
    if (status === 429) return Math.min(1_000 * 2 ** same, 8_000);
    if ([408, 500, 502, 503, 504].includes(status)) return backoff(500, 4);
    // IMDS: 404 "updating", 410 "available within 70 s" (how-to-use-vm-token.md).
    if (status === 404 || status === 410) return backoff(1_000, 3);
    return undefined;
  }
  switch (e?.failure) {
    case 'refused': case 'unreachable': case 'dns': case 'connect timeout': return backoff(500, 2);
    case 'reset': case 'other': return backoff(500, 3);
    case 'response timeout': return backoff(500, 1);
    case 'aborted': return undefined;
    default: break;
  }
  // No exchange of ours: the AKS path. OAuth's server_error / temporarily_unavailable mean 5xx / 503 (RFC 6749 §5.2 errata, §4.1.2.1).
  if (attempt.code === 'network_error' || attempt.code === 'endpoints_resolution_error') return backoff(500, 2);
  if (attempt.code === 'server_error' || attempt.code === 'temporarily_unavailable') return backoff(1_000, 3);
  return undefined;
}

/**
 * A wait with jitter: between `ms` and 1.5 × `ms`, never less than an endpoint asked for, so clients that were
 * throttled at the same moment (several agents on one VM) do not all come back at the same moment.
 */
export function spread(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (1 + random() / 2));
}

const ARC_KEY_FILE_CODES = new Set([
  'www_authenticate_header_missing', 'www_authenticate_header_unsupported_format', 'platform_not_supported',
  'invalid_file_extension', 'invalid_file_path', 'unable_to_read_secret_file', 'invalid_secret',
]);

/** Turns the last failure into one message that names the cause and the fix. */
function explain(err: unknown, attempts: readonly Attempt[], selector: IdentitySelector, source: IdentitySource, elapsedMs: number, deadlineMs: number): IdentityError {
  const last = attempts.at(-1)!;
  const e = last.exchange;
  const tries = `${plural(attempts.length, 'attempt')} in ${seconds(elapsedMs)}`;
  const at = `${source.name} at ${source.endpoint}`;
  const code = last.code;

  if (code === 'user_assigned_managed_identity_not_confirmed') {
    return new IdentityError(
      `Azure Arc did not confirm ${describeSelector(selector)}: its answer did not name that identity, so the token is refused.`,
      'Update the Azure Connected Machine agent (older agents ignore user-assigned selectors and answer with the machine\'s own identity), or remove clientId, objectId and resourceId.',
      { cause: err });
  }
  if (code && ARC_KEY_FILE_CODES.has(code)) {
    return new IdentityError(
      `Azure Arc asked for proof that the agent may use the identity (a key file the Connected Machine agent writes), and reading it failed: ${code}.`,
      arcKeyFileHint(),
      { cause: err });
  }
  if (source.name === 'AKS workload identity') return explainWorkloadIdentity(err, attempts, selector, tries);
  if (e?.failure) {
    const container = windowsContainerNote(source);
    if (container) {
      return new IdentityError(`No managed identity endpoint answered: ${at} ${whatHappened(e, tries)}: ${container}.`, WINDOWS_CONTAINER_HINT, { cause: err });
    }
    return new IdentityError(`No managed identity endpoint answered: ${at} ${whatHappened(e, tries)}.`, unreachableHint(source), { cause: err });
  }
  if (e?.status !== undefined) {
    const status = e.status;
    const detail = e.description ? `: ${printable(e.description, 300)}` : '';
    if ((status === 400 || status === 404) && selector.kind === 'system' && /multiple|specify/i.test(e.description ?? '')) {
      return new IdentityError(
        `The ${source.name} endpoint cannot choose an identity: the agent has several user-assigned identities and no system-assigned one (HTTP ${status}${detail}).`,
        'Select one with the clientId, objectId or resourceId input.', { cause: err });
    }
    if (status === 400) {
      return new IdentityError(
        `The ${source.name} endpoint does not know ${describeSelector(selector)}: identity not found (HTTP ${status}${detail}).`,
        selector.kind === 'system'
          ? 'Assign a system-assigned identity to the agent\'s host, or select a user-assigned one with clientId, objectId or resourceId.'
          : `Check that ${selector.kind} '${selector.value}' belongs to a user-assigned identity attached to the agent's host (Identity blade of the VM, scale set, pool or app).`,
        { cause: err });
    }
    if (status === 401 || status === 403) {
      return new IdentityError(
        `The ${source.name} endpoint refused the request (HTTP ${status}${detail}).`,
        source.name === 'App Service' || source.name === 'Service Fabric'
          ? 'IDENTITY_HEADER does not match the endpoint\'s secret: restart the agent so it runs with the current environment of its host.'
          : unreachableHint(source),
        { cause: err });
    }
    if (status === 429) {
      return new IdentityError(
        `The ${source.name} endpoint is throttling token requests (HTTP 429${e.retryAfterMs !== undefined ? `, Retry-After ${seconds(e.retryAfterMs)}` : ''}); gave up after ${tries}, as waiting again would pass the ${seconds(deadlineMs)} limit.`,
        'Too many token requests from this machine (IMDS allows 20 a second and 5 at once per VM, shared by every agent on it); re-run later, and check for scripts that request tokens in a loop.',
        { cause: err });
    }
    return new IdentityError(
      `The ${source.name} endpoint failed to issue a token: HTTP ${status}${detail} (${tries}).`,
      `Check the health of the ${source.name} identity endpoint and re-run.`, { cause: err });
  }
  return new IdentityError(`The ${source.name} identity endpoint did not issue a token for Azure DevOps: ${errorText(err)}`, unreachableHint(source), { cause: err });
}

const ENTRA_HINT = 'Allow the agent pod to reach Entra ID (login.microsoftonline.com, or AZURE_AUTHORITY_HOST); behind an egress proxy, set HTTPS_PROXY and NO_PROXY in the pod.';

function explainWorkloadIdentity(err: unknown, attempts: readonly Attempt[], selector: IdentitySelector, tries: string): IdentityError {
  const source = 'AKS workload identity';
  const text = errorText(err);
  const last = attempts.at(-1);
  const entra = last?.exchange?.endpoint ?? 'Entra ID';
  const aadsts = /AADSTS(\d+): ([^\r\n.]*\.?)/.exec(text);
  const clientId = selector.kind === 'clientId' ? selector.value : process.env['AZURE_CLIENT_ID'];
  if (aadsts) {
    const hints: Record<string, string> = {
      '70021': `Add a federated identity credential to ${clientId} whose issuer is the cluster's OIDC issuer URL, subject system:serviceaccount:<namespace>:<service account of the agent pod> and audience api://AzureADTokenExchange.`,
      '700016': `Check the client id (${clientId}) and AZURE_TENANT_ID: Entra ID has no such application in that tenant.`,
      '700024': 'The federated token file is expired or not yet valid: check the projected service account token volume of the agent pod.',
    };
    return new IdentityError(
      `Entra ID refused the workload identity token exchange for client id ${clientId}: AADSTS${aadsts[1]}: ${aadsts[2]}`,
      hints[aadsts[1]!] ?? 'Check the federated identity credential of the identity and the service account of the agent pod.', { cause: err });
  }
  if (last?.exchange?.failure) {
    return new IdentityError(`No managed identity endpoint answered: ${source} could not reach Entra ID: ${entra} ${whatHappened(last.exchange, tries)}.`, ENTRA_HINT, { cause: err });
  }
  if (last?.code === 'network_error' || last?.code === 'endpoints_resolution_error') {
    return new IdentityError(`No managed identity endpoint answered: ${source} could not reach Entra ID (${tries}).`, ENTRA_HINT, { cause: err });
  }
  if (last?.exchange?.status !== undefined && last.exchange.status >= 429) {
    return new IdentityError(`Entra ID did not issue a token for the workload identity: ${entra} ${whatHappened(last.exchange, tries)}.`,
      'Entra ID is throttling or failing; re-run later.', { cause: err });
  }
  if (/federated|token file|ENOENT|no content/i.test(text)) {
    return new IdentityError(`The federated token file named by AZURE_FEDERATED_TOKEN_FILE cannot be used: ${text}`,
      'Check that the pod has the azure.workload.identity/use: "true" label and its service account the azure.workload.identity/client-id annotation.', { cause: err });
  }
  return new IdentityError(`${source} did not issue a token for Azure DevOps: ${text}`,
    'Check the federated identity credential of the identity and the service account of the agent pod.', { cause: err });
}

/** Refuses a token that belongs to another identity than the one requested, where the claims tell. */
function checkOwner(claims: TokenClaims, selector: IdentitySelector, source: IdentitySource): void {
  const expectedClientId = selector.kind === 'clientId' ? selector.value
    : source.name === 'AKS workload identity' ? process.env['AZURE_CLIENT_ID'] : undefined;
  const [kind, expected, got] =
    expectedClientId ? ['clientId', expectedClientId, claims.appid ?? claims.azp]
      : selector.kind === 'objectId' ? ['objectId', selector.value, claims.oid]
        : selector.kind === 'resourceId' ? ['resourceId', selector.value, claims.xms_mirid]
          : [undefined, undefined, undefined];
  if (!kind || !expected || got === undefined) return;
  if (got.toLowerCase() !== expected.toLowerCase()) {
    throw new IdentityError(
      `The ${source.name} endpoint returned a token for another identity (${kind} '${printable(got, 200)}') than the one requested ('${expected}'); it is refused.`,
      'Check the identities attached to the agent\'s host; the task never uses a token of an identity it was not asked for.',
    );
  }
}

function refuseUnsupportedSelector(selector: IdentitySelector, source: IdentitySource): void {
  if (selector.kind === 'system' || source.selectors.includes(selector.kind)) return;
  throw new IdentityError(
    `${source.name} cannot select a user-assigned identity by ${selector.kind} (got '${selector.value}'); it was chosen because ${source.reason}.`,
    source.selectors.length
      ? `Use ${source.selectors.join(' or ')} instead on this kind of agent.`
      : 'Remove clientId, objectId and resourceId: this kind of host gives the agent exactly one identity, configured where it is hosted.',
  );
}

type Acquire = () => Promise<CoreAccessToken | null>;

/**
 * What the tasks use of @azure/identity: all that the bundles' azure-identity.js holds (scripts/build.ts
 * IDENTITY_EXPORTS lists the same names; a unit test checks they agree).
 */
export type IdentityLibrary = Pick<typeof import('@azure/identity'), 'ManagedIdentityCredential' | 'WorkloadIdentityCredential'>;

/**
 * @azure/identity, loaded on first use. A plain require, not import(): the bundles ship the library as a
 * separate file (scripts/build.ts, azure-identity.js) that a native dynamic import could not read named
 * exports from.
 */
function loadIdentityLibrary(): IdentityLibrary {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@azure/identity') as IdentityLibrary;
}

async function credentialFor(selector: IdentitySelector, source: IdentitySource, direct: boolean): Promise<Acquire> {
  const request = direct ? directRequest(source, selector, AZURE_DEVOPS_RESOURCE, process.env) : undefined;
  if (request) return () => directToken(transport, request);
  const identity = loadIdentityLibrary();
  const retryOptions = { maxRetries: 0 };
  if (source.name === 'AKS workload identity') {
    // Same construction as @azure/identity tokenExchangeMsi.js; a fresh credential per attempt so msal's
    // throttling cache (60 s after any 429/5xx from Entra) cannot turn our retry into a local refusal.
    const direct = !environmentProxyApplies(source.endpoint, process.env);
    return () => new identity.WorkloadIdentityCredential({
      clientId: selector.kind === 'clientId' ? selector.value : undefined,
      tenantId: process.env['AZURE_TENANT_ID'],
      tokenFilePath: process.env['AZURE_FEDERATED_TOKEN_FILE'],
      disableInstanceDiscovery: true,
      retryOptions,
      ...(direct ? { httpClient: transport } : {}),
    }).getToken(AZURE_DEVOPS_SCOPE);
  }
  const credential = new identity.ManagedIdentityCredential({
    ...(selector.kind === 'system' ? {} : { [selector.kind]: selector.value }),
    httpClient: transport,
    retryOptions,
  } as { clientId?: string });
  return () => credential.getToken(AZURE_DEVOPS_SCOPE);
}

function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), Math.max(0, ms));
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function announce(source: IdentitySource, log: Log): void {
  log.info(`Identity source: ${describeSource(source)}.`);
  if (!source.ignored.length) return;
  const clientIdNote = source.ignored.includes('AZURE_CLIENT_ID') && source.name !== 'AKS workload identity'
    ? ' AZURE_CLIENT_ID does not select an identity here: use the clientId input.' : '';
  log.warn(`Also set, but not what chose the identity source: ${source.ignored.join(', ')}. Remove leftovers of other setups from the agent's environment.${clientIdNote}`);
}

/** Gets an Azure DevOps token for the selected identity, retrying what can succeed, within the deadline. */
export async function getAzureDevOpsToken(selector: IdentitySelector, log: Log, options: TokenOptions = {}): Promise<AzureDevOpsToken> {
  const deadlineMs = options.deadlineMs ?? IDENTITY_DEADLINE_MS;
  const started = Date.now();
  const source = detectIdentitySource(process.env, selector.kind === 'clientId');
  if (options.announce) announce(source, log);
  refuseUnsupportedSelector(selector, source);

  const attempts: Attempt[] = [];
  const attemptAll = async (): Promise<CoreAccessToken> => {
    let acquire: Acquire;
    try {
      acquire = await credentialFor(selector, source, options.direct ?? false);
    } catch (err) {
      if (/authorityHost/.test(errorText(err))) {
        throw new IdentityError(`AZURE_AUTHORITY_HOST must be an https URL: @azure/identity refuses every managed identity source while it is not (${errorText(err)}).`,
          'Remove AZURE_AUTHORITY_HOST from the agent\'s environment, or set it to https://login.microsoftonline.com (or your cloud\'s Entra host).', { cause: err });
      }
      throw explain(err, [{ code: msalCode(err) }], selector, source, Date.now() - started, deadlineMs);
    }
    for (;;) {
      const mark = transport.exchanges.length;
      try {
        const minted = await acquire();
        if (minted?.token) return minted;
        throw new IdentityError(`The ${source.name} endpoint answered without an access token.`, HOSTING_HINT);
      } catch (err) {
        if (err instanceof IdentityError) throw err;
        const attempt: Attempt = { exchange: transport.exchanges.slice(mark).at(-1), code: msalCode(err) };
        const base = retryDelay(attempt, attempts);
        attempts.push(attempt);
        const elapsed = Date.now() - started;
        // Never wait past the deadline: a jittered wait is cut to what is left, but never below what the endpoint asked.
        const wait = base === undefined ? undefined : Math.min(spread(base), Math.max(base, deadlineMs - elapsed - MIN_ATTEMPT_MS));
        if (wait === undefined || elapsed + wait + MIN_ATTEMPT_MS > deadlineMs) throw explain(err, attempts, selector, source, elapsed, deadlineMs);
        const what = attempt.exchange ? whatHappened(attempt.exchange) : `failed (${attempt.code ?? 'error'})`;
        log.info(`The ${source.name} endpoint ${what}; retrying in ${seconds(wait)}.`);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  };

  const minted = await withDeadline(attemptAll(), deadlineMs - (Date.now() - started), () =>
    new IdentityError(
      `No managed identity token within ${seconds(deadlineMs)}: ${source.name} at ${source.endpoint} did not answer in time (${plural(attempts.length + 1, 'attempt')}).`,
      unreachableHint(source)));
  // The agent fails a step that registers a secret of several lines ("Secrets cannot contain multiple lines",
  // azure-pipelines-agent src/Agent.Worker/TaskCommandExtension.cs, TaskSetVariableCommand) and masks line by line,
  // and the credential helper would hand git a second line of its own: a token is one line, or it is refused.
  if (/[\r\n]/.test(minted.token)) {
    throw new IdentityError(
      `The ${source.name} endpoint returned an access token that spans several lines; it is refused, because the agent cannot keep a secret of several lines masked.`,
      'A token is a single line: check the identity endpoint and anything between it and the agent that rewrites its answers (a proxy or sidecar).');
  }
  const claims = readClaims(minted.token);
  checkOwner(claims, selector, source);
  log.debug(`Token obtained from ${source.name} in ${Date.now() - started} ms after ${plural(attempts.length + 1, 'attempt')}.`);
  return { token: minted.token, expiresOn: new Date(minted.expiresOnTimestamp), claims, source };
}
