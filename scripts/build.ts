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
 *   Authenticate's main.js, which only asks connectionData, carries neither GitApi nor CoreApi.)
 * - Modules that only rare paths use are loaded on first use instead of at start (LAZY_MODULES): the proxy
 *   agents (only with a proxy) and qs (typed-rest-client's own query parameters, which node-api never passes).
 * - Node defines `FormData` as a lazy global whose first read loads undici (~20 ms). @typespec/ts-http-runtime
 *   reads it on every request (`typeof FormData !== "undefined" && body instanceof FormData`). The bundles
 *   see a stand-in instead that asks the real class only about values that are FormData objects.
 *
 * @azure/identity (with msal, ≈ 400 KB) is its own file in each task folder, azure-identity.js, required
 * only when a token is asked of the library: the git credential helper asks IMDS and App Service directly
 * (src/identity/direct.ts) and so never loads nor even parses it there. That file holds the two credentials
 * src/identity/managed-identity.ts uses (IDENTITY_EXPORTS), not the package's index, which loads every credential it has
 * (DefaultAzureCredential, the CLI, browser and certificate ones…), and jsonwebtoken, which msal-node
 * needs only to sign certificate assertions, is a stub.
 */
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

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

/** The file @azure/identity is bundled into, next to each entry bundle. */
export const IDENTITY_BUNDLE = 'azure-identity.js';

/** Entry bundles require @azure/identity from IDENTITY_BUNDLE instead of inlining it. */
const identityApart: Plugin = {
  name: 'identity-apart',
  setup(b) {
    b.onResolve({ filter: /^@azure\/identity$/ }, () => ({ path: `./${IDENTITY_BUNDLE}`, external: true }));
  },
};

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** The esbuild options of one task bundle. */
export function bundleOptions(entry: string, outfile: string, usedClients: ReadonlySet<string>, identityInline = false): BuildOptions & { metafile: true } {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    inject: [LAZY_GLOBALS],
    plugins: [lazyGlobals, lazyModules, unusedModules(usedClients), ...(identityInline ? [] : [identityApart])],
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
export function identityBundleOptions(outfile: string): BuildOptions & { metafile: true } {
  const root = dirname(require.resolve('@azure/identity'));
  const options = bundleOptions('', outfile, new Set(), true);
  delete options.entryPoints;
  const contents = Object.entries(IDENTITY_EXPORTS)
    .map(([name, module]) => `exports.${name} = require(${JSON.stringify(join(root, module))}).${name};`).join('\n');
  return { ...options, stdin: { contents, resolveDir: root, sourcefile: 'azure-identity-entry.js', loader: 'js' } };
}

async function main(): Promise<void> {
  const started = Date.now();
  mkdirSync('.tmp', { recursive: true });
  const sizes: string[] = [];
  for (const [folder, entries] of Object.entries(TASKS)) {
    const identity = join('tasks', folder, IDENTITY_BUNDLE);
    await build(identityBundleOptions(identity));
    sizes.push(`${folder}/${IDENTITY_BUNDLE} ${kib(statSync(identity).size)}`);
    for (const [name, entry] of Object.entries(entries)) {
      const outfile = join('tasks', folder, `${name}.js`);
      const result = await build(bundleOptions(entry, outfile, await usedClientsOf(entry)));
      const copies = taskLibCopies(result.metafile);
      if (copies.size > 1) throw new Error(`${folder}/${name}.js bundles ${copies.size} copies of azure-pipelines-task-lib: ${[...copies].join(', ')}`);
      writeFileSync(join('.tmp', `${folder}.${name}.meta.json`), JSON.stringify(result.metafile));
      sizes.push(`${folder}/${name}.js ${kib(statSync(outfile).size)}`);
    }
  }
  console.log(`Built ${Object.keys(TASKS).length} task(s) in ${Date.now() - started} ms: ${sizes.join(', ')}.`);
}

if (require.main === module) {
  void main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
