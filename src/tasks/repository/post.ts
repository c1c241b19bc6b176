/** Post-job step of ManagedIdentityRepository@1: removes credentials persisted into clones. */
import { tmpdir } from 'node:os';
import { createGit } from '../../git/runner';
import { removePersistedCredentials, type PersistedCredential } from '../../git/persisted-credentials';
import { StateKey, runCleanup } from '../../agent/pipeline';
import { pathInside } from '../../core/workspace';
import { printable } from '../../core/errors';

void runCleanup(async (p) => {
  const state: unknown = JSON.parse(p.loadState(StateKey.PersistedCredentials) ?? '[]');
  // The state is the main step's, or (when that did not run) whatever a variable of the same name held: touch only
  // clones inside the pipeline workspace, where checkout puts them, and only entries of the shape checkout writes.
  const workspace = p.variable('Pipeline.Workspace') ?? p.variable('Agent.BuildDirectory');
  const inside = (Array.isArray(state) ? state : []).filter((entry: Partial<PersistedCredential>): entry is PersistedCredential => {
    try {
      const wellFormed = typeof entry.repoPath === 'string' && typeof entry.sessionFile === 'string' &&
        Array.isArray(entry.prefixes) && entry.prefixes.every((prefix) => typeof prefix === 'string' && /^https?:\/\/[^\s/]+\//.test(prefix));
      if (!wellFormed || !workspace) throw new Error('not a persisted credential');
      pathInside('path', entry.repoPath!, workspace, 'the pipeline workspace');
      return true;
    } catch {
      p.warn(`Not removing credentials from '${printable(String(entry.repoPath))}': it is not a clone inside the pipeline workspace.`);
      return false;
    }
  });
  await removePersistedCredentials(createGit((line) => p.debug(line)), p.variable('Agent.TempDirectory') ?? tmpdir(), inside, p);
});
