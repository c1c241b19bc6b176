/**
 * Which managed-identity source the identity libraries will use on this machine, and why. It mirrors,
 * in order, what the installed libraries do (read from node_modules; research/managed-identity.md §1.1):
 *
 * 0. @azure/identity 4.13.1 `tokenExchangeMsi.isAvailable`: AKS workload identity when
 *    (the clientId selector || AZURE_CLIENT_ID) && AZURE_TENANT_ID && AZURE_FEDERATED_TOKEN_FILE.
 * 1-6. msal-node 5.6.0 `ManagedIdentityClient.selectManagedIdentitySource`, i.e. each source's `tryCreate`:
 *    Service Fabric, App Service, Azure Machine Learning, Cloud Shell, Azure Arc (variables, or the
 *    himds executable readable), then IMDS.
 *
 * Every test is on a non-empty value, as `tryCreate` does. msal's `getManagedIdentitySource()` (which
 * @azure/identity uses only for a log line and the Cloud Shell / Service Fabric selector checks) counts
 * a variable set to '' as present; where the two disagree the request goes where `tryCreate` says, so
 * we follow `tryCreate` and report empty identity variables as ignored.
 *
 * Which selectors each source honours is the library's behaviour, not the research note's table: msal-node
 * 5.6.0 forwards client_id / object_id / msi_res_id to Azure Arc and fails closed unless Arc echoes the
 * identity (AzureArc.ts `validateUserAssignedIdentityWasHonored`); managed-identity.md §4 says 5.x rejects
 * every user-assigned identity on Arc, which was true of 5.5.0 only.
 *
 * It reads variable names and one file's existence; values appear only for endpoint URLs (never secrets).
 */
import { accessSync, constants } from 'node:fs';

export type SourceName =
  | 'AKS workload identity'
  | 'Service Fabric'
  | 'App Service'
  | 'Azure Machine Learning'
  | 'Cloud Shell'
  | 'Azure Arc'
  | 'IMDS';

export type SelectorKind = 'clientId' | 'objectId' | 'resourceId';

export interface IdentitySource {
  readonly name: SourceName;
  /** Why it was chosen: the variables (or file) that decided it. */
  readonly reason: string;
  /** The variables that decided it (empty for the IMDS fallback). */
  readonly decidedBy: readonly string[];
  /** Identity variables that are set but did not decide the source (often leftovers), with '(empty)' when blank. */
  readonly ignored: readonly string[];
  /** The token endpoint the request goes to (scheme, host, port and path only), for messages. */
  readonly endpoint: string;
  /** Which user-assigned selectors this source honours. */
  readonly selectors: readonly SelectorKind[];
  /** The sources checked before this one, in the libraries' order. */
  readonly skipped: readonly SourceName[];
}

/** Every variable the libraries read to choose or configure a managed-identity source. */
export const IDENTITY_VARIABLES = [
  'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_AUTHORITY_HOST',
  'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT', 'IMDS_ENDPOINT',
  'MSI_ENDPOINT', 'MSI_SECRET', 'DEFAULT_IDENTITY_CLIENT_ID', 'AZURE_POD_IDENTITY_AUTHORITY_HOST',
] as const;

const ORDER: readonly SourceName[] = [
  'AKS workload identity', 'Service Fabric', 'App Service', 'Azure Machine Learning', 'Cloud Shell', 'Azure Arc', 'IMDS',
];

/**
 * Where the Azure Connected Machine agent's himds executable is, whose presence makes msal-node choose Azure Arc
 * (msal-node 5.6.0 AzureArc.mjs AZURE_ARC_FILE_DETECTION, keyed by platform: win32 and linux only, so no other
 * platform ever detects Arc this way). msal reads ProgramFiles once, when it loads; so do the tasks (one per process).
 */
export function arcHimdsFile(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (platform === 'win32') return `${env['ProgramFiles']}\\AzureConnectedMachineAgent\\himds.exe`;
  return platform === 'linux' ? '/opt/azcmagent/bin/himds' : undefined;
}

/**
 * The folder of the key files Arc's challenge names, the only one msal-node accepts them from (AzureArc.mjs
 * SUPPORTED_AZURE_ARC_PLATFORMS). Reading them takes membership of the 'himds' group on Linux, and of the local
 * Administrators or 'Hybrid agent extension applications' group on Windows (learn.microsoft.com
 * azure/azure-arc/servers/managed-identity-authentication, security-overview; the group is created when the agent is
 * installed: agent-overview#windows-agent-installation-details).
 */
export function arcKeyFolder(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (platform === 'win32') return `${env['ProgramData']}\\AzureConnectedMachineAgent\\Tokens\\`;
  return platform === 'linux' ? '/var/opt/azcmagent/tokens/' : undefined;
}

/**
 * The account a step runs as when it runs in a Windows container: ContainerAdministrator (S-1-5-93-2-1) and
 * ContainerUser (S-1-5-93-2-2) exist only there, and Windows container images run as one of them unless their
 * Dockerfile names another USER. Azure Pipelines container jobs and agents in Docker run steps that way.
 * Undefined elsewhere, and on Windows outside a container.
 */
export function windowsContainerAccount(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (platform !== 'win32') return undefined;
  const user = env['USERNAME'] ?? '';
  return /^Container(Administrator|User)$/i.test(user) ? user : undefined;
}

const ARC_HIMDS_FILE = arcHimdsFile();
const ARC_DEFAULT_ENDPOINT = 'http://127.0.0.1:40342/metadata/identity/oauth2/token';
/** msal-node Imds.ts DEFAULT_IMDS_ENDPOINT and IMDS_TOKEN_PATH. */
export const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';
const IMDS_DEFAULT_HOST = 'http://169.254.169.254';

function himdsReadable(): boolean {
  if (!ARC_HIMDS_FILE) return false;
  try {
    accessSync(ARC_HIMDS_FILE, constants.F_OK | constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Scheme, host, port and path of an endpoint URL: never a query or user info. */
export function printableEndpoint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

function listed(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/**
 * Detects the source for `env`. `clientIdSelected` is true when the task was given a clientId: like the
 * library, that client id counts in place of AZURE_CLIENT_ID for workload identity.
 */
export function detectIdentitySource(env: NodeJS.ProcessEnv, clientIdSelected: boolean, arcInstalled = himdsReadable): IdentitySource {
  const set = (name: string): boolean => Boolean(env[name]);
  const all = (...names: string[]): boolean => names.every(set);
  const pick = (name: SourceName, decidedBy: string[], endpoint: string, selectors: readonly SelectorKind[], reason?: string): IdentitySource => ({
    name,
    reason: reason ?? (decidedBy.length ? `${listed(decidedBy)} ${decidedBy.length === 1 ? 'is' : 'are'} set` : 'no other source is configured'),
    decidedBy,
    ignored: IDENTITY_VARIABLES.filter((v) => env[v] !== undefined && !decidedBy.includes(v)
      // The Azure ML source also reads DEFAULT_IDENTITY_CLIENT_ID; the workload identity one reads AZURE_AUTHORITY_HOST.
      && !(name === 'Azure Machine Learning' && v === 'DEFAULT_IDENTITY_CLIENT_ID')
      && !(name === 'AKS workload identity' && v === 'AZURE_AUTHORITY_HOST'))
      .map((v) => (env[v] === '' ? `${v} (empty)` : v)),
    endpoint: printableEndpoint(endpoint),
    selectors,
    skipped: ORDER.slice(0, ORDER.indexOf(name)),
  });

  if ((clientIdSelected || set('AZURE_CLIENT_ID')) && all('AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE')) {
    const decided = [...(set('AZURE_CLIENT_ID') ? ['AZURE_CLIENT_ID'] : []), 'AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE'];
    const authority = (env['AZURE_AUTHORITY_HOST'] || 'https://login.microsoftonline.com').replace(/\/+$/, '');
    // WorkloadIdentityCredential takes only a client id; an object or resource id would be silently ignored.
    return pick('AKS workload identity', decided, `${authority}/${env['AZURE_TENANT_ID']}/oauth2/v2.0/token`, ['clientId']);
  }
  const identityEndpoint = env['IDENTITY_ENDPOINT'] ?? '';
  if (all('IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT')) {
    return pick('Service Fabric', ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT'], identityEndpoint, []);
  }
  if (all('IDENTITY_ENDPOINT', 'IDENTITY_HEADER')) {
    return pick('App Service', ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER'], identityEndpoint, ['clientId', 'objectId', 'resourceId']);
  }
  if (all('MSI_ENDPOINT', 'MSI_SECRET')) {
    return pick('Azure Machine Learning', ['MSI_ENDPOINT', 'MSI_SECRET'], env['MSI_ENDPOINT']!, ['clientId']);
  }
  if (set('MSI_ENDPOINT')) return pick('Cloud Shell', ['MSI_ENDPOINT'], env['MSI_ENDPOINT']!, []);
  const arcSelectors: readonly SelectorKind[] = ['clientId', 'objectId', 'resourceId'];
  if (all('IDENTITY_ENDPOINT', 'IMDS_ENDPOINT')) {
    // msal-node sends Arc requests to IDENTITY_ENDPOINT with 'localhost' replaced by 127.0.0.1.
    return pick('Azure Arc', ['IDENTITY_ENDPOINT', 'IMDS_ENDPOINT'], identityEndpoint.replace('localhost', '127.0.0.1'), arcSelectors);
  }
  if (arcInstalled()) {
    return pick('Azure Arc', [], ARC_DEFAULT_ENDPOINT, arcSelectors, `the Azure Connected Machine agent is installed (${ARC_HIMDS_FILE})`);
  }
  const podIdentityHost = env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
  return podIdentityHost
    ? pick('IMDS', ['AZURE_POD_IDENTITY_AUTHORITY_HOST'], `${podIdentityHost}${IMDS_TOKEN_PATH}`, ['clientId', 'objectId', 'resourceId'])
    : pick('IMDS', [], `${IMDS_DEFAULT_HOST}${IMDS_TOKEN_PATH}`, ['clientId', 'objectId', 'resourceId']);
}

/** One line for the log: the source, why, and where its requests go. */
export function describeSource(source: IdentitySource): string {
  return `${source.name} at ${source.endpoint} (${source.reason})`;
}

/** What the libraries looked for before settling on `source`, for messages when nothing answers. */
export function lookedFor(source: IdentitySource): string {
  if (!source.skipped.length) return '';
  const names = source.skipped.map((s) => (s === 'Azure Arc' ? 'Azure Arc (variables or the Connected Machine agent)' : s));
  return `Looked for ${listed(names)} first; none is configured on this agent.`;
}

/**
 * What to do when reading Arc's key file failed: the group, the folder and, on Windows, the agent's default service
 * account (azure-pipelines-agent WindowsServiceControlManager.cs: build and release agents run as NetworkService
 * unless configured with --windowsLogonAccount).
 */
export function arcKeyFileHint(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  const folder = arcKeyFolder(platform, env);
  if (platform === 'win32') {
    return 'Add the agent\'s service account (NT AUTHORITY\\NETWORK SERVICE unless the agent was configured with --windowsLogonAccount) ' +
      `to the local group 'Hybrid agent extension applications', whose members may read Arc's key files in ${folder}, then restart the agent service.`;
  }
  if (platform === 'linux') return `Add the agent's service account to the 'himds' group, whose members may read Arc's key files in ${folder}, then restart the agent service.`;
  return `Azure Arc answers with a key file only on Linux and Windows; this agent runs on ${platform}.`;
}

/**
 * When IMDS could not be reached from a Windows container, the sentence that says so (undefined otherwise). Windows
 * containers have no route to 169.254.169.254 (learn.microsoft.com azure/container-instances/container-instances-managed-identity,
 * "Managed identity on Windows containers"; on Docker's NAT network the link-local address is not routed either).
 */
export function windowsContainerNote(source: IdentitySource, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const account = windowsContainerAccount(platform, env);
  if (!account || source.name !== 'IMDS' || source.decidedBy.length) return undefined;
  return `this step runs in a Windows container (as ${account}), and Windows containers cannot reach IMDS at 169.254.169.254`;
}

