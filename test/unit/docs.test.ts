// overview.md against the code: generated tables equal task.json, every message the tasks emit has a
// Troubleshooting row (scripts/docs.ts), and the matcher behind that rule.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { InputError, TROUBLESHOOTING_URL } from '../../src/core/errors';
import {
  ANY, covers, emittedMessages, generate, inputsTable, matchedLiterals, messagesIn, outputsTable, problems, readTaskJson,
  regionsIn, rowPattern, showPattern, troubleshootingRows, undocumented, type Pattern,
} from '../../scripts/docs';

const TASKS = ['ManagedIdentityAuthenticate', 'ManagedIdentityRepository'] as const;

describe('overview.md', () => {
  const overview = readFileSync('overview.md', 'utf8');
  const messages = emittedMessages('src');
  const rows = troubleshootingRows(overview);

  it('has the generated input tables of both tasks and the output table of the repository task, as task.json says', () => {
    assert.deepEqual(regionsIn(overview).sort(), ['inputs:ManagedIdentityAuthenticate', 'inputs:ManagedIdentityRepository', 'outputs:ManagedIdentityRepository']);
    const generated = generate(overview, (name) => readTaskJson(name));
    assert.ok(generated === overview, 'overview.md differs from what `npm run docs` writes: run it and commit the result');
  });

  it('lists every input and output of task.json, with its default and commands', () => {
    for (const name of TASKS) {
      const task = readTaskJson(name);
      const table = inputsTable(task);
      for (const input of task.inputs ?? []) assert.match(table, new RegExp(`^\\| \`${input.name}\` \\|`, 'm'), `${name}: ${input.name}`);
      for (const output of task.outputVariables ?? []) assert.match(outputsTable(task), new RegExp(`^\\| \`${output.name}\` \\|`, 'm'));
    }
    const repository = inputsTable(readTaskJson('ManagedIdentityRepository'));
    assert.match(repository, /^\| `fetchDepth` \| `checkout` \| `0` \| /m);
    assert.match(repository, /^\| `targetBranch` \| `push`, `pullRequest` \| {2}\| /m);
    assert.match(repository, /^\| `command` \| all \| `checkout` \(required\) \| /m);
    assert.match(repository, /^\| `clientId` \| all \| /m);
    assert.match(inputsTable(readTaskJson('ManagedIdentityAuthenticate')), /^\| `variableName` \| `AzureDevOps\.AccessToken` \| Secret variable/m);
  });

  it('has a Troubleshooting row, with a cause and a fix, for every error and warning the tasks emit', () => {
    assert.ok(rows.length >= 30, `only ${rows.length} rows`);
    for (const row of rows) assert.ok(row.cause && row.fix, `the row "${row.message}" needs a cause and a fix`);
    const missing = undocumented(messages, rows).map((m) => `${m.where}: ${showPattern(m.pattern)}`);
    assert.deepEqual(missing, [], 'messages without a row in the Troubleshooting table of overview.md (see scripts/docs.ts)');
    assert.deepEqual(problems(overview, messages, (name) => readTaskJson(name)), []);
  });

  it('is where the link printed after every error points: this extension\'s page, at its Troubleshooting heading', () => {
    const manifest = JSON.parse(readFileSync('vss-extension.json', 'utf8')) as { publisher: string; id: string };
    const url = new URL(TROUBLESHOOTING_URL);
    assert.equal(url.searchParams.get('itemName'), `${manifest.publisher}.${manifest.id}`);
    const slugs = [...overview.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\w\s-]/g, '').replace(/\s+/g, '-'));
    assert.ok(slugs.includes(url.hash.slice(1)), `${url.hash} is a heading of overview.md`);
  });

  it('reports a new message that has no row, and a stale table', () => {
    const added = messagesIn('src/new.ts', 'throw new TaskError(`The widget ${name} fell over while ${what}.`, "Pick it up.");');
    assert.equal(showPattern(added[0]!.pattern), 'The widget … fell over while ….');
    assert.deepEqual(undocumented(added, rows), added);
    const stale = overview.replace(/(<!-- inputs:ManagedIdentityAuthenticate -->\n\| Input)/, '$1 name');
    assert.match(problems(stale, [], (name) => readTaskJson(name)).join('\n'), /generated tables differ/);
  });
});

describe('scripts/docs.ts message scan', () => {
  it('finds every `new …Error(` in src, as grep counts them', () => {
    const grep = execFileSync('grep', ['-rEoh', 'new (TaskError|InputError|IdentityError|DevOpsError|GitError)\\(', 'src'], { encoding: 'utf8' });
    const forwarded = execFileSync('grep', ['-rEoh', 'new [A-Za-z]+Error\\([A-Za-z]+\\.message,', 'src'], { encoding: 'utf8' });
    const count = (text: string): number => text.split('\n').filter(Boolean).length;
    const errors = emittedMessages('src').filter((m) => m.kind === 'error');
    assert.equal(errors.length, count(grep) - count(forwarded));
    assert.ok(errors.length > 60);
  });

  it('reads template literals, string constants (also joined with +) and InputError as the user sees them', () => {
    const source = `
      const FORMS = 'must be ' + 'a or b';
      const OTHER = \`must be c\`;
      throw new DevOpsError(\`TF401019: Repository '\${repo}' does not exist in project '\${project}'.\`, 'hint');
      throw new InputError('repository', value, FORMS);
      throw new InputError('x', value, \`\${OTHER} (https only)\`);
      log.warn(\`Could not remove \${file}: \${err}\`);
      io.warn(forwarded);
      throw new DevOpsError(explained.message, 'not retried');
      function f(what) { const OTHER = 'x'; return new TaskError(\`Could not \${what}.\`); }
      function g() { const what = 'read'; }`;
    const found = messagesIn('src/x.ts', source);
    assert.deepEqual(found.map((m) => [m.where, m.kind, showPattern(m.pattern)]), [
      ['src/x.ts:4', 'error', "TF401019: Repository '…' does not exist in project '…'."],
      ['src/x.ts:5', 'error', "Input '…' must be a or b (got '…')."],
      ['src/x.ts:6', 'error', "Input '…' must be c (https only) (got '…')."],
      ['src/x.ts:7', 'warning', 'Could not remove …: …'],
      ['src/x.ts:10', 'error', 'Could not ….'],
    ]);
  });

  it('renders InputError exactly as src/core/errors.ts words it', () => {
    const [scanned] = messagesIn('src/x.ts', "throw new InputError('fetchDepth', v, 'must be a whole number');");
    const values = ['fetchDepth', '-1'];
    const filled = scanned!.pattern.map((p) => (p === ANY ? values.shift()! : p)).join('');
    assert.equal(filled, new InputError('fetchDepth', '-1', 'must be a whole number').message);
  });
});

describe('scripts/docs.ts row matching', () => {
  const message: Pattern = ['The ', ANY, ' endpoint refused the request (HTTP ', ANY, ANY, ').'];
  const cases: Array<[string, boolean]> = [
    ['The … endpoint refused the request (HTTP …).', true],
    ['The App Service endpoint refused the request (HTTP 401 …)', true], // an example value where the code has ${…}, stopping early
    ['`The … endpoint refused the request`', true], // code span, shorter
    ['… endpoint refused the request', true], // skips the start
    ['endpoint refused the request', false], // must match from the start
    ['The … endpoint', false], // fewer than 20 shared characters
    ['The … endpoint refused the answer', false], // different text
    ['The … endpoint refused the request (HTTPS …)', false], // a different word
  ];
  for (const [row, expected] of cases) {
    it(`${expected ? 'covers' : 'does not cover'} the message with "${row}"`, () => {
      assert.equal(covers(rowPattern(row), message), expected, `matched ${matchedLiterals(rowPattern(row), message)} characters`);
    });
  }

  it('needs all literal text of a message shorter than 20 characters', () => {
    const short: Pattern = [ANY, ' is disabled.'];
    assert.equal(covers(rowPattern('… is disabled.'), short), true);
    assert.equal(covers(rowPattern('… is disab'), short), false);
    assert.equal(covers(rowPattern('… is disabled. Enable it'), short), false, 'more than the message says');
  });

  it('reads every table of the "## Troubleshooting" section, without their headers, with escaped pipes', () => {
    const text = '# X\n\n| Message | Cause | Fix |\n| --- | --- | --- |\n| elsewhere | a | b |\n\n## Troubleshooting\n\nIntro.\n\n'
      + '| Message | Cause | Fix |\n| --- | --- | --- |\n| One \\| two | cause | fix |\n| Three | | fix |\n\n### More\n\n'
      + '| Message | Cause | Fix |\n|:---|---|---|\n| Four | c | f |\n\n## Next\n\n| Other | table | x |\n';
    assert.deepEqual(troubleshootingRows(text), [
      { message: 'One | two', cause: 'cause', fix: 'fix' },
      { message: 'Three', cause: '', fix: 'fix' },
      { message: 'Four', cause: 'c', fix: 'f' },
    ]);
  });
});
