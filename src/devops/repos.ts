/**
 * Repository REST operations over azure-devops-node-api's GitApi/CoreApi, returning our own small types.
 * node-api resolves 404 to null (devops-side.md §3.5), so "not found" is decided here, with the TF code
 * Azure DevOps would have given.
 */
import type { WebApi } from 'azure-devops-node-api';
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import { DevOpsError } from '../core/errors';
import { explainDevOpsError, retrying } from './client';
import type { TokenClaims } from '../identity/jwt';
import type { Log } from '../core/log';
import { describeRepository, type RepositoryRef } from './repository-ref';

export interface RepositoryInfo {
  readonly id: string;
  readonly name: string;
  readonly projectId: string;
  readonly projectName: string;
  /** refs/heads/…; absent for an empty repository. */
  readonly defaultBranch?: string;
  readonly remoteUrl: string;
  readonly webUrl: string;
  readonly size: number;
  readonly isDisabled: boolean;
}

/** A connected organization: the WebApi plus what error messages need. */
export interface Connection {
  readonly api: WebApi;
  readonly ref: RepositoryRef;
  readonly claims: TokenClaims;
  readonly log: Log;
}

interface RawRepository {
  id?: string; name?: string; defaultBranch?: string; remoteUrl?: string; webUrl?: string; size?: number; isDisabled?: boolean;
  project?: { id?: string; name?: string };
}

export function toRepositoryInfo(raw: RawRepository): RepositoryInfo {
  return {
    id: raw.id ?? '',
    name: raw.name ?? '',
    projectId: raw.project?.id ?? '',
    projectName: raw.project?.name ?? '',
    defaultBranch: raw.defaultBranch || undefined,
    remoteUrl: raw.remoteUrl ?? '',
    webUrl: raw.webUrl ?? '',
    size: raw.size ?? 0,
    isDisabled: raw.isDisabled ?? false,
  };
}

/** Runs one REST call, mapping any failure to a message that names the cause and the fix. */
export async function call<T>(c: Connection, what: string, request: () => Promise<T>, idempotent = true): Promise<T> {
  try {
    return idempotent ? await retrying(what, c.log, request) : await request();
  } catch (err) {
    const explained = explainDevOpsError(err, c.ref.organization, what, c.claims);
    const status = (err as { statusCode?: number } | null)?.statusCode ?? 0;
    if (idempotent || (status < 500 && status !== 429)) throw explained;
    // A write is never repeated blindly: it may have taken effect. Say so, and what to do.
    throw new DevOpsError(explained.message,
      'This change was not retried automatically, because repeating it could apply it twice; re-run the job (it finds what an earlier attempt created).',
      status, { cause: err });
  }
}

export async function gitApi(c: Connection): Promise<IGitApi> {
  return call(c, 'discover the Git REST API', () => c.api.getGitApi());
}

/** TF200016, as Azure DevOps words it for a project that does not exist or that the identity cannot see. */
export function projectNotFound(c: Connection, project: string): DevOpsError {
  return new DevOpsError(
    `TF200016: Project '${project}' does not exist in organization '${c.ref.organization.name}', or the identity cannot see it.`,
    'Check the project name, and add the identity to the project (or give it Basic access: Stakeholder cannot read repositories).',
    404);
}

/** Looks a repository up by name; tells "project not found" (TF200016) from "repository not found" (TF401019). */
export async function getRepository(c: Connection, git: IGitApi): Promise<RepositoryInfo> {
  const { project, repository } = c.ref;
  const raw = await call(c, `read repository '${describeRepository(c.ref)}'`, () => git.getRepository(repository, project));
  if (raw) {
    const info = toRepositoryInfo(raw);
    if (info.isDisabled) throw new DevOpsError(`Repository '${describeRepository(c.ref)}' is disabled.`, 'Ask a project administrator to enable it.');
    return info;
  }
  const core = await call(c, 'discover the Core REST API', () => c.api.getCoreApi());
  const found = await call(c, `read project '${project}'`, () => core.getProject(project));
  if (!found) throw projectNotFound(c, project);
  throw new DevOpsError(
    `TF401019: Repository '${repository}' does not exist in project '${project}' of '${c.ref.organization.name}', or the identity has no permission to read it.`,
    'Check the repository name, and grant the identity Read on it (Basic access is required; Stakeholder cannot read repositories).',
    404);
}

/**
 * Whether `ancestor` is in the history of any of `commits`, as Azure DevOps sees the repository: from their merge
 * bases (GET commits/{commitId}/mergebases), where an ancestor is its own merge base. 'unknown' when the server
 * lacks one of the commits (node-api turns the 404 into null) or finds no common history at all.
 */
export async function ancestryOnServer(
  c: Connection, git: IGitApi, repo: RepositoryInfo, ancestor: string, commits: readonly string[],
): Promise<'yes' | 'no' | 'unknown'> {
  const answers = await Promise.all(commits.map(async (commit) => {
    const bases = await call(c, `find the merge base of ${commit} and ${ancestor} in '${describeRepository(c.ref)}'`,
      () => git.getMergeBases(repo.id, commit, ancestor, repo.projectName));
    if (!bases?.length) return 'unknown';
    return bases.some((b) => b.commitId?.toLowerCase() === ancestor.toLowerCase()) ? 'yes' : 'no';
  }));
  return answers.includes('yes') ? 'yes' : answers.includes('unknown') ? 'unknown' : 'no';
}
