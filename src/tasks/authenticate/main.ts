/** ManagedIdentityAuthenticate@1: the agent's managed identity -> an Azure DevOps token for the rest of the job. */
import { verifyOrganizations } from '../../devops';
import { openGitSession } from '../../git-job';
import { describeSelector, getAzureDevOpsToken } from '../../identity';
import { StateKey, runTask } from '../../pipeline';
import { maskToken } from '../../secrets';
import { publishToken } from './publish';
import { readAuthenticateSettings } from './settings';

void runTask(async (p) => {
  const settings = readAuthenticateSettings(p);
  p.info(`Getting an Azure DevOps token for ${describeSelector(settings.identity)}.`);
  const token = await getAzureDevOpsToken(settings.identity, p);
  maskToken(p, token.token);
  p.info(`Identity source: ${token.source.name} (${token.source.reason}).`);
  if (token.source.ignored.length) p.warn(`Also set but not used to choose the identity source: ${token.source.ignored.join(', ')}.`);
  const names = settings.verify
    ? await verifyOrganizations(settings.organizations, token.token, token.claims, settings.policy, p)
    : [];
  publishToken(p, settings, token, names[0]?.displayName);
  if (settings.configureGit) {
    const session = openGitSession(p, settings.tempDirectory, settings.identity, settings.organizations, settings.policy);
    p.saveState(StateKey.GitSession, session);
  }
});
