/**
 * Job-scoped git credentials. Later steps' plain `git` finds our credential helpers for each Azure DevOps host
 * through GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n job variables (git >= 2.31). What is
 * persisted is one small session file (no secret: which identity, which organizations, where the job's token
 * broker listens) under Agent.TempDirectory; the post-job step deletes it, after which the helpers answer
 * nothing and git no longer authenticates.
 *
 * Why per host and not per organization: git matches the path of `credential.<url>` case-sensitively (only
 * scheme and host are compared without case), while Azure DevOps treats `MyOrg`, `myorg` and `MYORG` as one
 * organization. So the helpers are configured for `https://dev.azure.com` (with `useHttpPath`, so they see the
 * path) and for each organization's `https://<org>.visualstudio.com`, and they check the organization against
 * the session themselves, without regard to case (credential-protocol.ts `inScope`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { IdentitySelector } from '../identity/managed-identity';
import type { HostPolicy } from '../devops/organizations';
import type { CredentialScope } from './credential-protocol';
import { helperCommand, shellQuote } from './helper-command';

export interface GitSession extends CredentialScope {
  readonly version: 1 | 2;
  /** Which identity the helper asks the identity endpoint for; absent when it may not ask (the tasks' own git). */
  readonly selector?: IdentitySelector;
  /** URL prefixes (with trailing slash) whose git requests the helper answers, in any letter case. */
  readonly prefixes: readonly string[];
  readonly policy: HostPolicy;
  /** Where the job's token broker listens (a Unix socket path, or a named pipe on Windows); absent when none runs. */
  readonly broker?: string;
}

const SESSION_PREFIX = 'miado-git-';

// The helper command and its quoting live in helper-command.ts (Windows and POSIX forms); re-exported for the call sites.
export { helperCommand, shellQuote };

/** The origin of each prefix (scheme, host and port), once: what `credential.<url>` entries are keyed by. */
export function credentialHosts(prefixes: readonly string[]): string[] {
  const hosts = new Map<string, string>();
  for (const prefix of prefixes) {
    const url = new URL(prefix);
    hosts.set(url.origin.toLowerCase(), url.origin);
  }
  return [...hosts.values()];
}

/** True for a broker address that is a Unix socket, which git's own `git credential-cache` client can reach. */
export function isSocketAddress(address: string): boolean {
  return !address.startsWith('\\');
}

/**
 * A helper command that runs `command` (a shell command line, without git's leading `!`) for `get` only. After
 * every request that succeeded git also calls each helper with `store` (and with `erase` after a refusal); ours
 * have nothing to store, and a Node start for nothing costs more than the request itself. So those end in the
 * shell git starts the helper with.
 */
export function getOnly(command: string): string {
  return `!f() { test "$1" = get || exit 0; ${command} get; }; f`;
}

/** Our helper (helperCommand) for `get` only. */
export function nodeHelperCommand(nodePath: string, helperScript: string, sessionFile: string, platform: NodeJS.Platform = process.platform): string {
  return getOnly(helperCommand(nodePath, helperScript, sessionFile, platform).slice(1));
}

/**
 * `git credential-cache` pointed at the job's token broker, for `get` only: git's own small client relays the
 * request to the broker's socket, so a credential costs no Node start. Never `store`: that would make the client
 * start git's own cache daemon on the socket when the broker is gone.
 */
export function cacheHelperCommand(socket: string): string {
  return getOnly(`git credential-cache --socket ${shellQuote(socket)}`);
}

/**
 * The entries that make `helpers` the only credential helpers for each of `hosts`: an empty helper first
 * resets helpers configured elsewhere (system, global, a clone's own config) for these hosts only, so a stale
 * stored credential cannot shadow the identity; `useHttpPath` lets the helpers see the organization in the path.
 */
export function credentialEntries(hosts: readonly string[], helpers: readonly string[], useHttpPath: boolean): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (const host of hosts) {
    entries.push([`credential.${host}.helper`, '']);
    for (const helper of helpers) entries.push([`credential.${host}.helper`, helper]);
    if (useHttpPath) entries.push([`credential.${host}.useHttpPath`, 'true']);
  }
  return entries;
}

/** The GIT_CONFIG_* variables that add `entries` after the `existing` ones already in the environment. */
export function gitConfigVariables(existing: number, entries: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  const variables: Array<[string, string]> = [['GIT_CONFIG_COUNT', String(existing + entries.length)]];
  entries.forEach(([key, value], i) => {
    variables.push([`GIT_CONFIG_KEY_${existing + i}`, key], [`GIT_CONFIG_VALUE_${existing + i}`, value]);
  });
  return variables;
}

/** A fresh session file name under the agent's temp directory (not created). */
export function newSessionFile(tempDir: string): string {
  return join(tempDir, `${SESSION_PREFIX}${randomUUID()}.json`);
}

/**
 * Writes a session file (mode 0600) under the agent's temp directory and returns its path. On Windows the mode only
 * decides the read-only attribute (libuv fs__open); the file inherits the folder's ACL (SECURITY.md).
 */
export function writeSession(tempDir: string, session: GitSession, file = newSessionFile(tempDir)): string {
  mkdirSync(tempDir, { recursive: true });
  writeFileSync(file, JSON.stringify(session), { mode: 0o600, flag: 'wx' });
  return file;
}

/**
 * Takes the broker out of a session whose broker could not start or listen, so the helpers stop asking it and go to
 * the identity endpoint at once. Nothing when the session file is gone (the job ended): it is not written again.
 */
export function removeBrokerFromSession(file: string, session: GitSession): void {
  if (existsSync(file)) writeFileSync(file, JSON.stringify({ ...session, broker: undefined }), { mode: 0o600 });
}

/** Reads a session; undefined when it is gone (the job ended) or unreadable. */
export function readSession(file: string): GitSession | undefined {
  try {
    const session = JSON.parse(readFileSync(file, 'utf8')) as GitSession;
    return (session.version === 1 || session.version === 2) && Array.isArray(session.prefixes) && typeof session.policy === 'object' ? session : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A private directory (mode 0700) for a broker's socket, named like a session: under the agent's temp directory
 * when the socket path fits the 104 bytes a Unix socket address may hold on every platform, else under the
 * system's temp directory. On Windows the broker listens on a named pipe and no directory is needed.
 */
export function brokerAddress(tempDir: string, platform: NodeJS.Platform = process.platform): string {
  const name = `${SESSION_PREFIX}${randomBytes(8).toString('hex')}`;
  if (platform === 'win32') return `\\\\.\\pipe\\${name}`;
  const socket = (root: string): string => join(root, name, 's');
  const root = Buffer.byteLength(socket(resolve(tempDir))) < 104 ? resolve(tempDir) : tmpdir();
  mkdirSync(root, { recursive: true });
  mkdirSync(join(root, name), { mode: 0o700 });
  return socket(root);
}

/** Removes a broker's socket directory made by brokerAddress (only such a directory). Idempotent. */
export function removeBrokerDirectory(tempDir: string, address: string | undefined): void {
  if (!address || !isSocketAddress(address)) return;
  const dir = dirname(resolve(address));
  const inside = [resolve(tempDir), resolve(tmpdir())].some((root) => dirname(dir) === root);
  if (inside && basename(dir).startsWith(SESSION_PREFIX) && basename(address) === 's') rmSync(dir, { recursive: true, force: true });
}

/** True for the path of one of our session files inside the temp directory. */
export function isSessionPath(tempDir: string, file: string): boolean {
  const root = resolve(tempDir) + sep;
  const target = resolve(file);
  return target.startsWith(root) && target.slice(root.length).startsWith(SESSION_PREFIX) && !target.slice(root.length).includes(sep);
}

/**
 * Claims the start of a session's broker: true for exactly one caller per session (the file beside the session,
 * created with O_EXCL, decides), false for every later or concurrent one and when the claim cannot be made (the
 * session is gone). One start per session: should that broker end or never listen, the helpers ask the identity
 * endpoint themselves for the rest of the job rather than start brokers again.
 */
export function claimBrokerStart(file: string): boolean {
  try {
    closeSync(openSync(brokerClaimPath(file), 'wx', 0o600));
    return true;
  } catch {
    return false;
  }
}

function brokerClaimPath(file: string): string {
  return `${file}.broker`;
}

/** Deletes a session file (and its broker claim), but only one of ours inside the temp directory. Idempotent. */
export function removeSession(tempDir: string, file: string): boolean {
  if (!isSessionPath(tempDir, file)) return false;
  rmSync(resolve(file), { force: true });
  rmSync(brokerClaimPath(resolve(file)), { force: true });
  return true;
}
