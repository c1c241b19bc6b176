// Installing the tasks of a .vsix the way an agent caches downloaded tasks:
// _work/_tasks/<Name>_<id>/<Major.Minor.Patch>/ plus a `<version>.completed` marker
// (agent src/Agent.Worker/TaskManager.cs). Like the agent, an existing completed version is
// never replaced — bump task.json's version when the code changes.
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import JSZip from 'jszip';

interface TaskFolder {
  readonly folder: string;
  readonly name: string;
  readonly id: string;
  readonly version: string;
  readonly major: number;
}

/**
 * The .vsix `npm run package` wrote: `dist/*.vsix` is the release flavour (what ships), `dist/test/*.vsix` the
 * emulator flavour whose tasks accept the loopback emulators named in ManagedIdentity.TestHosts
 * (src/core/flavour.ts). Throws when it is missing.
 */
export function packagedVsix(flavour: 'release' | 'emulator', dist = 'dist'): string {
  const dir = flavour === 'release' ? dist : path.join(dist, 'test');
  const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.vsix')) : undefined;
  if (!file) throw new Error(`${dir}/*.vsix is missing: run \`npm run build && npm run package\` (npm test, npm start and npm run bench do).`);
  return path.join(dir, file);
}

/**
 * Unpack every task contributed by the .vsix into `tasksDir`. Returns task name → installed
 * folder; when a name has several majors, the highest is under the plain name and each one
 * also under `Name@Major`.
 */
export async function installVsix(vsixPath: string, tasksDir: string): Promise<Map<string, string>> {
  const zip = await JSZip.loadAsync(await readFile(vsixPath));
  const folders = await findTaskFolders(zip);
  if (folders.length === 0) throw new Error(`No task.json found in ${vsixPath}.`);
  const installed = new Map<string, string>();
  const majors = new Map<string, number>();
  for (const task of folders) {
    const destination = path.join(path.resolve(tasksDir), `${task.name}_${task.id}`, task.version);
    if (!existsSync(`${destination}.completed`)) {
      await rm(destination, { recursive: true, force: true });
      await extractFolder(zip, task.folder, destination);
      await writeFile(`${destination}.completed`, new Date().toISOString());
    }
    installed.set(`${task.name}@${task.major}`, destination);
    if ((majors.get(task.name) ?? -1) < task.major) {
      majors.set(task.name, task.major);
      installed.set(task.name, destination);
    }
  }
  return installed;
}

// Task folders are the directories holding a task.json, limited to the task contributions of
// extension.vsomanifest when it lists any (a contribution's folder, or its version sub-folders).
async function findTaskFolders(zip: JSZip): Promise<TaskFolder[]> {
  const contributed = await contributedFolders(zip);
  const folders: TaskFolder[] = [];
  for (const entry of Object.values(zip.files)) {
    if (entry.dir || path.posix.basename(entry.name) !== 'task.json' || entry.name.split('/').includes('node_modules')) continue;
    const folder = path.posix.dirname(entry.name);
    if (contributed.length > 0 && !contributed.some((c) => folder === c || path.posix.dirname(folder) === c)) continue;
    const json = JSON.parse((await entry.async('string')).replace(/^\uFEFF/, '')) as Record<string, unknown>;
    const version = (json['version'] ?? {}) as Record<string, unknown>;
    if (typeof json['name'] !== 'string' || typeof json['id'] !== 'string') continue;
    folders.push({
      folder,
      name: json['name'],
      id: json['id'],
      version: `${Number(version['Major'] ?? 0)}.${Number(version['Minor'] ?? 0)}.${Number(version['Patch'] ?? 0)}`,
      major: Number(version['Major'] ?? 0),
    });
  }
  return folders;
}

async function contributedFolders(zip: JSZip): Promise<string[]> {
  const manifest = zip.file('extension.vsomanifest');
  if (manifest === null) return [];
  const json = JSON.parse((await manifest.async('string')).replace(/^\uFEFF/, '')) as {
    contributions?: Array<{ type?: string; properties?: { name?: string } }>;
  };
  return (json.contributions ?? [])
    .filter((contribution) => contribution.type === 'ms.vss-distributed-task.task' && contribution.properties?.name)
    .map((contribution) => (contribution.properties?.name ?? '').replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/$/, ''));
}

async function extractFolder(zip: JSZip, folder: string, destination: string): Promise<void> {
  const prefix = folder === '.' ? '' : `${folder}/`;
  for (const entry of Object.values(zip.files)) {
    if (entry.dir || !entry.name.startsWith(prefix)) continue;
    const target = path.resolve(destination, entry.name.substring(prefix.length));
    if (!target.startsWith(destination + path.sep)) throw new Error(`Refusing to extract '${entry.name}' outside ${destination}.`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, await entry.async('nodebuffer'));
    const mode = typeof entry.unixPermissions === 'number' ? entry.unixPermissions & 0o777 : 0;
    if (mode !== 0) await chmod(target, mode);
  }
}
