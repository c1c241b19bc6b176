/**
 * Several agents on one VM, each running git that asks for credentials many times, against an IMDS that enforces
 * its per-VM throttling (scaled to this machine: scripts/bench-git.ts AGENTS). With the job's token broker the git
 * operations cost one token request per job (the first one's, which starts the broker), and every request waits
 * out the 429s it meets.
 */
import assert from 'node:assert/strict';
import { AGENTS, runAgents } from '../../scripts/bench-git';
import { harness, taskDir, type Harness } from './support';

describe('many agents on one VM: 8 concurrent jobs × 25 git operations against a throttling IMDS', function () {
  this.timeout(600_000);
  let h: Harness;
  before(async () => {
    [h] = await Promise.all([harness(), taskDir('ManagedIdentityAuthenticate')]);
  });
  after(() => h?.stop());

  it('no job and no git operation fails; two token requests per job (the step\'s and the broker\'s), whatever git does', async () => {
    const r = await runAgents(h);
    console.log(`      ${r.jobs} jobs × ${r.operations / r.jobs} git operations: ${r.failedJobs} failed jobs, ${r.failedOperations} failed operations, ` +
      `${r.identityRequests} identity requests (${r.throttled} answered 429), ${(r.wallMs / 1000).toFixed(1)} s`);
    assert.equal(r.failedJobs, 0, r.firstFailure);
    assert.equal(r.failedOperations, 0);
    assert.equal(r.tokensIssued, 2 * AGENTS.jobs, 'two tokens per job: the authenticate step\'s, and the first git operation\'s, with which its helper started the job\'s broker; the other operations asked the broker, not IMDS');
    assert.equal(r.identityRequests, 2 * AGENTS.jobs + r.throttled, 'every other request was a 429 that was waited out');
  });
});
