/**
 * `push`: a local repository's commit (HEAD or a named ref) to a branch of an Azure DevOps repository,
 * optionally with the local tags that point into it. Everything is decided before anything is sent:
 * a non-fast-forward is refused unless `force` (then --force-with-lease against the tip read just
 * before), and a tag that exists remotely on another object is refused. Re-running with nothing new
 * is a no-op. The branch goes first and the tags only after it landed: Azure Repos has no atomic push,
 * so a refused branch (permissions, branch policy) leaves the repository as it was.
 */
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

/** Whether `ancestor` is in the history of `commit` (false too when `ancestor` is not in the local repository). */
async function isAncestor(git: Git, cwd: string, ancestor: string, commit: string): Promise<boolean> {
  const { exitCode } = await git(['merge-base', '--is-ancestor', ancestor, commit], { cwd, capture: true, okExitCodes: [1, 128] });
  return exitCode === 0;
}

/** A failed git push whose server said why (a TF code: permission, branch policy…) becomes that reason, said once. */
function refused(err: unknown, what: string, outcome: string): unknown {
  if (!(err instanceof GitError)) return err;
  const reason = /^remote:\s*(TF\d{6}:.*?)\s*$/m.exec(err.message)?.[1];
  return reason ? new TaskError(`Azure DevOps refused to ${what}: ${reason}${outcome}`, err.hint) : err;
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
  if (moveBranch && previous && !o.force && !(await isAncestor(git, cwd, previous, commit))) {
    throw new TaskError(
      `Pushing ${commit} to '${o.targetBranch}' of '${o.repository}' is not a fast-forward: the branch is at ${previous}, which is not in the history of ${commit}. Nothing was pushed.`,
      'Fetch the branch and merge or rebase onto it first, or set force: true to overwrite it (uses --force-with-lease against the tip read just before).');
  }
  if (!moveBranch && !tags.length) {
    log.info(`'${o.targetBranch}' of '${o.repository}' is already at ${commit}${o.tags ? ' with every tag' : ''}; nothing to push.`);
    return { commit, previous, upToDate: true, tags };
  }

  if (moveBranch) {
    const args = ['push'];
    if (o.force) args.push(`--force-with-lease=${target}:${previous ?? ''}`);
    await git([...args, '--', o.url, `${commit}:${target}`], { cwd, auth }).catch((err: unknown) => {
      throw refused(err, `update '${o.targetBranch}' of '${o.repository}'`, ' Nothing was pushed.');
    });
    const forced = o.force && previous !== undefined && !(await isAncestor(git, cwd, previous, commit));
    const was = previous ? `${forced ? ', overwriting' : ' (was'} ${previous}${forced ? '' : ')'}` : ' (new branch)';
    log.info(`Pushed ${commit} to '${o.targetBranch}' of '${o.repository}'${was}.`);
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
