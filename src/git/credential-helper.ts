/**
 * The git credential helper later steps run (`git credential-<helper> get`). It reads git's request on
 * stdin, checks the URL belongs to the job's session, and answers with a fresh Azure DevOps token from the
 * managed identity. It never writes the token anywhere but to git on stdout, and answers nothing once the
 * session file is gone. It must not import azure-pipelines-task-lib: it does not run under the agent.
 */
import { getAzureDevOpsToken } from '../identity/managed-identity';
import { neutralize, type Log } from '../core/log';
import { isTokenHost } from '../devops/organizations';
import { readSession } from './session';

export const HELPER_USERNAME = 'ManagedIdentity';

/** Parses git's credential protocol (key=value lines, ended by a blank line or EOF). */
export function parseCredentialRequest(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line) break;
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return fields;
}

/** True when the request's URL lies under one of the session's prefixes. */
export function requestMatches(fields: Map<string, string>, prefixes: readonly string[]): URL | undefined {
  const protocol = fields.get('protocol');
  const host = fields.get('host');
  if (!protocol || !host || /[\s/@]/.test(host)) return undefined;
  let url: URL;
  try {
    url = new URL(`${protocol}://${host}/${fields.get('path') ?? ''}`);
  } catch {
    return undefined;
  }
  const origin = `${url.protocol}//${url.host}`.toLowerCase();
  return prefixes.some((p) => p.toLowerCase().startsWith(`${origin}/`)) ? url : undefined;
}

export interface HelperIo {
  readonly stdin: string;
  write(text: string): void;
  warn(text: string): void;
}

/** Runs one helper invocation: `<session file> <get|store|erase>`. Returns the exit code. */
export async function runCredentialHelper(args: readonly string[], io: HelperIo): Promise<number> {
  const [sessionFile, action] = args;
  if (action !== 'get' || !sessionFile) return 0;
  const session = readSession(sessionFile);
  if (!session) {
    io.warn('Managed identity credential helper: this job\'s git credentials were removed (the post-job step ran); not answering.');
    return 0;
  }
  const url = requestMatches(parseCredentialRequest(io.stdin), session.prefixes);
  if (!url || !isTokenHost(url, session.policy)) return 0;
  const log: Log = { info: () => undefined, debug: () => undefined, warn: (m) => io.warn(m) };
  try {
    const { token, expiresOn } = await getAzureDevOpsToken(session.selector, log, { direct: true });
    io.write(`username=${HELPER_USERNAME}\npassword=${token}\npassword_expiry_utc=${Math.floor(expiresOn.getTime() / 1000)}\n`);
    return 0;
  } catch (err) {
    io.warn(`Managed identity credential helper: ${neutralize(err instanceof Error ? err.message : String(err))}`);
    return 1;
  }
}
