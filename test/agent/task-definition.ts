// Reading task.json the way the agent's TaskManager/TaskRunner use it: inputs with their
// defaults, output variable names, restrictions, and handler selection per execution section.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The `restrictions` block of task.json. */
export interface TaskRestrictions {
  commands?: { mode?: string };
  settableVariables?: { allowed?: string[] };
}

/** The parts of task.json the runner uses. */
export interface TaskDefinition {
  readonly directory: string;
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly friendlyName: string;
  readonly description: string;
  readonly author: string;
  readonly help: string;
  readonly inputs: ReadonlyArray<{ name: string; type: string; defaultValue: string }>;
  readonly outputVariables: readonly string[];
  readonly restrictions?: TaskRestrictions;
  readonly sections: Readonly<Record<Phase, Record<string, HandlerData> | undefined>>;
}

/** A step phase: pre-job, main or post-job. */
export type Phase = 'pre' | 'main' | 'post';

/** One handler entry, e.g. execution.Node20_1. */
export interface HandlerData {
  target?: string;
  workingDirectory?: string;
}

const SECTION_KEYS: Readonly<Record<Phase, string>> = {
  pre: 'prejobexecution',
  main: 'execution',
  post: 'postjobexecution',
};

/** Load `<directory>/task.json`; throws with the path when it is missing or malformed. */
export async function loadTaskDefinition(directory: string): Promise<TaskDefinition> {
  const file = path.join(directory, 'task.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse((await readFile(file, 'utf8')).replace(/^\uFEFF/, '')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`Cannot load task definition ${file}: ${(error as Error).message}`, { cause: error });
  }
  const version = (json['version'] ?? {}) as Record<string, unknown>;
  const sections = {} as Record<Phase, Record<string, HandlerData> | undefined>;
  for (const phase of Object.keys(SECTION_KEYS) as Phase[]) {
    sections[phase] = json[SECTION_KEYS[phase]] as Record<string, HandlerData> | undefined;
  }
  return {
    directory: path.resolve(directory),
    id: String(json['id'] ?? ''),
    name: String(json['name'] ?? path.basename(directory)),
    version: `${String(version['Major'] ?? 0)}.${String(version['Minor'] ?? 0)}.${String(version['Patch'] ?? 0)}`,
    friendlyName: String(json['friendlyName'] ?? ''),
    description: String(json['description'] ?? ''),
    author: String(json['author'] ?? ''),
    help: String(json['helpUrl'] ?? json['helpMarkDown'] ?? ''),
    inputs: readInputs(json['inputs']),
    outputVariables: readOutputVariables(json['outputVariables']),
    restrictions: json['restrictions'] as TaskRestrictions | undefined,
    sections,
  };
}

function readInputs(raw: unknown): TaskDefinition['inputs'] {
  if (!Array.isArray(raw)) return [];
  return raw.map((input: Record<string, unknown>) => ({
    name: String(input['name'] ?? '').trim(),
    type: String(input['type'] ?? 'string'),
    defaultValue: renderDefault(input['defaultValue']),
  }));
}

// The agent deserializes defaultValue into a .NET string with Newtonsoft, which turns a JSON
// boolean into "True"/"False" (Convert.ToString). tl.getBoolInput compares case-insensitively.
function renderDefault(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value).trim();
}

function readOutputVariables(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((output: Record<string, unknown>) => String(output['name'] ?? '')).filter((name) => name.length > 0);
}

/** The handler the runner will use, or the reason there is none. */
export type HandlerChoice = { ok: true; handler: string; data: HandlerData } | { ok: false; message: string };

// TaskRunner.GetHandlerData sorts by priority and the lowest wins: Node24 (101) before
// Node20_1 (102) (TaskManager.cs lines 901-907 at v4.266.2). Without knob UseNode24withHandlerData the agent
// still runs that entry's target with its node20_1 binary (task-step.ts nodeFor) — the runner's nodePath.
const SUPPORTED = ['Node24', 'Node20_1'] as const;
const KNOWN = ['Node16', 'Node10', 'Node', 'PowerShell3', 'PowerShell', 'Process', 'AgentPlugin'];

/** Pick the handler for one phase. Returns ok:false with a clear message when it cannot run. */
export function chooseHandler(definition: TaskDefinition, phase: Phase): HandlerChoice {
  const section = definition.sections[phase] ?? {};
  for (const handler of SUPPORTED) {
    const data = section[handler];
    if (data !== undefined && data !== null) return { ok: true, handler, data };
  }
  const others = KNOWN.filter((key) => section[key] !== undefined);
  if (others.length > 0) {
    return {
      ok: false,
      message: `This runner only runs Node20_1 and Node24 handlers; ${SECTION_KEYS[phase]} of task '${definition.name}' declares only ${others.join(', ')}.`,
    };
  }
  // agent strings.json SupportedTaskHandlerNotFoundLinux
  return {
    ok: false,
    message: 'The current operating system is not capable of running this task. That typically means the task was written for Windows only. For example, written for Windows Desktop PowerShell.',
  };
}
