/**
 * `tag`: a lightweight or annotated tag on a commit, branch or tag of a remote repository, through the
 * REST API (no clone). An identical existing tag is success; a tag on another commit is an error. The
 * refs API answers 200 even when an update failed, so each result's `success` is checked
 * (research/devops-side.md §1.7).
 */
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import type { GitRefUpdateResult } from 'azure-devops-node-api/interfaces/GitInterfaces';
import { DevOpsError, TaskError } from '../core/errors';
import { COMMIT_SHA } from './refs';
import { explainDevOpsError } from '../devops/client';
import { call, type Connection, type RepositoryInfo } from '../devops/repos';

const ZERO = '0'.repeat(40);
/** GitRefUpdateStatus as node-api deserializes it (numbers), named as Azure DevOps names them. */
const UPDATE_STATUS = ['succeeded', 'forcePushRequired', 'staleOldObjectId', 'invalidRefName', 'unprocessed', 'unresolvableToCommit',
  'writePermissionRequired', 'manageNotePermissionRequired', 'createBranchPermissionRequired', 'createTagPermissionRequired',
  'rejectedByPlugin', 'locked', 'refNameConflict', 'rejectedByPolicy', 'succeededNonExistentRef', 'succeededCorruptRef'];

export interface TagResult {
  /** The tag's object id: the tag object for annotated tags, the commit for lightweight ones. */
  readonly objectId: string;
  readonly commit: string;
  readonly created: boolean;
  readonly annotated: boolean;
}

export interface Ref { name?: string; objectId?: string; peeledObjectId?: string }

/** The ref named exactly `name` (full name), read with peeled tags. */
export async function findRef(c: Connection, git: IGitApi, repo: RepositoryInfo, name: string): Promise<Ref | undefined> {
  const refs = await call(c, `read ref '${name}'`, () => git.getRefs(repo.id, repo.projectName, name.replace(/^refs\//, ''), false, false, false, false, true));
  return (refs ?? []).find((r) => r.name === name);
}

/** The commit a branch, tag, full ref or SHA points at. */
export async function resolveCommit(c: Connection, git: IGitApi, repo: RepositoryInfo, ref: string): Promise<string> {
  if (COMMIT_SHA.test(ref)) {
    const found = await call(c, `read commit ${ref}`, () => git.getCommit(ref, repo.id, repo.projectName));
    if (!found?.commitId) throw new TaskError(`Commit ${ref} does not exist in '${repo.name}'.`, 'Check the commit SHA given in ref.');
    return found.commitId.toLowerCase();
  }
  const candidates = ref.startsWith('refs/') ? [ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
  for (const name of candidates) {
    const found = await findRef(c, git, repo, name);
    if (found) return (found.peeledObjectId ?? found.objectId ?? '').toLowerCase();
  }
  throw new TaskError(`The ref '${ref}' does not exist in '${repo.name}'.`, 'Check the branch, tag or commit given in ref.');
}

/** The tag if it exists on `commit`; an error if it exists on another commit; undefined if it does not exist. */
async function existingTag(c: Connection, git: IGitApi, repo: RepositoryInfo, tagName: string, commit: string): Promise<TagResult | undefined> {
  const existing = await findRef(c, git, repo, `refs/tags/${tagName}`);
  if (!existing) return undefined;
  const target = (existing.peeledObjectId ?? existing.objectId ?? '').toLowerCase();
  if (target !== commit) {
    throw new TaskError(`Tag '${tagName}' already exists in '${repo.name}' on commit ${target}, not on ${commit}.`,
      'Tags are not moved: choose another tagName, or delete the existing tag first.');
  }
  return { objectId: (existing.objectId ?? commit).toLowerCase(), commit, created: false, annotated: !!existing.peeledObjectId };
}

function refUpdateFailure(c: Connection, tagName: string, result: GitRefUpdateResult | undefined): TaskError {
  const status = typeof result?.updateStatus === 'number' ? UPDATE_STATUS[result.updateStatus] ?? String(result.updateStatus) : String(result?.updateStatus ?? 'unknown');
  const said = result?.customMessage?.trim();
  // A missing permission says TF401027 in customMessage (HTTP 200): explain it like any TF401027.
  if (/permission/i.test(status)) return explainDevOpsError({ statusCode: 403, message: said ?? status }, c.ref.organization, `create tag '${tagName}'`, c.claims);
  return new DevOpsError(`Azure DevOps did not create tag '${tagName}' (${status})${said ? `: ${said.replace(/\.$/, '')}` : ''}.`,
    status === 'rejectedByPolicy' ? 'A policy of the repository refuses this tag; ask its administrators.' : undefined);
}

/**
 * Creates `tagName` on the commit `ref` names; an annotated tag when `message` is given. The creating
 * requests are never retried: when one fails, the tag is read again, and if it now exists on the same
 * commit (another run made it) that is success.
 */
export async function createTag(c: Connection, git: IGitApi, repo: RepositoryInfo, tagName: string, ref: string, message?: string): Promise<TagResult> {
  const commit = await resolveCommit(c, git, repo, ref);
  const found = await existingTag(c, git, repo, tagName, commit);
  if (found) {
    c.log.info(`Tag '${tagName}' already exists on ${commit}; nothing to do.`);
    if (message && !found.annotated) c.log.warn(`Tag '${tagName}' is a lightweight tag; it was left as it is, without the message.`);
    return found;
  }
  try {
    if (message) {
      const tag = await call(c, `create annotated tag '${tagName}'`, () =>
        git.createAnnotatedTag({ name: tagName, taggedObject: { objectId: commit }, message }, repo.projectName, repo.id), false);
      return { objectId: (tag.objectId ?? '').toLowerCase(), commit, created: true, annotated: true };
    }
    const [result] = await call(c, `create tag '${tagName}'`, () =>
      git.updateRefs([{ name: `refs/tags/${tagName}`, oldObjectId: ZERO, newObjectId: commit }], repo.id, repo.projectName), false);
    if (!result?.success) throw refUpdateFailure(c, tagName, result);
    return { objectId: commit, commit, created: true, annotated: false };
  } catch (err) {
    const now = await existingTag(c, git, repo, tagName, commit);
    if (now) return now;
    throw err;
  }
}
