import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import * as azdev from 'azure-devops-node-api';
import {
  AGENT_VM,
  AZURE_DEVOPS_RESOURCE,
  CONTOSO,
  FABRIKAM,
  isolatedGitEnv,
  NORTHWIND,
  runGit,
  scrubbedEnv,
  SEED,
  seedBytes,
  startEmulators,
  throttlingFault,
  UAMI_BUILD,
  UAMI_OUTSIDER,
  UAMI_READER,
  type Emulators,
  type GitResult,
} from '../emulators';

const REPO_ROOT = path.resolve(__dirname, '../..');
const SCOPE = `${AZURE_DEVOPS_RESOURCE}/.default`;

interface ChildToken {
  ok: boolean;
  token?: string;
  expiresOnTimestamp?: number;
  name?: string;
  message?: string;
  code?: string;
}

/**
 * Runs the real ManagedIdentityCredential in a fresh Node process: msal picks and caches the
 * source per process, so every scenario needs its own (as every agent task step has).
 */
function childGetToken(env: Record<string, string>, options: object = {}): Promise<ChildToken> {
  const script = `
    const { ManagedIdentityCredential } = require('@azure/identity');
    new ManagedIdentityCredential(JSON.parse(process.argv[1])).getToken(${JSON.stringify(SCOPE)}).then(
      (t) => console.log(JSON.stringify({ ok: true, token: t.token, expiresOnTimestamp: t.expiresOnTimestamp })),
      (e) => console.log(JSON.stringify({ ok: false, name: e.name, message: e.message, code: e.cause && e.cause.errorCode })));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(options)], { cwd: REPO_ROOT, env: scrubbedEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as ChildToken);
      } catch {
        reject(new Error(`child printed no result; stdout: ${stdout} stderr: ${stderr}`));
      }
    });
  });
}

function claimsOf(emu: Emulators, result: ChildToken): Record<string, unknown> {
  assert.equal(result.ok, true, `getToken failed: ${result.name}: ${result.message}`);
  const verified = emu.tokens.verify(result.token ?? '');
  assert.ok(verified.ok, `token does not verify: ${verified.ok ? '' : verified.reason}`);
  return verified.claims;
}

/** GET/POST over https trusting only the emulator CA (fetch cannot take a CA without undici). */
function httpsJson(url: string, ca: string, form?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const payload = form ? new URLSearchParams(form).toString() : undefined;
    const req = https.request(url, { method: form ? 'POST' : 'GET', ca, headers: payload ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('loopback emulators', function () {
  let emu: Emulators;
  let scratch: string;

  before(async () => {
    emu = await startEmulators();
    scratch = fs.mkdtempSync(path.join(emu.root, 'scratch-'));
  });
  after(async () => emu?.stop());

  describe('world and tokens', () => {
    it('seeds real bare repositories with branches, both tag kinds and binary content', async () => {
      const repo = emu.world.organizations[1].projects[0].repos[1];
      assert.equal(repo.name, FABRIKAM.unicode.name);
      const refs = await runGit(['-C', repo.bareDir, 'for-each-ref', '--format=%(refname) %(objecttype)']);
      assert.deepEqual(refs.stdout.trim().split('\n').sort(), [
        'refs/heads/main commit',
        'refs/heads/release/1.0 commit',
        `refs/tags/${SEED.lightweightTag} commit`,
        `refs/tags/${SEED.annotatedTag} tag`,
      ]);
      const blob = await runGit(['-C', repo.bareDir, 'cat-file', 'blob', `main:${SEED.binaryFile}`]);
      assert.equal(blob.stdout.length > 0, true);
    });

    it('mints managed-identity-shaped tokens and names what is wrong with bad ones', () => {
      const agent = emu.world.identities[0];
      const issued = emu.tokens.mintAccessToken(agent);
      const verified = emu.tokens.verify(issued.token);
      assert.ok(verified.ok);
      assert.deepEqual(
        { aud: verified.claims.aud, iss: verified.claims.iss, oid: verified.claims.oid, sub: verified.claims.sub, appid: verified.claims.appid, idtyp: verified.claims.idtyp, ver: verified.claims.ver },
        { aud: AZURE_DEVOPS_RESOURCE, iss: `https://sts.windows.net/${agent.tenantId}/`, oid: AGENT_VM.objectId, sub: AGENT_VM.objectId, appid: AGENT_VM.clientId, idtyp: 'app', ver: '1.0' },
      );
      const [h, p, s] = issued.token.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...issued.claims, oid: UAMI_BUILD.objectId })).toString('base64url')}.${s}`;
      const reason = (t: string, opts = {}): string => {
        const r = emu.tokens.verify(t, opts);
        return r.ok ? 'ok' : r.reason;
      };
      assert.equal(reason(tampered), 'bad signature');
      assert.equal(reason(`${h}.${p}`), 'not a JWT');
      assert.equal(reason(emu.tokens.mintAccessToken(agent, AZURE_DEVOPS_RESOURCE, { lifetimeSeconds: -1 }).token), 'expired');
      assert.equal(reason(emu.tokens.mintAccessToken(agent, 'https://management.azure.com/').token), 'wrong audience');
    });
  });

  describe('identity endpoints with the real @azure/identity (one child process each, run in parallel)', () => {
    const results: Record<string, Promise<ChildToken>> = {};

    before(async () => {
      emu.identity.config.arcMode = 'open';
      const entra = await emu.entra();
      const scenarios: Record<string, () => Promise<ChildToken>> = {
        imds: () => childGetToken(emu.env()),
        appService: () => childGetToken(emu.identity.envFor('appService'), { clientId: UAMI_BUILD.clientId }),
        arc: () => childGetToken(emu.identity.envFor('arc'), { objectId: UAMI_READER.objectId }),
        serviceFabric: () => childGetToken(emu.identity.envFor('serviceFabric')),
        cloudShell: () => childGetToken(emu.identity.envFor('cloudShell')),
        machineLearning: () => childGetToken(emu.identity.envFor('machineLearning')),
        workload: () => childGetToken(entra.env(UAMI_BUILD.key)),
        workloadWrongSubject: () =>
          childGetToken(entra.env(UAMI_BUILD.key, entra.writeFederatedToken({ subject: 'system:serviceaccount:other:intruder' }))),
      };
      for (const [name, run] of Object.entries(scenarios)) results[name] = run();
      await Promise.all(Object.values(results));
    });
    after(() => (emu.identity.config.arcMode = 'challenge'));

    it('IMDS via AZURE_POD_IDENTITY_AUTHORITY_HOST gives the system-assigned identity', async () => {
      const claims = claimsOf(emu, await results.imds);
      assert.equal(claims.oid, AGENT_VM.objectId);
      // msal canonicalizes the authority host: the path arrives with a trailing slash.
      const seen = emu.identity.requests.find((r) => /^\/+metadata\/identity\/oauth2\/token\/?$/.test(r.path));
      assert.ok(seen, 'IMDS saw no request');
      assert.equal(seen.headers.metadata, 'true');
      assert.deepEqual([seen.query['api-version'], seen.query.resource], ['2018-02-01', AZURE_DEVOPS_RESOURCE]);
    });

    it('App Service selects a user-assigned identity by client id', async () => {
      assert.equal(claimsOf(emu, await results.appService).appid, UAMI_BUILD.clientId);
      const seen = emu.identity.requests.find((r) => r.path === '/msi/token');
      assert.equal(seen?.headers['x-identity-header'], emu.identity.config.appServiceSecret);
      assert.equal(seen?.query.client_id, UAMI_BUILD.clientId);
    });

    it('Azure Arc (200 mode) selects by object id and echoes it, as msal requires', async () => {
      assert.equal(claimsOf(emu, await results.arc).oid, UAMI_READER.objectId);
    });

    it('Service Fabric, Cloud Shell and Azure ML answer in their own formats', async () => {
      for (const name of ['serviceFabric', 'cloudShell', 'machineLearning']) {
        assert.equal(claimsOf(emu, await results[name]).oid, AGENT_VM.objectId, name);
      }
      assert.equal(emu.identity.requests.find((r) => r.path === '/cloudshell/token')?.body, `resource=${AZURE_DEVOPS_RESOURCE}`);
    });

    it('workload identity exchanges the federated token at Entra over TLS', async () => {
      assert.equal(claimsOf(emu, await results.workload).oid, UAMI_BUILD.objectId);
      const entra = await emu.entra();
      const post = entra.requests.find((r) => r.method === 'POST');
      const form = new URLSearchParams(post?.body);
      assert.equal(form.get('scope'), SCOPE);
      assert.equal(form.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    });

    it('workload identity with an unknown subject fails with AADSTS70021', async () => {
      const result = await results.workloadWrongSubject;
      assert.equal(result.ok, false);
      assert.match(result.message ?? '', /AADSTS70021: No matching federated identity record/);
    });

    it('Entra serves OpenID metadata on its own origin and refuses unknown clients with AADSTS700016', async () => {
      const entra = await emu.entra();
      const tenant = emu.world.identities[0].tenantId;
      const meta = await httpsJson(`${entra.url}/${tenant}/v2.0/.well-known/openid-configuration`, entra.caPem);
      assert.equal(meta.body.issuer, `${entra.url}/${tenant}/v2.0`);
      assert.equal(meta.body.token_endpoint, `${entra.url}/${tenant}/oauth2/v2.0/token`);
      const unknown = await httpsJson(`${entra.url}/${tenant}/oauth2/v2.0/token`, entra.caPem, {
        grant_type: 'client_credentials',
        client_id: '00000000-0000-0000-0000-00000000beef',
        scope: SCOPE,
      });
      assert.equal(unknown.status, 400);
      assert.deepEqual(unknown.body.error_codes, [700016]);
    });
  });

  describe('identity endpoint wire details', () => {
    const imdsUrl = (query: string): string => `${emu.identity.url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${AZURE_DEVOPS_RESOURCE}${query}`;
    afterEach(() => {
      emu.identity.faults.length = 0;
      delete emu.identity.config.substitute;
    });

    it('IMDS refuses a request without Metadata and an unknown identity, like the real one', async () => {
      const bare = await fetch(imdsUrl(''));
      assert.equal(bare.status, 400);
      assert.deepEqual(await bare.json(), { error: 'invalid_request', error_description: 'Required metadata header not specified' });
      const unknown = await fetch(imdsUrl('&client_id=00000000-0000-0000-0000-000000000001'), { headers: { Metadata: 'true' } });
      assert.equal(unknown.status, 400);
      assert.deepEqual(await unknown.json(), { error: 'invalid_request', error_description: 'Identity not found' });
      const assigned = emu.world.assigned;
      emu.world.assigned = assigned.filter((key) => key !== AGENT_VM.key);
      try {
        const ambiguous = await fetch(imdsUrl(''), { headers: { Metadata: 'true' } });
        assert.equal(ambiguous.status, 400);
        assert.match(((await ambiguous.json()) as { error_description: string }).error_description, /^Multiple user assigned identities exist/);
      } finally {
        emu.world.assigned = assigned;
      }
      const ok = (await (await fetch(imdsUrl(''), { headers: { Metadata: 'true' } })).json()) as Record<string, unknown>;
      assert.equal(typeof ok.expires_on, 'string');
      assert.equal(ok.refresh_token, '');
    });

    it('faults apply in order, then the endpoint answers normally', async () => {
      emu.identity.faults.push({ status: 500, body: { error: 'unknown' }, times: 2 }, { resetConnection: true });
      const statuses: string[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push(await fetch(imdsUrl(''), { headers: { Metadata: 'true' } }).then((r) => String(r.status), (e: Error) => (e.cause as { code?: string })?.code ?? 'error'));
      }
      assert.deepEqual(statuses, ['500', '500', 'ECONNRESET', '200']);
    });

    it('honours a 429 with Retry-After through the real library', async () => {
      emu.identity.faults.push({ status: 429, headers: { 'Retry-After': '1' }, body: { error: 'throttled' } });
      const started = Date.now();
      const claims = claimsOf(emu, await childGetToken(emu.identity.envFor('appService')));
      assert.equal(claims.oid, AGENT_VM.objectId);
      assert.ok(Date.now() - started >= 1000, 'the client did not wait for Retry-After');
    });

    it('IMDS enforces its per-VM limits on token requests: per second and at once, 429 with Retry-After', async () => {
      const limits = emu.identity.config.imdsLimits;
      const get = (): Promise<Response> => fetch(imdsUrl(''), { headers: { Metadata: 'true' } });
      try {
        assert.deepEqual(limits, { perSecond: 20, concurrent: 5 }, 'the documented limits by default');
        emu.identity.config.imdsLimits = { perSecond: 3, concurrent: 100 };
        const burst = await Promise.all(Array.from({ length: 6 }, get));
        assert.deepEqual(burst.map((r) => r.status).sort(), [200, 200, 200, 429, 429, 429]);
        const refused = burst.find((r) => r.status === 429)!;
        assert.equal(refused.headers.get('retry-after'), '1');
        assert.deepEqual(await refused.json(), { error: 'too_many_requests', error_description: 'IMDS Throttle limit reached.' });
        await new Promise((r) => setTimeout(r, 1_100));
        assert.equal((await get()).status, 200, 'the window moved on');

        emu.identity.config.imdsLimits = { perSecond: 100, concurrent: 2 };
        emu.identity.config.imdsLatencyMs = 200;
        const together = await Promise.all(Array.from({ length: 4 }, get));
        assert.deepEqual(together.map((r) => r.status).sort(), [200, 200, 429, 429], 'two answered at once, two refused');
      } finally {
        emu.identity.config.imdsLimits = limits;
        emu.identity.config.imdsLatencyMs = 0;
      }
    });

    it('can hand out another identity than the one asked for', async () => {
      emu.identity.config.substitute = UAMI_OUTSIDER.key;
      const body = (await (await fetch(imdsUrl(`&client_id=${UAMI_BUILD.clientId}`), { headers: { Metadata: 'true' } })).json()) as { access_token: string };
      const verified = emu.tokens.verify(body.access_token);
      assert.ok(verified.ok);
      assert.equal(verified.claims.oid, UAMI_OUTSIDER.objectId);
    });

    it('Azure Arc challenges with a key file whose content authorizes the retry', async () => {
      const url = `${emu.identity.url}/arc/metadata/identity/oauth2/token?api-version=2020-06-01&resource=${AZURE_DEVOPS_RESOURCE}`;
      const first = await fetch(url, { headers: { Metadata: 'true' } });
      assert.equal(first.status, 401);
      const realm = /^Basic realm=(.+\.key)$/.exec(first.headers.get('www-authenticate') ?? '')?.[1];
      assert.ok(realm && fs.existsSync(realm), `no key file in ${first.headers.get('www-authenticate')}`);
      const retry = await fetch(url, { headers: { Metadata: 'true', Authorization: `Basic ${fs.readFileSync(realm, 'utf8')}` } });
      assert.equal(retry.status, 200);
      // msal accepts only /var/opt/azcmagent/tokens/*.key: elsewhere the library in node_modules refuses the realm,
      // whatever MIADO_EMULATOR_ARC_TOKENS_DIR says (only the emulator flavour of the bundles reads it: the whole
      // challenge through the real library runs in test/e2e/identity-sources.test.ts).
      const refused = await childGetToken(emu.identity.envFor('arc'));
      assert.equal(refused.ok, false);
      assert.match(refused.message ?? '', /invalid_file_path/);
    });
  });

  describe('Azure DevOps REST with the real azure-devops-node-api', () => {
    const webApi = (org: string, key: string): azdev.WebApi => new azdev.WebApi(emu.devops.orgUrl(org), azdev.getBearerHandler(emu.tokenFor(key)));
    const status = (code: number, text: RegExp) => (err: Error & { statusCode?: number }) => err.statusCode === code && text.test(err.message);

    it('treats organization names in any letter case as the same organization, and answers with its own spelling', async () => {
      for (const spelling of ['MyOrg', 'myorg', 'MYORG']) {
        const data = await webApi(spelling, UAMI_BUILD.key).connect();
        assert.equal(data.authenticatedUser?.providerDisplayName, UAMI_BUILD.key, spelling);
      }
      const areas = (await (await fetch(`${emu.devops.orgUrl('myorg')}/_apis/ResourceAreas`)).json()) as { value: Array<{ locationUrl: string }> };
      assert.ok(areas.value.every((a) => a.locationUrl === `${emu.devops.url}/MyOrg/`), 'the service keeps the spelling the organization was created with');
      const repos = await (await webApi('MYORG', UAMI_BUILD.key).getGitApi()).getRepositories('platform');
      assert.equal(repos[0]?.remoteUrl, `${emu.devops.url.replace('//', '//MyOrg@')}/MyOrg/Platform/_git/service`);
    });

    it('connect() names the service principal; discovery and version negotiation work', async () => {
      const api = webApi(FABRIKAM.name, UAMI_BUILD.key);
      const data = await api.connect();
      assert.equal(data.authenticatedUser?.providerDisplayName, UAMI_BUILD.key);
      assert.equal(data.authenticatedUser?.descriptor, `Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;${emu.world.identities[1].tenantId}\\${UAMI_BUILD.objectId}`);
      const projects = await (await api.getCoreApi()).getProjects();
      assert.deepEqual(projects.map((p) => p.name), [FABRIKAM.project.name]);
      const git = await api.getGitApi();
      const repos = await git.getRepositories(FABRIKAM.project.name);
      assert.deepEqual(repos.map((r) => r.name), [FABRIKAM.templates.name, FABRIKAM.unicode.name]);
      assert.equal(repos[1].remoteUrl, emu.devops.cloneUrl(FABRIKAM.name, FABRIKAM.project.name, FABRIKAM.unicode.name));
      assert.equal((await git.getRepository(FABRIKAM.unicode.name, FABRIKAM.project.name))?.id, FABRIKAM.unicode.id);
      const seen = emu.devops.requests.map((r) => `${r.method} ${r.path} ${r.apiVersion ?? '-'}`);
      for (const line of [
        'OPTIONS /fabrikam/_apis/Location -',
        'GET /fabrikam/_apis/ResourceAreas 7.2-preview.1',
        'OPTIONS /fabrikam/_apis/git -',
        'GET /fabrikam/Shared%20Tools/_apis/git/repositories 7.2-preview.2',
      ]) {
        assert.ok(seen.includes(line), `missing request ${line}`);
      }
      assert.ok(emu.devops.requests.every((r) => !('authorization' in r.headers)), 'a token was recorded');
    });

    it('refuses identities that are not members: other tenant, never signed in, no membership', async () => {
      await assert.rejects((async () => (await webApi(FABRIKAM.name, UAMI_OUTSIDER.key).getCoreApi()).getProjects())(), status(401, /TF400813/));
      await assert.rejects(webApi(NORTHWIND.name, AGENT_VM.key).connect(), status(401, /TF400813/));
      const outsider = emu.world.identities.find((i) => i.key === UAMI_OUTSIDER.key);
      assert.ok(outsider);
      emu.world.organizations[0].members.set(outsider.objectId, { access: 'basic', permission: 'read' });
      outsider.neverSignedIn = true;
      try {
        await assert.rejects(webApi(CONTOSO.name, UAMI_OUTSIDER.key).connect(), status(401, /TF401444/));
      } finally {
        emu.world.organizations[0].members.delete(outsider.objectId);
        delete outsider.neverSignedIn;
      }
      const raw = await fetch(`${emu.devops.orgUrl(NORTHWIND.name)}/_apis/projects`, { headers: { Authorization: `Bearer ${emu.tokenFor(AGENT_VM.key)}` } });
      assert.equal(raw.status, 401);
      assert.equal(raw.headers.get('x-vss-resourcetenant'), emu.world.organizations[2].tenantId);
      assert.match(raw.headers.get('www-authenticate') ?? '', /^Bearer authorization_uri=https:\/\/login\.microsoftonline\.com\/.+, Basic realm=".+", TFS-Federated$/);
    });

    it('tells an anonymous caller the tenant; discovery can be left open for non-members', async () => {
      const head = await fetch(emu.devops.orgUrl(FABRIKAM.name), { method: 'HEAD' });
      assert.equal(head.status, 401);
      assert.equal(head.headers.get('x-vss-resourcetenant'), emu.world.organizations[1].tenantId);
      emu.devops.options.discoveryAuth = 'open';
      try {
        const core = await webApi(FABRIKAM.name, UAMI_OUTSIDER.key).getCoreApi();
        await assert.rejects(core.getProjects(), status(401, /TF400813/));
      } finally {
        emu.devops.options.discoveryAuth = 'enforce';
      }
    });

    it('an expired token gets 401 when redirects are suppressed and the 203 sign-in page otherwise', async () => {
      const expired = emu.tokens.mintAccessToken(emu.world.identities[1], AZURE_DEVOPS_RESOURCE, { lifetimeSeconds: -5 }).token;
      const url = `${emu.devops.orgUrl(FABRIKAM.name)}/_apis/projects`;
      const suppressed = await fetch(url, { headers: { Authorization: `Bearer ${expired}`, 'X-TFS-FedAuthRedirect': 'Suppress' } });
      assert.equal(suppressed.status, 401);
      assert.equal(((await suppressed.json()) as { message: string }).message, "TF400813: The user '' is not authorized to access this resource.");
      const browser = await fetch(url, { headers: { Authorization: `Bearer ${expired}` } });
      assert.equal(browser.status, 203);
      assert.match(browser.headers.get('content-type') ?? '', /^text\/html/);
      const anonymous = (await (await fetch(`${emu.devops.orgUrl(FABRIKAM.name)}/_apis/connectionData`)).json()) as { authenticatedUser: { id: string; providerDisplayName: string } };
      assert.deepEqual([anonymous.authenticatedUser.id, anonymous.authenticatedUser.providerDisplayName], ['aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', 'Anonymous']);
    });

    it('pages projects with x-ms-continuationtoken and reports TF200016 / TF401019', async () => {
      const org = emu.world.organizations[0];
      const extra = ['Alpha', 'Beta'].map((name, i) => ({ id: `00000000-0000-4000-8000-00000000000${i}`, name, description: '', repos: [] }));
      org.projects.push(...extra);
      const headers = { Authorization: `Bearer ${emu.tokenFor(UAMI_BUILD.key)}`, 'X-TFS-FedAuthRedirect': 'Suppress' };
      try {
        const names: string[] = [];
        let token: string | null = '0';
        while (token !== null) {
          const page = await fetch(`${emu.devops.orgUrl(CONTOSO.name)}/_apis/projects?$top=2&continuationToken=${token}&api-version=7.1`, { headers });
          names.push(...((await page.json()) as { value: { name: string }[] }).value.map((p) => p.name));
          token = page.headers.get('x-ms-continuationtoken');
        }
        assert.deepEqual(names, ['Alpha', 'Beta', 'Web']);
      } finally {
        org.projects.splice(org.projects.length - extra.length);
      }
      const noProject = await fetch(`${emu.devops.orgUrl(FABRIKAM.name)}/Nope/_apis/git/repositories`, { headers });
      assert.deepEqual([noProject.status, ((await noProject.json()) as { message: string }).message.slice(0, 8)], [404, 'TF200016']);
      const noRepo = await fetch(`${emu.devops.orgUrl(FABRIKAM.name)}/Shared%20Tools/_apis/git/repositories/nope`, { headers });
      const body = (await noRepo.json()) as { typeKey: string; message: string };
      assert.deepEqual([noRepo.status, body.typeKey, body.message.slice(0, 8)], [404, 'GitRepositoryNotFoundException', 'TF401019']);
    });

    it('throttles with 429, Retry-After and X-RateLimit headers on demand', async () => {
      emu.devops.faults.push(throttlingFault({ retryAfterSeconds: 3, match: (r) => r.method === 'GET' && r.path.endsWith('/_apis/projects') }));
      const core = await webApi(FABRIKAM.name, UAMI_BUILD.key).getCoreApi();
      await assert.rejects(core.getProjects(), (err: Error & { statusCode?: number; rateLimit?: { retryAfter?: number } }) => {
        return err.statusCode === 429 && err.rateLimit?.retryAfter === 3 && /TF400733/.test(err.message);
      });
    });

    it('checks api-version like the service: connectionData is preview-only', async () => {
      const headers = { Authorization: `Bearer ${emu.tokenFor(UAMI_BUILD.key)}` };
      const released = await fetch(`${emu.devops.orgUrl(FABRIKAM.name)}/_apis/connectionData?api-version=7.1`, { headers });
      assert.equal(((await released.json()) as { typeKey: string }).typeKey, 'VssInvalidPreviewVersionException');
      const preview = await fetch(`${emu.devops.orgUrl(FABRIKAM.name)}/_apis/connectionData?api-version=7.2-preview`, { headers });
      assert.equal(preview.status, 200);
    });
  });

  describe('git smart HTTP through the real git http-backend', () => {
    const templatesUrl = (): string => emu.devops.cloneUrl(FABRIKAM.name, FABRIKAM.project.name, FABRIKAM.templates.name);
    const bearer = (key: string): string[] => ['-c', `http.extraheader=AUTHORIZATION: bearer ${emu.tokenFor(key)}`];
    const git = (args: string[], env?: Record<string, string>): Promise<GitResult> => runGit(args, { cwd: scratch, env: isolatedGitEnv(env) });

    it('clones with a bearer header: branches, both tags and the binary file arrive intact', async () => {
      const r = await git([...bearer(UAMI_BUILD.key), 'clone', '--quiet', templatesUrl(), 'templates']);
      assert.equal(r.code, 0, r.stderr);
      const dir = path.join(scratch, 'templates');
      assert.deepEqual(fs.readFileSync(path.join(dir, SEED.binaryFile)), seedBytes(FABRIKAM.templates.id, 4096));
      const refs = await git(['-C', dir, 'for-each-ref', '--format=%(refname)', 'refs/tags', 'refs/remotes/origin/release']);
      assert.deepEqual(refs.stdout.trim().split('\n'), ['refs/remotes/origin/release/1.0', 'refs/tags/v0.9', 'refs/tags/v1.0.0']);
    });

    it('clones the non-ASCII repository with the token as a Basic password', async () => {
      const basic = Buffer.from(`anything:${emu.tokenFor(AGENT_VM.key)}`).toString('base64');
      const url = emu.devops.cloneUrl(FABRIKAM.name, FABRIKAM.project.name, FABRIKAM.unicode.name);
      const r = await git(['-c', `http.extraheader=AUTHORIZATION: basic ${basic}`, 'clone', '--quiet', url, 'unicode']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(fs.existsSync(path.join(scratch, 'unicode', 'README.md')));
    });

    it('without usable credentials git fails with "Authentication failed"', async () => {
      const r = await git(['clone', templatesUrl(), 'denied'], { GIT_ASKPASS: '/bin/true' });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /fatal: Authentication failed for/);
      const prompts = await git(['clone', templatesUrl(), 'denied']);
      assert.match(prompts.stderr, /terminal prompts disabled/);
    });

    it('a read-only identity cannot push (TF401027); a contributor can', async () => {
      const src = path.join(scratch, 'push-src');
      assert.equal((await git([...bearer(UAMI_READER.key), 'clone', '--quiet', templatesUrl(), src])).code, 0);
      const denied = await git(['-C', src, ...bearer(UAMI_READER.key), 'push', 'origin', 'HEAD:refs/heads/topic']);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /remote: TF401027: You need the Git 'GenericContribute' permission/);
      const pushed = await git(['-C', src, ...bearer(UAMI_BUILD.key), 'push', 'origin', 'HEAD:refs/heads/topic']);
      assert.equal(pushed.code, 0, pushed.stderr);
      const bare = emu.world.organizations[1].projects[0].repos[0].bareDir;
      assert.equal((await runGit(['-C', bare, 'rev-parse', 'refs/heads/topic'])).code, 0);
    });

    it('serves git for any spelling of an organization (and of _git)', async () => {
      for (const [org, git_] of [['myorg', '_git'], ['MYORG', '_GIT']] as const) {
        const r = await git([...bearer(UAMI_BUILD.key), 'ls-remote', `${emu.devops.url}/${org}/platform/${git_}/SERVICE`, 'HEAD']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^[0-9a-f]{40}\tHEAD$/m);
      }
    });

    it('follows a submodule into another organization with the same token', async () => {
      const url = emu.devops.cloneUrl(CONTOSO.name, CONTOSO.project.name, CONTOSO.repo.name);
      const r = await git([...bearer(UAMI_BUILD.key), 'clone', '--quiet', '--recurse-submodules', url, 'app']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(fs.existsSync(path.join(scratch, 'app', 'templates', 'README.md')));
    });

    it('an unknown repository is "not found" with TF401019 shown by git', async () => {
      const url = emu.devops.cloneUrl(FABRIKAM.name, FABRIKAM.project.name, 'missing');
      const r = await git([...bearer(UAMI_BUILD.key), 'ls-remote', url]);
      assert.match(r.stderr, /remote: TF401019/);
      assert.match(r.stderr, /not found/);
    });
  });
});
