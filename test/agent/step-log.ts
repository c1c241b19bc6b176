// The per-step log as the pipeline UI shows it. Like ExecutionContext.Write, every message is
// masked together with its tag, then appended to the step log and to the job log.
import type { SecretMasker } from './masker';

/** Where masked lines go besides the step: the job log and an optional live stream. */
export interface LogSink {
  readonly masker: SecretMasker;
  readonly jobLines: string[];
  readonly echo?: NodeJS.WritableStream;
  readonly debug: () => boolean;
}

/** Tags the agent prefixes to log lines (ExecutionContext WellKnownTags). */
export const TAGS = {
  section: '##[section]',
  command: '##[command]',
  error: '##[error]',
  warning: '##[warning]',
  debug: '##[debug]',
} as const;

/** Collects one step's masked log lines, errors and warnings. */
export class StepLog {
  readonly lines: string[] = [];
  readonly errors: string[] = [];
  readonly warnings: string[] = [];

  constructor(private readonly sink: LogSink) {}

  /** A plain output line from the step's process. */
  output(message: string): void {
    this.write('', message);
  }

  section(message: string): void {
    this.write(TAGS.section, message);
  }

  error(message: string): void {
    this.errors.push(this.sink.masker.mask(message));
    this.write(TAGS.error, message);
  }

  warning(message: string): void {
    this.warnings.push(this.sink.masker.mask(message));
    this.write(TAGS.warning, message);
  }

  /** Shown only when System.Debug is true, as the agent does. */
  debug(message: string): void {
    if (this.sink.debug()) this.write(TAGS.debug, message);
  }

  private write(tag: string, message: string): void {
    for (const line of this.sink.masker.mask(tag + message).split('\n')) {
      this.lines.push(line);
      this.sink.jobLines.push(line);
      this.sink.echo?.write(line + '\n');
    }
  }
}
