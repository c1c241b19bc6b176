/**
 * Git REST routes on top of the real bare repositories: items, refs (read and update), commits,
 * annotated tags and pull requests. Behaviour, messages, type keys and statuses follow the
 * decompiled Azure DevOps Server 2022 sources (github.com/mjwrona/decompiled, the
 * SourceControl.WebServer controllers and Git.Server services; see devops-json.ts); the few
 * places where they say nothing are marked "Guess".
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { LOCATION_IDS } from './devops-locations';
import {
  argumentError,
  type DevOpsError,
  devopsIdentityId,
  gitError,
  identityRefJson,
  invalidArgument,
  needsPermission,
  needsPermissionMessage,
  versionText,
} from './devops-json';
import { collection, json, member, projectOf, repoJson, repositoryOf, type RestReply, type Route, type RouteContext } from './devops-routes';
import {
  findItem,
  listTree,
  makeTag,
  mergeBases,
  objectType,
  peelToCommit,
  readBlob,
  readCommit,
  readTag,
  refsOf,
  refValue,
  SHA1,
  updateRef,
  validRefName,
  ZERO_ID,
  type CommitInfo,
  type FoundItem,
} from './git-store';
import { TF402455 } from './git-repos';
import { identityByKey, type Identity, type Project, type PullRequestRecord, type Repository } from './world';

// ---------------------------------------------------------------------------------------------
// Shared helpers

interface Target {
  project: Project;
  repo: Repository;
}

const target = (ctx: RouteContext): Target => repositoryOf(ctx, ctx.params.project, ctx.params.repositoryId);

const repoApiUrl = (ctx: RouteContext, t: Target): string => `${ctx.orgUrl}/${t.project.id}/_apis/git/repositories/${t.repo.id}`;

/** Contributors may do everything below; `read` members only read (the world's two permission levels). */
const canWrite = (ctx: RouteContext): boolean => member(ctx).membership.permission === 'contribute';

const callerName = (ctx: RouteContext): string => member(ctx).identity.displayName;

function bodyJson(ctx: RouteContext): unknown {
  const text = ctx.body.toString();
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Guess: the text of Web API's model-binding failure is not public.
    throw argumentError('The request body could not be parsed as JSON.');
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * C# `Enum.TryParse(value, ignoreCase: true)`: a member name in any case, or a number. node-api
 * sends numbers (queries and bodies); ADO answers with camelCase names. Returns the camelCase name.
 */
function enumName(value: unknown, members: Record<string, number>): string | undefined {
  if (typeof value === 'number' || (typeof value === 'string' && /^-?\d+$/.test(value.trim()))) {
    return Object.entries(members).find(([, n]) => n === Number(value))?.[0];
  }
  if (typeof value !== 'string') return undefined;
  return Object.keys(members).find((name) => name.toLowerCase() === value.trim().toLowerCase());
}

const pascal = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);

/** Query value with or without the model prefix (`searchCriteria.status` or `status`), as Web API binds it. */
const param = (ctx: RouteContext, prefix: string, name: string): string | null => ctx.query.get(`${prefix}.${name}`) ?? ctx.query.get(name);

function onDisk(t: Target): void {
  // REST-only records have no content: answer like an empty repository (ErrorNoBranchesFormat).
  if (t.repo.restOnly) throw gitError(404, 'GitItemNotFoundException', `VS403403: Cannot find any branches for the ${t.repo.name} repository.`);
}

// ---------------------------------------------------------------------------------------------
// Version descriptors (GitVersionDescriptorModelBinder + GitVersionParser.GetCommitFromVersion)

const GIT_VERSION_TYPES = { branch: 0, tag: 1, commit: 2 };

interface VersionSpec {
  type: 'Branch' | 'Tag' | 'Commit';
  version: string;
}

function versionSpec(ctx: RouteContext, prefix = 'versionDescriptor'): VersionSpec {
  const rawType = param(ctx, prefix, 'versionType');
  const version = param(ctx, prefix, 'version') ?? '';
  let type: VersionSpec['type'] = 'Branch';
  if (rawType !== null) {
    const name = enumName(rawType, GIT_VERSION_TYPES);
    if (!name) throw argumentError(`${rawType} is not a valid value for versionType. Try one of: Branch,Tag,Commit`);
    type = pascal(name) as VersionSpec['type'];
  }
  if (type !== 'Branch' && !version) throw argumentError('Ambiguous values for version');
  return { type, version };
}

async function commitOrThrow(bareDir: string, objectId: string): Promise<CommitInfo> {
  const kind = await objectType(bareDir, objectId);
  if (!kind) throw gitError(404, 'GitCommitDoesNotExistException', `TF401029: Couldn't find Git commit with ID ${objectId}.`);
  const commitId = await peelToCommit(bareDir, objectId);
  const commit = commitId && (await readCommit(bareDir, commitId));
  if (!commit) throw gitError(404, 'GitUnresolvableToCommitException', `TF401048: Couldn't resolve object '${objectId}' to a commit.`);
  return commit;
}

/** The commit a version descriptor names; without a version, the default branch (or any branch). */
async function resolveVersion(t: Target, spec: VersionSpec): Promise<CommitInfo> {
  const { repo } = t;
  const unresolvable = (): never => {
    // Observed text (no space after the colon): "TF401175:The version descriptor <Branch: x > could not
    // be resolved to a version in the repository {name}" — Git.Server Resources `GitVersionNotFound`.
    throw gitError(404, 'GitUnresolvableToCommitException', `TF401175:The version descriptor ${versionText(spec.type, spec.version)} could not be resolved to a version in the repository ${repo.name}`);
  };
  switch (spec.type) {
    case 'Branch': {
      if (!spec.version) {
        const refs = (await refsOf(repo.bareDir)).filter((r) => r.name.startsWith('refs/heads/'));
        const head = refs.find((r) => r.name === repo.defaultBranch) ?? refs[0];
        if (!head) throw gitError(404, 'GitItemNotFoundException', `VS403403: Cannot find any branches for the ${repo.name} repository.`);
        return commitOrThrow(repo.bareDir, head.objectId);
      }
      const id = await refValue(repo.bareDir, `refs/heads/${spec.version}`);
      return id ? commitOrThrow(repo.bareDir, id) : unresolvable();
    }
    case 'Tag': {
      const id = await refValue(repo.bareDir, `refs/tags/${spec.version}`);
      return id ? commitOrThrow(repo.bareDir, id) : unresolvable();
    }
    case 'Commit':
      if (!SHA1.test(spec.version)) throw argumentError(`Invalid version specifier "${spec.version}".`);
      return commitOrThrow(repo.bareDir, spec.version.toLowerCase());
  }
}

// ---------------------------------------------------------------------------------------------
// Items

type Media = 'json' | 'zip' | 'text' | 'octetStream' | 'none';

/** `$format` wins; else the first Accept entry ADO knows (MediaTypeFormatUtility.GetPrioritizedAcceptHeaders). */
function mediaOf(ctx: RouteContext): Media {
  const format = ctx.query.get('$format');
  if (format) {
    const known: Media[] = ['json', 'zip', 'text', 'octetStream'];
    const found = known.find((m) => m.toLowerCase() === format.toLowerCase());
    if (!found) throw argumentError(`${format} is not a valid value for $format. Try one of: json,zip,text,octetStream`);
    return found;
  }
  const byType: Record<string, Media> = { 'application/json': 'json', 'application/zip': 'zip', 'text/plain': 'text', 'application/octet-stream': 'octetStream' };
  for (const part of String(ctx.headers.accept ?? '').split(',')) {
    const media = byType[part.split(';')[0].trim().toLowerCase()];
    if (media) return media;
  }
  return 'none';
}

const RECURSION = { none: 0, oneLevel: 1, oneLevelPlusNestedEmptyFolders: 4, full: 120 };

function itemJson(ctx: RouteContext, t: Target, commit: CommitInfo, item: FoundItem, spec: VersionSpec, content?: string): object {
  // Guess: the shape of ADO's item `url` (a link back to this item at this version).
  const url = `${repoApiUrl(ctx, t)}/items?path=${encodeURIComponent(item.path)}&versionType=${spec.type}&version=${encodeURIComponent(spec.version)}&versionOptions=None`;
  return {
    objectId: item.objectId,
    gitObjectType: item.type,
    commitId: commit.commitId,
    path: item.path,
    ...(item.type === 'tree' ? { isFolder: true } : {}),
    ...(content !== undefined ? { content } : {}),
    url,
  };
}

async function getItems(ctx: RouteContext): Promise<RestReply> {
  const t = target(ctx);
  onDisk(t);
  // The path travels in the query (node-api) or, with the `{*path}` route template, in the URL.
  const itemPath = ctx.query.get('path') ?? (ctx.params.path ? `/${ctx.params.path}` : null);
  const scopePath = ctx.query.get('scopePath');
  const single = !!itemPath?.trim();
  if (single && scopePath?.trim()) throw argumentError('Cannot specify both an item path and a scope path.'); // Guess: ErrorItemAndScopePaths text not in the resx dump.
  const rawRecursion = ctx.query.get('recursionLevel') ?? 'none';
  const recursion = enumName(rawRecursion, RECURSION);
  if (!recursion) throw argumentError(`${rawRecursion} is not a valid value for recursionLevel. Try one of: None,OneLevel,OneLevelPlusNestedEmptyFolders,Full`);
  const spec = versionSpec(ctx);
  const media = mediaOf(ctx);
  const commit = await resolveVersion(t, spec);
  const wanted = (single ? itemPath : scopePath) ?? '/';
  const item = await findItem(t.repo.bareDir, commit, wanted);
  if (!item) {
    const shown = wanted.split(/[/\\]/).filter(Boolean).join('/');
    throw gitError(
      404,
      'GitItemNotFoundException',
      `TF401174: The item '${shown}' could not be found in the repository '${t.repo.name}' at the version specified by '${versionText(spec.type, spec.version)}' (resolved to commit '${commit.commitId}')`,
    );
  }

  const raw = media === 'octetStream' || media === 'text' || (media === 'none' && item.type === 'blob');
  if (raw) {
    if (item.type !== 'blob') throw argumentError('The requested media type is not supported by the current resource.'); // Guess: ADO zips folders here.
    const bytes = (await readBlob(t.repo.bareDir, item.objectId)) ?? Buffer.alloc(0);
    const name = path.posix.basename(item.path);
    const download = ctx.query.get('download')?.toLowerCase() === 'true' || media !== 'text';
    // Guess: ADO picks the type from the extension (MimeMapper) and falls back to octet-stream; text/plain for text.
    const headers = download ? { 'Content-Disposition': `attachment; filename=${name}; filename*=utf-8''${encodeURIComponent(name)}` } : undefined;
    return { status: 200, raw: bytes, contentType: media === 'text' ? 'text/plain; charset=utf-8' : 'application/octet-stream', ...(headers ? { headers } : {}) };
  }
  if (media === 'zip') throw argumentError('The requested media type is not supported by the current resource.'); // Not emulated.

  if (single) {
    const includeContent = ctx.query.get('includeContent')?.toLowerCase() === 'true';
    const content = includeContent && item.type === 'blob' ? ((await readBlob(t.repo.bareDir, item.objectId)) ?? Buffer.alloc(0)).toString('utf8') : undefined;
    return json(itemJson(ctx, t, commit, item, spec, content));
  }
  const items: object[] = [itemJson(ctx, t, commit, item, spec)];
  if (item.type === 'tree' && recursion !== 'none') {
    const entries = await listTree(t.repo.bareDir, item.objectId, recursion === 'full');
    const base = item.path === '/' ? '' : item.path;
    for (const e of entries) items.push(itemJson(ctx, t, commit, { path: `${base}/${e.name}`, objectId: e.objectId, type: e.type, mode: e.mode }, spec));
  }
  return json(collection(items));
}

// ---------------------------------------------------------------------------------------------
// Refs

async function getRefs(ctx: RouteContext): Promise<RestReply> {
  const t = target(ctx);
  if (t.repo.restOnly) return json(collection([]));
  const filter = ctx.params.filter || ctx.query.get('filter') || '';
  // GitRefsController: "refs/" + filter.Trim(), matched with StartsWith.
  const prefix = filter ? `refs/${filter.trim()}` : '';
  const contains = ctx.query.get('filterContains')?.toLowerCase();
  const peel = ctx.query.get('peelTags')?.toLowerCase() === 'true';
  let refs = (await refsOf(t.repo.bareDir)).filter((r) => r.name.startsWith(prefix) && (!contains || r.name.toLowerCase().includes(contains)));
  // Paging: $top (<= 1000; 100 when only a continuationToken is given); the token is the next ref name.
  const token = ctx.query.get('continuationToken');
  let top = ctx.query.get('$top') !== null ? Number(ctx.query.get('$top')) : token !== null ? 100 : undefined;
  if (top !== undefined && (!Number.isFinite(top) || top <= 0)) top = token !== null ? 100 : undefined;
  if (top !== undefined) top = Math.min(top, 1000);
  if (token !== null) refs = refs.filter((r) => r.name >= token);
  let next: string | undefined;
  if (top !== undefined && refs.length > top) {
    next = refs[top].name;
    refs = refs.slice(0, top);
  }
  const value = refs.map((r) => ({
    name: r.name,
    objectId: r.objectId,
    // ADO also names the ref's `creator`; the emulator does not track who created a ref.
    url: `${repoApiUrl(ctx, t)}/refs?filter=${encodeURIComponent(r.name.slice('refs/'.length))}`,
    ...(peel && r.peeledObjectId ? { peeledObjectId: r.peeledObjectId } : {}),
  }));
  return json(collection(value), next ? { 'x-ms-continuationtoken': next } : undefined);
}

type UpdateStatus =
  | 'succeeded'
  | 'staleOldObjectId'
  | 'invalidRefName'
  | 'unresolvableToCommit'
  | 'writePermissionRequired'
  | 'createBranchPermissionRequired'
  | 'createTagPermissionRequired'
  | 'rejectedByPolicy'
  | 'succeededNonExistentRef';

interface RefUpdate {
  name: string;
  oldObjectId: string;
  newObjectId: string;
}

const protectedBy = (repo: Repository, name: string): boolean => (repo.policies ?? []).some((p) => p.kind === 'requirePullRequest' && p.branch === name);

/** ADO's extra rule (InvalidGitRefNameForTfs): ≤ 400 characters, and the `refs/<namespace>/` part ASCII lower-case. */
const tfsRefName = (name: string): boolean => name.length <= 400 && /^refs\/[a-z0-9._-]+\//.test(name);

function parseSha(value: unknown, field: string): string {
  if (typeof value !== 'string' || !SHA1.test(value)) {
    // Guess: GitCommitUtility.ParseSha1Id's message is not in the resource dumps.
    throw argumentError(`${String(value)} is not a valid Sha1Id.`, field);
  }
  return value.toLowerCase();
}

/**
 * POST refs (TeamFoundationGitRefService.UpdateRefs, best effort): every update gets a result and
 * the call answers **200 even when updates fail**, including missing permissions
 * (`create*PermissionRequired` / `writePermissionRequired` with the TF401027 text in
 * `customMessage`) and branch policies (`rejectedByPolicy`, TF402455). Results of updates refused
 * before writing come first, then the written ones, as in FilterRefs/ApplyRefUpdates.
 */
async function postRefs(ctx: RouteContext): Promise<RestReply> {
  const t = target(ctx);
  onDisk(t);
  const body = bodyJson(ctx);
  if (!Array.isArray(body) || body.length === 0) throw argumentError('Value cannot be null or empty.', 'refUpdates'); // ArgumentUtility.CheckEnumerableForNullOrEmpty
  const updates: RefUpdate[] = body.map((u: unknown) => {
    if (!isObject(u)) throw argumentError('Value cannot be null.', 'refUpdates');
    return { name: str(u.name) ?? '', oldObjectId: parseSha(u.oldObjectId, 'oldObjectId'), newObjectId: parseSha(u.newObjectId, 'newObjectId') };
  });
  const seen = new Set<string>();
  for (const u of updates) {
    if (u.oldObjectId === ZERO_ID && /(^|\/)[0-9a-f]{40}$/i.test(u.name)) throw gitError(400, 'GitArgumentException', 'RefNames consisting of 40 hex characters are not allowed.');
    if (seen.has(u.name)) {
      throw gitError(400, 'GitArgumentException', `The ref '${u.name}' was specified for an update more than once in the same request, which is unsupported. Please retry your request with a maximum of one update per ref.`);
    }
    seen.add(u.name);
  }

  const refused: object[] = [];
  const written: object[] = [];
  const result = (u: RefUpdate, status: UpdateStatus, customMessage?: string): object => ({
    repositoryId: t.repo.id,
    name: u.name,
    oldObjectId: u.oldObjectId,
    newObjectId: u.newObjectId,
    isLocked: false,
    updateStatus: status,
    // rejectedBy / customMessage are [DataMember(EmitDefaultValue = false)]: absent when null.
    ...(customMessage ? { customMessage } : {}),
    success: status === 'succeeded' || status === 'succeededNonExistentRef',
  });
  const identity = callerName(ctx);
  for (const u of updates) {
    const creating = u.oldObjectId === ZERO_ID && u.newObjectId !== ZERO_ID;
    if (u.newObjectId !== ZERO_ID && !((await validRefName(t.repo.bareDir, u.name)) && tfsRefName(u.name))) {
      refused.push(result(u, 'invalidRefName'));
      continue;
    }
    if (!canWrite(ctx)) {
      // UserHasRefUpdatePermissions. ForcePush (non-fast-forward moves, deletes by non-creators) is not modelled.
      const [status, permission]: [UpdateStatus, string] = !creating
        ? ['writePermissionRequired', 'GenericContribute']
        : u.name.startsWith('refs/tags/')
          ? ['createTagPermissionRequired', 'CreateTag']
          : ['createBranchPermissionRequired', 'CreateBranch'];
      refused.push(result(u, status, needsPermissionMessage(identity, permission)));
      continue;
    }
    if (protectedBy(t.repo, u.name)) {
      refused.push(result(u, 'rejectedByPolicy', TF402455));
      continue;
    }
    if (u.newObjectId !== ZERO_ID && !(await peelToCommit(t.repo.bareDir, u.newObjectId))) {
      written.push(result(u, 'unresolvableToCommit'));
      continue;
    }
    if (u.newObjectId === ZERO_ID && u.oldObjectId === ZERO_ID) {
      const exists = (await refValue(t.repo.bareDir, u.name)) !== undefined;
      written.push(result(u, exists ? 'staleOldObjectId' : 'succeededNonExistentRef'));
      continue;
    }
    const outcome = await updateRef(t.repo.bareDir, u.name, u.oldObjectId, u.newObjectId);
    written.push(result(u, outcome === 'ok' ? 'succeeded' : 'staleOldObjectId'));
  }
  return json(collection([...refused, ...written]));
}

// ---------------------------------------------------------------------------------------------
// Commits

function commitJson(ctx: RouteContext, t: Target, c: CommitInfo): object {
  const url = `${repoApiUrl(ctx, t)}/commits/${c.commitId}`;
  const web = `${ctx.baseUrl}/${encodeURIComponent(ctx.org.name)}/${encodeURIComponent(t.project.name)}/_git/${encodeURIComponent(t.repo.name)}/commit/${c.commitId}`;
  return {
    treeId: c.treeId,
    commitId: c.commitId,
    author: c.author,
    committer: c.committer,
    comment: c.comment,
    parents: c.parents,
    url,
    remoteUrl: web,
    _links: {
      self: { href: url },
      repository: { href: repoApiUrl(ctx, t) },
      web: { href: web },
      tree: { href: `${repoApiUrl(ctx, t)}/trees/${c.treeId}` },
    },
  };
}

async function getCommit(ctx: RouteContext): Promise<RestReply> {
  const t = target(ctx);
  const id = ctx.params.commitId;
  if (!SHA1.test(id)) throw argumentError(`${id} is not a valid Sha1Id.`, 'commitId'); // Guess (ParseSha1Id), as above.
  onDisk(t);
  return json(commitJson(ctx, t, await commitOrThrow(t.repo.bareDir, id.toLowerCase())));
}

/**
 * GitMergeBasesController.GetMergeBases (decompiled Azure DevOps Server 2022, SourceControl.WebServer): both ids go
 * through ParseSha1Id; the answer is every merge base as a GitCommitRef holding only `commitId` (the
 * Git.MergeBase.ReturnAllBases behaviour), and an empty list, still 200, when the histories never meet.
 * Guess: a commit the repository does not have fails as GET commits/{id} does (404 TF401029), since the commit
 * graph is read from the repository's objects.
 */
async function getMergeBases(ctx: RouteContext): Promise<RestReply> {
  const t = target(ctx);
  const ids = [ctx.params.commitId, ctx.query.get('otherCommitId') ?? ''];
  for (const id of ids) if (!SHA1.test(id)) throw argumentError(`${id} is not a valid Sha1Id.`, 'commitId'); // Guess (ParseSha1Id), as above.
  onDisk(t);
  const [one, other] = await Promise.all(ids.map((id) => commitOrThrow(t.repo.bareDir, id.toLowerCase())));
  const bases = await mergeBases(t.repo.bareDir, one!.commitId, other!.commitId);
  return json(collection(bases.map((commitId) => ({ commitId }))));
}

// ---------------------------------------------------------------------------------------------
// Annotated tags (GitAnnotatedTagsController + GitAnnotatedTagsHelper.CreateTag)

function annotatedTagJson(ctx: RouteContext, t: Target, tag: { objectId: string; name: string; taggedObjectId: string; taggedObjectType: string; tagger: { name: string; email: string; date: string }; message: string }): object {
  return {
    // ToGitAnnotatedTags: Name = the tag object's `tag` header, i.e. the short name ("v1"), not refs/tags/v1.
    name: tag.name,
    objectId: tag.objectId,
    taggedObject: { objectId: tag.taggedObjectId, objectType: tag.taggedObjectType },
    taggedBy: tag.tagger,
    message: tag.message,
    url: `${repoApiUrl(ctx, t)}/annotatedTags/${tag.objectId}`,
  };
}

async function postAnnotatedTag(ctx: RouteContext): Promise<RestReply> {
  const body = bodyJson(ctx);
  const tagged = isObject(body) && isObject(body.taggedObject) ? body.taggedObject : undefined;
  const name = isObject(body) ? str(body.name) : undefined;
  const message = isObject(body) ? str(body.message) : undefined;
  const objectId = str(tagged?.objectId);
  if (name === undefined || objectId === undefined || message === undefined) {
    throw invalidArgument('tagObject', 'The combination of parameters is either not valid or not complete.');
  }
  if (!SHA1.test(objectId)) throw invalidArgument('ObjectId');
  const t = target(ctx);
  onDisk(t);
  const refName = `refs/tags/${name}`;
  if (!message.trim()) throw argumentError('Value cannot be null or whitespace.', 'message'); // ArgumentUtility.CheckStringForNullOrWhiteSpace; guessed text
  if (!((await validRefName(t.repo.bareDir, refName)) && tfsRefName(refName))) {
    throw gitError(400, 'InvalidGitRefNameException', `TF401021: '${refName}' is not a valid name for a Git ref. Visit https://go.microsoft.com/fwlink/?LinkId=800646 for more information on Git ref naming.`);
  }
  if ((await refValue(t.repo.bareDir, refName)) !== undefined) throw gitError(409, 'GitRefNameAlreadyExistsException', `A Git ref with the name ${refName} already exists.`);
  const type = await objectType(t.repo.bareDir, objectId.toLowerCase());
  // Guess: GitObjectDoesNotExistException is not in GitApiController's status map; its base maps to 400.
  if (!type) throw gitError(400, 'GitObjectDoesNotExistException', `TF401035: The object '${objectId.toLowerCase()}' does not exist.`);
  const alreadyExists = (): DevOpsError => gitError(409, 'GitRefNameAlreadyExistsException', `A Git ref with the name ${refName} already exists.`);
  if (!canWrite(ctx)) {
    // The tag ref goes through the same ref-update checks as a push (CreateTagPermissionRequired); when
    // no update succeeds CreateTag throws GitFailedToCreateTagException (409) with this composed text.
    throw gitError(409, 'GitFailedToCreateTagException', `${refName} The reference was rejected by a plugin.  with message: ${needsPermissionMessage(callerName(ctx), 'CreateTag')}`);
  }
  const identity = member(ctx).identity;
  const now = Math.floor(Date.now() / 1000);
  // Guess: ADO takes the tagger e-mail from the identity's preferred address; service principals have none.
  const tagger = { name: identity.displayName, email: '', epochSeconds: now };
  const tagId = await makeTag(t.repo.bareDir, { name, objectId: objectId.toLowerCase(), type, tagger, message });
  if ((await updateRef(t.repo.bareDir, refName, ZERO_ID, tagId)) !== 'ok') throw alreadyExists();
  const stored = await readTag(t.repo.bareDir, tagId);
  if (!stored) throw new Error(`tag ${tagId} was not written`);
  return json(annotatedTagJson(ctx, t, stored), undefined, 201);
}

async function getAnnotatedTag(ctx: RouteContext): Promise<RestReply> {
  const t = target(ctx);
  const id = ctx.params.objectId;
  if (!SHA1.test(id) || id === ZERO_ID) throw invalidArgument('objectId');
  onDisk(t);
  const tag = await readTag(t.repo.bareDir, id.toLowerCase());
  if (!tag) {
    const kind = await objectType(t.repo.bareDir, id.toLowerCase());
    throw kind
      ? gitError(404, 'GitUnexpectedObjectTypeException', `Expected a Tag, but objectId ${id.toLowerCase()} resolved to a ${pascal(kind)}`)
      : gitError(404, 'GitObjectDoesNotExistException', `TF401035: The object '${id.toLowerCase()}' does not exist.`);
  }
  return json(annotatedTagJson(ctx, t, tag));
}

// ---------------------------------------------------------------------------------------------
// Pull requests (GitPullRequestsController + TeamFoundationGitPullRequestService)

const PR_STATUS = { notSet: 0, active: 1, abandoned: 2, completed: 3, all: 4 };
const MERGE_STRATEGY = { noFastForward: 1, squash: 2, rebase: 3, rebaseMerge: 4 };
const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

const prNotFound = (): DevOpsError => gitError(404, 'GitPullRequestNotFoundException', 'TF401180: The requested pull request was not found.');
const cannotActivate = (): DevOpsError =>
  gitError(
    400,
    'GitPullRequestCannotBeActivated',
    'TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches',
  );
const prExists = (): DevOpsError => gitError(409, 'GitPullRequestExistsException', 'TF401179: An active pull request for the source and target branch already exists.');

/** ITfsGitRepositoryExtensions.VerifyLocalRef: the ref must exist and be a branch. */
async function branchTip(repo: Repository, name: string): Promise<string> {
  const id = name.startsWith('refs/heads/') ? await refValue(repo.bareDir, name) : undefined;
  if (!id) throw cannotActivate();
  return id;
}

/** Pull request ids (and code review ids) come from one counter per organization. */
function nextPullRequestId(ctx: RouteContext): number {
  const all = ctx.org.projects.flatMap((p) => p.repos.flatMap((r) => r.pullRequests ?? []));
  return all.reduce((max, pr) => Math.max(max, pr.pullRequestId), 0) + 1;
}

/**
 * The emulator's merge job: a queued merge has "succeeded" by the next read, and an active pull
 * request follows its branches (ADO recomputes the merge on every push). No conflict detection.
 */
async function refreshMerge(repo: Repository, pr: PullRequestRecord): Promise<void> {
  if (pr.status !== 'active' || repo.restOnly) return;
  pr.mergeStatus = 'succeeded';
  pr.lastMergeSourceCommit = (await refValue(repo.bareDir, pr.sourceRefName)) ?? pr.lastMergeSourceCommit;
  pr.lastMergeTargetCommit = (await refValue(repo.bareDir, pr.targetRefName)) ?? pr.lastMergeTargetCommit;
}

function identityRef(ctx: RouteContext, identity: Identity): object {
  return identityRefJson({ org: ctx.org, orgUrl: ctx.orgUrl, identity });
}

function pullRequestJson(ctx: RouteContext, t: Target, pr: PullRequestRecord): object {
  const repoUrl = repoApiUrl(ctx, t);
  const url = `${repoUrl}/pullRequests/${pr.pullRequestId}`;
  const full = repoJson(ctx, t.project, t.repo) as Record<string, unknown>;
  const commitRef = (commitId: string): object => ({ commitId, url: `${repoUrl}/commits/${commitId}` });
  const creator = identityByKey(ctx.world, pr.createdBy);
  return {
    repository: { id: full.id, name: full.name, url: full.url, project: full.project, remoteUrl: full.remoteUrl, webUrl: full.webUrl },
    pullRequestId: pr.pullRequestId,
    codeReviewId: pr.codeReviewId,
    status: pr.status,
    createdBy: identityRef(ctx, creator),
    creationDate: pr.creationDate,
    ...(pr.closedDate ? { closedDate: pr.closedDate } : {}),
    title: pr.title,
    description: pr.description,
    sourceRefName: pr.sourceRefName,
    targetRefName: pr.targetRefName,
    mergeStatus: pr.mergeStatus,
    isDraft: pr.isDraft,
    mergeId: pr.mergeId,
    lastMergeSourceCommit: commitRef(pr.lastMergeSourceCommit),
    lastMergeTargetCommit: commitRef(pr.lastMergeTargetCommit),
    reviewers: [],
    url,
    ...(pr.autoCompleteSetBy ? { autoCompleteSetBy: identityRef(ctx, identityByKey(ctx.world, pr.autoCompleteSetBy)) } : {}),
    ...(pr.completionOptions ? { completionOptions: pr.completionOptions } : {}),
    _links: {
      self: { href: url },
      repository: { href: repoUrl },
      workItems: { href: `${url}/workitems` },
      sourceBranch: { href: `${repoUrl}/refs` },
      targetBranch: { href: `${repoUrl}/refs` },
      sourceCommit: { href: `${repoUrl}/commits/${pr.lastMergeSourceCommit}` },
      targetCommit: { href: `${repoUrl}/commits/${pr.lastMergeTargetCommit}` },
      createdBy: { href: `${ctx.orgUrl}/_apis/Identities/${devopsIdentityId(ctx.org, creator)}` },
      iterations: { href: `${url}/iterations` },
    },
    supportsIterations: pr.supportsIterations,
    artifactId: `vstfs:///Git/PullRequestId/${t.project.id}%2f${t.repo.id}%2f${pr.pullRequestId}`,
  };
}

const prsOf = (repo: Repository): PullRequestRecord[] => (repo.pullRequests ??= []);

async function createPullRequest(ctx: RouteContext): Promise<RestReply> {
  const body = bodyJson(ctx);
  const b = isObject(body) ? body : {};
  const source = str(b.sourceRefName);
  const targetRef = str(b.targetRefName);
  // The controllers pass their message where InvalidArgumentValueException expects a parameter name.
  if (!source || !targetRef) throw invalidArgument('Both a source and target reference is required.');
  const title = str(b.title);
  if (!title?.trim()) throw invalidArgument('Invalid pull request title.');
  const t = target(ctx);
  onDisk(t);
  const description = str(b.description) ?? '';
  if (description.length > 4000) throw invalidArgument('A description for a pull request must not be longer than 4000 characters.');
  if (source === targetRef) throw invalidArgument('A source and a target reference cannot be the same.');
  if (!canWrite(ctx)) throw needsPermission(callerName(ctx), 'PullRequestContribute');
  const sourceTip = await branchTip(t.repo, source);
  const targetTip = await branchTip(t.repo, targetRef);
  const prs = prsOf(t.repo);
  if (prs.some((p) => p.status === 'active' && p.sourceRefName === source && p.targetRefName === targetRef)) throw prExists();
  const id = nextPullRequestId(ctx);
  const pr: PullRequestRecord = {
    pullRequestId: id,
    codeReviewId: id,
    status: 'active',
    createdBy: member(ctx).identity.key,
    creationDate: new Date().toISOString(),
    title,
    description,
    sourceRefName: source,
    targetRefName: targetRef,
    isDraft: b.isDraft === true,
    mergeStatus: 'queued',
    mergeId: randomUUID(),
    lastMergeSourceCommit: sourceTip,
    lastMergeTargetCommit: targetTip,
    supportsIterations: ctx.query.get('supportsIterations')?.toLowerCase() !== 'false',
  };
  prs.push(pr);
  return json(pullRequestJson(ctx, t, pr), undefined, 201);
}

async function listPullRequests(ctx: RouteContext): Promise<RestReply> {
  const t = target(ctx);
  const rawStatus = param(ctx, 'searchCriteria', 'status');
  // Default status filter: active; `all` means no filter.
  const status = rawStatus === null ? 'active' : enumName(rawStatus, PR_STATUS);
  if (!status) throw invalidArgument('Status');
  const source = param(ctx, 'searchCriteria', 'sourceRefName');
  const targetRef = param(ctx, 'searchCriteria', 'targetRefName');
  const creator = param(ctx, 'searchCriteria', 'creatorId')?.toLowerCase();
  const top = Math.min(Number(ctx.query.get('$top') ?? 101) || 101, 1000);
  const skip = Math.max(Number(ctx.query.get('$skip') ?? 0) || 0, 0);
  const prs = prsOf(t.repo)
    .filter((p) => status === 'all' || p.status === status)
    .filter((p) => source === null || p.sourceRefName === source)
    .filter((p) => targetRef === null || p.targetRefName === targetRef)
    .filter((p) => !creator || devopsIdentityId(ctx.org, identityByKey(ctx.world, p.createdBy)) === creator)
    .sort((a, b) => b.pullRequestId - a.pullRequestId)
    .slice(skip, skip + top);
  for (const pr of prs) await refreshMerge(t.repo, pr);
  return json(collection(prs.map((pr) => pullRequestJson(ctx, t, pr))));
}

function findPullRequest(t: Target, rawId: string): PullRequestRecord {
  const pr = /^\d+$/.test(rawId) ? prsOf(t.repo).find((p) => p.pullRequestId === Number(rawId)) : undefined;
  if (!pr) throw prNotFound();
  return pr;
}

async function getPullRequest(ctx: RouteContext): Promise<RestReply> {
  const t = target(ctx);
  const pr = findPullRequest(t, ctx.params.pullRequestId);
  await refreshMerge(t.repo, pr);
  return json(pullRequestJson(ctx, t, pr));
}

/** GET {project}/_apis/git/pullrequests/{id}: pull request ids are unique in the organization. */
async function getPullRequestById(ctx: RouteContext): Promise<RestReply> {
  const projects = ctx.params.project ? [projectOf(ctx, ctx.params.project)] : ctx.org.projects;
  for (const project of projects) {
    for (const repo of project.repos) {
      const pr = (repo.pullRequests ?? []).find((p) => String(p.pullRequestId) === ctx.params.pullRequestId);
      if (pr && member(ctx).membership.access === 'basic') {
        await refreshMerge(repo, pr);
        return json(pullRequestJson(ctx, { project, repo }, pr));
      }
    }
  }
  throw prNotFound();
}

/** PATCH: title, description, isDraft, status (abandon / reactivate), auto-complete and completion options. */
async function updatePullRequest(ctx: RouteContext): Promise<RestReply> {
  const body = bodyJson(ctx);
  if (!isObject(body)) throw invalidArgument('The pull request to update was not valid.');
  if (typeof body.title === 'string' && !body.title.trim()) throw invalidArgument('Invalid pull request title.');
  const t = target(ctx);
  const forbidden = ['creationDate', 'closedDate', 'createdBy', 'lastMergeCommit', 'lastMergeTargetCommit', 'mergeId', 'repository', 'sourceRefName', 'targetRefName', 'reviewers'];
  // Retargeting (targetRefName) exists behind a feature flag and is not emulated.
  if (forbidden.some((f) => body[f] !== undefined && body[f] !== null) || (body.pullRequestId !== undefined && body.pullRequestId !== 0)) {
    throw invalidArgument('You can only update reviewers, descriptions, titles, merge status, and status.');
  }
  const pr = findPullRequest(t, ctx.params.pullRequestId);
  const status = body.status === undefined || body.status === null ? undefined : enumName(body.status, PR_STATUS);
  if (body.status !== undefined && body.status !== null && !status) throw invalidArgument('Status');
  if (status === 'completed') {
    // Guess: completing (merging) through PATCH is not emulated; ADO first requires lastMergeSourceCommit.
    throw invalidArgument('You must specify a valid LastMergeSourceCommit to perform this operation.');
  }
  let completionOptions: Record<string, unknown> | undefined;
  if (isObject(body.completionOptions)) {
    completionOptions = { ...body.completionOptions };
    if (completionOptions.mergeStrategy !== undefined && completionOptions.mergeStrategy !== null) {
      const name = enumName(completionOptions.mergeStrategy, MERGE_STRATEGY);
      if (!name) throw invalidArgument('CompletionOptions'); // Guess: the exact text of a bad enum in a body.
      completionOptions.mergeStrategy = name;
    }
  }
  let autoComplete: string | null | undefined; // identity key, null = unset, undefined = unchanged
  if (isObject(body.autoCompleteSetBy) && body.autoCompleteSetBy.id !== undefined) {
    const id = String(body.autoCompleteSetBy.id).toLowerCase();
    const self = devopsIdentityId(ctx.org, member(ctx).identity);
    const invalid = 'Invalid pull request auto complete set by id. Valid values are either the current user identity id, or an empty guid (to unset auto complete).';
    if (id !== self && id !== EMPTY_GUID) throw invalidArgument(invalid);
    autoComplete = id === EMPTY_GUID ? null : member(ctx).identity.key;
  }
  if (!canWrite(ctx)) throw needsPermission(callerName(ctx), 'PullRequestContribute');
  if (pr.status !== 'active' && status !== 'active') {
    throw gitError(400, 'GitPullRequestNotEditableException', 'TF401181: The pull request cannot be edited due to its state.');
  }
  if (status === 'active' && pr.status !== 'active') {
    await branchTip(t.repo, pr.sourceRefName);
    await branchTip(t.repo, pr.targetRefName);
    if (prsOf(t.repo).some((p) => p !== pr && p.status === 'active' && p.sourceRefName === pr.sourceRefName && p.targetRefName === pr.targetRefName)) throw prExists();
    pr.status = 'active';
    delete pr.closedDate;
    pr.mergeStatus = 'queued';
  }
  if (status === 'abandoned' && pr.status === 'active') {
    pr.status = 'abandoned';
    pr.closedDate = new Date().toISOString();
  }
  if (typeof body.title === 'string') pr.title = body.title;
  if (typeof body.description === 'string') {
    if (body.description.length > 4000) throw invalidArgument('A description for a pull request must not be longer than 4000 characters.');
    pr.description = body.description;
  }
  if (typeof body.isDraft === 'boolean') pr.isDraft = body.isDraft;
  if (completionOptions) pr.completionOptions = completionOptions;
  if (autoComplete === null) delete pr.autoCompleteSetBy;
  else if (autoComplete) pr.autoCompleteSetBy = autoComplete;
  await refreshMerge(t.repo, pr);
  return json(pullRequestJson(ctx, t, pr));
}

// ---------------------------------------------------------------------------------------------
// Route table

const scoped = (method: string, tail: string, locationId: string, handle: Route['handle']): Route[] => [
  { method, template: `{project}/_apis/git/repositories/{repositoryId}/${tail}`, locationId, handle },
  // Organization level: the repository by GUID only (a name answers 400, see repositoryOf).
  { method, template: `_apis/git/repositories/{repositoryId}/${tail}`, locationId, handle },
];

export const GIT_ROUTES: Route[] = [
  ...scoped('GET', 'items/{*path}', LOCATION_IDS.items, getItems),
  ...scoped('GET', 'refs/{*filter}', LOCATION_IDS.refs, getRefs),
  ...scoped('POST', 'refs', LOCATION_IDS.refs, postRefs),
  ...scoped('GET', 'commits/{commitId}', LOCATION_IDS.commits, getCommit),
  ...scoped('GET', 'commits/{commitId}/mergebases', LOCATION_IDS.mergeBases, getMergeBases),
  ...scoped('POST', 'annotatedtags', LOCATION_IDS.annotatedTags, postAnnotatedTag),
  ...scoped('GET', 'annotatedtags/{objectId}', LOCATION_IDS.annotatedTags, getAnnotatedTag),
  ...scoped('POST', 'pullrequests', LOCATION_IDS.pullRequests, createPullRequest),
  ...scoped('GET', 'pullrequests', LOCATION_IDS.pullRequests, listPullRequests),
  ...scoped('GET', 'pullrequests/{pullRequestId}', LOCATION_IDS.pullRequests, getPullRequest),
  ...scoped('PATCH', 'pullrequests/{pullRequestId}', LOCATION_IDS.pullRequests, updatePullRequest),
  { method: 'GET', template: '{project}/_apis/git/pullrequests/{pullRequestId}', locationId: LOCATION_IDS.pullRequestById, handle: getPullRequestById },
  { method: 'GET', template: '_apis/git/pullrequests/{pullRequestId}', locationId: LOCATION_IDS.pullRequestById, handle: getPullRequestById },
];
