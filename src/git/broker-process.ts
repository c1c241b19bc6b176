/**
 * The job's token broker as a process of its own (broker.ts holds the logic): started detached by the first
 * credential helper of the session that had to ask the identity endpoint (credential-helper.ts), which hands the
 * token it got over on the broker's stdin (never argv, never a file), and ended by the post-job step. It also ends
 * on its own when the session file disappears (the post-job step, or the agent emptying its temp directory), when it
 * has been idle for as long as its first token was valid, and on SIGTERM/SIGINT. The agent kills a job's leftover
 * processes at job end anyway: every process a job starts carries VSTS_PROCESS_LOOKUP_ID, and the worker's
 * FinalizeJob kills those still running
 * (microsoft/azure-pipelines-agent src/Agent.Worker/JobExtension.cs lines 557-561 and 671-710).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAzureDevOpsToken } from '../identity/managed-identity';
import { TokenBroker, type HeldToken } from './broker';
import { readSession, removeBrokerFromSession } from './session';

/** The broker bundle sits next to the running task bundle (tasks/<Name>V1/git-broker.js). */
export function brokerScriptPath(): string {
  return join(__dirname, 'git-broker.js');
}

/** How long `startBroker(…, { wait: true })` waits for the broker to listen. */
const START_TIMEOUT_MS = 10_000;

/**
 * Starts the broker for a session and hands it the token on its stdin (the kernel keeps the few bytes in the pipe
 * until the broker reads them, even after this process has ended). The broker is detached: it outlives the helper
 * and its git, holds none of their output streams (git and the agent wait for those to close), and does not keep the
 * caller's event loop alive. The caller does not wait for it to listen (that would add a Node start to the git
 * request): until it does, and should it never, the helpers ask the identity endpoint themselves, and a broker that
 * cannot listen takes itself out of the session. With `wait`, resolves when it listens and rejects with the reason
 * it did not (tests).
 */
export function startBroker(sessionFile: string, token: HeldToken, script = brokerScriptPath(), options: { wait?: boolean } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, sessionFile], {
      detached: true, stdio: ['pipe', options.wait ? 'pipe' : 'ignore', 'ignore'], cwd: tmpdir(), windowsHide: true,
    });
    let said = '';
    let settled = false;
    const settle = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.destroy();
      child.unref();
      if (err) {
        child.kill();
        reject(err);
      } else {
        resolve(child.pid ?? 0);
      }
    };
    const timer = setTimeout(() => settle(new Error(`it did not listen within ${START_TIMEOUT_MS / 1000} s`)), options.wait ? START_TIMEOUT_MS : 0);
    child.on('error', (err) => settle(err));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(JSON.stringify(token), () => {
      if (!options.wait) settle();
    });
    if (!options.wait) return;
    child.on('exit', (code) => settle(new Error(said.trim().replace(/^error: /, '') || `it exited with code ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      said += chunk.toString('utf8');
      if (/^ready$/m.test(said)) settle();
      else if (/^error: /m.test(said) && said.endsWith('\n')) settle(new Error(said.trim().replace(/^error: /, '')));
    });
  });
}

/** Asks a broker to end (git's cache protocol `exit`). Resolves true when one was listening. Never throws. */
export function stopBroker(address: string, timeoutMs = 3_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path: address, allowHalfOpen: true });
    let connected = false;
    const done = (): void => {
      socket.destroy();
      resolve(connected);
    };
    socket.setTimeout(timeoutMs, done);
    socket.on('connect', () => {
      connected = true;
      socket.end('action=exit\ntimeout=0\n');
    });
    socket.on('data', () => undefined);
    socket.on('error', done);
    socket.on('close', done);
  });
}

/** What the broker process's entry needs from its surroundings. */
export interface BrokerProcessIo {
  readonly stdin: string;
  /** Tells the starting step how it went (`ready`, or `error: …`); the stream is closed afterwards. */
  say(line: string): void;
  exit(code: number): void;
}

/** Runs the broker of `sessionFile` until it is told to end, its session disappears, or it sits idle too long. */
export async function runBrokerProcess(sessionFile: string | undefined, io: BrokerProcessIo): Promise<void> {
  const session = sessionFile ? readSession(sessionFile) : undefined;
  let initial: HeldToken | undefined;
  try {
    const given = JSON.parse(io.stdin) as Partial<HeldToken>;
    if (typeof given.token === 'string' && given.token && typeof given.expiresOn === 'number') initial = { token: given.token, expiresOn: given.expiresOn };
  } catch {
    initial = undefined;
  }
  if (!session?.broker || !sessionFile || !initial) {
    io.say(`error: ${!session?.broker ? 'no session with a broker address' : 'no token on stdin'}`);
    io.exit(1);
    return;
  }
  const selector = session.selector;
  let last = Date.now();
  // Idle for as long as the first token was valid (at least a minute): nothing has asked for a while, end.
  const idleLimitMs = Math.max(60_000, initial.expiresOn - Date.now());
  let ending = false;
  const end = (): void => {
    if (ending) return;
    ending = true;
    void broker.close().finally(() => io.exit(0));
  };
  const broker = new TokenBroker({
    scope: session,
    initial,
    ...(selector ? {
      renew: async () => {
        const silent = { info: () => undefined, warn: () => undefined, debug: () => undefined };
        const t = await getAzureDevOpsToken(selector, silent, { direct: true });
        return { token: t.token, expiresOn: t.expiresOn.getTime() };
      },
    } : {}),
    onActivity: () => (last = Date.now()),
    onExit: end,
  });
  try {
    await broker.listen(session.broker);
  } catch (err) {
    // Out of the session, so the helpers stop asking for it and go to the identity endpoint at once.
    removeBrokerFromSession(sessionFile, session);
    io.say(`error: cannot listen on ${session.broker}: ${err instanceof Error ? err.message : String(err)}`);
    io.exit(1);
    return;
  }
  io.say('ready');
  const watch = setInterval(() => {
    if (!existsSync(sessionFile) || Date.now() - last > idleLimitMs) end();
  }, 1_000);
  watch.unref?.();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, end);
}
