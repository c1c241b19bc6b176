/**
 * The fast path for the two sources most agents run on: IMDS (VMs, scale sets, Managed DevOps Pools) and App
 * Service / Container Apps, taken by the task steps and by the credential helper. Loading @azure/identity with
 * msal costs about 60-100 ms a process, and git may run the helper for every fetch of a long job; these two
 * protocols are one GET each. The request is the one msal-node 5.6.0 sends (managed-identity.md §1.2, checked in
 * lib/msal-node.cjs: Imds.tryCreate/createRequest, AppService.createRequest; test/unit/identity-direct.test.ts
 * runs the installed library next to it for every selector and environment), through the same direct,
 * time-limited transport, so retries, deadline and messages stay those of managed-identity.ts. Other sources
 * (and whatever the library would refuse first) return undefined here and go through @azure/identity.
 */
import type { AccessToken as CoreAccessToken } from '@azure/core-auth';
import type { IdentitySource, SelectorKind } from './source';
import type { DirectTransport } from './transport';
import { transportRequest } from './transport';

export interface DirectRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

type Selector = { readonly kind: 'system' } | { readonly kind: SelectorKind; readonly value: string };

/** msal's UrlString canonical form: lower case, with a trailing slash. */
function canonical(url: string): string {
  const lower = url.toLowerCase();
  return lower.endsWith('/') ? lower : `${lower}/`;
}

/** The request msal would send for this source and selector, or undefined where we leave it to msal. */
export function directRequest(source: IdentitySource, selector: Selector, resource: string, env: NodeJS.ProcessEnv): DirectRequest | undefined {
  // @azure/identity refuses every source while AZURE_AUTHORITY_HOST (even empty) does not start with 'https:'
  // (client/identityClient.js getIdentityClientAuthorityHost): leave that to the library, so that the refusal is its own.
  const authority = env['AZURE_AUTHORITY_HOST'];
  if (authority !== undefined && !authority.startsWith('https:')) return undefined;
  const query = (idNames: Record<SelectorKind, string>, apiVersion: string): URLSearchParams => {
    const q = new URLSearchParams({ 'api-version': apiVersion, resource });
    if (selector.kind !== 'system') q.set(idNames[selector.kind], selector.value);
    return q;
  };
  if (source.name === 'IMDS') {
    const host = env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
    const endpoint = host ? canonical(`${host}/metadata/identity/oauth2/token`) : 'http://169.254.169.254/metadata/identity/oauth2/token';
    const q = query({ clientId: 'client_id', objectId: 'object_id', resourceId: 'msi_res_id' }, '2018-02-01');
    return { url: `${endpoint}?${q}`, headers: { Metadata: 'true' } };
  }
  if (source.name === 'App Service') {
    const endpoint = env['IDENTITY_ENDPOINT'];
    const secret = env['IDENTITY_HEADER'];
    if (!endpoint || !secret) return undefined;
    const q = query({ clientId: 'client_id', objectId: 'object_id', resourceId: 'mi_res_id' }, '2019-08-01');
    return { url: `${endpoint}${endpoint.includes('?') ? '&' : '?'}${q}`, headers: { 'X-IDENTITY-HEADER': secret } };
  }
  return undefined;
}

/** expires_on as msal reads it: seconds (number or numeric string) or an ISO date. */
function expiresOn(value: unknown): number | undefined {
  if (typeof value === 'number') return value * 1000;
  if (typeof value !== 'string') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date;
}

/** Sends the request; a non-2xx answer or an unusable body throws (the transport has recorded what happened). */
export async function directToken(transport: DirectTransport, request: DirectRequest): Promise<CoreAccessToken> {
  const response = await transport.sendRequest(transportRequest(request.url, request.headers));
  if (response.status < 200 || response.status >= 300) throw new Error(`HTTP ${response.status}`);
  const body = JSON.parse(response.bodyAsText ?? '{}') as { access_token?: unknown; expires_on?: unknown };
  const expires = expiresOn(body.expires_on);
  if (typeof body.access_token !== 'string' || !body.access_token || expires === undefined) {
    throw new Error('the identity endpoint answered without an access token or its expiry');
  }
  return { token: body.access_token, expiresOnTimestamp: expires };
}
