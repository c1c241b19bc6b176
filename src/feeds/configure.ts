/**
 * Feeds for the rest of the job: each feed read once (verify.ts), then every client that has feeds gets
 * them the way it reads credentials (one module each: npm.ts, pip.ts, twine.ts, nuget.ts, maven.ts,
 * cargo.ts). Returns what the post-job step undoes. The token is registered as a secret (all its forms)
 * before this runs; new encodings of it (Cargo's Basic value) are registered by the writer before use.
 */
import { homedir } from 'node:os';
import type { Log } from '../core/log';
import type { AzureDevOpsToken, IdentitySelector } from '../identity/managed-identity';
import { HELPER_USERNAME } from '../git/credential-helper';
import { configureCargo, CARGO_NAME } from './cargo';
import { configureGradle, GRADLE_NAME } from './gradle';
import { CLIENT_NAMES, CLIENTS, type Client, type Feed } from './feed';
import { removeFeedFile } from './files';
import type { ClientFeed, FeedJob, SetVariable, WriteContext, Written } from './job';
import { configureMaven } from './maven';
import { configureNpm } from './npm';
import { configureNuget } from './nuget';
import { configurePip } from './pip';
import { configureTwine } from './twine';
import { feedLabel } from './verify';

export interface FeedOptions {
  readonly feeds: readonly Feed[];
  /** pip: every feed an extra index (PipAuthenticate's onlyAddExtraIndex). */
  readonly onlyAddExtraIndex: boolean;
  readonly tempDir: string;
  readonly selector: IdentitySelector;
}

/** What the post-job step undoes: files to delete, variables to set back. No secret in it. */
export interface FeedState {
  readonly version: 1;
  readonly files: readonly string[];
  readonly variables: readonly SetVariable[];
}

export interface FeedResult {
  readonly state: FeedState;
  /** One line per feed: which clients got it. */
  readonly configured: readonly string[];
  /** Until when the credentials written hold (the token's expiry), or 'renewed' when only NuGet's provider, which renews, got feeds. */
  readonly validUntil: string;
}

/**
 * The client id the NuGet credential provider's managed-identity mode needs, when it can reach the same
 * identity itself: `system` for the system-assigned (or only) identity, else a user-assigned client id (for
 * objectId / resourceId selectors, the one the token names). Undefined for AKS workload identity, which
 * MSAL's managed-identity client does not cover.
 */
export function renewalClientId(token: AzureDevOpsToken, selector: IdentitySelector): string | undefined {
  if (token.source.name === 'AKS workload identity') return undefined;
  if (selector.kind === 'system') return 'system';
  if (selector.kind === 'clientId') return selector.value;
  return token.claims.appid ?? token.claims.azp;
}

function byClient(feeds: readonly Feed[], log: Log): Map<Client, ClientFeed[]> {
  const map = new Map<Client, ClientFeed[]>();
  for (const feed of feeds) {
    for (const [client, url] of feed.urls) {
      if (client === 'cargo' && !CARGO_NAME.test(feed.name)) {
        log.info(`Cargo: not configured for feed '${feedLabel(feed)}': '${feed.name}' is not a Cargo registry name (letters, digits, '-', '_'); add ' as {name}' to line ${feed.line} for Cargo.`);
        continue;
      }
      if (client === 'gradle' && !GRADLE_NAME.test(feed.name)) {
        log.info(`Gradle: not configured for feed '${feedLabel(feed)}': '${feed.name}' is not a Gradle repository name with credentials (letters and digits only); add ' as {name}' to line ${feed.line} for Gradle.`);
        continue;
      }
      const list = map.get(client) ?? [];
      if (!list.some((f) => f.url === url)) list.push({ feed, url });
      map.set(client, list);
    }
  }
  return map;
}

/**
 * Writes every client's configuration (after verifyFeeds, which the task runs beside the organizations'
 * check). When a writer fails, what the others wrote is removed before the error goes on.
 */
export function configureFeeds(job: FeedJob, token: AzureDevOpsToken, options: FeedOptions): FeedResult {
  const registered = new Set<string>();
  const ctx: WriteContext = {
    job, tempDir: options.tempDir, token: token.token, user: HELPER_USERNAME, home: homedir(),
    mask: (value) => {
      if (registered.has(value)) return;
      registered.add(value);
      job.setSecret(value);
    },
  };
  const clients = byClient(options.feeds, job);
  const written: Written[] = [];
  try {
    for (const client of CLIENTS) {
      const feeds = clients.get(client);
      if (!feeds?.length) continue;
      switch (client) {
        case 'npm': written.push(configureNpm(ctx, feeds)); break;
        case 'pip': written.push(configurePip(ctx, feeds, options.onlyAddExtraIndex)); break;
        case 'twine': written.push(configureTwine(ctx, feeds)); break;
        case 'nuget': written.push(configureNuget(ctx, feeds, renewalClientId(token, options.selector))); break;
        case 'maven': written.push(configureMaven(ctx, feeds)); break;
        case 'gradle': written.push(configureGradle(ctx, feeds)); break;
        case 'cargo': written.push(configureCargo(ctx, feeds)); break;
      }
    }
  } catch (err) {
    for (const file of written.flatMap((w) => w.files)) removeFeedFile(options.tempDir, file);
    for (const v of written.flatMap((w) => w.variables)) job.setEnvironmentVariable(v.name, v.restore, v.preserveCase ? { preserveCase: true } : {});
    throw err;
  }
  for (const w of written) job.info(`${CLIENT_NAMES[w.client]}: ${w.feeds.map((f) => feedLabel(f.feed)).join(', ')} — ${w.how}.`);
  const configured = options.feeds.map((feed) => {
    const names = written.filter((w) => w.feeds.some((f) => f.feed === feed)).map((w) => CLIENT_NAMES[w.client]);
    return `${feedLabel(feed)}: ${names.join(', ') || 'no client'}`;
  });
  const renews = written.some((w) => w.client === 'nuget' && w.variables.some((v) => v.name === 'ARTIFACTS_CREDENTIALPROVIDER_FEED_ENDPOINTS'));
  const fixed = written.filter((w) => !(w.client === 'nuget' && renews)).map((w) => CLIENT_NAMES[w.client]);
  if (fixed.length) {
    job.info(`The feed credentials of ${fixed.join(', ')} hold this token, valid until ${token.expiresOn.toISOString()}: steps after that get 401 from the feeds; ` +
      'run ManagedIdentityAuthenticate@1 again before them.' + (renews ? ' NuGet renews its own token.' : ''));
  } else if (renews) {
    job.info('NuGet renews its own token for each restore; no feed credential of this job expires.');
  }
  return {
    state: { version: 1, files: written.flatMap((w) => w.files), variables: written.flatMap((w) => w.variables) },
    configured,
    validUntil: fixed.length ? `${token.expiresOn.toISOString()}${renews ? ' (NuGet renews its own)' : ''}` : 'renewed by NuGet\'s credential provider for each restore',
  };
}

/** The post-job half: deletes the files and sets the variables back. Idempotent; never throws. */
export function removeFeedConfiguration(job: FeedJob, tempDir: string, saved: string | undefined): void {
  if (!saved) return;
  let state: FeedState;
  try {
    state = JSON.parse(saved) as FeedState;
  } catch {
    job.warn('Not removing the feed configuration: its saved state is not readable.');
    return;
  }
  if (state.version !== 1 || !Array.isArray(state.files) || !Array.isArray(state.variables)) {
    job.warn('Not removing the feed configuration: its saved state is not readable.');
    return;
  }
  for (const file of state.files) {
    if (!removeFeedFile(tempDir, file)) job.warn(`Not removing '${file}': it is not a feed configuration file inside the agent's temp directory.`);
  }
  for (const v of state.variables) job.setEnvironmentVariable(v.name, v.restore, v.preserveCase ? { preserveCase: true } : {});
  job.info(`Removed the job's feed configuration (${state.files.length} file${state.files.length === 1 ? '' : 's'}, ${state.variables.length} variable${state.variables.length === 1 ? '' : 's'}).`);
}
