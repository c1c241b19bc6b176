/**
 * Location data azure-devops-node-api discovers before every API call (research/devops-side.md
 * §0, §3.2-§3.4, §3.8): `OPTIONS {org}/_apis/{area}` returns ApiResourceLocations, from which the
 * client builds URLs (route templates) and negotiates `api-version` (min/max/released/resource
 * versions); `GET {org}/_apis/ResourceAreas` maps area ids to base URLs.
 * Versions mirror the real service (maxVersion 7.2, released 7.1); node-api 17 asks for
 * `7.2-preview.N`, which these values let through unchanged (VsoClient.autoNegotiateApiVersion).
 */

export interface ApiResourceLocation {
  id: string;
  area: string;
  resourceName: string;
  routeTemplate: string;
  resourceVersion: number;
  minVersion: string;
  maxVersion: string;
  releasedVersion: string;
}

const location = (
  area: string,
  id: string,
  resourceName: string,
  routeTemplate: string,
  resourceVersion: number,
  releasedVersion = '7.1',
): ApiResourceLocation => ({ id, area, resourceName, routeTemplate, resourceVersion, minVersion: '1.0', maxVersion: '7.2', releasedVersion });

const repoScoped = '{project}/_apis/{area}/repositories/{repositoryId}/{resource}';

/** Keyed by lower-cased area name (the server matches areas case-insensitively). */
export const LOCATIONS: Record<string, ApiResourceLocation[]> = {
  location: [
    location('Location', 'e81700f7-3be2-46de-8624-2eb35882fcaa', 'ResourceAreas', '_apis/{resource}/{areaId}', 1),
    // connectionData is preview-only: a plain "7.1" is rejected (devops-side.md §1.3).
    location('Location', '00d9565f-ed9c-4a06-9a50-00e7896ccab4', 'ConnectionData', '_apis/{resource}', 1, '0.0'),
  ],
  core: [location('core', '603fe2ac-9723-48b9-88ad-09305aa6c6e1', 'projects', '_apis/{resource}/{*projectId}', 4)],
  git: [
    location('git', '225f7195-f9c7-4d14-ab28-a83f7ff77e1f', 'repositories', '{project}/_apis/{area}/{resource}/{repositoryId}', 2),
    // Real template unknown; node-api's only route value here is `projectId` (devops-side.md §3.8).
    location('git', '82aea7e8-9501-45dd-ac58-b069aa73b926', 'repositoriesPaged', '{projectId}/_apis/{area}/{resource}', 1),
    location('git', 'fb93c0db-47ed-4a31-8c20-47552878fb44', 'items', `${repoScoped}/{*path}`, 1),
    location('git', '2d874a60-a811-4f62-9c9f-963a6ea0a55b', 'refs', `${repoScoped}/{*filter}`, 2),
    location('git', 'ea98d07b-3c87-4971-8ede-a613694ffb55', 'pushes', `${repoScoped}/{pushId}`, 3),
    location('git', '9946fd70-0d40-406e-b686-b4744cbbcc37', 'pullRequests', `${repoScoped}/{pullRequestId}`, 2),
    location('git', '01a46dea-7d46-4d40-bc84-319e7c260d99', 'pullRequests', '{project}/_apis/{area}/{resource}/{pullRequestId}', 2),
    location('git', '5e8a8081-3851-4626-b677-9891cc04102e', 'annotatedTags', `${repoScoped}/{objectId}`, 1),
    location('git', 'c2570c3b-5b3f-41b8-98bf-5407bfde8d58', 'commits', `${repoScoped}/{commitId}`, 2),
    // GitMergeBasesController (ResourceName "mergeBases"); node-api's route values are project, repositoryNameOrId, commitId.
    location('git', '7cf2abb6-c964-4f7e-9872-f78c66e72e9c', 'mergeBases', '{project}/_apis/{area}/repositories/{repositoryNameOrId}/commits/{commitId}/{resource}', 1),
    location('git', 'd5b216de-d8d5-4d32-ae76-51df755b16d3', 'branchStats', '{project}/_apis/{area}/repositories/{repositoryId}/stats/branches', 2),
  ],
};

export const LOCATION_IDS = {
  resourceAreas: 'e81700f7-3be2-46de-8624-2eb35882fcaa',
  connectionData: '00d9565f-ed9c-4a06-9a50-00e7896ccab4',
  projects: '603fe2ac-9723-48b9-88ad-09305aa6c6e1',
  repositories: '225f7195-f9c7-4d14-ab28-a83f7ff77e1f',
  items: 'fb93c0db-47ed-4a31-8c20-47552878fb44',
  refs: '2d874a60-a811-4f62-9c9f-963a6ea0a55b',
  commits: 'c2570c3b-5b3f-41b8-98bf-5407bfde8d58',
  mergeBases: '7cf2abb6-c964-4f7e-9872-f78c66e72e9c',
  annotatedTags: '5e8a8081-3851-4626-b677-9891cc04102e',
  pullRequests: '9946fd70-0d40-406e-b686-b4744cbbcc37',
  pullRequestById: '01a46dea-7d46-4d40-bc84-319e7c260d99',
} as const;

export function findLocation(id: string): ApiResourceLocation | undefined {
  return Object.values(LOCATIONS)
    .flat()
    .find((l) => l.id === id);
}

/**
 * Areas listed by ResourceAreas. node-api throws "Could not find information for resource area"
 * for an id missing from a non-empty list, so every area a client uses must be here.
 */
export const RESOURCE_AREAS = [
  { id: '4e080c62-fa21-4fbc-8fef-2a10a2b38049', name: 'git' },
  { id: '79134c72-4a58-4b42-976c-04e7115f32bf', name: 'core' },
] as const;

export type VersionCheck = { ok: true } | { ok: false; typeKey: string; message: string };

/** How the server treats `api-version` against a location (exception names from devops-side.md §1.10; texts guessed). */
export function checkApiVersion(requested: string | undefined, loc: ApiResourceLocation): VersionCheck {
  if (!requested) return { ok: true };
  const m = /^(\d+\.\d+)(-preview(\.(\d+))?)?$/.exec(requested);
  if (!m) return { ok: false, typeKey: 'VssInvalidApiVersionException', message: `The api-version '${requested}' is not valid.` };
  const version = Number(m[1]);
  if (version > Number(loc.maxVersion) || version < Number(loc.minVersion)) {
    return {
      ok: false,
      typeKey: 'VssVersionOutOfRangeException',
      message: `The requested REST API version of ${m[1]} is out of range for this server. The latest REST API version this server supports is ${loc.maxVersion}.`,
    };
  }
  if (!m[2] && version > Number(loc.releasedVersion)) {
    return {
      ok: false,
      typeKey: 'VssInvalidPreviewVersionException',
      message: `The requested version "${requested}" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: "${requested}-preview"`,
    };
  }
  return { ok: true };
}
