/**
 * Wire protocol of each managed-identity source: what it requires, how it selects a user-assigned
 * identity, and the exact shape of its answers. Requests as msal-node 5.6 sends them
 * (node_modules/@azure/msal-node/src/client/ManagedIdentitySources/*.ts); facts and sources in
 * research/managed-identity.md §1.2-§1.4 and §4.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { HeaderValues } from './http-util';
import type { IssuedToken, TokenIssuer } from './tokens';
import { identityByKey, type Identity, type World } from './world';

export interface TokenRequest {
  method: string;
  url: URL;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

export interface Reply {
  status: number;
  body: object;
  headers?: HeaderValues;
}

export interface IdentityConfig {
  /** `IDENTITY_HEADER` for App Service / Functions / Container Apps. */
  appServiceSecret: string;
  /** `IDENTITY_HEADER` for Service Fabric (sent as the `secret` header). */
  serviceFabricSecret: string;
  /** `MSI_SECRET` for Azure ML / App Service 2017. */
  msiSecret: string;
  /** 'challenge' = real HIMDS (401 + key file first); 'open' = answer 200 straight away. */
  arcMode: 'challenge' | 'open';
  /**
   * Where the Arc challenge writes its key files (this run's own folder). msal-node only reads
   * `/var/opt/azcmagent/tokens/` (Linux); the emulator flavour of the tasks reads this folder instead
   * (envFor('arc') names it in MIADO_EMULATOR_ARC_TOKENS_DIR).
   */
  arcKeyDir: string;
  /** Issue this identity's token whatever was asked for (tests of clients that check `oid`/`appid`). */
  substitute?: string;
  /**
   * IMDS throttling of token requests, per VM (this emulator is one VM): at most `perSecond` accepted in any
   * second and `concurrent` answered at once, the rest refused with 429 and Retry-After. Microsoft documents
   * 20 a second and 5 at once for the Managed Identity category ("Requests to the Managed Identity category are
   * limited to 20 requests per second and 5 concurrent requests", learn.microsoft.com/azure/virtual-machines/
   * instance-metadata-service, "Rate limiting"; managed-identities-faq.md, "Are there any rate limits"), the
   * default here; tests scale it to the machine. `undefined` turns throttling off.
   */
  imdsLimits?: { perSecond: number; concurrent: number };
  /** How long IMDS takes to answer a token request, so that concurrent requests overlap as they do on a VM. */
  imdsLatencyMs: number;
}

export interface SourceContext {
  world: World;
  tokens: TokenIssuer;
  config: IdentityConfig;
  /** Writes a fresh Arc key file and returns its path (the challenge realm). */
  arcChallenge(): string;
  /** True when `secret` is the content of a key file this emulator wrote. */
  arcKeyValid(secret: string): boolean;
}

type Selector = { param: string; field: 'clientId' | 'objectId' | 'resourceId'; value: string };

const imdsError = (status: number, error: string, description: string): Reply => ({
  status,
  body: { error, error_description: description },
});

// App Service errors carry `statusCode`/`message`/`correlationId` (Azure/azure-sdk-for-net#43691).
const appServiceError = (status: number, message: string): Reply => ({
  status,
  body: { statusCode: status, message, correlationId: randomUUID() },
  headers: { 'X-CORRELATION-ID': randomUUID() },
});

function selectorFrom(url: URL, names: Record<Selector['field'], readonly string[]>): Selector | undefined {
  for (const field of ['clientId', 'objectId', 'resourceId'] as const) {
    for (const param of names[field]) {
      const value = url.searchParams.get(param);
      if (value) return { param, field, value };
    }
  }
  return undefined;
}

type Selection = { identity: Identity } | { error: 'not found' | 'ambiguous' };

/** Picks among the identities assigned to the host; no selector = system-assigned, else the only UAMI. */
export function selectIdentity(world: World, selector: Selector | undefined): Selection {
  const assigned = world.identities.filter((i) => world.assigned.includes(i.key));
  if (selector) {
    const wanted = selector.value.toLowerCase();
    const found = assigned.find((i) => i[selector.field].toLowerCase() === wanted);
    return found ? { identity: found } : { error: 'not found' };
  }
  const system = assigned.find((i) => i.kind === 'system');
  if (system) return { identity: system };
  if (assigned.length === 1) return { identity: assigned[0] };
  return { error: assigned.length === 0 ? 'not found' : 'ambiguous' };
}

function issue(ctx: SourceContext, identity: Identity, resource: string): { issued: IssuedToken; identity: Identity } {
  const actual = ctx.config.substitute ? identityByKey(ctx.world, ctx.config.substitute) : identity;
  return { issued: ctx.tokens.mintAccessToken(actual, resource), identity: actual };
}

/** The IMDS success body: every number a string (how-to-use-vm-token.md). */
function imdsBody(issued: IssuedToken, identity: Identity): Record<string, string> {
  const expiresIn = String(issued.expiresOn - Math.floor(Date.now() / 1000));
  return {
    access_token: issued.token,
    client_id: identity.clientId,
    expires_in: expiresIn,
    expires_on: String(issued.expiresOn),
    ext_expires_in: expiresIn,
    not_before: String(issued.notBefore),
    resource: issued.claims.aud,
    token_type: 'Bearer',
    refresh_token: '',
  };
}

const IMDS_SELECTORS = { clientId: ['client_id'], objectId: ['object_id'], resourceId: ['msi_res_id'] } as const;

/** IMDS (VM, VMSS, ACI, Managed DevOps Pools): GET, `Metadata: true`, api-version 2018-02-01. */
export function imds(req: TokenRequest, ctx: SourceContext): Reply {
  // The IMDS doc's error table names this case `bad_request_102`; real bodies say invalid_request.
  if (req.headers.metadata !== 'true') return imdsError(400, 'invalid_request', 'Required metadata header not specified');
  const version = req.url.searchParams.get('api-version');
  if (!version) return imdsError(400, 'invalid_request', 'Required api-version parameter not specified'); // guessed text
  const resource = req.url.searchParams.get('resource');
  if (!resource) return imdsError(400, 'invalid_request', 'Required audience parameter not specified');
  const selection = selectIdentity(ctx.world, selectorFrom(req.url, IMDS_SELECTORS));
  if ('error' in selection) {
    // Text of the "ambiguous" case recalled from real IMDS answers, not from a document.
    return selection.error === 'ambiguous'
      ? imdsError(400, 'invalid_request', 'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request')
      : imdsError(400, 'invalid_request', 'Identity not found');
  }
  const { issued, identity } = issue(ctx, selection.identity, resource);
  return { status: 200, body: imdsBody(issued, identity) };
}

/** App Service / Functions / Container Apps, api-version 2019-08-01 with `X-IDENTITY-HEADER`. */
export function appService(req: TokenRequest, ctx: SourceContext): Reply {
  // 401 for a missing/wrong header per Azure/azure-sdk-for-js#11595; the message text is a guess.
  if (req.headers['x-identity-header'] !== ctx.config.appServiceSecret) return appServiceError(401, 'Unauthorized');
  if (req.url.searchParams.get('api-version') !== '2019-08-01') {
    return appServiceError(400, 'The api-version is not supported. Use 2019-08-01.'); // guessed text
  }
  const resource = req.url.searchParams.get('resource');
  if (!resource) return appServiceError(400, 'The resource parameter is required.'); // guessed text
  const selector = selectorFrom(req.url, {
    clientId: ['client_id'],
    objectId: ['object_id', 'principal_id'],
    resourceId: ['mi_res_id'],
  });
  const selection = selectIdentity(ctx.world, selector);
  if ('error' in selection) return appServiceError(400, 'Unable to load the proper Managed Identity.');
  const { issued, identity } = issue(ctx, selection.identity, resource);
  return {
    status: 200,
    body: {
      access_token: issued.token,
      expires_on: String(issued.expiresOn),
      resource,
      token_type: 'Bearer',
      client_id: identity.clientId,
    },
  };
}

/** Azure Arc (HIMDS): IMDS-like, api-version 2020-06-01, plus the key-file challenge. */
export function azureArc(req: TokenRequest, ctx: SourceContext): Reply {
  if (req.headers.metadata !== 'true') return imdsError(400, 'invalid_request', 'Required metadata header not specified');
  if (req.url.searchParams.get('api-version') !== '2020-06-01') {
    return imdsError(400, 'invalid_request', 'Invalid api-version'); // guessed text
  }
  if (ctx.config.arcMode === 'challenge') {
    const auth = req.headers.authorization ?? '';
    const secret = auth.startsWith('Basic ') ? auth.slice('Basic '.length) : undefined;
    if (secret === undefined || !ctx.arcKeyValid(secret)) {
      // msal-node AzureArc.ts takes everything after "Basic realm=" as the path: no quotes.
      return {
        status: 401,
        body: imdsError(401, 'unauthorized_client', 'Unauthorized').body, // body guessed; msal reads only the header
        headers: { 'WWW-Authenticate': `Basic realm=${ctx.arcChallenge()}` },
      };
    }
  }
  const resource = req.url.searchParams.get('resource');
  if (!resource) return imdsError(400, 'invalid_request', 'Required audience parameter not specified');
  const selector = selectorFrom(req.url, IMDS_SELECTORS);
  const selection = selectIdentity(ctx.world, selector);
  if ('error' in selection) return imdsError(400, 'invalid_request', 'Identity not found');
  const { issued, identity } = issue(ctx, selection.identity, resource);
  // Arc echoes the identity it used; msal-node fails closed when the echo does not match (§1.4.5).
  const echo = selector ? { object_id: identity.objectId, msi_res_id: identity.resourceId } : {};
  return { status: 200, body: { ...imdsBody(issued, identity), ...echo } };
}

/** Service Fabric, api-version 2019-07-01-preview, `secret` header; error codes from the SF docs (texts guessed). */
export function serviceFabric(req: TokenRequest, ctx: SourceContext): Reply {
  const sfError = (status: number, code: string, message: string): Reply => ({
    status,
    body: { error: { correlationId: randomUUID(), code, message } },
  });
  if (req.headers.secret !== ctx.config.serviceFabricSecret) {
    return sfError(401, 'SecretHeaderNotFound', 'Secret is not found in the request headers.');
  }
  if (req.url.searchParams.get('api-version') !== '2019-07-01-preview') {
    return sfError(400, 'InvalidApiVersion', "The api-version is not supported. Supported version is '2019-07-01-preview'.");
  }
  const resource = req.url.searchParams.get('resource');
  if (!resource) return sfError(400, 'ArgumentNullOrEmpty', "The parameter 'resource' should not be null or empty string.");
  const selection = selectIdentity(ctx.world, undefined);
  if ('error' in selection) return sfError(400, 'ManagedIdentityNotFound', 'Managed identity not found for the application.');
  const { issued } = issue(ctx, selection.identity, resource);
  return { status: 200, body: { token_type: 'Bearer', access_token: issued.token, expires_on: issued.expiresOn, resource } };
}

/** Cloud Shell: POST, `Metadata: true`, form body `resource=…`; no user-assigned identities. */
export function cloudShell(req: TokenRequest, ctx: SourceContext): Reply {
  if (req.method !== 'POST') return imdsError(405, 'invalid_request', 'Use POST'); // guessed
  if (req.headers.metadata !== 'true') return imdsError(400, 'invalid_request', 'Required metadata header not specified');
  const resource = new URLSearchParams(req.body).get('resource');
  if (!resource) return imdsError(400, 'invalid_request', 'Required audience parameter not specified');
  const selection = selectIdentity(ctx.world, undefined);
  if ('error' in selection) return imdsError(400, 'invalid_request', 'Identity not found');
  const { issued, identity } = issue(ctx, selection.identity, resource);
  return { status: 200, body: imdsBody(issued, identity) };
}

/** Azure ML / App Service 2017: api-version 2017-09-01, `secret` header, `clientid` (empty = system). */
export function machineLearning(req: TokenRequest, ctx: SourceContext): Reply {
  if (req.headers.secret !== ctx.config.msiSecret) return appServiceError(401, 'Unauthorized');
  if (req.url.searchParams.get('api-version') !== '2017-09-01') return appServiceError(400, 'The api-version is not supported.');
  const resource = req.url.searchParams.get('resource');
  if (!resource) return appServiceError(400, 'The resource parameter is required.');
  const clientId = req.url.searchParams.get('clientid');
  const selection = selectIdentity(ctx.world, clientId ? { param: 'clientid', field: 'clientId', value: clientId } : undefined);
  if ('error' in selection) return appServiceError(400, 'Unable to load the proper Managed Identity.');
  const { issued, identity } = issue(ctx, selection.identity, resource);
  return {
    status: 200,
    body: { access_token: issued.token, expires_on: String(issued.expiresOn), resource, token_type: 'Bearer', client_id: identity.clientId },
  };
}

export const newSecret = (): string => randomBytes(16).toString('hex');
