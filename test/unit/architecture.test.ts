/**
 * The layering README.md describes, enforced: each folder of src/ imports only from folders before it in
 * LAYERS (and from itself), and only src/agent/pipeline.ts imports azure-pipelines-task-lib (it moves inputs
 * and secrets out of process.env when loaded, so a second importer would see none: research/task-extension.md §5).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const LAYERS = ['core', 'identity', 'devops', 'git', 'repository', 'feeds', 'agent', 'tasks'] as const;
const SRC = resolve('src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports, requires or loads with import(). */
export function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)'([^']+)'/gm)].map((m) => m[1]!);
}

const layerOf = (file: string): string => relative(SRC, file).split(sep)[0]!;

describe('architecture: src/ layers', () => {
  const files = sources(SRC);

  it('puts every module in a known layer', () => {
    const stray = files.filter((f) => !(LAYERS as readonly string[]).includes(layerOf(f)));
    assert.deepEqual(stray.map((f) => relative(SRC, f)), []);
  });

  it('imports only from the same layer or one before it', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const own = LAYERS.indexOf(layerOf(file) as (typeof LAYERS)[number]);
      for (const spec of specifiers(readFileSync(file, 'utf8')).filter((s) => s.startsWith('.'))) {
        const target = resolve(dirname(file), spec);
        const layer = LAYERS.indexOf(layerOf(target) as (typeof LAYERS)[number]);
        if (!target.startsWith(SRC + sep) || layer < 0 || layer > own) wrong.push(`${relative(SRC, file)} imports ${spec}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('lets only agent/pipeline.ts import azure-pipelines-task-lib', () => {
    const importers = files.filter((f) => specifiers(readFileSync(f, 'utf8')).some((s) => s.startsWith('azure-pipelines-task-lib')));
    assert.deepEqual(importers.map((f) => relative(SRC, f).split(sep).join('/')), ['agent/pipeline.ts']);
  });

  it('finds imports of every form (the check can fail)', () => {
    const text = "import a from './a';\nimport type { B } from '../b';\nconst c = require('./c');\nvoid import('../d');\nimport './e';";
    assert.deepEqual(specifiers(text), ['./a', '../b', './c', '../d', './e']);
  });
});
