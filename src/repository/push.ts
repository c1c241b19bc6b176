/**
 * `push`: a local repository's commit (HEAD or a named ref) to a branch of an Azure DevOps repository,
 * optionally with the local tags that point into it. Everything is decided before anything is sent:
 * a non-fast-forward is refused unless `force` (then --force-with-lease against the tip read just
 * before), and a tag that exists remotely on another object is refused. Re-running with nothing new
 * is a no-op. The branch goes first and the tags only after it landed: Azure Repos has no atomic push,
 * so a refused branch (permissions, branch policy) leaves the repository as it was.
 *
 * In a shallow clone the local history may end before the branch's tip: then git itself cannot tell a
 * fast-forward (a plain `git push` refuses with "fetch first" or "non-fast-forward" without asking the
 * server), so Azure DevOps is asked (`ancestryOnServer`): is the tip in the history of the commits where the
 * local history ends? What cannot be decided either way is refused, never pushed blindly.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GitError, TaskError } from '../core/errors';
import type { Git, GitAuth } from '../git/runner';
import type { Log } from '../core/log';

export interface PushOptions {
  readonly sourceDirectory: string;
  /** Clone URL of the target repository. */
  readonly url: string;
  /** The target repository for messages, e.g. 'fabrikam/Shared Tools/templates'. */
  readonly repository: string;
  /** Local ref or commit to push; default HEAD. */
  readonly sourceRef: string;
  /** Short branch name. */
  readonly targetBranch: string;
  readonly tags: boolean;
  readonly force: boolean;
  /**
   * Asks Azure DevOps whether `ancestor` is in the history of any of `commits` (commits the server has):
   * 'unknown' when it cannot tell (it does not have them). Used only when the local history is shallow.
   */
  readonly ancestryOnServer?: (ancestor: string, commits: readonly string[]) => Promise<'yes' | 'no' | 'unknown'>;
}

export interface PushResult {
  readonly commit: string;
  /** The branch tip before the push; undefined when the branch was new. */
  readonly previous?: string;
  /** True when neither the branch nor any tag needed an update. */
  readonly upToDate: boolean;
  /** Tags pushed (short names). */
  readonly tags: readonly string[];
}

/** `git ls-remote` of the target branch (and the tags): full ref name → object id, peeled entries left out. */
async function remoteRefs(git: Git, o: PushOptions, auth: GitAuth, target: string): Promise<Map<string, string>> {
  const patterns = o.tags ? [target, 'refs/tags/*'] : [target];
  const { stdout } = await git(['ls-remote', '--', o.url, ...patterns], { cwd: o.sourceDirectory, auth, capture: true });
  const refs = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [id, name] = line.trim().split('\t');
    if (id && name && !name.endsWith('^{}')) refs.set(name, id.toLowerCase());
  }
  return refs;
}

/** Local tags reachable from `commit`: full ref name → object id (the tag object for annotated tags). */
async function localTags(git: Git, cwd: string, commit: string): Promise<Map<string, string>> {
  const { stdout } = await git(['for-each-ref', `--merged=${commit}`, '--format=%(objectname) %(refname)', 'refs/tags/'], { cwd, capture: true });
  const tags = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf(' ');
    if (at > 0) tags.set(line.slice(at + 1).trim(), line.slice(0, at).toLowerCase());
  }
  return tags;
}

/** Fails clearly unless `dir` is in a git work tree; other refusals (e.g. git's "dubious ownership") keep git's own words. */
export async function requireWorkTree(git: Git, dir: string): Promise<void> {
  try {
    await git(['rev-parse', '--is-inside-work-tree'], { cwd: dir, capture: true });
  } catch (err) {
    if (err instanceof GitError && /not a git repository/i.test(err.message)) {
      throw new TaskError(`${dir} is not a git repository.`, 'Point sourceDirectory at a clone, e.g. one made by command: checkout.');
    }
    throw err;
  }
}

async function resolveCommit(git: Git, cwd: string, ref: string): Promise<string> {
  await requireWorkTree(git, cwd);
  const verified = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { cwd, capture: true, okExitCodes: [1] });
  const commit = verified.stdout.trim().toLowerCase();
  if (verified.exitCode !== 0 || !commit) {
    throw new TaskError(`'${ref}' is not a commit in ${cwd}.`, 'Commit your changes first, or name an existing local branch, tag or commit in sourceRef.');
  }
  return commit;
}

/**
 * Whether `ancestor` is in the history of `commit`, as far as the local repository can tell: 'unknown', with the
 * shallow commits the walk stopped at, when the history below them was not fetched (`merge-base --is-ancestor`
 * answers 1, or 128 for an object it lacks, although the answer lies beyond them).
 */
type Ancestry = { readonly kind: 'yes' | 'no' } | { readonly kind: 'unknown'; readonly boundaries: readonly string[] };

async function localAncestry(git: Git, cwd: string, ancestor: string, commit: string): Promise<Ancestry> {
  const { exitCode } = await git(['merge-base', '--is-ancestor', ancestor, commit], { cwd, capture: true, okExitCodes: [1, 128] });
  if (exitCode === 0) return { kind: 'yes' };
  const boundaries = await shallowBoundaries(git, cwd, commit);
  return boundaries.length ? { kind: 'unknown', boundaries } : { kind: 'no' };
}

/** The shallow commits (their parents were never fetched) that the local history of `commit` reaches; none in a complete clone. */
async function shallowBoundaries(git: Git, cwd: string, commit: string): Promise<string[]> {
  const file = (await git(['rev-parse', '--git-path', 'shallow'], { cwd, capture: true })).stdout.trim();
  let shallow: Set<string>;
  try {
    shallow = new Set(readFileSync(resolve(cwd, file), 'utf8').split('\n').map((l) => l.trim().toLowerCase()).filter(Boolean));
  } catch {
    return [];
  }
  if (!shallow.size) return [];
  const { stdout } = await git(['rev-list', commit], { cwd, capture: true });
  return stdout.split('\n').map((l) => l.trim().toLowerCase()).filter((id) => shallow.has(id));
}

const list = (ids: readonly string[]): string => ids.join(', ');

/**
 * Decides whether moving the branch from `previous` to `commit` is a fast-forward, asking Azure DevOps when this
 * clone's history is too shallow to tell. Refuses a push that is not one, or whose kind cannot be known.
 */
async function fastForward(git: Git, o: PushOptions, previous: string, commit: string, log: Log): Promise<'yes' | 'asked'> {
  const where = `'${o.targetBranch}' of '${o.repository}'`;
  const local = await localAncestry(git, o.sourceDirectory, previous, commit);
  if (local.kind === 'yes') return 'yes';
  let answer: 'yes' | 'no' | 'unknown' = local.kind;
  if (local.kind === 'unknown') {
    log.info(`This clone is shallow: the history of ${commit} ends at ${list(local.boundaries)}, before it can show whether ${previous} (the tip of ${where}) is in it. Asking Azure DevOps.`);
    answer = o.ancestryOnServer ? await o.ancestryOnServer(previous, local.boundaries) : 'unknown';
    if (answer === 'unknown') {
      throw new TaskError(
        `Cannot tell whether pushing ${commit} to ${where} is a fast-forward: this clone is shallow (its history ends at ${list(local.boundaries)}), and Azure DevOps does not have ${local.boundaries.length > 1 ? 'those commits' : 'that commit'} in '${o.repository}'. Nothing was pushed.`,
        'Fetch the history the commit is built on first (checkout with fetchDepth: 0, or git fetch --unshallow), or set force: true to overwrite the branch.');
    }
    if (answer === 'yes') {
      log.info(`Azure DevOps confirms ${previous} is in the history of ${list(local.boundaries)}, and so of ${commit}: this push is a fast-forward.`);
      return 'asked';
    }
  }
  throw new TaskError(
    `Pushing ${commit} to ${where} is not a fast-forward: the branch is at ${previous}, which is not in the history of ${commit}${local.kind === 'unknown' ? ' (Azure DevOps checked the history this shallow clone lacks)' : ''}. Nothing was pushed.`,
    'Fetch the branch and merge or rebase onto it first, or set force: true to overwrite it (uses --force-with-lease against the tip read just before).');
}

/** A failed git push whose server said why (a TF code: permission, branch policy…) becomes that reason, said once. */
function refused(err: unknown, what: string, outcome: string): unknown {
  if (!(err instanceof GitError)) return err;
  const reason = /^remote:\s*(TF\d{6}:.*?)\s*$/m.exec(err.message)?.[1];
  return reason ? new TaskError(`Azure DevOps refused to ${what}: ${reason}${outcome}`, err.hint) : err;
}

/** What the pushed commit replaced, said only as far as it was checked: ' (new branch)', ' (was X)', ', overwriting X'. */
async function pushedOver(git: Git, o: PushOptions, previous: string | undefined, commit: string): Promise<string> {
  if (!previous) return ' (new branch)';
  if (!o.force) return ` (was ${previous})`;
  const local = await localAncestry(git, o.sourceDirectory, previous, commit);
  if (local.kind === 'yes') return ` (was ${previous})`;
  if (local.kind === 'no') return `, overwriting ${previous}`;
  return ` (was ${previous}; force: true, and whether that overwrote commits was not checked: this clone is shallow)`;
}

export async function push(git: Git, o: PushOptions, auth: GitAuth, log: Log): Promise<PushResult> {
  const cwd = o.sourceDirectory;
  const commit = await resolveCommit(git, cwd, o.sourceRef);
  const target = `refs/heads/${o.targetBranch}`;
  const remote = await remoteRefs(git, o, auth, target);
  const previous = remote.get(target);

  const tags: string[] = [];
  if (o.tags) {
    for (const [name, id] of await localTags(git, cwd, commit)) {
      const there = remote.get(name);
      if (there === id) continue;
      const tag = name.replace(/^refs\/tags\//, '');
      if (there) {
        throw new TaskError(`Tag '${tag}' already exists in '${o.repository}' as ${there}; the local one is ${id}. Nothing was pushed.`,
          'Tags are not moved: delete or rename the local tag, or delete the remote one first.');
      }
      tags.push(tag);
    }
  }

  const moveBranch = previous !== commit;
  // 'asked': Azure DevOps confirmed the fast-forward git could not see; git still lacks the history to agree, so the
  // push carries a lease on the tip that was checked (the server applies it only if the branch is still there).
  const checked = moveBranch && previous && !o.force ? await fastForward(git, o, previous, commit, log) : undefined;
  if (!moveBranch && !tags.length) {
    log.info(`'${o.targetBranch}' of '${o.repository}' is already at ${commit}${o.tags ? ' with every tag' : ''}; nothing to push.`);
    return { commit, previous, upToDate: true, tags };
  }

  if (moveBranch) {
    const args = ['push'];
    if (o.force || checked === 'asked') args.push(`--force-with-lease=${target}:${previous ?? ''}`);
    // git would call that leased push a "(forced update)", having not seen the history the server checked.
    if (checked === 'asked') args.push('--quiet');
    await git([...args, '--', o.url, `${commit}:${target}`], { cwd, auth }).catch((err: unknown) => {
      throw refused(err, `update '${o.targetBranch}' of '${o.repository}'`, ' Nothing was pushed.');
    });
    log.info(`Pushed ${commit} to '${o.targetBranch}' of '${o.repository}'${await pushedOver(git, o, previous, commit)}.`);
  } else {
    log.info(`'${o.targetBranch}' of '${o.repository}' is already at ${commit}.`);
  }
  if (tags.length) {
    await git(['push', '--', o.url, ...tags.map((t) => `refs/tags/${t}:refs/tags/${t}`)], { cwd, auth }).catch((err: unknown) => {
      throw refused(err, `create tags ${tags.join(', ')} in '${o.repository}'`, moveBranch ? ` The branch was pushed; the tags were not.` : '');
    });
    log.info(`Pushed tags ${tags.join(', ')}.`);
  }
  return { commit, previous, upToDate: false, tags };
}
