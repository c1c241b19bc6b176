/**
 * Job-scoped git credentials. Later steps' plain `git` finds a credential helper for each organization
 * through GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n job variables (git >= 2.31); the helper
 * mints a fresh token from the identity endpoint on every request. What is persisted is one small session
 * file (no secret: which identity, which URL prefixes) under Agent.TempDirectory; the post-job step deletes
 * it, after which the helper answers nothing and git no longer authenticates.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { IdentitySelector } from '../identity/managed-identity';
import type { HostPolicy } from '../devops/organizations';

export interface GitSession {
  readonly version: 1;
  readonly selector: IdentitySelector;
  /** URL prefixes (with trailing slash) whose git requests the helper answers. */
  readonly prefixes: readonly string[];
  readonly policy: HostPolicy;
}

const SESSION_PREFIX = 'miado-git-';

// The helper command and its quoting live in helper-command.ts (Windows and POSIX forms); re-exported for the call sites.
export { helperCommand, shellQuote } from './helper-command';

/**
 * The GIT_CONFIG_* variables that add our helper for each prefix after `existing` entries already in the
 * environment. An empty helper value first resets helpers configured elsewhere (global, system) for
 * these URLs only, so a stale stored credential cannot shadow the identity.
 */
export function gitConfigVariables(existing: number, prefixes: readonly string[], command: string): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (const prefix of prefixes) {
    entries.push([`credential.${prefix}.helper`, ''], [`credential.${prefix}.helper`, command]);
  }
  const variables: Array<[string, string]> = [['GIT_CONFIG_COUNT', String(existing + entries.length)]];
  entries.forEach(([key, value], i) => {
    variables.push([`GIT_CONFIG_KEY_${existing + i}`, key], [`GIT_CONFIG_VALUE_${existing + i}`, value]);
  });
  return variables;
}

/**
 * Writes a session file (mode 0600) under the agent's temp directory and returns its path. On Windows the mode only
 * decides the read-only attribute (libuv fs__open); the file inherits the folder's ACL (SECURITY.md).
 */
export function writeSession(tempDir: string, session: GitSession): string {
  mkdirSync(tempDir, { recursive: true });
  const file = join(tempDir, `${SESSION_PREFIX}${randomUUID()}.json`);
  writeFileSync(file, JSON.stringify(session), { mode: 0o600, flag: 'wx' });
  return file;
}

/** Reads a session; undefined when it is gone (the job ended) or unreadable. */
export function readSession(file: string): GitSession | undefined {
  try {
    const session = JSON.parse(readFileSync(file, 'utf8')) as GitSession;
    return session.version === 1 && Array.isArray(session.prefixes) ? session : undefined;
  } catch {
    return undefined;
  }
}

/** Deletes a session file, but only one of ours inside the temp directory. Idempotent. */
export function removeSession(tempDir: string, file: string): boolean {
  const root = resolve(tempDir) + sep;
  const target = resolve(file);
  if (!target.startsWith(root) || !target.slice(root.length).startsWith(SESSION_PREFIX)) return false;
  rmSync(target, { force: true });
  return true;
}
