/** Post-job step of ManagedIdentityAuthenticate@1: removes the git session and the feed configuration so nothing outlives the job. */
import { closeGitSession } from '../../git/job';
import { removeFeedConfiguration } from '../../feeds/configure';
import { StateKey, runCleanup } from '../../agent/pipeline';
import { tmpdir } from 'node:os';

void runCleanup(async (p) => {
  const temp = p.variable('Agent.TempDirectory') ?? tmpdir();
  try {
    await closeGitSession(p, temp, p.loadState(StateKey.GitSession));
  } finally {
    removeFeedConfiguration(p, temp, p.loadState(StateKey.Feeds));
  }
});
