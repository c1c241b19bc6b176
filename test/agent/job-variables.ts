// What a job starts with: the variables the service sends and the agent adds (agent
// src/Agent.Worker/JobRunner.cs, Build/BuildJobExtension.cs, TempDirectoryManager.cs), the
// job-start secret registration (Worker.cs), and the agent process's own environment.
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import type { AgentDirs } from './agent-root';
import { addJobStartSecret, type SecretMasker } from './masker';
import { VariableStore } from './variables';

/**
 * The agent version the runner claims to be by default: 4.266.2 (December 2025), a 4.x release like most
 * self-hosted agents, that knows Node24 handlers. JobOptions.agentVersion claims another (e.g. '5.277.0').
 */
export const AGENT_VERSION = '4.266.2';

/** The first agent version that puts variables before inputs and endpoints in a task's environment. */
export const VARIABLES_FIRST_SINCE = '5.277.0';

/** True when `version` (major.minor.patch) is at least `since`. */
export function versionAtLeast(version: string, since: string): boolean {
  const parts = (v: string): number[] => v.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const [a, b] = [parts(version), parts(since)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** A pipeline variable as JobOptions accept it. */
export type VariableInput = string | { value: string; secret?: boolean };

/** Variables known at job start: defaults for a build job on this runner, then the caller's. */
export function createJobVariables(
  dirs: AgentDirs,
  given: Readonly<Record<string, VariableInput>>,
  masker: SecretMasker,
  systemToken: string,
  agentVersion: string = AGENT_VERSION,
): VariableStore {
  const variables = new VariableStore((value) => masker.addValue(value), true);
  const normalized = Object.entries(given).map(([name, input]) =>
    typeof input === 'string' ? { name, value: input, secret: false } : { name, value: input.value, secret: Boolean(input.secret) },
  );
  const lookup = (name: string): string | undefined =>
    normalized.find((entry) => entry.name.toLowerCase() === name.toLowerCase())?.value;
  for (const [name, value] of Object.entries(defaultVariables(dirs, lookup, agentVersion))) variables.set(name, value);
  for (const { name, value, secret } of normalized) {
    if (secret) addJobStartSecret(masker, value);
    variables.set(name, value, { secret });
  }
  // JobRunner: System.AccessToken is a (secret) variable only when System.EnableAccessToken is true.
  if (variables.get('System.EnableAccessToken')?.toLowerCase() === 'true' && !variables.has('System.AccessToken')) {
    addJobStartSecret(masker, systemToken);
    variables.set('System.AccessToken', systemToken, { secret: true });
  }
  return variables;
}

function defaultVariables(dirs: AgentDirs, given: (name: string) => string | undefined, agentVersion: string): Record<string, string> {
  const collectionUri = given('System.CollectionUri') ?? given('System.TeamFoundationCollectionUri') ?? 'https://dev.azure.com/contoso/';
  const project = given('System.TeamProject') ?? 'Fabrikam';
  return {
    'Agent.Id': '1',
    'Agent.Name': os.hostname(),
    'Agent.MachineName': os.hostname(),
    'Agent.Version': agentVersion,
    'Agent.OS': agentOs(),
    'Agent.OSArchitecture': agentArchitecture(),
    'Agent.HomeDirectory': dirs.agentRoot,
    'Agent.RootDirectory': dirs.work,
    'Agent.WorkFolder': dirs.work,
    'Agent.TempDirectory': dirs.temp,
    'Agent.ToolsDirectory': dirs.tools,
    'Agent.BuildDirectory': dirs.workspace,
    'Agent.JobName': 'Job',
    'agent.jobstatus': 'Succeeded',
    'Agent.IsSelfHosted': '1',
    // No agent.readOnlyVariables: the service sends it only with the feature on. Without it, agent 4.266.2
    // warns on a read-only overwrite and lets it happen (Variables.cs:200 Read_Only_Variables `?? false`,
    // TaskCommandExtension.cs:633 and :727); give it as a job variable to enforce (commands.ts checkReadOnly).
    'Build.BuildId': '1',
    'Build.BuildNumber': '20260101.1',
    'Build.DefinitionName': 'local',
    'Build.Reason': 'Manual',
    'Build.Repository.Name': project,
    'Build.Repository.Provider': 'TfsGit',
    'Build.Repository.Uri': `${collectionUri.replace(/\/?$/, '/')}${encodeURIComponent(project)}/_git/${encodeURIComponent(project)}`,
    'Build.Repository.LocalPath': dirs.sources,
    'Build.SourceBranch': 'refs/heads/main',
    'Build.SourceBranchName': 'main',
    'Build.SourceVersion': randomBytes(20).toString('hex'),
    'Build.SourcesDirectory': dirs.sources,
    'Build.ArtifactStagingDirectory': dirs.artifacts,
    'Build.StagingDirectory': dirs.artifacts,
    'Build.BinariesDirectory': dirs.binaries,
    'Common.TestResultsDirectory': dirs.testResults,
    'Pipeline.Workspace': dirs.workspace,
    'System.ArtifactsDirectory': dirs.artifacts,
    'System.DefaultWorkingDirectory': dirs.sources,
    'System.WorkFolder': dirs.work,
    'System.CollectionUri': collectionUri,
    'System.TeamFoundationCollectionUri': collectionUri,
    'System.TeamProject': project,
    'System.TeamProjectId': randomUUID(),
    'System.CollectionId': randomUUID(),
    'System.DefinitionId': '1',
    'System.DefinitionName': 'local',
    'System.HostType': 'build',
    'System.ServerType': 'Hosted',
    'System.JobId': randomUUID(),
    'System.PlanId': randomUUID(),
    'System.TimelineId': randomUUID(),
    'System.JobName': 'Job',
    'System.JobDisplayName': 'Job',
    'System.JobAttempt': '1',
    'System.PhaseName': 'Job',
    'System.PhaseDisplayName': 'Job',
    'System.StageName': '__default',
    'System.StageDisplayName': '__default',
    'System.Culture': 'en-US',
    'System.PullRequest.IsFork': 'False',
  };
}

function agentOs(): string {
  if (process.platform === 'win32') return 'Windows_NT';
  return process.platform === 'darwin' ? 'Darwin' : 'Linux';
}

function agentArchitecture(): string {
  const map: Record<string, string> = { x64: 'X64', ia32: 'X86', arm: 'ARM', arm64: 'ARM64' };
  return map[process.arch] ?? process.arch.toUpperCase();
}

/**
 * The agent process's environment: a minimal base (never the test process's env) plus the
 * caller's additions. HOME is the agent root's `home` so tests can inspect what steps leave there.
 */
export function agentEnvironment(dirs: AgentDirs, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const base: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: dirs.home,
    LANG: process.env['LANG'] ?? 'C.UTF-8',
    TMPDIR: os.tmpdir(),
  };
  if (process.platform === 'win32') {
    for (const name of ['SystemRoot', 'ComSpec', 'PATHEXT', 'windir', 'USERPROFILE']) {
      const value = name === 'USERPROFILE' ? dirs.home : process.env[name];
      if (value !== undefined) base[name] = value;
    }
  }
  return { ...base, ...extra };
}

/** A random JWT-shaped string standing in for the job's System.AccessToken. */
export function dummySystemToken(): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ typ: 'JWT', alg: 'RS256' })}.${part({ aud: 'app.vstoken.visualstudio.com', nonce: randomUUID() })}.${randomBytes(32).toString('base64url')}`;
}
