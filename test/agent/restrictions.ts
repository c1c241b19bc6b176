// task.json `restrictions`, enforced as agent src/Agent.Worker/TaskRestrictionsChecker.cs and
// TaskRestrictionsExtension.cs do: every restriction set must allow the command / variable.
import minimatch from 'minimatch';
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
 * The agent matches each allowed pattern with the .NET Minimatch package (`Minimatcher.Check(variable, pattern,
 * new Options { IgnoreCase = true })`, TaskRestrictionsExtension.cs IsSetVariableAllowed), SLaks' 2013 port of
 * JavaScript minimatch 0.2.x. minimatch 3.x, pinned in package.json (and already installed for task-lib), is the
 * maintained line of that same glob-to-RegExp translation: `*`, `?`, `[...]`, `{a,b}`, a leading `!` negates, `#`
 * starts a comment, and wildcards do not match a leading `.` (no `dot` option).
 */
export function globMatch(name: string, pattern: string): boolean {
  return minimatch(name, pattern, { nocase: true });
}
