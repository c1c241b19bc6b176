/**
 * The `repository` input: every form PRODUCT.md lists, with missing parts taken from the running
 * pipeline (System.CollectionUri, System.TeamProject). Names may hold spaces and non-ASCII letters;
 * anything shaped like an option, a path or a URL trick is refused before any request is made.
 */
import { InputError } from '../core/errors';
import { parseOrganization, type HostPolicy, type Organization } from './organizations';

export interface RepositoryRef {
  readonly organization: Organization;
  readonly project: string;
  readonly repository: string;
}

const FORMS =
  'must be https://dev.azure.com/{organization}/{project}/_git/{repository}, https://{organization}.visualstudio.com/{project}/_git/{repository}, ' +
  '{organization}/{project}/{repository}, {project}/{repository} or {repository}';

/**
 * Project and repository names as Azure DevOps allows them (naming-restrictions: no control characters,
 * none of \ / : * ? " < > | ; # $ { } , + = [ ]), and never '%' or '@', which only URL tricks need;
 * not starting with '_', '.' or '-' (which git could read as an option), not ending with '.'.
 */
// eslint-disable-next-line no-control-regex
const NAME = /^(?![_.-])[^\u0000-\u001f\u007f\\/:*?"<>|;#${},+=[\]%@]{1,255}(?<!\.)$/u;

export function isValidName(name: string): boolean {
  return NAME.test(name) && name.trim() === name;
}

function decode(input: string, value: string, segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InputError(input, value, FORMS);
  }
}

/** The organization part of `value`; refused with the forms of the whole input, not of an organization. */
function organizationOf(input: string, value: string, part: string, policy: HostPolicy, home: Organization | undefined): Organization {
  try {
    return parseOrganization(input, part, policy, home);
  } catch {
    throw new InputError(input, value, FORMS);
  }
}

function fromUrl(input: string, value: string, policy: HostPolicy, home: Organization | undefined): RepositoryRef {
  // The URL parser would quietly resolve '..' and '.' segments (also %2e%2e) and read '\' as '/', so that
  // https://dev.azure.com/contoso/../fabrikam/... became another organization: refuse them before parsing.
  const rawPath = value.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  // eslint-disable-next-line no-control-regex
  if (/[\\?#\u0000-\u001f\u007f]/.test(value) || rawPath.split('/').some((s) => /^(\.|%2e){1,2}$/i.test(s))) {
    throw new InputError(input, value, FORMS);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(input, value, FORMS);
  }
  if (url.password) throw new InputError(input, value, FORMS);
  const segments = url.pathname.split('/').filter(Boolean);
  // dev.azure.com/{org}[/{project}]/_git/{repo}; {org}.visualstudio.com[/DefaultCollection][/{project}]/_git/{repo};
  // emulators: http://127.0.0.1:PORT/{org}[/{project}]/_git/{repo}
  const onVisualStudio = url.hostname.toLowerCase().endsWith('.visualstudio.com');
  const gitAt = segments.findIndex((s) => s.toLowerCase() === '_git');
  if (gitAt < (onVisualStudio ? 0 : 1) || gitAt !== segments.length - 2) throw new InputError(input, value, FORMS);
  const repository = decode(input, value, segments[gitAt + 1]!);
  const before = segments.slice(0, gitAt);
  if (onVisualStudio && before[0]?.toLowerCase() === 'defaultcollection') before.shift();
  const orgPart = onVisualStudio ? `${url.protocol}//${url.host}/` : `${url.protocol}//${url.host}/${before.shift() ?? ''}`;
  const organization = organizationOf(input, value, orgPart, policy, home);
  if (url.username && url.username.toLowerCase() !== organization.name.toLowerCase()) throw new InputError(input, value, FORMS);
  if (before.length > 1) throw new InputError(input, value, FORMS);
  const project = before.length ? decode(input, value, before[0]!) : repository;
  return { organization, project, repository };
}


/** Parses `repository`; `home`/`homeProject` come from the running pipeline. */
export function parseRepository(
  input: string, value: string, policy: HostPolicy, home: Organization | undefined, homeProject: string | undefined,
): RepositoryRef {
  const text = value.trim();
  let ref: RepositoryRef;
  if (/^[a-z][a-z0-9+.-]*:/i.test(text)) {
    ref = fromUrl(input, text, policy, home);
  } else {
    const parts = text.split('/').map((p) => decode(input, value, p));
    if (parts.length > 3 || parts.some((p) => !p)) throw new InputError(input, value, FORMS);
    const repository = parts.pop()!;
    const project = parts.pop() ?? homeProject;
    const organization = parts.length ? organizationOf(input, value, parts[0]!, policy, home) : home;
    if (!organization || !project) {
      throw new InputError(input, value, `${FORMS} (the organization and project of this pipeline are not known here, so give them)`);
    }
    ref = { organization, project, repository };
  }
  if (!isValidName(ref.project) || !isValidName(ref.repository)) throw new InputError(input, value, FORMS);
  return ref;
}

/** 'org/project/repo' for messages. */
export function describeRepository(ref: RepositoryRef): string {
  return `${ref.organization.name}/${ref.project}/${ref.repository}`;
}

/**
 * `url` without its user name and password: `https://{org}@dev.azure.com/…` (the REST remoteUrl) and
 * `https://user:secret@host/…` become `https://dev.azure.com/…` and `https://host/…`; the authority ends at
 * the first '/', '?' or '#', and its last '@' ends the userinfo, as the URL standard reads it.
 */
export function withoutUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1');
}

/** The clone URL Azure DevOps uses, with names percent-encoded. */
export function cloneUrl(ref: RepositoryRef): string {
  const project = encodeURIComponent(ref.project);
  return `${ref.organization.url}${project}/_git/${encodeURIComponent(ref.repository)}`;
}
