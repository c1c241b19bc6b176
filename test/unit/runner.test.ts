// The agent-like runner (test/agent) against tiny throwaway tasks written into temp folders.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import JSZip from 'jszip';
import { SecretMasker } from '../agent/masker';
import { globMatch } from '../agent/restrictions';
import { installVsix, parseCommand, runJob as runAgentJob, type JobOptions, type JobResult, type StepResult } from '../agent/runner';
import { LineSplitter } from '../agent/step-process';

interface FakeTask {
  name: string;
  main?: string;
  pre?: string;
  post?: string;
  extra?: Record<string, unknown>;
}

let root: string;
let counter = 0;

/** Write a task folder: task.json with Node20_1+Node24 handlers for each phase given, and its JS files. */
async function makeTask(task: FakeTask): Promise<string> {
  const dir = path.join(root, `${task.name}-${++counter}`);
  await mkdir(dir, { recursive: true });
  const json: Record<string, unknown> = {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    name: task.name,
    friendlyName: task.name,
    version: { Major: 1, Minor: 2, Patch: 3 },
    instanceNameFormat: task.name,
    ...task.extra,
  };
  for (const [phase, section] of [['main', 'execution'], ['pre', 'prejobexecution'], ['post', 'postjobexecution']] as const) {
    const code = task[phase];
    if (code === undefined) continue;
    await writeFile(path.join(dir, `${phase}.js`), code);
    json[section] = { Node20_1: { target: `${phase}.js` }, Node24: { target: `${phase}.js` } };
  }
  await writeFile(path.join(dir, 'task.json'), JSON.stringify(json, null, 2));
  return dir;
}

/** runJob with its agent root inside this suite's temp folder, so nothing is left behind. */
function runJob(options: JobOptions): Promise<JobResult> {
  return runAgentJob({ agentRoot: path.join(root, `agent-${++counter}`), ...options });
}

/** JS source that prints each line. */
function printing(...lines: string[]): string {
  return lines.map((line) => `console.log(${JSON.stringify(line)});`).join('\n');
}

function step(result: JobResult, displayName: string): StepResult {
  const found = result.steps.find((s) => s.displayName === displayName);
  assert.ok(found, `no step '${displayName}' in ${result.steps.map((s) => s.displayName).join(', ')}`);
  return found;
}

describe('agent-like runner', function () {
  this.timeout(20000);

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'runner-test-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe('logging-command syntax', () => {
    it('unescapes %3B %0D %0A %5D and then %AZP25 in properties and data; keys are case-insensitive', () => {
      const command = parseCommand('##vso[task.setvariable VARIABLE=a%3Bb%5Dc;issecret=%AZP253B]x%0Ay%0D%5D%AZP25');
      assert.ok(command);
      assert.equal(command.area, 'task');
      assert.equal(command.event, 'setvariable');
      assert.deepEqual(command.properties, { variable: 'a;b]c', issecret: '%3B' });
      assert.equal(command.data, 'x\ny\r]%');
    });

    it('finds the marker mid-line and rejects what the agent rejects', () => {
      assert.equal(parseCommand('noise ##vso[task.debug]hi')?.data, 'hi');
      assert.equal(parseCommand('##vso[task.debug hi'), undefined);
      assert.equal(parseCommand('##vso[taskdebug]hi'), undefined);
      assert.equal(parseCommand('##vso[a.b.c]hi'), undefined);
      assert.equal(parseCommand('plain line'), undefined);
    });

    it('splits lines on LF, CRLF and a lone CR, across chunk boundaries', () => {
      const splitter = new LineSplitter();
      assert.deepEqual(splitter.push('a\r'), ['a']);
      assert.deepEqual(splitter.push('\nb\rc'), ['b']);
      assert.deepEqual(splitter.push('d\n'), ['cd']);
      assert.deepEqual(splitter.push('tail'), []);
      assert.deepEqual(splitter.flush(), ['tail']);
    });

    it('matches settable-variable globs like minimatch, ignoring case', () => {
      assert.ok(globMatch('AzureDevOps.AccessToken', 'azuredevops.*'));
      assert.ok(globMatch('abc', '{x,a}b?'));
      assert.ok(!globMatch('.hidden', '*'));
      assert.ok(!globMatch('other', 'azuredevops.*'));
      assert.ok(globMatch('other', '!azuredevops.*'), 'a leading ! negates');
      assert.ok(!globMatch('#x', '#x'), 'a leading # is a comment');
      assert.ok(globMatch('Xbc', '[!a]bc') && !globMatch('abc', '[!a]bc'));
    });

    it('masks overlapping secrets as one ***', () => {
      const masker = new SecretMasker();
      masker.addValue('abcd');
      masker.addValue('cdef');
      assert.equal(masker.mask('xxabcdefyy abcd'), 'xx***yy ***');
    });
  });

  it('gives INPUT_ variables task.json defaults, trimmed values, expanded macros and True/False booleans', async () => {
    const task = await makeTask({
      name: 'Inputs',
      extra: {
        inputs: [
          { name: 'who', type: 'string', label: 'who', defaultValue: 'world' },
          { name: 'verify', type: 'boolean', label: 'verify', defaultValue: true },
          { name: 'given', type: 'string', label: 'given' },
          { name: 'fromVariable', type: 'string', label: 'fromVariable' },
          { name: 'file', type: 'filePath', label: 'file' },
        ],
      },
      main: 'for (const k of Object.keys(process.env).filter((k) => k.startsWith("INPUT_")).sort()) console.log(k + "=" + process.env[k]);',
    });
    const result = await runJob({
      steps: [{ task, inputs: { given: '  spaced  ', fromVariable: '$(Custom.Value)', file: 'sub/x.txt' } }],
      variables: { 'Custom.Value': 'from-a-variable' },
    });
    const main = step(result, 'Inputs');
    assert.equal(main.result, 'Succeeded');
    assert.equal(main.env['INPUT_WHO'], 'world');
    assert.equal(main.env['INPUT_VERIFY'], 'True');
    assert.equal(main.env['INPUT_GIVEN'], 'spaced');
    assert.equal(main.env['INPUT_FROMVARIABLE'], 'from-a-variable');
    assert.equal(main.env['INPUT_FILE'], path.join(result.dirs.sources, 'sub/x.txt'));
    assert.ok(main.log.includes('INPUT_WHO=world'), main.log.join('\n'));
    assert.deepEqual(main.argv.slice(-1), [path.join(task, 'main.js')]);
  });

  it('gives a task the agent environment from a minimal base, never the test process env', async () => {
    process.env['RUNNER_TEST_LEAK'] = 'must-not-reach-the-task';
    try {
      const task = await makeTask({ name: 'Env', main: printing('ok') });
      const result = await runJob({ steps: [{ task }], env: { EMULATOR_URL: 'http://127.0.0.1:1' }, variables: { 'System.CollectionUri': 'https://dev.azure.com/org/' } });
      const env = step(result, 'Env').env;
      assert.equal(env['RUNNER_TEST_LEAK'], undefined);
      assert.equal(env['EMULATOR_URL'], 'http://127.0.0.1:1');
      assert.equal(env['HOME'], result.dirs.home);
      assert.equal(env['SYSTEM_COLLECTIONURI'], 'https://dev.azure.com/org/');
      assert.equal(env['ENDPOINT_URL_SYSTEMVSSCONNECTION'], 'https://dev.azure.com/org/');
      assert.equal(env['AGENT_TEMPDIRECTORY'], result.dirs.temp);
      assert.equal(env['SYSTEM_DEFAULTWORKINGDIRECTORY'], result.dirs.sources);
      assert.equal(env['TF_BUILD'], 'True');
      assert.ok(JSON.parse(env['VSTS_PUBLIC_VARIABLES'] ?? '[]').includes('System.CollectionUri'));
      assert.ok(result.secrets.includes(env['ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN'] ?? ''));
    } finally {
      delete process.env['RUNNER_TEST_LEAK'];
    }
  });

  it('processes a command found mid-line, and warns about a malformed one but still shows it', async () => {
    const task = await makeTask({
      name: 'Commands',
      main: printing('prefix ##vso[task.setvariable variable=mid]middle%3Bvalue', '##vso[task.setvariable variable=broken', 'visible'),
    });
    const result = await runJob({ steps: [{ task }] });
    const main = step(result, 'Commands');
    assert.equal(result.variables.get('mid')?.value, 'middle;value');
    assert.ok(!main.log.some((line) => line.includes('prefix')), 'a processed command is not logged');
    assert.ok(main.log.includes('##vso[task.setvariable variable=broken'));
    assert.match(main.warnings[0] ?? '', /contains logging command keyword '##vso', but it's not a legal command/);
    assert.ok(main.log.includes('visible'));
  });

  it('masks secrets and their JSON/URI forms; base64 only for secrets known at job start', async () => {
    const jobSecret = 'job"secret/one two';
    const runtimeSecret = 'run"time/two three';
    const task = await makeTask({
      name: 'Masking',
      main: [
        'const b64 = (s) => Buffer.from(s).toString("base64");',
        `const job = ${JSON.stringify(jobSecret)}, run = ${JSON.stringify(runtimeSecret)};`,
        'console.log("##vso[task.setsecret]" + run);',
        'console.log("plain " + job + " | " + run);',
        'console.log("json " + JSON.stringify(job) + " | " + JSON.stringify(run));',
        'console.log("uri " + encodeURIComponent(job) + " | " + encodeURIComponent(run));',
        'console.log("base64 " + b64(job) + " | " + b64(run));',
        'console.log("token " + process.env.ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN);',
        'console.log("url https://user:pw123@example.com/x");',
      ].join('\n'),
    });
    const result = await runJob({ steps: [{ task }], variables: { JobSecret: { value: jobSecret, secret: true } } });
    const log = step(result, 'Masking').log;
    assert.ok(log.includes('plain *** | ***'), log.join('\n'));
    assert.ok(log.includes('json "***" | "***"'), log.join('\n'));
    assert.ok(log.includes('uri *** | ***'), log.join('\n'));
    assert.ok(log.includes(`base64 *** | ${Buffer.from(runtimeSecret).toString('base64')}`), log.join('\n'));
    assert.ok(log.includes('token ***'), log.join('\n'));
    assert.ok(log.includes('url https://user:***@example.com/x'), log.join('\n'));
    assert.ok(step(result, 'Masking').raw.includes(`plain ${jobSecret} | ${runtimeSecret}`));
    assert.ok(!result.log.includes(jobSecret) && !result.log.includes(runtimeSecret));
  });

  it('exports a set variable to later steps; a secret reaches a script only through an env: mapping', async () => {
    const task = await makeTask({
      name: 'Setter',
      main: printing('##vso[task.setvariable variable=plainVar]hello', '##vso[task.setvariable variable=secretVar;issecret=true]s3cr3t'),
    });
    const reader = await makeTask({ name: 'Reader', main: printing('reader') });
    const result = await runJob({
      steps: [
        { task },
        { script: 'echo "plain=$PLAINVAR secret=[$SECRETVAR] mapped=$MAPPED"', env: { MAPPED: '$(secretVar)' } },
        { task: reader },
      ],
    });
    const script = step(result, 'CmdLine');
    assert.equal(script.result, 'Succeeded');
    assert.ok(script.log.includes('plain=hello secret=[] mapped=***'), script.log.join('\n'));
    assert.ok(script.raw.includes('mapped=s3cr3t'));
    assert.equal(script.env['SECRET_SECRETVAR'], undefined);
    assert.equal(script.env['INPUT_SCRIPT'], undefined);
    assert.equal(step(result, 'Reader').env['SECRET_SECRETVAR'], 's3cr3t');
    assert.deepEqual(JSON.parse(step(result, 'Reader').env['VSTS_SECRET_VARIABLES'] ?? ''), ['secretVar']);
    assert.equal(result.variables.get('secretVar')?.secret, true);
  });

  it('expands $(macros) in a script and its workingDirectory, as the agent expands CmdLine inputs', async () => {
    const task = await makeTask({ name: 'Out', main: printing('##vso[task.setvariable variable=dir;isoutput=true]sub dir') });
    const result = await runJob({
      steps: [
        { task, name: 'made' },
        { script: 'mkdir -p "$(made.dir)"', displayName: 'Make' },
        { script: 'echo "build=$(Build.BuildNumber) cwd=$(pwd)" \'unknown=$(No.Such)\'', workingDirectory: '$(made.dir)', displayName: 'Use' },
        { script: 'echo never', workingDirectory: 'missing', displayName: 'Missing' },
      ],
      variables: { 'Build.BuildNumber': '42.1' },
    });
    const use = step(result, 'Use');
    assert.equal(use.result, 'Succeeded', use.log.join('\n'));
    assert.ok(use.raw.includes(`build=42.1 cwd=${path.join(result.dirs.sources, 'sub dir')} unknown=$(No.Such)`), use.raw);
    const missing = step(result, 'Missing');
    assert.equal(missing.result, 'Failed');
    assert.match(missing.errors.join('\n'), /Not found workingDirectory: .*missing/);
  });

  it('stores output variables only as <step name>.<variable>', async () => {
    const task = await makeTask({
      name: 'Producer',
      extra: { outputVariables: [{ name: 'declared' }] },
      main: printing('##vso[task.setvariable variable=out;isoutput=true]one', '##vso[task.setvariable variable=declared]two'),
    });
    const result = await runJob({ steps: [{ task, name: 'producer' }, { script: 'echo "out=$PRODUCER_OUT declared=$PRODUCER_DECLARED"' }] });
    assert.equal(result.variables.get('producer.out')?.value, 'one');
    assert.equal(result.variables.get('producer.out')?.readOnly, true);
    assert.equal(result.variables.get('producer.declared')?.value, 'two');
    assert.equal(result.variables.has('out') || result.variables.has('declared'), false);
    assert.ok(step(result, 'CmdLine').log.includes('out=one declared=two'));
  });

  it('enforces task.json restrictions: restricted commands and settable variables', async () => {
    const task = await makeTask({
      name: 'Restricted',
      extra: { restrictions: { commands: { mode: 'restricted' }, settableVariables: { allowed: ['allowed.*'] } } },
      main: printing(
        '##vso[task.setvariable variable=Allowed.One]yes',
        '##vso[task.setvariable variable=blocked]no',
        '##vso[task.prependpath]/opt/evil',
        '##vso[build.addbuildtag]tag',
      ),
    });
    const result = await runJob({ steps: [{ task }, { script: 'echo "path=$PATH"' }] });
    const main = step(result, 'Restricted');
    assert.equal(result.variables.get('Allowed.One')?.value, 'yes');
    assert.equal(result.variables.has('blocked'), false);
    assert.deepEqual(main.warnings, [
      "Setting variable 'blocked' has been disabled by the task or build definition.",
      "Setting variable 'PATH' has been disabled by the task or build definition.",
      '##vso[build.addbuildtag] is not allowed in this step due to policy restrictions. Please reference documentation (http://go.microsoft.com/fwlink/?LinkId=817296)',
    ]);
    assert.ok(!step(result, 'CmdLine').env['PATH']?.includes('/opt/evil'));
    assert.equal(main.result, 'Succeeded');
  });

  it('merges task.complete results pessimistically and fails on a non-zero exit or an invalid result', async () => {
    const issues = await makeTask({
      name: 'Issues',
      main: printing('##vso[task.complete result=SucceededWithIssues]', '##vso[task.logissue type=warning]careful', '##vso[task.complete result=Succeeded]'),
    });
    const taskLibSpelling = await makeTask({ name: 'Spelling', main: printing('##vso[task.complete result=Cancelled]') });
    const exit = await makeTask({ name: 'Exit', main: 'console.log("##vso[task.complete result=Succeeded]"); process.exit(3);' });
    const result = await runJob({ steps: [{ task: issues }, { task: taskLibSpelling }, { task: exit }] });
    assert.equal(step(result, 'Issues').result, 'SucceededWithIssues');
    assert.ok(step(result, 'Issues').log.includes('##[warning]careful'));
    assert.equal(step(result, 'Spelling').result, 'Failed');
    assert.deepEqual(step(result, 'Spelling').errors.slice(-1), ["Command doesn't have valid result value."]);
    assert.equal(step(result, 'Exit').result, 'Skipped');
    const alone = await runJob({ steps: [{ task: exit }] });
    assert.equal(step(alone, 'Exit').result, 'Failed');
    assert.match(step(alone, 'Exit').errors[0] ?? '', /^Exit code 3 returned from process: file name '.*', arguments '".*main\.js"'\.$/);
  });

  it('keeps task variables per task instance and hands them to its post-job step', async () => {
    const task = await makeTask({
      name: 'Stateful',
      main: printing('##vso[task.settaskvariable variable=state]abc', '##vso[task.settaskvariable variable=hidden;issecret=true]tv-secret'),
      post: 'console.log("post state=" + process.env.VSTS_TASKVARIABLE_STATE + " hidden=" + process.env.VSTS_TASKVARIABLE_HIDDEN);',
    });
    const other = await makeTask({ name: 'Other', main: 'console.log("other state=" + process.env.VSTS_TASKVARIABLE_STATE);' });
    const result = await runJob({ steps: [{ task }, { task: other }] });
    assert.ok(step(result, 'Post-job: Stateful').log.includes('post state=abc hidden=***'));
    assert.ok(step(result, 'Other').log.includes('other state=undefined'));
    assert.equal(result.variables.has('state'), false);
  });

  it('runs pre-job steps first and post-job steps in reverse order, even after a failure', async () => {
    const first = await makeTask({ name: 'First', pre: printing('pre first'), main: printing('main first'), post: printing('post first') });
    const failing = await makeTask({ name: 'Failing', main: 'process.exit(1);', post: printing('post failing') });
    const last = await makeTask({ name: 'Last', main: printing('main last'), post: printing('post last') });
    const result = await runJob({ steps: [{ task: first }, { task: failing }, { task: last }] });
    assert.deepEqual(
      result.steps.map((s) => `${s.displayName}:${s.result}`),
      [
        'Pre-job: First:Succeeded',
        'First:Succeeded',
        'Failing:Failed',
        'Last:Skipped',
        'Post-job: Last:Succeeded',
        'Post-job: Failing:Succeeded',
        'Post-job: First:Succeeded',
      ],
    );
    assert.equal(result.result, 'Failed');
  });

  it('cancels a step with SIGINT, skips the rest and still runs post-job steps', async () => {
    const slow = await makeTask({
      name: 'Slow',
      main: 'console.log("started"); setInterval(() => undefined, 1000);',
      post: printing('cleaned up'),
    });
    const started = Date.now();
    const result = await runJob({ steps: [{ task: slow, cancelAfterMs: 800 }, { script: 'echo never' }] });
    const main = step(result, 'Slow');
    assert.equal(main.result, 'Cancelled');
    assert.equal(main.signal, 'SIGINT');
    assert.ok(main.log.includes('started'));
    assert.equal(step(result, 'CmdLine').result, 'Skipped');
    assert.ok(step(result, 'Post-job: Slow').log.includes('cleaned up'));
    assert.equal(result.result, 'Cancelled');
    assert.ok(Date.now() - started < 5000);
  });

  it('times out a step that ignores SIGINT and SIGTERM by killing it', async () => {
    const stubborn = await makeTask({
      name: 'Stubborn',
      main: 'for (const s of ["SIGINT", "SIGTERM"]) process.on(s, () => console.log("ignored " + s)); console.log("up"); setInterval(() => undefined, 1000);',
    });
    const result = await runJob({
      steps: [{ task: stubborn }],
      // Long enough for the task to install its handlers first on a busy machine (npm test runs two suites at once).
      stepTimeoutMs: 4000,
      variables: { PROCESS_SIGINT_TIMEOUT: '150', PROCESS_SIGTERM_TIMEOUT: '150' },
    });
    const main = step(result, 'Stubborn');
    assert.equal(main.result, 'Failed');
    assert.equal(main.signal, 'SIGKILL');
    assert.deepEqual(main.log.filter((line) => line.startsWith('ignored')), ['ignored SIGINT', 'ignored SIGTERM']);
    assert.deepEqual(main.errors, ['The task has timed out.']);
  });

  it('refuses a multi-line secret and a read-only overwrite, failing the step as the agent does', async () => {
    const task = await makeTask({
      name: 'Refused',
      main: printing(
        '##vso[task.setvariable variable=multi;issecret=true]line1%0Aline2',
        '##vso[task.setvariable variable=locked;isreadonly=true]first',
        '##vso[task.setvariable variable=locked]second',
      ),
    });
    const result = await runJob({ steps: [{ task }], variables: { 'agent.readOnlyVariables': 'true' } });
    const main = step(result, 'Refused');
    assert.equal(main.result, 'Failed');
    assert.equal(result.variables.has('multi'), false);
    assert.equal(result.variables.get('locked')?.value, 'first');
    assert.ok(main.errors.includes('Secrets cannot contain multiple lines'));
    assert.ok(main.errors.some((error) => error.startsWith("Overwriting readonly variable 'locked' is not permitted.")));
  });

  it('like agent 4.266.2, only warns about a read-only overwrite when the server sends no agent.readOnlyVariables', async () => {
    const task = await makeTask({
      name: 'Overwrite',
      main: printing(
        '##vso[task.setvariable variable=locked;isreadonly=true]first',
        '##vso[task.setvariable variable=locked]second',
        '##vso[task.setvariable variable=Agent.TempDirectory]/elsewhere',
      ),
    });
    // The agent reads the flag from the job's variables only, not from its own environment.
    const result = await runJob({ steps: [{ task }], env: { 'agent.readOnlyVariables': 'true', AGENT_READONLYVARIABLES: 'true' } });
    const main = step(result, 'Overwrite');
    assert.equal(main.result, 'Succeeded', main.log.join('\n'));
    assert.equal(result.variables.get('locked')?.value, 'second');
    assert.equal(result.variables.get('Agent.TempDirectory')?.value, '/elsewhere');
    assert.equal(result.variables.has('agent.readOnlyVariables'), false);
    assert.deepEqual(main.warnings, [
      "Overwriting readonly variable 'locked'. This behavior will be disabled in the future. See https://github.com/microsoft/azure-pipelines-yaml/blob/master/design/readonly-variables.md for details.",
      "Overwriting readonly variable 'Agent.TempDirectory'. This behavior will be disabled in the future. See https://github.com/microsoft/azure-pipelines-yaml/blob/master/design/readonly-variables.md for details.",
    ]);
  });

  it('orders the task environment like the claimed agent: variables override INPUT_/ENDPOINT_ names before 5.277.0, not since', async () => {
    const task = await makeTask({
      name: 'Shadowed',
      extra: { inputs: [{ name: 'command', type: 'string', label: 'command', defaultValue: 'readFile' }, { name: 'unset', type: 'string', label: 'unset' }] },
      main: 'for (const k of ["INPUT_COMMAND", "INPUT_UNSET", "ENDPOINT_URL_SYSTEMVSSCONNECTION", "VSTS_TASKVARIABLE_STATE", "AGENT_VERSION"]) console.log(k + "=" + process.env[k]);',
    });
    const variables = {
      'input.command': 'push', INPUT_UNSET: 'from-a-variable', 'endpoint.url.SystemVssConnection': 'https://evil.example/', 'VSTS_TASKVARIABLE_STATE': 'forged',
    };
    const old = step(await runJob({ steps: [{ task }], variables }), 'Shadowed');
    assert.deepEqual(old.log.filter((l) => l.includes('=') && !l.startsWith('=')), [
      'INPUT_COMMAND=push', 'INPUT_UNSET=from-a-variable', 'ENDPOINT_URL_SYSTEMVSSCONNECTION=https://evil.example/', 'VSTS_TASKVARIABLE_STATE=forged', 'AGENT_VERSION=4.266.2',
    ]);
    const current = step(await runJob({ steps: [{ task }], variables, agentVersion: '5.277.0' }), 'Shadowed');
    assert.deepEqual(current.log.filter((l) => l.includes('=') && !l.startsWith('=')), [
      'INPUT_COMMAND=readFile', 'INPUT_UNSET=', 'ENDPOINT_URL_SYSTEMVSSCONNECTION=https://dev.azure.com/contoso/',
      // A task variable the task never set is still the variable's, on every version.
      'VSTS_TASKVARIABLE_STATE=forged', 'AGENT_VERSION=5.277.0',
    ]);
  });

  describe('Node 24 (NodeHandler.GetNodeLocation at 4.266.2)', () => {
    const whichNode = 'console.log("node=" + (process.env.FAKE_NODE || "20"));';
    let node24: string;
    before(async () => {
      node24 = path.join(root, 'node24');
      await writeFile(node24, `#!/bin/sh\nFAKE_NODE=24 exec ${JSON.stringify(process.execPath)} "$@"\n`, { mode: 0o755 });
    });
    const ran = (result: JobResult, name: string): string | undefined => step(result, name).log.find((l) => l.startsWith('node='));

    it('runs a Node24 entry with node20_1 unless AGENT_USE_NODE24_WITH_HANDLER_DATA is on (variable or agent environment)', async () => {
      const task = await makeTask({ name: 'Both', main: whichNode });
      assert.equal(ran(await runJob({ steps: [{ task }], node24Path: node24 }), 'Both'), 'node=20');
      assert.equal(ran(await runJob({ steps: [{ task }], node24Path: node24, variables: { AGENT_USE_NODE24_WITH_HANDLER_DATA: 'true' } }), 'Both'), 'node=24');
      assert.equal(ran(await runJob({ steps: [{ task }], node24Path: node24, env: { AGENT_USE_NODE24_WITH_HANDLER_DATA: '1' } }), 'Both'), 'node=24');
      const only20 = await makeTask({ name: 'Only20', main: whichNode });
      const json = JSON.parse(await readFile(path.join(only20, 'task.json'), 'utf8')) as Record<string, unknown>;
      json['execution'] = { Node20_1: { target: 'main.js' } };
      await writeFile(path.join(only20, 'task.json'), JSON.stringify(json));
      assert.equal(ran(await runJob({ steps: [{ task: only20 }], node24Path: node24, env: { AGENT_USE_NODE24_WITH_HANDLER_DATA: 'true' } }), 'Only20'), 'node=20');
      // AGENT_USE_NODE24 moves every Node task to node24.
      assert.equal(ran(await runJob({ steps: [{ task: only20 }], node24Path: node24, env: { AGENT_USE_NODE24: 'true' } }), 'Only20'), 'node=24');
    });

    /** Runs `work` with $AGENT_RUNNER_NODE24 set to `value` (or unset), restoring it after: npm test's Node 24 suite sets it. */
    async function withRunnerNode24<T>(value: string | undefined, work: () => Promise<T>): Promise<T> {
      const previous = process.env['AGENT_RUNNER_NODE24'];
      if (value === undefined) delete process.env['AGENT_RUNNER_NODE24'];
      else process.env['AGENT_RUNNER_NODE24'] = value;
      try {
        return await work();
      } finally {
        if (previous === undefined) delete process.env['AGENT_RUNNER_NODE24'];
        else process.env['AGENT_RUNNER_NODE24'] = previous;
      }
    }

    it('fails the step as the agent does when the chosen Node is missing', async () => {
      const task = await makeTask({ name: 'NoNode24', main: whichNode });
      const result = await withRunnerNode24(undefined, () => runJob({ steps: [{ task }], env: { AGENT_USE_NODE24: 'true' } }));
      assert.equal(step(result, 'NoNode24').result, 'Failed');
      assert.deepEqual(step(result, 'NoNode24').errors, [
        `This step requires a node version that does not exist in the agent filesystem. Path: ${path.join(result.dirs.agentRoot, 'externals', 'node24', 'bin', 'node')}`,
      ]);
    });

    it('takes the agent\'s Node 24 from $AGENT_RUNNER_NODE24, with AGENT_USE_NODE24_WITH_HANDLER_DATA on', async () => {
      const task = await makeTask({ name: 'FromEnv', main: whichNode });
      await withRunnerNode24(node24, async () => {
        const result = await runJob({ steps: [{ task }] });
        assert.equal(ran(result, 'FromEnv'), 'node=24');
        assert.equal(step(result, 'FromEnv').env['AGENT_USE_NODE24_WITH_HANDLER_DATA'], 'true');
        const off = await runJob({ steps: [{ task }], env: { AGENT_USE_NODE24_WITH_HANDLER_DATA: 'false' } });
        assert.equal(ran(off, 'FromEnv'), 'node=20');
      });
    });
  });

  it('fails a step whose task has no Node20_1/Node24 handler, with a clear message', async () => {
    const dir = await makeTask({ name: 'Legacy', main: printing('x') });
    const json = JSON.parse(await readFile(path.join(dir, 'task.json'), 'utf8')) as Record<string, unknown>;
    json['execution'] = { Node16: { target: 'main.js' } };
    await writeFile(path.join(dir, 'task.json'), JSON.stringify(json));
    const result = await runJob({ steps: [{ task: dir }] });
    assert.equal(step(result, 'Legacy').result, 'Failed');
    assert.match(step(result, 'Legacy').errors[0] ?? '', /only runs Node20_1 and Node24 handlers.*Node16/);
  });

  it('measures peak RSS with a preload when asked', async () => {
    const task = await makeTask({ name: 'Rss', main: printing('hi') });
    const result = await runJob({ steps: [{ task }], measureRss: true });
    assert.ok((step(result, 'Rss').peakRssKiB ?? 0) > 1000);
    assert.equal(step(result, 'Rss').log.includes('hi'), true);
  });

  it('installs the tasks of a .vsix at _tasks/<Name>_<id>/<version> and runs them from there', async () => {
    const zip = new JSZip();
    const taskJson = { id: '11111111-2222-4333-8444-555555555555', name: 'Packaged', version: { Major: 2, Minor: 0, Patch: 7 }, execution: { Node20_1: { target: 'dist/main.js' } } };
    zip.file('extension.vsomanifest', JSON.stringify({ contributions: [{ type: 'ms.vss-distributed-task.task', properties: { name: 'tasks/PackagedV2' } }] }));
    zip.file('tasks/PackagedV2/task.json', JSON.stringify(taskJson));
    zip.file('tasks/PackagedV2/dist/main.js', 'console.log("packaged " + __dirname);', { unixPermissions: 0o100755 });
    zip.file('tasks/PackagedV2/node_modules/dep/task.json', JSON.stringify({ ...taskJson, name: 'Nested' }));
    zip.file('tasks/NotContributed/task.json', JSON.stringify({ ...taskJson, name: 'Stray' }));
    const vsix = path.join(root, 'x.vsix');
    await writeFile(vsix, await zip.generateAsync({ type: 'nodebuffer', platform: 'UNIX' }));

    const agentRoot = path.join(root, 'agent');
    const installed = await installVsix(vsix, path.join(agentRoot, '_work', '_tasks'));
    const expected = path.join(agentRoot, '_work', '_tasks', 'Packaged_11111111-2222-4333-8444-555555555555', '2.0.7');
    assert.deepEqual([...installed.keys()].sort(), ['Packaged', 'Packaged@2']);
    assert.equal(installed.get('Packaged'), expected);
    assert.ok(existsSync(`${expected}.completed`));
    assert.equal((await stat(path.join(expected, 'dist', 'main.js'))).mode & 0o777, 0o755);

    const result = await runJob({ steps: [{ task: expected }], agentRoot });
    assert.ok(step(result, 'Packaged').log.includes(`packaged ${path.join(expected, 'dist')}`));
  });
});
