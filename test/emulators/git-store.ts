/**
 * Reads and writes the bare repositories the way the REST routes need: refs, commits, trees,
 * blobs (binary-safe), compare-and-swap ref updates and annotated tags. Every call is one real
 * `git` process in the bare directory with the isolated environment of git-repos.ts.
 */
import { spawn } from 'node:child_process';
import { isolatedGitEnv } from './git-repos';

export const ZERO_ID = '0'.repeat(40);
export const SHA1 = /^[0-9a-f]{40}$/i;

export interface GitBytes {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs `git -C bareDir …`; stdout stays bytes. Never throws on a non-zero exit. */
export function gitBytes(bareDir: string, args: readonly string[], input?: Buffer): Promise<GitBytes> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', bareDir, ...args], { env: isolatedGitEnv() });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function gitText(bareDir: string, args: readonly string[], input?: Buffer): Promise<string | undefined> {
  const r = await gitBytes(bareDir, args, input);
  return r.code === 0 ? r.stdout.toString() : undefined;
}

export interface RefEntry {
  /** Full name, `refs/heads/main`. */
  name: string;
  objectId: string;
  objectType: string;
  /** For annotated tags: the object the tag points at (`%(*objectname)`). */
  peeledObjectId?: string;
}

/** Every ref of a bare repository, sorted by name (as `git for-each-ref` and ADO sort them). */
export async function refsOf(bareDir: string): Promise<RefEntry[]> {
  const text = (await gitText(bareDir, ['for-each-ref', '--format=%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)'])) ?? '';
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name, objectId, objectType, peeled] = line.split('\0');
      return { name, objectId, objectType, ...(peeled ? { peeledObjectId: peeled } : {}) };
    });
}

/** The object id a full ref name points at, or undefined. */
export async function refValue(bareDir: string, name: string): Promise<string | undefined> {
  const out = await gitText(bareDir, ['show-ref', '--verify', '--hash', name]);
  return out?.trim() || undefined;
}

/** `commit`, `tag`, `tree`, `blob`, or undefined when the object does not exist. */
export async function objectType(bareDir: string, objectId: string): Promise<string | undefined> {
  if (!SHA1.test(objectId)) return undefined;
  return (await gitText(bareDir, ['cat-file', '-t', objectId]))?.trim();
}

/** Every best common ancestor of two commits (`git merge-base --all`); empty when their histories never meet. */
export async function mergeBases(bareDir: string, a: string, b: string): Promise<string[]> {
  return ((await gitText(bareDir, ['merge-base', '--all', a, b])) ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Peels tags down to a commit; undefined when the object is missing or is a tree/blob. */
export async function peelToCommit(bareDir: string, objectId: string): Promise<string | undefined> {
  if (!SHA1.test(objectId)) return undefined;
  return (await gitText(bareDir, ['rev-parse', '--verify', '--quiet', `${objectId}^{commit}`]))?.trim() || undefined;
}

export interface Signature {
  name: string;
  email: string;
  /** ISO 8601 without milliseconds, like ADO (`2014-01-29T23:32:09Z`). */
  date: string;
}

export interface CommitInfo {
  commitId: string;
  treeId: string;
  parents: string[];
  author: Signature;
  committer: Signature;
  /** The full message, trailing newline included (ADO's `comment`). */
  comment: string;
}

export const isoSeconds = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function signature(value: string): Signature {
  const m = /^(.*) <([^>]*)> (\d+) [+-]\d{4}$/.exec(value);
  return m ? { name: m[1], email: m[2], date: isoSeconds(Number(m[3])) } : { name: value, email: '', date: isoSeconds(0) };
}

/** Parses a commit object; undefined when `commitId` is not a commit. */
export async function readCommit(bareDir: string, commitId: string): Promise<CommitInfo | undefined> {
  if (!SHA1.test(commitId)) return undefined;
  const raw = await gitText(bareDir, ['cat-file', 'commit', commitId]);
  if (raw === undefined) return undefined;
  const split = raw.indexOf('\n\n');
  const headers = (split < 0 ? raw : raw.slice(0, split)).split('\n');
  const field = (key: string): string[] => headers.filter((h) => h.startsWith(`${key} `)).map((h) => h.slice(key.length + 1));
  return {
    commitId: commitId.toLowerCase(),
    treeId: field('tree')[0] ?? '',
    parents: field('parent'),
    author: signature(field('author')[0] ?? ''),
    committer: signature(field('committer')[0] ?? ''),
    comment: split < 0 ? '' : raw.slice(split + 2),
  };
}

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  objectId: string;
  name: string;
}

export async function listTree(bareDir: string, treeish: string, recursive = false): Promise<TreeEntry[]> {
  const r = await gitBytes(bareDir, ['ls-tree', '-z', ...(recursive ? ['-r', '-t'] : []), treeish]);
  if (r.code !== 0) return [];
  return r.stdout
    .toString()
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      const [mode, type, objectId] = line.slice(0, tab).split(' ');
      return { mode, type: type as TreeEntry['type'], objectId, name: line.slice(tab + 1) };
    });
}

export interface FoundItem {
  /** `/dir/file`, with the names as stored (the lookup may have matched another case). */
  path: string;
  objectId: string;
  type: 'blob' | 'tree' | 'commit';
  mode: string;
}

/**
 * Finds a path in a commit like ADO's GitItemUtility.FindMember: separators `/` and `\`, empty
 * segments skipped, an exact name first, else the only case-insensitive match.
 */
export async function findItem(bareDir: string, commit: CommitInfo, itemPath: string): Promise<FoundItem | undefined> {
  const segments = itemPath.split(/[/\\]/).filter(Boolean);
  let current: FoundItem = { path: '/', objectId: commit.treeId, type: 'tree', mode: '040000' };
  const names: string[] = [];
  for (const segment of segments) {
    if (current.type !== 'tree') return undefined;
    const entries = await listTree(bareDir, current.objectId);
    const exact = entries.find((e) => e.name === segment);
    const loose = entries.filter((e) => e.name.toLowerCase() === segment.toLowerCase());
    const entry = exact ?? (loose.length === 1 ? loose[0] : undefined);
    if (!entry) return undefined;
    names.push(entry.name);
    current = { path: `/${names.join('/')}`, objectId: entry.objectId, type: entry.type, mode: entry.mode };
  }
  return current;
}

export async function readBlob(bareDir: string, objectId: string): Promise<Buffer | undefined> {
  const r = await gitBytes(bareDir, ['cat-file', 'blob', objectId]);
  return r.code === 0 ? r.stdout : undefined;
}

/** `git check-ref-format` (ADO applies stricter rules as well; see refs handling). */
export async function validRefName(bareDir: string, name: string): Promise<boolean> {
  return (await gitBytes(bareDir, ['check-ref-format', name])).code === 0;
}

/**
 * Compare-and-swap: sets `name` to `newId` (ZERO_ID deletes) only if it currently is `oldId`
 * (ZERO_ID: must not exist). Resolves 'stale' when the current value differs.
 */
export async function updateRef(bareDir: string, name: string, oldId: string, newId: string): Promise<'ok' | 'stale'> {
  const current = await refValue(bareDir, name);
  if ((current ?? ZERO_ID) !== oldId.toLowerCase()) return 'stale';
  const args = newId === ZERO_ID ? ['update-ref', '-d', name, oldId] : ['update-ref', name, newId, oldId];
  const r = await gitBytes(bareDir, args);
  if (r.code === 0) return 'ok';
  // Lost a race with another writer between the read and the update.
  if ((await refValue(bareDir, name)) !== current) return 'stale';
  throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
}

/** Writes an annotated tag object with `git mktag`; returns its id (the ref is not created). */
export async function makeTag(
  bareDir: string,
  tag: { name: string; objectId: string; type: string; tagger: { name: string; email: string; epochSeconds: number }; message: string },
): Promise<string> {
  // The message is stored as given (git mktag accepts one without a trailing newline).
  const text = `object ${tag.objectId}\ntype ${tag.type}\ntag ${tag.name}\ntagger ${tag.tagger.name} <${tag.tagger.email}> ${tag.tagger.epochSeconds} +0000\n\n${tag.message}`;
  const r = await gitBytes(bareDir, ['mktag'], Buffer.from(text));
  if (r.code !== 0) throw new Error(`git mktag failed: ${r.stderr}`);
  return r.stdout.toString().trim();
}

export interface TagInfo {
  objectId: string;
  name: string;
  taggedObjectId: string;
  taggedObjectType: string;
  tagger: Signature;
  message: string;
}

export async function readTag(bareDir: string, objectId: string): Promise<TagInfo | undefined> {
  if ((await objectType(bareDir, objectId)) !== 'tag') return undefined;
  const raw = (await gitText(bareDir, ['cat-file', 'tag', objectId])) ?? '';
  const split = raw.indexOf('\n\n');
  const headers = raw.slice(0, split < 0 ? raw.length : split).split('\n');
  const field = (key: string): string => headers.find((h) => h.startsWith(`${key} `))?.slice(key.length + 1) ?? '';
  return {
    objectId: objectId.toLowerCase(),
    name: field('tag'),
    taggedObjectId: field('object'),
    taggedObjectType: field('type'),
    tagger: signature(field('tagger')),
    message: split < 0 ? '' : raw.slice(split + 2),
  };
}
