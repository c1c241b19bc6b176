/**
 * Publishes this extension privately to the Visual Studio Marketplace and shares it with organizations, with an Entra
 * access token instead of a Personal Access Token:
 *
 *   npm run publish:private -- --publisher you --share-with org1,org2 [--vsix file] [--no-wait-validation]
 *
 * The token is read from the environment variable MARKETPLACE_TOKEN (in a pipeline, map the secret variable of
 * ManagedIdentityAuthenticate@1 into it), or else asked of the Azure CLI (`az account get-access-token --resource
 * 499b84ac-…`, read from its stdout pipe). It must be an Entra token for Azure DevOps (resource 499b84ac-…); a PAT or
 * a token for another resource is refused before anything is sent.
 *
 * Why tfx-cli's classes are driven in-process rather than `tfx extension publish` run as a command: tfx takes
 * credentials only from argv (`--token`, `--password`: tfx-cli _build/lib/tfcommand.js registerCommandArgument and
 * getCredentials), from a prompt, or from the file `tfx login` writes (lib/credstore.js FileStore over lib/diskcache.js,
 * in the home folder). None keeps the token out of argv and files. So this script does what ExtensionPublish.exec
 * (_build/exec/extension/publish.js) does after reading its arguments, with tfx's own modules: the Basic handler tfx
 * builds for `--token` (getBasicHandler("OAuth", token), tfcommand.js), a GalleryApi of tfx's azure-devops-node-api on
 * the Marketplace URL (default.js getGalleryApi), PackagePublisher.publish (create or update, then wait for
 * validation) and SharingManager.shareWith (_lib/publish.js). The requests are the ones `tfx extension publish
 * --share-with` sends; the token exists only in this process's memory and in each request's Authorization header.
 *
 * For tests only, MARKETPLACE_SERVICE_URL (or --service-url) may name a loopback emulator; nothing else but the
 * Marketplace can receive the token.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { AZURE_DEVOPS_ONLY, parseOrganization } from '../src/devops/organizations';
import { AZURE_DEVOPS_RESOURCE } from '../src/identity/managed-identity';
import { readClaims, type TokenClaims } from '../src/identity/jwt';
import { InputError } from '../src/core/errors';
import { packageExtension, vsixFiles } from './package';
import { extensionItem, option, readManifest, resolvePublisher, UsageError } from './publisher';

export const MARKETPLACE_URL = 'https://marketplace.visualstudio.com';
export const TOKEN_VARIABLE = 'MARKETPLACE_TOKEN';
/** `aud` values of an Entra token for Azure DevOps (the resource id, or its URI for tokens asked by URI). */
const AUDIENCES = [AZURE_DEVOPS_RESOURCE, 'https://app.vssps.visualstudio.com'];

const USAGE = 'Usage: npm run publish:private -- --publisher <id> --share-with <org>[,<org>…] [--vsix <file>] [--no-wait-validation]';

/** The organizations to share with: names or URLs, separated by commas or spaces; at least one. */
export function parseShareWith(value: string | undefined): string[] {
  const items = (value ?? '').split(/[\s,]+/).filter(Boolean);
  if (!items.length) throw new UsageError(`--share-with is required: the organizations that may install the private extension. ${USAGE}`);
  try {
    return [...new Set(items.map((item) => parseOrganization('--share-with', item, AZURE_DEVOPS_ONLY).name))];
  } catch (err) {
    throw new UsageError(err instanceof InputError ? err.message : String(err));
  }
}

/** The Marketplace URL, or a loopback emulator for tests; anything else is refused (it would receive the token). */
export function serviceUrl(value: string | undefined): string {
  if (!value) return MARKETPLACE_URL;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`The service URL '${value}' is not a URL.`);
  }
  const loopback = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])$/.test(url.hostname) && (url.protocol === 'http:' || url.protocol === 'https:');
  const marketplace = url.protocol === 'https:' && url.host === 'marketplace.visualstudio.com';
  if ((!loopback && !marketplace) || url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new UsageError(`Refusing to send the token to '${value}': only ${MARKETPLACE_URL} (or a loopback emulator, for tests) may receive it.`);
  }
  return `${url.protocol}//${url.host}`;
}

/** Checks that `token` is an unexpired Entra access token for Azure DevOps; returns its claims. */
export function checkToken(token: string, source: string, now = Date.now()): TokenClaims {
  const claims = readClaims(token);
  if (!claims.aud) {
    throw new UsageError(`${source} is not an Entra access token (a JWT); Personal Access Tokens are not accepted. ` +
      `Use az account get-access-token --resource ${AZURE_DEVOPS_RESOURCE}, or ManagedIdentityAuthenticate@1 in a pipeline.`);
  }
  if (!AUDIENCES.includes(claims.aud)) {
    throw new UsageError(`${source} is a token for '${claims.aud}', not for Azure DevOps (${AZURE_DEVOPS_RESOURCE}): ask for one with --resource ${AZURE_DEVOPS_RESOURCE}.`);
  }
  if (claims.exp !== undefined && claims.exp * 1000 < now + 60_000) {
    throw new UsageError(`${source} expired at ${new Date(claims.exp * 1000).toISOString()}: get a new one.`);
  }
  return claims;
}

/** How the Azure CLI is started: on Windows it is az.cmd, which Node starts only through the shell. */
export function azInvocation(platform: NodeJS.Platform = process.platform): { file: string; args: string[]; shell: boolean } {
  const args = ['account', 'get-access-token', '--resource', AZURE_DEVOPS_RESOURCE, '--query', 'accessToken', '--output', 'tsv'];
  return platform === 'win32' ? { file: 'az.cmd', args, shell: true } : { file: 'az', args, shell: false };
}

/** The token: MARKETPLACE_TOKEN, else the Azure CLI's (read from its stdout pipe, never through a file or argv). */
export function readToken(env: NodeJS.ProcessEnv): { token: string; source: string } {
  const fromEnv = env[TOKEN_VARIABLE]?.trim();
  if (fromEnv) return { token: fromEnv, source: TOKEN_VARIABLE };
  const az = azInvocation();
  let out: string;
  try {
    out = execFileSync(az.file, az.args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], shell: az.shell, env, timeout: 60_000 });
  } catch (err) {
    const detail = (err as { code?: string; stderr?: string }).code === 'ENOENT'
      ? 'the Azure CLI (az) is not installed'
      : `az account get-access-token failed: ${((err as { stderr?: string }).stderr ?? '').trim().split('\n').at(-1) || 'no output'}`;
    throw new UsageError(`No token: ${TOKEN_VARIABLE} is not set and ${detail}. Set ${TOKEN_VARIABLE} to an Entra token for Azure DevOps, or run az login first.`);
  }
  return { token: out.trim(), source: 'The token of az account get-access-token' };
}

interface TfxPublishSettings {
  galleryUrl: string;
  vsixPath: string;
  publisher: string;
  extensionId: undefined;
  shareWith: string[];
  noWaitValidation: boolean;
  bypassScopeCheck: boolean;
}
interface TfxGallery { readonly vsoClient: unknown }
interface Tfx {
  getBasicHandler(user: string, password: string): unknown;
  GalleryApi: new (url: string, handlers: unknown[]) => TfxGallery;
  PackagePublisher: new (settings: TfxPublishSettings, gallery: TfxGallery) => { publish(): Promise<unknown> };
  SharingManager: new (settings: TfxPublishSettings, gallery: TfxGallery) => { shareWith(accounts: string[]): Promise<unknown> };
}

/** tfx-cli's own modules, and the azure-devops-node-api it depends on (not ours: its version is tfx's). */
function loadTfx(): Tfx {
  const tfxRequire = createRequire(require.resolve('tfx-cli/package.json'));
  (tfxRequire('colors') as { disable(): void }).disable();
  const publish = tfxRequire('./_build/exec/extension/_lib/publish') as Pick<Tfx, 'PackagePublisher' | 'SharingManager'>;
  return {
    getBasicHandler: (tfxRequire('azure-devops-node-api/WebApi') as Pick<Tfx, 'getBasicHandler'>).getBasicHandler,
    GalleryApi: (tfxRequire('azure-devops-node-api/GalleryApi') as Pick<Tfx, 'GalleryApi'>).GalleryApi,
    PackagePublisher: publish.PackagePublisher,
    SharingManager: publish.SharingManager,
  };
}

/** One line for a failure tfx reports (it throws strings such as "Received response 401 …"), with what to do. */
export function explainFailure(err: unknown, publisher: string, claims: TokenClaims): string {
  const text = typeof err === 'string' ? err : err instanceof Error ? err.message : JSON.stringify(err);
  const status = /Received response (\d{3})/.exec(text)?.[1] ?? (err as { statusCode?: number })?.statusCode?.toString();
  const who = `the identity ${claims.oid ?? '(no oid)'} of tenant ${claims.tid ?? '(no tid)'}`;
  if (status === '401' || status === '403') {
    return `The Marketplace refused ${who} for publisher '${publisher}' (HTTP ${status}). Add it to the publisher ` +
      `(marketplace.visualstudio.com/manage/publishers/${publisher} › Members, role Contributor or Owner), searching by that object id.`;
  }
  if (/Version number must increase/i.test(text)) {
    return `${text.split('\n')[0]!.trim()} Raise "version" in vss-extension.json (and each changed task's version) and package again.`;
  }
  return `Publishing to the Marketplace failed: ${text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ')}`;
}

export interface PublishOptions {
  readonly publisher: string;
  readonly shareWith: readonly string[];
  readonly token: string;
  readonly claims: TokenClaims;
  readonly vsix: string;
  readonly serviceUrl: string;
  readonly noWaitValidation: boolean;
}

/** Publishes (create or update, then waits for validation) and shares, as `tfx extension publish --share-with` does. */
export async function publishPrivately(options: PublishOptions): Promise<void> {
  const tfx = loadTfx();
  const gallery = new tfx.GalleryApi(options.serviceUrl, [tfx.getBasicHandler('OAuth', options.token)]);
  const settings: TfxPublishSettings = {
    // tfx streams the package (the hosted Marketplace's API) only for this galleryUrl (_lib/publish.js getExtensionPackage).
    galleryUrl: MARKETPLACE_URL,
    vsixPath: options.vsix,
    publisher: options.publisher,
    extensionId: undefined,
    shareWith: [...options.shareWith],
    noWaitValidation: options.noWaitValidation,
    bypassScopeCheck: false,
  };
  try {
    await new tfx.PackagePublisher(settings, gallery).publish();
    await new tfx.SharingManager(settings, gallery).shareWith(settings.shareWith);
  } catch (err) {
    throw new UsageError(explainFailure(err, options.publisher, options.claims));
  }
}

/** The publisher a .vsix was packaged for (extension.vsixmanifest Identity). */
async function vsixPublisher(vsix: string): Promise<string | undefined> {
  const manifest = (await vsixFiles(vsix)).get('extension.vsixmanifest')?.toString() ?? '';
  return /<Identity\s[^>]*Publisher="([^"]*)"/.exec(manifest)?.[1];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`${USAGE}\nThe token: ${TOKEN_VARIABLE} (an Entra access token for ${AZURE_DEVOPS_RESOURCE}), else az account get-access-token.`);
    return;
  }
  const manifest = readManifest();
  const publisher = resolvePublisher(argv, process.env, manifest);
  const shareWith = parseShareWith(option(argv, 'share-with'));
  const url = serviceUrl(option(argv, 'service-url') ?? (process.env['MARKETPLACE_SERVICE_URL'] || undefined));
  const { token, source } = readToken(process.env);
  const claims = checkToken(token, source);
  let vsix = option(argv, 'vsix');
  let packageDir: string | undefined;
  if (vsix) {
    if (!existsSync(vsix)) throw new UsageError(`--vsix '${vsix}' does not exist.`);
    const packaged = await vsixPublisher(vsix);
    if (packaged !== publisher) throw new UsageError(`${vsix} is packaged for publisher '${packaged ?? '?'}', not '${publisher}': package it with npm run package -- --publisher ${publisher}.`);
  } else {
    // Packaged aside, not in dist/ (which holds the package for vss-extension.json's publisher), and removed after.
    packageDir = mkdtempSync(join(tmpdir(), 'miado-publish-'));
    vsix = await packageExtension(publisher, packageDir);
  }
  console.log(`Publishing ${extensionItem(publisher, manifest)} ${manifest.version} privately as ${claims.oid ?? 'the token\'s identity'}, then sharing it with ${shareWith.join(', ')}.`);
  try {
    await publishPrivately({ publisher, shareWith, token, claims, vsix, serviceUrl: url, noWaitValidation: argv.includes('--no-wait-validation') });
  } finally {
    if (packageDir) rmSync(packageDir, { recursive: true, force: true });
  }
  console.log(`Published ${extensionItem(publisher, manifest)} ${manifest.version} (private), shared with ${shareWith.join(', ')}. ` +
    `Install it in each organization: Organization settings › Extensions › Shared.`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof UsageError ? `npm run publish:private: ${err.message}` : err);
    process.exitCode = 1;
  });
}
