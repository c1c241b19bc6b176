/** Where library code writes what it has to say; pipeline.ts and the credential helper provide one. */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

const MARKER = '##vso[';
const NEUTRALIZED = '##_vso[';

/**
 * Neutralizes `##vso[` markers, so text from servers, git or inputs can never become a logging command
 * (the agent finds the marker anywhere in a line). Same output as task-lib's filterExternalOutput with
 * commands disabled (test/unit/log.test.ts proves it); task-lib's module is not imported here because it
 * prints debug lines to stdout when loaded, which would corrupt the credential helper's answer to git.
 */
export function neutralize(text: string): string {
  return text.includes(MARKER) ? text.split(MARKER).join(NEUTRALIZED) : text;
}
