/**
 * Writes the .vsix under dist/ (or `--out <dir>`) with tfx-cli (offline). The publisher can be overridden:
 * `npm run package -- --publisher my-publisher` or PUBLISHER=my-publisher. Task folders must hold only
 * what ships (tfx packs folders whole), so build output is checked first.
 *
 * It also writes the emulator flavour (src/core/flavour.ts) under <out>/test/: the same manifest, overview and
 * task.json files with the emulator bundles scripts/build.ts left in EMULATOR_ROOT, under another extension id
 * and a name that says what it is. Tests, `npm start`, the benchmark and `npm run try` against the emulators use
 * that one; never publish it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EMULATOR_ROOT } from './build';

const SHIPPED = new Set(['task.json', 'icon.png', 'icon.svg', 'main.js', 'post.js', 'credential-helper.js', 'azure-identity.js']);

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function checkTaskFolders(manifest: { files: Array<{ path: string }> }): void {
  for (const { path } of manifest.files) {
    if (!path.startsWith('tasks/')) continue;
    const extra = readdirSync(path).filter((f) => !SHIPPED.has(f));
    if (extra.length) throw new Error(`${path} holds files that must not ship: ${extra.join(', ')}`);
    if (!existsSync(join(path, 'main.js'))) throw new Error(`${path}/main.js is missing: run npm run build first.`);
  }
}

interface Manifest {
  files: Array<{ path: string }>;
  publisher: string;
  id: string;
  name: string;
  version: string;
  icons?: Record<string, string>;
  content?: Record<string, { path: string }>;
}

/** The extension id and name of the emulator flavour (dist/test/*.vsix). */
export function emulatorIdentity(manifest: Pick<Manifest, 'id' | 'name'>): { id: string; name: string } {
  return { id: `${manifest.id}-emulator-test`, name: `${manifest.name} (emulator test build: never publish)` };
}

/**
 * A fresh folder holding everything the manifest packs, with the emulator bundles from EMULATOR_ROOT in the task
 * folders (a folder of its own, so that two packagings at once cannot see each other's half-copied files).
 */
function stageEmulatorFlavour(manifest: Manifest): string {
  const stage = mkdtempSync(join(tmpdir(), 'mi-emulator-vsix-'));
  const paths = [
    'vss-extension.json',
    ...manifest.files.map((f) => f.path),
    ...Object.values(manifest.icons ?? {}),
    ...Object.values(manifest.content ?? {}).map((c) => c.path),
  ];
  for (const path of paths) {
    mkdirSync(join(stage, dirname(path)), { recursive: true });
    if (path.startsWith('tasks/')) {
      const built = join(EMULATOR_ROOT, path);
      if (!existsSync(join(built, 'main.js'))) throw new Error(`${built}/main.js is missing: run npm run build first.`);
      cpSync(path, join(stage, path), { recursive: true, filter: (source) => !source.endsWith('.js') });
      for (const file of readdirSync(built).filter((f) => f.endsWith('.js'))) cpSync(join(built, file), join(stage, path, file));
    } else {
      cpSync(path, join(stage, path), { recursive: true });
    }
  }
  return stage;
}

function tfxCreate(root: string, publisher: string, output: string, extra: readonly string[] = []): void {
  const tfx = join('node_modules', 'tfx-cli', '_build', 'tfx-cli.js');
  execFileSync(process.execPath, [tfx, 'extension', 'create', '--root', root, '--manifest-globs', 'vss-extension.json',
    '--publisher', publisher, '--output-path', output, '--no-prompt', '--no-color', ...extra], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, TFX_TRACE: '' } });
  console.log(`Packaged ${output}`);
}

function main(): void {
  const manifest = JSON.parse(readFileSync('vss-extension.json', 'utf8')) as Manifest;
  checkTaskFolders(manifest);
  const publisher = option('publisher') ?? process.env['PUBLISHER'] ?? manifest.publisher;
  const outDir = option('out') ?? 'dist';
  if (outDir === 'dist') rmSync('dist', { recursive: true, force: true });
  mkdirSync(join(outDir, 'test'), { recursive: true });
  tfxCreate('.', publisher, join(outDir, `${publisher}.${manifest.id}-${manifest.version}.vsix`));
  const stage = stageEmulatorFlavour(manifest);
  try {
    const emulator = emulatorIdentity(manifest);
    tfxCreate(stage, publisher, resolve(outDir, 'test', `${publisher}.${emulator.id}-${manifest.version}.vsix`),
      ['--extension-id', emulator.id, '--override', JSON.stringify({ name: emulator.name })]);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (require.main === module) main();
