/**
 * Who is calling, and what Azure DevOps answers when it may not (devops-side.md §1.1, §2, §5):
 * Bearer or Basic (token as password, any user name); TF400813 / TF401444 envelopes with the
 * 401 headers real ADO sends; the 203 sign-in page for browser-like clients.
 */
import type { IncomingMessage } from 'node:http';
import { ANONYMOUS_ID, DevOpsError } from './devops-json';
import type { TokenIssuer, VerifyFailure } from './tokens';
import { identityByObjectId, type Identity, type Membership, type Organization, type World } from './world';

export type Credentials =
  | { kind: 'none' }
  | { kind: 'invalid'; scheme: string; reason: VerifyFailure | 'unsupported scheme' | 'empty password' }
  | { kind: 'token'; scheme: string; oid: string; tid: string };

export type Access =
  | { ok: true; identity: Identity; membership: Membership }
  | { ok: false; why: 'anonymous' | 'invalid token' | 'not a member' | 'never signed in' };

/** Parses and verifies the Authorization header. */
export function readCredentials(req: IncomingMessage, tokens: TokenIssuer, audiences: readonly string[]): Credentials {
  const header = req.headers.authorization;
  if (!header) return { kind: 'none' };
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  let token: string;
  switch (scheme.toLowerCase()) {
    case 'bearer':
      token = value;
      break;
    case 'basic': {
      const decoded = Buffer.from(value, 'base64').toString();
      token = decoded.slice(decoded.indexOf(':') + 1);
      if (!token) return { kind: 'invalid', scheme, reason: 'empty password' };
      break;
    }
    default:
      return { kind: 'invalid', scheme, reason: 'unsupported scheme' };
  }
  const checked = tokens.verify(token, { audience: audiences });
  if (!checked.ok) return { kind: 'invalid', scheme, reason: checked.reason };
  return { kind: 'token', scheme, oid: String(checked.claims.oid), tid: String(checked.claims.tid) };
}

/** Membership decides; a token from another tenant is just another non-member (§5). */
export function authorize(world: World, org: Organization, creds: Credentials): Access {
  if (creds.kind === 'none') return { ok: false, why: 'anonymous' };
  if (creds.kind === 'invalid') return { ok: false, why: 'invalid token' };
  const identity = identityByObjectId(world, creds.oid);
  if (!identity || creds.tid !== org.tenantId) return { ok: false, why: 'not a member' };
  if (identity.neverSignedIn) return { ok: false, why: 'never signed in' };
  const membership = org.members.get(identity.objectId);
  return membership ? { ok: true, identity, membership } : { ok: false, why: 'not a member' };
}

export const SIGN_IN_REALM = 'https://dev.azure.com/';

/** Headers of every 401 (header dumps in azure-pipelines-agent#1164, #4916). Sent as separate lines. */
export function challengeHeaders(org: Organization): Record<string, string | string[]> {
  return {
    'WWW-Authenticate': [
      `Bearer authorization_uri=https://login.microsoftonline.com/${org.tenantId}`,
      `Basic realm="${SIGN_IN_REALM}"`,
      'TFS-Federated',
    ],
    'X-TFS-FedAuthRealm': SIGN_IN_REALM,
    'X-TFS-FedAuthIssuer': `https://dev.azure.com/${org.name}/`,
    'X-VSS-AuthorizationEndpoint': `https://vssps.dev.azure.com/${org.name}/`,
    'X-VSS-ResourceTenant': org.tenantId,
  };
}

const unauthorized = (org: Organization, message: string): DevOpsError =>
  new DevOpsError(401, 'UnauthorizedRequestException', message, undefined, {
    ...challengeHeaders(org),
    'X-TFS-ServiceError': encodeURIComponent(message),
  });

/** The REST answer for a refused request, or 'sign-in page' when ADO would send its 203 HTML. */
export function refusal(org: Organization, why: Exclude<Access, { ok: true }>['why'], creds: Credentials, suppressRedirect: boolean): DevOpsError | 'sign-in page' {
  switch (why) {
    case 'anonymous':
      return suppressRedirect
        ? unauthorized(org, 'TF400813: Resource not available for anonymous access. Client authentication required.')
        : 'sign-in page';
    case 'invalid token':
      // azure-devops-auth-samples#52: '' for a token ADO could not read; 203 unless redirects are suppressed.
      return suppressRedirect ? unauthorized(org, "TF400813: The user '' is not authorized to access this resource.") : 'sign-in page';
    case 'not a member':
      // Azure/azure-cli#29250 shows the anonymous id for a valid token the org does not know.
      return unauthorized(org, `TF400813: The user '${ANONYMOUS_ID}' is not authorized to access this resource.`);
    case 'never signed in': {
      const tid = creds.kind === 'token' ? creds.tid : '';
      const oid = creds.kind === 'token' ? creds.oid : '';
      return unauthorized(org, `TF401444: Please sign-in at least once as ${tid}\\${tid}\\${oid} in a web browser to enable access to the service.`);
    }
  }
}

export const SIGN_IN_PAGE = `<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="utf-8"><title>Azure DevOps Services | Sign In</title></head>
<body><h1>Sign in</h1><p>Continue to Azure DevOps.</p><a href="https://app.vssps.visualstudio.com/_signin">Sign in</a></body>
</html>
`;
