/**
 * The scenario every emulator serves: tenants, managed identities, Azure DevOps organizations,
 * projects and repositories. Plain mutable data, shared by all servers, so a test can change a
 * membership or add a repository and the next request sees it.
 */
import * as path from 'node:path';

export type AccessLevel = 'basic' | 'stakeholder';
export type RepoPermission = 'read' | 'contribute';

export interface Identity {
  readonly key: string;
  displayName: string;
  readonly clientId: string;
  /** Service principal object id (the `oid` claim); what Azure DevOps knows the identity by. */
  readonly objectId: string;
  /** ARM id: the UAMI resource, or for a system-assigned identity the host resource (`xms_mirid`). */
  readonly resourceId: string;
  readonly tenantId: string;
  readonly kind: 'system' | 'user';
  /** Azure DevOps answers TF401444 ("sign in at least once") for this identity. */
  neverSignedIn?: boolean;
}

export interface Membership {
  access: AccessLevel;
  permission: RepoPermission;
}

export interface SubmoduleSpec {
  readonly path: string;
  readonly org: string;
  readonly project: string;
  readonly repo: string;
}

/** A branch policy; `requirePullRequest` is what makes Azure Repos answer TF402455 to direct pushes. */
export interface BranchPolicy {
  /** Full ref name, e.g. `refs/heads/main`. */
  branch: string;
  kind: 'requirePullRequest';
}

export type PullRequestStatusName = 'active' | 'abandoned' | 'completed';

/** A pull request as the emulator keeps it (rendered to ADO's GitPullRequest by devops-json.ts). */
export interface PullRequestRecord {
  readonly pullRequestId: number;
  readonly codeReviewId: number;
  status: PullRequestStatusName;
  /** Key of the identity that created it. */
  readonly createdBy: string;
  readonly creationDate: string;
  closedDate?: string;
  title: string;
  description: string;
  readonly sourceRefName: string;
  readonly targetRefName: string;
  isDraft: boolean;
  /** 'queued' when created; the emulator's "merge job" turns it into 'succeeded' on the next read. */
  mergeStatus: 'queued' | 'succeeded';
  readonly mergeId: string;
  lastMergeSourceCommit: string;
  lastMergeTargetCommit: string;
  supportsIterations: boolean;
  /** Key of the identity that set auto-complete (undefined: not set). */
  autoCompleteSetBy?: string;
  /** As sent, with `mergeStrategy` normalized to ADO's name ('squash'…). */
  completionOptions?: Record<string, unknown>;
}

export interface Repository {
  readonly id: string;
  name: string;
  /** Full ref name, as the REST API returns it. */
  defaultBranch: string;
  /** Bare repository on disk, served through `git http-backend` (unused when `restOnly`). */
  readonly bareDir: string;
  /** Gitlinks committed on the default branch, pointing at the emulator's own clone URLs. */
  readonly submodules?: readonly SubmoduleSpec[];
  /** Branch policies: a real pre-receive hook for git, `rejectedByPolicy` for the refs API. */
  policies?: BranchPolicy[];
  /** Reported as `isDisabled` by the REST API. */
  isDisabled?: boolean;
  /** A REST-only record (list benchmarks): never put on disk, cannot be cloned or read. */
  readonly restOnly?: boolean;
  /** `size` in REST answers; default the packed size on disk. */
  size?: number;
  /** Pull requests of this repository (see `pullRequests()` in world-helpers.ts). */
  pullRequests?: PullRequestRecord[];
}

export interface Project {
  readonly id: string;
  name: string;
  description: string;
  repos: Repository[];
}

export interface Organization {
  readonly name: string;
  /** Host (collection) id: `instanceId` in connectionData. */
  readonly id: string;
  /** Entra tenant the organization is connected to (`X-VSS-ResourceTenant`). */
  tenantId: string;
  /** Keyed by identity object id. */
  members: Map<string, Membership>;
  projects: Project[];
}

/** A federated identity credential on an app / UAMI, as Entra matches it for workload identity. */
export interface FederatedCredential {
  readonly identityKey: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
}

export interface World {
  readonly root: string;
  identities: Identity[];
  /** Keys of the identities assigned to the agent's host: the only ones the identity endpoints issue. */
  assigned: string[];
  organizations: Organization[];
  federatedCredentials: FederatedCredential[];
}

export const AZURE_DEVOPS_RESOURCE = '499b84ac-1321-427f-aa17-267ca6975798';
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

export const TENANT_A = '43378906-d6e6-426f-85ad-7fc8269f2c09';
export const TENANT_B = '1e1198a7-8894-407c-acf5-3a9c7de158b7';
export const SUBSCRIPTION_ID = '4d837284-39d0-4fc0-aa3f-f4f951a23fb8';
export const RESOURCE_GROUP = 'rg-agents';

export const AGENT_VM = {
  key: 'agent-vm',
  clientId: 'ed966fa4-ca9c-4fe3-bc17-6351a53eafd1',
  objectId: '427f79a5-a51b-43c6-bb9a-267e2afdfee0',
} as const;
export const UAMI_BUILD = {
  key: 'uami-build',
  clientId: '779039d3-bf45-4647-92dc-83bb747cb764',
  objectId: '28194d06-7228-4c07-a9bd-936209ac2d91',
} as const;
export const UAMI_OUTSIDER = {
  key: 'uami-outsider',
  clientId: '959d8082-6cdf-46cb-8f59-5199239a373c',
  objectId: '2f0187ba-0d29-42fb-a772-a6b0356cbd5e',
} as const;
export const UAMI_READER = {
  key: 'uami-reader',
  clientId: '5216adcd-6766-4e0a-a98e-d6b273d2e58c',
  objectId: 'd1e8283e-9e07-4735-9f5f-48945a4803d6',
} as const;
/** A UAMI of tenant B, member of northwind; not assigned to the agent (mint its tokens directly). */
export const NW_BUILD = {
  key: 'nw-build',
  clientId: 'c10f5b76-8618-42e1-9838-4b7e73c59051',
  objectId: '9fd1661e-5768-4f6c-8696-b0aad3262f5b',
} as const;

export const CONTOSO = {
  name: 'contoso',
  id: '456fb84d-14ff-4601-91ad-f79fc4123ca8',
  project: { name: 'Web', id: '115e7fd9-78b7-46e8-9764-23581c7198e2' },
  repo: { name: 'app', id: '850f9b02-de79-4cf6-91f7-c8654b30ac7e' },
} as const;
export const FABRIKAM = {
  name: 'fabrikam',
  id: 'c3ab0d86-1b94-4445-bd56-7b53ec17d354',
  project: { name: 'Shared Tools', id: '3e7e7a18-4d50-4bb9-82ff-48646dce11c8' },
  templates: { name: 'templates', id: '09d8ef46-94e6-45b7-87ce-0166bc3da069' },
  unicode: { name: 'Ünïcode Repo', id: '95f75408-0247-4c76-b4e5-dbe68b496c23' },
} as const;
export const NORTHWIND = {
  name: 'northwind',
  id: 'c5b7a7db-d645-47cf-9161-6b0f5abe64d9',
  project: { name: 'Ops', id: 'ff11a785-1255-410f-b224-2f202973fd8a' },
  repo: { name: 'infra', id: '8cc7ef8d-406d-4661-ac32-e5cf729918c6' },
} as const;

/**
 * An organization created as "MyOrg": Azure DevOps keeps that spelling in every URL it hands out (remoteUrl,
 * locationUrl, connectionData) and accepts any other spelling in requests, as for every organization here.
 * The others are lower case, like most real ones, so this one catches a client that matches names by case.
 */
export const MYORG = {
  name: 'MyOrg',
  id: '5ed5035d-93cf-4f95-a083-6a887e3b80b3',
  project: { name: 'Platform', id: '949abb2e-094e-488d-8689-6088eee01462' },
  repo: { name: 'service', id: 'eb4c8d47-d7a2-413e-8d54-4e0b48b90b04' },
} as const;

/** The service-account token issuer and subject that uami-build federates with (AKS workload identity). */
export const AKS_ISSUER = `https://oidc.aks.emulator.invalid/${TENANT_A}/`;
export const AKS_SUBJECT = 'system:serviceaccount:build:agent';

/** The git content every default repository gets (see git-repos.ts). */
export const SEED = {
  branches: ['main', 'release/1.0'],
  annotatedTag: 'v1.0.0',
  lightweightTag: 'v0.9',
  binaryFile: 'assets/logo.bin',
} as const;

function uamiResourceId(name: string): string {
  return `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

function userIdentity(ids: { key: string; clientId: string; objectId: string }, tenantId: string): Identity {
  return { ...ids, displayName: ids.key, resourceId: uamiResourceId(ids.key), tenantId, kind: 'user' };
}

const CONTRIBUTOR: Membership = { access: 'basic', permission: 'contribute' };

/** The default scenario (data only; `createRepositories` in git-repos.ts puts the repos on disk). */
export function defaultWorld(root: string): World {
  const repo = (org: string, ids: { name: string; id: string }, submodules?: SubmoduleSpec[]): Repository => ({
    id: ids.id,
    name: ids.name,
    defaultBranch: 'refs/heads/main',
    bareDir: path.join(root, 'repos', org, `${ids.id}.git`),
    ...(submodules ? { submodules } : {}),
  });
  return {
    root,
    identities: [
      {
        ...AGENT_VM,
        displayName: AGENT_VM.key,
        resourceId: `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachines/${AGENT_VM.key}`,
        tenantId: TENANT_A,
        kind: 'system',
      },
      userIdentity(UAMI_BUILD, TENANT_A),
      userIdentity(UAMI_OUTSIDER, TENANT_A),
      userIdentity(UAMI_READER, TENANT_A),
      userIdentity(NW_BUILD, TENANT_B),
    ],
    assigned: [AGENT_VM.key, UAMI_BUILD.key, UAMI_OUTSIDER.key, UAMI_READER.key],
    organizations: [
      {
        name: CONTOSO.name,
        id: CONTOSO.id,
        tenantId: TENANT_A,
        members: new Map([
          [AGENT_VM.objectId, { ...CONTRIBUTOR }],
          [UAMI_BUILD.objectId, { ...CONTRIBUTOR }],
        ]),
        projects: [
          {
            ...CONTOSO.project,
            description: 'Web front end',
            repos: [
              repo(CONTOSO.name, CONTOSO.repo, [
                { path: 'templates', org: FABRIKAM.name, project: FABRIKAM.project.name, repo: FABRIKAM.templates.name },
              ]),
            ],
          },
        ],
      },
      {
        name: FABRIKAM.name,
        id: FABRIKAM.id,
        tenantId: TENANT_A,
        members: new Map([
          [AGENT_VM.objectId, { ...CONTRIBUTOR }],
          [UAMI_BUILD.objectId, { ...CONTRIBUTOR }],
          [UAMI_READER.objectId, { access: 'basic', permission: 'read' }],
        ]),
        projects: [
          {
            ...FABRIKAM.project,
            description: 'Pipeline templates shared across organizations',
            repos: [repo(FABRIKAM.name, FABRIKAM.templates), repo(FABRIKAM.name, FABRIKAM.unicode)],
          },
        ],
      },
      {
        name: NORTHWIND.name,
        id: NORTHWIND.id,
        tenantId: TENANT_B,
        members: new Map([[NW_BUILD.objectId, { ...CONTRIBUTOR }]]),
        projects: [{ ...NORTHWIND.project, description: 'Operations', repos: [repo(NORTHWIND.name, NORTHWIND.repo)] }],
      },
      {
        name: MYORG.name,
        id: MYORG.id,
        tenantId: TENANT_A,
        members: new Map([
          [AGENT_VM.objectId, { ...CONTRIBUTOR }],
          [UAMI_BUILD.objectId, { ...CONTRIBUTOR }],
        ]),
        projects: [{ ...MYORG.project, description: 'Services', repos: [repo(MYORG.name, MYORG.repo)] }],
      },
    ],
    federatedCredentials: [
      { identityKey: UAMI_BUILD.key, issuer: AKS_ISSUER, subject: AKS_SUBJECT, audience: TOKEN_EXCHANGE_AUDIENCE },
    ],
  };
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Identity by its key. Throws for an unknown key: that is a bug in the test, not a scenario. */
export function identityByKey(world: World, key: string): Identity {
  const found = world.identities.find((i) => i.key === key);
  if (!found) throw new Error(`world has no identity '${key}'`);
  return found;
}

export function identityByObjectId(world: World, objectId: string): Identity | undefined {
  return world.identities.find((i) => i.objectId.toLowerCase() === objectId.toLowerCase());
}

/** Azure DevOps matches organization, project and repository names case-insensitively. */
export function findOrganization(world: World, name: string): Organization | undefined {
  return world.organizations.find((o) => same(o.name, name));
}

export function findProject(org: Organization, nameOrId: string): Project | undefined {
  return org.projects.find((p) => p.id === nameOrId.toLowerCase() || same(p.name, nameOrId));
}

export function findRepository(project: Project, nameOrId: string): Repository | undefined {
  return project.repos.find((r) => r.id === nameOrId.toLowerCase() || same(r.name, nameOrId));
}

/** `/{org}/{project}/_git/{repo}`, each part percent-encoded as Azure DevOps encodes `remoteUrl`. */
export function gitUrlPath(org: string, project: string, repo: string): string {
  return `/${encodeURIComponent(org)}/${encodeURIComponent(project)}/_git/${encodeURIComponent(repo)}`;
}

/** Like the REST `remoteUrl`: `https://{org}@dev.azure.com/{org}/{project}/_git/{repo}`, on `baseUrl`. */
export function cloneUrlFor(baseUrl: string, org: string, project: string, repo: string): string {
  const base = new URL(baseUrl);
  return `${base.protocol}//${encodeURIComponent(org)}@${base.host}${gitUrlPath(org, project, repo)}`;
}
