/** Paths given in inputs must stay inside the pipeline workspace (or, where allowed, the agent's temp folder), also through symbolic links. */
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

/** A folder a path input may point into, and how messages name it. */
export interface PathRoot {
  readonly path: string;
  readonly name: string;
}

/**
 * Resolves `value` (relative to `root`, or absolute) and refuses anything outside `root`.
 * `allowRoot` says whether the root itself is acceptable.
 */
export function pathInside(input: string, value: string, root: string, rootName: string, allowRoot = false): string {
  return pathInsideOneOf(input, value, [{ path: root, name: rootName }], allowRoot);
}

/**
 * Resolves `value` (relative to the first root, or absolute) and refuses anything that is not inside one of `roots`
 * once every symbolic link along it is followed. `allowRoot` says whether a root itself is acceptable.
 */
export function pathInsideOneOf(input: string, value: string, roots: readonly [PathRoot, ...PathRoot[]], allowRoot = false): string {
  const where = roots.map((r) => `${r.name} (${r.path})`).join(' or ');
  const refuse = (detail = ''): InputError => new InputError(input, value, `must be a path inside ${where}${detail}`);
  if (/[\0\r\n]/.test(value) || value.startsWith('-')) throw refuse();
  let target: string;
  let bases: string[];
  try {
    target = realish(resolve(roots[0].path, value));
    bases = roots.map((r) => realish(resolve(r.path)));
  } catch {
    throw refuse();
  }
  const containing = bases.filter((base) => isInside(base, target));
  if (!containing.length) throw refuse();
  if (!allowRoot && containing.every((base) => base === target)) throw refuse(', not the folder itself');
  return target;
}
