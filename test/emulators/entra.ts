/**
 * Entra ID over loopback HTTPS, for AKS workload identity: OpenID metadata and the
 * client-credentials token endpoint with a federated client assertion. What msal-node needs from
 * it is in research/managed-identity.md §1.5 and §2 (https is mandatory, issuer must share the
 * authority's scheme, host and port). Error bodies copy real ones, e.g. AADSTS70021 from
 * Azure/azure-workload-identity#616.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import * as path from 'node:path';
import { recordAndFault, type Fault } from './faults';
import { closeServer, listen, sendJson, Sleeper, type RecordedRequest } from './http-util';
import { createTestPki } from './pki';
import type { TokenIssuer } from './tokens';
import { AKS_ISSUER, AKS_SUBJECT, identityByKey, TOKEN_EXCHANGE_AUDIENCE, UAMI_BUILD, type World } from './world';

export interface EntraEmulator {
  /** `https://127.0.0.1:PORT`: the value for `AZURE_AUTHORITY_HOST`. */
  readonly url: string;
  /** The test CA, for `NODE_EXTRA_CA_CERTS` (file) or `tlsOptions.ca` (PEM). */
  readonly caFile: string;
  readonly caPem: string;
  readonly requests: RecordedRequest[];
  readonly faults: Fault<RecordedRequest>[];
  /** Lifetime of tokens from the token endpoint (client-credential tokens last ~1 h). */
  lifetimeSeconds: number;
  /** Mints a Kubernetes service-account token (the federated assertion) into a new file; returns its path. */
  writeFederatedToken(opts?: { issuer?: string; subject?: string; audience?: string; lifetimeSeconds?: number }): string;
  /** What the workload-identity webhook injects into a pod, plus the CA and NO_PROXY. */
  env(identityKey?: string, tokenFile?: string): Record<string, string>;
  stop(): Promise<void>;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function aadError(status: number, error: string, code: number, description: string): { status: number; body: object } {
  const trace = randomUUID();
  const correlation = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: trace,
      correlation_id: correlation,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

export async function startEntra(opts: { world: World; tokens: TokenIssuer; dir: string }): Promise<EntraEmulator> {
  const { world, tokens } = opts;
  const pki = await createTestPki(path.join(opts.dir, 'pki'));
  const requests: RecordedRequest[] = [];
  const faults: Fault<RecordedRequest>[] = [];
  const sleeper = new Sleeper();
  let url = '';

  const knownTenant = (t: string): boolean =>
    world.identities.some((i) => i.tenantId === t) || world.organizations.some((o) => o.tenantId === t);

  const openIdConfiguration = (tenant: string): object => ({
    issuer: `${url}/${tenant}/v2.0`,
    authorization_endpoint: `${url}/${tenant}/oauth2/v2.0/authorize`,
    token_endpoint: `${url}/${tenant}/oauth2/v2.0/token`,
    jwks_uri: `${url}/${tenant}/discovery/v2.0/keys`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    id_token_signing_alg_values_supported: ['RS256'],
    tenant_region_scope: 'EU',
  });

  const token = (tenant: string, form: URLSearchParams): { status: number; body: object } => {
    if (form.get('grant_type') !== 'client_credentials') {
      return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    const clientId = form.get('client_id') ?? '';
    const identity = world.identities.find((i) => i.clientId === clientId.toLowerCase() && i.tenantId === tenant);
    if (!identity) {
      return aadError(400, 'unauthorized_client', 700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    }
    const scope = form.get('scope') ?? '';
    if (!scope.endsWith('/.default')) {
      return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    if (form.get('client_assertion_type') !== JWT_BEARER || !form.get('client_assertion')) {
      return aadError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const checked = tokens.verify(form.get('client_assertion') ?? '', { audience: false });
    if (!checked.ok) {
      return checked.reason === 'expired' || checked.reason === 'not yet valid'
        ? aadError(400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.')
        : aadError(400, 'invalid_client', 700027, `Client assertion failed signature validation (${checked.reason}).`);
    }
    const { iss, sub, aud } = checked.claims as { iss?: string; sub?: string; aud?: string | string[] };
    const audiences = Array.isArray(aud) ? aud : [aud];
    const match = world.federatedCredentials.find(
      (f) => f.identityKey === identity.key && f.issuer === iss && f.subject === sub && audiences.includes(f.audience),
    );
    if (!match) {
      return aadError(400, 'invalid_request', 70021,
        `No matching federated identity record found for presented assertion. Assertion Issuer: '${String(iss)}'. Assertion Subject: '${String(sub)}'. Assertion Audience: '${audiences.join(',')}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation`);
    }
    const lifetime = Math.min(entra.lifetimeSeconds, tokens.lifetimeSeconds);
    const issued = tokens.mintAccessToken(identity, scope.slice(0, -'/.default'.length), { lifetimeSeconds: lifetime });
    return { status: 200, body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: issued.token } };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = await recordAndFault(req, res, requests, faults, sleeper, (u) => u.pathname);
    if (!started) return;
    const { record, url: target } = started;
    const body = record.body;
    const [, tenant = '', ...rest] = target.pathname.split('/');
    const route = `${record.method} /${rest.join('/')}`;
    if (!knownTenant(tenant)) {
      const e = aadError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
      return sendJson(res, e.status, e.body);
    }
    if (route === 'GET /v2.0/.well-known/openid-configuration') return sendJson(res, 200, openIdConfiguration(tenant));
    if (route === 'GET /discovery/v2.0/keys') return sendJson(res, 200, tokens.jwks());
    if (route === 'POST /oauth2/v2.0/token') {
      const answer = token(tenant, new URLSearchParams(body));
      return sendJson(res, answer.status, answer.body);
    }
    sendJson(res, 404, { error: 'not_found', error_description: `No Entra endpoint at ${record.method} ${target.pathname}` });
  };

  const server = createServer({ cert: pki.cert, key: pki.key }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'emulator_error', error_description: err.message });
    });
  });
  url = `https://127.0.0.1:${await listen(server)}`;

  const writeFederatedToken: EntraEmulator['writeFederatedToken'] = (o = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = tokens.sign({
      aud: [o.audience ?? TOKEN_EXCHANGE_AUDIENCE],
      iss: o.issuer ?? AKS_ISSUER,
      sub: o.subject ?? AKS_SUBJECT,
      iat: now,
      nbf: now,
      exp: now + (o.lifetimeSeconds ?? 3600),
      'kubernetes.io': { namespace: 'build', serviceaccount: { name: 'agent', uid: randomUUID() } },
    });
    const file = path.join(opts.dir, 'federated', `${randomUUID()}.jwt`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, jwt, { mode: 0o600 });
    return file;
  };

  const entra: EntraEmulator = {
    url,
    caFile: pki.caFile,
    caPem: pki.caPem,
    requests,
    faults,
    lifetimeSeconds: 3599,
    writeFederatedToken,
    env(identityKey = UAMI_BUILD.key, tokenFile?: string) {
      const identity = identityByKey(world, identityKey);
      return {
        AZURE_AUTHORITY_HOST: url,
        AZURE_TENANT_ID: identity.tenantId,
        AZURE_CLIENT_ID: identity.clientId,
        AZURE_FEDERATED_TOKEN_FILE: tokenFile ?? writeFederatedToken(),
        NODE_EXTRA_CA_CERTS: pki.caFile,
      };
    },
    async stop() {
      sleeper.cancelAll();
      await closeServer(server);
    },
  };
  return entra;
}
