/**
 * `tag`: a lightweight or annotated tag on a commit, branch or tag of a remote repository, through the
 * REST API (no clone). An identical existing tag is success; a tag on another commit is an error. The
 * refs API answers 200 even when an update failed, so each result's `success` is checked
 * (research/devops-side.md §1.7).
 */
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import { DevOpsError, TaskError } from './errors';
import { COMMIT_SHA } from './refs';
import { call, type Connection, type RepositoryInfo } from './repos';

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
}

interface Ref { name?: string; objectId?: string; peeledObjectId?: string }

async function findRef(c: Connection, git: IGitApi, repo: RepositoryInfo, name: string): Promise<Ref | undefined> {
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

export async function createTag(c: Connection, git: IGitApi, repo: RepositoryInfo, tagName: string, ref: string, message?: string): Promise<TagResult> {
  const commit = await resolveCommit(c, git, repo, ref);
  const name = `refs/tags/${tagName}`;
  const existing = await findRef(c, git, repo, name);
  if (existing) {
    const target = (existing.peeledObjectId ?? existing.objectId ?? '').toLowerCase();
    if (target !== commit) {
      throw new TaskError(`Tag '${tagName}' already exists in '${repo.name}' on commit ${target}, not on ${commit}.`,
        'Tags are not moved: choose another tagName, or delete the existing tag first.');
    }
    c.log.info(`Tag '${tagName}' already exists on ${commit}; nothing to do.`);
    return { objectId: (existing.objectId ?? commit).toLowerCase(), commit, created: false };
  }
  if (message) {
    const tag = await call(c, `create annotated tag '${tagName}'`, () =>
      git.createAnnotatedTag({ name: tagName, taggedObject: { objectId: commit }, message }, repo.projectName, repo.id), false);
    return { objectId: (tag.objectId ?? '').toLowerCase(), commit, created: true };
  }
  const [result] = await call(c, `create tag '${tagName}'`, () =>
    git.updateRefs([{ name, oldObjectId: ZERO, newObjectId: commit }], repo.id, repo.projectName), false);
  if (!result?.success) {
    const status = typeof result?.updateStatus === 'number' ? UPDATE_STATUS[result.updateStatus] ?? String(result.updateStatus) : String(result?.updateStatus ?? 'unknown');
    throw new DevOpsError(`Azure DevOps did not create tag '${tagName}' (${status})${result?.customMessage ? `: ${result.customMessage}` : ''}.`,
      /permission/i.test(status) ? 'Grant the identity Create tag (and Contribute) on the repository.' : undefined);
  }
  return { objectId: commit, commit, created: true };
}
