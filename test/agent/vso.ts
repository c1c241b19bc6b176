// Logging-command syntax, reproduced from the agent's parser so tests see exactly what a real
// agent would: agent src/Microsoft.VisualStudio.Services.Agent/Command.cs (TryParse) and
// src/Agent.Sdk/CommandStringConvertor.cs (escaping), with DECODE_PERCENTS at its default (true).

/** The marker the agent looks for anywhere in an output line (it uses IndexOf, not StartsWith). */
export const COMMAND_PREFIX = '##vso[';

/** One parsed `##vso[area.event key=value;...]data` line. Property keys are lower-cased. */
export interface VsoCommand {
  area: string;
  event: string;
  properties: Record<string, string>;
  data: string;
  raw: string;
}

// Order matters: the agent unescapes these four first, then %AZP25.
const SPECIAL_SYMBOLS: ReadonlyArray<readonly [token: string, replacement: string]> = [
  [';', '%3B'],
  ['\r', '%0D'],
  ['\n', '%0A'],
  [']', '%5D'],
];

/** Undo the agent's escaping, applied to both property values and data. */
export function unescapeValue(escaped: string): string {
  let value = escaped;
  for (const [token, replacement] of SPECIAL_SYMBOLS) value = value.split(replacement).join(token);
  return value.split('%AZP25').join('%');
}

/** The agent's own escape (CommandStringConvertor.Escape): used when it registers a secret. */
export function escapeValue(value: string): string {
  let escaped = value.split('%').join('%AZP25');
  for (const [token, replacement] of SPECIAL_SYMBOLS) escaped = escaped.split(token).join(replacement);
  return escaped;
}

/** task-lib's escaping of a property value (taskcommand.ts). */
export function escapeProperty(value: string): string {
  return value
    .replace(/%/g, '%AZP25')
    .replace(/\r/g, '%0D')
    .replace(/\n/g, '%0A')
    .replace(/]/g, '%5D')
    .replace(/;/g, '%3B');
}

/** task-lib's escaping of command data (taskcommand.ts): only %, CR and LF. */
export function escapeData(value: string): string {
  return value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Build a command line the way task-lib does; properties with empty values are omitted. */
export function formatCommand(name: string, properties: Record<string, string | undefined> = {}, data = ''): string {
  const pairs = Object.entries(properties)
    .filter((entry): entry is [string, string] => Boolean(entry[1]))
    .map(([key, value]) => `${key}=${escapeProperty(value)}`);
  return `${COMMAND_PREFIX}${name}${pairs.length > 0 ? ' ' + pairs.join(';') : ''}]${escapeData(data)}`;
}

/**
 * Parse one output line. Returns undefined when the line is not a well-formed command, exactly
 * where the agent's Command.TryParse returns false (no marker, no `]`, not `area.event`).
 */
export function parseCommand(line: string): VsoCommand | undefined {
  const prefixIndex = line.indexOf(COMMAND_PREFIX);
  if (prefixIndex < 0) return undefined;
  const bracketIndex = line.indexOf(']', prefixIndex);
  if (bracketIndex < 0) return undefined;

  const info = line.substring(prefixIndex + COMMAND_PREFIX.length, bracketIndex);
  const spaceIndex = info.indexOf(' ');
  const name = spaceIndex < 0 ? info : info.substring(0, spaceIndex);
  const areaEvent = name.split('.').filter((part) => part.length > 0);
  if (areaEvent.length !== 2) return undefined;

  const properties: Record<string, string> = {};
  if (spaceIndex > 0) {
    for (const pair of info.substring(spaceIndex + 1).split(';')) {
      const equals = pair.indexOf('=');
      const key = equals < 0 ? '' : pair.substring(0, equals);
      const value = equals < 0 ? '' : pair.substring(equals + 1);
      // Keys are not trimmed and are case-insensitive; a pair without a value is dropped.
      if (key.length > 0 && value.length > 0) properties[key.toLowerCase()] = unescapeValue(value);
    }
  }
  const [area, event] = areaEvent as [string, string];
  return { area, event, properties, data: unescapeValue(line.substring(bracketIndex + 1)), raw: line };
}
