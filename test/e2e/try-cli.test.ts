/**
 * The operator try-out, exactly as README.md and overview.md tell it: `npx tsx test/emulators/serve.ts`
 * in the background prints a ready `npm run try -- …` command for its own addresses; that command, run by
 * a shell, installs the packaged tasks from dist/*.vsix and runs them like the agent.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { scrubbedEnv } from '../emulators';
import { run } from './support';

const JWT = /eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/;

/** Starts serve.ts in its own process group and resolves with everything it printed up to "Ctrl-C to stop." */
function serve(): Promise<{ child: ChildProcess; banner: string }> {
  const child = spawn('npx', ['tsx', 'test/emulators/serve.ts'], { env: scrubbedEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let banner = '';
    const timer = setTimeout(() => reject(new Error(`serve.ts printed no banner within 30 s:\n${banner}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      banner += chunk.toString('utf8');
      if (banner.includes('Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve({ child, banner });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (banner += chunk.toString('utf8')));
    child.once('exit', (code) => reject(new Error(`serve.ts exited (${code}):\n${banner}`)));
  });
}

/** The shell command serve.ts prints under "Try the packaged tasks", continuation lines joined. */
function tryCommand(banner: string): string {
  const block = /^Try the packaged tasks[^\n]*\n((?:[ \t]+\S[^\n]*\n)+)/m.exec(banner);
  assert.ok(block, `serve.ts printed no try command:\n${banner}`);
  return block[1]!.replace(/\\\n/g, ' ').trim();
}

describe('npm run try against npx tsx test/emulators/serve.ts (child processes)', function () {
  this.timeout(120_000);
  let server: { child: ChildProcess; banner: string } | undefined;
  let command: string;

  before(async () => {
    server = await serve();
    command = tryCommand(server.banner);
  });
  after(async () => {
    const child = server?.child;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGTERM');
    await exited;
  });

  it('the printed command runs the packaged authenticate task, a later git step, the post-job step, and prints the summary', async () => {
    assert.match(command, /^npm run try -- --vsix dist\/test\/\*\.vsix .*--task ManagedIdentityAuthenticate /);
    const started = Date.now();
    const result = await run('sh', ['-c', command], scrubbedEnv());
    const output = result.stdout + result.stderr;
    assert.equal(result.status, 0, output);
    assert.match(output, /Identity source: IMDS at http:\/\/127\.0\.0\.1:\d+\/metadata\/identity\/oauth2\/token/);
    assert.match(output, /Organization 'contoso' knows this identity as 'agent-vm'/);
    assert.match(output, /Organization 'fabrikam' knows this identity as 'agent-vm'/);
    assert.match(output, /^[0-9a-f]{40}\trefs\/heads\/main$/m, 'the later plain git step reached fabrikam with the job\'s credentials');
    assert.match(output, /Removed the job's git credential session\./);
    assert.match(output, /Summary attached by ManagedIdentityAuthenticate:\n### Managed identity: Azure DevOps token\n[\s\S]*\| Result \| Succeeded \|/);
    assert.match(output, /^ {2}Succeeded +Post-job: ManagedIdentityAuthenticate \(\d+ ms\)$/m);
    assert.match(output, /^Job result: Succeeded$/m);
    assert.doesNotMatch(output, JWT, 'no token is printed');
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });

  it('exits 1 and explains the failure when the organization cannot accept the identity', async () => {
    const result = await run('sh', ['-c', command.replace('organizations=contoso,fabrikam', 'organizations=northwind')], scrubbedEnv());
    const output = result.stdout + result.stderr;
    assert.equal(result.status, 1, output);
    assert.match(output, /##\[error\]Organization 'northwind' belongs to tenant [0-9a-f-]{36}, but the identity .* is from another tenant \(TF400813\)\./);
    assert.match(output, /^Troubleshooting: https:\/\/marketplace\.visualstudio\.com\/items\?itemName=[\w.-]+#troubleshooting$/m);
    assert.match(output, /^ {2}Skipped +CmdLine/m);
    assert.match(output, /^Job result: Failed$/m);
    assert.doesNotMatch(output, JWT);
  });
});
