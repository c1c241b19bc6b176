/**
 * persistCredentials for a checked-out clone and its submodules: each .git/config gets our credential helpers
 * (commands and a session-file path, never a token) for its own organization's hosts, so later git commands
 * there keep working: from the session's token broker once the first of them has started it, else with fresh
 * tokens from the identity endpoint (job.ts openSession). Like the job-wide helpers (session.ts), they are set per
 * host with `useHttpPath` and check the organization without regard to case. The post-job step removes the entries,
 * ends the broker and removes the session file.
 */
import { existsSync } from 'node:fs';
import type { Git } from './runner';
import { endSession, openSession } from './job';
import { credentialEntries, credentialHosts } from './session';
import type { IdentitySelector } from '../identity/managed-identity';
import type { Log } from '../core/log';
import type { HostPolicy, Organization } from '../devops/organizations';
import { parseRepository } from '../devops/repository-ref';

export interface PersistedCredential {
  readonly repoPath: string;
  readonly sessionFile: string;
  readonly prefixes: readonly string[];
}

/** A clone (or submodule) and the URL prefixes of the organization its `origin` lives in. */
export interface PersistTarget {
  readonly path: string;
  readonly prefixes: readonly string[];
}

/**
 * The clone and each submodule whose `origin` is an Azure DevOps repository (other organizations included).
 * Submodules elsewhere (GitHub, a file path) get nothing: the identity has no business there.
 */
export async function persistTargets(
  git: Git, clone: string, organization: Organization, submodules: readonly string[], policy: HostPolicy, log: Log,
): Promise<PersistTarget[]> {
  const targets: PersistTarget[] = [{ path: clone, prefixes: organization.gitPrefixes }];
  for (const path of submodules) {
    const { stdout } = await git(['remote', 'get-url', 'origin'], { cwd: path, capture: true, okExitCodes: [2, 128] });
    try {
      const ref = parseRepository('submodule URL', stdout.trim(), policy, organization, undefined);
      targets.push({ path, prefixes: ref.organization.gitPrefixes });
    } catch {
      log.info(`Not persisting credentials in submodule ${path}: its origin is not an Azure DevOps repository.`);
    }
  }
  return targets;
}

/** Writes one session file and the helpers into each target's .git/config; undoes what it did if a step fails. */
export async function persistCredentials(
  git: Git, targets: readonly PersistTarget[], tempDir: string, selector: IdentitySelector, policy: HostPolicy, log: Log,
): Promise<PersistedCredential[]> {
  const prefixes = [...new Set(targets.flatMap((t) => t.prefixes))];
  const session = openSession(tempDir, selector, prefixes, policy);
  const entries: PersistedCredential[] = [];
  try {
    for (const target of targets) {
      entries.push({ repoPath: target.path, sessionFile: session.file, prefixes: target.prefixes });
      for (const [key, value] of credentialEntries(credentialHosts(target.prefixes), session.helpers, true)) {
        await git(['config', '--local', '--add', key, value], { cwd: target.path });
      }
    }
  } catch (err) {
    await removePersistedCredentials(git, tempDir, entries, log);
    await endSession(tempDir, session.file);
    throw err;
  }
  return entries;
}

/** Removes what persistCredentials added. Idempotent; a clone that is already gone is fine. */
export async function removePersistedCredentials(git: Git, tempDir: string, entries: readonly PersistedCredential[], log: Log): Promise<void> {
  for (const entry of entries) {
    for (const host of existsSync(entry.repoPath) ? credentialHosts(entry.prefixes) : []) {
      for (const key of [`credential.${host}.helper`, `credential.${host}.useHttpPath`]) {
        await git(['config', '--local', '--unset-all', key], { cwd: entry.repoPath, okExitCodes: [1, 5, 128] })
          .catch((err: unknown) => log.warn(`Could not remove credentials from ${entry.repoPath}: ${err instanceof Error ? err.message : String(err)}`));
      }
    }
    await endSession(tempDir, entry.sessionFile);
    log.info(`Removed persisted git credentials from ${entry.repoPath}.`);
  }
}
