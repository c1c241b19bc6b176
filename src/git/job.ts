/**
 * Wires the job's git to our credential helpers (see session.ts): the session file, the job's token broker
 * (broker-process.ts) holding the token the step already registered, then the GIT_CONFIG_* job variables.
 * `closeGitSession` is the post-job half.
 */
import { join } from 'node:path';
import type { IdentitySelector } from '../identity/managed-identity';
import type { Log } from '../core/log';
import type { HostPolicy, Organization } from '../devops/organizations';
import type { HeldToken } from './broker';
import { startBroker, stopBroker } from './broker-process';
import {
  brokerAddress, cacheHelperCommand, credentialEntries, credentialHosts, gitConfigVariables, isSessionPath, isSocketAddress,
  newSessionFile, nodeHelperCommand, readSession, removeBrokerDirectory, removeSession, rewriteSession, writeSession, type GitSession,
} from './session';

export interface JobVariables extends Log {
  variable(name: string): string | undefined;
  setVariable(name: string, value: string): void;
}

/** The helper bundle sits next to the running task bundle (tasks/<Name>V1/credential-helper.js). */
export function helperScriptPath(): string {
  return join(__dirname, 'credential-helper.js');
}

export interface OpenedSession {
  readonly file: string;
  /** The credential helpers, in the order git asks them, for each host. */
  readonly helpers: readonly string[];
  readonly prefixes: readonly string[];
}

/**
 * Writes a session file for these URL prefixes and, given a token, starts the session's broker with it. When
 * the broker cannot start, the session goes on without one (the helper then asks the identity endpoint on each
 * request) and `log` says why.
 */
export async function openSession(
  tempDir: string, selector: IdentitySelector, prefixes: readonly string[], policy: HostPolicy, token: HeldToken | undefined, log: Log,
): Promise<OpenedSession> {
  const file = newSessionFile(tempDir);
  let broker = token ? brokerAddress(tempDir) : undefined;
  const session = (b: string | undefined): GitSession => ({ version: 2, selector, prefixes, policy, ...(b ? { broker: b } : {}) });
  writeSession(tempDir, session(broker), file);
  if (broker && token) {
    try {
      await startBroker(file, token, undefined, { wait: false });
    } catch (err) {
      log.warn(`Could not start the job's git token broker (${err instanceof Error ? err.message : String(err)}); later git commands ask the identity endpoint for each request instead.`);
      removeBrokerDirectory(tempDir, broker);
      broker = undefined;
      rewriteSession(file, session(undefined));
    }
  }
  const helpers = [...(broker && isSocketAddress(broker) ? [cacheHelperCommand(broker)] : []), nodeHelperCommand(process.execPath, helperScriptPath(), file)];
  return { file, helpers, prefixes };
}

/** Opens a session for these organizations and returns the session file to remove after the job. */
export async function openGitSession(
  job: JobVariables, tempDir: string, selector: IdentitySelector, orgs: readonly Organization[], policy: HostPolicy, token?: HeldToken,
): Promise<string> {
  const opened = await openSession(tempDir, selector, orgs.flatMap((org) => org.gitPrefixes), policy, token, job);
  const existing = Number.parseInt(job.variable('GIT_CONFIG_COUNT') ?? process.env['GIT_CONFIG_COUNT'] ?? '0', 10);
  const entries = credentialEntries(credentialHosts(opened.prefixes), opened.helpers, true);
  for (const [name, value] of gitConfigVariables(Number.isFinite(existing) ? existing : 0, entries)) {
    job.setVariable(name, value);
  }
  const names = orgs.map((org) => org.name).join(', ');
  job.info(`Later steps' git authenticates to ${names} (any spelling of their names) with this identity (credential helper; no token on disk).`);
  return opened.file;
}

/** Ends a session: stops its broker, removes its files. Idempotent; never throws. Resolves true when there was one. */
export async function endSession(tempDir: string, file: string): Promise<boolean> {
  if (!isSessionPath(tempDir, file)) return false;
  const session = readSession(file);
  if (session?.broker) {
    await stopBroker(session.broker);
    removeBrokerDirectory(tempDir, session.broker);
  }
  return removeSession(tempDir, file);
}

/** Ends a session: later git requests get no credentials. Idempotent; never throws. */
export async function closeGitSession(log: Log, tempDir: string, file: string | undefined): Promise<void> {
  if (!file) {
    log.debug('No git session to close.');
    return;
  }
  if (await endSession(tempDir, file)) log.info('Removed the job\'s git credential session.');
  else log.warn(`Not removing '${file}': it is not a session file inside the agent's temp directory.`);
}
