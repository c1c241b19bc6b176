/**
 * `pullRequest`: open a pull request, or update the active one for the same branches (Azure DevOps
 * answers 409 TF401179 to a duplicate), so re-running a pipeline returns the same pull request.
 * Creation is never retried blindly: after a failed create the active pull request is looked up again.
 */
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import { TaskError } from '../core/errors';
import { branchName } from './refs';
import { call, type Connection, type RepositoryInfo } from '../devops/repos';
import { findRef } from './tag';

/** GitPullRequestMergeStrategy as node-api sends it. */
export const MERGE_STRATEGIES = { noFastForward: 1, squash: 2, rebase: 3, rebaseMerge: 4 } as const;
export type MergeStrategy = keyof typeof MERGE_STRATEGIES;
const ACTIVE = 1; // PullRequestStatus.Active

export interface PullRequestOptions {
  readonly sourceBranch: string;
  readonly targetBranch?: string;
  /** Title of a new pull request; an active one gets it only when `keepTitle` is false. */
  readonly title: string;
  /** True when the title was not given (a default): an active pull request keeps its own. */
  readonly keepTitle: boolean;
  /** Undefined: empty for a new pull request, unchanged for an active one. */
  readonly description?: string;
  readonly isDraft: boolean;
  readonly autoComplete?: { readonly mergeStrategy: MergeStrategy; readonly deleteSourceBranch: boolean; readonly identityId: string };
}

export interface PullRequestResult {
  readonly id: number;
  readonly url: string;
  readonly created: boolean;
}

interface RawPullRequest { pullRequestId?: number }

const fullRef = (branch: string): string => (branch.startsWith('refs/') ? branch : `refs/heads/${branch}`);

async function findActive(c: Connection, git: IGitApi, repo: RepositoryInfo, source: string, target: string): Promise<RawPullRequest | undefined> {
  const found = await call(c, 'search active pull requests', () =>
    git.getPullRequests(repo.id, { sourceRefName: source, targetRefName: target, status: ACTIVE }, repo.projectName));
  return (found ?? [])[0];
}

async function requireBranch(c: Connection, git: IGitApi, repo: RepositoryInfo, ref: string, input: string): Promise<void> {
  if (!(await findRef(c, git, repo, ref))) {
    throw new TaskError(`Branch '${branchName(ref)}' (${input}) does not exist in '${repo.name}'.`,
      input === 'sourceBranch' ? 'Push it first (command: push), then open the pull request.' : 'Check targetBranch, or leave it empty for the default branch.');
  }
}

export async function openPullRequest(c: Connection, git: IGitApi, repo: RepositoryInfo, o: PullRequestOptions): Promise<PullRequestResult> {
  const target = fullRef(o.targetBranch ?? repo.defaultBranch ?? '');
  if (target === 'refs/heads/') throw new TaskError(`Repository '${repo.name}' is empty: it has no default branch to target.`, 'Give targetBranch.');
  const source = fullRef(o.sourceBranch);
  if (source === target) throw new TaskError(`sourceBranch and targetBranch are both '${branchName(source)}'.`, 'A pull request needs two different branches.');
  await Promise.all([requireBranch(c, git, repo, source, 'sourceBranch'), requireBranch(c, git, repo, target, 'targetBranch')]);
  let pr = await findActive(c, git, repo, source, target);
  let created = false;
  if (pr?.pullRequestId) {
    const id = pr.pullRequestId;
    const update = { ...(o.keepTitle ? {} : { title: o.title }), ...(o.description === undefined ? {} : { description: o.description }) };
    c.log.info(`Pull request ${id} is already active for ${branchName(source)} -> ${branchName(target)}${Object.keys(update).length ? `; updating its ${Object.keys(update).join(' and ')}` : ''}.`);
    if (Object.keys(update).length) await call(c, `update pull request ${id}`, () => git.updatePullRequest(update, repo.id, id, repo.projectName));
  } else {
    try {
      // Never retried: a second POST could open a second pull request or fail with TF401179.
      pr = await call(c, `create a pull request ${branchName(source)} -> ${branchName(target)}`, () =>
        git.createPullRequest({ sourceRefName: source, targetRefName: target, title: o.title, description: o.description ?? '', isDraft: o.isDraft },
          repo.id, repo.projectName), false);
      created = true;
    } catch (err) {
      // Another run may have created it meanwhile (409 TF401179): return that one instead.
      pr = await findActive(c, git, repo, source, target);
      if (!pr?.pullRequestId) throw err;
    }
  }
  const id = pr?.pullRequestId;
  if (!id) throw new TaskError(`Azure DevOps answered without a pull request id for ${branchName(source)} -> ${branchName(target)}.`);
  if (o.autoComplete) {
    const { mergeStrategy, deleteSourceBranch, identityId } = o.autoComplete;
    await call(c, `set auto-complete on pull request ${id}`, () => git.updatePullRequest({
      autoCompleteSetBy: { id: identityId },
      completionOptions: { mergeStrategy: MERGE_STRATEGIES[mergeStrategy], deleteSourceBranch },
    }, repo.id, id, repo.projectName));
    c.log.info(`Pull request ${id} completes automatically (${mergeStrategy}${deleteSourceBranch ? ', deleting the source branch' : ''}) once its policies pass.`);
  }
  return { id, url: `${repo.webUrl}/pullrequest/${id}`, created };
}
