/**
 * Node's on-disk compile cache for the task bundles (`module.enableCompileCache`), turned on by the small
 * file task.json and git start (main.js, post.js, credential-helper.js; scripts/build.ts) before it loads the
 * bundle. A task step and every git credential request is a fresh Node process that parses the same few
 * hundred KB of JavaScript; with the cache, V8 reads what it compiled last time instead.
 *
 * Where: per user, outside the task folder (which the agent may share or mount read-only), per task version:
 * `$XDG_CACHE_HOME` (or `~/.cache`) on Linux, `~/Library/Caches` on macOS, then
 * `managed-identity-azure-devops/node-compile-cache/<Task>-<version>/`; Node adds a folder per Node version, CPU
 * architecture, V8 flags and uid inside it (src/compile_cache.cc GetCacheVersionTag).
 *
 * It holds compiled code, never a token or anything read from the pipeline. Whoever can write to it can make
 * the task run their code, so it is used only when the directory is owned by the user running the task and
 * nobody else can write to it or replace any folder on its path (each ancestor owned by that user or root and
 * not writable by group or others, unless sticky like /tmp). Otherwise, and on Windows (whose ACLs cannot be
 * checked cheaply), the task runs without it: slower, never different.
 *
 * Node itself makes the cache safe to share and to lose: entries are written to a temporary file and renamed
 * (so concurrent agents of one user never read half a file), carry a CRC of the source and of the cache, and
 * are recompiled and rewritten when either does not match (a corrupted or stale entry costs one cold start).
 * That atomic write came with `module.flushCompileCache` (Node 22.10 / 23.0, nodejs/node#54971), so the
 * cache is turned on only where that function exists; Node 20 has neither and runs as before.
 * `NODE_DISABLE_COMPILE_CACHE=1` turns it off (Node's own switch); a cache Node was already given through
 * `NODE_COMPILE_CACHE` is left as it is.
 *
 * Nothing here may throw or print: the credential helper's stdout is git's protocol.
 */
import nodeModule from 'node:module';
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** The folder under the user's cache directory. */
export const CACHE_FOLDER = join('managed-identity-azure-devops', 'node-compile-cache');

export type CompileCacheOutcome =
  | { readonly status: 'enabled'; readonly directory: string }
  | { readonly status: 'off'; readonly reason: string; readonly directory?: string };

/** What this module needs to know about the process; the real one by default. */
export interface CacheHost {
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  /** The effective user id (-1 where there is none, i.e. Windows). */
  readonly uid: number;
  readonly home: string;
}

interface CompileCacheApi {
  enableCompileCache?: (dir: string) => { status: number; message?: string; directory?: string };
  flushCompileCache?: () => void;
  constants?: { compileCacheStatus?: Record<string, number> };
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
 * Turns on Node's compile cache for the rest of this process in the directory of task `key` (e.g.
 * `ManagedIdentityAuthenticate-1.1.0`), when it is available and safe; never throws.
 */
export function enableCompileCache(key: string, host: CacheHost = realHost(), api: CompileCacheApi = nodeModule as CompileCacheApi): CompileCacheOutcome {
  try {
    if (typeof api.enableCompileCache !== 'function' || typeof api.flushCompileCache !== 'function') {
      return { status: 'off', reason: `Node ${process.versions.node} has no compile cache that concurrent processes can share (Node ≥ 22.10)` };
    }
    if (host.env['NODE_DISABLE_COMPILE_CACHE']) return { status: 'off', reason: 'NODE_DISABLE_COMPILE_CACHE is set' };
    if (host.env['NODE_COMPILE_CACHE']) return { status: 'off', reason: 'NODE_COMPILE_CACHE is set: Node uses that directory' };
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
    const result = api.enableCompileCache(directory);
    const statuses = api.constants?.compileCacheStatus ?? {};
    if (result.status === statuses['ENABLED']) return { status: 'enabled', directory };
    return { status: 'off', reason: result.message ?? `Node answered status ${result.status}`, directory };
  } catch (err) {
    return { status: 'off', reason: `unexpected error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The global registry key under which the start file leaves its outcome for the bundle. */
export const OUTCOME_KEY = 'managed-identity-azure-devops.compile-cache';
const OUTCOME = Symbol.for(OUTCOME_KEY);

/** Turns the cache on (enableCompileCache) and keeps the outcome for compileCacheOutcome(). */
export function startCompileCache(key: string): void {
  (globalThis as Record<symbol, unknown>)[OUTCOME] = enableCompileCache(key);
}

/** What startCompileCache did in this process, for a debug line; undefined when the process did not start through it. */
export function compileCacheOutcome(): CompileCacheOutcome | undefined {
  return (globalThis as Record<symbol, unknown>)[OUTCOME] as CompileCacheOutcome | undefined;
}

/** One line for the debug log. */
export function describeCompileCache(outcome: CompileCacheOutcome | undefined): string {
  if (!outcome) return 'Compile cache: not started (the task was not run from its start file).';
  return outcome.status === 'enabled' ? `Compile cache: ${outcome.directory}.` : `Compile cache: off, ${outcome.reason}.`;
}
