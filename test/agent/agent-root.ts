// The directory layout of a self-hosted agent and its first pipeline's workspace
// (agent src/Agent.Worker/Build/BuildJobExtension.cs, TrackingConfig: _work/1/{s,a,b,TestResults}).
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Directories of one agent root. `home` is HOME for every step. */
export interface AgentDirs {
  readonly agentRoot: string;
  readonly work: string;
  readonly temp: string;
  readonly tasks: string;
  readonly tools: string;
  readonly workspace: string;
  readonly sources: string;
  readonly artifacts: string;
  readonly binaries: string;
  readonly testResults: string;
  readonly home: string;
}

/** Create (or reuse) an agent root and empty its temp directory, as the agent does at job start. */
export async function prepareAgentRoot(agentRoot?: string): Promise<AgentDirs> {
  const root = path.resolve(agentRoot ?? (await mkdtemp(path.join(os.tmpdir(), 'agent-'))));
  const work = path.join(root, '_work');
  const workspace = path.join(work, '1');
  const dirs: AgentDirs = {
    agentRoot: root,
    work,
    temp: path.join(work, '_temp'),
    tasks: path.join(work, '_tasks'),
    tools: path.join(work, '_tool'),
    workspace,
    sources: path.join(workspace, 's'),
    artifacts: path.join(workspace, 'a'),
    binaries: path.join(workspace, 'b'),
    testResults: path.join(workspace, 'TestResults'),
    home: path.join(root, 'home'),
  };
  for (const dir of [dirs.tasks, dirs.tools, dirs.sources, dirs.artifacts, dirs.binaries, dirs.testResults, dirs.home]) {
    await mkdir(dir, { recursive: true });
  }
  await emptyDirectory(dirs.temp);
  return dirs;
}

/** TempDirectoryManager: delete the contents, keep the folder. */
export async function emptyDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(dir)) {
    await rm(path.join(dir, entry), { recursive: true, force: true, maxRetries: 3 });
  }
}
