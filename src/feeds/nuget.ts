/**
 * NuGet / dotnet / MSBuild: the Azure Artifacts credential provider (microsoft/artifacts-credprovider), which
 * NuGet asks for the credentials of each package source (by its exact index.json URL), reads two variables:
 *
 * - ARTIFACTS_CREDENTIALPROVIDER_FEED_ENDPOINTS `{"endpointCredentials":[{"endpoint","clientId"}]}`: the
 *   provider's own managed-identity mode (1.2.0 and later): it asks the identity endpoint for a fresh token
 *   itself (MSAL's ManagedIdentityApplication: a GUID is a user-assigned client id, anything else such as
 *   `system` the system-assigned identity; src/Authentication/MsalManagedIdentityTokenProvider.cs), so a
 *   restore of any length never holds an expired token. Used whenever the identity came from an endpoint
 *   MSAL knows (IMDS, App Service, Arc, Service Fabric, Cloud Shell, Azure ML) and a client id is known.
 * - VSS_NUGET_EXTERNAL_FEED_ENDPOINTS `{"endpointCredentials":[{"endpoint","username","password"}]}`: a
 *   fixed token, for identities MSAL cannot reach itself (AKS workload identity).
 *
 * Never both for one feed: the provider looks at the fixed credentials first and returns them when the
 * endpoint matches (CredentialProviders/VstsBuildTaskServiceEndpoint/VstsBuildTaskServiceEndpointCredentialProvider.cs,
 * HandleRequestAsync), so a fixed token next to the managed-identity entry would switch renewal off.
 * Entries other steps set (NuGetAuthenticate@1 merges into VSS_NUGET_EXTERNAL_FEED_ENDPOINTS the same way,
 * artifacts-common credentialProviderUtils.ts) are kept; ours replace theirs for the same endpoint, which the
 * provider compares case-insensitively (FeedEndpointCredentialsParser.cs). The legacy variable name is the
 * one every provider version reads (ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS came with 2.0.0 and
 * takes precedence when set, EnvUtil.cs).
 */
import { setJobVariable, type ClientFeed, type SetVariable, type WriteContext, type Written } from './job';

export const FIXED_VARIABLE = 'VSS_NUGET_EXTERNAL_FEED_ENDPOINTS';
export const IDENTITY_VARIABLE = 'ARTIFACTS_CREDENTIALPROVIDER_FEED_ENDPOINTS';

interface Entry {
  endpoint?: unknown;
  [key: string]: unknown;
}

function entries(json: string | undefined, job: WriteContext['job'], name: string): Entry[] {
  if (!json?.trim()) return [];
  try {
    const parsed = JSON.parse(json) as { endpointCredentials?: unknown };
    if (Array.isArray(parsed.endpointCredentials)) return parsed.endpointCredentials.filter((e): e is Entry => typeof e === 'object' && e !== null);
  } catch {
    /* reported below */
  }
  job.debug(`${name} held no endpointCredentials JSON; its value is replaced.`);
  return [];
}

const endpointOf = (e: Entry): string => (typeof e.endpoint === 'string' ? e.endpoint.toLowerCase() : '');

/**
 * `renewWith`: the client id for the provider's managed-identity mode (`system` for the system-assigned
 * identity), or undefined to hand it the token itself.
 */
export function configureNuget(ctx: WriteContext, feeds: readonly ClientFeed[], renewWith: string | undefined): Written {
  const ours = new Set(feeds.map((f) => f.url.toLowerCase()));
  const others = (name: string): Entry[] => entries(ctx.job.variable(name), ctx.job, name).filter((e) => !ours.has(endpointOf(e)));
  const fixed = others(FIXED_VARIABLE);
  const identity = others(IDENTITY_VARIABLE);
  const variables: SetVariable[] = [];
  if (renewWith) {
    identity.push(...feeds.map((f) => ({ endpoint: f.url, clientId: renewWith })));
    setJobVariable(ctx, IDENTITY_VARIABLE, JSON.stringify({ endpointCredentials: identity }), false, variables);
    // A fixed entry for the same endpoint (an earlier step's) would win over renewal: drop it.
    if (ctx.job.variable(FIXED_VARIABLE) !== undefined) setJobVariable(ctx, FIXED_VARIABLE, JSON.stringify({ endpointCredentials: fixed }), true, variables);
    return {
      client: 'nuget', feeds, files: [], variables,
      how: `${IDENTITY_VARIABLE}: the Azure Artifacts credential provider (1.2.0 or later) gets a fresh token from the identity (client id '${renewWith}') for each restore`,
    };
  }
  fixed.push(...feeds.map((f) => ({ endpoint: f.url, username: ctx.user, password: ctx.token })));
  const json = JSON.stringify({ endpointCredentials: fixed });
  setJobVariable(ctx, FIXED_VARIABLE, json, true, variables);
  if (ctx.job.variable(IDENTITY_VARIABLE) !== undefined) setJobVariable(ctx, IDENTITY_VARIABLE, JSON.stringify({ endpointCredentials: identity }), false, variables);
  return { client: 'nuget', feeds, files: [], variables, how: `${FIXED_VARIABLE}: the Azure Artifacts credential provider hands NuGet this token` };
}
