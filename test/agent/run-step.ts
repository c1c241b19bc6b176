// Running one step: the part shared by task phases and scripts, after agent
// src/Agent.Worker/StepsRunner.cs (RunStepAsync) and Handlers/NodeHandler.cs (OnDataReceived).
import type { ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import type { AgentDirs } from './agent-root';
import { processLine, type CommandContext, type CommandJob } from './commands';
import type { EnvironmentOrder, SystemConnection } from './environment';
import { mergeResults, toResultName, type AgentResult } from './results';
import { StepLog, type LogSink } from './step-log';
import { runProcess, type ProcessOutcome } from './step-process';
import type { TaskDefinition, TaskRestrictions } from './task-definition';
import type { Step, StepPhase, StepResult } from './types';
import type { VariableStore } from './variables';

/** Job-wide state shared by all steps. */
export interface JobContext extends CommandJob {
  readonly dirs: AgentDirs;
  readonly agentEnv: Readonly<Record<string, string>>;
  readonly connection: SystemConnection;
  readonly sink: LogSink;
  /** The agent's node20_1 binary. */
  readonly nodePath: string;
  /** The agent's node24 binary, when it has one. */
  readonly node24Path?: string;
  /** Where variables go in a task's environment (environment.ts), from the claimed agent version. */
  readonly environmentOrder: EnvironmentOrder;
  readonly stepTimeoutMs?: number;
  readonly measureRss: boolean;
  readonly orphans: ChildProcess[];
  cancelled: boolean;
}

/** One step of the job with what its phases share (the task-variable bag, the reference name). */
export interface StepInstance {
  readonly step: Step;
  readonly id: string;
  readonly refName: string;
  readonly displayName: string;
  readonly definition?: TaskDefinition;
  readonly taskVariables: VariableStore;
}

/** A prepared process plus how to read its exit, or an error message that fails the step. */
export interface Launch {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly rssFile?: string;
  readonly outputVariables: ReadonlySet<string>;
  readonly restrictions: readonly TaskRestrictions[];
  /** Interpret a normal exit (neither cancelled, timed out nor force-completed). */
  readonly finish: (outcome: ProcessOutcome, ctx: CommandContext) => void;
}

/** Run one prepared step and report it. `prepare` returns a Launch or a message that fails the step. */
export async function executeStep(
  job: JobContext,
  instance: StepInstance,
  phase: StepPhase,
  displayName: string,
  prepare: (log: StepLog) => Promise<Launch | string>,
): Promise<StepResult> {
  const log = new StepLog(job.sink);
  log.section(`Starting: ${displayName}`);
  const launch = await prepare(log).catch((error: Error) => error.message);
  const ctx = commandContext(job, instance, log, launch);
  let outcome: ProcessOutcome | undefined;
  if (typeof launch === 'string') {
    log.error(launch);
    ctx.result = 'Failed';
  } else {
    outcome = await runLaunch(job, instance, phase, launch, ctx);
  }
  if (ctx.commandResult !== undefined) ctx.result = mergeResults(ctx.result, ctx.commandResult);
  log.section(`Finishing: ${displayName}`);
  return {
    displayName,
    refName: instance.refName,
    phase,
    result: toResultName(ctx.result ?? 'Succeeded'),
    exitCode: outcome?.exitCode ?? null,
    ...(outcome?.signal === undefined ? {} : { signal: outcome.signal }),
    raw: outcome?.raw ?? '',
    log: log.lines,
    commands: ctx.commands,
    errors: log.errors,
    warnings: log.warnings,
    summaries: ctx.summaries,
    argv: typeof launch === 'string' ? [] : [launch.file, ...launch.args],
    env: typeof launch === 'string' ? {} : { ...launch.env },
    durationMs: outcome?.durationMs ?? 0,
    ...(typeof launch === 'string' ? {} : await readPeakRss(launch)),
  };
}

function commandContext(job: JobContext, instance: StepInstance, log: StepLog, launch: Launch | string): CommandContext & { forced: Promise<void> } {
  let release: () => void = () => undefined;
  const forced = new Promise<void>((resolve) => (release = resolve));
  let forcing = false;
  return {
    job,
    log,
    taskVariables: instance.taskVariables,
    restrictions: typeof launch === 'string' ? [] : launch.restrictions,
    outputVariables: typeof launch === 'string' ? new Set() : launch.outputVariables,
    refName: instance.refName,
    workingDirectory: typeof launch === 'string' ? job.dirs.sources : launch.cwd,
    commands: [],
    summaries: [],
    forced,
    // ExecutionContext.ForceTaskComplete: the agent stops waiting 5 s after `done=true`.
    forceComplete: () => {
      if (!forcing) setTimeout(release, 5000).unref();
      forcing = true;
    },
  };
}

async function runLaunch(
  job: JobContext,
  instance: StepInstance,
  phase: StepPhase,
  launch: Launch,
  ctx: CommandContext & { forced: Promise<void> },
): Promise<ProcessOutcome> {
  const knobMs = (name: string, fallback: number): number => Number(job.knob(name) ?? fallback) || fallback;
  const outcome = await runProcess(launch, {
    onLine: (line) => {
      if (!processLine(ctx, line)) ctx.log.output(line);
    },
    cancelAfterMs: phase === 'main' ? instance.step.cancelAfterMs : undefined,
    timeoutMs: job.stepTimeoutMs,
    sigintTimeoutMs: knobMs('PROCESS_SIGINT_TIMEOUT', 7500),
    sigtermTimeoutMs: knobMs('PROCESS_SIGTERM_TIMEOUT', 2500),
    onStop: (reason) => {
      if (reason !== 'cancelled') return;
      job.cancelled = true;
      ctx.log.error('The Operation will be canceled. The next steps may not contain expected logs.');
    },
    forceCompleted: ctx.forced,
  });
  readExit(outcome, launch, ctx);
  if (outcome.orphan !== undefined) job.orphans.push(outcome.orphan);
  return outcome;
}

function readExit(outcome: ProcessOutcome, launch: Launch, ctx: CommandContext): void {
  if (outcome.spawnError !== undefined) {
    ctx.log.error(outcome.spawnError.message);
    ctx.result = 'Failed';
  } else if (outcome.stopReason === 'timedOut') {
    ctx.log.error('The task has timed out.');
    ctx.result = 'Failed';
  } else if (outcome.stopReason === 'cancelled') {
    ctx.log.error('The operation was canceled.');
    ctx.result = 'Canceled' satisfies AgentResult;
  } else if (outcome.orphan !== undefined) {
    ctx.log.debug('The task was marked as "done", but the process has not closed after 5 seconds. Treating the task as complete.');
  } else {
    launch.finish(outcome, ctx);
  }
}

async function readPeakRss(launch: Launch): Promise<{ peakRssKiB?: number }> {
  if (launch.rssFile === undefined) return {};
  try {
    const value = Number.parseInt(await readFile(launch.rssFile, 'utf8'), 10);
    return Number.isFinite(value) ? { peakRssKiB: value } : {};
  } catch {
    return {}; // killed before its exit handler ran
  } finally {
    await rm(launch.rssFile, { force: true });
  }
}
