/**
 * Hostile input: text from repositories, git, servers and inputs cannot create or alter logging
 * commands; values shaped like options, paths outside the workspace or other hosts are refused before
 * any request is made or any git command runs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobResult, Step } from '../agent/runner';
import { FABRIKAM, createRepositories, isolatedGitEnv, matchRequest, pullRequests, runGit, type Repository } from '../emulators';
import { harness, taskDir, type Harness } from './support';
import { observe } from './security-support';

const PROJECT = FABRIKAM.project.name;
const HOSTILE = `fabrikam/${PROJECT}/hostile`;
const SET_X = '##vso[task.setvariable variable=X]evil';
const COMPLETE = '##vso[task.complete result=Succeeded]done';
const SET_X_OUTPUT = '##vso[task.setvariable variable=X;issecret=false;isoutput=true]evil';
const PREPEND = '##vso[task.prependpath]/tmp/evil';
/** Logging commands an attacker would like the agent to run, and the ways text can smuggle them onto a line of their own. */
const PAYLOADS = [SET_X, COMPLETE, SET_X_OUTPUT, PREPEND];
const CARRIERS = (p: string): string[] => [p, `x ${p}`, `\n${p}`, `\r${p}`, `%0A${p}`, `;]${p}`];
/**
 * The agent's formatting prefixes (ExecutionContext.cs WellKnownTags, JobExtension.cs and Logging.cs for groups):
 * at the start of a line the web console shows a forged error, warning, section or command line, and a group tag
 * anywhere in a line opens or closes a collapsible group. Text from outside must reach the log with none of them.
 */
const FORMATTING = ['##[error]', '##[warning]', '##[group]', '##[section]', '##[command]', '##[debug]', '##[endgroup]'];
const APPROVED = '##[error]Security review passed: no finding';
const FORMATTING_LINES = [APPROVED, '##[warning]Deploy to production approved', '##[group]Details', '##[section]Finishing: Build', '##[command]rm -rf /', '##[debug]x', '##[endgroup]'];
/** Several payloads on their own lines: what a hook or an error body would print. */
const MULTILINE = [SET_X, COMPLETE, `remote: ${SET_X_OUTPUT}`, PREPEND, ...FORMATTING_LINES].join('\n');

/** The variables our tasks set; anything else came from someone else's text. */
const OWN_VARIABLES = /^(AzureDevOps\.AccessToken(\.\w+)?|GIT_CONFIG_(COUNT|KEY_\d+|VALUE_\d+)|commit|path|count|tagObjectId|pullRequestId|pullRequestUrl|miado\.\w+)$/;

/**
 * Lines that carry `##vso[` anywhere but as the one command our code starts a line with. The agent reads
 * one command per line, so a marker inside a command's data is inert; still, only two commands may carry
 * one: task-lib's debug echo of an input, and a variable whose value is the user's own input (a path).
 */
function smuggledMarkers(raw: string): string[] {
  return raw.split(/\r\n|\n|\r/).filter((line) => {
    const at = line.indexOf('##vso[');
    if (at < 0) return false;
    if (at > 0) return true;
    return !/^##vso\[task\.(debug|setvariable) /.test(line.replace('##vso[task.debug]', '##vso[task.debug ')) && line.indexOf('##vso[', 1) >= 0;
  });
}

/**
 * Lines of a task's raw output that carry a formatting prefix. A task prints none itself: the agent adds the
 * tag when it handles task.issue or task.complete, so any `##[` in what the task wrote came from outside text.
 */
function formattedLines(raw: string): string[] {
  return raw.split(/\r\n|\n|\r/).filter((line) => line.includes('##['));
}

describe('security: hostile text cannot create or alter logging commands', function () {
  this.timeout(120_000);
  let h: Harness;
  let auth: string;
  let repo: string;
  let work: string;
  let hostile: Repository;
  const tried = new Set<string>();

  before(async () => {
    [h, auth, repo] = await Promise.all([harness(), taskDir('ManagedIdentityAuthenticate'), taskDir('ManagedIdentityRepository')]);
    work = mkdtempSync(join(tmpdir(), 'mi-hostile-'));
    // A repository whose commit message, file names and hook output carry logging commands.
    const project = h.emu.world.organizations.find((o) => o.name === 'fabrikam')!.projects.find((p) => p.name === PROJECT)!;
    const id = randomUUID();
    hostile = { id, name: 'hostile', defaultBranch: 'refs/heads/main', bareDir: join(h.emu.root, 'repos', 'fabrikam', `${id}.git`) };
    project.repos.push(hostile);
    // And ones whose very name, as the server reports it, is a logging command or a formatting prefix (REST only).
    project.repos.push({ id: randomUUID(), name: SET_X, defaultBranch: 'refs/heads/main', bareDir: '', restOnly: true });
    project.repos.push({ id: randomUUID(), name: APPROVED, defaultBranch: 'refs/heads/main', bareDir: '', restOnly: true });
    tried.add(SET_X).add(APPROVED);
    await createRepositories(h.emu.world, h.emu.devops.url);
    const env = isolatedGitEnv({ HOME: work, GIT_AUTHOR_NAME: 'A', GIT_AUTHOR_EMAIL: 'a@example.invalid', GIT_COMMITTER_NAME: 'A', GIT_COMMITTER_EMAIL: 'a@example.invalid' });
    const clone = join(work, 'clone');
    const git = async (args: string[], cwd = clone): Promise<void> => {
      const r = await runGit(args, { cwd, env });
      assert.equal(r.code, 0, r.stderr);
    };
    await git(['clone', '--quiet', hostile.bareDir, clone], work);
    writeFileSync(join(clone, `${SET_X_OUTPUT}.txt`), 'hostile file name\n');
    writeFileSync(join(clone, `${FORMATTING_LINES[3]}.txt`), 'hostile file name\n');
    await git(['add', '.']);
    await git(['commit', '--quiet', '-m', `${SET_X} ${FORMATTING.join(' ')}\n\n${COMPLETE}\n${FORMATTING_LINES.join('\n')}`]);
    await git(['push', '--quiet', 'origin', 'HEAD:refs/heads/main']);
    // A hook that answers every push with logging commands on `remote:` lines, then refuses it.
    writeFileSync(join(hostile.bareDir, 'hooks', 'update'), `#!/bin/sh\nprintf '%s\\n' ${MULTILINE.split('\n').map((l) => `'${l}'`).join(' ')} >&2\nexit 1\n`, { mode: 0o755 });
    PAYLOADS.forEach((p) => tried.add(p));
    FORMATTING_LINES.forEach((p) => tried.add(p));
  });
  after(async () => {
    await h?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`      injection strings tried: ${tried.size}`);
  });

  /** Runs a job and checks every step: its own result, one task.complete with that result, no foreign command. */
  async function expectUntouched(steps: Step[], expected: Array<'Succeeded' | 'Failed'>, variables: Record<string, string> = {}): Promise<JobResult> {
    const result = await h.run(steps, { variables: { 'System.Debug': 'true', ...variables } });
    const main = result.steps.filter((s) => s.phase === 'main');
    assert.deepEqual(main.map((s) => s.result), expected, result.log);
    main.forEach((step, i) => {
      const isTask = 'task' in steps[i]!;
      const completes = step.commands.filter((c) => `${c.area}.${c.event}`.toLowerCase() === 'task.complete');
      assert.deepEqual(completes.map((c) => c.properties['result']), isTask ? [expected[i]] : [], `${step.displayName}: one task.complete, ${expected[i]}`);
    });
    for (const step of result.steps) {
      assert.deepEqual(smuggledMarkers(step.raw), [], `${step.displayName}: a ##vso[ marker reached the output unneutralized`);
      if (step.refName !== 'CmdLine') assert.deepEqual(formattedLines(step.raw), [], `${step.displayName}: a ##[ formatting prefix reached the output`);
      for (const c of step.commands) {
        const name = `${c.area}.${c.event}`.toLowerCase();
        assert.notEqual(name, 'task.prependpath', `${step.displayName}: ${c.raw}`);
        if (name === 'task.setvariable' || name === 'task.settaskvariable') assert.match(c.properties['variable'] ?? '', OWN_VARIABLES, c.raw);
      }
    }
    assert.equal(result.variables.has('X'), false);
    assert.ok(![...result.variables.values()].some((v) => v.value === 'evil'));
    return result;
  }

  /** The payload did reach the output, defused: the test exercised the path it claims to. */
  function sawDefused(result: JobResult, payload = SET_X): void {
    const defused = payload.replace('##vso[', '##_vso[').replace('##[', '##_[');
    assert.ok(result.steps.some((s) => s.raw.includes(defused)), `the defused payload ${defused} is in the output\n${result.log}`);
  }

  describe('repository content and git output', () => {
    it('a commit message and a file name removed by clean: true, printed by git during checkout', async () => {
      const result = await expectUntouched([
        { task: repo, inputs: { command: 'checkout', repository: HOSTILE } },
        { script: `touch "$PIPELINE_WORKSPACE/s/hostile/${COMPLETE}" "$PIPELINE_WORKSPACE/s/hostile/${FORMATTING_LINES[1]}"` },
        { task: repo, inputs: { command: 'checkout', repository: HOSTILE, clean: 'true' } },
      ], ['Succeeded', 'Succeeded', 'Succeeded']);
      sawDefused(result);
      sawDefused(result, COMPLETE);
      sawDefused(result, FORMATTING_LINES[1]);
    });

    it('remote: lines of a server-side hook that refuses a push', async () => {
      const result = await expectUntouched([
        { task: repo, inputs: { command: 'checkout', repository: HOSTILE } },
        { script: 'cd "$PIPELINE_WORKSPACE/s/hostile" && echo x > x && git add x && git -c user.name=P -c user.email=p@example.invalid commit --quiet -m x' },
        { task: repo, inputs: { command: 'push', sourceDirectory: 's/hostile', targetBranch: 'feature/x' } },
      ], ['Succeeded', 'Succeeded', 'Failed']);
      sawDefused(result, PREPEND);
      sawDefused(result, APPROVED);
    });

    it('an HTTP error body git shows as remote: lines', async () => {
      h.emu.devops.faults.push({ match: matchRequest({ path: /\/_git\/hostile\/info\/refs$/ }), status: 403, body: `TF401027: ${MULTILINE}`, headers: { 'content-type': 'text/plain' } });
      const result = await expectUntouched([{ task: repo, inputs: { command: 'checkout', repository: HOSTILE } }], ['Failed']);
      sawDefused(result);
    });
  });

  describe('server answers', () => {
    const envelope = (message: string): object => ({ $id: '1', innerException: null, message, typeName: 'X, Y', typeKey: 'InvalidArgumentValueException', errorCode: 0, eventId: 3000 });

    it('Azure DevOps error messages carrying a command behind a newline, CR, %0A, ; and ], with each step still Failed', async () => {
      const carriers = CARRIERS(COMPLETE);
      for (const carrier of carriers) {
        tried.add(carrier);
        h.emu.devops.faults.push({ match: matchRequest({ method: 'GET', path: /\/_apis\/git\/repositories\/hostile$/ }), status: 400, body: envelope(`TF400898: ${carrier}\n${SET_X}`) });
      }
      const results = await Promise.all(carriers.map(() => expectUntouched([{ task: repo, inputs: { command: 'readFile', repository: HOSTILE, filePath: 'README.md' } }], ['Failed'])));
      results.forEach((result) => sawDefused(result, COMPLETE));
    });

    it('an error message from connectionData while authenticating', async () => {
      h.emu.devops.faults.push({ match: matchRequest({ path: /\/_apis\/connectionData$/ }), status: 403, body: envelope(`TF401027: ${MULTILINE}`) });
      const result = await expectUntouched([{ task: auth, inputs: {} }], ['Failed']);
      sawDefused(result);
    });

    it('an identity endpoint error description', async () => {
      h.emu.identity.faults.push({ status: 400, body: { error: 'invalid_request', error_description: `invalid_request ${MULTILINE}` } });
      const result = await expectUntouched([{ task: auth, inputs: {} }], ['Failed']);
      sawDefused(result);
    });

    it('repository names in a list', async () => {
      const result = await expectUntouched([{ task: repo, inputs: { command: 'list', organization: 'fabrikam', project: PROJECT } }], ['Succeeded']);
      sawDefused(result);
      sawDefused(result, APPROVED);
    });

    it('formatting prefixes (##[error], ##[group] …) in Azure DevOps and identity error messages, at the start of a line or within it', async () => {
      // Each message puts one prefix first (at the start, after a newline, within a line, after a CR) and every prefix on a line of its own after it.
      const carriers = [`${FORMATTING[0]}Approved`, `\n${FORMATTING[2]}Approved`, `x ${FORMATTING[3]}Approved`, `\r${FORMATTING[6]}Approved`];
      try {
        for (const carrier of carriers) {
          tried.add(carrier);
          h.emu.devops.faults.push({ match: matchRequest({ method: 'GET', path: /\/_apis\/git\/repositories\/hostile$/ }), status: 400, body: envelope(`TF400898: ${carrier}\n${FORMATTING_LINES.join('\n')}`) });
        }
        const results = await Promise.all(carriers.map(() => expectUntouched([{ task: repo, inputs: { command: 'readFile', repository: HOSTILE, filePath: 'README.md' } }], ['Failed'])));
        results.forEach((result) => FORMATTING_LINES.forEach((line) => sawDefused(result, line)));
        // The message quotes the first line of the endpoint's error_description (identity/transport.ts describeBody): the prefixes go there.
        h.emu.identity.faults.push({ status: 400, body: { error: 'invalid_request', error_description: `${APPROVED} ${FORMATTING.join(' x ')}\n${FORMATTING_LINES.join('\n')}` } });
        const identity = await expectUntouched([{ task: auth, inputs: {} }], ['Failed']);
        sawDefused(identity, APPROVED);
      } finally {
        h.emu.devops.faults.length = 0;
        h.emu.identity.faults.length = 0;
      }
    });
  });

  describe('input values', () => {
    it('a checkout path and a readFile path that hold logging commands', async () => {
      tried.add(`s/${SET_X}`);
      const result = await expectUntouched([
        { task: repo, inputs: { command: 'checkout', repository: HOSTILE, path: `s/${SET_X}` } },
        { task: repo, inputs: { command: 'readFile', repository: HOSTILE, filePath: `${SET_X}/x.txt` } },
      ], ['Succeeded', 'Failed']);
      sawDefused(result);
    });

    it('pull request title and description, tag message: sent verbatim, never printed as commands', async () => {
      const title = `${SET_X}%0A${COMPLETE};]`;
      const description = CARRIERS(SET_X_OUTPUT).join('\n');
      [title, ...CARRIERS(SET_X_OUTPUT)].forEach((t) => tried.add(t));
      await expectUntouched([
        { task: repo, inputs: { command: 'tag', repository: HOSTILE, tagName: 'hostile-1', ref: 'main', message: `${PREPEND}\n${SET_X}` } },
        { task: repo, inputs: { command: 'pullRequest', repository: `fabrikam/${PROJECT}/templates`, sourceBranch: 'release/1.0', targetBranch: 'main', title, description } },
      ], ['Succeeded', 'Succeeded']);
      const pr = pullRequests(h.emu.world, 'fabrikam', PROJECT, 'templates').at(-1)!;
      assert.equal(pr.title, title, 'the title reached Azure DevOps unchanged');
      assert.equal(pr.description, description);
    });

    const refused: Array<[what: string, inputs: Record<string, string>, error: RegExp]> = [
      ['a repository that is a logging command', { command: 'checkout', repository: `fabrikam/${PROJECT}/${SET_X}` }, /Input 'repository'/],
      ['organizations with a logging command on a line of its own', { organizations: `contoso\n${COMPLETE}` }, /Input 'organizations'/],
      ['a variableName that would add properties', { variableName: 'X;issecret=false]evil' }, /Input 'variableName'/],
      ['a variableName with %0A', { variableName: 'X%0A##vso[task.complete result=Succeeded]' }, /Input 'variableName'/],
      ['a tag name that is a logging command', { command: 'tag', repository: HOSTILE, tagName: SET_X }, /Input 'tagName'/],
    ];
    it('refuses inputs that hold logging commands, with an error that is no command', async () => {
      await Promise.all(refused.map(async ([what, inputs, message]) => {
        Object.values(inputs).forEach((v) => tried.add(v));
        const result = await expectUntouched([{ task: inputs['command'] ? repo : auth, inputs }], ['Failed']);
        assert.match(result.steps[0]!.errors.join('\n'), message, what);
      }));
    });
  });

  describe('values shaped as options, paths outside the workspace, other hosts', () => {
    // Breadth is in test/unit/input-properties.test.ts; here, through the packaged tasks, that nothing is asked or run first.
    const cases: Array<[input: string, values: string[], extra: Record<string, string>]> = [
      ['repository', [
        '--upload-pack=touch /tmp/pwned', 'https://dev.azure.com.evil.test/contoso/Web/_git/app', 'https://evil.test/dev.azure.com/contoso/Web/_git/app',
        'https://u:p@dev.azure.com/contoso/Web/_git/app', 'https://evil@dev.azure.com/contoso/Web/_git/app', 'https://dev.azure.com/contoso/Web/_git/app?x=1',
        'https://dev.azure.com/contoso/Web/_git/app#x', 'file:///etc/passwd', 'contoso/Web/../app', 'contoso/Web/a@b',
        'https://code.visualstudio.com/Web/_git/app', 'https://contoso.evil.visualstudio.com/Web/_git/app', 'https://x.y.dev.azure.com/contoso/Web/_git/app',
      ], { command: 'checkout' }],
      ['ref', ['--upload-pack=touch /tmp/pwned', 'refs/heads/../x', '@{-1}'], { command: 'checkout', repository: HOSTILE }],
      ['path', ['../outside', '/etc/evil'], { command: 'checkout', repository: HOSTILE }],
      ['fetchFilter', ['blob:none --upload-pack=x'], { command: 'checkout', repository: HOSTILE }],
      ['sparseCheckoutDirectories', ['--stdin', '../x'], { command: 'checkout', repository: HOSTILE }],
      ['organization', ['-contoso', 'https://evil.test/dev.azure.com'], { command: 'list' }],
      ['outputFile', ['/etc/evil.json'], { command: 'list', organization: 'fabrikam' }],
      ['filePath', ['../../etc/passwd'], { command: 'readFile', repository: HOSTILE }],
      ['destination', ['../../evil'], { command: 'readFile', repository: HOSTILE, filePath: 'README.md' }],
      ['sourceDirectory', ['/'], { command: 'push', targetBranch: 'x' }],
      ['sourceRef', ['--all'], { command: 'push', targetBranch: 'x' }],
      ['targetBranch', ['--delete', 'main:refs/heads/x'], { command: 'push' }],
      ['tagName', ['--delete'], { command: 'tag', repository: HOSTILE }],
      ['sourceBranch', ['--force'], { command: 'pullRequest', repository: HOSTILE }],
      ['organizations', ['https://dev.azure.com.evil.test/contoso', 'https://u@dev.azure.com/contoso', '--upload-pack=x', 'https://marketplace.visualstudio.com/', 'www'], {}],
      ['clientId', ['--x'], {}],
    ];
    const outcomes = new Map<string, JobResult>();
    let requests: string[] = [];
    let gitCalls: string[][] = [];

    before(async function () {
      this.timeout(120_000);
      const observer = observe(false);
      const from = { devops: h.emu.devops.requests.length, identity: h.emu.identity.requests.length };
      const jobs = cases.flatMap(([input, values, extra]) => values.map((value) => ({ input, value, inputs: { ...extra, [input]: value } })));
      try {
        for (let i = 0; i < jobs.length; i += 6) {
          await Promise.all(jobs.slice(i, i + 6).map(async (job) => {
            tried.add(job.value);
            const result = await h.run([{ task: 'command' in job.inputs ? repo : auth, inputs: job.inputs }], { env: observer.env });
            outcomes.set(`${job.input}=${job.value}`, result);
          }));
        }
        requests = [
          ...h.emu.devops.requests.slice(from.devops).map((r) => `${r.method} ${r.path}`),
          ...h.emu.identity.requests.slice(from.identity).map((r) => `identity ${r.path}`),
        ];
        gitCalls = observer.gitCalls();
      } finally {
        observer.dispose();
      }
    });

    it('made no request to Azure DevOps or the identity endpoint, and ran no git command', () => {
      assert.equal(outcomes.size, cases.reduce((n, [, values]) => n + values.length, 0));
      assert.deepEqual(requests, []);
      assert.deepEqual(gitCalls, []);
    });

    for (const [input, values] of cases) {
      it(`refused each hostile ${input} with one error naming the input (${values.map((v) => JSON.stringify(v)).join(', ')})`, () => {
        for (const value of values) {
          const step = outcomes.get(`${input}=${value}`)!.steps[0]!;
          assert.equal(step.result, 'Failed', value);
          assert.equal(step.errors.length, 1, step.errors.join('\n'));
          assert.match(step.errors[0]!, new RegExp(`^Input '${input}' `), value);
          assert.deepEqual(smuggledMarkers(step.raw), []);
        }
      });
    }
  });
});
