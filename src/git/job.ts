/**
 * Wires the job's git to our credential helpers (see session.ts): the session file, the address of the job's
 * token broker (broker-process.ts), then the GIT_CONFIG_* job variables. The step starts no process: the first
 * credential request that the broker cannot answer reaches our helper, which asks the identity endpoint and
 * starts the broker with that token (credential-helper.ts). `closeGitSession` is the post-job half.
 */
import { join } from 'node:path';
import type { IdentitySelector } from '../identity/managed-identity';
import type { Log } from '../core/log';
import type { HostPolicy, Organization } from '../devops/organizations';
import { stopBroker } from './broker-process';
import {
  brokerAddress, cacheHelperCommand, credentialEntries, credentialHosts, gitConfigVariables, isSessionPath, isSocketAddress,
  newSessionFile, nodeHelperCommand, readSession, removeBrokerDirectory, removeSession, writeSession,
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
 * Writes a session file for these URL prefixes, with the address where the session's broker will listen (a
 * private folder for its socket; nothing listens yet), and returns the helpers git is to ask.
 *
 * Why the step does not start the broker itself, with the token it holds: starting any process from Node costs
 * the step 20-30 ms on a small agent (measured on 2 cores: the fork and exec block the step ~7 ms, and the new
 * process competes with the step for the CPU until it ends; scripts/bench-start.ts), on every authenticate step,
 * whether or not the job runs git. Started by the first helper that needs it, the broker costs one identity request
 * per job instead, on the first git request, and only in jobs that use git.
 */
export function openSession(tempDir: string, selector: IdentitySelector, prefixes: readonly string[], policy: HostPolicy): OpenedSession {
  const file = newSessionFile(tempDir);
  const broker = brokerAddress(tempDir);
  writeSession(tempDir, { version: 2, selector, prefixes, policy, broker }, file);
  const helpers = [...(isSocketAddress(broker) ? [cacheHelperCommand(broker)] : []), nodeHelperCommand(process.execPath, helperScriptPath(), file)];
  return { file, helpers, prefixes };
}

/** Opens a session for these organizations and returns the session file to remove after the job. */
export function openGitSession(job: JobVariables, tempDir: string, selector: IdentitySelector, orgs: readonly Organization[], policy: HostPolicy): string {
  const opened = openSession(tempDir, selector, orgs.flatMap((org) => org.gitPrefixes), policy);
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
