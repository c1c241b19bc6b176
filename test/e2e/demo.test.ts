import assert from 'node:assert/strict';
import { run } from './support';

describe('npm start (the demo pipeline)', () => {
  it('authenticates, clones from a second organization through the credential helper, and shows no token', async function () {
    this.timeout(120_000);
    const result = await run(process.execPath, [require.resolve('tsx/cli'), 'scripts/demo.ts'], { ...process.env } as Record<string, string>);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /Organization 'fabrikam' knows this identity as 'agent-vm'/);
    assert.match(result.stdout, /Cloning into '.*templates'/);
    assert.match(result.stdout, /^200 \{"count":1/m);
    assert.match(result.stdout, /Removed the job's git credential session/);
    assert.match(result.stdout, /Job result: Succeeded/);
    assert.doesNotMatch(result.stdout, /eyJ[A-Za-z0-9_-]{10,}\.eyJ/, 'no JWT in the demo output');
  });
});
