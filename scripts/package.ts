/**
 * Writes the .vsix under dist/ (or `--out <dir>`) with tfx-cli (offline). The publisher can be overridden:
 * `npm run package -- --publisher my-publisher` or PUBLISHER=my-publisher. Task folders must hold only
 * what ships (tfx packs folders whole), so build output is checked first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const SHIPPED = new Set(['task.json', 'icon.png', 'icon.svg', 'main.js', 'post.js', 'credential-helper.js', 'git-broker.js', 'azure-identity.js']);

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

function main(): void {
  const manifest = JSON.parse(readFileSync('vss-extension.json', 'utf8')) as { files: Array<{ path: string }>; publisher: string; id: string; version: string };
  checkTaskFolders(manifest);
  const publisher = option('publisher') ?? process.env['PUBLISHER'] ?? manifest.publisher;
  const outDir = option('out') ?? 'dist';
  if (outDir === 'dist') rmSync('dist', { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const output = join(outDir, `${publisher}.${manifest.id}-${manifest.version}.vsix`);
  const tfx = join('node_modules', 'tfx-cli', '_build', 'tfx-cli.js');
  execFileSync(process.execPath, [tfx, 'extension', 'create', '--root', '.', '--manifest-globs', 'vss-extension.json',
    '--publisher', publisher, '--output-path', output, '--no-prompt', '--no-color'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, TFX_TRACE: '' } });
  console.log(`Packaged ${output}`);
}

main();
