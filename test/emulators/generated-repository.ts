/**
 * A repository of realistic size for benchmarks: thousands of files, tens of MiB of mostly incompressible
 * content and a history of commits, written by one `git fast-import` into a bare repository and registered
 * in the world like the seeded ones (REST and git http-backend serve it). Content comes from AES-128-CTR
 * keyed by the repository's names, so it is generated at memory speed and identical on every run.
 */
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { derivedGuid } from './devops-json';
import { isolatedGitEnv, runGit } from './git-repos';
import { findOrganization, findProject, findRepository, type Repository, type World } from './world';

export interface GeneratedRepositoryOptions {
  readonly org: string;
  /** An existing project of `org`, or a new one created with this name. */
  readonly project: string;
  readonly name: string;
  /** Files on the default branch's tip (default 2,000), spread over folders of 50. */
  readonly files?: number;
  /** Total size of those files in bytes (default 20 MiB); sizes vary from 0.25 to 1.75 × the mean. */
  readonly bytes?: number;
  /** Commits on the default branch (default 50): the first adds every file, each later one rewrites 1 % of them. */
  readonly commits?: number;
  /** Share of the files that are text (compressible); the rest is random bytes. Default 0.1. */
  readonly textShare?: number;
}

export interface GeneratedRepository {
  readonly repository: Repository;
  /** Commit id of the default branch. */
  readonly head: string;
  readonly files: number;
  readonly bytes: number;
  readonly commits: number;
  /** Size of the bare repository's packs on disk. */
  readonly packBytes: number;
}

const WHO = 'Emulator Generator <generator@emulator.invalid>';
const EPOCH = 1_700_000_000;

/** Deterministic pseudo-random bytes: AES-128-CTR over zeros, keyed by `seed`. */
function streamBytes(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** Compressible text of exactly `length` bytes, different per `seed`. */
function textBytes(seed: string, length: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const line = `${String(i).padStart(6, '0')} ${seed}: lorem ipsum dolor sit amet, consectetur adipiscing elit\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, length);
}

/**
 * Adds the repository `org/project/name` to the world and writes it to disk (about a second for the
 * defaults). The organization must exist; the project is created when missing. Returns what it wrote.
 */
export async function addGeneratedRepository(world: World, opts: GeneratedRepositoryOptions): Promise<GeneratedRepository> {
  const files = opts.files ?? 2000;
  const bytes = opts.bytes ?? 20 * 1024 * 1024;
  const commits = opts.commits ?? 50;
  const textShare = opts.textShare ?? 0.1;
  if (!Number.isInteger(files) || files < 1 || !Number.isInteger(commits) || commits < 1 || bytes < files) {
    throw new Error(`addGeneratedRepository needs files ≥ 1, commits ≥ 1 and bytes ≥ files (got ${files}, ${commits}, ${bytes})`);
  }
  const org = findOrganization(world, opts.org);
  if (!org) throw new Error(`world has no organization '${opts.org}'`);
  let project = findProject(org, opts.project);
  if (!project) {
    project = { id: derivedGuid(org.id, opts.project), name: opts.project, description: `Generated project ${opts.project}`, repos: [] };
    org.projects.push(project);
  }
  if (findRepository(project, opts.name)) throw new Error(`${opts.org}/${opts.project} already has a repository '${opts.name}'`);
  const id = derivedGuid(org.id, project.name, opts.name);
  const repository: Repository = { id, name: opts.name, defaultBranch: 'refs/heads/main', bareDir: path.join(world.root, 'repos', org.name, `${id}.git`) };

  // Sizes: a fixed saw-tooth from 0.25 to 1.75 × the mean, then scaled so they add up to `bytes` exactly.
  const raw = Array.from({ length: files }, (_, i) => 0.25 + 1.5 * (((i * 7919) % 1000) / 999));
  const scale = bytes / raw.reduce((a, b) => a + b, 0);
  const sizes = raw.map((r) => Math.max(1, Math.floor(r * scale)));
  sizes[0]! += bytes - sizes.reduce((a, b) => a + b, 0);
  const paths = sizes.map((_, i) => {
    const text = textShare > 0 && i % Math.max(1, Math.round(1 / textShare)) === 0;
    return `src/module-${String(Math.floor(i / 50)).padStart(3, '0')}/file-${String(i).padStart(5, '0')}.${text ? 'txt' : 'bin'}`;
  });
  const content = (i: number, version: number): Buffer => {
    const seed = `${repository.id}:${i}:${version}`;
    return paths[i]!.endsWith('.txt') ? textBytes(seed, sizes[i]!) : streamBytes(seed, sizes[i]!);
  };

  const parts: Buffer[] = [];
  const line = (text: string): void => void parts.push(Buffer.from(`${text}\n`));
  const data = (bytes: Buffer): void => void parts.push(Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n'));
  const commit = (n: number, message: string, changes: Array<[string, Buffer]>): void => {
    line('commit refs/heads/main');
    line(`mark :${n + 1}`);
    line(`author ${WHO} ${EPOCH + n * 3600} +0000`);
    line(`committer ${WHO} ${EPOCH + n * 3600} +0000`);
    data(Buffer.from(message));
    if (n > 0) line(`from :${n}`);
    for (const [file, bytes] of changes) {
      line(`M 100644 inline ${file}`);
      data(bytes);
    }
    line('');
  };
  commit(0, 'Initial import\n', [['README.md', Buffer.from(`# ${opts.name}\n\nGenerated by the Azure DevOps emulator.\n`)], ...paths.map((p, i): [string, Buffer] => [p, content(i, 0)])]);
  const perCommit = Math.max(1, Math.round(files / 100));
  for (let n = 1; n < commits; n++) {
    const changed = Array.from({ length: perCommit }, (_, k) => (n * 131 + k * 977) % files);
    commit(n, `Change ${n}\n`, [...new Set(changed)].map((i): [string, Buffer] => [paths[i]!, content(i, n)]));
  }
  parts.push(Buffer.from('done\n'));

  await fs.promises.mkdir(path.dirname(repository.bareDir), { recursive: true });
  const must = async (args: string[], input?: Buffer): Promise<string> => {
    const r = await runGit(args, { input, env: isolatedGitEnv() });
    if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  await must(['init', '--quiet', '--bare', '--initial-branch=main', repository.bareDir]);
  await must(['-C', repository.bareDir, 'fast-import', '--quiet', '--done'], Buffer.concat(parts));
  const head = (await must(['-C', repository.bareDir, 'rev-parse', 'refs/heads/main'])).trim();
  const packDir = path.join(repository.bareDir, 'objects', 'pack');
  const packBytes = (await fs.promises.readdir(packDir)).filter((f) => f.endsWith('.pack'))
    .reduce((sum, f) => sum + fs.statSync(path.join(packDir, f)).size, 0);
  project.repos.push(repository);
  return { repository, head, files, bytes, commits, packBytes };
}
