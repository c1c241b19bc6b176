// Preparing one phase of a task step the way agent src/Agent.Worker/TaskRunner.cs and
// Handlers/NodeHandler.cs do: defaults from task.json, trimmed and macro-expanded inputs,
// rooted filePath inputs, the handler's target resolved in the task folder, cwd =
// System.DefaultWorkingDirectory, then `node "<target>"`.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { buildTaskEnvironment } from './environment';
import type { JobContext, Launch, StepInstance } from './run-step';
import type { StepLog } from './step-log';
import { chooseHandler, type Phase, type TaskDefinition } from './task-definition';
import type { TaskStep } from './types';
import { replaceMacros, type Variable } from './variables';

/** Where the RSS preload lives; it is loaded with `node --require`, never bundled into a task. */
export const RSS_PROBE = path.join(__dirname, 'rss-probe.js');
/** The env var that tells the preload where to write maxRSS. */
export const RSS_FILE_ENV = 'AGENT_RUNNER_RSS_FILE';

/** Prepare the process for one phase of a task step, or return why it cannot run. */
export async function prepareTaskLaunch(job: JobContext, instance: StepInstance, phase: Phase, log: StepLog): Promise<Launch | string> {
  const definition = instance.definition as TaskDefinition;
  const step = instance.step as TaskStep;
  printTaskMetadata(log, definition);
  const choice = chooseHandler(definition, phase);
  if (!choice.ok) return choice.message;

  const variables = [...job.variables.expanded(), ...scopeVariables(instance)];
  const source = new Map(variables.map((variable) => [variable.name.toLowerCase(), variable.value]));
  const inputs = resolveInputs(definition, step.inputs ?? {}, source, job.variables.get('System.DefaultWorkingDirectory'));
  const expand = handlerExpander(definition, inputs, source);
  const target = path.resolve(definition.directory, expand(choice.data.target ?? ''));
  if (!choice.data.target || !existsSync(target)) return `File not found: '${target}'`;
  const cwd = choice.data.workingDirectory
    ? expand(choice.data.workingDirectory)
    : (job.variables.get('System.DefaultWorkingDirectory') ?? job.dirs.work);

  const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([key, value]) => [key, job.variables.expand(value, source)]));
  const env = buildTaskEnvironment({
    agentEnv: job.agentEnv,
    stepEnv,
    variables,
    inputs,
    connection: job.connection,
    taskVariables: instance.taskVariables,
    prependPath: job.prependPath,
    order: job.environmentOrder,
  });
  const node = nodeFor(job, choice.handler);
  if (!node.ok) return node.message;
  log.debug(`Using node path: ${node.path}`);
  const rssFile = job.measureRss ? path.join(os.tmpdir(), `agent-runner-rss-${randomUUID()}`) : undefined;
  if (rssFile !== undefined) env[RSS_FILE_ENV] = rssFile;
  return {
    file: node.path,
    args: rssFile === undefined ? [target] : ['--require', RSS_PROBE, target],
    cwd,
    env,
    ...(rssFile === undefined ? {} : { rssFile }),
    outputVariables: new Set(definition.outputVariables.map((name) => name.toLowerCase())),
    restrictions: [definition.restrictions, step.restrictions].filter((r) => r !== undefined),
    finish: failOnExitCode(node.path, target),
  };
}

// KnobValue.AsBoolean → StringUtil.ConvertToBoolean: '1', 'true', '$true' (any case); anything else is false.
const isOn = (value: string | undefined): boolean => ['1', 'true', '$true'].includes(value?.toLowerCase() ?? '');

/**
 * The Node binary agent 4.266.2 runs a Node handler with (NodeHandler.cs GetNodeLocation, lines 365-425 at
 * v4.266.2; 5.277.0 keeps this as GetNodeLocationLegacy): node20_1 by default, also for a Node24 entry; node24 for a
 * Node24 entry when knob UseNode24withHandlerData is on, and for every Node task when UseNode24 is on (UseNode20_1
 * forces node20_1 back when UseNode24 is off). Each knob is a pipeline variable (RuntimeKnobSource), then the agent's
 * environment (EnvironmentKnobSource): AGENT_USE_NODE24_WITH_HANDLER_DATA, AGENT_USE_NODE24, AGENT_USE_NODE20_1
 * (Agent.Sdk/Knob/AgentKnobs.cs); their pipeline feature flags are not modelled. The glibc fallback to
 * node20_1 is not modelled either. A missing binary fails the step with the agent's MissingNodePath message.
 */
export function nodeFor(job: Pick<JobContext, 'knob' | 'nodePath' | 'node24Path' | 'dirs'>, handler: string): { ok: true; path: string } | { ok: false; message: string } {
  let folder: 'node20_1' | 'node24' = handler === 'Node24' && isOn(job.knob('AGENT_USE_NODE24_WITH_HANDLER_DATA')) ? 'node24' : 'node20_1';
  if (isOn(job.knob('AGENT_USE_NODE24'))) folder = 'node24';
  else if (isOn(job.knob('AGENT_USE_NODE20_1'))) folder = 'node20_1';
  const found = folder === 'node24' ? job.node24Path : job.nodePath;
  if (found !== undefined) return { ok: true, path: found };
  // agent strings.json MissingNodePath, with the path GetNodeFolderPath builds: externals/<folder>/bin/node.
  const expected = path.join(job.dirs.agentRoot, 'externals', folder, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  return { ok: false, message: `This step requires a node version that does not exist in the agent filesystem. Path: ${expected}` };
}

// NodeHandler requires exit code 0; ProcessInvoker reports others (a signal as 128 + its number).
function failOnExitCode(nodePath: string, target: string): Launch['finish'] {
  return (outcome, ctx) => {
    if (outcome.exitCode === 0) return;
    const code = outcome.exitCode ?? 128 + (os.constants.signals[outcome.signal ?? 'SIGKILL'] ?? 9);
    ctx.log.error(`Exit code ${code} returned from process: file name '${nodePath}', arguments '"${target}"'.`);
    ctx.result = 'Failed';
  };
}

// HandlerData.ReplaceMacros ($(currentDirectory) = the task folder), then the task's inputs, then
// job variables: how the agent expands `target` and `workingDirectory`.
function handlerExpander(definition: TaskDefinition, inputs: Record<string, string>, variables: ReadonlyMap<string, string>): (value: string) => string {
  const byName = new Map(Object.entries(inputs).map(([name, value]) => [name.toLowerCase(), value]));
  byName.set('currentdirectory', definition.directory);
  return (value) => replaceMacros(replaceMacros(value, (name) => byName.get(name.toLowerCase())), (name) => variables.get(name.toLowerCase()));
}

// TaskRunner sets these in a variable scope for the duration of the step.
export function scopeVariables(instance: StepInstance): Variable[] {
  const values: Record<string, string> = {
    'Task.DisplayName': instance.displayName,
    'Task.SkipTranslatorForCheckout': 'False',
    'Task.PublishTelemetry': 'True',
    'System.TaskInstanceId': instance.id,
    'System.TaskDisplayName': instance.displayName,
    'System.TaskInstanceName': instance.refName,
  };
  return Object.entries(values).map(([name, value]) => ({ name, value, secret: false, readOnly: true, isOutput: false, preserveCase: false }));
}

/** task.json defaults, then the step's inputs (keys and values trimmed), `$(var)` expanded, filePath rooted. */
export function resolveInputs(
  definition: TaskDefinition,
  given: Readonly<Record<string, string>>,
  variables: ReadonlyMap<string, string>,
  defaultRoot: string | undefined,
): Record<string, string> {
  const inputs = new Map<string, [string, string]>();
  for (const input of definition.inputs) if (input.name) inputs.set(input.name.toLowerCase(), [input.name, input.defaultValue]);
  for (const [key, value] of Object.entries(given)) {
    const name = key.trim();
    if (!name) continue;
    const declared = inputs.get(name.toLowerCase())?.[0] ?? name;
    inputs.set(name.toLowerCase(), [declared, value.trim()]);
  }
  const result: Record<string, string> = {};
  for (const [name, value] of inputs.values()) result[name] = replaceMacros(value, (key) => variables.get(key.toLowerCase()));
  for (const input of definition.inputs) {
    if (input.type.toLowerCase() === 'filepath' && input.name in result) {
      result[input.name] = rootFilePath(result[input.name] ?? '', defaultRoot);
    }
  }
  return result;
}

// TaskRunner.TranslateFilePathInput + BuildJobExtension.GetRootedPath: relative (and empty) paths
// are joined to the sources directory.
function rootFilePath(value: string, defaultRoot: string | undefined): string {
  if (value && path.isAbsolute(value)) return path.resolve(value);
  return defaultRoot === undefined ? value : path.join(defaultRoot, value);
}

function printTaskMetadata(log: StepLog, definition: TaskDefinition): void {
  const rule = '='.repeat(78);
  log.output(rule);
  log.output(`Task         : ${definition.friendlyName}`);
  log.output(`Description  : ${definition.description}`);
  log.output(`Version      : ${definition.version}`);
  log.output(`Author       : ${definition.author}`);
  log.output(`Help         : ${definition.help}`);
  log.output(rule);
}
