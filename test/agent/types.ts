// The public shapes of the agent-like runner. See runner.ts for the entry points.
import type { StepResultName } from './results';
import type { TaskRestrictions } from './task-definition';
import type { VsoCommand } from './vso';
import type { VariableInput } from './job-variables';

/** A task step: a task folder (holding task.json) and its inputs, like `- task: X@1` in YAML. */
export interface TaskStep {
  /** Path to a task folder holding task.json. */
  task: string;
  inputs?: Record<string, string>;
  /** Step reference name (YAML `name:`), the prefix of its output variables. */
  name?: string;
  displayName?: string;
  /** YAML `env:`; values may use `$(Variable.Name)` macros, secrets included. */
  env?: Record<string, string>;
  /** Cancel the job this long after the main step starts, as the Cancel button does. */
  cancelAfterMs?: number;
  /** Extra restrictions, like YAML `target: { commands: restricted, settableVariables: [...] }`. */
  restrictions?: TaskRestrictions;
}

/** A `- script:` step (the CmdLine task): a bash script. */
export interface ScriptStep {
  /** The bash script; `$(Variable.Name)` macros are expanded before it runs, as the agent does. */
  script: string;
  /** YAML `workingDirectory:`; relative to System.DefaultWorkingDirectory (the default). */
  workingDirectory?: string;
  name?: string;
  displayName?: string;
  /** YAML `env:`; values may use `$(Variable.Name)` macros — the way to hand a secret to a script. */
  env?: Record<string, string>;
  cancelAfterMs?: number;
  restrictions?: TaskRestrictions;
}

/** One step of a job. */
export type Step = TaskStep | ScriptStep;

/** Options of runJob. */
export interface JobOptions {
  steps: Step[];
  /** Pipeline variables known at job start; they override the runner's defaults. */
  variables?: Record<string, VariableInput>;
  /** Added to the agent process environment (minimal base: PATH, HOME, LANG, TMPDIR). */
  env?: Record<string, string>;
  /** Default: a new temp directory. */
  agentRoot?: string;
  /** The agent's node20_1 binary (externals/node20_1/bin/node). Default: job.ts agentNode20(). */
  nodePath?: string;
  /**
   * The agent's node24 binary (externals/node24/bin/node). Default: $AGENT_RUNNER_NODE24 of the runner's own
   * process, which also turns on AGENT_USE_NODE24_WITH_HANDLER_DATA in the agent's environment (how `npm test`
   * runs the end-to-end suite on Node 24). Used when the knobs pick Node 24, as agent 4.266.2 does
   * (task-step.ts nodeFor); none given then fails such a step as the agent does (MissingNodePath).
   */
  node24Path?: string;
  /**
   * The agent version the runner claims (Agent.Version). It decides the order of the task environment:
   * before 5.277.0 inputs < endpoints < variables, so a variable whose environment name equals an INPUT_ or
   * ENDPOINT_ name wins; from 5.277.0 variables < inputs < endpoints (environment.ts). Default '4.266.2'.
   */
  agentVersion?: string;
  /** Fail a step that runs longer than this (the task's timeoutInMinutes). */
  stepTimeoutMs?: number;
  /** Stream the masked log while the job runs (true: process.stdout). */
  echo?: boolean | NodeJS.WritableStream;
  /** Record each task process's peak RSS (Node steps only) via a --require preload. */
  measureRss?: boolean;
  /** Keep Agent.TempDirectory's contents after the job; the agent empties it at job end. */
  keepTempDirectory?: boolean;
  /** Do not run post-job steps (a real agent always runs them); for inspecting what main left. */
  skipPostJobSteps?: boolean;
}

/** The phase a step ran in. */
export type StepPhase = 'pre' | 'main' | 'post';

/** The outcome of one step. */
export interface StepResult {
  displayName: string;
  /** The step reference name used for output variables. */
  refName: string;
  phase: StepPhase;
  result: StepResultName;
  exitCode: number | null;
  signal?: string;
  /** Exact unmasked stdout+stderr as text, in arrival order — for leak scanning. */
  raw: string;
  /** Masked lines as the pipeline log shows them. */
  log: string[];
  commands: VsoCommand[];
  errors: string[];
  warnings: string[];
  /** Absolute paths of files given to task.uploadsummary. */
  summaries: string[];
  argv: string[];
  /** The environment the process got (unmasked). */
  env: Record<string, string>;
  durationMs: number;
  peakRssKiB?: number;
}

/** A job variable after the job. */
export interface JobVariable {
  value: string;
  secret: boolean;
  isOutput: boolean;
  readOnly: boolean;
}

/** The outcome of runJob. */
export interface JobResult {
  result: Exclude<StepResultName, 'Skipped'>;
  steps: StepResult[];
  variables: ReadonlyMap<string, JobVariable>;
  /** Every value registered with the masker (job-start and runtime secrets, the system token). */
  secrets: readonly string[];
  /** The whole job's masked log. */
  log: string;
  dirs: { agentRoot: string; work: string; temp: string; tasks: string; workspace: string; sources: string; home: string };
}
