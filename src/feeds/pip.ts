/**
 * pip: the feeds' `simple/` URLs with the token as password, in PIP_INDEX_URL and PIP_EXTRA_INDEX_URL,
 * which pip reads from the environment (pip docs, "Environment Variables"). As PipAuthenticate@1 does
 * (microsoft/azure-pipelines-tasks Tasks/PipAuthenticateV1/pipauthenticatemain.ts): the first feed becomes
 * the index and the others extra indexes, or all of them extra indexes with `onlyAddExtraIndex`. Unlike
 * it, extra index URLs already set (by the agent, a variable or an earlier step) are kept after ours
 * rather than replaced, so a mirror configured elsewhere survives.
 */
import { setJobVariable, type ClientFeed, type SetVariable, type WriteContext, type Written } from './job';

/** The URL with the token as password (the user name is ignored by Azure Artifacts). */
export function withCredentials(url: string, user: string, token: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = token;
  return u.href;
}

const withoutUserinfo = (url: string): string => {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return url;
  }
};

export function configurePip(ctx: WriteContext, feeds: readonly ClientFeed[], onlyExtraIndex: boolean): Written {
  const urls = feeds.map((f) => withCredentials(f.url, ctx.user, ctx.token));
  const variables: SetVariable[] = [];
  const [first, ...rest] = urls;
  const index = onlyExtraIndex ? undefined : first;
  const extra = onlyExtraIndex ? urls : rest;
  const ours = new Set(feeds.map((f) => withoutUserinfo(f.url)));
  const kept = (ctx.job.variable('PIP_EXTRA_INDEX_URL') ?? '').split(/\s+/).filter((u) => u && !ours.has(withoutUserinfo(u)));
  if (index) setJobVariable(ctx, 'PIP_INDEX_URL', index, true, variables);
  if (extra.length) setJobVariable(ctx, 'PIP_EXTRA_INDEX_URL', [...extra, ...kept].join(' '), true, variables);
  const shown = [
    ...(index ? [`PIP_INDEX_URL (${feeds[0]!.url})`] : []),
    ...(extra.length ? [`PIP_EXTRA_INDEX_URL (${feeds.slice(index ? 1 : 0).map((f) => f.url).join(' ')}${kept.length ? `, then ${kept.length} kept from before` : ''})`] : []),
  ];
  return { client: 'pip', feeds, files: [], variables, how: `${shown.join(' and ')}, the token as password` };
}
