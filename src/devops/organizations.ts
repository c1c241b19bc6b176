/**
 * Azure DevOps organizations: parsing what users write, and the rule that decides where a token may go.
 * A token for Azure DevOps is valid in every organization of the tenant that knows the identity, so it is
 * only ever sent to Azure DevOps hosts over https — or, in the emulator flavour of the build alone
 * (core/flavour.ts), to loopback emulators a test names explicitly.
 */
import { InputError } from '../core/errors';
import { EMULATOR_BUILD } from '../core/flavour';

export interface Organization {
  /** Organization name as Azure DevOps spells it in URLs, e.g. 'contoso'. */
  readonly name: string;
  /** REST base URL with a trailing slash, e.g. 'https://dev.azure.com/contoso/'. */
  readonly url: string;
  /** URL prefixes under which git remotes of this organization live (both host forms on Azure). */
  readonly gitPrefixes: readonly string[];
  /** Set when the organization lives on a loopback emulator: its origin, e.g. 'http://127.0.0.1:8080'. */
  readonly emulatorOrigin?: string;
}

/** Which hosts besides Azure DevOps may receive tokens: loopback host:port pairs, for emulators only. */
export interface HostPolicy {
  readonly loopbackHosts: readonly string[];
}

export const AZURE_DEVOPS_ONLY: HostPolicy = { loopbackHosts: [] };

/** Organization names: letters, digits and hyphens, starting and ending with a letter or digit. */
const ORG_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$/;
const ORG_FORMS =
  "must be an organization name such as 'contoso' or its URL, https://dev.azure.com/contoso or https://contoso.visualstudio.com";

/**
 * Service hosts one label under dev.azure.com that serve an organization's APIs at
 * `https://{service}.dev.azure.com/{org}/…`: every `host` of the REST specifications
 * (MicrosoftDocs/vsts-rest-api-specs, specification/{area}/7.1 and 7.2: advsec, almsearch, artifacts, auditservice,
 * extmgmt, feeds, pkgs, vsaex, vsrm, vssps, vstmr) and Analytics' OData host (azure-devops-docs,
 * docs/report/extend-analytics/account-scoped-queries.md). Left out on purpose: status.dev.azure.com (an anonymous
 * health check, no organization) and aex.dev.azure.com (the signed-in user's own pages). An explicit list rather
 * than "any single label": every name on it is documented as an Azure DevOps API host; a name Microsoft adds later
 * is refused with a clear message until it is listed, rather than receiving a token unexamined.
 */
const DEV_AZURE_SERVICES: ReadonlySet<string> = new Set([
  'advsec', 'almsearch', 'analytics', 'artifacts', 'auditservice', 'extmgmt', 'feeds', 'pkgs', 'vsaex', 'vsrm', 'vssps', 'vstmr',
]);

/**
 * Legacy service hosts `{org}.{service}.visualstudio.com`: those allow-list-ip-url.md lists per organization
 * (vsrm, vstmr, pkgs, vssps, and *.vsblob for Artifacts' blob store) and feeds (Azure Artifacts' feed API,
 * `https://{org}.feeds.visualstudio.com`).
 */
const VISUALSTUDIO_SERVICES: ReadonlySet<string> = new Set(['feeds', 'pkgs', 'vsblob', 'vsrm', 'vssps', 'vstmr']);

/**
 * Names under visualstudio.com that are Microsoft sites or shared service hosts, never an organization's
 * `{org}.visualstudio.com`: Visual Studio Code's site, the Marketplace (it serves publishers' pages),
 * subscriptions (my.), the product site (www.), Developer Community, the old status page, the account and
 * profile service hosts (app.vssps., app.vsaex., aex.) and the service names themselves.
 */
const NOT_ORGANIZATIONS: ReadonlySet<string> = new Set([
  'app', 'aex', 'code', 'developercommunity', 'marketplace', 'my', 'status', 'www', 'vsaex', ...VISUALSTUDIO_SERVICES,
]);

/** An organization name that is not one of the visualstudio.com names above. */
function isOrganizationLabel(label: string): boolean {
  return ORG_NAME.test(label) && !NOT_ORGANIZATIONS.has(label.toLowerCase());
}

/**
 * True for a URL a token may be sent to: https on the default port, no userinfo, and an Azure DevOps host
 * (see isAzureDevOpsHostname) where, on dev.azure.com and its service hosts, the path names an organization
 * first (`dev.azure.com/{org}/…`) or is empty (git asks its credential helper for a host without a path) —
 * or, in the emulator flavour only (core/flavour.ts), a loopback host the policy lists.
 */
export function isTokenHost(url: URL, policy: HostPolicy): boolean {
  if (url.username || url.password) return false;
  if (url.protocol === 'https:' && (url.port === '' || url.port === '443') && isAzureDevOpsHostname(url.hostname)) {
    if (url.hostname.toLowerCase().endsWith('.visualstudio.com')) return true;
    const first = url.pathname.split('/')[1] ?? '';
    return url.pathname === '/' || isOrganizationLabel(safeDecode(first));
  }
  // Emulator flavour only (core/flavour.ts): in the release bundles esbuild drops this. Written out rather than
  // shared with parseOrganization, so that it drops both.
  return EMULATOR_BUILD && (url.protocol === 'http:' || url.protocol === 'https:') && policy.loopbackHosts.includes(url.host.toLowerCase());
}

/**
 * The Azure DevOps hosts: dev.azure.com, `{service}.dev.azure.com` for the services above, `{org}.visualstudio.com`
 * and `{org}.{service}.visualstudio.com` (legacy), where `{org}` is an organization name and not a Microsoft site
 * such as code., marketplace. or www.; nothing deeper (x.y.dev.azure.com) and nothing that merely ends alike.
 */
export function isAzureDevOpsHostname(hostname: string): boolean {
  const labels = hostname.toLowerCase().split('.');
  // Every label non-empty: the URL parser accepts hosts such as '.visualstudio.com' or 'x..dev.azure.com'.
  if (labels.some((label) => !label)) return false;
  const host = labels.join('.');
  if (host === 'dev.azure.com') return true;
  if (labels.length === 4 && host.endsWith('.dev.azure.com')) return DEV_AZURE_SERVICES.has(labels[0]!);
  if (!host.endsWith('.visualstudio.com')) return false;
  if (labels.length === 3) return isOrganizationLabel(labels[0]!);
  return labels.length === 4 && isOrganizationLabel(labels[0]!) && VISUALSTUDIO_SERVICES.has(labels[1]!);
}

/** Parses a loopback allow-list (host:port, comma separated); anything not on loopback is refused. Emulator flavour only. */
export function parseLoopbackHosts(name: string, value: string | undefined): HostPolicy {
  if (!value) return AZURE_DEVOPS_ONLY;
  const hosts = value.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  for (const host of hosts) {
    const match = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\]):(\d{1,5})$/.exec(host);
    if (!match || Number(match[2]) > 65535) {
      throw new InputError(name, value, 'must list loopback emulator hosts as host:port, e.g. 127.0.0.1:8080 (only 127.0.0.0/8, localhost and [::1] are accepted)');
    }
  }
  return { loopbackHosts: hosts };
}

/** An organization on Azure DevOps, or on a loopback emulator when its origin is given. */
function organization(name: string, emulatorOrigin?: string): Organization {
  if (emulatorOrigin) {
    const url = `${emulatorOrigin}/${name}/`;
    return { name, url, gitPrefixes: [url], emulatorOrigin };
  }
  const url = `https://dev.azure.com/${name}/`;
  return { name, url, gitPrefixes: [url, `https://${name.toLowerCase()}.visualstudio.com/`] };
}

/**
 * Parses an organization given as a name or URL. Accepted: 'contoso', 'https://dev.azure.com/contoso[/]',
 * 'https://contoso.visualstudio.com[/]' (also with '/DefaultCollection'), and, when the policy lists its
 * host, 'http://127.0.0.1:PORT/contoso/'. Userinfo, queries, fragments and extra path segments are refused.
 * A bare name lives where the pipeline's own organization (`home`) lives.
 */
export function parseOrganization(input: string, value: string, policy: HostPolicy, home?: Organization): Organization {
  const text = value.trim();
  if (ORG_NAME.test(text)) {
    if (!isOrganizationLabel(text)) throw new InputError(input, value, ORG_FORMS);
    return organization(text, home?.emulatorOrigin);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(input, value, ORG_FORMS);
  }
  if (url.username || url.password || url.search || url.hash || /[\s\\]/.test(text)) throw new InputError(input, value, ORG_FORMS);
  const segments = url.pathname.split('/').filter(Boolean).map(safeDecode);
  const host = url.hostname.toLowerCase();
  if (EMULATOR_BUILD && (url.protocol === 'http:' || url.protocol === 'https:') && policy.loopbackHosts.includes(url.host.toLowerCase())) {
    if (segments.length === 1 && isOrganizationLabel(segments[0]!)) {
      return organization(segments[0]!, `${url.protocol}//${url.host}`);
    }
    throw new InputError(input, value, ORG_FORMS);
  }
  if (url.protocol !== 'https:' || (url.port !== '' && url.port !== '443')) throw new InputError(input, value, `${ORG_FORMS} (https only)`);
  if (host === 'dev.azure.com' && segments.length === 1 && isOrganizationLabel(segments[0]!)) {
    return organization(segments[0]!);
  }
  const legacy = /^([a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?)\.visualstudio\.com$/.exec(host);
  if (legacy && isOrganizationLabel(legacy[1]!) && (segments.length === 0 || (segments.length === 1 && segments[0]!.toLowerCase() === 'defaultcollection'))) {
    return organization(legacy[1]!);
  }
  throw new InputError(input, value, ORG_FORMS);
}

/** The organization a pipeline runs in, from System.CollectionUri. */
export function collectionOrganization(collectionUri: string | undefined, policy: HostPolicy): Organization | undefined {
  if (!collectionUri) return undefined;
  return parseOrganization('System.CollectionUri', collectionUri, policy);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
