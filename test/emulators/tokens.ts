/**
 * RS256 JWTs shaped like the v1.0 access tokens Entra issues to managed identities, signed with
 * an RSA key generated at startup. Claim set per
 * MicrosoftDocs/entra-docs:docs/identity-platform/access-token-claims-reference.md; `xms_mirid`
 * is undocumented but present on real managed-identity tokens (research/managed-identity.md §5).
 */
import { createPublicKey, generateKeyPair, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { AZURE_DEVOPS_RESOURCE, type Identity } from './world';

export interface AccessTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  idp: string;
  appid: string;
  appidacr: '2';
  idtyp: 'app';
  oid: string;
  sub: string;
  tid: string;
  uti: string;
  ver: '1.0';
  xms_mirid: string;
}

export interface IssuedToken {
  token: string;
  claims: AccessTokenClaims;
  /** Epoch seconds. */
  expiresOn: number;
  notBefore: number;
}

export type VerifyFailure = 'not a JWT' | 'bad signature' | 'expired' | 'not yet valid' | 'wrong audience';

export type VerifyResult =
  | { ok: true; claims: Record<string, unknown> }
  | { ok: false; reason: VerifyFailure; detail: string };

export interface VerifyOptions {
  /** Accepted `aud` values; `false` skips the check. Default: the Azure DevOps resource id. */
  audience?: string | readonly string[] | false;
  /** Epoch seconds; default now. */
  now?: number;
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export class TokenIssuer {
  /** Lifetime of managed-identity tokens (IMDS and friends serve ~24 h tokens). Tests shorten it. */
  lifetimeSeconds = 24 * 3600;
  /** Every access token minted, newest last: lets a test look for leaks of the exact value. */
  readonly issued: IssuedToken[] = [];

  private constructor(
    private readonly privateKey: KeyObject,
    readonly publicKey: KeyObject,
    readonly kid: string,
  ) {}

  static async create(): Promise<TokenIssuer> {
    const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>((resolve, reject) =>
      generateKeyPair('rsa', { modulusLength: 2048 }, (err, pub, priv) => (err ? reject(err) : resolve({ privateKey: priv, publicKey: pub }))),
    );
    return new TokenIssuer(privateKey, publicKey, b64url(randomUUID()));
  }

  /** Signs any claim set (used for the federated service-account token too). */
  sign(claims: object): string {
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5t: this.kid, kid: this.kid }));
    const body = b64url(JSON.stringify(claims));
    const signature = sign('sha256', Buffer.from(`${header}.${body}`), this.privateKey);
    return `${header}.${body}.${b64url(signature)}`;
  }

  /** A managed-identity access token for `identity`; `aud` is the requested resource, verbatim. */
  mintAccessToken(
    identity: Identity,
    resource: string = AZURE_DEVOPS_RESOURCE,
    opts: { lifetimeSeconds?: number; now?: number } = {},
  ): IssuedToken {
    const now = opts.now ?? nowSeconds();
    const exp = now + (opts.lifetimeSeconds ?? this.lifetimeSeconds);
    const issuer = `https://sts.windows.net/${identity.tenantId}/`;
    const claims: AccessTokenClaims = {
      aud: resource,
      iss: issuer,
      iat: now,
      nbf: now,
      exp,
      idp: issuer,
      appid: identity.clientId,
      appidacr: '2',
      idtyp: 'app',
      oid: identity.objectId,
      sub: identity.objectId,
      tid: identity.tenantId,
      uti: b64url(randomUUID()).slice(0, 22),
      ver: '1.0',
      xms_mirid: identity.resourceId,
    };
    const issued = { token: this.sign(claims), claims, expiresOn: exp, notBefore: now };
    this.issued.push(issued);
    return issued;
  }

  /** Checks signature, time window (no clock skew: tests use lifetimes of seconds) and audience. */
  verify(token: string, opts: VerifyOptions = {}): VerifyResult {
    const parts = token.split('.');
    let claims: Record<string, unknown>;
    try {
      if (parts.length !== 3) throw new Error(`${parts.length} segments`);
      const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString()) as { alg?: string };
      if (header.alg !== 'RS256') throw new Error(`alg ${String(header.alg)}`);
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString()) as Record<string, unknown>;
      if (typeof claims !== 'object' || claims === null) throw new Error('claims are not an object');
    } catch (err) {
      return { ok: false, reason: 'not a JWT', detail: (err as Error).message };
    }
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!verify('sha256', signed, this.publicKey, Buffer.from(parts[2], 'base64url'))) {
      return { ok: false, reason: 'bad signature', detail: 'signature does not match the emulator key' };
    }
    const now = opts.now ?? nowSeconds();
    if (typeof claims.exp !== 'number' || claims.exp <= now) {
      return { ok: false, reason: 'expired', detail: `exp ${String(claims.exp)} <= now ${now}` };
    }
    if (typeof claims.nbf === 'number' && claims.nbf > now) {
      return { ok: false, reason: 'not yet valid', detail: `nbf ${claims.nbf} > now ${now}` };
    }
    const audience = opts.audience ?? AZURE_DEVOPS_RESOURCE;
    if (audience !== false) {
      const accepted: readonly string[] = typeof audience === 'string' ? [audience] : audience;
      if (!accepted.includes(String(claims.aud))) {
        return { ok: false, reason: 'wrong audience', detail: `aud '${String(claims.aud)}' not in [${accepted.join(', ')}]` };
      }
    }
    return { ok: true, claims };
  }

  /** The public key as a JWK set (served as Entra's `jwks_uri`). */
  jwks(): { keys: object[] } {
    const jwk = createPublicKey(this.publicKey).export({ format: 'jwk' });
    return { keys: [{ ...jwk, kty: 'RSA', use: 'sig', kid: this.kid, x5t: this.kid, alg: 'RS256' }] };
  }
}

/** Decodes a JWT's claims without checking anything (for assertions in tests). */
export function decodeClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}
