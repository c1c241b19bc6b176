/** Reads the claims of an access token (never verifies it: Azure DevOps does that). Never log the token. */
export interface TokenClaims {
  readonly aud?: string;
  readonly tid?: string;
  readonly oid?: string;
  readonly appid?: string;
  readonly azp?: string;
  readonly exp?: number;
  readonly xms_mirid?: string;
}

export function readClaims(token: string): TokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3) return {};
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as TokenClaims) : {};
  } catch {
    return {};
  }
}
