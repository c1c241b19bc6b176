/** ManagedIdentityRepository@1: repository work in any organization the agent's identity can reach. */
import { preloadDevOpsClient } from '../../devops/client';
import { runTask, withOutputsIn } from '../../agent/pipeline';
import { describeRepository } from '../../devops/repository-ref';
import { acquireToken } from '../../agent/secrets';
import { runCheckout, runList, runPullRequest, runPush, runReadFile, runTag, type Run } from './commands';
import { readRepositorySettings } from './settings';

void runTask('Managed identity: repository', async (p, summary) => {
  const settings = readRepositorySettings(p);
  const s = settings.command;
  summary.add('Command', s.command);
  summary.add('Repository', 'repository' in s && s.repository ? describeRepository(s.repository) : undefined);
  summary.add('Organization', s.command === 'list' ? `${s.organization.name}${s.project ? ` / ${s.project}` : ''}` : undefined);
  preloadDevOpsClient();
  const token = await acquireToken(p, settings.identity);
  summary.addToken(token);
  const run: Run = { p: withOutputsIn(p, summary), settings, token };
  switch (s.command) {
    case 'checkout': return runCheckout(run, s);
    case 'list': return runList(run, s);
    case 'readFile': return runReadFile(run, s);
    case 'push': return runPush(run, s);
    case 'tag': return runTag(run, s);
    case 'pullRequest': return runPullRequest(run, s);
  }
});
