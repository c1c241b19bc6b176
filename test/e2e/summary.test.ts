/**
 * The run summary (`##vso[task.uploadsummary]`, src/agent/summary.ts) of every task and command, packaged,
 * through the agent-like runner: each step attaches exactly one Markdown file that says who the identity
 * is, what was done and the result, and holds no form of any token the job saw.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import MarkdownIt from 'markdown-it';
import type { JobResult, StepResult } from '../agent/runner';
import { identityByKey, matchRequest } from '../emulators';
import { harness, leakForms, taskDir, type Harness } from './support';
import { TROUBLESHOOTING_URL } from '../../src/core/errors';

/** Markdown a server or repository might put in a name or a message: links, an image, emphasis, code, HTML, a table cell, a reference definition. */
const HOSTILE_MARKDOWN = '[Approve the release](https://evil.example/approve) ![](https://evil.example/pixel.png) **urgent** _now_ ~~old~~ `rm -rf /` '
  + '<img src=x onerror=alert(1)> <https://evil.example/auto> &lt;b&gt; | extra | [ref]: https://evil.example/ref \\[escaped\\]';

/** The summary's table as a CommonMark renderer with GFM tables shows it: label -> the HTML of the value cell. */
function renderedRows(markdown: string): Map<string, string> {
  const html = new MarkdownIt().render(markdown);
  return new Map([...html.matchAll(/<tr>\s*<td>([\s\S]*?)<\/td>\s*<td>([\s\S]*?)<\/td>\s*<\/tr>/g)].map((m) => [m[1]!, m[2]!]));
}

/** The text of an HTML fragment that has no elements: entities decoded. */
function textOf(html: string): string {
  assert.doesNotMatch(html, /<[a-z]/i, `no element in ${html}`);
  return html.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const TEMPLATES = 'fabrikam/Shared Tools/templates';

/** The summary file a step attached, read while the job's temp folder is still there. */
function summaryOf(step: StepResult): string {
  assert.equal(step.summaries.length, 1, `${step.displayName} attaches one run summary (got ${step.summaries.length})`);
  const file = step.summaries[0]!;
  assert.ok(existsSync(file), `${file} exists`);
  return readFileSync(file, 'utf8');
}

/** Every form of every secret the job registered (the tokens of each step) that the summary must not hold. */
function assertNoSecret(summary: string, result: JobResult, where: string): void {
  const forms = result.secrets.filter((s) => s.length >= 16).flatMap(leakForms);
  assert.ok(result.secrets.some((s) => s.split('.').length === 3), 'a token was registered as a secret');
  assert.deepEqual(forms.filter((f) => summary.includes(f)), [], `the summary of ${where} holds no token`);
}

describe('Run summary of each task and command (packaged, through the agent-like runner)', function () {
  this.timeout(120_000);
  let h: Harness;
  let authenticate: string;
  let repository: string;
  before(async () => {
    [h, authenticate, repository] = await Promise.all([harness(), taskDir('ManagedIdentityAuthenticate'), taskDir('ManagedIdentityRepository')]);
  });
  after(() => h?.stop());

  it('authenticate and every repository command attach a summary with the identity, what was done and the result, and no token', async () => {
    const result = await h.run([
      { task: authenticate, name: 'auth', inputs: { organizations: 'contoso\nfabrikam' } },
      { task: repository, name: 'clone', inputs: { command: 'checkout', repository: TEMPLATES, path: 'templates' } },
      {
        script: 'set -e\ngit switch --quiet -c summary/change\necho change > change.txt\ngit add change.txt\n'
          + 'git -c user.name=Build -c user.email=build@example.invalid commit --quiet -m "A change"',
        workingDirectory: '$(clone.path)',
      },
      { task: repository, name: 'push', inputs: { command: 'push', sourceDirectory: '$(clone.path)', targetBranch: 'summary/change' } },
      { task: repository, name: 'tag', inputs: { command: 'tag', repository: TEMPLATES, tagName: 'summary-1', ref: 'summary/change', message: 'Summary' } },
      { task: repository, name: 'pr', inputs: { command: 'pullRequest', repository: TEMPLATES, sourceBranch: 'summary/change', title: 'A change' } },
      { task: repository, name: 'file', inputs: { command: 'readFile', repository: TEMPLATES, filePath: '/README.md' } },
      { task: repository, name: 'repos', inputs: { command: 'list', organization: 'fabrikam' } },
    ], { keepTempDirectory: true });
    assert.equal(result.result, 'Succeeded', result.log);

    const main = result.steps.filter((s) => s.phase === 'main' && s.refName !== 'CmdLine');
    const summaries = new Map(main.map((s) => [s.refName, summaryOf(s)]));
    assert.deepEqual([...summaries.keys()], ['auth', 'clone', 'push', 'tag', 'pr', 'file', 'repos']);
    for (const [name, summary] of summaries) {
      assert.match(summary, /^### Managed identity: (Azure DevOps token|repository)\n/, name);
      assert.match(summary, /\| Object id \| [0-9a-f-]{36} \|/, name);
      assert.match(summary, /\| Identity source \| IMDS \(/, name);
      assert.match(summary, /\| Token valid until \| \d{4}-\d\d-\d\dT/, name);
      assert.match(summary, /\| Result \| Succeeded \|\n$/, name);
      assertNoSecret(summary, result, name);
    }
    const variable = (name: string): string => result.variables.get(name)?.value ?? assert.fail(`no variable ${name}`);
    assert.match(summaries.get('auth')!, /\| Organizations \| contoso, fabrikam \|\n[\s\S]*\| Secret variable \| AzureDevOps\.AccessToken \|/);
    assert.match(summaries.get('clone')!, /\| Command \| checkout \|\n\| Repository \| fabrikam\/Shared Tools\/templates \|/);
    assert.ok(summaries.get('clone')!.includes(`| commit | ${variable('clone.commit')} |`));
    assert.ok(summaries.get('push')!.includes(`| commit | ${variable('push.commit')} |`));
    assert.ok(summaries.get('tag')!.includes(`| tagObjectId | ${variable('tag.tagObjectId')} |`));
    assert.ok(summaries.get('pr')!.includes(`| pullRequestId | ${variable('pr.pullRequestId')} |`));
    assert.match(summaries.get('file')!, /\| Command \| readFile \|[\s\S]*\| path \| .*README\.md \|/);
    assert.match(summaries.get('repos')!, /\| Organization \| fabrikam \|[\s\S]*\| count \| 2 \|/);
  });

  it('a failing step attaches its summary too, with the error', async () => {
    const read = await h.run([
      { task: repository, inputs: { command: 'readFile', repository: TEMPLATES, filePath: '/no/such/file.txt' } },
    ], { keepTempDirectory: true });
    assert.equal(read.result, 'Failed');
    const readSummary = summaryOf(read.steps[0]!);
    assert.match(readSummary, /\| Result \| Failed: The file '\/no\/such\/file\.txt' does not exist in /);
    assert.ok(readSummary.includes(`| Help | [Troubleshooting](${TROUBLESHOOTING_URL}) |`), 'a failure links to the Troubleshooting table');
    assertNoSecret(readSummary, read, 'a failed readFile');

    const outsider = await h.run([{ task: authenticate, inputs: { organizations: 'northwind' } }], { keepTempDirectory: true });
    assert.equal(outsider.result, 'Failed');
    const outsiderSummary = summaryOf(outsider.steps[0]!);
    assert.match(outsiderSummary, /\| Organizations \| northwind \|[\s\S]*\| Result \| Failed: Organization 'northwind' belongs to tenant /);
    assertNoSecret(outsiderSummary, outsider, 'a failed authenticate');
  });

  it('shows Markdown in server-reported names and messages as the text itself: no link, image, emphasis, code or HTML', async () => {
    const identity = identityByKey(h.emu.world, 'agent-vm');
    const displayName = identity.displayName;
    identity.displayName = `Build agent ${HOSTILE_MARKDOWN}`;
    h.emu.devops.faults.push({
      match: matchRequest({ method: 'GET', path: /\/_apis\/git\/repositories\/templates$/ }), status: 400,
      body: { $id: '1', innerException: null, message: `TF400898: ${HOSTILE_MARKDOWN}`, typeName: 'X, Y', typeKey: 'InvalidArgumentValueException', errorCode: 0, eventId: 3000 },
    });
    let result: JobResult;
    try {
      result = await h.run([
        { task: authenticate, inputs: { organizations: 'fabrikam' } },
        { task: repository, inputs: { command: 'readFile', repository: TEMPLATES, filePath: '/README.md' } },
      ], { keepTempDirectory: true });
    } finally {
      identity.displayName = displayName;
      h.emu.devops.faults.length = 0;
    }
    const [auth, read] = result.steps.filter((s) => s.phase === 'main');
    assert.deepEqual([auth!.result, read!.result], ['Succeeded', 'Failed'], result.log);

    const authRows = renderedRows(summaryOf(auth!));
    assert.equal(textOf(authRows.get('Identity') ?? assert.fail('no Identity row')), `Build agent ${HOSTILE_MARKDOWN}`);
    const readRows = renderedRows(summaryOf(read!));
    assert.equal(textOf(readRows.get('Result') ?? assert.fail('no Result row')), `Failed: ${read!.errors[0]}`);
    assert.match(read!.errors[0]!, /TF400898: \[Approve the release\]\(https:\/\/evil\.example\/approve\)/, 'the message reached the summary path');
    for (const rows of [authRows, readRows]) assert.equal(rows.size >= 5, true, 'every row is still one row of two cells');
  });
});
