/** Paths given in inputs must stay inside the pipeline workspace, also through symbolic links. */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { InputError } from './errors';

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..'));
}

/** The real path of the nearest existing ancestor, joined with the part that does not exist yet. */
function realish(target: string): string {
  let existing = target;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const real = realpathSync(existing);
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
  const base = realish(resolve(root));
  const target = realish(resolve(root, value));
  if (!isInside(base, target)) throw new InputError(input, value, `must be a path inside ${rootName} (${root})`);
  if (!allowRoot && target === base) throw new InputError(input, value, `must be a path inside ${rootName} (${root}), not the folder itself`);
  return target;
}
