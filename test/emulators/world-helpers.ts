/**
 * Builders and look-ups over the world that tests use: a large REST-only organization for list
 * benchmarks, the pull requests of a repository, and repository look-up by names.
 */
import { derivedGuid } from './devops-json';
import {
  AGENT_VM,
  findOrganization,
  findProject,
  findRepository,
  identityByKey,
  TENANT_A,
  UAMI_BUILD,
  UAMI_READER,
  type Membership,
  type Organization,
  type PullRequestRecord,
  type Repository,
  type World,
} from './world';

export interface BulkOrganizationOptions {
  name: string;
  /** Number of projects (default 50), named `Project 001`… (a space, so URLs need encoding). */
  projects?: number;
  /** Repositories per project (default 20), named `repo-001`…, all REST-only. */
  reposPerProject?: number;
  tenantId?: string;
  /** Identity key → membership; default like fabrikam: agent-vm and uami-build contribute, uami-reader reads. */
  members?: Record<string, Membership>;
}

/**
 * Adds an organization of REST-only repositories (records with ids, names, default branch and size;
 * nothing on disk) to the world and returns it. Ids are derived from the names, so they are stable.
 * 50 × 20 repositories take a few milliseconds.
 */
export function addBulkOrganization(world: World, opts: BulkOrganizationOptions): Organization {
  if (findOrganization(world, opts.name)) throw new Error(`world already has an organization '${opts.name}'`);
  const projectCount = opts.projects ?? 50;
  const repoCount = opts.reposPerProject ?? 20;
  const pad = (n: number, of: number): string => String(n).padStart(Math.max(3, String(of).length), '0');
  const members = opts.members ?? {
    [AGENT_VM.key]: { access: 'basic', permission: 'contribute' },
    [UAMI_BUILD.key]: { access: 'basic', permission: 'contribute' },
    [UAMI_READER.key]: { access: 'basic', permission: 'read' },
  };
  const orgId = derivedGuid('bulk-organization', opts.name);
  const org: Organization = {
    name: opts.name,
    id: orgId,
    tenantId: opts.tenantId ?? TENANT_A,
    members: new Map(Object.entries(members).map(([key, m]) => [identityByKey(world, key).objectId, { ...m }])),
    projects: [],
  };
  for (let p = 1; p <= projectCount; p++) {
    const projectName = `Project ${pad(p, projectCount)}`;
    const repos: Repository[] = [];
    for (let r = 1; r <= repoCount; r++) {
      const name = `repo-${pad(r, repoCount)}`;
      repos.push({
        id: derivedGuid(orgId, projectName, name),
        name,
        defaultBranch: 'refs/heads/main',
        bareDir: '',
        restOnly: true,
        size: 1024 * (((p * 31 + r * 17) % 997) + 1),
      });
    }
    org.projects.push({ id: derivedGuid(orgId, projectName), name: projectName, description: `Bulk project ${p}`, repos });
  }
  world.organizations.push(org);
  return org;
}

/** The repository `org/project/repo` (names or ids, case-insensitive); throws when the world lacks it. */
export function repositoryIn(world: World, org: string, project: string, repo: string): Repository {
  const o = findOrganization(world, org);
  const p = o && findProject(o, project);
  const r = p && findRepository(p, repo);
  if (!r) throw new Error(`world has no repository ${org}/${project}/${repo}`);
  return r;
}

/** The live pull request list of a repository (created, updated and abandoned through REST). */
export function pullRequests(world: World, org: string, project: string, repo: string): PullRequestRecord[] {
  return (repositoryIn(world, org, project, repo).pullRequests ??= []);
}
