/**
 * Bundles each task entry with esbuild into its task folder (tasks/<Name>V1/*.js), so the .vsix ships
 * no node_modules. Fails when a bundle would hold two copies of azure-pipelines-task-lib, whose vault is
 * module state (research/task-extension.md §5).
 */
import { build, type Metafile } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TASKS: Record<string, Record<string, string>> = {
  ManagedIdentityAuthenticateV1: {
    main: 'src/tasks/authenticate/main.ts',
    post: 'src/tasks/authenticate/post.ts',
    'credential-helper': 'src/tasks/credential-helper.ts',
  },
  ManagedIdentityRepositoryV1: {
    main: 'src/tasks/repository/main.ts',
    post: 'src/tasks/repository/post.ts',
    'credential-helper': 'src/tasks/credential-helper.ts',
  },
};

function taskLibCopies(metafile: Metafile): Set<string> {
  const roots = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/azure-pipelines-task-lib)\//.exec(input);
    if (match) roots.add(match[1]!);
  }
  return roots;
}

async function main(): Promise<void> {
  const started = Date.now();
  mkdirSync('.tmp', { recursive: true });
  for (const [folder, entries] of Object.entries(TASKS)) {
    for (const [name, entry] of Object.entries(entries)) {
      const result = await build({
        entryPoints: [entry],
        outfile: join('tasks', folder, `${name}.js`),
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        minify: true,
        legalComments: 'none',
        metafile: true,
        logLevel: 'warning',
      });
      const copies = taskLibCopies(result.metafile);
      if (copies.size > 1) throw new Error(`${folder}/${name}.js bundles ${copies.size} copies of azure-pipelines-task-lib: ${[...copies].join(', ')}`);
      writeFileSync(join('.tmp', `${folder}.${name}.meta.json`), JSON.stringify(result.metafile));
    }
  }
  console.log(`Built ${Object.keys(TASKS).length} task(s) in ${Date.now() - started} ms.`);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
