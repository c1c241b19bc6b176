/**
 * What the security tests share: a job "observer" that records the argv of every process a step
 * starts (a git wrapper on PATH, git's own trace of the processes it runs, and, where strace exists,
 * an execve trace of the whole task and script process trees), and one scan that looks for every
 * form of every token the emulators issued in everything a job leaves behind.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentNode20, parseCommand, type JobResult, type VsoCommand } from '../agent/runner';
import { filesContaining, leakForms, leakedLines, type Harness } from './support';
import { TOKEN_VARIABLES } from '../../src/feeds/job';

function which(tool: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const STRACE = which('strace');

export interface Observer {
  /** Add to the agent's environment: PATH with the wrappers first, the logs, and a TMPDIR of its own. */
  readonly env: Record<string, string>;
  /** The runner's nodePath: node under strace when available (not for cancelled jobs: strace holds signals). */
  readonly nodePath?: string;
  /** The runner's node24Path, likewise, when the runner has a Node 24 ($AGENT_RUNNER_NODE24: the Node 24 suite). */
  readonly node24Path?: string;
  /** TMPDIR of the job's processes (scanned for leftovers). */
  readonly tmp: string;
  /** True when the execve trace covers every process, the credential helper included. */
  readonly tracesExec: boolean;
  /** argv of every `git` started through PATH. */
  gitCalls(): string[][];
  /** Texts that record process command lines: git's trace and the execve traces. */
  traces(): Array<{ name: string; text: string }>;
  /** Command lines the execve traces saw (one string per execve). */
  execs(): string[];
  dispose(): void;
}

/**
 * Wrappers that record what a job runs. `git` appends its argv to a log and, unless GIT_TRACE is
 * already set, turns on git's trace (which names every helper, remote helper and hook it starts)
 * into a file; `bash` (script steps) and node (task steps) run under `strace -f -e execve` when
 * `exec` is true and strace is installed.
 */
export function observe(exec = true): Observer {
  const dir = mkdtempSync(join(tmpdir(), 'mi-observe-'));
  const bin = join(dir, 'bin');
  const logs = join(dir, 'logs');
  const tmp = join(dir, 'tmp');
  for (const d of [bin, logs, tmp]) mkdirSync(d);
  const argvLog = join(logs, 'git-argv.log');
  const traceLog = join(logs, 'git-trace.log');
  const realGit = which('git')!;
  const recorder = join(dir, 'record.js');
  writeFileSync(recorder, `require('fs').appendFileSync(${JSON.stringify(argvLog)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n`);
  writeFileSync(join(bin, 'git'), [
    '#!/bin/sh',
    `"${process.execPath}" "${recorder}" "$@"`,
    `if [ -z "$GIT_TRACE" ]; then GIT_TRACE='${traceLog}'; export GIT_TRACE; fi`,
    `exec "${realGit}" "$@"`,
    '',
  ].join('\n'));
  chmodSync(join(bin, 'git'), 0o755);
  const tracesExec = exec && STRACE !== undefined;
  let nodePath: string | undefined;
  let node24Path: string | undefined;
  const tracers = join(logs, 'tracers');
  if (tracesExec) {
    // A step may start a detached process that outlives it (the job's git token broker, which the first credential
    // helper git runs in a script starts), and strace -f runs until every traced process has ended: as the step's
    // parent it would hold the step open. So node and bash start stopped, strace attaches to them from the side, and
    // the wrapper waits for the step's own process alone.
    const attached = (target: string, comm: string): string => [
      '#!/bin/sh',
      `sh -c 'kill -STOP $$; exec "$0" "$@"' "${target}" "$@" &`,
      'pid=$!',
      `"${STRACE}" -f -qq -e trace=execve -s 1000000 -o "${logs}/${comm}-$pid.strace" -p "$pid" </dev/null >/dev/null 2>&1 &`,
      `echo $! >> "${tracers}"`,
      // Continue it once strace holds it, until it has become the target (a SIGCONT that came before its SIGSTOP is lost).
      `until [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = ${comm} ] || ! kill -0 "$pid" 2>/dev/null; do`,
      '  grep -Eq "^TracerPid:[[:space:]]*[1-9]" "/proc/$pid/status" 2>/dev/null && kill -CONT "$pid" 2>/dev/null',
      '  sleep 0.01',
      'done',
      'wait "$pid"',
      '',
    ].join('\n');
    nodePath = join(bin, 'node-traced');
    writeFileSync(nodePath, attached(agentNode20(), 'node'));
    writeFileSync(join(bin, 'bash'), attached(which('bash')!, 'bash'));
    chmodSync(nodePath, 0o755);
    chmodSync(join(bin, 'bash'), 0o755);
    const node24 = process.env['AGENT_RUNNER_NODE24'];
    if (node24) {
      node24Path = join(bin, 'node24-traced');
      writeFileSync(node24Path, attached(node24, 'node'));
      chmodSync(node24Path, 0o755);
    }
  }
  const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'latin1') : '');
  /** Waits (up to 10 s) for the side-attached tracers to end, so their logs are complete. */
  const settle = (): void => {
    const pids = read(tracers).split('\n').filter(Boolean);
    const until = Date.now() + 10_000;
    while (pids.some((pid) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(read(`/proc/${pid}/status`))) && Date.now() < until) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  };
  const straces = (): Array<{ name: string; text: string }> => {
    settle();
    return readdirSync(logs).filter((f) => f.endsWith('.strace')).map((f) => ({ name: f, text: read(join(logs, f)) }));
  };
  return {
    env: { PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, TMPDIR: tmp },
    ...(nodePath ? { nodePath } : {}),
    ...(node24Path ? { node24Path } : {}),
    tmp,
    tracesExec,
    gitCalls: () => read(argvLog).split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]),
    traces: () => [{ name: 'git trace', text: read(traceLog) }, ...straces()],
    execs: () => straces().flatMap((s) => s.text.split('\n').filter((l) => /execve\(.*\) = 0$/.test(l))),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The values a step registered with the agent's masker: task.setsecret data and secret variables. */
export function registeredSecrets(commands: readonly VsoCommand[]): Set<string> {
  const values = new Set<string>();
  for (const c of commands) {
    const name = `${c.area}.${c.event}`.toLowerCase();
    if (name === 'task.setsecret') values.add(c.data);
    if (name === 'task.setvariable' && c.properties['issecret']?.toLowerCase() === 'true') values.add(c.data);
  }
  return values;
}

/** What a task must register before it can print anything: the token and each form git or HTTP could show. */
export function formsToRegister(token: string): string[] {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return [token, b64(token), b64(`:${token}`), b64(`ManagedIdentity:${token}`), encodeURIComponent(token)];
}

export interface LeakScan {
  readonly h: Harness;
  readonly result: JobResult;
  /** Tokens to look for (normally every token the emulators issued during the job). */
  readonly tokens: readonly string[];
  readonly observer: Observer;
  /** Where the emulators' request logs stood when the job started. */
  readonly requestsFrom: { readonly devops: number; readonly identity: number };
  /** More folders to scan (e.g. a HOME shared by two jobs). */
  readonly roots?: readonly string[];
  /**
   * Accept a token form in plain output lines only after the step registered it (the agent masks it from
   * then on). For NODE_DEBUG=http, where Node itself prints request headers; everything else is strict.
   */
  readonly maskedAfterRegistration?: boolean;
}

/**
 * Output lines that still show a token form once every value the step had registered so far is masked
 * (what the agent does to each line), outside the commands that register secrets.
 */
export function unregisteredLeaks(raw: string, tokens: readonly string[]): string[] {
  const registered: string[] = [];
  const forms = tokens.flatMap(leakForms);
  const found: string[] = [];
  for (const line of raw.split(/\r\n|\n|\r/)) {
    const command = parseCommand(line);
    const registering = command ? [...registeredSecrets([command])] : [];
    registered.push(...registering);
    if (registering.length) continue;
    const masked = registered.reduce((text, value) => text.split(value).join('***'), line);
    if (forms.some((f) => masked.includes(f))) found.push(line);
  }
  return found;
}

/**
 * The logging command that hands the token to later steps' package clients through one of the documented
 * feed variables (src/feeds/job.ts TOKEN_VARIABLES): a command for the agent, not output; the token in it
 * was registered before (checked below).
 */
function handsOverFeedToken(line: string): boolean {
  const command = parseCommand(line);
  return command !== undefined && `${command.area}.${command.event}`.toLowerCase() === 'task.setvariable' &&
    command.properties['issecret']?.toLowerCase() !== 'true' && TOKEN_VARIABLES.test(command.properties['variable'] ?? '');
}

/** True for a task's process (node main.js / post.js), false for a script step. */
function isTaskStep(step: JobResult['steps'][number]): boolean {
  return step.argv.some((a) => /[\\/](main|post)\.js$/.test(a));
}

const clip = (text: string, at: number): string => text.slice(Math.max(0, at - 60), at + 60).replace(/\s+/g, ' ');

/**
 * Every place a token form turned up, as readable findings (empty = no leak). Looks in: each step's
 * raw output outside the commands that register the secret, the masked log, argv of the task
 * processes, of every git and of everything the execve trace saw, git's trace, files under the agent
 * root (HOME, workspace, temp directory), the job's TMPDIR and `roots`, every request the emulators
 * received (paths, queries, headers, bodies), and non-secret job variables. Also: every task step
 * that obtained a token registered all its forms.
 */
export function findLeaks(scan: LeakScan): string[] {
  const findings: string[] = [];
  const forms = [...new Set(scan.tokens.flatMap(leakForms))];
  const hit = (text: string): number => {
    for (const f of forms) {
      const at = text.indexOf(f);
      if (at >= 0) return at;
    }
    return -1;
  };
  const check = (where: string, text: string): void => {
    const at = hit(text);
    if (at >= 0) findings.push(`${where}: …${clip(text, at)}…`);
  };
  for (const step of scan.result.steps) {
    const lines = (scan.maskedAfterRegistration
      ? unregisteredLeaks(step.raw, scan.tokens)
      : scan.tokens.flatMap((token) => leakedLines(step.raw, token))).filter((line) => !(isTaskStep(step) && handsOverFeedToken(line)));
    for (const line of lines) findings.push(`output of '${step.displayName}': ${line.slice(0, 160)}`);
    check(`argv of '${step.displayName}'`, step.argv.join(' '));
  }
  check('the masked job log', scan.result.log);
  for (const argv of scan.observer.gitCalls()) check('git argv', argv.join(' '));
  for (const trace of scan.observer.traces()) check(trace.name, trace.text);
  const roots = [scan.result.dirs.agentRoot, scan.observer.tmp, ...(scan.roots ?? [])];
  for (const file of filesContaining(roots, forms)) findings.push(`file left behind: ${file}`);
  for (const r of scan.h.emu.devops.requests.slice(scan.requestsFrom.devops)) {
    check(`request ${r.method} ${r.path}`, JSON.stringify({ path: r.path, query: r.query, headers: r.headers, body: r.body }));
  }
  for (const r of scan.h.emu.identity.requests.slice(scan.requestsFrom.identity)) check(`identity request ${r.path}`, JSON.stringify(r));
  for (const [name, v] of scan.result.variables) if (!v.secret) check(`variable ${name}`, v.value);
  for (const step of scan.result.steps) {
    if (!isTaskStep(step) || !/^Identity source: /m.test(step.raw)) continue;
    const registered = registeredSecrets(step.commands);
    const covered = scan.tokens.some((t) => formsToRegister(t).every((f) => registered.has(f)));
    if (!covered) findings.push(`'${step.displayName}' obtained a token but did not register every form of it as a secret`);
  }
  return findings;
}

/** Counts of what a scan looked at, so a test can show it was not vacuous. */
export function scanned(scan: LeakScan): { steps: number; gitCalls: number; execs: number; requests: number } {
  return {
    steps: scan.result.steps.length,
    gitCalls: scan.observer.gitCalls().length,
    execs: scan.observer.execs().length,
    requests: scan.h.emu.devops.requests.length - scan.requestsFrom.devops,
  };
}
