/**
 * Managed identity -> Azure DevOps access token, through @azure/identity's ManagedIdentityCredential.
 * We own the deadline (the library has none: research/managed-identity.md §3.1) and the error messages.
 */
import type { AccessToken as CoreAccessToken } from '@azure/core-auth';
import { IdentityError } from './errors';
import { detectIdentitySource, type IdentitySource } from './identity-source';
import { readClaims, type TokenClaims } from './jwt';
import type { Log } from './log';

/** The Entra application id of Azure DevOps; tokens are requested for it, never for its URI. */
export const AZURE_DEVOPS_RESOURCE = '499b84ac-1321-427f-aa17-267ca6975798';
export const AZURE_DEVOPS_SCOPE = `${AZURE_DEVOPS_RESOURCE}/.default`;
export const IDENTITY_DEADLINE_MS = 15_000;

/** Which identity to use: the system-assigned one, or a user-assigned one by one of its ids. */
export type IdentitySelector =
  | { readonly kind: 'system' }
  | { readonly kind: 'clientId' | 'objectId' | 'resourceId'; readonly value: string };

export interface AzureDevOpsToken {
  readonly token: string;
  readonly expiresOn: Date;
  readonly claims: TokenClaims;
  readonly source: IdentitySource;
}

export function describeSelector(selector: IdentitySelector): string {
  return selector.kind === 'system' ? 'the system-assigned (or only) identity' : `the identity with ${selector.kind} '${selector.value}'`;
}

const SOURCE_HINT =
  'Run the job on an agent that has a managed identity (Azure VM or scale set, Managed DevOps Pool, Arc-enabled server, ' +
  'AKS with workload identity, App Service or Container Apps), and check that the agent process can reach its identity endpoint.';

/**
 * Keeps local identity endpoints off any proxy: @azure/identity's HTTP pipeline honours HTTPS_PROXY, and
 * IMDS "isn't intended to be used behind a proxy" (research/managed-identity.md §1.3, §2 Pitfalls).
 */
function bypassProxy(hosts: readonly string[]): void {
  if (!hosts.length) return;
  const current = process.env['NO_PROXY'] ?? process.env['no_proxy'] ?? '';
  const list = new Set(current.split(',').map((h) => h.trim()).filter(Boolean));
  for (const host of hosts) list.add(host);
  process.env['NO_PROXY'] = [...list].join(',');
  delete process.env['no_proxy'];
}

function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Turns what @azure/identity throws into one message that names the cause and the fix. */
function explain(err: unknown, selector: IdentitySelector, source: IdentitySource): IdentityError {
  const text = errorText(err);
  if (/identity not found|not assigned|no managed identity .*found|unknown client|invalid_client_id/i.test(text)) {
    return new IdentityError(
      `The ${source.name} endpoint does not know ${describeSelector(selector)}: identity not found.`,
      selector.kind === 'system'
        ? 'Assign a system-assigned identity to the agent machine, or select a user-assigned one with clientId, objectId or resourceId.'
        : `Check that ${selector.kind} '${selector.value}' belongs to a user-assigned identity attached to this agent machine.`,
      { cause: err },
    );
  }
  if (/network unreachable|network_error|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|ETIMEDOUT/i.test(text)) {
    return new IdentityError(`No managed identity endpoint answered (${source.name}, chosen because ${source.reason}).`, SOURCE_HINT, { cause: err });
  }
  if (/not supported/i.test(text)) {
    return new IdentityError(`${source.name} cannot select ${describeSelector(selector)}: ${text}`, 'Remove clientId, objectId and resourceId for this kind of agent.', { cause: err });
  }
  return new IdentityError(`The ${source.name} identity endpoint refused to issue a token for Azure DevOps: ${text}`, SOURCE_HINT, { cause: err });
}

/** Refuses a token that belongs to another identity than the one requested, where the claims tell. */
function checkOwner(claims: TokenClaims, selector: IdentitySelector): void {
  const got =
    selector.kind === 'clientId' ? claims.appid ?? claims.azp
      : selector.kind === 'objectId' ? claims.oid
        : selector.kind === 'resourceId' ? claims.xms_mirid
          : undefined;
  if (selector.kind === 'system' || got === undefined) return;
  if (got.toLowerCase() !== selector.value.toLowerCase()) {
    throw new IdentityError(
      `The identity endpoint returned a token for another identity (${selector.kind} '${got}') than the one requested ('${selector.value}').`,
      'Check the identities attached to the agent machine; the task refuses tokens of an identity it was not asked for.',
    );
  }
}

/** Gets an Azure DevOps token for the selected identity, within IDENTITY_DEADLINE_MS. */
export async function getAzureDevOpsToken(selector: IdentitySelector, log: Log, deadlineMs = IDENTITY_DEADLINE_MS): Promise<AzureDevOpsToken> {
  const source = detectIdentitySource(process.env, selector.kind === 'clientId');
  if (selector.kind !== 'system' && !source.selectors.includes(selector.kind)) {
    throw new IdentityError(
      `${source.name} (chosen because ${source.reason}) cannot select a user-assigned identity by ${selector.kind}.`,
      source.selectors.length
        ? `Use ${source.selectors.join(' or ')} instead on this kind of agent.`
        : 'Remove clientId, objectId and resourceId: this kind of agent has exactly one identity, configured where it is hosted.',
    );
  }
  bypassProxy(source.localHosts);
  const { ManagedIdentityCredential } = await import('@azure/identity');
  const options = selector.kind === 'system' ? {} : { [selector.kind]: selector.value };
  const started = Date.now();
  let minted: CoreAccessToken | null;
  try {
    const credential = new ManagedIdentityCredential(options as { clientId?: string });
    minted = await withDeadline(credential.getToken(AZURE_DEVOPS_SCOPE), deadlineMs, () =>
      new IdentityError(
        `No managed identity endpoint answered within ${Math.round(deadlineMs / 1000)} s (${source.name}, chosen because ${source.reason}).`,
        SOURCE_HINT,
      ),
    );
  } catch (err) {
    throw err instanceof IdentityError ? err : explain(err, selector, source);
  }
  if (!minted?.token) throw new IdentityError(`The ${source.name} endpoint answered without an access token.`, SOURCE_HINT);
  const claims = readClaims(minted.token);
  checkOwner(claims, selector);
  log.debug(`Token obtained from ${source.name} in ${Date.now() - started} ms.`);
  return { token: minted.token, expiresOn: new Date(minted.expiresOnTimestamp), claims, source };
}
