/** Post-job step of ManagedIdentityRepository@1: removes credentials persisted into clones. */
import { tmpdir } from 'node:os';
import { createGit } from '../../git/runner';
import { removePersistedCredentials, type PersistedCredential } from '../../git/persisted-credentials';
import { StateKey, runCleanup } from '../../agent/pipeline';

void runCleanup(async (p) => {
  const entries = JSON.parse(p.loadState(StateKey.PersistedCredentials) ?? '[]') as PersistedCredential[];
  await removePersistedCredentials(createGit((line) => p.debug(line)), p.variable('Agent.TempDirectory') ?? tmpdir(), entries, p);
});
