/** Where library code writes what it has to say; pipeline.ts and the credential helper provide one. */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

const MARKER = '##vso[';
const NEUTRALIZED = '##_vso[';
/**
 * The start of the agent's formatting prefixes: ##[error], ##[warning], ##[section], ##[command], ##[debug]
 * (azure-pipelines-agent src/Agent.Worker/ExecutionContext.cs, WellKnownTags) and ##[group] / ##[endgroup]
 * (JobExtension.cs; src/Microsoft.VisualStudio.Services.Agent/Logging.cs opens and closes a group when either
 * appears anywhere in a line). At the start of a line the web console shows them as the agent's own error,
 * warning, section or command lines.
 */
const FORMAT = '##[';
const FORMAT_NEUTRALIZED = '##_[';

/**
 * Neutralizes `##vso[` markers and `##[` formatting prefixes, so text from servers, git or inputs can never
 * become a logging command (the agent finds the marker anywhere in a line) nor pass for the agent's own error,
 * warning, section, command or group lines. For `##vso[` the output is task-lib's filterExternalOutput with
 * commands disabled, and `##[` becomes `##_[` the same way (test/unit/log.test.ts proves both); task-lib's module
 * is not imported here because it prints debug lines to stdout when loaded, which would corrupt the credential
 * helper's answer to git.
 */
export function neutralize(text: string): string {
  const commands = text.includes(MARKER) ? text.split(MARKER).join(NEUTRALIZED) : text;
  return commands.includes(FORMAT) ? commands.split(FORMAT).join(FORMAT_NEUTRALIZED) : commands;
}
