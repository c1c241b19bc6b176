// A `- script:` step. On a real agent it is the CmdLine@2 task: a Node process that writes the
// script to Agent.TempDirectory and runs `bash --noprofile --norc <file>` with its own
// environment after task-lib removed the vaulted values (inputs, SECRET_*, endpoint auth).
// The runner runs bash directly with that same environment and prints what CmdLine prints
// (azure-pipelines-tasks Tasks/CmdLineV2/cmdline.ts).
import { randomUUID } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildTaskEnvironment, toScriptEnvironment } from './environment';
import { mergeResults } from './results';
import type { JobContext, Launch, StepInstance } from './run-step';
import type { StepLog } from './step-log';
import { scopeVariables } from './task-step';
import type { ScriptStep } from './types';

/** Write the script file and prepare bash, as CmdLine does. */
export async function prepareScriptLaunch(job: JobContext, instance: StepInstance, log: StepLog): Promise<Launch | string> {
  const step = instance.step as ScriptStep;
  // `script` and `workingDirectory` are CmdLine inputs: macro-expanded once, like every input; a
  // relative or empty workingDirectory is rooted at the default working directory (filePath input).
  const source = new Map([...job.variables.expanded(), ...scopeVariables(instance)].map((v) => [v.name.toLowerCase(), v.value]));
  const script = job.variables.expand(step.script, source);
  const defaultDir = job.variables.get('System.DefaultWorkingDirectory') ?? job.dirs.work;
  const cwd = path.resolve(defaultDir, job.variables.expand(step.workingDirectory ?? '', source));
  if (!isDirectory(cwd)) return `Not found workingDirectory: ${cwd}`;
  const env = scriptEnvironment(job, instance, cwd, script);
  log.output('Generating script.');
  const file = path.join(job.dirs.temp, `${randomUUID()}.sh`);
  await writeFile(file, script, 'utf8');
  if (!script.includes('\n') && !script.toUpperCase().includes('##VSO[')) {
    log.output('Script contents:');
    log.output(script);
  }
  log.output('========================== Starting Command Output ===========================');
  const bash = findOnPath('bash', env['PATH'] ?? '');
  if (bash === undefined) return "Unable to locate executable file: 'bash'.";
  const args = ['--noprofile', '--norc', file];
  log.output(`[command]${bash} ${args.join(' ')}`);
  return {
    file: bash,
    args,
    cwd,
    env,
    outputVariables: new Set(),
    restrictions: step.restrictions === undefined ? [] : [step.restrictions],
    finish: (outcome, ctx) => {
      // CmdLine: a null exit code (killed) sets no result; otherwise setResult(..., done=true).
      if (outcome.exitCode === null) return;
      if (outcome.exitCode !== 0) ctx.log.error(`Bash exited with code '${outcome.exitCode}'.`);
      ctx.result = mergeResults(ctx.result, outcome.exitCode === 0 ? 'Succeeded' : 'Failed');
    },
  };
}

function scriptEnvironment(job: JobContext, instance: StepInstance, cwd: string, script: string): Record<string, string> {
  const step = instance.step as ScriptStep;
  const variables = [...job.variables.expanded(), ...scopeVariables(instance)];
  const source = new Map(variables.map((variable) => [variable.name.toLowerCase(), variable.value]));
  const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([key, value]) => [key, job.variables.expand(value, source)]));
  const taskEnv = buildTaskEnvironment({
    agentEnv: job.agentEnv,
    stepEnv,
    variables,
    inputs: { script, workingDirectory: cwd, failOnStderr: 'false' },
    connection: job.connection,
    taskVariables: instance.taskVariables,
    prependPath: job.prependPath,
    order: job.environmentOrder,
  });
  return toScriptEnvironment(taskEnv);
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function findOnPath(tool: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, process.platform === 'win32' ? `${tool}.exe` : tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}
