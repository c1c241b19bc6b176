// Try packaged tasks on this machine the way a pipeline would run them:
//   npx tsx test/agent/cli.ts run --vsix dist/x.vsix --task ManagedIdentityAuthenticate \
//     --input verify=true --variable System.CollectionUri=https://dev.azure.com/contoso/ \
//     --script 'git ls-remote https://dev.azure.com/contoso/p/_git/r'
// Steps run in the order given; --input/--name/--display-name/--env-step apply to the step
// before them. The masked log streams as in the pipeline UI, then the run summaries the steps
// attached; the exit code is 0 only when the job succeeded.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { installVsix, runJob, type JobOptions, type JobResult, type Step } from './runner';

const USAGE = `Usage: npx tsx test/agent/cli.ts run [options]

  --vsix <file>              install the tasks of this .vsix into the agent root
  --task <name|folder>       add a task step (a task name from --vsix, or a task folder)
  --input <name=value>       input of the preceding --task (repeatable)
  --script <bash>            add a script step (like YAML "- script:")
  --name <ref>               reference name of the preceding step (output variables)
  --display-name <text>      display name of the preceding step
  --env-step <NAME=value>    YAML env: of the preceding step; $(Var) macros allowed
  --variable <Name=value>    pipeline variable, e.g. System.CollectionUri=https://dev.azure.com/org/
  --secret <Name=value>      secret pipeline variable
  --env <NAME=value>         add to the agent's environment (e.g. an emulator endpoint)
  --debug                    System.Debug=true (shows ##[debug] lines)
  --no-post                  do not run post-job steps (a real agent always runs them)
  --post                     run post-job steps (the default)
  --agent-root <dir>         reuse this agent root instead of a new temp directory
  --keep                     keep the agent root (a new temp directory is removed afterwards) and
                             Agent.TempDirectory's contents; print where it is
  --timeout <seconds>        fail a step that runs longer
  --agent-version <x.y.z>    the agent version to behave as (default 4.266.2; 5.277.0 and later put
                             variables before inputs in a task's environment)
  --node24 <file>            the agent's Node 24; tasks run on it when the AGENT_USE_NODE24 or
                             AGENT_USE_NODE24_WITH_HANDLER_DATA knob is on (--env or --variable)
`;

interface CliPlan {
  vsix?: string;
  /** The agent root is a temp directory of this run: removed afterwards unless --keep. */
  ownRoot?: boolean;
  steps: Array<Step & { taskRef?: string }>;
  options: Omit<JobOptions, 'steps'>;
  post: boolean;
}

function splitPair(text: string, flag: string): [string, string] {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new UsageError(`${flag} expects NAME=value, got '${text}'.`);
  return [text.substring(0, equals), text.substring(equals + 1)];
}

class UsageError extends Error {}

const OPTIONS: NonNullable<ParseArgsConfig['options']> = {};
for (const name of ['vsix', 'task', 'input', 'script', 'name', 'display-name', 'env-step', 'variable', 'secret', 'env', 'agent-root', 'timeout', 'agent-version', 'node24']) {
  OPTIONS[name] = { type: 'string', multiple: true };
}
for (const name of ['debug', 'post', 'no-post', 'keep']) OPTIONS[name] = { type: 'boolean' };

/** Turn argv into steps and options; flags that modify a step apply to the latest one. */
export function parseCli(argv: readonly string[]): CliPlan {
  const { tokens } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    tokens: true,
    options: OPTIONS,
  });
  const plan: CliPlan = { steps: [], options: { variables: {}, env: {}, echo: true }, post: true };
  for (const token of tokens) {
    if (token.kind === 'positional' && token.value !== 'run') throw new UsageError(`Unknown command '${token.value}'.`);
    if (token.kind === 'option') applyOption(plan, token.name, token.value ?? '');
  }
  if (plan.steps.length === 0) throw new UsageError('Add at least one --task or --script.');
  return plan;
}

function applyOption(plan: CliPlan, name: string, value: string): void {
  const last = plan.steps.at(-1);
  const needStep = (): Step & { taskRef?: string } => {
    if (last === undefined) throw new UsageError(`--${name} must follow a --task or --script.`);
    return last;
  };
  const variables = plan.options.variables as NonNullable<JobOptions['variables']>;
  switch (name) {
    case 'vsix': plan.vsix = value; break;
    case 'task': plan.steps.push({ task: '', taskRef: value, inputs: {} }); break;
    case 'script': plan.steps.push({ script: value }); break;
    case 'input': {
      const step = needStep();
      if (!('task' in step)) throw new UsageError('--input must follow a --task.');
      const [key, inputValue] = splitPair(value, '--input');
      step.inputs = { ...step.inputs, [key]: inputValue };
      break;
    }
    case 'name': needStep().name = value; break;
    case 'display-name': needStep().displayName = value; break;
    case 'env-step': needStep().env = { ...needStep().env, ...Object.fromEntries([splitPair(value, '--env-step')]) }; break;
    case 'variable': { const [key, v] = splitPair(value, '--variable'); variables[key] = v; break; }
    case 'secret': { const [key, v] = splitPair(value, '--secret'); variables[key] = { value: v, secret: true }; break; }
    case 'env': plan.options.env = { ...plan.options.env, ...Object.fromEntries([splitPair(value, '--env')]) }; break;
    case 'debug': variables['System.Debug'] = 'true'; break;
    case 'post': plan.post = true; break;
    case 'no-post': plan.post = false; break;
    case 'agent-root': plan.options.agentRoot = value; break;
    case 'keep': plan.options.keepTempDirectory = true; break;
    case 'timeout': plan.options.stepTimeoutMs = Number(value) * 1000; break;
    case 'agent-version':
      if (!/^\d+\.\d+\.\d+$/.test(value)) throw new UsageError(`--agent-version expects a version such as 4.266.2, got '${value}'.`);
      plan.options.agentVersion = value;
      break;
    case 'node24': plan.options.node24Path = path.resolve(value); break;
  }
}

// A task given by name comes from the installed .vsix; anything else is a task folder.
async function resolveTasks(plan: CliPlan): Promise<void> {
  if (plan.options.agentRoot === undefined) {
    plan.options.agentRoot = await mkdtemp(path.join(os.tmpdir(), 'agent-'));
    plan.ownRoot = true;
  }
  const installed = plan.vsix === undefined ? new Map<string, string>() : await installVsix(plan.vsix, path.join(plan.options.agentRoot, '_work', '_tasks'));
  for (const step of plan.steps) {
    if (!('task' in step) || step.taskRef === undefined) continue;
    const match = [...installed].find(([name]) => name.toLowerCase() === step.taskRef?.toLowerCase());
    step.task = match?.[1] ?? path.resolve(step.taskRef);
    delete step.taskRef;
  }
}

/** The Markdown each step attached with task.uploadsummary (the run's Extensions tab), read before _temp is emptied. */
async function printAttachedSummaries(result: JobResult): Promise<void> {
  for (const step of result.steps) {
    for (const file of step.summaries) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text !== undefined) process.stdout.write(`\nSummary attached by ${step.displayName}:\n${text}`);
    }
  }
}

function printSummary(result: JobResult, post: boolean, keep: boolean): void {
  process.stdout.write('\n');
  for (const step of result.steps) process.stdout.write(`  ${step.result.padEnd(20)} ${step.displayName} (${step.durationMs} ms)\n`);
  if (!post) process.stdout.write('  (post-job steps were not run: --no-post)\n');
  process.stdout.write(`Job result: ${result.result}\n`);
  if (keep) process.stdout.write(`Agent root: ${result.dirs.agentRoot}\n`);
}

async function emptyDirectory(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const plan = parseCli(argv);
  await resolveTasks(plan);
  const keep = Boolean(plan.options.keepTempDirectory);
  // _temp is kept until the attached summaries are printed, then emptied as the agent empties it.
  const result = await runJob({ ...plan.options, keepTempDirectory: true, steps: plan.steps, skipPostJobSteps: !plan.post });
  await printAttachedSummaries(result);
  printSummary(result, plan.post, keep);
  if (plan.ownRoot && !keep) await rm(result.dirs.agentRoot, { recursive: true, force: true });
  else if (!keep) await emptyDirectory(result.dirs.temp);
  return result.result === 'Succeeded' || result.result === 'SucceededWithIssues' ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: Error) => {
      process.stderr.write(`${error instanceof UsageError ? `${error.message}\n\n${USAGE}` : (error.stack ?? error.message)}\n`);
      process.exitCode = 2;
    },
  );
}
