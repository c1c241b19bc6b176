// Task results as the agent models them (Microsoft.TeamFoundation.DistributedTask.WebApi.TaskResult)
// and its merge rule (agent src/Agent.Sdk/Util/TaskResultUtil.cs MergeTaskResults).

/** The agent's TaskResult names, in enum order: a later one is "worse". */
export const AGENT_RESULTS = ['Succeeded', 'SucceededWithIssues', 'Failed', 'Canceled', 'Skipped', 'Abandoned'] as const;

/** One agent TaskResult. Note the agent's spelling: Canceled. */
export type AgentResult = (typeof AGENT_RESULTS)[number];

/** The result names this runner's API reports. */
export type StepResultName = 'Succeeded' | 'SucceededWithIssues' | 'Failed' | 'Cancelled' | 'Skipped';

/** Most pessimistic wins; once Canceled, Skipped or Abandoned, the result no longer changes. */
export function mergeResults(current: AgentResult | undefined, coming: AgentResult): AgentResult {
  if (current === undefined) return coming;
  const currentRank = AGENT_RESULTS.indexOf(current);
  if (currentRank > AGENT_RESULTS.indexOf('Failed')) return current;
  return AGENT_RESULTS.indexOf(coming) >= currentRank ? coming : current;
}

/**
 * .NET Enum.TryParse<TaskResult>: exact, case-sensitive member names or an integer. task-lib's
 * `Cancelled` is therefore *not* accepted by the agent (its member is `Canceled`).
 */
export function parseAgentResult(text: string | undefined): AgentResult | undefined {
  if (text === undefined || text.length === 0) return undefined;
  const trimmed = text.trim();
  if (/^[+-]?\d+$/.test(trimmed)) return AGENT_RESULTS[Number(trimmed)];
  return AGENT_RESULTS.find((name) => name === trimmed);
}

/** Map the agent's result onto this runner's API spelling. */
export function toResultName(result: AgentResult): StepResultName {
  if (result === 'Canceled' || result === 'Abandoned') return 'Cancelled';
  return result;
}
