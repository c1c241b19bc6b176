/**
 * Every failure a user can act on is a TaskError: a message that says what failed (with the value)
 * and a hint that says what to do. Only `runTask` in agent/pipeline.ts reports them.
 */
/**
 * `<publisher>.<extension id>` of the package these tasks ship in. scripts/build.ts writes it into the bundles
 * (esbuild define of MIADO_EXTENSION_ITEM) for the publisher the package is built for, so a package published
 * under another publisher links to its own Marketplace page; run from source (tests), it is vss-extension.json's.
 */
declare const MIADO_EXTENSION_ITEM: string | undefined;
export const EXTENSION_ITEM: string = typeof MIADO_EXTENSION_ITEM === 'string' ? MIADO_EXTENSION_ITEM : 'managed-identity-ado.managed-identity-azure-devops';
export const EXTENSION_PAGE = `https://marketplace.visualstudio.com/items?itemName=${EXTENSION_ITEM}`;
export const TROUBLESHOOTING_URL = `${EXTENSION_PAGE}#troubleshooting`;

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
