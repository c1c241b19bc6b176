/**
 * Packages for another publisher (`scripts/package.ts --publisher`, PUBLISHER=) and `npm run package` on a fresh
 * clone: every file of the .vsix is unpacked and scanned for the default publisher and for Marketplace links, and
 * a task of that package is run through the agent-like runner, so the link after an error and in the run summary is
 * the one the task really prints.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { installVsix } from '../agent/runner';
import { vsixFiles } from '../../scripts/package';
import { itemNames, packageProblems, readManifest, rewriteLinks } from '../../scripts/publisher';
import { harness, run, type Harness } from './support';

const manifest = readManifest();
const PUBLISHER = 'contoso-platform';
const tsx = require.resolve('tsx/cli');

function vsixIn(dir: string): string {
  const file = readdirSync(dir).find((f) => f.endsWith('.vsix'));
  assert.ok(file, `no .vsix in ${dir}`);
  return join(dir, file);
}

/** Text of every file whose bytes hold `needle` (case-insensitive). */
function filesNaming(files: Map<string, Buffer>, needle: string): string[] {
  return [...files].filter(([, bytes]) => bytes.toString('latin1').toLowerCase().includes(needle.toLowerCase())).map(([name]) => name);
}

describe('a package for another publisher', function () {
  this.timeout(180_000);
  let out: string;
  let files: Map<string, Buffer>;
  let h: Harness;

  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'mi-publisher-'));
    // PUBLISHER= in the environment, the other way to choose it.
    const result = await run(process.execPath, [tsx, 'scripts/package.ts', '--out', out], { ...process.env, PUBLISHER } as Record<string, string>);
    assert.equal(result.status, 0, result.stderr);
    files = await vsixFiles(vsixIn(out));
    h = await harness();
  });
  after(async () => {
    await h?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('is named and identified for that publisher', () => {
    assert.match(vsixIn(out), new RegExp(`${PUBLISHER}\\.${manifest.id}-${manifest.version.replace(/\./g, '\\.')}\\.vsix$`));
    assert.match(files.get('extension.vsixmanifest')!.toString(), new RegExp(`Publisher="${PUBLISHER}"`));
  });

  it('holds no trace of the default publisher in any file: manifest, overview, task.json, bundles', () => {
    assert.ok(files.size >= 15, `${files.size} files`);
    assert.deepEqual(filesNaming(files, manifest.publisher), []);
    assert.deepEqual(packageProblems(files, manifest, PUBLISHER), []);
  });

  it('links every Marketplace reference to that publisher\'s item: task.json help, overview.md, the bundles', () => {
    const item = `${PUBLISHER}.${manifest.id}`;
    for (const task of ['ManagedIdentityAuthenticateV1', 'ManagedIdentityRepositoryV1']) {
      const help = (JSON.parse(files.get(`tasks/${task}/task.json`)!.toString()) as { helpMarkDown: string }).helpMarkDown;
      assert.ok(help.includes(`items?itemName=${item})`), help);
      for (const bundle of ['main.bundle.js', 'post.bundle.js']) assert.deepEqual([...new Set(itemNames(files.get(`tasks/${task}/${bundle}`)!.toString(), manifest))], [item], `${task}/${bundle}`);
    }
    const overview = files.get('overview.md')!.toString();
    const links = [...overview.matchAll(/items\?itemName=([\w.-]+)/g)].map((m) => m[1]);
    assert.ok(links.length >= 2, 'overview.md links to the extension page');
    assert.deepEqual([...new Set(links)], [item]);
  });

  it('prints that publisher\'s Troubleshooting link after an error, and puts it in the run summary', async () => {
    const tasks = await installVsix(vsixIn(out), mkdtempSync(join(out, 'tasks-')));
    const result = await h.run([{ task: tasks.get('ManagedIdentityAuthenticate')!, inputs: { organizations: 'northwind' } }], { keepTempDirectory: true });
    assert.equal(result.result, 'Failed', result.log);
    const url = `https://marketplace.visualstudio.com/items?itemName=${PUBLISHER}.${manifest.id}#troubleshooting`;
    assert.ok(result.log.split('\n').some((line) => line.endsWith(`Troubleshooting: ${url}`)), result.log);
    const summary = readFileSync(result.steps[0]!.summaries[0]!, 'utf8');
    assert.ok(summary.includes(`| Help | [Troubleshooting](${url}) |`), summary);
    assert.ok(!result.log.toLowerCase().includes(manifest.publisher) && !summary.toLowerCase().includes(manifest.publisher));
  });

  it('is refused, in one line, for a publisher id the Marketplace cannot have', async () => {
    const result = await run(process.execPath, [tsx, 'scripts/package.ts', '--publisher', 'my publisher', '--out', out], { ...process.env } as Record<string, string>);
    assert.notEqual(result.status, 0);
    assert.equal(result.stderr.trim(), "npm run package: Publisher 'my publisher' is not a Marketplace publisher id: letters, digits, '-' and '_', starting with a letter or digit.");
  });
});

describe('link rewriting and the package check', () => {
  it('rewrites the default item in links only, and reports any other item or a trace of the default publisher', () => {
    const text = `[a](https://marketplace.visualstudio.com/items?itemName=${manifest.publisher}.${manifest.id}#troubleshooting) and itemName=${manifest.publisher}.${manifest.id}.`;
    const rewritten = rewriteLinks(text, manifest, 'you');
    assert.equal(rewritten, text.replaceAll(`${manifest.publisher}.`, 'you.'));
    const ok = new Map([['overview.md', Buffer.from(rewritten)]]);
    assert.deepEqual(packageProblems(ok, manifest, 'you'), []);
    assert.deepEqual(packageProblems(new Map([['overview.md', Buffer.from(text)]]), manifest, 'you'), [
      `overview.md: names the Marketplace item ${manifest.publisher}.${manifest.id}`,
      `overview.md: names the Marketplace item ${manifest.publisher}.${manifest.id}`,
      `overview.md: names the publisher '${manifest.publisher}'`,
    ]);
    const bundle = new Map([['main.js', Buffer.from(`var e="other.${manifest.id}",u=\`https://x/items?itemName=\${e}\`;`)]]);
    assert.deepEqual(packageProblems(bundle, manifest, 'you'), [`main.js: names the Marketplace item other.${manifest.id}`]);
  });
});

describe('npm run package on a fresh clone', function () {
  this.timeout(180_000);
  it('builds the tasks first, says so in one line, and packages', async () => {
    const clone = mkdtempSync(join(tmpdir(), 'mi-fresh-'));
    try {
      // The working tree's tracked and new files, as a clone would have them: no tasks/*/*.js bundles, no dist/.
      const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' }).split('\0').filter(Boolean);
      for (const file of listed.filter((f) => existsSync(f))) {
        mkdirSync(dirname(join(clone, file)), { recursive: true });
        cpSync(file, join(clone, file));
      }
      symlinkSync(resolve('node_modules'), join(clone, 'node_modules'));
      assert.ok(!existsSync(join(clone, 'tasks', 'ManagedIdentityAuthenticateV1', 'main.js')), 'a fresh clone has no bundles');
      const result = await run(process.execPath, [tsx, 'scripts/package.ts'], { ...process.env } as Record<string, string>, clone);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.match(result.stdout, /^The task bundles in tasks\/ are missing: building them first \(npm run build\)\.$/m);
      const vsix = vsixIn(join(clone, 'dist'));
      assert.equal((await vsixFiles(vsix)).has('tasks/ManagedIdentityRepositoryV1/main.js'), true);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});
