/**
 * npm (and pnpm, which reads npm's configuration): a job user config holding `//host/path/:_authToken=…`
 * for each feed registry, named by NPM_CONFIG_USERCONFIG. It starts as a copy of the user config npm would
 * have read (NPM_CONFIG_USERCONFIG if set, else ~/.npmrc) without its credentials for these registries, so
 * the project's own .npmrc (`registry=`, `@scope:registry=`) and the user's other settings keep working.
 * The project's files are never touched: Microsoft's NpmAuthenticate@0 edits the project .npmrc instead and
 * restores it after the job (microsoft/azure-pipelines-tasks Tasks/NpmAuthenticateV0/npmauth.ts); a token in
 * the work tree is what this task avoids. Keys are npm's "nerf dart" form (`//{host}{path}/`), which npm
 * matches against each request URL's path (npm-registry-fetch auth.js), tarballs under the registry included.
 */
import { join } from 'node:path';
import { readCarriedFile, writePrivateFile } from './files';
import { setJobVariable, type ClientFeed, type SetVariable, type WriteContext, type Written } from './job';

/** `//host/path/` of a registry URL (host lower-cased by the URL parser, path as written, with a trailing slash). */
export function nerfDart(registry: string): string {
  const url = new URL(registry);
  return `//${url.host}${url.pathname.replace(/\/?$/, '/')}`;
}

const AUTH_KEYS = /^(_authToken|_auth|_password|username|email|certfile|keyfile)$/;

/** The carried-over config without credential lines for `darts` (any spacing, `key = value` or `key=value`). */
export function withoutCredentials(text: string, darts: readonly string[]): string {
  const lower = darts.map((d) => d.toLowerCase());
  return text.split(/\r?\n/).filter((line) => {
    const m = /^\s*(\/\/[^\s=]*?\/):([^\s=]+)\s*=/.exec(line);
    return !(m && lower.includes(m[1]!.toLowerCase()) && AUTH_KEYS.test(m[2]!));
  }).join('\n');
}

export function configureNpm(ctx: WriteContext, feeds: readonly ClientFeed[]): Written {
  const source = ctx.job.variable('NPM_CONFIG_USERCONFIG') ?? process.env['npm_config_userconfig'] ?? join(ctx.home, '.npmrc');
  const darts = [...new Set(feeds.map((f) => nerfDart(f.url)))];
  const carried = readCarriedFile(source);
  const lines = [
    ...(carried ? [withoutCredentials(carried, darts).replace(/\n*$/, ''), ''] : []),
    '; Azure Artifacts feeds of this job: ManagedIdentityAuthenticate@1 (this file is deleted by its post-job step)',
    ...darts.map((dart) => `${dart}:_authToken=${ctx.token}`),
    '',
  ];
  const file = writePrivateFile(ctx.tempDir, 'npmrc', lines.join('\n'));
  const variables: SetVariable[] = [];
  setJobVariable(ctx, 'NPM_CONFIG_USERCONFIG', file, false, variables);
  const from = carried ? `, carrying over ${source}` : '';
  return { client: 'npm', feeds, files: [file], variables, how: `_authToken in the job's user config NPM_CONFIG_USERCONFIG=${file}${from}` };
}
