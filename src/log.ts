import { filterExternalOutput } from 'azure-pipelines-task-lib/externaloutput';

/** Where library code writes what it has to say; pipeline.ts and the credential helper provide one. */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/**
 * Neutralizes `##vso[` markers (task-lib's external-output filter turns them into `##_vso[`), so
 * text from servers, git or inputs can never become a logging command.
 */
export function neutralize(text: string): string {
  return filterExternalOutput(text, { source: 'remote' }).toString('utf8');
}

/** A Log that drops everything; for callers that have nowhere to write. */
export const silentLog: Log = { info: () => undefined, warn: () => undefined, debug: () => undefined };
