/**
 * The token broker (src/git/broker.ts) and the helpers git runs, with real git: its own `git credential-cache`
 * client talking to the broker's socket, `git credential fill` through the entries job variables set, and the
 * broker as a detached process that ends when told, when its session disappears, or never holds a step open.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TokenBroker, askBroker, type HeldToken } from '../../src/git/broker';
import { startBroker, stopBroker } from '../../src/git/broker-process';
import { inScope, requestUrl, parseCredentialRequest } from '../../src/git/credential-protocol';
import {
  brokerAddress, cacheHelperCommand, claimBrokerStart, credentialEntries, credentialHosts, gitConfigVariables, nodeHelperCommand, readSession, removeBrokerDirectory,
  removeSession, writeSession,
} from '../../src/git/session';
import { parseOrganization, type HostPolicy } from '../../src/devops/organizations';

const LOOPBACK: HostPolicy = { loopbackHosts: ['127.0.0.1:4321'] };
const NONE: HostPolicy = { loopbackHosts: [] };
const HOUR = 3_600_000;

function git(args: string[], env: Record<string, string>, input = ''): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile('git', args, { env: { PATH: process.env['PATH'] ?? '', HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0', ...env } },
      (err, stdout, stderr) => done({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin?.end(input);
  });
}

function envOf(entries: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  return Object.fromEntries(gitConfigVariables(0, entries));
}

/** A JS file that runs a TypeScript entry through tsx, so tests start the helper and broker as git and a step would. */
function tsEntry(dir: string, entry: string): string {
  const file = join(dir, `${entry.replace(/\W/g, '_')}.js`);
  writeFileSync(file, `require(${JSON.stringify(require.resolve('tsx/cjs'))});\nrequire(${JSON.stringify(resolve(entry))});\n`);
  return file;
}

describe('credential scope: organizations in any letter case, Azure DevOps hosts only', () => {
  const scope = (orgs: string[], policy: HostPolicy = NONE) => ({ prefixes: orgs.flatMap((o) => parseOrganization('organizations', o, policy).gitPrefixes), policy });
  const url = (text: string): URL => new URL(text);

  it('matches any spelling of an organization of the session, on dev.azure.com and its visualstudio.com host', () => {
    const s = scope(['myorg']);
    for (const u of ['https://dev.azure.com/MyOrg/p/_git/r', 'https://dev.azure.com/MYORG/p/_git/r', 'https://dev.azure.com/myorg/', 'https://MyOrg.visualstudio.com/p/_git/r', 'https://myorg.visualstudio.com/DefaultCollection/p/_git/r']) {
      assert.ok(inScope(url(u), s), u);
    }
    const mixed = scope(['https://dev.azure.com/MyOrg']);
    assert.ok(inScope(url('https://dev.azure.com/myorg/p/_git/r'), mixed));
  });

  it('refuses other organizations, a path-less dev.azure.com request, other hosts and plain http', () => {
    const s = scope(['myorg']);
    for (const u of ['https://dev.azure.com/other/p/_git/r', 'https://dev.azure.com/myorgx/p/_git/r', 'https://dev.azure.com/', 'https://other.visualstudio.com/p/_git/r',
      'https://dev.azure.com.evil.test/myorg/p/_git/r', 'http://dev.azure.com/myorg/p/_git/r', 'https://github.com/myorg/r']) {
      assert.ok(!inScope(url(u), s), u);
    }
  });

  it('reads git\'s request fields and refuses hosts that carry a path or user', () => {
    assert.equal(requestUrl(parseCredentialRequest('protocol=https\nhost=dev.azure.com\npath=MyOrg/p/_git/r\n\n'))?.href, 'https://dev.azure.com/MyOrg/p/_git/r');
    assert.equal(requestUrl(parseCredentialRequest('protocol=https\nhost=evil.test/dev.azure.com\n')), undefined);
    assert.equal(requestUrl(parseCredentialRequest('protocol=https\nhost=me@dev.azure.com\n')), undefined);
    assert.equal(requestUrl(parseCredentialRequest('host=dev.azure.com\n')), undefined);
  });

  it('configures helpers per host (git compares credential.<url> paths with case), with useHttpPath', () => {
    const prefixes = parseOrganization('o', 'myorg', NONE).gitPrefixes;
    assert.deepEqual(credentialHosts([...prefixes, 'https://dev.azure.com/fabrikam/']), ['https://dev.azure.com', 'https://myorg.visualstudio.com']);
    assert.deepEqual(credentialEntries(['https://dev.azure.com'], ['cache --socket x', '!h'], true), [
      ['credential.https://dev.azure.com.helper', ''], ['credential.https://dev.azure.com.helper', 'cache --socket x'],
      ['credential.https://dev.azure.com.helper', '!h'], ['credential.https://dev.azure.com.useHttpPath', 'true'],
    ]);
  });
});

describe('token broker (src/git/broker.ts) with git\'s own credential-cache client', function () {
  this.timeout(30_000);
  let dir: string;
  const brokers: TokenBroker[] = [];
  before(() => (dir = mkdtempSync(join(tmpdir(), 'broker-test-'))));
  after(async () => {
    await Promise.all(brokers.map((b) => b.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function broker(options: Partial<ConstructorParameters<typeof TokenBroker>[0]> & { initial: HeldToken }): Promise<{ b: TokenBroker; address: string }> {
    const b = new TokenBroker({ scope: { prefixes: ['http://127.0.0.1:4321/myorg/'], policy: LOOPBACK }, ...options });
    const address = brokerAddress(dir);
    await b.listen(address);
    brokers.push(b);
    return { b, address };
  }
  const fill = (address: string, url: string, extra: Array<readonly [string, string]> = []): Promise<{ status: number; stdout: string; stderr: string }> =>
    git(['credential', 'fill'], envOf([...credentialEntries(['http://127.0.0.1:4321'], [cacheHelperCommand(address)], true), ...extra]), `url=${url}\n\n`);

  it('answers git for any spelling of a session organization, from memory, and nothing for other organizations', async () => {
    const { b, address } = await broker({ initial: { token: 'tok-A', expiresOn: Date.now() + HOUR } });
    assert.equal((statSync(resolve(address, '..')).mode & 0o777), 0o700, 'the socket lives in a private directory');
    for (const spelling of ['MyOrg', 'MYORG', 'myorg']) {
      const r = await fill(address, `http://127.0.0.1:4321/${spelling}/p/_git/r`);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^username=ManagedIdentity$/m);
      assert.match(r.stdout, /^password=tok-A$/m, spelling);
    }
    const other = await fill(address, 'http://127.0.0.1:4321/other/p/_git/r');
    assert.notEqual(other.status, 0);
    assert.doesNotMatch(other.stdout, /password=/);
    assert.equal(b.counts.get, 3, 'the out-of-scope request never reached the token');
  });

  it('ignores store and erase (the token stays), and ends on exit', async () => {
    let exited = false;
    const { address } = await broker({ initial: { token: 'tok-B', expiresOn: Date.now() + HOUR }, onExit: () => (exited = true) });
    const cache = (action: string): Promise<unknown> => git(['credential-cache', '--socket', address, action], {}, 'protocol=http\nhost=127.0.0.1:4321\npath=myorg/p\nusername=x\npassword=other\n\n');
    await cache('store');
    await cache('erase');
    assert.match((await fill(address, 'http://127.0.0.1:4321/myorg/p/_git/r')).stdout, /password=tok-B/);
    await git(['credential-cache', '--socket', address, 'exit'], {});
    assert.ok(exited);
  });

  it('renews once for many waiting requests before expiry, and hands a renewed token only to the helper that registers it', async () => {
    let renewals = 0;
    let clock = Date.now();
    const { b, address } = await broker({
      initial: { token: 'tok-old', expiresOn: clock + HOUR },
      now: () => clock,
      renew: async () => {
        renewals++;
        await new Promise((r) => setTimeout(r, 200));
        return { token: 'tok-new', expiresOn: Date.now() + HOUR };
      },
    });
    const request = 'protocol=http\nhost=127.0.0.1:4321\npath=MyOrg/p/_git/r\n\n';
    assert.equal((await askBroker(address, request))?.token, 'tok-old', 'far from expiry: no renewal');
    clock += HOUR - 4 * 60_000; // four minutes left, inside the five-minute margin
    const answers = await Promise.all(Array.from({ length: 8 }, () => askBroker(address, request)));
    assert.equal(renewals, 1, 'single-flight');
    assert.ok(answers.every((a) => a?.token === 'tok-new'));
    const viaGit = await fill(address, 'http://127.0.0.1:4321/myorg/p/_git/r');
    assert.doesNotMatch(viaGit.stdout, /password=/, 'git\'s cache client cannot register a token: it gets none it was not told about');
    assert.equal(b.counts.renewals, 1);
  });

  it('keeps serving the current token when a renewal fails while it is still valid, and says so to the helper', async () => {
    let calls = 0;
    let clock = Date.now();
    const { address } = await broker({
      initial: { token: 'tok-valid', expiresOn: clock + HOUR },
      renew: () => {
        calls++;
        return Promise.reject(new Error('The IMDS endpoint is throttling token requests (HTTP 429)'));
      },
      now: () => clock,
    });
    clock += HOUR - 60_000; // a minute left
    const first = await askBroker(address, 'protocol=http\nhost=127.0.0.1:4321\npath=myorg/p\n\n');
    assert.equal(first?.token, 'tok-valid');
    assert.match(first?.warning ?? '', /could not renew the token \(The IMDS endpoint is throttling/);
    await askBroker(address, 'protocol=http\nhost=127.0.0.1:4321\npath=myorg/p\n\n');
    assert.equal(calls, 1, 'no second attempt within the cooldown');
  });

  it('answers nothing for an expired token it cannot renew', async () => {
    const { address } = await broker({ initial: { token: 'tok-gone', expiresOn: Date.now() - 1 } });
    const r = await fill(address, 'http://127.0.0.1:4321/myorg/p/_git/r');
    assert.doesNotMatch(r.stdout, /password=/);
  });
});

describe('credential helper and broker as git and a step run them', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'helper-test-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('git credential fill through the job\'s entries: our helper asks the broker and registers the token first, any spelling', async () => {
    const temp = mkdtempSync(join(dir, 'temp-'));
    const prefixes = parseOrganization('organizations', 'http://127.0.0.1:4321/myorg/', LOOPBACK).gitPrefixes;
    const address = brokerAddress(temp);
    const session = writeSession(temp, { version: 2, selector: { kind: 'system' }, prefixes, policy: LOOPBACK, broker: address });
    const b = new TokenBroker({ scope: readSession(session)!, initial: { token: 'tok-H', expiresOn: Date.now() + HOUR } });
    await b.listen(address);
    try {
      const helper = nodeHelperCommand(process.execPath, tsEntry(dir, 'src/tasks/credential-helper.ts'), session);
      const env = envOf(credentialEntries(credentialHosts(prefixes), [helper], true));
      const r = await git(['credential', 'fill'], env, 'url=http://127.0.0.1:4321/MyOrg/p/_git/r\n\n');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^password=tok-H$/m);
      assert.match(r.stderr, /^##vso\[task\.setsecret\]tok-H$/m, 'registered before git got it');
      assert.ok(r.stderr.includes(`##vso[task.setsecret]${Buffer.from('ManagedIdentity:tok-H').toString('base64')}`));
      const other = await git(['credential', 'fill'], env, 'url=http://127.0.0.1:4321/other/p/_git/r\n\n');
      assert.match(other.stderr, /http:\/\/127\.0\.0\.1:4321\/other\/p\/_git\/r is not in one of this job's organizations \(myorg\): not answering/);
      assert.doesNotMatch(other.stdout, /password=/);
    } finally {
      await b.close();
    }
  });

  it('the broker process: starts on a token from stdin, ends when told (exit), and when its session file disappears', async () => {
    const temp = mkdtempSync(join(dir, 'temp-'));
    const script = tsEntry(dir, 'src/tasks/git-broker.ts');
    const start = async (): Promise<{ session: string; address: string; pid: number }> => {
      const address = brokerAddress(temp);
      const session = writeSession(temp, { version: 2, prefixes: ['http://127.0.0.1:4321/myorg/'], policy: LOOPBACK, broker: address });
      const pid = await startBroker(session, { token: 'tok-P', expiresOn: Date.now() + HOUR }, script, { wait: true });
      return { session, address, pid };
    };
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const gone = async (pid: number): Promise<boolean> => {
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      return !alive(pid);
    };

    const told = await start();
    assert.equal((await askBroker(told.address, 'protocol=http\nhost=127.0.0.1:4321\npath=MYORG/p\n\n'))?.token, 'tok-P');
    assert.equal(await stopBroker(told.address), true);
    assert.ok(await gone(told.pid), 'exit ends it');
    assert.ok(!existsSync(told.address), 'and it removed its socket');
    removeBrokerDirectory(temp, told.address);

    const orphaned = await start();
    rmSync(orphaned.session);
    assert.ok(await gone(orphaned.pid), 'a removed session ends it');
    assert.equal(await stopBroker(orphaned.address, 500), false);
  });

  it('a broker process that cannot listen takes itself out of the session, so helpers ask the identity endpoint at once', async () => {
    const temp = mkdtempSync(join(dir, 'temp-'));
    const address = brokerAddress(temp);
    const squatter = new TokenBroker({ scope: { prefixes: [], policy: LOOPBACK }, initial: { token: 'x', expiresOn: Date.now() + HOUR } });
    await squatter.listen(address);
    try {
      const session = writeSession(temp, { version: 2, prefixes: [], policy: LOOPBACK, broker: address });
      await assert.rejects(startBroker(session, { token: 'tok-Q', expiresOn: Date.now() + HOUR }, tsEntry(dir, 'src/tasks/git-broker.ts'), { wait: true }), /cannot listen/);
      assert.equal(readSession(session)?.broker, undefined);
    } finally {
      await squatter.close();
    }
  });

  it('the broker process refuses to start without a token on stdin', async () => {
    const temp = mkdtempSync(join(dir, 'temp-'));
    const address = brokerAddress(temp);
    const session = writeSession(temp, { version: 2, prefixes: [], policy: LOOPBACK, broker: address });
    await assert.rejects(startBroker(session, { token: '', expiresOn: 0 }, tsEntry(dir, 'src/tasks/git-broker.ts'), { wait: true }), /no token on stdin/);
  });

  it('a broker is started once per session, also by helpers that ask at the same time; after the session is removed, so is its mark', () => {
    const temp = mkdtempSync(join(dir, 'temp-'));
    const session = writeSession(temp, { version: 2, prefixes: [], policy: LOOPBACK, broker: brokerAddress(temp) });
    const claims = [1, 2, 3, 4].map(() => claimBrokerStart(session));
    assert.deepEqual(claims, [true, false, false, false]);
    assert.ok(existsSync(`${session}.broker`));
    assert.equal(removeSession(temp, session), true);
    assert.ok(!existsSync(`${session}.broker`), 'the post-job step removes the mark with the session');
    assert.equal(claimBrokerStart(join(temp, 'gone', 'miado-git-x.json')), false, 'no claim where the session cannot be');
  });
});
