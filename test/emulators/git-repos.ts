/**
 * Puts the world's repositories on disk as real bare repositories. Each one is written by a single
 * `git fast-import` (plus `git init`), with fixed author dates and pseudo-random bytes derived from
 * the repository id, so commit ids are identical on every run.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cloneUrlFor, findOrganization, findProject, findRepository, SEED, type Repository, type World } from './world';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment that keeps the developer's own git configuration out of emulator git processes. */
export function isolatedGitEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    LANG: 'C',
    ...extra,
  };
}

/** Runs `git` with an isolated environment; never throws on a non-zero exit. */
export function runGit(
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string>; input?: Buffer } = {},
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: opts.cwd, env: opts.env ?? isolatedGitEnv() });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
    child.stdin.end(opts.input);
  });
}

async function mustGit(args: readonly string[], input?: Buffer): Promise<string> {
  const r = await runGit(args, { input });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Deterministic "random" bytes: a SHA-256 counter stream seeded with the repository id. */
export function seedBytes(seed: string, length: number): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; chunks.length * 32 < length; i++) chunks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(chunks).subarray(0, length);
}

const WHO = 'Emulator Seed <seed@emulator.invalid>';
const EPOCH = 1_700_000_000;

class FastImportStream {
  private readonly parts: Buffer[] = [];
  line(text: string): this {
    this.parts.push(Buffer.from(`${text}\n`));
    return this;
  }
  data(content: string | Buffer): this {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    this.parts.push(Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n'));
    return this;
  }
  blob(mark: number, content: string | Buffer): this {
    return this.line('blob').line(`mark :${mark}`).data(content);
  }
  commit(ref: string, mark: number, offset: number, message: string, changes: string[], from?: number): this {
    this.line(`commit ${ref}`).line(`mark :${mark}`);
    this.line(`author ${WHO} ${EPOCH + offset} +0000`).line(`committer ${WHO} ${EPOCH + offset} +0000`);
    this.data(message);
    if (from !== undefined) this.line(`from :${from}`);
    for (const change of changes) this.line(change);
    return this.line('');
  }
  toBuffer(): Buffer {
    return Buffer.concat([...this.parts, Buffer.from('done\n')]);
  }
}

interface Gitlink {
  path: string;
  url: string;
  commit: string;
}

function seedStream(repo: Repository, branch: string, gitlinks: Gitlink[]): Buffer {
  const s = new FastImportStream();
  s.blob(1, `# ${repo.name}\n\nSeeded by the Azure DevOps emulator.\n`);
  s.blob(2, seedBytes(repo.id, 4096));
  s.blob(3, '# Changelog\n\n## 1.0.0\n\n- First release.\n');
  s.blob(4, 'steps:\n  - script: echo build\n');
  const initial = ['M 100644 :1 README.md', `M 100644 :2 ${SEED.binaryFile}`];
  if (gitlinks.length > 0) {
    const modules = gitlinks.map((g) => `[submodule "${g.path}"]\n\tpath = ${g.path}\n\turl = ${g.url}\n`).join('');
    s.blob(5, modules);
    initial.push('M 100644 :5 .gitmodules', ...gitlinks.map((g) => `M 160000 ${g.commit} ${g.path}`));
  }
  s.commit(`refs/heads/${branch}`, 10, 0, 'Initial commit\n', initial);
  s.line(`reset refs/tags/${SEED.lightweightTag}`).line('from :10').line('');
  s.commit('refs/heads/release/1.0', 11, 60, 'Prepare release 1.0\n', ['M 100644 :3 CHANGELOG.md'], 10);
  s.line(`tag ${SEED.annotatedTag}`).line('from :11').line(`tagger ${WHO} ${EPOCH + 90} +0000`).data('Release 1.0.0\n');
  s.commit(`refs/heads/${branch}`, 12, 120, 'Add pipeline template\n', ['M 100644 :4 pipelines/build.yml'], 10);
  return s.toBuffer();
}

/** Creates one seeded bare repository; returns the commit id of its default branch. */
export async function createRepository(repo: Repository, gitlinks: Gitlink[] = []): Promise<string> {
  const branch = repo.defaultBranch.replace(/^refs\/heads\//, '');
  await fs.promises.mkdir(path.dirname(repo.bareDir), { recursive: true });
  await mustGit(['init', '--quiet', '--bare', `--initial-branch=${branch}`, repo.bareDir]);
  const marks = `${repo.bareDir}.marks`;
  await mustGit(['-C', repo.bareDir, 'fast-import', '--quiet', `--export-marks=${marks}`], seedStream(repo, branch, gitlinks));
  const exported = await fs.promises.readFile(marks, 'utf8');
  await fs.promises.rm(marks);
  const main = /^:12 ([0-9a-f]{40})$/m.exec(exported);
  if (!main) throw new Error(`fast-import exported no commit for ${repo.name}`);
  return main[1];
}

function targetRepository(world: World, spec: { org: string; project: string; repo: string }): Repository {
  const org = findOrganization(world, spec.org);
  const project = org && findProject(org, spec.project);
  const repo = project && findRepository(project, spec.repo);
  if (!repo) throw new Error(`submodule target ${spec.org}/${spec.project}/${spec.repo} is not in the world`);
  return repo;
}

/** Message Azure Repos prints for a direct push to a branch that requires pull requests (Git.Server Resources `PolicyPullRequestRequired`). */
export const TF402455 = 'TF402455: Pushes to this branch are not permitted; you must use a pull request to update this branch.';

/**
 * Makes the bare repository's `pre-receive` hook match `repo.policies`: branches that require a pull
 * request are listed in `hooks/emulator-protected-branches` (read with `grep -Fx`, so any ref name is
 * safe) and a push touching one is refused with TF402455, which git prints as `remote: TF402455: …`
 * and `! [remote rejected] main -> main (pre-receive hook declined)`. Real Azure Repos rejects only
 * the protected ref and names TF402455 in the parentheses; a hook can only refuse the whole push.
 * Called on creation and before every push, so policy changes in the world apply immediately.
 */
export async function syncPolicyHook(repo: Repository): Promise<void> {
  const hooks = path.join(repo.bareDir, 'hooks');
  const hook = path.join(hooks, 'pre-receive');
  const list = path.join(hooks, 'emulator-protected-branches');
  const branches = (repo.policies ?? []).filter((p) => p.kind === 'requirePullRequest').map((p) => p.branch);
  if (branches.length === 0) {
    await Promise.all([fs.promises.rm(hook, { force: true }), fs.promises.rm(list, { force: true })]);
    return;
  }
  await fs.promises.mkdir(hooks, { recursive: true });
  await fs.promises.writeFile(list, branches.map((b) => `${b}\n`).join(''));
  const script = [
    '#!/bin/sh',
    '# Installed by the Azure DevOps emulator: branch policy "require a pull request".',
    'status=0',
    'while read -r old new ref; do',
    `  if grep -Fxq -- "$ref" "$(dirname "$0")/emulator-protected-branches"; then echo '${TF402455}' >&2; status=1; fi`,
    'done',
    'exit $status',
    '',
  ].join('\n');
  await fs.promises.writeFile(hook, script, { mode: 0o755 });
  await fs.promises.chmod(hook, 0o755);
}

/**
 * Creates every repository of the world that is not on disk yet. Repositories with submodules
 * are created after the others, so the gitlinks can name real commits (one level deep only).
 */
export async function createRepositories(world: World, devopsUrl: string): Promise<void> {
  const pending = world.organizations
    .flatMap((o) => o.projects.flatMap((p) => p.repos))
    .filter((r) => !r.restOnly && !fs.existsSync(r.bareDir));
  const tips = new Map<string, string>();
  const create = async (repo: Repository): Promise<void> => {
    const gitlinks: Gitlink[] = [];
    for (const spec of repo.submodules ?? []) {
      const target = targetRepository(world, spec);
      const commit = tips.get(target.id) ?? (await mustGit(['-C', target.bareDir, 'rev-parse', 'HEAD'])).trim();
      gitlinks.push({ path: spec.path, url: cloneUrlFor(devopsUrl, spec.org, spec.project, spec.repo), commit });
    }
    tips.set(repo.id, await createRepository(repo, gitlinks));
    await syncPolicyHook(repo);
  };
  await Promise.all(pending.filter((r) => !r.submodules?.length).map(create));
  await Promise.all(pending.filter((r) => r.submodules?.length).map(create));
}
