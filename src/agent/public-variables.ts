/**
 * Pipeline variables whose environment name is one the agent uses to hand a task something else.
 *
 * The agent gives a task each public variable as an environment variable (dots and spaces become '_', upper
 * case) and lists their names in VSTS_PUBLIC_VARIABLES; inputs arrive as INPUT_<NAME>, task variables as
 * VSTS_TASKVARIABLE_<NAME>, secret variables as SECRET_<NAME>. A variable named `INPUT_COMMAND` or
 * `input.command` therefore lands on the input's name. Agents before 5.277.0 add variables after inputs and
 * endpoints, so it replaces the input (azure-pipelines-agent src/Agent.Worker/Handlers/NodeHandler.cs lines
 * 141-146 at v4.266.2; reversed by commit f7faee85a, in 5.277.0). On every version a variable named like a task
 * variable stands in for one the task never set, and one named SECRET_<NAME> is what task-lib returns for a
 * variable <NAME> the job does not define (task-lib internal.js _loadData records any SECRET_* as a secret
 * variable, and _getVariable prefers the vault for those).
 *
 * Task-lib deletes VSTS_PUBLIC_VARIABLES from the environment when it loads, so this module reads it first:
 * agent/pipeline.ts imports it before azure-pipelines-task-lib.
 */
const PUBLIC_NAMES: readonly string[] = parseNames(process.env['VSTS_PUBLIC_VARIABLES']);

function parseNames(text: string | undefined): string[] {
  try {
    const names: unknown = JSON.parse(text || '[]');
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

/** The environment name the agent and task-lib give a variable, input or task variable name (task-lib _getVariableKey). */
export function environmentName(name: string): string {
  return name.replace(/\./g, '_').replace(/ /g, '_').toUpperCase();
}

/**
 * The public variable whose environment name is `envName`, if any. Compared without case: the agent upper-cases
 * every name except those set with preservecase, and Windows environment names ignore case anyway.
 */
export function variableNamed(envName: string, names: readonly string[] = PUBLIC_NAMES): string | undefined {
  const wanted = envName.toUpperCase();
  return names.find((name) => environmentName(name) === wanted);
}
