/**
 * The benchmark's arithmetic and report (scripts/bench.ts), the peak-RSS probe it relies on, and the two
 * bundling measures of scripts/build.ts it reports on. No timing is asserted: timings belong to `npm run bench`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import fc from 'fast-check';
import {
  allOf, buildBudgets, formatReport, limitBudget, measure, quantile, ratioBudget, summarize, type BenchReport, type Measure,
} from '../../scripts/bench';
import { bundleOptions, IDENTITY_EXPORTS, identityBundleOptions, isUsedClient, usedClientsOf, usedNodeApiClients } from '../../scripts/build';

const RSS_PROBE = resolve('test/agent/rss-probe.js');

function node(args: readonly string[], env: Record<string, string | undefined> = process.env): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [...args], { env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      done({ status: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('benchmark statistics and report (scripts/bench.ts)', () => {
  it('summarizes samples: median, quartiles by linear interpolation, min, max', () => {
    assert.deepEqual(summarize([5, 1, 3]), { n: 3, median: 3, min: 1, max: 5, q1: 2, q3: 4, iqr: 2 });
    const even = summarize([10, 40, 20, 30]);
    assert.equal(even.median, 25);
    assert.equal(even.q1, 17.5);
    assert.equal(even.q3, 32.5);
    assert.equal(summarize([7]).iqr, 0);
    assert.throws(() => summarize([]), /at least one sample/);
    assert.throws(() => summarize([1, Number.NaN]), /finite/);
  });

  it('keeps min ≤ q1 ≤ median ≤ q3 ≤ max, and ignores sample order', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }), (samples) => {
      const s = summarize(samples);
      assert.ok(s.min <= s.q1 && s.q1 <= s.median && s.median <= s.q3 && s.q3 <= s.max, JSON.stringify(s));
      assert.deepEqual(summarize([...samples].reverse()), s);
      const sorted = [...samples].sort((a, b) => a - b);
      assert.equal(quantile(sorted, 0), sorted[0]);
      assert.equal(quantile(sorted, 1), sorted.at(-1));
    }));
  });

  it('marks ratio and limit budgets met, missed or failing', () => {
    const base = measure('node', 'node -e 0', 'ms', [30, 32, 31]);
    assert.equal(ratioBudget('a', 'x', measure('a', 'a', 'ms', [90, 93, 95]), base, 3).status, 'met');
    const missed = ratioBudget('a', 'x', measure('a', 'a', 'ms', [100, 96, 99]), base, 3);
    assert.equal(missed.status, 'missed');
    assert.equal(missed.value, 99 / 31);
    const failing = ratioBudget('a', 'x', measure('a', 'a', 'ms', [], { failure: 'exit 1' }), base, 3);
    assert.equal(failing.status, 'failing');
    assert.equal(failing.note, 'exit 1');
    assert.equal(limitBudget('v', 'vsix', 2 * 1024 * 1024, 2 * 1024 * 1024, 'bytes').status, 'met');
    assert.equal(limitBudget('v', 'vsix', 2 * 1024 * 1024 + 1, 2 * 1024 * 1024, 'bytes').status, 'missed');
    assert.equal(limitBudget('v', 'vsix', undefined, 1, 'bytes').status, 'failing');
    const met = limitBudget('t', 'time', 1, 2, 'ms');
    const over = limitBudget('t', 'time', 3, 2, 'ms');
    assert.equal(allOf('all', 'both', [met, met]).status, 'met');
    assert.equal(allOf('all', 'both', [met, over]).status, 'missed');
    assert.equal(allOf('all', 'both', [over, limitBudget('u', 'u', undefined, 1, 'ms')]).status, 'failing');
  });

  it('builds every budget from the measures and writes a report that survives JSON and reads as a table', () => {
    const ms = (id: string, samples: number[], baseline?: string, failure?: string): Measure =>
      measure(id, id, 'ms', samples, { ...(baseline ? { baseline } : {}), ...(failure ? { failure } : {}) });
    const measures: Measure[] = [
      ms('node', [30, 31, 32]), ms('auth.main', [80, 85, 90], 'node'),
      ms('node.stdin', [30, 30, 30]), ms('helper.get', [70, 75, 80], 'node.stdin'),
      ms('clone', [100, 100, 100]), ms('checkout', [], 'clone', 'TF401019: not found'),
      ms('list.bulk', [300, 310, 320]),
      measure('rss.auth.main', 'peak RSS Authenticate main', 'MiB', [60, 61, 62]),
      measure('rss.helper', 'peak RSS credential helper get', 'MiB', [101, 102, 103]),
    ];
    const sizes = { 'dist/x.vsix': 900 * 1024, 'ManagedIdentityAuthenticateV1/main.js': 800 * 1024 };
    const budgets = buildBudgets(measures, sizes, { count: 1000, repeated: 0, peakInFlight: 8, perProjectRequests: 50 });
    const status = Object.fromEntries(budgets.map((b) => [b.id, b.status]));
    assert.deepEqual(status, {
      auth: 'met', helper: 'missed', checkout: 'failing', list: 'met', rss: 'missed', vsix: 'met',
    });
    assert.match(budgets.find((b) => b.id === 'rss')!.note ?? '', /credential helper/);
    assert.equal(buildBudgets(measures, sizes, { count: 1000, repeated: 0, peakInFlight: 1, perProjectRequests: 50 }).find((b) => b.id === 'list')!.status, 'missed',
      'per-project pages fetched one at a time miss the budget');
    const feeds = (withFeeds: number[], failure?: string): string =>
      buildBudgets([ms('auth.nofeeds', [800, 810, 820]), ms('auth.feeds5', withFeeds, 'auth.nofeeds', failure)], sizes, {}).find((b) => b.id === 'feeds')!.status;
    assert.equal(feeds([840, 850, 860]), 'met', 'five feeds: +40 ms');
    assert.equal(feeds([860, 870, 880]), 'missed', 'five feeds: +60 ms');
    assert.equal(feeds([], 'Feed x does not exist'), 'failing');

    const report: BenchReport = {
      schema: 1, startedAt: '2026-01-01T00:00:00.000Z', durationMs: 61_000, commit: 'abc1234', runs: 3,
      machine: { node: 'v20.0.0', platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'cpu', memoryMiB: 1024, git: 'git version 2.39.5' },
      measures, sizes, details: {}, budgets, notes: ['a note'],
    };
    const parsed = JSON.parse(JSON.stringify(report)) as BenchReport;
    assert.deepEqual(parsed, report);
    assert.deepEqual(Object.keys(parsed.measures[1]!).sort(), ['baseline', 'id', 'label', 'samples', 'summary', 'unit']);
    assert.deepEqual(Object.keys(parsed.measures[1]!.summary!).sort(), ['iqr', 'max', 'median', 'min', 'n', 'q1', 'q3']);

    const previous: BenchReport = { ...report, measures: [ms('auth.main', [120, 130, 140], 'node')] };
    const table = formatReport(report, previous);
    assert.match(table, /auth\.main\s+85\.0 ms\s+80\.0 ms–90\.0 ms\s+5\.0 ms\s+3\s+31\.0 ms \(node\)\s+2\.74×\s+130 ms/);
    assert.match(table, /checkout\s+FAILING: TF401019: not found/);
    assert.match(table, /credential helper get ≤ 2 × node -e 0\s+2\.50 × node\.stdin\s+MISSED/);
    assert.match(table, /\.vsix ≤ 2 MiB\s+900\.0 KiB\s+met/);
    assert.match(table, /- a note/);
    assert.match(table, /3 of 6 budgets met/);
  });
});

describe('peak RSS probe (test/agent/rss-probe.js)', function () {
  this.timeout(30_000);

  it('reports the task process, not the big parent that spawned it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rss-probe-'));
    try {
      const out = join(dir, 'rss');
      // The parent holds 300 MiB; getrusage's maxRSS of a child it spawns would start there.
      const parent = `const held = Array.from({ length: 30 }, () => Buffer.alloc(10 * 1024 * 1024, 1));
const { execFile } = require('node:child_process');
execFile(process.execPath, ['--require', ${JSON.stringify(RSS_PROBE)}, '-e', '0'], { env: { ...process.env, AGENT_RUNNER_RSS_FILE: ${JSON.stringify(out)} } },
  (err) => { if (err) throw err; console.log(Math.round(process.memoryUsage().rss / 1024), held.length); });`;
      const result = await node(['-e', parent]);
      assert.equal(result.status, 0, result.stderr);
      const parentKiB = Number(result.stdout.split(' ')[0]);
      const childKiB = Number(readFileSync(out, 'utf8'));
      assert.ok(parentKiB > 300 * 1024, `the parent holds its 300 MiB (${parentKiB} KiB)`);
      assert.ok(childKiB > 10 * 1024 && childKiB < 150 * 1024, `node -e 0 peaks well under the parent's size (${childKiB} KiB)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('task bundles (scripts/build.ts)', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'bundle-test-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function bundleAndRun(source: string, used: ReadonlySet<string>): Promise<{ status: number; stdout: string; stderr: string }> {
    const outfile = join(dir, `b${Math.random().toString(36).slice(2)}.js`);
    const options = bundleOptions('unused', outfile, used);
    delete options.entryPoints;
    await build({ ...options, stdin: { contents: source, resolveDir: process.cwd(), loader: 'ts' } });
    return node([outfile], { PATH: process.env['PATH'] });
  }

  it('knows which azure-devops-node-api clients src/ asks for', () => {
    const used = usedNodeApiClients(['const git = await c.api.getGitApi();', 'api.getCoreApi ()', 'web.getWorkItemTrackingProcessDefinitionApi()']);
    assert.deepEqual([...used].sort(), ['coreapi', 'gitapi', 'locationsapi', 'workitemtrackingprocessdefinitionapi']);
    assert.ok(isUsedClient('GitApi', used));
    assert.ok(isUsedClient('LocationsApi', used));
    assert.ok(isUsedClient('WorkItemTrackingProcessDefinitionsApi', used));
    assert.ok(!isUsedClient('BuildApi', used));
    assert.ok(isUsedClient('CIXApi', usedNodeApiClients(['api.getCixApi()'])));
  });

  it('bundles the clients in use and fails loudly, naming the module, when an unbundled one is used', async () => {
    const source = `import { WebApi, getBearerHandler } from 'azure-devops-node-api';
const api = new WebApi('https://dev.azure.com/contoso/', getBearerHandler('t'));
console.log(typeof api.getGitApi, api.getBuildApi.name);
api.getBuildApi('https://dev.azure.com/contoso/', []).then(() => console.log('no error'), (e) => console.log(e.message));`;
    const result = await bundleAndRun(source, new Set(['gitapi', 'coreapi', 'locationsapi']));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^function getBuildApi\nazure-devops-node-api\/BuildApi is not bundled into this task: see scripts\/build\.ts$/m);
  });

  it('gives each bundle the clients its own sources ask for: Authenticate main carries neither GitApi nor CoreApi', async () => {
    assert.deepEqual([...await usedClientsOf('src/tasks/authenticate/main.ts')].sort(), ['locationsapi']);
    assert.deepEqual([...await usedClientsOf('src/tasks/repository/main.ts')].sort(), ['coreapi', 'gitapi', 'locationsapi']);
  });

  it('loads a lazy module on first use, and it works: qs behind typed-rest-client query parameters', async () => {
    const source = `import * as util from 'typed-rest-client/Util';
console.log(util.getUrl('a/b', 'https://example.test/x/', { params: { q: 'x y', n: [1, 2] } }));`;
    const result = await bundleAndRun(source, new Set());
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'https://example.test/x/a/b?q=x%20y&n=1&n=2');
  });

  it('loads zlib only to gunzip an answer, and then it works', async () => {
    const probe = await bundleAndRun(`import * as util from 'typed-rest-client/Util';
console.log(typeof util.decompressGzippedContent, process.moduleLoadList.includes('NativeModule zlib'));`, new Set());
    assert.equal(probe.stdout.trim(), 'function false', 'not loaded with typed-rest-client');
    const result = await bundleAndRun(`import * as util from 'typed-rest-client/Util';
const gzipped = Buffer.from('H4sIAAAAAAAAA6tWys9WsjKsBQAJjFQQCAAAAA==', 'base64');
util.decompressGzippedContent(gzipped, 'utf-8').then((text) => console.log(text));`, new Set());
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), '{"ok":1}');
  });

  it('task-lib\'s ToolRunner still runs a tool with its promise library q loaded on first use', async () => {
    const result = await bundleAndRun(`import * as tl from 'azure-pipelines-task-lib/task';
tl.tool(process.execPath).arg(['-e', 'process.exit(3)']).exec({ silent: true, ignoreReturnCode: true } as never).then((code) => console.log('tool exit', code));`, new Set());
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^tool exit 3$/m);
  });

  it('keeps of @azure/core-rest-pipeline only the headers and request the identity transport uses (no logger, no policies)', async () => {
    const result = await build({ ...bundleOptions('src/tasks/credential-helper.ts', join(dir, 'helper.js'), new Set(['locationsapi'])), write: false });
    const inputs = Object.entries(Object.values(result.metafile.outputs)[0]!.inputs)
      .filter(([file, input]) => /@azure[\\/]core-rest-pipeline|@typespec[\\/]ts-http-runtime/.test(file) && input.bytesInOutput > 10)
      .map(([file, input]) => [file.replace(/^.*node_modules[\\/]/, ''), input.bytesInOutput] as const);
    // A package's index may remain as the lazy-init wrapper esbuild gives modules a dynamic import reaches (the helper
    // imports the broker's code on demand): a few dozen bytes that only initialise the two modules below.
    for (const [file, bytes] of inputs.filter(([file]) => /dist\/esm\/index\.js$/.test(file))) assert.ok(bytes < 120, `${file}: ${bytes} bytes`);
    const kept = inputs.filter(([file]) => !/dist\/esm\/index\.js$/.test(file)).map(([file]) => file);
    assert.deepEqual(kept.sort(), ['@azure/core-rest-pipeline/dist/esm/httpHeaders.js', '@azure/core-rest-pipeline/dist/esm/pipelineRequest.js', '@typespec/ts-http-runtime/dist/esm/httpHeaders.js', '@typespec/ts-http-runtime/dist/esm/pipelineRequest.js', '@typespec/ts-http-runtime/dist/esm/util/uuidUtils.js']);
  });

  it('azure-identity.js holds the credentials src/identity/managed-identity.ts uses, and neither the rest of the package nor jsonwebtoken', async () => {
    const picked = /export type IdentityLibrary = Pick<typeof import\('@azure\/identity'\), ([^>]+)>/.exec(readFileSync('src/identity/managed-identity.ts', 'utf8'));
    assert.ok(picked, 'src/identity/managed-identity.ts declares IdentityLibrary');
    assert.deepEqual(picked[1]!.split('|').map((s) => s.trim().replace(/'/g, '')).sort(), Object.keys(IDENTITY_EXPORTS).sort());
    const outfile = join(dir, 'azure-identity.js');
    const { metafile } = await build(identityBundleOptions(outfile));
    const inputs = Object.keys(metafile.inputs);
    assert.ok(inputs.some((i) => /msal-node/.test(i)) && !inputs.some((i) => /defaultAzureCredential|interactiveBrowserCredential|node_modules\/jsonwebtoken\//.test(i)), inputs.join('\n'));
    const result = await node(['-e', `const m = require(${JSON.stringify(outfile)}); console.log(Object.keys(m).sort().join(), typeof m.ManagedIdentityCredential)`]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), `${Object.keys(IDENTITY_EXPORTS).sort().join()} function`);
  });

  it('answers instanceof FormData without loading undici, and still recognizes a real FormData', async () => {
    const source = `const undici = () => process.moduleLoadList.some((m) => m.includes('undici'));
const before = [typeof FormData, 'text' instanceof FormData, {} instanceof FormData, undici()];
const real = new globalThis.FormData();
console.log(JSON.stringify([...before, real instanceof FormData, new FormData() instanceof globalThis.FormData]));`;
    const result = await bundleAndRun(source, new Set());
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), ['function', false, false, false, true, true]);
  });
});
