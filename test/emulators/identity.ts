/**
 * One loopback HTTP server answering every managed-identity source's token protocol, chosen by
 * path. Records every request and applies queued faults first.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import * as path from 'node:path';
import { recordAndFault, type Fault } from './faults';
import {
  closeServer,
  listen,
  sendJson,
  Sleeper,
  type RecordedRequest,
} from './http-util';
import * as sources from './identity-sources';
import type { IdentityConfig, Reply, SourceContext, TokenRequest } from './identity-sources';
import type { TokenIssuer } from './tokens';
import type { World } from './world';

export type { IdentityConfig } from './identity-sources';

export type IdentitySource = 'imds' | 'appService' | 'arc' | 'serviceFabric' | 'cloudShell' | 'machineLearning';

/** Path of each source on this server (IMDS keeps its real path: the env var only sets the host). */
export const SOURCE_PATHS: Record<IdentitySource, string> = {
  imds: '/metadata/identity/oauth2/token',
  appService: '/msi/token',
  arc: '/arc/metadata/identity/oauth2/token',
  serviceFabric: '/sf/token',
  cloudShell: '/cloudshell/token',
  machineLearning: '/msi2017/token',
};

const HANDLERS: Record<IdentitySource, (req: TokenRequest, ctx: SourceContext) => Reply> = {
  imds: sources.imds,
  appService: sources.appService,
  arc: sources.azureArc,
  serviceFabric: sources.serviceFabric,
  cloudShell: sources.cloudShell,
  machineLearning: sources.machineLearning,
};

export interface IdentityEmulator {
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly faults: Fault<RecordedRequest>[];
  /** Mutable: secrets, Arc mode and key directory, identity substitution. */
  readonly config: IdentityConfig;
  /** The environment a child process needs to reach this emulator through `source`. */
  envFor(source: IdentitySource): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * IMDS's per-VM limits on token requests (IdentityConfig.imdsLimits): a sliding one-second window of accepted
 * requests and a count of those being answered. The body is the IMDS error table's row for 429, "IMDS Throttle
 * limit reached." (how-to-use-vm-token.md, "Error handling"); guesses: the `error` code, that Retry-After is sent
 * (the seconds until the window has room, at least 1), and that refused requests do not count against the window.
 */
function throttle(limits: () => IdentityConfig['imdsLimits']): { admit(): { body: object; headers: Record<string, string> } | undefined; done(): void } {
  let accepted: number[] = [];
  let inFlight = 0;
  return {
    admit() {
      const limit = limits();
      if (!limit) {
        inFlight++;
        return undefined;
      }
      const now = Date.now();
      accepted = accepted.filter((t) => now - t < 1_000);
      const full = accepted.length >= limit.perSecond;
      if (full || inFlight >= limit.concurrent) {
        const seconds = full ? Math.max(1, Math.ceil((accepted[0]! + 1_000 - now) / 1_000)) : 1;
        return { body: { error: 'too_many_requests', error_description: 'IMDS Throttle limit reached.' }, headers: { 'Retry-After': String(seconds) } };
      }
      accepted.push(now);
      inFlight++;
      return undefined;
    },
    done() {
      inFlight--;
    },
  };
}

/** msal canonicalizes the IMDS URL (trailing `/`, sometimes `//metadata`): compare without them. */
function sourceFor(pathname: string): IdentitySource | undefined {
  const normalized = pathname.replace(/\/{2,}/g, '/').replace(/\/$/, '').toLowerCase();
  return (Object.keys(SOURCE_PATHS) as IdentitySource[]).find((s) => SOURCE_PATHS[s] === normalized);
}

export async function startIdentity(opts: { world: World; tokens: TokenIssuer; config?: Partial<IdentityConfig> }): Promise<IdentityEmulator> {
  const config: IdentityConfig = {
    appServiceSecret: sources.newSecret(),
    serviceFabricSecret: sources.newSecret(),
    msiSecret: sources.newSecret(),
    arcMode: 'challenge',
    arcKeyDir: path.join(opts.world.root, 'arc-tokens'),
    imdsLimits: { perSecond: 20, concurrent: 5 },
    imdsLatencyMs: 0,
    ...opts.config,
  };
  const requests: RecordedRequest[] = [];
  const faults: Fault<RecordedRequest>[] = [];
  const sleeper = new Sleeper();
  const imdsThrottle = throttle(() => config.imdsLimits);
  const arcKeys = new Map<string, string>(); // secret -> file
  const createdDirs = new Set<string>();

  const ctx: SourceContext = {
    world: opts.world,
    tokens: opts.tokens,
    config,
    arcChallenge() {
      const first = fs.mkdirSync(config.arcKeyDir, { recursive: true });
      if (first) createdDirs.add(first);
      const file = path.join(config.arcKeyDir, `${randomUUID()}.key`);
      const secret = sources.newSecret();
      fs.writeFileSync(file, secret, { mode: 0o640 });
      arcKeys.set(secret, file);
      return file;
    },
    arcKeyValid: (secret) => arcKeys.has(secret),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = await recordAndFault(req, res, requests, faults, sleeper, () => (req.url ?? '/').split('?')[0]!);
    if (!started) return;
    const { record, url } = started;
    const source = sourceFor(url.pathname);
    if (!source) return sendJson(res, 404, { error: 'not_found', error_description: `No identity source at ${url.pathname}` });
    if (source !== 'imds') return answer(source, record, url, res);
    const refusal = imdsThrottle.admit();
    if (refusal) return sendJson(res, 429, refusal.body, refusal.headers);
    try {
      if (config.imdsLatencyMs > 0) await sleeper.sleep(config.imdsLatencyMs);
      answer(source, record, url, res);
    } finally {
      imdsThrottle.done();
    }
  };
  const answer = (source: IdentitySource, record: RecordedRequest, url: URL, res: ServerResponse): void => {
    const reply = HANDLERS[source]({ method: record.method, url, headers: record.headers, body: record.body }, ctx);
    sendJson(res, reply.status, reply.body, reply.headers);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'emulator_error', error_description: err.message });
    });
  });
  const url = `http://127.0.0.1:${await listen(server)}`;

  const systemClientId = (): string => opts.world.identities.find((i) => i.kind === 'system' && opts.world.assigned.includes(i.key))?.clientId ?? '';
  const envFor = (source: IdentitySource): Record<string, string> => {
    const endpoint = `${url}${SOURCE_PATHS[source]}`;
    switch (source) {
      case 'imds':
        return { AZURE_POD_IDENTITY_AUTHORITY_HOST: url };
      case 'appService':
        return { IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: config.appServiceSecret };
      case 'arc':
        // msal-node reads Arc key files only from /var/opt/azcmagent/tokens/ (AzureArc.ts); the emulator flavour of
        // the task bundles reads that folder from MIADO_EMULATOR_ARC_TOKENS_DIR instead (scripts/build.ts,
        // emulatorArcKeyFolder), so the challenge works in this run's own folder, without root. The release
        // flavour and the library in node_modules ignore the variable.
        return { IDENTITY_ENDPOINT: endpoint, IMDS_ENDPOINT: url, MIADO_EMULATOR_ARC_TOKENS_DIR: `${config.arcKeyDir}/` };
      case 'serviceFabric':
        // msal-node uses the thumbprint only to detect the source (no pinning): any value works.
        return { IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: config.serviceFabricSecret, IDENTITY_SERVER_THUMBPRINT: '0'.repeat(40) };
      case 'cloudShell':
        return { MSI_ENDPOINT: endpoint };
      case 'machineLearning':
        return { MSI_ENDPOINT: endpoint, MSI_SECRET: config.msiSecret, DEFAULT_IDENTITY_CLIENT_ID: systemClientId() };
    }
  };

  return {
    url,
    requests,
    faults,
    config,
    envFor,
    async stop() {
      sleeper.cancelAll();
      await closeServer(server);
      for (const file of arcKeys.values()) fs.rmSync(file, { force: true });
      for (const dir of createdDirs) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
