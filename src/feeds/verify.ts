/**
 * Each feed is read once before anything is configured, as organizations are (connectionData): Feed
 * Management - Get Feed, `GET https://feeds.dev.azure.com/{org}[/{project}]/_apis/packaging/feeds/{feed}`
 * (api-version 7.1; area Packaging, resource Feeds, location c65009a7-474a-4ad1-8b42-7d852107ef8c). It needs
 * the ReadPackages permission every feed role includes, answers 403 FeedNeedsPermissionsException without it
 * and 404 for a feed that is not in that scope (Azure DevOps Server 2022's Feed.Server FeedController and
 * Feed.Common FeedSecurityHelper, github.com/mjwrona/decompiled). A view (`feed@Release`) is passed as part
 * of the feed id, as the protocol URLs take it; the Feed answer has viewId/viewName for that case.
 * One request per feed, all in parallel, through the organization's azure-devops-node-api client (the
 * agent's proxy, the token pinned to the host, retries on 429/5xx as for every Azure DevOps read).
 */
import type { WebApi } from 'azure-devops-node-api';
import { DevOpsError } from '../core/errors';
import type { Log } from '../core/log';
import type { TokenClaims } from '../identity/jwt';
import { connectOrganization, explainDevOpsError, identityLabel, retrying } from '../devops/client';
import type { HostPolicy } from '../devops/organizations';
import type { Feed } from './feed';

export const FEED_API_VERSION = '7.1';

export interface VerifiedFeed {
  readonly feed: Feed;
  /** The feed's GUID and name as Azure Artifacts reports them. */
  readonly id: string;
  readonly name: string;
}

interface FeedAnswer {
  id?: string;
  name?: string;
  project?: { name?: string } | null;
}

/** `contoso/libs`, `fabrikam/Shared Tools/tools`: how messages name a feed. */
export const feedLabel = (feed: Feed): string => [feed.org, ...(feed.project !== undefined ? [feed.project] : []), feed.feed].join('/');

function notFound(feed: Feed, who: string): DevOpsError {
  const scope = feed.project !== undefined ? `project '${feed.project}' of organization '${feed.org}'` : `organization '${feed.org}' (organization-scoped)`;
  return new DevOpsError(
    `Feed '${feed.feed}' does not exist in ${scope}, or the identity (${who}) cannot see it (line ${feed.line} of feeds).`,
    'Check the feed name and its scope: a project-scoped feed is named with its project ({org}/{project}/{feed}); copy the URL from the feed\'s Connect to feed page.',
    404);
}

function cannotRead(feed: Feed, claims: TokenClaims, detail: string, status?: number): DevOpsError {
  return new DevOpsError(
    `The identity (${identityLabel(claims)}) cannot read feed '${feedLabel(feed)}' (line ${feed.line} of feeds): ${detail}`,
    `In Artifacts, open the feed's Feed settings > Permissions and add the identity (object id ${claims.oid ?? 'unknown'}) as Feed Reader, or Feed Publisher (Contributor) to publish. ` +
      "The project's build service ('{project} Build Service ({org})') is a different principal: its permission does not apply to this identity.",
    status);
}

async function readFeed(api: WebApi, feed: Feed, claims: TokenClaims, log: Log): Promise<VerifiedFeed> {
  const what = `read feed '${feedLabel(feed)}'`;
  const url = `${feed.api.url}${feed.apiPath}?api-version=${FEED_API_VERSION}`;
  const who = identityLabel(claims);
  let answer: { statusCode: number; result: FeedAnswer | null };
  try {
    answer = await retrying(what, log, () => api.rest.get<FeedAnswer>(url));
  } catch (err) {
    const e = err as { statusCode?: number; message?: string; result?: { typeKey?: string; message?: string } };
    if (e.statusCode === 403 || e.result?.typeKey === 'FeedNeedsPermissionsException') {
      throw cannotRead(feed, claims, e.result?.message ?? e.message ?? 'HTTP 403', e.statusCode);
    }
    if (e.statusCode === 404) throw notFound(feed, who);
    throw explainDevOpsError(err, feed.api, what, claims);
  }
  if (answer.statusCode === 404) throw notFound(feed, who);
  if (answer.statusCode === 203 || !answer.result?.id) throw explainDevOpsError({ statusCode: 203 }, feed.api, what, claims);
  return { feed, id: answer.result.id, name: answer.result.name ?? feed.feed };
}

/** Reads every feed (one client per organization); fails with the first feed the identity cannot read. */
export async function verifyFeeds(feeds: readonly Feed[], token: string, claims: TokenClaims, policy: HostPolicy, log: Log): Promise<VerifiedFeed[]> {
  const clients = new Map<string, Promise<WebApi>>();
  return Promise.all(feeds.map(async (feed) => {
    const key = feed.api.url.toLowerCase();
    if (!clients.has(key)) clients.set(key, connectOrganization(feed.api, token, policy));
    const verified = await readFeed(await clients.get(key)!, feed, claims, log);
    log.info(`Feed '${feedLabel(feed)}' is readable by this identity (feed id ${verified.id}).`);
    return verified;
  }));
}
