/**
 * The agent adapter: the only module that imports azure-pipelines-task-lib. Task-lib moves INPUT_*,
 * SECRET_* and VSTS_TASKVARIABLE_* out of process.env into its vault when first imported, and installs
 * process-wide handlers, so nothing else may import it (the credential helper must not).
 */
// First: it reads VSTS_PUBLIC_VARIABLES, which task-lib removes from the environment when it loads.
import { environmentName, variableNamed } from './public-variables';
import * as tl from 'azure-pipelines-task-lib/task';
import { compileCacheOutcome, describeCompileCache } from '../core/compile-cache';
import { TROUBLESHOOTING_URL, TaskError, printable } from '../core/errors';
import { tmpdir } from 'node:os';
import { neutralize, type Log } from '../core/log';
import { Summary } from './summary';

/** Keys of the task variables that carry state from a task's main step to its post-job step. */
export const StateKey = {
  GitSession: 'miado.gitSession',
  Feeds: 'miado.feeds',
  PersistedCredentials: 'miado.persistedCredentials',
} as const;
export type StateKey = (typeof StateKey)[keyof typeof StateKey];

export interface Pipeline extends Log {
  /** Trimmed input value; '' becomes undefined. */
  input(name: string): string | undefined;
  /** A pipeline variable such as 'System.CollectionUri'; '' becomes undefined. */
  variable(name: string): string | undefined;
  /** Masks a value in every later log line. Call before anything can print it. */
  setSecret(value: string): void;
  setVariable(name: string, value: string, options?: { secret?: boolean; isOutput?: boolean }): void;
  /**
   * A non-secret variable meant for later steps' environment (a package client's setting), written as the
   * logging command only: task-lib's setVariable would also echo the value in a debug line. `preserveCase`
   * keeps the environment name's case (agent 3.234.0 and later; older agents upper-case it, as always).
   */
  setEnvironmentVariable(name: string, value: string, options?: { preserveCase?: boolean }): void;
  saveState(key: StateKey, value: string): void;
  loadState(key: StateKey): string | undefined;
  error(message: string): void;
  /** Attaches a Markdown file to the run's summary page. */
  uploadSummary(path: string): void;
}

const line = neutralize;

const RENAME = 'Rename or remove that pipeline variable: a variable may not use the environment name of an input, a task variable or a secret.';

export function agentPipeline(): Pipeline {
  const p: Pipeline = {
    // On agents before 5.277.0 the variable's value is what the task would read, on later ones the input's.
    // Failing on every version keeps a pipeline's behaviour the same when its agents are upgraded.
    input: (name) => {
      const env = `INPUT_${environmentName(name)}`;
      const shadow = variableNamed(env);
      if (shadow !== undefined) {
        throw new TaskError(`Pipeline variable '${printable(shadow)}' has the environment name of input '${name}' (${env}): agents before 5.277 let it replace the input.`, RENAME);
      }
      return tl.getInput(name, false) || undefined;
    },
    // Task-lib reads a variable the job does not define from SECRET_<NAME>, whoever set that.
    variable: (name) => {
      const env = `SECRET_${environmentName(name)}`;
      const shadow = variableNamed(env);
      if (shadow !== undefined) {
        throw new TaskError(`Pipeline variable '${printable(shadow)}' has the environment name of the secret form of variable '${name}' (${env}): the task would read it as that variable.`, RENAME);
      }
      return tl.getVariable(name) || undefined;
    },
    setSecret: (value) => tl.setSecret(value),
    setVariable: (name, value, options = {}) => tl.setVariable(name, value, options.secret ?? false, options.isOutput ?? false),
    setEnvironmentVariable: (name, value, options = {}) =>
      tl.command('task.setvariable', { variable: name, issecret: 'false', ...(options.preserveCase ? { preservecase: 'true' } : {}) }, value),
    saveState: (key, value) => tl.setTaskVariable(key, value, false),
    // A post-job step runs even when its main step did not (agent JobExtension.cs adds it at job start with
    // always()), and then a variable named like the task variable is all it finds. The value is used all the same,
    // because when the main step did set it, it is the main step's (task variables come last in both orders);
    // what the post-job steps do with it is checked (removeSession, removePersistedCredentials).
    loadState: (key) => {
      const variable = variableNamed(`VSTS_TASKVARIABLE_${environmentName(key)}`);
      if (variable !== undefined) p.warn(`Pipeline variable '${variable}' has the environment name of this task's state ${key}; if the main step did not run, its value is checked before it is used. Rename or remove that variable.`);
      return tl.getTaskVariable(key) || undefined;
    },
    info: (message) => console.log(line(message)),
    warn: (message) => tl.warning(line(message)),
    debug: (message) => tl.debug(line(message)),
    error: (message) => tl.error(line(message)),
    uploadSummary: (path) => tl.uploadSummary(path),
  };
  return p;
}

/** The one message a failure is reported with (setResult turns it into the step's error). */
function failureMessage(err: unknown): string {
  if (err instanceof TaskError) return err.message;
  return `Unexpected error: ${err instanceof Error ? err.message : printable(String(err))}`;
}

/** After the error line: what to do (the hint), where every message is explained, and at debug level the causes or the stack. */
function explainFailure(p: Pipeline, err: unknown): void {
  if (err instanceof TaskError) {
    if (err.hint) p.info(`Hint: ${err.hint}`);
    p.info(`Troubleshooting: ${TROUBLESHOOTING_URL}`);
    for (let cause = err.cause; cause; cause = (cause as { cause?: unknown }).cause) {
      p.debug(`Caused by: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : printable(String(cause))}`);
    }
  } else if (err instanceof Error && err.stack) {
    p.debug(err.stack);
  }
}

function attachSummary(p: Pipeline, summary: Summary): void {
  if (summary.isEmpty) return;
  try {
    p.uploadSummary(summary.write(p.variable('Agent.TempDirectory') ?? tmpdir()));
  } catch (err) {
    p.debug(`Could not attach the run summary: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Runs a task's main step: the only place that fails a task. What the body put in the summary is attached
 * to the run, with the outcome. The process is ended shortly after the result is written, because an
 * identity or HTTP request abandoned at a deadline may hold the event loop.
 */
export async function runTask(title: string, body: (p: Pipeline, summary: Summary) => Promise<void>): Promise<void> {
  const p = agentPipeline();
  p.debug(describeCompileCache(compileCacheOutcome()));
  const summary = new Summary(title);
  try {
    await body(p, summary);
    summary.add('Result', 'Succeeded');
    attachSummary(p, summary);
    tl.setResult(tl.TaskResult.Succeeded, '');
  } catch (err) {
    const message = neutralize(failureMessage(err));
    summary.add('Result', `Failed: ${message}`);
    summary.addLink('Help', 'Troubleshooting', TROUBLESHOOTING_URL);
    attachSummary(p, summary);
    tl.setResult(tl.TaskResult.Failed, message);
    explainFailure(p, err);
  }
  setTimeout(() => process.exit(0), 50).unref();
}

/** Runs a post-job step: every failure becomes a warning, so cleanup never fails a job. */
export async function runCleanup(body: (p: Pipeline) => Promise<void>): Promise<void> {
  const p = agentPipeline();
  p.debug(describeCompileCache(compileCacheOutcome()));
  try {
    await body(p);
  } catch (err) {
    p.warn(`Cleanup was incomplete: ${err instanceof Error ? err.message : String(err)}`);
  }
  tl.setResult(tl.TaskResult.Succeeded, '');
  setTimeout(() => process.exit(0), 50).unref();
}

/** A Pipeline whose output variables are also shown in the run summary. */
export function withOutputsIn(p: Pipeline, summary: Summary): Pipeline {
  return {
    ...p,
    setVariable: (name, value, options = {}) => {
      if (options.isOutput && !options.secret) summary.add(name, value);
      p.setVariable(name, value, options);
    },
  };
}
