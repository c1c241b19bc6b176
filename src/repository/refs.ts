/** Git ref and filter inputs: validated before any git command sees them. */
import { InputError } from '../core/errors';

export const COMMIT_SHA = /^[0-9a-f]{40}$/i;

/**
 * A branch, tag, full ref or commit SHA as git accepts it (git check-ref-format rules), and never
 * something git could read as an option.
 */
export function isValidRef(ref: string): boolean {
  if (COMMIT_SHA.test(ref)) return true;
  return (
    ref.length > 0 && ref.length <= 250 &&
    !ref.startsWith('-') && !ref.startsWith('/') && !ref.endsWith('/') && !ref.endsWith('.') && !ref.endsWith('.lock') &&
    !ref.includes('..') && !ref.includes('//') && !ref.includes('@{') && ref !== '@' &&
    // eslint-disable-next-line no-control-regex
    !/[\u0000-\u0020\u007f~^:?*[\\]/.test(ref) &&
    ref.split('/').every((part) => part.length > 0 && !part.startsWith('.') && !part.endsWith('.lock'))
  );
}

export function refInput(input: string, value: string | undefined): string | undefined {
  if (value !== undefined && !isValidRef(value)) {
    throw new InputError(input, value, 'must be a branch (main), tag (v1.2), full ref (refs/heads/main) or 40-character commit SHA, and must not start with "-"');
  }
  return value;
}

/** Short branch name: 'refs/heads/x' -> 'x'. */
export function branchName(ref: string): string {
  return ref.replace(/^refs\/heads\//, '');
}

/**
 * A partial-clone filter. Azure Repos serves exactly two, and fails the clone for any other such as
 * blob:limit (devblogs.microsoft.com/devops, "Git Partial Clone Now Supported in Azure DevOps").
 */
export const FETCH_FILTERS = ['blob:none', 'tree:0'] as const;

export function filterInput(input: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!(FETCH_FILTERS as readonly string[]).includes(value)) {
    throw new InputError(input, value, 'must be blob:none (blobless partial clone) or tree:0 (treeless), the filters Azure Repos serves');
  }
  return value;
}
