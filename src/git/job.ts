/**
 * Wires the job's git to the credential helper (see session.ts): the session file, then the
 * GIT_CONFIG_* job variables. `closeGitSession` is the post-job half.
 */
import { join } from 'node:path';
import type { IdentitySelector } from '../identity/managed-identity';
import type { Log } from '../core/log';
import type { HostPolicy, Organization } from '../devops/organizations';
import { gitConfigVariables, helperCommand, removeSession, writeSession } from './session';

export interface JobVariables extends Log {
  variable(name: string): string | undefined;
  setVariable(name: string, value: string): void;
}

/** The helper bundle sits next to the running task bundle (tasks/<Name>V1/credential-helper.js). */
export function helperScriptPath(): string {
  return join(__dirname, 'credential-helper.js');
}

/** Opens a session for these organizations and returns the session file to remove after the job. */
export function openGitSession(job: JobVariables, tempDir: string, selector: IdentitySelector, orgs: readonly Organization[], policy: HostPolicy): string {
  const prefixes = orgs.flatMap((org) => org.gitPrefixes);
  const file = writeSession(tempDir, { version: 1, selector, prefixes, policy });
  const existing = Number.parseInt(job.variable('GIT_CONFIG_COUNT') ?? process.env['GIT_CONFIG_COUNT'] ?? '0', 10);
  const command = helperCommand(process.execPath, helperScriptPath(), file);
  for (const [name, value] of gitConfigVariables(Number.isFinite(existing) ? existing : 0, prefixes, command)) {
    job.setVariable(name, value);
  }
  job.info(`Later steps' git authenticates to ${prefixes.join(', ')} with this identity (credential helper; no token on disk).`);
  return file;
}

/** Ends a session: later git requests get no credentials. Idempotent; never throws. */
export function closeGitSession(log: Log, tempDir: string, file: string | undefined): void {
  if (!file) {
    log.debug('No git session to close.');
    return;
  }
  if (removeSession(tempDir, file)) log.info('Removed the job\'s git credential session.');
  else log.warn(`Not removing '${file}': it is not a session file inside the agent's temp directory.`);
}
