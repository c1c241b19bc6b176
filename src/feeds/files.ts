/**
 * The files feed configuration writes: each one new, in the agent's temp directory (Agent.TempDirectory,
 * which the agent empties at the start of every job), mode 0600, named `miado-feeds-…`, and deleted by the
 * post-job step. Only names of that form inside the temp directory are ever deleted.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';

const PREFIX = 'miado-feeds-';
/** Files carried over (a user's ~/.npmrc, ~/.m2/settings.xml, .pypirc) are read only up to this size. */
const MAX_CARRIED_BYTES = 1024 * 1024;

/** Writes a new private file `miado-feeds-{kind}-{uuid}{extension}` and returns its path. */
export function writePrivateFile(tempDir: string, kind: string, content: string, extension = ''): string {
  mkdirSync(tempDir, { recursive: true });
  const file = join(tempDir, `${PREFIX}${kind}-${randomUUID()}${extension}`);
  writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
  return file;
}

/** The text of a user's own configuration file to carry over, or undefined when there is none (or it is not a readable file). */
export function readCarriedFile(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size > MAX_CARRIED_BYTES) return undefined;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** True for a path this module could have written: `miado-feeds-…` directly inside the temp directory. */
export function isFeedFile(tempDir: string, file: string): boolean {
  const root = resolve(tempDir) + sep;
  const target = resolve(file);
  return target.startsWith(root) && !target.slice(root.length).includes(sep) && target.slice(root.length).startsWith(PREFIX);
}

/** Deletes one of our files; false (and nothing deleted) for anything else. Idempotent. */
export function removeFeedFile(tempDir: string, file: string): boolean {
  if (!isFeedFile(tempDir, file)) return false;
  rmSync(resolve(file), { force: true });
  return true;
}
