/**
 * Bundles each task entry with esbuild into its task folder (tasks/<Name>V1/*.js), so the .vsix ships
 * no node_modules. Fails when a bundle would hold two copies of azure-pipelines-task-lib, whose vault is
 * module state (research/task-extension.md §5).
 *
 * Every task step and every git credential request starts a fresh Node process, so what a bundle loads
 * is paid on each run (`npm run bench` measures it). What keeps that down:
 * - azure-devops-node-api's WebApi requires all ~30 of its API clients when it loads (≈ 860 KB of
 *   minified code), and typed-rest-client's Handlers requires the NTLM handler (underscore, des.js, md4).
 *   Each bundle calls only the clients its own src/ files name (`get<Name>Api()`) with a bearer handler, so
 *   the others are replaced by stubs whose every export throws "… is not bundled": a new use fails loudly,
 *   never silently, and adding a `get<Name>Api()` call to a src/ file bundles that client again. (So
 *   Authenticate's main.bundle.js, which only asks connectionData, carries neither GitApi nor CoreApi.)
 * - Modules that only rare paths use are loaded on first use instead of at start (LAZY_MODULES): the proxy
 *   agents (only with a proxy), qs (typed-rest-client's own query parameters, which node-api never passes),
 *   zlib (typed-rest-client gunzips answers only when they come gzipped, and nothing the tasks send asks for that)
 *   and q (task-lib's ToolRunner, which the tasks do not use).
 * - Node defines `FormData` as a lazy global whose first read loads undici (~20 ms). @typespec/ts-http-runtime
 *   reads it on every request (`typeof FormData !== "undefined" && body instanceof FormData`). The bundles
 *   see a stand-in instead that asks the real class only about values that are FormData objects.
 *
 * - Each entry is two files: `<name>.bundle.js`, the bundle, and `<name>.js` (what task.json and git start), a
 *   few KB that run the bundle through a V8 code cache in a per-user directory (src/core/compile-cache.ts), so
 *   that Node reads the bundles' compiled code from there instead of parsing and compiling them again.
 *
 * @azure/identity (with msal, ≈ 400 KB) is its own file in each task folder, azure-identity.js, required
 * only when a token is asked of the library: the git credential helper asks IMDS and App Service directly
 * (src/identity/direct.ts) and so never loads nor even parses it there. That file holds the two credentials
 * src/identity/managed-identity.ts uses (IDENTITY_EXPORTS), not the package's index, which loads every credential it has
 * (DefaultAzureCredential, the CLI, browser and certificate ones…), and jsonwebtoken, which msal-node
 * needs only to sign certificate assertions, is a stub.
 *
 * Two flavours (src/core/flavour.ts): the release bundles in tasks/<Name>V1/ (what dist/*.vsix ships), built with
 * MIADO_EMULATOR_BUILD = false, so they hold no way to send a token anywhere but Azure DevOps; and the emulator
 * bundles (`buildTasks({ flavour: 'emulator' })`, which scripts/package.ts builds into its staging folder for
 * dist/test/*.vsix), built with true, which honour ManagedIdentity.TestHosts and read msal-node's Azure Arc key
 * folder from MIADO_EMULATOR_ARC_TOKENS_DIR (emulatorArcKeyFolder below). The build refuses to finish when a release
 * bundle still holds either.
 */
import { createHash } from 'node:crypto';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { publisherDefine, readManifest, resolvePublisher, UsageError } from './publisher';

export const TASKS: Record<string, Record<string, string>> = {
  ManagedIdentityAuthenticateV1: {
    main: 'src/tasks/authenticate/main.ts',
    post: 'src/tasks/authenticate/post.ts',
    'credential-helper': 'src/tasks/credential-helper.ts',
    'git-broker': 'src/tasks/git-broker.ts',
  },
  ManagedIdentityRepositoryV1: {
    main: 'src/tasks/repository/main.ts',
    post: 'src/tasks/repository/post.ts',
    'credential-helper': 'src/tasks/credential-helper.ts',
    'git-broker': 'src/tasks/git-broker.ts',
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

/** The azure-devops-node-api clients src/ asks WebApi for (`getGitApi()` → 'gitapi'), plus the Locations client WebApi uses itself. */
export function usedNodeApiClients(sources: readonly string[]): Set<string> {
  const used = new Set(['locationsapi']);
  for (const text of sources) {
    for (const match of text.matchAll(/\bget([A-Za-z]+Api)\s*\(/g)) used.add(match[1]!.toLowerCase());
  }
  return used;
}

/** True when WebApi's `./<Module>` is a client src/ uses (`getCixApi` → CIXApi, `getWorkItemTrackingProcessDefinitionApi` → …DefinitionsApi). */
export function isUsedClient(module: string, used: ReadonlySet<string>): boolean {
  const name = module.toLowerCase();
  return [...used].some((u) => name === u || name === u.replace(/api$/, 'sapi'));
}

/** The src/ files an entry's bundle holds (third-party packages left out: only the sources matter here). */
async function sourcesOf(entry: string): Promise<string[]> {
  const result = await build({ entryPoints: [entry], bundle: true, write: false, metafile: true, platform: 'node', packages: 'external', logLevel: 'silent' });
  return Object.keys(result.metafile.inputs).filter((path) => /^src[\\/].*\.ts$/.test(path));
}

/** The node-api clients the src/ files in `entry`'s bundle ask for. */
export async function usedClientsOf(entry: string): Promise<Set<string>> {
  return usedNodeApiClients((await sourcesOf(entry)).map((path) => readFileSync(path, 'utf8')));
}

const STUB_NAMESPACE = 'unbundled';

/** Replaces modules the tasks never run with stubs that throw when used (see the header). */
function unusedModules(usedClients: ReadonlySet<string>): Plugin {
  return {
    name: 'unused-modules',
    setup(b) {
      b.onResolve({ filter: /^\.\/[A-Za-z]+Api$/ }, (args) => {
        if (!/azure-devops-node-api[\\/]WebApi\.js$/.test(args.importer)) return undefined;
        const module = args.path.slice(2);
        return isUsedClient(module, usedClients) ? undefined : { path: `azure-devops-node-api/${module}`, namespace: STUB_NAMESPACE };
      });
      b.onResolve({ filter: /^\.\/handlers\/ntlm$/ }, (args) =>
        /typed-rest-client[\\/]Handlers\.js$/.test(args.importer) ? { path: 'typed-rest-client/handlers/ntlm', namespace: STUB_NAMESPACE } : undefined);
      // msal-node signs client assertions from certificates with it; managed and workload identity never do.
      b.onResolve({ filter: /^jsonwebtoken$/ }, (args) =>
        /@azure[\\/]msal-node[\\/]/.test(args.importer) ? { path: 'jsonwebtoken', namespace: STUB_NAMESPACE } : undefined);
      b.onLoad({ filter: /.*/, namespace: STUB_NAMESPACE }, (args) => ({
        loader: 'js',
        // A function, not an arrow: a stubbed class may still be extended (node-api's NTLM handler extends
        // typed-rest-client's when it loads); calling or constructing it throws.
        contents: `function Unbundled() { throw new Error(${JSON.stringify(`${args.path} is not bundled into this task: see scripts/build.ts`)}); }
module.exports = new Proxy({}, { get: (_, key) => (typeof key === 'symbol' || key === '__esModule' || key === 'then' ? undefined : Unbundled) });`,
      }));
    },
  };
}

const LAZY_GLOBALS = 'task-bundle:lazy-globals';

/** The FormData stand-in the bundles see (see the header). A FormData object reports the tag '[object FormData]'. */
const lazyGlobals: Plugin = {
  name: 'lazy-globals',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^${LAZY_GLOBALS}$`) }, () => ({ path: LAZY_GLOBALS, namespace: 'virtual' }));
    b.onLoad({ filter: /.*/, namespace: 'virtual' }, () => ({
      loader: 'js',
      contents: `function FormData(...args) { return Reflect.construct(globalThis.FormData, args); }
Object.defineProperty(FormData, Symbol.hasInstance, {
  value: (value) => typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object FormData]' && value instanceof globalThis.FormData,
});
export { FormData };`,
    }));
  },
};

/** Modules required on first use of one of their exports instead of when their importer loads (see the header). */
export const LAZY_MODULES: ReadonlyArray<{ readonly importer: RegExp; readonly module: RegExp }> = [
  { importer: /@typespec[\\/]ts-http-runtime[\\/].*[\\/]proxyPolicy\.js$/, module: /^https?-proxy-agent$/ },
  { importer: /typed-rest-client[\\/]Util\.js$/, module: /^qs$/ },
  // Only to gunzip an answer sent with Content-Encoding: gzip, which nothing the bundles call asks for.
  { importer: /typed-rest-client[\\/]Util\.js$/, module: /^zlib$/ },
  // task-lib's ToolRunner makes its promises with q (`Q.defer()` in its exec methods), which the tasks never call
  // (src/git/runner.ts runs git itself): ~3 ms of every task step's start on Node 24.
  { importer: /azure-pipelines-task-lib[\\/]toolrunner\.js$/, module: /^q$/ },
];

const LAZY_NAMESPACE = 'lazy';

/**
 * Replaces each LAZY_MODULES import with a stand-in whose first property access requires the real module.
 * Fit only for importers that reach the module's exports when they use them (`m.stringify(…)`,
 * `new m.HttpsProxyAgent(…)`), as these CommonJS files do; the module itself is still bundled.
 */
const lazyModules: Plugin = {
  name: 'lazy-modules',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.namespace === LAZY_NAMESPACE || !LAZY_MODULES.some((l) => l.module.test(args.path) && l.importer.test(args.importer))) return undefined;
      return { path: args.path, namespace: LAZY_NAMESPACE, pluginData: args.resolveDir };
    });
    b.onLoad({ filter: /.*/, namespace: LAZY_NAMESPACE }, (args) => ({
      loader: 'js',
      resolveDir: args.pluginData as string,
      contents: `let loaded;
const load = () => (loaded ??= require(${JSON.stringify(args.path)}));
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => { const d = Reflect.getOwnPropertyDescriptor(load(), key); return d && { ...d, configurable: true }; },
});`,
    }));
  },
};

/** The bundle of entry `name` (main → main.bundle.js); `<name>.js` is its start file (startOptions). */
export function bundleFile(name: string): string {
  return `${name}.bundle.js`;
}

/** `<Task name>-<version>` from tasks/<folder>/task.json: the compile cache directory of that task version. */
export function compileCacheKey(folder: string): string {
  const task = JSON.parse(readFileSync(join('tasks', folder, 'task.json'), 'utf8')) as { name: string; version: { Major: number; Minor: number; Patch: number } };
  const key = `${task.name}-${task.version.Major}.${task.version.Minor}.${task.version.Patch}`;
  if (!/^[A-Za-z0-9.-]+$/.test(key)) throw new Error(`tasks/${folder}/task.json: name and version give an unusable cache key '${key}'`);
  return key;
}

/**
 * The esbuild options of `<name>.js`, the file task.json (or git, for the credential helper) starts: it drops the
 * one Node warning bundling causes (src/core/node-warnings.ts), then runs `<name>.bundle.js` through the code
 * cache of task version `key` (src/core/compile-cache.ts runBundle), so that the bundle is compiled from the
 * cache. A few KB, compiled without it.
 */
export function startOptions(name: string, outfile: string, key: string): BuildOptions {
  const cache = join(__dirname, '..', 'src', 'core', 'compile-cache.ts');
  // Tells builds of the bundle (already written beside the start file) apart in the cache's file names.
  const build = createHash('sha256').update(readFileSync(join(dirname(outfile), bundleFile(name)))).digest('hex').slice(0, 16);
  const warnings = join(__dirname, '..', 'src', 'core', 'node-warnings.ts');
  return {
    stdin: {
      contents: [
        `require(${JSON.stringify(warnings)}).dropBundlingWarnings();`,
        `require(${JSON.stringify(cache)}).runBundle(${JSON.stringify(key)}, require('node:path').join(__dirname, ${JSON.stringify(bundleFile(name))}), ${JSON.stringify(build)});`,
        '',
      ].join('\n'),
      resolveDir: dirname(outfile),
      sourcefile: `${name}-start.js`,
      loader: 'js',
    },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    external: [`./${bundleFile(name)}`],
    logLevel: 'warning',
  };
}

/**
 * src/identity/transport.ts takes only createHttpHeaders and createPipelineRequest from @azure/core-rest-pipeline.
 * Left alone, esbuild keeps the top-level statements of most modules the packages' indexes re-export (the logger
 * with tty and assert, sanitizers, retry strategies…), although both package.json files declare `sideEffects: false`:
 * 30 KB more and 15-25 ms more CPU in every credential helper process (measured with `process.cpuUsage()` around the
 * require, Node 20 and 24). Marking each module esbuild resolves in those two packages as free of side effects, as
 * they declare, keeps only what is used (≈ 2 KB). azure-identity.js, which runs the pipeline, is built without this.
 */
const pipelineWithoutSideEffects: Plugin = {
  name: 'pipeline-without-side-effects',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === 'resolved' || !/^(?:@azure\/core-rest-pipeline|@typespec\/ts-http-runtime)(?:\/|$)|^\.\.?\//.test(args.path)) return undefined;
      if (args.path.startsWith('.') && !/[\\/](?:@azure[\\/]core-rest-pipeline|@typespec[\\/]ts-http-runtime)[\\/]dist[\\/]esm[\\/]/.test(args.importer)) return undefined;
      const result = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'resolved' });
      if (result.errors.length) return { errors: result.errors };
      return { ...result, sideEffects: false };
    });
  },
};

/** The file @azure/identity is bundled into, next to each entry bundle. */
export const IDENTITY_BUNDLE = 'azure-identity.js';

/** Entry bundles require @azure/identity from IDENTITY_BUNDLE instead of inlining it. */
const identityApart: Plugin = {
  name: 'identity-apart',
  setup(b) {
    b.onResolve({ filter: /^@azure\/identity$/ }, () => ({ path: `./${IDENTITY_BUNDLE}`, external: true }));
  },
};

/** The flavours of the task bundles (src/core/flavour.ts). */
export type Flavour = 'release' | 'emulator';

/**
 * Text that must never be in a release bundle: the test-host switch (its variable name and the loopback
 * parser's message), the Arc folder override, and the build constant itself (left in only if a bundle was
 * built without its `define`, when the sources fall back to the emulator behaviour).
 */
export const EMULATOR_ONLY_MARKERS: readonly string[] = [
  'ManagedIdentity.TestHosts', 'must list loopback emulator hosts', 'MIADO_EMULATOR_ARC_TOKENS_DIR', 'MIADO_EMULATOR_BUILD',
];

/** The markers a bundle's code holds (none may be in a release bundle). */
export function emulatorMarkersIn(code: string): string[] {
  return EMULATOR_ONLY_MARKERS.filter((marker) => code.includes(marker));
}

/** Environment variable naming the Azure Arc key folder msal-node accepts, in the emulator flavour only. */
export const ARC_TOKENS_DIR_VARIABLE = 'MIADO_EMULATOR_ARC_TOKENS_DIR';

/**
 * Emulator flavour only: msal-node accepts an Azure Arc key file only in its fixed folder,
 * `/var/opt/azcmagent/tokens/` on Linux (@azure/msal-node src/client/ManagedIdentitySources/AzureArc.ts,
 * SUPPORTED_AZURE_ARC_PLATFORMS, checked in getServerTokenResponseAsync: the realm must be that folder plus a
 * `.key` file name, at most 4096 bytes). Tests cannot write there without root, and two runs would share it. Here
 * the folder comes from MIADO_EMULATOR_ARC_TOKENS_DIR when that is an absolute path ending in '/', and msal's
 * checks stay as they are. The release flavour keeps the library's constant untouched. The build fails if
 * msal-node no longer spells the constant this way, so an upgrade cannot silently drop the override.
 */
const emulatorArcKeyFolder: Plugin = {
  name: 'emulator-arc-key-folder',
  setup(b) {
    b.onLoad({ filter: /[\\/]@azure[\\/]msal-node[\\/]lib[\\/]msal-node\.cjs$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const constant = 'linux: "/var/opt/azcmagent/tokens/"';
      if (text.split(constant).length !== 2) throw new Error(`${args.path} no longer holds ${constant} once: update emulatorArcKeyFolder in scripts/build.ts`);
      const folder = `((d) => d && d.startsWith("/") && d.endsWith("/") ? d : "/var/opt/azcmagent/tokens/")(process.env.${ARC_TOKENS_DIR_VARIABLE})`;
      return { contents: text.replace(constant, `linux: ${folder}`), loader: 'js' };
    });
  },
};

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** The esbuild options of one task bundle. */
export function bundleOptions(
  entry: string, outfile: string, usedClients: ReadonlySet<string>, identityInline = false, flavour: Flavour = 'release',
): BuildOptions & { metafile: true } {
  return {
    define: { MIADO_EMULATOR_BUILD: String(flavour === 'emulator') },
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    // import() becomes require(): the start file runs the bundle as a vm.Script (src/core/compile-cache.ts), where a
    // real dynamic import would need a module loader of its own.
    supported: { 'dynamic-import': false },
    inject: [LAZY_GLOBALS],
    plugins: [
      lazyGlobals, lazyModules, unusedModules(usedClients), ...(identityInline ? [] : [identityApart, pipelineWithoutSideEffects]),
      ...(flavour === 'emulator' ? [emulatorArcKeyFolder] : []),
    ],
    metafile: true,
    logLevel: 'warning',
  };
}

/**
 * What azure-identity.js exports, and the module of @azure/identity's CommonJS build each comes from:
 * exactly the names src/identity/managed-identity.ts's IdentityLibrary picks (test/unit/bench.test.ts checks they agree).
 */
export const IDENTITY_EXPORTS: Readonly<Record<string, string>> = {
  ManagedIdentityCredential: 'credentials/managedIdentityCredential/index.js',
  WorkloadIdentityCredential: 'credentials/workloadIdentityCredential.js',
};

/** The esbuild options of azure-identity.js: IDENTITY_EXPORTS from their own modules, not the package's index. */
export function identityBundleOptions(outfile: string, flavour: Flavour = 'release'): BuildOptions & { metafile: true } {
  const root = dirname(require.resolve('@azure/identity'));
  const options = bundleOptions('', outfile, new Set(), true, flavour);
  delete options.entryPoints;
  const contents = Object.entries(IDENTITY_EXPORTS)
    .map(([name, module]) => `exports.${name} = require(${JSON.stringify(join(root, module))}).${name};`).join('\n');
  return { ...options, stdin: { contents, resolveDir: root, sourcefile: 'azure-identity-entry.js', loader: 'js' } };
}

export interface TaskBuildOptions {
  /** The publisher whose Marketplace page the tasks link to (scripts/publisher.ts); default vss-extension.json's. */
  readonly publisher?: string;
  /** Where the task folders are written; default tasks/. */
  readonly outRoot?: string;
  /** Release (default: what ships) or emulator (dist/test/*.vsix: tests, demo, bench, try-out); src/core/flavour.ts. */
  readonly flavour?: Flavour;
}

/** Builds every task's bundles; returns the line that reports them. */
export async function buildTasks(options: TaskBuildOptions = {}): Promise<string> {
  const started = Date.now();
  const manifest = readManifest();
  const define = publisherDefine(options.publisher ?? manifest.publisher, manifest);
  const outRoot = options.outRoot ?? 'tasks';
  const flavour = options.flavour ?? 'release';
  mkdirSync('.tmp', { recursive: true });
  const sizes: string[] = [];
  const written: string[] = [];
  for (const [folder, entries] of Object.entries(TASKS)) {
    const identity = join(outRoot, folder, IDENTITY_BUNDLE);
    await build(identityBundleOptions(identity, flavour));
    written.push(identity);
    sizes.push(`${folder}/${IDENTITY_BUNDLE} ${kib(statSync(identity).size)}`);
    const key = compileCacheKey(folder);
    for (const [name, entry] of Object.entries(entries)) {
      const outfile = join(outRoot, folder, bundleFile(name));
      const bundle = bundleOptions(entry, outfile, await usedClientsOf(entry), false, flavour);
      const result = await build({ ...bundle, define: { ...bundle.define, ...define } });
      const copies = taskLibCopies(result.metafile);
      if (copies.size > 1) throw new Error(`${folder}/${bundleFile(name)} bundles ${copies.size} copies of azure-pipelines-task-lib: ${[...copies].join(', ')}`);
      if (flavour === 'release') writeFileSync(join('.tmp', `${folder}.${name}.meta.json`), JSON.stringify(result.metafile));
      const start = join(outRoot, folder, `${name}.js`);
      await build(startOptions(name, start, key));
      written.push(outfile, start);
      sizes.push(`${folder}/${bundleFile(name)} ${kib(statSync(outfile).size)} (+ ${name}.js ${kib(statSync(start).size)})`);
    }
  }
  for (const file of flavour === 'release' ? written : []) {
    const markers = emulatorMarkersIn(readFileSync(file, 'utf8'));
    if (markers.length) {
      rmSync(file);
      throw new Error(`${file} would ship emulator-only code (${markers.join(', ')}): see src/core/flavour.ts`);
    }
  }
  return `Built ${Object.keys(TASKS).length} task(s)${flavour === 'release' ? '' : ` (${flavour} flavour)`} in ${Date.now() - started} ms: ${sizes.join(', ')}.`;
}

async function main(): Promise<void> {
  const publisher = resolvePublisher(process.argv.slice(2), process.env, readManifest());
  console.log(await buildTasks({ publisher }));
}

if (require.main === module) {
  void main().catch((err: unknown) => {
    console.error(err instanceof UsageError ? err.message : err);
    process.exitCode = 1;
  });
}
