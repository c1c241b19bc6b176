/**
 * `push`: a local repository's commit (HEAD or a named ref) to a branch of an Azure DevOps repository,
 * optionally with the tags that point into it. Non-fast-forward is refused unless `force`, which uses
 * --force-with-lease against the branch tip read just before. Re-running with nothing new is a no-op.
 */
import { TaskError } from './errors';
import type { Git, GitAuth } from './git';
import type { Log } from './log';

export interface PushOptions {
  readonly sourceDirectory: string;
  /** Clone URL of the target repository. */
  readonly url: string;
  /** Local ref or commit to push; default HEAD. */
  readonly sourceRef: string;
  readonly targetBranch: string;
  readonly tags: boolean;
  readonly force: boolean;
}

export interface PushResult {
  readonly commit: string;
  readonly previous?: string;
  readonly upToDate: boolean;
  readonly tags: readonly string[];
}

async function remoteTip(git: Git, o: PushOptions, auth: GitAuth, ref: string): Promise<string | undefined> {
  const { stdout } = await git(['ls-remote', '--', o.url, ref], { cwd: o.sourceDirectory, auth, capture: true });
  return stdout.split('\n').map((l) => l.split('\t')).find(([, name]) => name === ref)?.[0];
}

export async function push(git: Git, o: PushOptions, auth: GitAuth, log: Log): Promise<PushResult> {
  const cwd = o.sourceDirectory;
  const verified = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${o.sourceRef}^{commit}`], { cwd, capture: true, okExitCodes: [1] });
  const commit = verified.stdout.trim();
  if (verified.exitCode !== 0 || !commit) {
    throw new TaskError(`'${o.sourceRef}' is not a commit in ${cwd}.`, 'Commit your changes first, or name an existing local branch, tag or commit in sourceRef.');
  }
  const target = `refs/heads/${o.targetBranch}`;
  const previous = await remoteTip(git, o, auth, target);
  const tags = o.tags
    ? (await git(['tag', '--merged', commit], { cwd, capture: true })).stdout.split('\n').map((t) => t.trim()).filter(Boolean)
    : [];
  const refspecs = [...(previous === commit ? [] : [`${commit}:${target}`]), ...tags.map((t) => `refs/tags/${t}:refs/tags/${t}`)];
  if (!refspecs.length) {
    log.info(`${o.targetBranch} is already at ${commit}; nothing to push.`);
    return { commit, previous, upToDate: true, tags };
  }
  const args = ['push', '--porcelain'];
  if (o.force && previous !== commit) args.push(`--force-with-lease=${target}:${previous ?? ''}`);
  await git([...args, '--', o.url, ...refspecs], { cwd, auth });
  log.info(`Pushed ${commit} to ${o.targetBranch}${previous ? ` (was ${previous})` : ' (new branch)'}${tags.length ? ` with tags ${tags.join(', ')}` : ''}.`);
  return { commit, previous, upToDate: previous === commit, tags };
}
