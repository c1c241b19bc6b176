/**
 * Two agents on one machine under one user (the same HOME, different agent roots) run jobs at the same
 * time: each authenticates, configures git, checks out with persisted credentials and clones, and each
 * job's later git still works after the other job's post-job steps have ended its own session.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobResult, Step } from '../agent/runner';
import { FABRIKAM } from '../emulators';
import { harness, taskDir, type Harness } from './support';
import { findLeaks, observe } from './security-support';

describe('security: two jobs on one machine, same user, at the same time', function () {
  this.timeout(120_000);
  let h: Harness;
  let auth: string;
  let repo: string;
  let dir: string;

  before(async () => {
    [h, auth, repo] = await Promise.all([harness(), taskDir('ManagedIdentityAuthenticate'), taskDir('ManagedIdentityRepository')]);
    dir = mkdtempSync(join(tmpdir(), 'mi-two-agents-'));
  });
  after(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const waitFor = (condition: string): string => `for i in $(seq 1 400); do ${condition} && break; sleep 0.05; done; ${condition}`;

  for (const [first, second] of [['a', 'b'], ['b', 'a']] as const) {
    it(`job ${second}'s git keeps working after job ${first}'s post-job steps ended job ${first}'s session`, async () => {
      const round = mkdtempSync(join(dir, 'round-'));
      const home = join(round, 'home');
      const sync = join(round, 'sync');
      const roots = { a: join(round, 'agent-a'), b: join(round, 'agent-b') };
      for (const d of [home, sync, roots.a, roots.b]) mkdirSync(d, { recursive: true });
      const url = h.emu.devops.cloneUrl('fabrikam', FABRIKAM.project.name, FABRIKAM.templates.name).replace(/\/\/[^@/]+@/, '//');
      const steps = (me: 'a' | 'b', other: 'a' | 'b', last: boolean): Step[] => [
        { task: auth, inputs: { organizations: 'contoso\nfabrikam' } },
        { task: repo, inputs: { command: 'checkout', repository: `fabrikam/${FABRIKAM.project.name}/templates`, persistCredentials: 'true' } },
        // Both jobs are authenticated: clone at the same time.
        { script: `touch "${sync}/${me}-ready"; ${waitFor(`[ -e "${sync}/${other}-ready" ]`)} && git clone --quiet "${url}" "$AGENT_TEMPDIRECTORY/together"` },
        ...(last
          ? [{
            // The other job has run its post-job steps (its sessions are gone): our git still authenticates.
            script: `${waitFor(`[ -e "${sync}/${other}-ready" ] && [ -z "$(ls "${roots[other]}/_work/_temp" | grep '^miado-git-')" ]`)} && ` +
              `git clone --quiet "${url}" "$AGENT_TEMPDIRECTORY/after" && git -C "$PIPELINE_WORKSPACE/s/templates" fetch --quiet origin && echo still-authenticated`,
          } satisfies Step]
          : []),
      ];
      const observers = { a: observe(), b: observe() };
      const from = { devops: h.emu.devops.requests.length, identity: h.emu.identity.requests.length };
      const issued = h.emu.tokens.issued.length;
      try {
        const run = (me: 'a' | 'b', other: 'a' | 'b'): Promise<JobResult> => h.run(steps(me, other, me === second), {
          agentRoot: roots[me],
          env: { ...observers[me].env, HOME: home },
          ...(observers[me].nodePath ? { nodePath: observers[me].nodePath } : {}),
          ...(observers[me].node24Path ? { node24Path: observers[me].node24Path } : {}),
          keepTempDirectory: true,
        });
        const results = { a: undefined as unknown as JobResult, b: undefined as unknown as JobResult };
        [results.a, results.b] = await Promise.all([run('a', 'b'), run('b', 'a')]);

        for (const me of ['a', 'b'] as const) {
          assert.equal(results[me].result, 'Succeeded', results[me].log);
          assert.deepEqual(readdirSync(results[me].dirs.temp).filter((f) => f.startsWith('miado-git-')), [], `job ${me} left no session`);
        }
        assert.match(results[second].log, /still-authenticated/);
        // Each job's helper points at its own session file, inside its own agent's temp directory.
        const sessions = (r: JobResult): string[] => [...r.variables].filter(([n]) => n.startsWith('GIT_CONFIG_VALUE_'))
          .map(([, v]) => /'([^']*miado-git-[^']*\.json)'/.exec(v.value)?.[1]).filter((f): f is string => Boolean(f));
        const [sa, sb] = [sessions(results.a), sessions(results.b)];
        assert.ok(sa.length > 0 && sb.length > 0);
        assert.ok(sa.every((f) => f.startsWith(results.a.dirs.temp)) && sb.every((f) => f.startsWith(results.b.dirs.temp)));
        assert.deepEqual(sa.filter((f) => sb.includes(f)), []);
        // The shared HOME stays as it was: no global git config, nothing holding a token.
        assert.ok(!existsSync(join(home, '.gitconfig')), 'no global git config');
        const tokens = h.emu.tokens.issued.slice(issued).map((t) => t.token);
        for (const me of ['a', 'b'] as const) {
          assert.deepEqual(findLeaks({ h, result: results[me], tokens, observer: observers[me], requestsFrom: from, roots: [home] }), []);
        }
      } finally {
        observers.a.dispose();
        observers.b.dispose();
      }
    });
  }
});
