/** Paths given in inputs must stay inside the pipeline workspace, also through symbolic links. */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { InputError } from './errors';

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..'));
}

function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The real path of the nearest existing ancestor, joined with the part that does not exist yet. A dangling
 * symbolic link is followed too: writing through it (e.g. a link a repository checked out) would create its
 * target, wherever that is. Throws on link loops.
 */
function realish(target: string, depth = 0): string {
  let existing = target;
  while (!present(existing) && dirname(existing) !== existing) existing = dirname(existing);
  let real: string;
  try {
    real = realpathSync(existing);
  } catch (err) {
    if (depth > 32) throw err;
    real = realish(resolve(dirname(existing), readlinkSync(existing)), depth + 1);
  }
  return resolve(real, relative(existing, target));
}

/**
 * Resolves `value` (relative to `root`, or absolute) and refuses anything outside `root`.
 * `allowRoot` says whether the root itself is acceptable.
 */
export function pathInside(input: string, value: string, root: string, rootName: string, allowRoot = false): string {
  if (/[\0\r\n]/.test(value) || value.startsWith('-')) {
    throw new InputError(input, value, `must be a path inside ${rootName} (${root})`);
  }
  let base: string;
  let target: string;
  try {
    base = realish(resolve(root));
    target = realish(resolve(root, value));
  } catch {
    throw new InputError(input, value, `must be a path inside ${rootName} (${root})`);
  }
  if (!isInside(base, target)) throw new InputError(input, value, `must be a path inside ${rootName} (${root})`);
  if (!allowRoot && target === base) throw new InputError(input, value, `must be a path inside ${rootName} (${root}), not the folder itself`);
  return target;
}
