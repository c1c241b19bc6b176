/**
 * persistCredentials for a checked-out clone: its .git/config gets our credential helper (a command and a
 * session-file path, never a token), so later git commands in the clone keep working with fresh tokens.
 * The post-job step removes the entries and the session file.
 */
import { existsSync } from 'node:fs';
import type { Git } from './git';
import { helperScriptPath } from './git-job';
import { helperCommand, removeSession, writeSession } from './git-session';
import type { IdentitySelector } from './identity';
import type { Log } from './log';
import type { HostPolicy } from './organizations';

export interface PersistedCredential {
  readonly repoPath: string;
  readonly sessionFile: string;
  readonly prefixes: readonly string[];
}

export async function persistCredentials(
  git: Git, repoPath: string, tempDir: string, selector: IdentitySelector, prefixes: readonly string[], policy: HostPolicy,
): Promise<PersistedCredential> {
  const sessionFile = writeSession(tempDir, { version: 1, selector, prefixes, policy });
  const command = helperCommand(process.execPath, helperScriptPath(), sessionFile);
  for (const prefix of prefixes) {
    await git(['config', '--local', '--add', `credential.${prefix}.helper`, ''], { cwd: repoPath });
    await git(['config', '--local', '--add', `credential.${prefix}.helper`, command], { cwd: repoPath });
  }
  return { repoPath, sessionFile, prefixes };
}

/** Removes what persistCredentials added. Idempotent; a clone that is already gone is fine. */
export async function removePersistedCredentials(git: Git, tempDir: string, entries: readonly PersistedCredential[], log: Log): Promise<void> {
  for (const entry of entries) {
    for (const prefix of existsSync(entry.repoPath) ? entry.prefixes : []) {
      await git(['config', '--local', '--unset-all', `credential.${prefix}.helper`], { cwd: entry.repoPath, okExitCodes: [1, 5, 128] })
        .catch((err: unknown) => log.warn(`Could not remove credentials from ${entry.repoPath}: ${err instanceof Error ? err.message : String(err)}`));
    }
    removeSession(tempDir, entry.sessionFile);
    log.info(`Removed persisted git credentials from ${entry.repoPath}.`);
  }
}
