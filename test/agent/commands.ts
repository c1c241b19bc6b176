// Logging-command processing, after agent src/Agent.Worker/WorkerCommandManager.cs and
// TaskCommandExtension.cs. A command that throws is reported as two errors and fails the step
// (CommandResult = Failed), exactly like the agent.
import path from 'node:path';
import { existsSync } from 'node:fs';
import type { SecretMasker } from './masker';
import { mergeResults, parseAgentResult, type AgentResult } from './results';
import { isCommandAllowed, isSetVariableAllowed } from './restrictions';
import type { StepLog } from './step-log';
import type { TaskRestrictions } from './task-definition';
import type { VariableStore } from './variables';
import { escapeValue, parseCommand, unescapeValue, type VsoCommand } from './vso';

const DOC_LINK = 'Please reference documentation (http://go.microsoft.com/fwlink/?LinkId=817296)';
const READ_ONLY_DOC = 'See https://github.com/microsoft/azure-pipelines-yaml/blob/master/design/readonly-variables.md for details.';

/** Job-wide state that commands change. */
export interface CommandJob {
  readonly variables: VariableStore;
  readonly masker: SecretMasker;
  readonly prependPath: string[];
  /** An agent knob: job variable first, then the agent's environment. */
  knob(name: string): string | undefined;
}

/** What one running step exposes to the commands it prints. */
export interface CommandContext {
  readonly job: CommandJob;
  readonly log: StepLog;
  readonly taskVariables: VariableStore;
  readonly restrictions: readonly TaskRestrictions[];
  readonly outputVariables: ReadonlySet<string>;
  readonly refName: string;
  readonly workingDirectory: string;
  readonly commands: VsoCommand[];
  readonly summaries: string[];
  result?: AgentResult;
  commandResult?: AgentResult;
  forceComplete(): void;
}

type Handler = (ctx: CommandContext, command: VsoCommand) => void;

/** Handle one output line. Returns false when the line is ordinary output to be logged. */
export function processLine(ctx: CommandContext, line: string): boolean {
  const command = parseCommand(line);
  if (command === undefined) {
    if (line.includes('##vso')) {
      ctx.log.warning(`'${line}' contains logging command keyword '##vso', but it's not a legal command. Please see the list of accepted commands: https://go.microsoft.com/fwlink/?LinkId=817296`);
    }
    return false;
  }
  ctx.commands.push(command);
  const area = AREAS[command.area.toLowerCase()];
  if (area === undefined) {
    ctx.log.warning(`Cannot find command extension for ##vso[${command.area}.command]. ${DOC_LINK}`);
    return true;
  }
  try {
    const handler = area[command.event.toLowerCase()];
    if (handler === undefined) {
      const areaName = command.area.toLowerCase();
      throw new Error(`##vso[${areaName}.${command.event}] is not a recognized command for ${areaName} command extension. ${DOC_LINK}.`);
    }
    if (isCommandAllowed(ctx.restrictions, command.area, command.event)) handler(ctx, command);
    else ctx.log.warning(`##vso[${command.area}.${command.event}] is not allowed in this step due to policy restrictions. ${DOC_LINK}`);
  } catch (error) {
    ctx.log.error(`Unable to process command '${line}' successfully. ${DOC_LINK}`);
    ctx.log.error((error as Error).message);
    ctx.commandResult = mergeResults(ctx.commandResult, 'Failed');
  } finally {
    const isDebug = command.area.toLowerCase() === 'task' && command.event.toLowerCase() === 'debug';
    if (!isDebug) ctx.log.debug(`Processed: ${unescapeValue(line)}`);
  }
  return true;
}

// .NET's ArgumentNullException(paramName) message, which the agent builds from a localized string.
function argumentNull(message: string): Error {
  return new Error(`Value cannot be null. (Parameter '${message}')`);
}

// Boolean.TryParse; anything else is false.
function flag(command: VsoCommand, key: string): boolean {
  return command.properties[key]?.trim().toLowerCase() === 'true';
}

function addSecret(ctx: CommandContext, value: string): void {
  if (value.length > 0) ctx.job.masker.addValue(value);
}

function assertSingleLineSecret(ctx: CommandContext, data: string): void {
  const allowMultiline = ctx.job.knob('SYSTEM_UNSAFEALLOWMULTILINESECRET')?.toLowerCase() === 'true';
  if (data.includes(process.platform === 'win32' ? '\r\n' : '\n') && !allowMultiline) {
    throw new Error('Secrets cannot contain multiple lines');
  }
}

function checkReadOnly(ctx: CommandContext, store: VariableStore, name: string, kind: 'variable' | 'task variable'): void {
  if (!store.isReadOnly(name)) return;
  // Variables.Read_Only_Variables reads the job variable only (not the agent's environment), false when absent.
  if (ctx.job.variables.get('agent.readOnlyVariables')?.trim().toLowerCase() === 'true') {
    throw new Error(`Overwriting readonly ${kind} '${name}' is not permitted. ${READ_ONLY_DOC}`);
  }
  ctx.log.warning(`Overwriting readonly ${kind} '${name}'. This behavior will be disabled in the future. ${READ_ONLY_DOC}`);
}

function checkSettable(ctx: CommandContext, name: string): boolean {
  if (isSetVariableAllowed(ctx.restrictions, name)) return true;
  ctx.log.warning(`Setting variable '${name}' has been disabled by the task or build definition.`);
  return false;
}

const setVariable: Handler = (ctx, command) => {
  const name = command.properties['variable'];
  if (!name) throw argumentNull("Required field 'variable' is missing in ##vso[task.setvariable] command.");
  const [secret, isOutput, readOnly] = [flag(command, 'issecret'), flag(command, 'isoutput'), flag(command, 'isreadonly')];
  checkReadOnly(ctx, ctx.job.variables, name, 'variable');
  if (secret) {
    assertSingleLineSecret(ctx, command.data);
    // The agent registers the *escaped* data here; Variables.Set then adds the value itself.
    addSecret(ctx, escapeValue(command.data));
  }
  if (!checkSettable(ctx, name)) return;
  const preserveCase = flag(command, 'preservecase');
  // ExecutionContext.SetVariable: output variables exist only as <refName>.<name>, read-only.
  if (isOutput || ctx.outputVariables.has(name.toLowerCase())) {
    const flags = { secret, readOnly: isOutput || readOnly, isOutput: true, preserveCase };
    ctx.job.variables.set(`${ctx.refName}.${name}`, command.data, flags);
  } else {
    ctx.job.variables.set(name, command.data, { secret, readOnly, preserveCase });
  }
};

const setTaskVariable: Handler = (ctx, command) => {
  const name = command.properties['variable'];
  if (!name) throw argumentNull("Required field 'variable' is missing in ##vso[task.settaskvariable] command.");
  const secret = flag(command, 'issecret');
  checkReadOnly(ctx, ctx.taskVariables, name, 'task variable');
  if (secret) assertSingleLineSecret(ctx, command.data);
  ctx.taskVariables.set(name, command.data, { secret, readOnly: flag(command, 'isreadonly'), preserveCase: flag(command, 'preservecase') });
};

const prependPath: Handler = (ctx, command) => {
  if (!checkSettable(ctx, 'PATH')) return;
  if (command.data.length === 0) throw argumentNull('prependpath');
  const index = ctx.job.prependPath.indexOf(command.data);
  if (index >= 0) ctx.job.prependPath.splice(index, 1);
  ctx.job.prependPath.push(command.data);
};

const complete: Handler = (ctx, command) => {
  const result = parseAgentResult(command.properties['result']);
  if (result === undefined) throw new Error("Command doesn't have valid result value.");
  ctx.result = mergeResults(ctx.result, result);
  if (flag(command, 'done')) ctx.forceComplete();
};

const logIssue: Handler = (ctx, command) => {
  const type = command.properties['type'];
  if (type === undefined) {
    ctx.log.warning("Can't create TaskIssue from logging event.");
    return;
  }
  const message = issueMessage(ctx, command, type);
  if (type.toLowerCase() === 'error') ctx.log.error(message);
  else if (type.toLowerCase() === 'warning') ctx.log.warning(message);
  else throw new Error(`issue type ${type} is not an expected issue type.`);
};

// With sourcepath the agent formats "file(line,col): type code: message", the path made relative
// to the repository when it lies inside it (BuildJobExtension.ConvertLocalPath).
function issueMessage(ctx: CommandContext, command: VsoCommand, type: string): string {
  const source = command.properties['sourcepath'];
  if (source === undefined) return command.data;
  const sources = ctx.job.variables.get('Build.SourcesDirectory') ?? '';
  const relative = path.relative(sources, source);
  const shown = sources && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : source;
  const { linenumber = '', columnnumber = '', code = '' } = command.properties;
  return `${shown}(${linenumber},${columnnumber}): ${type} ${code}: ${command.data}`;
}

function attachmentFile(ctx: CommandContext, data: string, missing: string): string {
  if (data.length === 0) throw new Error(missing);
  const file = path.resolve(ctx.workingDirectory, data);
  if (!existsSync(file)) {
    throw argumentNull('Cannot upload task attachment file, attachment file location is not specified or attachment file does not exist on disk.');
  }
  return file;
}

const uploadSummary: Handler = (ctx, command) => {
  ctx.summaries.push(attachmentFile(ctx, command.data, 'Cannot upload summary file, summary file location is not specified.'));
};

const uploadFile: Handler = (ctx, command) => {
  attachmentFile(ctx, command.data, 'Cannot upload file because file location is not specified.');
};

const addAttachment: Handler = (ctx, command) => {
  if (!command.properties['type']) throw argumentNull("Can't add task attachment, attachment type is not provided.");
  if (!command.properties['name']) throw argumentNull("Can't add task attachment, attachment name is not provided.");
  attachmentFile(ctx, command.data, 'Cannot upload file because file location is not specified.');
};

const setEndpoint: Handler = (ctx, command) => {
  // Only the masking side effect is reproduced; this runner has no endpoints to modify.
  if (command.properties['field']?.toLowerCase() === 'authparameter') addSecret(ctx, command.data);
};

const ignore: Handler = () => undefined;

const AREAS: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
  task: {
    logissue: logIssue,
    issue: logIssue,
    setprogress: ignore,
    logdetail: ignore,
    complete,
    setsecret: (ctx, command) => addSecret(ctx, command.data),
    setvariable: setVariable,
    addattachment: addAttachment,
    debug: (ctx, command) => ctx.log.debug(command.data),
    uploadsummary: uploadSummary,
    uploadfile: uploadFile,
    settaskvariable: setTaskVariable,
    setendpoint: setEndpoint,
    prependpath: prependPath,
  },
  telemetry: { publish: ignore },
  artifact: { associate: ignore, upload: ignore },
  build: { uploadlog: ignore, uploadsummary: ignore, updatebuildnumber: ignore, addbuildtag: ignore },
  release: { updatereleasename: ignore },
  codecoverage: { publish: ignore },
  results: { publish: ignore, publishtoevidencestore: ignore },
};
