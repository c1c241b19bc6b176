/**
 * The Visual Studio Marketplace's gallery API as tfx-cli 0.23.1 uses it to publish and share a private extension
 * (`tfx extension publish --share-with`, and scripts/publish-private.ts, which drives the same tfx classes):
 *
 * - tfx-cli _build/exec/extension/default.js `getGalleryApi`: a GalleryApi of tfx's own azure-devops-node-api
 *   (14.1.0) on the Marketplace URL itself: no ResourceAreas lookup ("TEMPORARY until Marketplace fixes
 *   getResourceArea"). Its VsoClient asks `OPTIONS /_apis/gallery` once for the area's locations
 *   (VsoClient.beginGetAreaLocations) and builds every URL from their route templates, with the api-version in
 *   `Accept: application/json;api-version=…` (VsoClient.autoNegotiateApiVersion, RestClient).
 * - _lib/publish.js PackagePublisher.publish: `GET …/publishers/{p}/extensions/{e}` (IncludeVersions… flags;
 *   any failure counts as "not published"), then the package as `Content-Type: application/octet-stream`, the
 *   .vsix bytes as the body, streamed (typed-rest-client uploadStream, no Content-Length): `POST _apis/gallery/extensions`
 *   to create, or `PUT …/publishers/{p}/extensions/{e}?bypassScopeCheck=false` to update. tfx streams only for a
 *   galleryUrl starting with https://marketplace.visualstudio.com; it then polls `GET …?version=&flags=1` until the
 *   newest version has the Validated flag (or a validationResultMessage). SharingManager.shareWith: one
 *   `POST _apis/gallery/publisher/{p}/extension/{e}/accountsbyname/{org}` per organization.
 * - Route templates and versions: microsoft/azure-devops-extension-api src/Gallery/GalleryClient.ts (generated from
 *   the service's location data: shareExtension 7.2-preview.1, createExtension/getExtension/updateExtension
 *   7.2-preview.2) and the location ids tfx's GalleryApi.js asks for.
 * - Credentials: `tfx … --token` becomes `Authorization: Basic base64("OAuth:<token>")` (tfx lib/tfcommand.js
 *   getCredentials, node-api getBasicHandler); an Entra token for 499b84ac-… is accepted in place of a PAT for an
 *   identity that is a member of the publisher (research/task-extension.md §4.2). Bearer is accepted too.
 *
 * Guessed (no source shows the real answer; no test depends on the exact words): the error envelopes and messages
 * for a missing extension (404), an unknown account (404), a version that does not increase (400), a non-member
 * (401, TF400813 as Azure DevOps words it) and a package for another publisher than the route (400); how many
 * validation polls stay pending (`validationPolls`, default 1); JSON enum flags as comma-separated camelCase names
 * ("validated"), which node-api's ContractSerializer maps to numbers case-insensitively.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import JSZip from 'jszip';
import { closeServer, flattenHeaders, listen, queryObject, readBody, requestUrl, sendJson } from './http-util';
import { checkApiVersion, type ApiResourceLocation } from './devops-locations';
import type { TokenIssuer } from './tokens';
import { AZURE_DEVOPS_RESOURCE } from './world';

export interface MarketplaceRequest {
  readonly method: string;
  /** Raw path, without the query. */
  readonly path: string;
  readonly query: Record<string, string>;
  /** Lower-cased names, the Authorization header included (the tests check where the token went). */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** The route's location id, or 'OPTIONS'. */
  route?: string;
  status?: number;
}

export interface PublishedVersion {
  readonly version: string;
  /** ExtensionVersionFlags names: 'validated' once validation passed. */
  flags: string;
  readonly lastUpdated: string;
  validationResultMessage?: string;
  /** GETs left before validation completes. */
  pendingPolls: number;
  readonly vsix: Buffer;
}

export interface PublishedExtensionRecord {
  readonly extensionId: string;
  readonly extensionName: string;
  readonly displayName: string;
  readonly versions: PublishedVersion[];
  readonly sharedWith: string[];
}

export interface Publisher {
  readonly name: string;
  /** Object ids of the identities that may publish (Members with the Contributor or Owner role). */
  readonly members: Set<string>;
  readonly extensions: Map<string, PublishedExtensionRecord>;
}

export interface MarketplaceOptions {
  readonly tokens: TokenIssuer;
  /** Publisher name → member object ids. */
  readonly publishers: Record<string, readonly string[]>;
  /** Organizations extensions can be shared with. */
  readonly organizations: readonly string[];
  /** GETs of a new version answered "pending" before it is validated. */
  readonly validationPolls?: number;
  /** When set, validation of every new version fails with this message. */
  readonly validationFailure?: string;
}

export interface MarketplaceEmulator {
  readonly url: string;
  readonly requests: MarketplaceRequest[];
  readonly publishers: Map<string, Publisher>;
  stop(): Promise<void>;
}

export const MARKETPLACE_LOCATIONS = {
  extensionById: 'a41192c8-9525-4b58-bc86-179fa549d80d',
  publisherExtension: 'e11ea35a-16fe-4b80-ab11-c4cab88a0966',
  shareByName: 'a1e66d8f-f5de-4d16-8309-91a4e015ee46',
} as const;

const location = (id: string, resourceName: string, routeTemplate: string, resourceVersion: number): ApiResourceLocation =>
  ({ id, area: 'gallery', resourceName, routeTemplate, resourceVersion, minVersion: '1.0', maxVersion: '7.2', releasedVersion: '0.0' });

const LOCATIONS: ApiResourceLocation[] = [
  location(MARKETPLACE_LOCATIONS.extensionById, 'extensions', '_apis/{area}/{resource}/{extensionId}', 2),
  location(MARKETPLACE_LOCATIONS.publisherExtension, 'extensions', '_apis/{area}/publishers/{publisherName}/{resource}/{extensionName}', 2),
  location(MARKETPLACE_LOCATIONS.shareByName, 'accountsbyname', '_apis/{area}/publisher/{publisherName}/extension/{extensionName}/{resource}/{accountName}', 1),
];

class GalleryError extends Error {
  constructor(readonly status: number, readonly typeKey: string, message: string) {
    super(message);
  }
}

const envelope = (err: GalleryError): object => ({
  $id: '1', innerException: null, message: err.message,
  typeName: `Microsoft.VisualStudio.Services.Gallery.WebApi.${err.typeKey}, Microsoft.VisualStudio.Services.Gallery.WebApi`,
  typeKey: err.typeKey, errorCode: 0, eventId: 3000,
});

/** Whose token this is: its `oid`, after the issuer's signature, lifetime and audience checks. */
function caller(req: IncomingMessage, tokens: TokenIssuer): string | undefined {
  const [scheme = '', value = ''] = (req.headers.authorization ?? '').trim().split(/\s+/, 2);
  let token = '';
  if (scheme.toLowerCase() === 'bearer') token = value;
  else if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString();
    token = decoded.slice(decoded.indexOf(':') + 1);
  }
  const checked = tokens.verify(token, { audience: [AZURE_DEVOPS_RESOURCE] });
  return checked.ok ? String(checked.claims.oid) : undefined;
}

async function identityOf(vsix: Buffer): Promise<{ id: string; publisher: string; version: string; displayName: string }> {
  let manifest: string;
  try {
    manifest = await (await JSZip.loadAsync(vsix)).file('extension.vsixmanifest')!.async('string');
  } catch {
    throw new GalleryError(400, 'InvalidPackageFormatException', 'The extension package is malformed or corrupted.');
  }
  const identity = /<Identity\s([^>]*)>/.exec(manifest)?.[1] ?? '';
  const attr = (name: string): string => new RegExp(`${name}="([^"]*)"`).exec(identity)?.[1] ?? '';
  const displayName = /<DisplayName>([^<]*)<\/DisplayName>/.exec(manifest)?.[1] ?? attr('Id');
  return { id: attr('Id'), publisher: attr('Publisher'), version: attr('Version'), displayName };
}

const newer = (a: string, b: string): boolean => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0);
  return false;
};

export async function startMarketplace(options: MarketplaceOptions): Promise<MarketplaceEmulator> {
  const requests: MarketplaceRequest[] = [];
  const publishers = new Map<string, Publisher>(Object.entries(options.publishers).map(([name, members]) =>
    [name.toLowerCase(), { name, members: new Set(members), extensions: new Map() }]));
  const organizations = new Set(options.organizations.map((o) => o.toLowerCase()));

  const publisherFor = (name: string, oid: string | undefined): Publisher => {
    const publisher = publishers.get(name.toLowerCase());
    if (!oid || !publisher?.members.has(oid)) {
      throw new GalleryError(401, 'UnauthorizedRequestException', `TF400813: The user '${oid ?? ''}' is not authorized to access this resource.`);
    }
    return publisher;
  };

  const extensionJson = (publisher: Publisher, ext: PublishedExtensionRecord): object => ({
    publisher: { publisherId: publisher.name, publisherName: publisher.name, displayName: publisher.name, flags: 'none' },
    extensionId: ext.extensionId,
    extensionName: ext.extensionName,
    displayName: ext.displayName,
    flags: ext.versions.some((v) => v.flags === 'validated') ? 'validated' : 'none',
    lastUpdated: ext.versions.at(-1)?.lastUpdated,
    versions: [...ext.versions].reverse().map((v) => ({
      version: v.version, flags: v.flags, lastUpdated: v.lastUpdated,
      ...(v.validationResultMessage ? { validationResultMessage: v.validationResultMessage } : {}),
    })),
    sharedWith: ext.sharedWith.map((name) => ({ id: randomUUID(), name, type: 'account', isOrg: true })),
  });

  const addVersion = (ext: PublishedExtensionRecord, version: string, vsix: Buffer): void => {
    ext.versions.push({ version, flags: 'none', lastUpdated: new Date().toISOString(), pendingPolls: options.validationPolls ?? 1, vsix });
  };

  const route = async (req: IncomingMessage, url: URL, record: MarketplaceRequest): Promise<[number, unknown]> => {
    const method = req.method ?? 'GET';
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (method === 'OPTIONS' && segments.join('/').toLowerCase() === '_apis/gallery') {
      record.route = 'OPTIONS';
      return [200, { count: LOCATIONS.length, value: LOCATIONS }];
    }
    const lower = segments.map((s) => s.toLowerCase());
    const oid = caller(req, options.tokens);
    const version = (id: string): void => {
      record.route = id;
      const loc = LOCATIONS.find((l) => l.id === id)!;
      const checked = checkApiVersion(/api-version=([^;,\s]+)/i.exec(req.headers.accept ?? '')?.[1], loc);
      if (!checked.ok) throw new GalleryError(400, checked.typeKey, checked.message);
    };
    // POST _apis/gallery/extensions: create.
    if (method === 'POST' && lower.join('/') === '_apis/gallery/extensions') {
      version(MARKETPLACE_LOCATIONS.extensionById);
      const pkg = await identityOf(record.body);
      const publisher = publisherFor(pkg.publisher, oid);
      if (publisher.extensions.has(pkg.id.toLowerCase())) {
        throw new GalleryError(409, 'ExtensionAlreadyExistsException', `Extension ${pkg.publisher}.${pkg.id} already exists.`);
      }
      const ext: PublishedExtensionRecord = { extensionId: randomUUID(), extensionName: pkg.id, displayName: pkg.displayName, versions: [], sharedWith: [] };
      addVersion(ext, pkg.version, record.body);
      publisher.extensions.set(pkg.id.toLowerCase(), ext);
      return [200, extensionJson(publisher, ext)];
    }
    // …/publishers/{p}/extensions/{e}: get, update.
    if (lower.length === 6 && lower[0] === '_apis' && lower[1] === 'gallery' && lower[2] === 'publishers' && lower[4] === 'extensions') {
      version(MARKETPLACE_LOCATIONS.publisherExtension);
      const publisher = publisherFor(segments[3]!, oid);
      const ext = publisher.extensions.get(lower[5]!);
      if (method === 'GET') {
        if (!ext) throw new GalleryError(404, 'ExtensionDoesNotExistException', `Extension ${segments[3]}.${segments[5]} does not exist.`);
        const newest = ext.versions.at(-1);
        if (newest && newest.flags !== 'validated' && !newest.validationResultMessage) {
          if (newest.pendingPolls > 0) newest.pendingPolls--;
          else if (options.validationFailure) newest.validationResultMessage = options.validationFailure;
          else newest.flags = 'validated';
        }
        return [200, extensionJson(publisher, ext)];
      }
      if (method === 'PUT') {
        if (!ext) throw new GalleryError(404, 'ExtensionDoesNotExistException', `Extension ${segments[3]}.${segments[5]} does not exist.`);
        const pkg = await identityOf(record.body);
        if (pkg.publisher.toLowerCase() !== publisher.name.toLowerCase() || pkg.id.toLowerCase() !== lower[5]) {
          throw new GalleryError(400, 'InvalidPackageFormatException', `The package is ${pkg.publisher}.${pkg.id}, not ${segments[3]}.${segments[5]}.`);
        }
        const current = ext.versions.at(-1)!.version;
        if (!newer(pkg.version, current)) {
          throw new GalleryError(400, 'ExtensionVersionException',
            `Version number must increase each time an extension is published. Extension: ${publisher.name}.${ext.extensionName}  Current version: ${current}  Updated version: ${pkg.version}`);
        }
        addVersion(ext, pkg.version, record.body);
        return [200, extensionJson(publisher, ext)];
      }
    }
    // POST …/publisher/{p}/extension/{e}/accountsbyname/{org}: share.
    if (method === 'POST' && lower.length === 8 && lower[2] === 'publisher' && lower[4] === 'extension' && lower[6] === 'accountsbyname') {
      version(MARKETPLACE_LOCATIONS.shareByName);
      const publisher = publisherFor(segments[3]!, oid);
      const ext = publisher.extensions.get(lower[5]!);
      if (!ext) throw new GalleryError(404, 'ExtensionDoesNotExistException', `Extension ${segments[3]}.${segments[5]} does not exist.`);
      if (!organizations.has(lower[7]!)) throw new GalleryError(404, 'AccountNotFoundException', `The account '${segments[7]}' could not be found.`);
      if (!ext.sharedWith.some((name) => name.toLowerCase() === lower[7])) ext.sharedWith.push(segments[7]!);
      return [204, undefined];
    }
    throw new GalleryError(404, 'HttpException', `The controller for path '${url.pathname}' was not found or does not implement IController.`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestUrl(req);
    const record: MarketplaceRequest = {
      method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, query: queryObject(url), headers: flattenHeaders(req.headers), body: await readBody(req),
    };
    requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    try {
      const [status, body] = await route(req, url, record);
      if (status === 204) {
        res.writeHead(204).end();
        return;
      }
      sendJson(res, status, body);
    } catch (err) {
      const failure = err instanceof GalleryError ? err : new GalleryError(500, 'TeamFoundationServiceException', String(err));
      sendJson(res, failure.status, envelope(failure), { 'X-TFS-ServiceError': encodeURIComponent(failure.message) });
    }
  };

  const server: Server & { closeAllConnections(): void } = createServer((req, res) => void handle(req, res));
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, requests, publishers, stop: () => closeServer(server) };
}
