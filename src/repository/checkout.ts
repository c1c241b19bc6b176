/**
 * Clone or update a repository like the built-in checkout step (research/devops-side.md §4.2, §6):
 * init + fetch of exactly the wanted ref + detached checkout, with depth, filter, tags, sparse
 * directories, submodules (also in other organizations), LFS and clean. A clone this command created and
 * could not finish is removed, so a failure never leaves a half-made folder.
 */
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { GitError, TaskError } from '../core/errors';
import type { Git, GitAuth } from '../git/runner';
import type { Log } from '../core/log';
import { COMMIT_SHA } from './refs';
import { withoutUserinfo } from '../devops/repository-ref';

export type Submodules = 'false' | 'true' | 'recursive';

export interface CheckoutOptions {
  /** Clone URL of the repository. */
  readonly url: string;
  /** Branch, tag, full ref or commit SHA; resolved against the remote. */
  readonly ref: string;
  readonly path: string;
  readonly fetchDepth: number;
  readonly fetchFilter?: string;
  readonly fetchTags: boolean;
  readonly submodules: Submodules;
  readonly lfs: boolean;
  readonly clean: boolean;
  readonly sparseCheckoutDirectories: readonly string[];
}

export interface CheckoutResult {
  readonly commit: string;
  readonly path: string;
  readonly reused: boolean;
  /** Absolute paths of the submodules checked out (all levels). */
  readonly submodules: readonly string[];
}

interface Target {
  /** What to fetch (a ref or a SHA) and where to store it locally. */
  readonly refspec: string;
  readonly checkout: string;
}

function missingRef(ref: string): TaskError {
  return new TaskError(`The ref '${ref}' does not exist in the repository: no branch, tag or commit has that name.`,
    'Check ref: give a branch (main), a tag (v1.2), a full ref (refs/heads/main) or a full 40-character commit SHA.');
}

/** Finds what `ref` names on the remote: a branch first, then a tag, like the built-in checkout. */
export async function resolveTarget(git: Git, cwd: string, auth: GitAuth, ref: string): Promise<Target> {
  if (COMMIT_SHA.test(ref)) return { refspec: `+${ref}:refs/remotes/origin/commit-${ref}`, checkout: ref };
  // A full ref (also the default branch the REST API named) needs no look-up: the fetch itself says if it is missing.
  if (ref.startsWith('refs/')) return target(ref);
  const candidates = [`refs/heads/${ref}`, `refs/tags/${ref}`];
  const { stdout } = await git(['ls-remote', '--', 'origin', ...candidates], { cwd, auth, capture: true });
  const found = new Set(stdout.split('\n').map((l) => l.split('\t')[1]).filter(Boolean));
  const name = candidates.find((c) => found.has(c));
  if (!name) throw missingRef(ref);
  return target(name);
}

function target(name: string): Target {
  const local = name.startsWith('refs/tags/') ? name : `refs/remotes/origin/${name.replace(/^refs\/(heads\/)?/, '')}`;
  return { refspec: `+${name}:${local}`, checkout: local };
}

async function originOf(git: Git, path: string): Promise<string | undefined> {
  if (!existsSync(join(path, '.git'))) return undefined;
  const { exitCode, stdout } = await git(['remote', 'get-url', 'origin'], { cwd: path, capture: true, okExitCodes: [2, 128] });
  return exitCode === 0 ? stdout.trim() : undefined;
}

/**
 * Whether two remote URLs name the same repository, as Azure DevOps spells them in several ways: with or
 * without the `{org}@` user name (the REST remoteUrl and the built-in checkout have it), a trailing slash or
 * `.git`, and any letter case.
 */
export function sameRemote(a: string, b: string): boolean {
  const canonical = (url: string): string => withoutUserinfo(url.trim()).replace(/(\.git)?\/*$/i, '').toLowerCase();
  return canonical(a) === canonical(b);
}

/** Decides between re-using the folder, emptying it (clean) or refusing. Returns whether it is re-used. */
async function prepareFolder(git: Git, o: CheckoutOptions, auth: GitAuth, log: Log): Promise<boolean> {
  const origin = await originOf(git, o.path);
  if (origin !== undefined && sameRemote(origin, o.url)) {
    log.info(`Re-using the existing clone in ${o.path}.`);
    // Our own spelling of the URL: drops a user name, or a credential someone left in it.
    await git(['remote', 'set-url', 'origin', o.url], { cwd: o.path });
    if (o.clean) {
      await git(['clean', '-ffdx'], { cwd: o.path });
      await git(['reset', '--hard', 'HEAD'], { cwd: o.path, auth, okExitCodes: [128] });
      if (o.submodules !== 'false') await git(['submodule', 'foreach', '--recursive', 'git clean -ffdx && git reset --hard HEAD'], { cwd: o.path, auth });
    }
    return true;
  }
  if (existsSync(o.path) && readdirSync(o.path).length > 0) {
    if (!o.clean) {
      throw new TaskError(`The folder '${o.path}' is not empty and is not a clone of ${o.url}.`, 'Choose another path, or set clean: true to replace its contents.');
    }
    log.info(`Replacing the contents of ${o.path} (clean: true).`);
    rmSync(o.path, { recursive: true, force: true });
  }
  return false;
}

function fetchArgs(o: CheckoutOptions, refspec: string, shallow: boolean): string[] {
  const args = ['fetch', '--force', '--prune', '--no-recurse-submodules', o.fetchTags ? '--tags' : '--no-tags'];
  if (o.fetchDepth > 0) args.push(`--depth=${o.fetchDepth}`);
  else if (shallow) args.push('--unshallow');
  if (o.fetchFilter) args.push(`--filter=${o.fetchFilter}`);
  args.push('--', 'origin', refspec);
  return args;
}

/** A git config value in double quotes, escaped as git's config parser reads it. */
export function quotedConfigValue(value: string): string {
  // Never so for the URLs this module writes (devops/repository-ref.ts builds them from validated names): a bug, not a user error.
  if (/[\0\n\r]/.test(value)) throw new Error(`A git config value cannot hold a line break or NUL: ${JSON.stringify(value)}.`);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The settings a fresh clone gets, as `git remote add origin <url>`, `git config gc.auto 0` and
 * `git config http.version HTTP/1.1` would write them: appended to the new repository's config in one write
 * instead of three more git processes.
 */
function freshCloneConfig(url: string): string {
  return [
    '[remote "origin"]',
    `\turl = ${quotedConfigValue(url)}`,
    '\tfetch = +refs/heads/*:refs/remotes/origin/*',
    '[gc]',
    '\tauto = 0',
    '[http]',
    '\tversion = HTTP/1.1',
    '',
  ].join('\n');
}

/** The commit HEAD names after a detached checkout: read from .git/HEAD, or asked of git when that is not a plain commit id. */
async function headCommit(git: Git, path: string): Promise<string> {
  try {
    const head = readFileSync(join(path, '.git', 'HEAD'), 'utf8').trim();
    if (COMMIT_SHA.test(head)) return head;
  } catch {
    // .git is a file (a worktree or an absorbed submodule): git knows where HEAD is.
  }
  return (await git(['rev-parse', 'HEAD'], { cwd: path, capture: true })).stdout.trim();
}

/**
 * The submodules git refused to clone because of their transport (our git speaks https only: git/runner.ts), from
 * its messages `fatal: transport 'ssh' not allowed` then `fatal: clone of '<url>' into submodule path '<path>' failed`
 * (git builtin/submodule--helper.c, clone_submodule).
 */
export function refusedSubmodules(stderr: string, root: string): Array<{ path: string; url: string; transport: string }> {
  const refused: Array<{ path: string; url: string; transport: string }> = [];
  let transport: string | undefined;
  for (const line of stderr.split(/\r?\n/)) {
    const t = /transport '([^']+)' not allowed/.exec(line);
    if (t) transport = t[1];
    const clone = /clone of '(.*)' into submodule path '(.*)' failed/.exec(line);
    if (clone && transport) {
      const path = relative(root, clone[2]!) || clone[2]!;
      if (!refused.some((r) => r.path === path)) refused.push({ path, url: clone[1]!, transport });
      transport = undefined;
    }
  }
  return refused;
}

/** Checks out submodules (they may live in other organizations: the token goes to every Azure DevOps host); returns their paths. */
async function updateSubmodules(git: Git, o: CheckoutOptions, auth: GitAuth): Promise<string[]> {
  if (o.submodules === 'false' || !existsSync(join(o.path, '.gitmodules'))) return [];
  const recursive = o.submodules === 'recursive' ? ['--recursive'] : [];
  await git(['submodule', 'sync', '--quiet', ...recursive], { cwd: o.path });
  const depth = o.fetchDepth > 0 ? [`--depth=${o.fetchDepth}`] : [];
  await git(['submodule', 'update', '--init', '--force', ...depth, ...recursive], { cwd: o.path, auth }).catch((err: unknown) => {
    const refused = err instanceof GitError ? refusedSubmodules(err.stderr, o.path) : [];
    if (!refused.length) throw err;
    const list = refused.map((r) => `'${r.path}' (${r.url})`).join(', ');
    throw new TaskError(
      `Submodule ${list} ${refused.length === 1 ? 'uses' : 'use'} ${[...new Set(refused.map((r) => r.transport))].join(' and ')}: the task's git speaks https only, so ${refused.length === 1 ? 'it was' : 'they were'} not cloned.`,
      'Give the submodule an https URL in .gitmodules (for Azure Repos, https://dev.azure.com/{organization}/{project}/_git/{repository}, or a relative URL such as ../../_git/{repository}), or set submodules: false.');
  });
  // A fixed script (no input in it): git runs it in each submodule, where $PWD is the submodule's folder.
  const { stdout } = await git(['submodule', 'foreach', '--quiet', ...recursive, 'pwd'], { cwd: o.path, capture: true });
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** The outermost folder of `path` that does not exist yet (undefined when `path` exists): what a failure removes. */
function firstMissing(path: string): string | undefined {
  if (existsSync(path)) return undefined;
  let top = path;
  while (!existsSync(dirname(top))) top = dirname(top);
  return top;
}

/** Refuses lfs: true before anything is fetched when git-lfs is missing. */
async function requireLfs(git: Git, o: CheckoutOptions): Promise<void> {
  if (!o.lfs) return;
  const { exitCode } = await git(['lfs', 'version'], { capture: true, okExitCodes: [1, 128, 127] });
  if (exitCode !== 0) throw new TaskError('lfs is true but git-lfs is not installed on the agent.', 'Install Git LFS on the agent (git lfs install), or set lfs: false.');
}

async function fetchLfs(git: Git, o: CheckoutOptions, auth: GitAuth, commit: string): Promise<void> {
  if (!o.lfs) return;
  await git(['lfs', 'fetch', 'origin', commit], { cwd: o.path, auth });
  await git(['lfs', 'checkout'], { cwd: o.path, auth });
}

/** Clones or updates the repository at `o.path` and checks out `o.ref` (detached, like the built-in step). */
export async function checkout(git: Git, o: CheckoutOptions, auth: GitAuth, log: Log): Promise<CheckoutResult> {
  await requireLfs(git, o);
  const created = firstMissing(o.path);
  let fresh = false;
  try {
    const reused = await prepareFolder(git, o, auth, log);
    fresh = !reused;
    if (fresh) {
      await git(['init', '--quiet', o.path]);
      appendFileSync(join(o.path, '.git', 'config'), freshCloneConfig(o.url));
    } else {
      await git(['config', '--local', 'gc.auto', '0'], { cwd: o.path });
      await git(['config', '--local', 'http.version', 'HTTP/1.1'], { cwd: o.path });
    }
    if (o.sparseCheckoutDirectories.length) {
      await git(['sparse-checkout', 'set', '--cone', '--', ...o.sparseCheckoutDirectories], { cwd: o.path, auth });
    } else if (reused) {
      await git(['sparse-checkout', 'disable'], { cwd: o.path, auth, okExitCodes: [1, 128] });
    }
    const target = await resolveTarget(git, o.path, auth, o.ref);
    await git(fetchArgs(o, target.refspec, existsSync(join(o.path, '.git', 'shallow'))), { cwd: o.path, auth })
      .catch((err: unknown) => { throw /not our ref|couldn't find remote ref/i.test(String(err)) ? missingRef(o.ref) : err; });
    // Auth here too: a partial clone (fetchFilter) downloads the blobs it checks out on demand.
    const lfsEnv = { GIT_LFS_SKIP_SMUDGE: '1' };
    await git(['checkout', '--quiet', '--force', target.checkout], { cwd: o.path, auth, env: lfsEnv });
    const commit = await headCommit(git, o.path);
    const submodules = await updateSubmodules(git, o, auth);
    await fetchLfs(git, o, auth, commit);
    return { commit, path: o.path, reused, submodules };
  } catch (err) {
    if (fresh) {
      if (created) rmSync(created, { recursive: true, force: true });
      else for (const entry of readdirSync(o.path)) rmSync(join(o.path, entry), { recursive: true, force: true });
      log.info(`Removed the incomplete clone in ${o.path}.`);
    }
    throw err;
  }
}
