// Running one step's process the way the agent's ProcessInvoker does: stdin closed at once,
// stdout and stderr read line by line (a line ends at \n, \r\n or a lone \r, like .NET's
// StreamReader.ReadLine), and on cancellation SIGINT, then SIGTERM, then SIGKILL
// (agent src/Agent.Sdk/ProcessInvoker.cs CancelAndKillProcessTree; knobs PROCESS_SIGINT_TIMEOUT,
// PROCESS_SIGTERM_TIMEOUT default 7500 and 2500 ms).
import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/** What to run. */
export interface ProcessSpec {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

/** How to watch and stop it. */
export interface ProcessControl {
  readonly onLine: (line: string) => void;
  /** Job cancellation arrives after this many ms. */
  readonly cancelAfterMs?: number;
  /** The step times out after this many ms. */
  readonly timeoutMs?: number;
  readonly sigintTimeoutMs: number;
  readonly sigtermTimeoutMs: number;
  /** Called once when cancellation or the timeout starts stopping the process. */
  readonly onStop?: (reason: 'cancelled' | 'timedOut') => void;
  /** Resolves when `task.complete done=true` has waited its 5 s: stop reading, stop waiting. */
  readonly forceCompleted: Promise<void>;
}

/** How the process ended. */
export interface ProcessOutcome {
  readonly exitCode: number | null;
  readonly signal?: NodeJS.Signals;
  readonly raw: string;
  readonly durationMs: number;
  readonly stopReason?: 'cancelled' | 'timedOut';
  /** The step was force-completed while the process still ran; it is returned so the job can kill it. */
  readonly orphan?: ChildProcess;
  readonly spawnError?: Error;
}

/** Splits decoded text into lines across chunk boundaries. */
export class LineSplitter {
  private partial = '';
  private skipLeadingLf = false;

  push(text: string): string[] {
    let input = text;
    if (this.skipLeadingLf && input.startsWith('\n')) input = input.substring(1);
    if (input.length > 0) this.skipLeadingLf = false;
    const pieces = (this.partial + input).split(/\r\n|\n|\r/);
    this.partial = pieces.pop() ?? '';
    if (input.endsWith('\r')) this.skipLeadingLf = true;
    return pieces;
  }

  /** The last line, if the stream did not end with a newline. */
  flush(): string[] {
    const rest = this.partial;
    this.partial = '';
    return rest.length > 0 ? [rest] : [];
  }
}

/** Spawn, stream lines to control.onLine, and resolve when the process has closed its output. */
export function runProcess(spec: ProcessSpec, control: ProcessControl): Promise<ProcessOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    let raw = '';
    let settled = false;
    let stopReason: ProcessOutcome['stopReason'];
    const timers: NodeJS.Timeout[] = [];
    const settle = (outcome: Omit<ProcessOutcome, 'raw' | 'durationMs' | 'stopReason'>): void => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      resolve({ ...outcome, raw, durationMs: Math.round(performance.now() - started), stopReason });
    };

    const child = spawn(spec.file, [...spec.args], { cwd: spec.cwd, env: { ...spec.env }, stdio: 'pipe', windowsHide: true });
    child.on('error', (error) => {
      if (child.pid === undefined) settle({ exitCode: null, spawnError: error });
    });
    child.stdin.end();
    const deliver = (text: string, lines: string[]): void => {
      raw += text;
      if (!settled) lines.forEach(control.onLine);
    };
    readLines(child.stdout, deliver);
    readLines(child.stderr, deliver);
    child.on('close', (code, signal) => settle({ exitCode: code, signal: signal ?? undefined }));

    const stop = (reason: NonNullable<ProcessOutcome['stopReason']>): void => {
      if (stopReason !== undefined || child.exitCode !== null || child.signalCode !== null) return;
      stopReason = reason;
      control.onStop?.(reason);
      child.kill('SIGINT');
      timers.push(setTimeout(() => child.kill('SIGTERM'), control.sigintTimeoutMs));
      timers.push(setTimeout(() => child.kill('SIGKILL'), control.sigintTimeoutMs + control.sigtermTimeoutMs));
    };
    if (control.cancelAfterMs !== undefined) timers.push(setTimeout(() => stop('cancelled'), control.cancelAfterMs));
    if (control.timeoutMs !== undefined) timers.push(setTimeout(() => stop('timedOut'), control.timeoutMs));
    void control.forceCompleted.then(() => settle({ exitCode: null, orphan: child }));
  });
}

function readLines(stream: Readable, deliver: (text: string, lines: string[]) => void): void {
  const decoder = new StringDecoder('utf8');
  const splitter = new LineSplitter();
  stream.on('data', (chunk: Buffer) => {
    const text = decoder.write(chunk);
    deliver(text, splitter.push(text));
  });
  stream.on('end', () => {
    const text = decoder.end();
    deliver(text, [...splitter.push(text), ...splitter.flush()]);
  });
}
