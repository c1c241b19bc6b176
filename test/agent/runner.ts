// An agent-like runner for packaged Azure Pipelines tasks. It runs task folders (for example
// the ones a .vsix installs) the way the Azure Pipelines agent runs them: same environment,
// `##vso[...]` logging commands, masking, task variables, and pre/main/post-job ordering.
// What it reproduces and from where is written at the top of each module in this folder.
export { agentNode20, runJob } from './job';
export { installVsix, packagedVsix } from './install';
export { formatCommand, parseCommand, escapeData, escapeProperty } from './vso';
export { AGENT_VERSION } from './job-variables';
export type { VsoCommand } from './vso';
export type { TaskRestrictions } from './task-definition';
export type { JobOptions, JobResult, JobVariable, ScriptStep, Step, StepPhase, StepResult, TaskStep } from './types';
