/** ManagedIdentityAuthenticate@1: the agent's managed identity -> an Azure DevOps token for the rest of the job. */
import { preloadDevOpsClient, verifyOrganizations } from '../../devops/client';
import { configureFeeds } from '../../feeds/configure';
import { verifyFeeds } from '../../feeds/verify';
import { openGitSession } from '../../git/job';
import { StateKey, runTask } from '../../agent/pipeline';
import { acquireToken } from '../../agent/secrets';
import { publishToken } from './publish';
import { readAuthenticateSettings } from './settings';

void runTask('Managed identity: Azure DevOps token', async (p, summary) => {
  const settings = readAuthenticateSettings(p);
  summary.add('Organizations', settings.organizations.map((o) => o.name).join(', '));
  if (settings.verify) preloadDevOpsClient();
  const token = await acquireToken(p, settings.identity);
  const [names] = settings.verify
    ? await Promise.all([
      verifyOrganizations(settings.organizations, token.token, token.claims, settings.policy, p),
      verifyFeeds(settings.feeds, token.token, token.claims, settings.policy, p),
    ])
    : [[]];
  summary.addToken(token, names[0]?.displayName);
  summary.add('Verified', settings.verify ? `yes: each organization knows the identity${settings.feeds.length ? ', each feed is readable' : ''}` : 'no (verify: false)');
  publishToken(p, settings, token, names[0]?.displayName);
  summary.add('Secret variable', settings.variableName);
  if (settings.configureGit) {
    const session = openGitSession(p, settings.tempDirectory, settings.identity, settings.organizations, settings.policy);
    p.saveState(StateKey.GitSession, session);
    summary.add('Git', 'later steps authenticate to these organizations until the job ends');
  }
  if (settings.feeds.length) {
    const feeds = configureFeeds(p, token, { feeds: settings.feeds, onlyAddExtraIndex: settings.onlyAddExtraIndex, tempDir: settings.tempDirectory, selector: settings.identity });
    p.saveState(StateKey.Feeds, JSON.stringify(feeds.state));
    summary.add('Feeds', feeds.configured.join('; '));
    summary.add('Feed credentials valid until', feeds.validUntil);
  }
});
