/**
 * Every failure a user can act on is a TaskError: a message that says what failed (with the value)
 * and a hint that says what to do. Only `runTask` in agent/pipeline.ts reports them.
 */
export const TROUBLESHOOTING_URL =
  'https://marketplace.visualstudio.com/items?itemName=managed-identity-ado.managed-identity-azure-devops#troubleshooting';

export class TaskError extends Error {
  override name = 'TaskError';
  constructor(
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An input value that cannot be used. The message names the input, the value and the accepted form. */
export class InputError extends TaskError {
  override name = 'InputError';
  constructor(input: string, value: string, accepted: string) {
    super(`Input '${input}' ${accepted} (got '${printable(value)}').`);
  }
}

/** The managed identity could not be used to obtain a token. */
export class IdentityError extends TaskError {
  override name = 'IdentityError';
}

/** Azure DevOps refused or failed a request. */
export class DevOpsError extends TaskError {
  override name = 'DevOpsError';
  constructor(
    message: string,
    hint: string | undefined,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, hint, options);
  }
}

/** A git command failed. */
export class GitError extends TaskError {
  override name = 'GitError';
  constructor(
    message: string,
    hint: string | undefined,
    readonly exitCode: number | null,
    /** What git wrote on stderr (its last 32-64 KB), for callers that explain a failure better. */
    readonly stderr = '',
  ) {
    super(message, hint);
  }
}

/** Makes control characters visible so an input value cannot break a log line or a logging command. */
export function printable(value: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const shown = value.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return shown.length > max ? `${shown.slice(0, max)}…` : shown;
}
