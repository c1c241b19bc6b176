// The environment a step's process receives, assembled in the agent's order (later wins). Agents before
// 5.277.0 (NodeHandler.cs RunAsync at v4.266.2 lines 141-146, v4.275.0 lines 184-189):
//   agent process env < the step's `env:` mapping < inputs < endpoints < secure files < variables <
//   task variables < PATH with prepended entries < TF_BUILD,
// so a pipeline variable whose environment name (dots and spaces to '_', upper case) equals an INPUT_ or
// ENDPOINT_ name replaces that input or endpoint. 5.277.0 moved variables first (commit f7faee85a,
// "Populate task inputs, endpoints, and secure files after public variables in Node/PowerShell3 handlers",
// #5606; NodeHandler.cs lines 184-189 at v5.277.0):
//   … < the step's `env:` mapping < variables < inputs < endpoints < secure files < task variables < …
// Task variables come after variables in both, but only those the task set: a variable named like one
// (VSTS_TASKVARIABLE_*) stands in for one that was never set. Sources: agent src/Agent.Worker/TaskRunner.cs,
// Handlers/Handler.cs (Add*ToEnvironment), Handlers/NodeHandler.cs, src/Agent.Sdk/ProcessInvoker.cs.
import path from 'node:path';
import type { Variable, VariableStore } from './variables';
import { toEnvName } from './variables';

/** The system connection every task gets (ENDPOINT_*_SYSTEMVSSCONNECTION). */
export interface SystemConnection {
  readonly url: string;
  readonly accessToken: string;
}

/** Everything that goes into one task step's environment. */
export interface TaskEnvironmentParts {
  readonly agentEnv: Readonly<Record<string, string>>;
  readonly stepEnv: Readonly<Record<string, string>>;
  /** Job variables after this step's recalculation, plus the step-scoped Task.* / System.Task* ones. */
  readonly variables: readonly Variable[];
  readonly inputs: Readonly<Record<string, string>>;
  readonly connection: SystemConnection;
  readonly taskVariables: VariableStore;
  readonly prependPath: readonly string[];
  /** 'inputs-first' before agent 5.277.0, 'variables-first' since (see the header). */
  readonly order: EnvironmentOrder;
}

/** Where variables go in a task's environment: after inputs and endpoints (agents 4.x), or before them (5.277+). */
export type EnvironmentOrder = 'inputs-first' | 'variables-first';

/** Build the env for a Node handler process. */
export function buildTaskEnvironment(parts: TaskEnvironmentParts): Record<string, string> {
  const env: Record<string, string> = { ...parts.agentEnv };
  for (const [key, value] of Object.entries(parts.stepEnv)) {
    if (key.trim().length > 0) env[key.trim()] = value.trim();
  }
  if (parts.order === 'variables-first') addVariables(env, parts.variables);
  for (const [name, value] of Object.entries(parts.inputs)) env[`INPUT_${toEnvName(name)}`] = value;
  addSystemConnection(env, parts.connection);
  if (parts.order === 'inputs-first') addVariables(env, parts.variables);
  for (const variable of parts.taskVariables.list()) {
    env[`VSTS_TASKVARIABLE_${toEnvName(variable.name, variable.preserveCase)}`] = variable.value;
  }
  addPrependPath(env, parts.prependPath, parts.variables);
  env['TF_BUILD'] = 'True';
  return env;
}

function addVariables(env: Record<string, string>, variables: readonly Variable[]): void {
  const publicNames: string[] = [];
  const secretNames: string[] = [];
  for (const variable of variables) {
    if (variable.secret) {
      env[`SECRET_${toEnvName(variable.name, variable.preserveCase)}`] = variable.value;
      secretNames.push(variable.name);
      continue;
    }
    // agent.jobstatus is also exported under its raw name.
    if (variable.name.toLowerCase() === 'agent.jobstatus') env[variable.name] = variable.value;
    env[toEnvName(variable.name, variable.preserveCase)] = variable.value;
    publicNames.push(variable.name);
  }
  env['VSTS_PUBLIC_VARIABLES'] = JSON.stringify(publicNames);
  env['VSTS_SECRET_VARIABLES'] = JSON.stringify(secretNames);
}

function addSystemConnection(env: Record<string, string>, connection: SystemConnection): void {
  const id = 'SYSTEMVSSCONNECTION';
  env[`ENDPOINT_URL_${id}`] = connection.url;
  env[`ENDPOINT_AUTH_${id}`] = JSON.stringify({ parameters: { AccessToken: connection.accessToken }, scheme: 'OAuth' });
  env[`ENDPOINT_AUTH_SCHEME_${id}`] = 'OAuth';
  env[`ENDPOINT_AUTH_PARAMETER_${id}_ACCESSTOKEN`] = connection.accessToken;
}

// Handler.AddPrependPathToEnvironment: newest entry first, in front of a PATH job variable, else
// the step's PATH, else the agent's.
function addPrependPath(env: Record<string, string>, prepend: readonly string[], variables: readonly Variable[]): void {
  if (prepend.length === 0) return;
  const pathVariable = variables.find((variable) => variable.name.toLowerCase() === 'path');
  const original = pathVariable?.value ?? env['PATH'] ?? '';
  const entries = [...prepend].reverse().join(path.delimiter);
  env['PATH'] = original.length > 0 ? entries + path.delimiter + original : entries;
}

// What task-lib's _loadData removes from process.env on import (internal.ts): a script run by the
// CmdLine task inherits the task's environment without these.
const VAULTED_PREFIXES = ['INPUT_', 'ENDPOINT_AUTH_', 'SECUREFILE_TICKET_', 'SECRET_', 'VSTS_TASKVARIABLE_'];

/** The environment a script sees: the CmdLine task's env after task-lib vaulted its secrets. */
export function toScriptEnvironment(taskEnv: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(taskEnv)) {
    const vaulted = VAULTED_PREFIXES.some((prefix) => key.startsWith(prefix)) && value.length > 0;
    if (!vaulted) env[key] = value;
  }
  delete env['VSTS_PUBLIC_VARIABLES'];
  delete env['VSTS_SECRET_VARIABLES'];
  return env;
}
