// One job, in the agent's order (agent src/Agent.Worker/JobExtension.cs, StepsRunner.cs):
// pre-job steps in task order, main steps, then post-job steps in reverse task order. Pre and
// main steps run only while the job is succeeding and not cancelled (succeeded()); post-job
// steps always run. Each task instance keeps one task-variable bag across its phases.
import { randomUUID } from 'node:crypto';
import { emptyDirectory, prepareAgentRoot } from './agent-root';
import { AGENT_VERSION, VARIABLES_FIRST_SINCE, agentEnvironment, createJobVariables, dummySystemToken, versionAtLeast } from './job-variables';
import { SecretMasker } from './masker';
import { newProcessLookupId, PROCESS_LOOKUP_ID, terminateOrphans } from './orphans';
import { mergeResults, toResultName, type AgentResult } from './results';
import { executeStep, type JobContext, type StepInstance } from './run-step';
import { prepareScriptLaunch } from './script-step';
import { StepLog } from './step-log';
import { loadTaskDefinition, type Phase } from './task-definition';
import { prepareTaskLaunch } from './task-step';
import type { JobOptions, JobResult, JobVariable, Step, StepResult, TaskStep } from './types';
import { VariableStore } from './variables';

/** True for a task step, false for a script step. */
export function isTaskStep(step: Step): step is TaskStep {
  return 'task' in step;
}

/** Run a job of task and script steps as the Azure Pipelines agent would. */
/**
 * The agent's node20_1 binary when a job names none: $AGENT_RUNNER_NODE20 of the runner's own process (npm test sets
 * it to the machine's Node 20 for both suites, so the Node 24 suite's agent still has a real Node 20), else the
 * runner's own Node.
 */
export function agentNode20(): string {
  return process.env['AGENT_RUNNER_NODE20'] || process.execPath;
}

export async function runJob(options: JobOptions): Promise<JobResult> {
  const job = await createJobContext(options);
  const instances = await createInstances(options.steps, job);
  const results: StepResult[] = [];
  let status: AgentResult = 'Succeeded';
  try {
    for (const [instance, phase] of plan(instances, Boolean(options.skipPostJobSteps))) {
      const mayRun = phase === 'post' || (!job.cancelled && (status === 'Succeeded' || status === 'SucceededWithIssues'));
      const result = mayRun ? await runPhase(job, instance, phase) : skip(job, instance, phase);
      if (result.result === 'Failed' || result.result === 'SucceededWithIssues') status = mergeResults(status, result.result);
      if (job.cancelled) status = 'Canceled'; // the Cancel wins over anything that happened before
      job.variables.set('agent.jobstatus', status);
      results.push(result);
    }
  } finally {
    for (const child of job.orphans) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const lookupId = job.variables.get(PROCESS_LOOKUP_ID);
    if (lookupId) for (const line of terminateOrphans(lookupId)) new StepLog(job.sink).output(line);
    if (!options.keepTempDirectory) await emptyDirectory(job.dirs.temp);
  }
  return jobResult(job, results, status);
}

async function createJobContext(options: JobOptions): Promise<JobContext> {
  const dirs = await prepareAgentRoot(options.agentRoot);
  const masker = new SecretMasker();
  const systemToken = dummySystemToken();
  // Worker.InitializeSecretMasker: endpoint auth parameters are masked (without base64).
  masker.addValue(systemToken);
  const agentVersion = options.agentVersion ?? AGENT_VERSION;
  const variables = createJobVariables(dirs, options.variables ?? {}, masker, systemToken, agentVersion);
  // JobExtension: "Start tracking orphan processes" unless the pipeline sets process.clean to false.
  if (variables.get('process.clean')?.toLowerCase() !== 'false') variables.set(PROCESS_LOOKUP_ID, newProcessLookupId());
  // $AGENT_RUNNER_NODE24 of the runner's own process: an agent with Node 24 that runs Node24 handlers with it.
  const runnerNode24 = options.node24Path === undefined ? process.env['AGENT_RUNNER_NODE24'] || undefined : undefined;
  const node24Path = options.node24Path ?? runnerNode24;
  const agentEnv = agentEnvironment(dirs, { ...(runnerNode24 ? { AGENT_USE_NODE24_WITH_HANDLER_DATA: 'true' } : {}), ...options.env });
  const echo = options.echo === true ? process.stdout : options.echo === false ? undefined : options.echo;
  return {
    dirs,
    variables,
    masker,
    prependPath: [],
    agentEnv,
    connection: { url: variables.get('System.TeamFoundationCollectionUri') ?? '', accessToken: systemToken },
    sink: { masker, jobLines: [], ...(echo ? { echo } : {}), debug: () => variables.get('System.Debug')?.toLowerCase() === 'true' },
    nodePath: options.nodePath ?? agentNode20(),
    ...(node24Path === undefined ? {} : { node24Path }),
    environmentOrder: versionAtLeast(agentVersion, VARIABLES_FIRST_SINCE) ? 'variables-first' : 'inputs-first',
    ...(options.stepTimeoutMs === undefined ? {} : { stepTimeoutMs: options.stepTimeoutMs }),
    measureRss: Boolean(options.measureRss),
    orphans: [],
    cancelled: false,
    knob: (name) => variables.get(name) ?? agentEnv[name],
  };
}

// Like the agent, load every task definition before the first step runs; a missing task fails
// the job up front (the agent's "Initialize job"), so this throws.
async function createInstances(steps: readonly Step[], job: JobContext): Promise<StepInstance[]> {
  const used = new Map<string, number>();
  const instances: StepInstance[] = [];
  for (const step of steps) {
    const definition = isTaskStep(step) ? await loadTaskDefinition(step.task) : undefined;
    const base = step.name ?? definition?.name ?? 'CmdLine';
    const count = (used.get(base.toLowerCase()) ?? 0) + 1;
    used.set(base.toLowerCase(), count);
    instances.push({
      step,
      id: randomUUID(),
      refName: step.name ?? (count === 1 ? base : `${base}${count}`),
      displayName: step.displayName ?? definition?.name ?? 'CmdLine',
      ...(definition === undefined ? {} : { definition }),
      taskVariables: new VariableStore((value) => job.masker.addValue(value)),
    });
  }
  return instances;
}

function plan(instances: readonly StepInstance[], skipPost: boolean): Array<[StepInstance, Phase]> {
  const has = (instance: StepInstance, phase: Phase): boolean =>
    instance.definition?.sections[phase] !== undefined && !(phase === 'post' && skipPost);
  return [
    ...instances.filter((instance) => has(instance, 'pre')).map((instance): [StepInstance, Phase] => [instance, 'pre']),
    ...instances.map((instance): [StepInstance, Phase] => [instance, 'main']),
    ...[...instances].reverse().filter((instance) => has(instance, 'post')).map((instance): [StepInstance, Phase] => [instance, 'post']),
  ];
}

function phaseName(instance: StepInstance, phase: Phase): string {
  if (phase === 'pre') return `Pre-job: ${instance.displayName}`;
  return phase === 'post' ? `Post-job: ${instance.displayName}` : instance.displayName;
}

function runPhase(job: JobContext, instance: StepInstance, phase: Phase): Promise<StepResult> {
  return executeStep(job, instance, phase, phaseName(instance, phase), (log) =>
    instance.definition === undefined ? prepareScriptLaunch(job, instance, log) : prepareTaskLaunch(job, instance, phase, log),
  );
}

// StepsRunner: a false condition logs the skip and its trace, and the step is Skipped.
function skip(job: JobContext, instance: StepInstance, phase: Phase): StepResult {
  const log = new StepLog(job.sink);
  log.output('Skipping step due to condition evaluation.');
  log.output('Evaluating: succeeded()');
  log.output('Result: False');
  return {
    displayName: phaseName(instance, phase),
    refName: instance.refName,
    phase,
    result: 'Skipped',
    exitCode: null,
    raw: '',
    log: log.lines,
    commands: [],
    errors: [],
    warnings: [],
    summaries: [],
    argv: [],
    env: {},
    durationMs: 0,
  };
}

function jobResult(job: JobContext, steps: StepResult[], status: AgentResult): JobResult {
  const variables = new Map<string, JobVariable>();
  for (const variable of job.variables.list()) {
    variables.set(variable.name, {
      value: variable.value,
      secret: variable.secret,
      isOutput: variable.isOutput,
      readOnly: job.variables.isReadOnly(variable.name),
    });
  }
  const { agentRoot, work, temp, tasks, workspace, sources, home } = job.dirs;
  const result = toResultName(status);
  return {
    result: result === 'Skipped' ? 'Succeeded' : result,
    steps,
    variables,
    secrets: [...job.masker.values],
    log: job.sink.jobLines.join('\n'),
    dirs: { agentRoot, work, temp, tasks, workspace, sources, home },
  };
}
