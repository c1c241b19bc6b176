/** ManagedIdentityRepository@1: repository work in any organization the agent's identity can reach. */
import { runTask } from '../../pipeline';
import { acquireToken } from '../../secrets';
import { runCheckout, runList, runPullRequest, runPush, runReadFile, runTag, type Run } from './commands';
import { readRepositorySettings } from './settings';

void runTask(async (p) => {
  const settings = readRepositorySettings(p);
  const token = await acquireToken(p, settings.identity);
  const run: Run = { p, settings, token };
  const s = settings.command;
  switch (s.command) {
    case 'checkout': return runCheckout(run, s);
    case 'list': return runList(run, s);
    case 'readFile': return runReadFile(run, s);
    case 'push': return runPush(run, s);
    case 'tag': return runTag(run, s);
    case 'pullRequest': return runPullRequest(run, s);
  }
});
