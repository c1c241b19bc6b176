import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import JSZip from 'jszip';
import { TASK_SCHEMA } from '../fixtures/task-schema';
import { run } from './support';

// tfx's own task.json checks, the ones `tfx extension create` runs (research/task-extension.md §1.1).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { validateTask } = require('tfx-cli/_build/lib/jsonvalidate') as { validateTask(path: string, data: unknown): string[] };

interface TaskJson { name: string; version: { Major: number; Minor: number; Patch: number }; [section: string]: unknown }

async function openVsix(path: string): Promise<JSZip> {
  return JSZip.loadAsync(readFileSync(path));
}

function vsixIn(dir: string): string {
  const file = readdirSync(dir).find((f) => f.endsWith('.vsix'));
  assert.ok(file, `no .vsix in ${dir}`);
  return join(dir, file);
}

describe('the packaged .vsix', () => {
  let zip: JSZip;
  let names: string[];
  before(async () => {
    zip = await openVsix(vsixIn('dist'));
    names = Object.keys(zip.files).filter((n) => !zip.files[n]!.dir);
  });

  it('is a private Azure Pipelines extension with a manifest, the overview and a 128×128 icon', async () => {
    for (const file of ['extension.vsixmanifest', 'extension.vsomanifest', '[Content_Types].xml', 'overview.md', 'images/extension-icon.png']) {
      assert.ok(names.includes(file), `${file} is packaged`);
    }
    const manifest = await zip.file('extension.vsixmanifest')!.async('string');
    assert.match(manifest, /<Categories>Azure Pipelines<\/Categories>/);
    assert.doesNotMatch(manifest, /GalleryFlags="[^"]*Public/, 'the extension is private');
    const png = await zip.file('images/extension-icon.png')!.async('nodebuffer');
    assert.equal(png.readUInt32BE(16), 128);
    assert.equal(png.readUInt32BE(20), 128);
  });

  it('ships bundled task code only: no node_modules, TypeScript, tests or source maps', () => {
    const offending = names.filter((n) => /(^|\/)node_modules\/|\.ts$|\.map$|(^|\/)test\/|\.mjs$|package(-lock)?\.json$/.test(n));
    assert.deepEqual(offending, []);
  });

  it('has task.json files valid against the task schema and tfx’s checks, with Node20_1 and Node24 in every execution section pointing at packaged files', async () => {
    const vso = JSON.parse(await zip.file('extension.vsomanifest')!.async('string')) as { contributions: Array<{ type: string; properties: { name: string } }> };
    const taskFolders = vso.contributions.filter((c) => c.type === 'ms.vss-distributed-task.task').map((c) => c.properties.name);
    assert.deepEqual(taskFolders.sort(), ['tasks/ManagedIdentityAuthenticateV1', 'tasks/ManagedIdentityRepositoryV1']);
    const ajv = new Ajv({ schemaId: 'auto', allErrors: true });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json'));
    const validate = ajv.compile(TASK_SCHEMA);
    const unpacked = mkdtempSync(join(tmpdir(), 'mi-vsix-'));
    try {
      for (const folder of taskFolders) {
        const text = await zip.file(`${folder}/task.json`)!.async('string');
        const task = JSON.parse(text) as TaskJson;
        assert.ok(validate(task), `${folder}/task.json: ${ajv.errorsText(validate.errors)}`);
        for (const section of ['prejobexecution', 'execution', 'postjobexecution']) {
          const handlers = task[section] as Record<string, { target: string }> | undefined;
          if (!handlers) continue;
          assert.deepEqual(Object.keys(handlers).sort(), ['Node20_1', 'Node24'], `${folder} ${section}`);
          for (const { target } of Object.values(handlers)) assert.ok(names.includes(`${folder}/${target}`), `${folder}/${target} is packaged`);
        }
        assert.ok(names.includes(`${folder}/icon.png`));
        for (const entry of ['credential-helper', 'git-broker']) assert.ok(names.includes(`${folder}/${entry}.js`) && names.includes(`${folder}/${entry}.bundle.js`), entry);
        // tfx checks that targets exist next to task.json: give it the unpacked folder.
        const dir = join(unpacked, folder);
        for (const file of names.filter((n) => n.startsWith(`${folder}/`))) {
          const out = join(unpacked, file);
          (await import('node:fs')).mkdirSync(join(out, '..'), { recursive: true });
          writeFileSync(out, await zip.file(file)!.async('nodebuffer'));
        }
        assert.deepEqual(validateTask(join(dir, 'task.json'), task), []);
      }
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
  });

  it('bundles exactly one copy of azure-pipelines-task-lib per task entry', async () => {
    const marker = '_vsts_task_lib_loaded';
    const count = (file: string): number => readFileSync(require.resolve(`azure-pipelines-task-lib/${file}`), 'utf8').split(marker).length - 1;
    const perCopy = count('task') + count('internal');
    assert.ok(perCopy > 0);
    for (const file of names.filter((n) => /\/(main|post)\.bundle\.js$/.test(n))) {
      const code = await zip.file(file)!.async('string');
      assert.equal(code.split(marker).length - 1, perCopy, file);
    }
    for (const file of names.filter((n) => /\/(credential-helper|git-broker)\.bundle\.js$/.test(n) || /\/(main|post|credential-helper|git-broker)\.js$/.test(n))) {
      const code = await zip.file(file)!.async('string');
      assert.equal(code.split(marker).length - 1, 0, `${file} must not load task-lib (it prints to stdout at import and neither the helper nor the broker runs under the agent; a start file only starts the bundle)`);
    }
  });

  it('can be packaged for another publisher', async function () {
    this.timeout(60_000);
    const out = mkdtempSync(join(tmpdir(), 'mi-pkg-'));
    try {
      const result = await run(process.execPath, [require.resolve('tsx/cli'), 'scripts/package.ts', '--publisher', 'contoso-platform', '--out', out], { ...process.env } as Record<string, string>);
      assert.equal(result.status, 0, result.stderr);
      const other = await openVsix(vsixIn(out));
      assert.match(await other.file('extension.vsixmanifest')!.async('string'), /Publisher="contoso-platform"/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
