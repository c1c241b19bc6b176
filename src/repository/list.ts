/**
 * `list`: repositories of one project or a whole organization. Projects are paged with `$top` and the
 * `x-ms-continuationtoken` header (node-api drops that header, so the page request is made through its
 * own rest client and version negotiation); the repositories of each project are then read concurrently.
 */
import type { ICoreApi } from 'azure-devops-node-api/CoreApi';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { IGitApi } from 'azure-devops-node-api/GitApi';
import type { GitRepository } from 'azure-devops-node-api/interfaces/GitInterfaces';
import { branchName } from './refs';
import { call, projectNotFound, toRepositoryInfo, type Connection, type RepositoryInfo } from '../devops/repos';

const PROJECT_PAGE = 100;
const CONCURRENCY = 8;
const PROJECTS_LOCATION = '603fe2ac-9723-48b9-88ad-09305aa6c6e1';

interface ProjectPage { readonly names: string[]; readonly next?: string }

async function projectPage(c: Connection, core: ICoreApi, token?: string): Promise<ProjectPage> {
  return call(c, 'list projects', async () => {
    const query: Record<string, string | number> = { $top: PROJECT_PAGE };
    if (token) query['continuationToken'] = token;
    const version = await core.vsoClient.getVersioningData('7.2-preview.4', 'core', PROJECTS_LOCATION, {}, query);
    const res = await core.rest.get<{ value?: Array<{ name?: string }> }>(version.requestUrl!, core.createRequestOptions('application/json', version.apiVersion));
    const header = (res.headers as Record<string, string | string[] | undefined>)['x-ms-continuationtoken'];
    const next = Array.isArray(header) ? header[0] : header;
    return { names: (res.result?.value ?? []).map((p) => p.name ?? '').filter(Boolean), next: next || undefined };
  });
}

/** Every project name of the organization, following continuation tokens. */
export async function listProjects(c: Connection, core: ICoreApi): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await projectPage(c, core, token);
    names.push(...page.names);
    token = page.next;
  } while (token);
  return names;
}

async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Repositories of `project`, or of every project when it is undefined; sorted by project then name. */
export async function listRepositories(c: Connection, git: IGitApi, core: ICoreApi, project?: string): Promise<RepositoryInfo[]> {
  const projects = project ? [project] : await listProjects(c, core);
  const reposOf = async (name: string): Promise<GitRepository[]> => {
    const repos = await call(c, `list repositories of project '${name}'`, () => git.getRepositories(name));
    // node-api turns a 404 into null. A project of the organization's own list may have just been deleted;
    // a project the user named must exist.
    if (!repos && project) throw projectNotFound(c, project);
    return repos ?? [];
  };
  // The first request alone: a GitApi negotiates its API version (OPTIONS) on first use and caches it only
  // once that succeeds, so starting the pool cold would send one OPTIONS per worker.
  const first = projects.length ? [await reposOf(projects[0]!)] : [];
  const perProject = [...first, ...(await mapConcurrently(projects.slice(1), CONCURRENCY, reposOf))];
  return perProject.flat().map(toRepositoryInfo).sort((a, b) =>
    a.projectName.localeCompare(b.projectName) || a.name.localeCompare(b.name));
}

/** A readable table: project, repository, default branch, size, disabled. */
export function formatTable(repos: readonly RepositoryInfo[]): string {
  const rows = [['Project', 'Repository', 'Default branch', 'Size', 'Disabled'],
    ...repos.map((r) => [r.projectName, r.name, branchName(r.defaultBranch ?? '') || '(empty)', formatSize(r.size), r.isDisabled ? 'yes' : ''])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** Writes the list as JSON to `path` (folders created), complete or not at all. */
export function writeRepositoryList(path: string, repos: readonly RepositoryInfo[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.partial-${process.pid}`;
  writeFileSync(partial, `${JSON.stringify(repos, null, 2)}\n`);
  renameSync(partial, path);
}
