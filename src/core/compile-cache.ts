/**
 * A code cache for the task bundles, kept by the small start file task.json and git start (main.js, post.js,
 * credential-helper.js, git-broker.js; scripts/build.ts) before it runs the bundle. A task step and every git
 * credential request is a fresh Node process that parses and compiles the same few hundred KB of JavaScript;
 * with the cache, V8 reads what it compiled last time instead.
 *
 * Why not Node's own `module.enableCompileCache` (which this file used up to 1.2.0): Node saves V8's code cache
 * right after compiling a module, before it runs, so it holds the top-level code only; every function the task
 * then calls is compiled again on each run (measured on Node 24 for the authenticate step: 8-13 ms of CPU more
 * than with a cache taken after the run, scripts/bench-start.ts), and Node 20 has no such cache at all. Here the
 * start file compiles the bundle as a `vm.Script` with the cached data, runs it as CommonJS, and, when there was
 * no usable cache, asks V8 for one at exit (`script.createCachedData()`), which then holds every function the run
 * compiled. Node 20 and 24 alike.
 *
 * Where: per user, outside the task folder (which the agent may share or mount read-only), per task version:
 * `$XDG_CACHE_HOME` (or `~/.cache`) on Linux, `~/Library/Caches` on macOS, then
 * `managed-identity-azure-devops/node-compile-cache/<Task>-<version>/`, one file per bundle, build of that bundle
 * (a hash of its content, computed by the build), Node version and CPU architecture. V8 checks the rest itself
 * (its version and flags, and the source's length) and rejects data that does not match, which is then rewritten.
 *
 * It holds compiled code, never a token or anything read from the pipeline. Whoever can write to it can make
 * the task run their code, so it is used only when the directory is owned by the user running the task and
 * nobody else can write to it or replace any folder on its path (each ancestor owned by that user or root and
 * not writable by group or others, unless sticky like /tmp). Otherwise, and on Windows (whose ACLs cannot be
 * checked cheaply), the bundle is simply required: slower, never different. A cache file is written to a
 * temporary file of its own and renamed, so concurrent agents of one user never read half a file; a damaged or
 * foreign one is rejected by V8 and costs one start without cache. `NODE_DISABLE_COMPILE_CACHE=1` turns it off.
 *
 * Nothing here may throw or print: the credential helper's stdout is git's protocol.
 */
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';

/** The folder under the user's cache directory. */
export const CACHE_FOLDER = join('managed-identity-azure-devops', 'node-compile-cache');

export type CompileCacheOutcome =
  | { readonly status: 'enabled'; readonly directory: string; readonly file?: string; readonly use?: CacheUse }
  | { readonly status: 'off'; readonly reason: string; readonly directory?: string };

/** What a run did with its cache file: read it, or (none yet, or V8 rejected it) write one at exit. */
export type CacheUse = 'read' | 'written at exit' | 'rejected, rewritten at exit';

/** What this module needs to know about the process; the real one by default. */
export interface CacheHost {
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  /** The effective user id (-1 where there is none, i.e. Windows). */
  readonly uid: number;
  readonly home: string;
}

function realHost(): CacheHost {
  let home = '';
  try {
    home = homedir();
  } catch {
    // no home directory: no cache
  }
  return { env: process.env, platform: process.platform, uid: process.getuid?.() ?? -1, home };
}

/** The per-user cache root for this platform, or why there is none. */
export function compileCacheRoot(host: CacheHost): { root: string } | { reason: string } {
  if (host.platform === 'win32') return { reason: 'not used on Windows, whose folder permissions this task cannot check cheaply' };
  if (!host.home || !isAbsolute(host.home)) return { reason: 'the user has no home directory' };
  const xdg = host.env['XDG_CACHE_HOME'];
  const base = host.platform === 'darwin' ? join(host.home, 'Library', 'Caches') : xdg && isAbsolute(xdg) ? xdg : join(host.home, '.cache');
  return { root: join(base, CACHE_FOLDER) };
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Why `dir` cannot be trusted with compiled code, or undefined when only `uid` (and root) can change what is in
 * it: `dir` itself is a directory owned by `uid` that neither group nor others can write, and every folder on
 * its real path (symbolic links resolved) is owned by `uid` or root and not writable by group or others unless
 * it is sticky, so nobody else can put a file in it or swap it or a folder above it for their own.
 */
export function untrustedReason(dir: string, uid: number): string | undefined {
  let path: string;
  try {
    path = realpathSync(dir);
  } catch (err) {
    return `${dir} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  for (let own = true; ; own = false) {
    const st = statSync(path);
    if (!st.isDirectory()) return `${path} is not a directory`;
    if (own ? st.uid !== uid : st.uid !== uid && st.uid !== 0) return `${path} belongs to uid ${st.uid}, not to uid ${uid}${own ? '' : ' or root'}`;
    const writableByOthers = (st.mode & 0o022) !== 0;
    if (writableByOthers && (own || (st.mode & 0o1000) === 0)) return `${path} is writable by group or others (mode ${octal(st.mode)})`;
    const parent = dirname(path);
    if (parent === path) return undefined;
    path = parent;
  }
}

/**
 * The cache directory of task `key` (e.g. `ManagedIdentityAuthenticate-1.1.0`), created privately, when a cache is
 * wanted and the directory is safe; never throws.
 */
export function cacheDirectory(key: string, host: CacheHost = realHost()): CompileCacheOutcome {
  try {
    if (host.env['NODE_DISABLE_COMPILE_CACHE']) return { status: 'off', reason: 'NODE_DISABLE_COMPILE_CACHE is set' };
    const where = compileCacheRoot(host);
    if ('reason' in where) return { status: 'off', reason: where.reason };
    const directory = join(where.root, key);
    try {
      mkdirSync(directory, { recursive: true, mode: 0o700 });
    } catch (err) {
      return { status: 'off', reason: `${directory} cannot be created (${(err as NodeJS.ErrnoException).code ?? 'error'})`, directory };
    }
    const untrusted = untrustedReason(directory, host.uid);
    if (untrusted) return { status: 'off', reason: `${untrusted}; compiled code is never read from where another user could write`, directory };
    return { status: 'enabled', directory };
  } catch (err) {
    return { status: 'off', reason: `unexpected error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The cache file of one bundle build on this Node. */
export function cacheFileName(bundle: string, build: string): string {
  return `${basename(bundle)}.${build}.node-${process.versions.node}-${process.arch}.v8cache`;
}

/** Writes V8's code cache of a script that has run, atomically; never throws. */
function writeCache(file: string, script: Script): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
    renameSync(temporary, file);
  } catch {
    rmSync(temporary, { force: true });
  }
}

/**
 * Runs the bundle at `bundle` (an absolute path) as the CommonJS module it is, through the cache of task `key`
 * when there is one (see the header); `build` tells builds of the bundle apart (scripts/build.ts). The outcome is
 * kept for compileCacheOutcome().
 */
export function runBundle(key: string, bundle: string, build: string, host: CacheHost = realHost()): void {
  const found = cacheDirectory(key, host);
  const keep = (outcome: CompileCacheOutcome): void => {
    (globalThis as Record<symbol, unknown>)[OUTCOME] = outcome;
  };
  if (found.status === 'off') {
    keep(found);
    createRequire(bundle)(bundle);
    return;
  }
  const file = join(found.directory, cacheFileName(bundle, build));
  let cached: Buffer | undefined;
  try {
    cached = readFileSync(file);
  } catch {
    cached = undefined;
  }
  // The function Node wraps a CommonJS module in, on the source's first line so that line numbers stay as they are.
  const source = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(bundle, 'utf8')}\n})`;
  const script = new Script(source, { filename: bundle, ...(cached ? { cachedData: cached } : {}) });
  const use: CacheUse = !cached ? 'written at exit' : script.cachedDataRejected ? 'rejected, rewritten at exit' : 'read';
  if (use !== 'read') process.once('exit', () => writeCache(file, script));
  keep({ status: 'enabled', directory: found.directory, file, use });
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  const module = { exports: {}, filename: bundle, id: bundle, loaded: false };
  run.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  module.loaded = true;
}

/** The global registry key under which the start file leaves its outcome for the bundle. */
export const OUTCOME_KEY = 'managed-identity-azure-devops.compile-cache';
const OUTCOME = Symbol.for(OUTCOME_KEY);

/** What runBundle did in this process, for a debug line; undefined when the process did not start through it. */
export function compileCacheOutcome(): CompileCacheOutcome | undefined {
  return (globalThis as Record<symbol, unknown>)[OUTCOME] as CompileCacheOutcome | undefined;
}

/** One line for the debug log. */
export function describeCompileCache(outcome: CompileCacheOutcome | undefined): string {
  if (!outcome) return 'Compile cache: not started (the task was not run from its start file).';
  return outcome.status === 'enabled' ? `Compile cache: ${outcome.file ?? outcome.directory}${outcome.use ? ` (${outcome.use})` : ''}.` : `Compile cache: off, ${outcome.reason}.`;
}
