/**
 * git's credential protocol (git-credential(1), "INPUT/OUTPUT FORMAT"): `key=value` lines, ended by a blank
 * line or EOF. What a request asks for, whether it lies inside a session's scope, and how an answer is written.
 * Shared by the credential helper (a process git starts) and the token broker (which git's own
 * `git credential-cache` client reaches over a socket), so both decide alike.
 */
import { isTokenHost, type HostPolicy } from '../devops/organizations';

/** The user name sent with the token: Azure DevOps accepts any user name with a token as the password. */
export const HELPER_USERNAME = 'ManagedIdentity';

/** Parses git's credential protocol (key=value lines, ended by a blank line or EOF). The first value of a key wins. */
export function parseCredentialRequest(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line) break;
    const eq = line.indexOf('=');
    if (eq > 0 && !fields.has(line.slice(0, eq))) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return fields;
}

/** The URL a request is about: protocol, host and (with `useHttpPath`) path; undefined when it has none. */
export function requestUrl(fields: ReadonlyMap<string, string>): URL | undefined {
  const protocol = fields.get('protocol');
  const host = fields.get('host');
  if (!protocol || !host || /[\s/@\\]/.test(host) || !/^[a-z][a-z0-9+.-]*$/i.test(protocol)) return undefined;
  try {
    return new URL(`${protocol}://${host}/${fields.get('path') ?? ''}`);
  } catch {
    return undefined;
  }
}

/** Who may receive a token through a session: the organizations' URL prefixes, or any Azure DevOps host. */
export interface CredentialScope {
  /** URL prefixes with a trailing slash, e.g. 'https://dev.azure.com/contoso/' (any letter case). */
  readonly prefixes: readonly string[];
  /** Every host the policy allows (the tasks' own git, whose submodules may live in any organization). */
  readonly anyOrganization?: boolean;
  readonly policy: HostPolicy;
}

/**
 * True when the URL may receive the token: an Azure DevOps host (or a listed loopback emulator) and, unless
 * the scope takes any organization, under one of its prefixes. Organization names are compared without regard
 * to case, as Azure DevOps compares them (`MyOrg`, `myorg` and `MYORG` are one organization); git itself matches
 * `credential.<url>` paths case-sensitively, which is why the helper is configured per host (session.ts).
 */
export function inScope(url: URL, scope: CredentialScope): boolean {
  if (!isTokenHost(url, scope.policy)) return false;
  if (scope.anyOrganization) return true;
  const target = `${url.protocol}//${url.host}${url.pathname}`.toLowerCase();
  return scope.prefixes.some((prefix) => target.startsWith(canonicalPrefix(prefix)));
}

/** A prefix as `inScope` compares it: lower case, default port dropped, one trailing slash. */
function canonicalPrefix(prefix: string): string {
  try {
    const url = new URL(prefix);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/*$/, '/')}`.toLowerCase();
  } catch {
    return prefix.toLowerCase();
  }
}

/** The organizations of a scope for messages: 'https://dev.azure.com/contoso/' → 'contoso'. */
export function scopeNames(scope: CredentialScope): string[] {
  const names = scope.prefixes.map((p) => /^https?:\/\/[^/]+\/([^/]+)\/$/.exec(p)?.[1] ?? /^https:\/\/([^./]+)\.visualstudio\.com\/$/.exec(p)?.[1] ?? p);
  return [...new Set(names.map((n) => n.toLowerCase()))];
}

/** git's answer lines for a token. */
export function credentialAnswer(token: string, expiresOn: number): string {
  return `username=${HELPER_USERNAME}\npassword=${token}\npassword_expiry_utc=${Math.floor(expiresOn / 1000)}\n`;
}
