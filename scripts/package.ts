/**
 * Writes the .vsix under dist/ (or `--out <dir>`) with tfx-cli (offline), for vss-extension.json's publisher or another
 * one: `npm run package -- --publisher my-publisher` or PUBLISHER=my-publisher (scripts/publisher.ts).
 *
 * tfx packs whole folders, so the package is assembled in a staging folder under .tmp/ holding exactly what ships:
 * the manifest, overview.md, the icon, and per task folder its task.json, icons and bundles. For the manifest's
 * publisher the bundles come from tasks/ (built first when they are missing, as on a fresh clone); for another
 * publisher they are built into the staging folder with that publisher's Marketplace page (src/core/errors.ts), and
 * the links of task.json and overview.md are rewritten to it. The finished .vsix is then read back: a link to another
 * publisher's page, or any trace of the manifest's publisher in a package for another one, fails the command.
 *
 * It also writes the emulator flavour (src/core/flavour.ts) under <out>/test/: the same files with emulator bundles
 * built into its own staging folder, under another extension id and a name that says what it is. Tests, `npm start`,
 * the benchmark and `npm run try` against the emulators use that one; never publish it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import JSZip from 'jszip';
import { bundleFile, buildTasks, TASKS, type Flavour } from './build';
import { itemNames, option, packageProblems, readManifest, resolvePublisher, rewriteLinks, UsageError, type Manifest } from './publisher';

/** What a task folder ships besides its bundles. */
const TASK_FILES = ['task.json', 'icon.png', 'icon.svg'];
/** Files whose Marketplace links name the publisher. */
const LINKED = /\.(json|md)$/;

function bundlesOf(folder: string): string[] {
  // Each entry is a small start file (`<name>.js`, turns on the compile cache) and the bundle it loads (build.ts).
  return [...Object.keys(TASKS[folder] ?? {}).flatMap((name) => [`${name}.js`, bundleFile(name)]), 'azure-identity.js'];
}

/** The task folders of the manifest, as `tasks/<Name>V1`, each with its bundle names. */
function taskFolders(manifest: Manifest): string[] {
  return manifest.files.map((f) => f.path).filter((path) => path.startsWith('tasks/'));
}

function bundlesMissing(manifest: Manifest): string[] {
  return taskFolders(manifest).flatMap((path) => bundlesOf(basename(path)).map((b) => join(path, b)).filter((file) => !existsSync(file)));
}

/** The publisher the bundles in tasks/ were built for (the item name the build wrote into them); undefined when unknown. */
function builtPublisher(manifest: Manifest): string | undefined {
  const main = join(taskFolders(manifest)[0] ?? '', 'main.js');
  if (!existsSync(main)) return undefined;
  const items = [...new Set(itemNames(readFileSync(main, 'latin1'), manifest))];
  return items.length === 1 ? items[0]!.slice(0, -manifest.id.length - 1) : undefined;
}

/** The extension id and name of the emulator flavour (dist/test/*.vsix). */
export function emulatorIdentity(manifest: Manifest & { readonly name?: string }): { id: string; name: string } {
  return { id: `${manifest.id}-emulator-test`, name: `${manifest.name ?? manifest.id} (emulator test build: never publish)` };
}

/** Copies what ships into `stage`, building bundles where needed, with links for `publisher`. */
async function stage(manifest: Manifest, publisher: string, stageDir: string, flavour: Flavour): Promise<void> {
  const fromTasks = publisher === manifest.publisher && flavour === 'release';
  if (fromTasks && (bundlesMissing(manifest).length || builtPublisher(manifest) !== publisher)) {
    console.log(`The task bundles in tasks/ are ${bundlesMissing(manifest).length ? 'missing' : `built for another publisher (${builtPublisher(manifest) ?? 'unknown'})`}: building them first (npm run build).`);
    console.log(await buildTasks({ publisher }));
  }
  if (!fromTasks) console.log(await buildTasks({ publisher, outRoot: join(stageDir, 'tasks'), flavour }));
  const copy = (path: string): void => {
    const target = join(stageDir, path);
    mkdirSync(dirname(target), { recursive: true });
    if (LINKED.test(path)) writeFileSync(target, rewriteLinks(readFileSync(path, 'utf8'), manifest, publisher));
    else copyFileSync(path, target);
  };
  copy('vss-extension.json');
  if (manifest.content?.details?.path) copy(manifest.content.details.path);
  for (const { path } of manifest.files) {
    if (!path.startsWith('tasks/')) {
      copy(path);
      continue;
    }
    const unexpected = readdirSync(path).filter((f) => !TASK_FILES.includes(f) && !bundlesOf(basename(path)).includes(f));
    if (unexpected.length) console.log(`Not packaging ${unexpected.map((f) => `${path}/${f}`).join(', ')}: only task.json, icons and bundles ship.`);
    for (const file of TASK_FILES.filter((f) => existsSync(join(path, f)))) copy(join(path, file));
    if (fromTasks) for (const file of bundlesOf(basename(path))) copy(join(path, file));
  }
}

/** Every file of a .vsix, by name. */
export async function vsixFiles(vsix: string): Promise<Map<string, Buffer>> {
  const zip = await JSZip.loadAsync(readFileSync(vsix));
  const files = new Map<string, Buffer>();
  for (const [name, entry] of Object.entries(zip.files)) if (!entry.dir) files.set(name, await entry.async('nodebuffer'));
  return files;
}

/**
 * Packages the extension for `publisher` into `outDir` (the emulator flavour into `outDir/test`, with its own
 * extension id and name); returns the .vsix path.
 */
export async function packageExtension(publisher: string, outDir: string, flavour: Flavour = 'release'): Promise<string> {
  const manifest = readManifest();
  mkdirSync('.tmp', { recursive: true });
  const stageDir = mkdtempSync(join('.tmp', 'package-'));
  try {
    await stage(manifest, publisher, stageDir, flavour);
    const emulator = flavour === 'emulator' ? emulatorIdentity(manifest) : undefined;
    const dir = emulator ? join(outDir, 'test') : outDir;
    mkdirSync(dir, { recursive: true });
    const output = join(dir, `${publisher}.${emulator?.id ?? manifest.id}-${manifest.version}.vsix`);
    const tfx = require.resolve('tfx-cli/_build/tfx-cli.js');
    const identity = emulator ? ['--extension-id', emulator.id, '--override', JSON.stringify({ name: emulator.name })] : [];
    try {
      execFileSync(process.execPath, [tfx, 'extension', 'create', '--root', stageDir, '--manifest-globs', 'vss-extension.json',
        '--publisher', publisher, '--output-path', output, '--no-prompt', '--no-color', ...identity], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, TFX_TRACE: '' } });
    } catch (err) {
      throw new UsageError(`tfx extension create failed (exit code ${(err as { status?: number }).status ?? '?'}); its output above says why.`);
    }
    const problems = packageProblems(await vsixFiles(output), manifest, publisher);
    if (problems.length) {
      rmSync(output, { force: true });
      throw new UsageError(`The package for publisher '${publisher}' still points elsewhere: ${problems.join('; ')}`);
    }
    return output;
  } finally {
    rmSync(stageDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const publisher = resolvePublisher(argv, process.env, readManifest());
  const outDir = option(argv, 'out') ?? 'dist';
  if (outDir === 'dist') rmSync('dist', { recursive: true, force: true });
  console.log(`Packaged ${await packageExtension(publisher, outDir)}`);
  console.log(`Packaged ${await packageExtension(publisher, outDir, 'emulator')} (the emulator test build: never publish)`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    // One line for what the user can fix; a bug still shows its stack.
    console.error(err instanceof UsageError ? `npm run package: ${err.message}` : err);
    process.exitCode = 1;
  });
}
