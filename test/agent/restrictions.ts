// task.json `restrictions`, enforced as agent src/Agent.Worker/TaskRestrictionsChecker.cs and
// TaskRestrictionsExtension.cs do: every restriction set must allow the command / variable.
import type { TaskRestrictions } from './task-definition';

/** Commands marked [CommandRestriction(AllowedInRestrictedMode = true)] in the agent. */
const ALLOWED_IN_RESTRICTED_MODE = new Set([
  'task.logdetail',
  'task.logissue',
  'task.issue',
  'task.complete',
  'task.setprogress',
  'task.setsecret',
  'task.setvariable',
  'task.debug',
  'task.settaskvariable',
  'task.prependpath',
  'telemetry.publish',
]);

/** True when every restriction set allows `area.event`. */
export function isCommandAllowed(restrictions: readonly TaskRestrictions[], area: string, event: string): boolean {
  const name = `${area}.${event}`.toLowerCase();
  return restrictions.every(
    (restriction) => restriction.commands?.mode?.toLowerCase() !== 'restricted' || ALLOWED_IN_RESTRICTED_MODE.has(name),
  );
}

/** True when every restriction set lets the step set `variable` (an absent list allows all; an empty one, none). */
export function isSetVariableAllowed(restrictions: readonly TaskRestrictions[], variable: string): boolean {
  return restrictions.every((restriction) => {
    const allowed = restriction.settableVariables?.allowed;
    return allowed === undefined || allowed.some((pattern) => globMatch(variable, pattern));
  });
}

/**
 * Case-insensitive minimatch for variable names: `*`, `?`, `[...]`, `{a,b}`, a leading `!`
 * negates, and (as in minimatch without `dot`) wildcards do not match a leading `.`.
 */
export function globMatch(name: string, pattern: string): boolean {
  if (pattern.startsWith('#')) return false;
  let negate = false;
  let body = pattern;
  while (body.startsWith('!')) {
    negate = !negate;
    body = body.substring(1);
  }
  const matches = expandBraces(body).some((alternative) => {
    if (name.startsWith('.') && !alternative.startsWith('.')) return false;
    return globToRegExp(alternative).test(name);
  });
  return matches !== negate;
}

function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  const close = open < 0 ? -1 : pattern.indexOf('}', open);
  if (open < 0 || close < 0) return [pattern];
  const options = pattern.substring(open + 1, close).split(',');
  if (options.length < 2) return [pattern];
  const [head, tail] = [pattern.substring(0, open), pattern.substring(close + 1)];
  return options.flatMap((option) => expandBraces(head + option + tail));
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else if (char === '[' && pattern.indexOf(']', i + 2) > 0) {
      const end = pattern.indexOf(']', i + 2);
      const inner = pattern.substring(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
      source += `[${inner}]`;
      i = end;
    } else {
      source += char.replace(/[.+^${}()|\\\]]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 'i');
}
