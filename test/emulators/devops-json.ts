/**
 * JSON shapes Azure DevOps returns: the error envelope (devops-side.md §2), identities and
 * connectionData (§1.3), TeamProjectReference (§1.4) and GitRepository (§1.5).
 */
import { createHash } from 'node:crypto';
import type { Identity, Organization, Project, Repository } from './world';
import { cloneUrlFor, gitUrlPath } from './world';

export const ANONYMOUS_ID = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';

/** A failure that becomes ADO's JSON error envelope. */
export class DevOpsError extends Error {
  constructor(
    readonly status: number,
    readonly typeKey: string,
    message: string,
    readonly typeName = `Microsoft.TeamFoundation.Framework.Server.${typeKey}, Microsoft.TeamFoundation.Framework.Server`,
    readonly headers: Record<string, string | string[]> = {},
  ) {
    super(message);
  }
}

export function envelope(err: DevOpsError): object {
  return { $id: '1', innerException: null, message: err.message, typeName: err.typeName, typeKey: err.typeKey, errorCode: 0, eventId: 3000 };
}

export const repositoryNotFound = (nameOrId: string): DevOpsError =>
  new DevOpsError(
    404,
    'GitRepositoryNotFoundException',
    `TF401019: The Git repository with name or identifier ${nameOrId} does not exist or you do not have permissions for the operation you are attempting.`,
    'Microsoft.TeamFoundation.Git.Server.GitRepositoryNotFoundException, Microsoft.TeamFoundation.Git.Server',
  );

export const projectNotFound = (nameOrId: string): DevOpsError =>
  new DevOpsError(
    404,
    'ProjectDoesNotExistWithNameException',
    `TF200016: The following project does not exist: ${nameOrId}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.`,
    'Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException, Microsoft.TeamFoundation.Core.WebApi',
  );

/** A stable GUID derived from `parts` (ids Azure DevOps assigns, e.g. an identity's id in an org). */
export function derivedGuid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\n')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The id Azure DevOps gives a service principal inside one organization. */
export const devopsIdentityId = (org: Organization, identity: Identity): string => derivedGuid(org.id, identity.objectId);

export function identityJson(org: Organization, identity: Identity): object {
  const id = devopsIdentityId(org, identity);
  return {
    id,
    descriptor: `Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;${identity.tenantId}\\${identity.objectId}`,
    // Graph subject descriptors are "<kind>.<base64 of an internal id>"; the internal id here is `id`.
    subjectDescriptor: `aadsp.${Buffer.from(id).toString('base64url')}`,
    providerDisplayName: identity.displayName,
    isActive: true,
    isContainer: false,
    members: [],
    memberOf: [],
    properties: { Account: { $type: 'System.String', $value: identity.displayName } },
    resourceVersion: 2,
    metaTypeId: 0,
  };
}

export const anonymousJson = {
  id: ANONYMOUS_ID,
  descriptor: `System:PublicAccess;${ANONYMOUS_ID}`,
  providerDisplayName: 'Anonymous',
  isActive: true,
  isContainer: false,
  members: [],
  memberOf: [],
  properties: {},
  resourceVersion: 2,
  metaTypeId: 255,
};

export function connectionDataJson(org: Organization, identity: Identity | undefined): object {
  const user = identity ? identityJson(org, identity) : anonymousJson;
  return {
    authenticatedUser: user,
    authorizedUser: user,
    instanceId: org.id,
    deploymentId: derivedGuid('deployment', org.id),
    deploymentType: 'hosted',
    locationServiceData: {
      serviceOwner: '00025394-6065-48ca-87d9-7f5672854ef7',
      defaultAccessMappingMoniker: 'PublicAccessMapping',
      lastChangeId: 1,
      lastChangeId64: 1,
    },
  };
}

const LAST_UPDATE = '2024-01-15T09:30:00.000Z';

export function projectJson(orgUrl: string, project: Project): object {
  return {
    id: project.id,
    name: project.name,
    description: project.description,
    url: `${orgUrl}/_apis/projects/${project.id}`,
    state: 'wellFormed',
    revision: 11,
    visibility: 'private',
    lastUpdateTime: LAST_UPDATE,
  };
}

/** `baseUrl` is the server root; `remoteUrl` carries the org as userinfo, like dev.azure.com. */
export function repositoryJson(baseUrl: string, org: Organization, project: Project, repo: Repository, size: number): object {
  const orgUrl = `${baseUrl}/${encodeURIComponent(org.name)}`;
  const remoteUrl = cloneUrlFor(baseUrl, org.name, project.name, repo.name);
  return {
    id: repo.id,
    name: repo.name,
    url: `${orgUrl}/${project.id}/_apis/git/repositories/${repo.id}`,
    project: projectJson(orgUrl, project),
    defaultBranch: repo.defaultBranch,
    size,
    remoteUrl,
    sshUrl: `git@ssh.dev.azure.com:v3/${org.name}/${encodeURIComponent(project.name)}/${encodeURIComponent(repo.name)}`,
    webUrl: `${baseUrl}${gitUrlPath(org.name, project.name, repo.name)}`,
    isDisabled: repo.isDisabled ?? false,
    isInMaintenance: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Git REST errors and shapes. Texts, type names and statuses come from the decompiled Azure DevOps
// Server 2022 sources (github.com/mjwrona/decompiled: Microsoft.TeamFoundation.Git.Server and
// .SourceControl.WebServer Resources.resx, the exceptions, and GitApiController.s_httpExceptions,
// which maps each exception type to its HTTP status). Hosted Azure DevOps runs the same code base.

const GIT_SERVER = 'Microsoft.TeamFoundation.Git.Server';
const WEB_SERVER = 'Microsoft.TeamFoundation.SourceControl.WebServer';

/** An exception of Microsoft.TeamFoundation.Git.Server (typeKey = class name). */
export const gitError = (status: number, typeKey: string, message: string): DevOpsError =>
  new DevOpsError(status, typeKey, message, `${GIT_SERVER}.${typeKey}, ${GIT_SERVER}`);

/**
 * .NET ArgumentException messages carry the parameter name on a second line (.NET Framework format,
 * which the 2022 server uses; whether hosted ADO prints "(Parameter 'x')" instead is unknown).
 */
const argumentMessage = (message: string, paramName?: string): string => (paramName ? `${message}\r\nParameter name: ${paramName}` : message);

/**
 * SourceControl.WebServer's InvalidArgumentValueException(paramName, message) (400). Its one-argument
 * constructor takes a *parameter name*, and the controllers pass their message there, so those errors
 * read "Invalid argument value.\r\nParameter name: <the real message>": reproduced on purpose.
 */
export const invalidArgument = (paramName: string, message = 'Invalid argument value.'): DevOpsError =>
  new DevOpsError(400, 'InvalidArgumentValueException', argumentMessage(message, paramName), `${WEB_SERVER}.InvalidArgumentValueException, ${WEB_SERVER}`);

/** A plain System.ArgumentException (400), e.g. thrown with `.Expected("git")`. */
export const argumentError = (message: string, paramName?: string): DevOpsError =>
  new DevOpsError(400, 'ArgumentException', argumentMessage(message, paramName), 'System.ArgumentException, mscorlib');

/** TF401027 (GitNeedsPermission): `identity` is the caller's AuthenticatedUserName (here its display name). */
export const needsPermissionMessage = (identity: string, permission: string): string =>
  `TF401027: You need the Git '${permission}' permission to perform this action. Details: identity '${identity}', scope 'repository'.`;

export const needsPermission = (identity: string, permission: string): DevOpsError =>
  gitError(403, 'GitNeedsPermissionException', needsPermissionMessage(identity, permission));

/** GitVersionDescriptor.ToString(): `<{VersionType}: {Version} {VersionOptions or ''}>`, e.g. `<Branch: main >`. */
export const versionText = (type: 'Branch' | 'Tag' | 'Commit', version: string): string => `<${type}: ${version} >`;

export interface IdentityRefInput {
  org: Organization;
  orgUrl: string;
  identity: Identity;
}

/** IdentityRef (createdBy, autoCompleteSetBy, pushedBy…). uniqueName: the display name (see X-VSS-UserData). */
export function identityRefJson({ org, orgUrl, identity }: IdentityRefInput): object {
  const id = devopsIdentityId(org, identity);
  return {
    displayName: identity.displayName,
    url: `${orgUrl}/_apis/Identities/${id}`,
    _links: { avatar: { href: `${orgUrl}/_apis/GraphProfile/MemberAvatars/aadsp.${Buffer.from(id).toString('base64url')}` } },
    id,
    uniqueName: identity.displayName,
    imageUrl: `${orgUrl}/_api/_common/identityImage?id=${id}`,
    descriptor: `aadsp.${Buffer.from(id).toString('base64url')}`,
  };
}
