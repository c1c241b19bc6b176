/** Post-job step of ManagedIdentityAuthenticate@1: removes the git session so nothing outlives the job. */
import { closeGitSession } from '../../git/job';
import { StateKey, runCleanup } from '../../agent/pipeline';
import { tmpdir } from 'node:os';

void runCleanup(async (p) => {
  await closeGitSession(p, p.variable('Agent.TempDirectory') ?? tmpdir(), p.loadState(StateKey.GitSession));
});
