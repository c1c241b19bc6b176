/** ManagedIdentityAuthenticate@1: the agent's managed identity -> an Azure DevOps token for the rest of the job. */
import { verifyOrganizations } from '../../devops';
import { openGitSession } from '../../git-job';
import { StateKey, runTask } from '../../pipeline';
import { acquireToken } from '../../secrets';
import { publishToken } from './publish';
import { readAuthenticateSettings } from './settings';

void runTask(async (p) => {
  const settings = readAuthenticateSettings(p);
  const token = await acquireToken(p, settings.identity);
  const names = settings.verify
    ? await verifyOrganizations(settings.organizations, token.token, token.claims, settings.policy, p)
    : [];
  publishToken(p, settings, token, names[0]?.displayName);
  if (settings.configureGit) {
    const session = openGitSession(p, settings.tempDirectory, settings.identity, settings.organizations, settings.policy);
    p.saveState(StateKey.GitSession, session);
  }
});
