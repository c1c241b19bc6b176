/**
 * Which managed-identity source @azure/identity will use on this machine, and why. This mirrors the
 * detection order of @azure/identity 4.13 (token exchange first) and msal-node 5.x
 * (ManagedIdentityClient.getManagedIdentitySource): research/managed-identity.md §1.1.
 * It only reads environment variable names and one file's existence; it never prints values.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type SourceName =
  | 'AKS workload identity'
  | 'Service Fabric'
  | 'App Service'
  | 'Azure Machine Learning'
  | 'Cloud Shell'
  | 'Azure Arc'
  | 'IMDS';

export interface IdentitySource {
  readonly name: SourceName;
  /** Why it was chosen: the variables (or file) that decided it. */
  readonly reason: string;
  /** Identity-related variables that are set but did not decide the source (often leftovers). */
  readonly ignored: readonly string[];
  /** Hosts of local identity endpoints, which must never be reached through a proxy. */
  readonly localHosts: readonly string[];
  /** Whether this source can honour a client, object or resource id. */
  readonly selectors: readonly ('clientId' | 'objectId' | 'resourceId')[];
}

const IDENTITY_VARIABLES = [
  'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_AUTHORITY_HOST',
  'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT', 'IMDS_ENDPOINT',
  'MSI_ENDPOINT', 'MSI_SECRET', 'AZURE_POD_IDENTITY_AUTHORITY_HOST',
] as const;

const ARC_HIMDS_FILE = process.platform === 'win32'
  ? join(process.env['ProgramFiles'] ?? 'C:\\Program Files', 'AzureConnectedMachineAgent', 'himds.exe')
  : '/opt/azcmagent/bin/himds';

function hostOf(url: string | undefined): string[] {
  if (!url) return [];
  try {
    return [new URL(url).hostname];
  } catch {
    return [];
  }
}

export function detectIdentitySource(env: NodeJS.ProcessEnv, hasClientId: boolean): IdentitySource {
  const set = (name: string): boolean => Boolean(env[name]);
  const all = (...names: string[]): boolean => names.every(set);
  const pick = (name: SourceName, decided: string[], selectors: IdentitySource['selectors'], localHosts: string[]): IdentitySource => ({
    name,
    reason: decided.length ? `${decided.join(', ')} ${decided.length === 1 ? 'is' : 'are'} set` : 'no other source is configured',
    ignored: IDENTITY_VARIABLES.filter((v) => set(v) && !decided.includes(v)),
    localHosts,
    selectors,
  });
  if ((hasClientId || set('AZURE_CLIENT_ID')) && all('AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE')) {
    const decided = ['AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE', ...(set('AZURE_CLIENT_ID') ? ['AZURE_CLIENT_ID'] : [])];
    return pick('AKS workload identity', decided, ['clientId'], []);
  }
  const endpoint = hostOf(env['IDENTITY_ENDPOINT']);
  if (all('IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT')) {
    return pick('Service Fabric', ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT'], [], endpoint);
  }
  if (all('IDENTITY_ENDPOINT', 'IDENTITY_HEADER')) {
    return pick('App Service', ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER'], ['clientId', 'objectId', 'resourceId'], endpoint);
  }
  if (all('MSI_ENDPOINT', 'MSI_SECRET')) {
    return pick('Azure Machine Learning', ['MSI_ENDPOINT', 'MSI_SECRET'], ['clientId'], hostOf(env['MSI_ENDPOINT']));
  }
  if (set('MSI_ENDPOINT')) return pick('Cloud Shell', ['MSI_ENDPOINT'], [], hostOf(env['MSI_ENDPOINT']));
  if (all('IDENTITY_ENDPOINT', 'IMDS_ENDPOINT')) {
    return pick('Azure Arc', ['IDENTITY_ENDPOINT', 'IMDS_ENDPOINT'], [], [...endpoint, '127.0.0.1', 'localhost']);
  }
  if (existsSync(ARC_HIMDS_FILE)) {
    const source = pick('Azure Arc', [], [], ['127.0.0.1', 'localhost']);
    return { ...source, reason: `the Azure Connected Machine agent is installed (${ARC_HIMDS_FILE})` };
  }
  const imds = env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
  return imds
    ? pick('IMDS', ['AZURE_POD_IDENTITY_AUTHORITY_HOST'], ['clientId', 'objectId', 'resourceId'], hostOf(imds))
    : pick('IMDS', [], ['clientId', 'objectId', 'resourceId'], ['169.254.169.254']);
}
