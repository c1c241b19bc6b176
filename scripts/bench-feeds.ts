/**
 * What `feeds` costs the authenticate step: the PACKAGED ManagedIdentityAuthenticate@1's main step with
 * verify on and one organization, without feeds and with five feeds of every client (five Get Feed reads in
 * parallel, then the npm user config, pip variables, .pypirc, NuGet, Maven settings.xml, Gradle and Cargo
 * variables), alternating the two after one discarded warm-up pair, through the agent-like runner against
 * the loopback emulators. The figure is the difference of the two medians (whole process, spawn to close);
 * the budget: at most 50 ms. The difference is small next to a busy machine's spread, so this section runs at
 * least MIN_PAIRS pairs, and also reports the median of the per-pair differences (each pair ran back to back).
 *
 *   npx tsx scripts/bench-feeds.ts [--runs 7]       (after build + package)
 *
 * `benchFeeds()` and `feedsBudget()` are used by `npm run bench`.
 */
import { CONTOSO_LIBS, FEED_ROLES, type FeedRecord, type FeedRole } from '../test/emulators';
import { harness, taskDir, type Harness } from '../test/e2e/support';
import type { BudgetCheck, Measure } from './bench';
import { median } from './stats';

export const FEEDS_BUDGET_MS = 50;
const FEED_COUNT = 5;
const MIN_PAIRS = 15;

/** Where samples go (bench.ts's collector). */
export interface FeedsCollector {
  add(id: string, value: number | undefined): void;
  fail(id: string, why: string): void;
}

/** Five more feeds in contoso, copies of `libs` the agent's identity may read; the `feeds` input naming them. */
function addBenchFeeds(h: Harness): string {
  const libs = h.emu.feeds.feeds.find((f) => f.id === CONTOSO_LIBS.id)!;
  const names: string[] = [];
  for (let i = 1; i <= FEED_COUNT; i++) {
    const name = `bench${i}`;
    names.push(`contoso/${name}`);
    if (h.emu.feeds.feeds.some((f) => f.name === name)) continue;
    const feed: FeedRecord = {
      id: `00000000-0000-4000-8000-00000000000${i}`, name, org: 'contoso', views: libs.views,
      permissions: new Map<string, FeedRole>([...libs.permissions].map(([id]) => [id, FEED_ROLES[0]])), packages: [],
    };
    h.emu.feeds.feeds.push(feed);
  }
  return names.join('\n');
}

/** Alternating runs of Authenticate without and with five feeds; samples as 'auth.nofeeds' and 'auth.feeds5'. */
export async function benchFeeds(h: Harness, c: FeedsCollector, runs: number): Promise<Record<string, unknown>> {
  const task = await taskDir('ManagedIdentityAuthenticate');
  const feeds = addBenchFeeds(h);
  const once = async (id: string, inputs: Record<string, string>, record: boolean): Promise<number | undefined> => {
    const job = await h.run([{ task, inputs: { organizations: 'contoso', verify: 'true', ...inputs } }]);
    const main = job.steps.find((s) => s.phase === 'main');
    if (job.result !== 'Succeeded') {
      c.fail(id, job.steps.flatMap((s) => s.errors)[0] ?? job.result);
      return undefined;
    }
    if (record) c.add(id, main?.durationMs);
    return main?.durationMs;
  };
  const pairs: number[] = [];
  for (let i = 0; i <= Math.max(runs, MIN_PAIRS); i++) {
    const record = i > 0;
    const without = await once('auth.nofeeds', {}, record);
    if (without === undefined) break;
    const withFeeds = await once('auth.feeds5', { feeds }, record);
    if (withFeeds === undefined) break;
    if (record) pairs.push(withFeeds - without);
  }
  return {
    feeds: feeds.split('\n'), clients: 'npm, pip, twine, NuGet, Maven, Gradle, Cargo', pairs: pairs.length,
    pairedMedianMs: pairs.length ? median(pairs) : undefined,
    method: 'main step durationMs through test/agent runJob, alternating, one warm-up pair discarded',
  };
}

/** The report's note on the paired differences, when the section ran. */
export function feedsNotes(details: unknown): string[] {
  const d = details as { pairs?: number; pairedMedianMs?: number } | undefined;
  return d?.pairedMedianMs === undefined ? [] : [`five feeds: median of the per-pair differences ${d.pairedMedianMs >= 0 ? '+' : ''}${d.pairedMedianMs.toFixed(1)} ms over ${d.pairs} back-to-back pairs`];
}

/** Five feeds add at most FEEDS_BUDGET_MS to the median Authenticate main step; failing without both figures. */
export function feedsBudget(measures: readonly Measure[]): BudgetCheck | undefined {
  const without = measures.find((m) => m.id === 'auth.nofeeds');
  const withFeeds = measures.find((m) => m.id === 'auth.feeds5');
  if (!without && !withFeeds) return undefined;
  const budget = `five feeds (every client) add ≤ ${FEEDS_BUDGET_MS} ms to Authenticate main`;
  if (!without?.summary || !withFeeds?.summary) {
    return { id: 'feeds', budget, measured: 'no figure', limit: FEEDS_BUDGET_MS, status: 'failing', note: withFeeds?.failure ?? without?.failure ?? 'not measured' };
  }
  const added = withFeeds.summary.median - without.summary.median;
  return {
    id: 'feeds', budget, measured: `+${added.toFixed(1)} ms (${withFeeds.summary.median.toFixed(0)} vs ${without.summary.median.toFixed(0)} ms)`,
    value: added, limit: FEEDS_BUDGET_MS, status: added <= FEEDS_BUDGET_MS ? 'met' : 'missed',
  };
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--runs');
  const runs = i >= 0 ? Number(process.argv[i + 1]) : 7;
  const h = await harness();
  const samples = new Map<string, number[]>();
  try {
    await benchFeeds(h, {
      add: (id, v) => void (v !== undefined && samples.set(id, [...(samples.get(id) ?? []), v])),
      fail: (id, why) => { throw new Error(`${id}: ${why}`); },
    }, runs);
  } finally {
    await h.stop();
  }
  const a = median(samples.get('auth.nofeeds') ?? []);
  const b = median(samples.get('auth.feeds5') ?? []);
  console.log(`Authenticate main, median of ${runs}: ${a.toFixed(0)} ms without feeds, ${b.toFixed(0)} ms with five feeds: +${(b - a).toFixed(1)} ms (budget ${FEEDS_BUDGET_MS} ms)`);
}

if (require.main === module) {
  main().then(() => process.exit(0), (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
