/**
 * The one place git runs. Arguments go as an array (no shell); the environment is scrubbed of trace
 * variables that could print headers. Every git gets, as GIT_CONFIG_* environment entries (never argv):
 * - the token through git's credential protocol, from a token broker inside this process (broker.ts) that
 *   listens on a socket in a private directory: no token in the environment or in any config value, so
 *   trace2 (`trace2.configParams`, `trace2.envVars`, which enterprises turn on in global config) cannot
 *   record it, and only Azure DevOps hosts (and listed loopback emulators) are ever answered;
 * - https only (`protocol.allow=never`, `protocol.https.allow=always`; http too when loopback emulators are
 *   listed): no ssh, git://, file:// or ext:: transport, whatever a `.gitmodules` or a re-used clone says;
 * - no hooks (`core.hooksPath` at a path that cannot exist), no fsmonitor and no askpass program, so nothing a
 *   re-used clone's config names runs while the token is within reach.
 * Output is passed through the logging-command filter, and its tail is kept to explain failures.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { GitError } from '../core/errors';
import { neutralize } from '../core/log';
import { AZURE_DEVOPS_ONLY, type HostPolicy } from '../devops/organizations';
import { TokenBroker } from './broker';
import { helperScriptPath } from './job';
import {
  brokerAddress, cacheHelperCommand, credentialEntries, gitConfigVariables, isSocketAddress, nodeHelperCommand,
  removeBrokerDirectory, writeSession,
} from './session';

export interface GitAuth {
  readonly token: string;
  /** Epoch milliseconds. */
  readonly expiresOn: number;
  /** Hosts besides Azure DevOps that may receive the token (loopback emulators). */
  readonly policy: HostPolicy;
  /** Agent.TempDirectory: where the credential socket's private directory is made. */
  readonly tempDir: string;
}

export interface GitOptions {
  readonly cwd?: string;
  readonly auth?: GitAuth;
  /** Return stdout instead of logging it. */
  readonly capture?: boolean;
  readonly env?: Readonly<Record<string, string>>;
  /** Exit codes that are not failures (e.g. 1 for `git config --get` of a missing key). */
  readonly okExitCodes?: readonly number[];
}

export interface GitResult {
  readonly exitCode: number;
  readonly stdout: string;
}

export type Git = (args: readonly string[], options?: GitOptions) => Promise<GitResult>;

const SCRUBBED = /^(GIT_TRACE.*|GIT_CURL_VERBOSE|GIT_REDACT_COOKIES|GIT_ASKPASS|SSH_ASKPASS|GIT_DIR|GIT_WORK_TREE|GIT_INDEX_FILE)$/;

/** Where git finds hooks: under a file (this module's bundle), so no directory of hooks can ever exist there. */
const NO_HOOKS = join(__filename, 'no-hooks');

/** The URLs every git of the tasks authenticates to: any Azure DevOps organization (submodules live anywhere in the tenant). */
export function tokenHosts(policy: HostPolicy): string[] {
  return ['https://dev.azure.com', 'https://*.visualstudio.com', ...policy.loopbackHosts.flatMap((h) => [`http://${h}`, `https://${h}`])];
}

/** What every git of the tasks runs with (see the header): transports, hooks, fsmonitor, askpass. */
export function safetyConfig(policy: HostPolicy): Array<[string, string]> {
  return [
    ['protocol.allow', 'never'],
    ['protocol.https.allow', 'always'],
    ...(policy.loopbackHosts.length ? [['protocol.http.allow', 'always'] as [string, string]] : []),
    ['core.hooksPath', NO_HOOKS],
    ['core.fsmonitor', ''],
    ['core.askPass', ''],
  ];
}

const servers = new WeakMap<GitAuth, Promise<Array<[string, string]>>>();

/**
 * Starts (once per GitAuth) the in-process broker that answers this process's git with the token, and returns
 * the config entries that point git at it. The broker never renews: it serves the token of the running step,
 * which that step registered, until the step ends (its socket directory is removed when the process exits).
 */
export function credentialConfig(auth: GitAuth): Promise<Array<[string, string]>> {
  let config = servers.get(auth);
  if (!config) {
    config = (async () => {
      const address = brokerAddress(auth.tempDir);
      const broker = new TokenBroker({ scope: { prefixes: [], anyOrganization: true, policy: auth.policy }, initial: { token: auth.token, expiresOn: auth.expiresOn } });
      let session: string | undefined;
      process.once('exit', () => {
        removeBrokerDirectory(auth.tempDir, address);
        if (session) rmSync(session, { force: true });
      });
      await broker.listen(address);
      broker.unref();
      let helper: string;
      if (isSocketAddress(address)) {
        helper = cacheHelperCommand(address);
      } else {
        // Windows: no Unix socket for git's cache client; our helper reaches the named pipe. Its session names no
        // identity, so it never asks the identity endpoint itself.
        session = writeSession(auth.tempDir, { version: 2, prefixes: [], anyOrganization: true, policy: auth.policy, broker: address });
        helper = nodeHelperCommand(process.execPath, helperScriptPath(), session);
      }
      const hosts = tokenHosts(auth.policy);
      return [...credentialEntries(hosts, [helper], false), ...hosts.map((h): [string, string] => [`http.${h}.followRedirects`, 'false'])];
    })();
    servers.set(auth, config);
  }
  return config;
}

/** The environment git children get: ours, scrubbed, plus `config` as extra GIT_CONFIG_* entries. */
export function gitEnvironment(base: NodeJS.ProcessEnv, config: ReadonlyArray<readonly [string, string]>, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!SCRUBBED.test(k) && v !== undefined) env[k] = v;
  Object.assign(env, { GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'Never', GIT_TRACE_REDACT: '1' }, extra);
  let count = Number.parseInt(env['GIT_CONFIG_COUNT'] ?? '0', 10);
  if (!Number.isFinite(count) || count < 0) count = 0;
  for (const [name, value] of gitConfigVariables(count, config)) env[name] = value;
  return env;
}

/** What a failing git said, mapped to a hint where Azure DevOps gave a known code. */
function hintFor(stderr: string): string | undefined {
  if (/TF401019/.test(stderr)) return 'The repository does not exist or the identity cannot see it: check the name and that the identity has Basic access and Read on it.';
  if (/TF401027/.test(stderr)) return 'The identity lacks a git permission on the repository (named above): grant it, e.g. Contribute, in the repository security settings.';
  if (/TF402455/.test(stderr)) return 'A branch policy protects this branch: push to another branch and open a pull request (command: pullRequest).';
  if (/Authentication failed|could not read Username|TF400813/.test(stderr)) return 'The identity is not a member of that organization, or its token was refused: add it with Basic access.';
  if (/non-fast-forward|fetch first|\[rejected\]/.test(stderr)) return 'The branch has commits you do not have: fetch and rebase or merge first, or set force: true (uses --force-with-lease).';
  if (/couldn't find remote ref|not our ref|unadvertised object/i.test(stderr)) return 'The ref does not exist in the repository: check the branch, tag or commit.';
  return undefined;
}

function tail(text: string, lines = 12): string {
  return text.split(/\r?\n/).filter((l) => l.trim()).slice(-lines).join('\n');
}

/** Splits a byte stream into whole lines (LF, CRLF or a lone CR, as git's progress uses), across chunks. */
function lineReader(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  return {
    push(chunk) {
      const lines = (pending + decoder.write(chunk)).split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      lines.forEach(onLine);
    },
    end() {
      const rest = pending + decoder.end();
      pending = '';
      if (rest) onLine(rest);
    },
  };
}

/** Creates the Git runner. `log` receives git's (filtered) output lines; `secrets` are scrubbed from captured text. */
export function createGit(log: (line: string) => void, secrets: () => readonly string[] = () => []): Git {
  return async (args, options = {}) => {
    const policy = options.auth?.policy ?? AZURE_DEVOPS_ONLY;
    const config = [...safetyConfig(policy), ...(options.auth ? await credentialConfig(options.auth) : [])];
    return run(args, options, gitEnvironment(process.env, config, options.env), log, secrets);
  };
}

function run(args: readonly string[], options: GitOptions, env: NodeJS.ProcessEnv, log: (line: string) => void, secrets: () => readonly string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...args], {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const out: Buffer[] = [];
    let err = '';
    const scrub = (text: string): string => secrets().reduce((t, s) => (s ? t.split(s).join('***') : t), text);
    const emitLine = (line: string): void => {
      if (line.trim()) log(neutralize(scrub(line)));
    };
    const stdoutLines = lineReader(emitLine);
    const stderrLines = lineReader(emitLine);
    child.stdout.on('data', (chunk: Buffer) => (options.capture ? out.push(chunk) : stdoutLines.push(chunk)));
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
      if (err.length > 64_000) err = err.slice(-32_000);
      stderrLines.push(chunk);
    });
    child.on('error', (e) => reject(new GitError(`Could not run git: ${e.message}`, 'Install git 2.31 or later on the agent and put it on PATH.', null)));
    child.on('close', (code) => {
      stdoutLines.end();
      stderrLines.end();
      const exitCode = code ?? -1;
      const stdout = scrub(Buffer.concat(out).toString('utf8'));
      if (exitCode === 0 || options.okExitCodes?.includes(exitCode)) {
        resolve({ exitCode, stdout });
        return;
      }
      // eslint-disable-next-line no-control-regex
      const said = neutralize(tail(scrub(err)).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ''));
      const command = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c') ?? '';
      reject(new GitError(`git ${command} failed (exit code ${exitCode})${said ? `:\n${said}` : '.'}`, hintFor(err), exitCode, scrub(err)));
    });
  });
}
