/** Parsers for task inputs shared by both tasks. Each failure is one InputError naming the input. */
import { InputError } from '../core/errors';
import type { IdentitySelector } from '../identity/managed-identity';
import { AZURE_DEVOPS_ONLY, collectionOrganization, parseLoopbackHosts, parseOrganization, type HostPolicy, type Organization } from '../devops/organizations';

/** The reading side of the agent adapter: all that settings parsing needs. */
export interface InputSource {
  input(name: string): string | undefined;
  variable(name: string): string | undefined;
}

/** Pipeline variable naming loopback emulators that may stand in for Azure DevOps (emulator flavour only). */
export const TEST_HOSTS_VARIABLE = 'ManagedIdentity.TestHosts';

declare const MIADO_EMULATOR_BUILD: boolean | undefined;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESOURCE_ID =
  /^\/subscriptions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/resourcegroups\/[\w().-]{1,90}\/providers\/microsoft\.managedidentity\/userassignedidentities\/[A-Za-z0-9][\w-]{0,127}$/i;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9._-]{0,99}$/;

export function booleanInput(source: InputSource, name: string, fallback: boolean): boolean {
  const value = source.input(name);
  if (value === undefined) return fallback;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  throw new InputError(name, value, "must be 'true' or 'false'");
}

export function guidInput(source: InputSource, name: string): string | undefined {
  const value = source.input(name);
  if (value !== undefined && !GUID.test(value)) {
    throw new InputError(name, value, 'must be a GUID such as 00000000-0000-0000-0000-000000000000');
  }
  return value?.toLowerCase();
}

/** Reads clientId / objectId / resourceId: at most one; none selects the system-assigned identity. */
export function identityInput(source: InputSource): IdentitySelector {
  const clientId = guidInput(source, 'clientId');
  const objectId = guidInput(source, 'objectId');
  const resourceId = source.input('resourceId');
  if (resourceId !== undefined && !RESOURCE_ID.test(resourceId)) {
    throw new InputError('resourceId', resourceId,
      'must be the Azure resource id of a user-assigned identity: /subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}');
  }
  const given = [
    ['clientId', clientId],
    ['objectId', objectId],
    ['resourceId', resourceId],
  ].filter((pair): pair is ['clientId' | 'objectId' | 'resourceId', string] => pair[1] !== undefined);
  if (given.length > 1) {
    const [first, second] = given;
    throw new InputError(second![0], second![1], `cannot be combined with '${first![0]}': give at most one of clientId, objectId and resourceId`);
  }
  return given.length ? { kind: given[0]![0], value: given[0]![1] } : { kind: 'system' };
}

/** A pipeline variable name we may set: no ';', ']', '%', spaces or line breaks (they would break the logging command). */
export function variableNameInput(source: InputSource, name: string, fallback: string): string {
  const value = source.input(name) ?? fallback;
  if (!VARIABLE_NAME.test(value)) {
    throw new InputError(name, value, 'must be a variable name of letters, digits, ".", "_" and "-", starting with a letter or "_" (at most 100 characters)');
  }
  return value;
}

/**
 * Which loopback hosts may stand in for Azure DevOps. In the emulator flavour, those the variable
 * ManagedIdentity.TestHosts names; in the release flavour none, whatever any variable says. The choice is a
 * top-level condition on the build constant itself (not on core/flavour.ts's EMULATOR_BUILD, which esbuild
 * inlines only after it has decided what is used), so the release bundles hold neither the variable's name
 * nor its parser: see core/flavour.ts and scripts/build.ts.
 */
export const hostPolicy: (source: InputSource) => HostPolicy =
  typeof MIADO_EMULATOR_BUILD === 'undefined' || MIADO_EMULATOR_BUILD
    ? (source) => parseLoopbackHosts(TEST_HOSTS_VARIABLE, source.variable(TEST_HOSTS_VARIABLE))
    : () => AZURE_DEVOPS_ONLY;

/** The organization the pipeline runs in (System.CollectionUri). */
export function homeOrganization(source: InputSource, policy: HostPolicy): Organization | undefined {
  return collectionOrganization(source.variable('System.CollectionUri'), policy);
}

/** Organizations listed in an input (separated by commas, semicolons or line breaks), or the pipeline's own. */
export function organizationsInput(source: InputSource, name: string, policy: HostPolicy): Organization[] {
  const home = homeOrganization(source, policy);
  const value = source.input(name);
  if (value === undefined) {
    if (!home) throw new InputError(name, '', 'must name at least one organization when System.CollectionUri is not available');
    return [home];
  }
  const orgs = new Map<string, Organization>();
  for (const item of value.split(/[\s,;]+/).filter(Boolean)) {
    const org = parseOrganization(name, item, policy, home);
    orgs.set(org.url.toLowerCase(), org);
  }
  if (!orgs.size) throw new InputError(name, value, 'must name at least one organization');
  return [...orgs.values()];
}
