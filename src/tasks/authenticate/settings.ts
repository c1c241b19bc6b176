import { tmpdir } from 'node:os';
import type { IdentitySelector } from '../../identity/managed-identity';
import { booleanInput, homeOrganization, hostPolicy, identityInput, organizationsInput, variableNameInput, type InputSource } from '../../agent/inputs';
import type { HostPolicy, Organization } from '../../devops/organizations';
import { parseFeeds, type Feed } from '../../feeds/feed';

export const DEFAULT_VARIABLE_NAME = 'AzureDevOps.AccessToken';

/** Everything ManagedIdentityAuthenticate@1 reads, parsed once. Field names match task.json inputs. */
export interface AuthenticateSettings {
  /** clientId / objectId / resourceId; none = the system-assigned (or only) identity. */
  readonly identity: IdentitySelector;
  /** variableName; default AzureDevOps.AccessToken. */
  readonly variableName: string;
  /** isOutput; default false. */
  readonly isOutput: boolean;
  /** organizations; default the pipeline's own organization. */
  readonly organizations: readonly Organization[];
  /** verify; default true. */
  readonly verify: boolean;
  /** configureGit; default true. */
  readonly configureGit: boolean;
  /** feeds; default none. */
  readonly feeds: readonly Feed[];
  /** onlyAddExtraIndex (pip); default false. */
  readonly onlyAddExtraIndex: boolean;
  /** Hosts besides Azure DevOps that may receive the token (loopback emulators only). */
  readonly policy: HostPolicy;
  /** Agent.TempDirectory: where the git session file and the feed configuration files live. */
  readonly tempDirectory: string;
}

export function readAuthenticateSettings(source: InputSource): AuthenticateSettings {
  const policy = hostPolicy(source);
  return Object.freeze({
    identity: identityInput(source),
    variableName: variableNameInput(source, 'variableName', DEFAULT_VARIABLE_NAME),
    isOutput: booleanInput(source, 'isOutput', false),
    organizations: organizationsInput(source, 'organizations', policy),
    verify: booleanInput(source, 'verify', true),
    configureGit: booleanInput(source, 'configureGit', true),
    feeds: parseFeeds('feeds', source.input('feeds'), policy, homeOrganization(source, policy)),
    onlyAddExtraIndex: booleanInput(source, 'onlyAddExtraIndex', false),
    policy,
    tempDirectory: source.variable('Agent.TempDirectory') ?? tmpdir(),
  });
}
