/**
 * The HTTP client @azure/identity uses for managed-identity endpoints (its public `httpClient` option).
 * Owning it gives the task three things the library's default client cannot:
 *
 * - Identity endpoints are always reached directly. They are local to the host (IMDS on 169.254.169.254,
 *   App Service / Container Apps / Arc on localhost, Service Fabric on the node), and IMDS "isn't intended
 *   to be used behind a proxy". The default client sends them to HTTPS_PROXY unless NO_PROXY names them
 *   (ts-http-runtime proxyPolicy.js). Whatever agent the pipeline's proxy policy set is replaced here,
 *   so no environment variable, and no change to process.env, decides it.
 * - Per-request time limits: the library sets none (a black-holed endpoint waits for the OS).
 * - A record of each exchange (status, Retry-After, error body, socket error), so our retry loop can
 *   decide on facts the library drops (its network errors lose the socket error, its MSAL errors the headers).
 *
 * A 2xx body is never recorded: it holds the token.
 */
import { createHttpHeaders, createPipelineRequest, type HttpClient, type HttpHeaders, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { request as httpRequest, type IncomingMessage } from 'node:http';

export type TransportFailure = 'refused' | 'reset' | 'unreachable' | 'dns' | 'connect timeout' | 'response timeout' | 'aborted' | 'other';

export interface Exchange {
  readonly method: string;
  /** Scheme, host, port and path. */
  readonly endpoint: string;
  readonly started: number;
  readonly ms: number;
  readonly status?: number;
  /** From Retry-After (seconds or HTTP date), retry-after-ms or x-ms-retry-after-ms. */
  readonly retryAfterMs?: number;
  /** error_description / message / error of a non-2xx JSON body, or its first 200 characters. */
  readonly description?: string;
  readonly failure?: TransportFailure;
  /** The socket error code, e.g. ECONNREFUSED. */
  readonly code?: string;
}

export interface TransportLimits {
  /** How long the TCP (and TLS) connection may take. */
  readonly connectMs: number;
  /** How long the whole answer may take once connected. */
  readonly responseMs: number;
}

/** Node's response headers as the pipeline's HttpHeaders (a repeated header joined with ', ', as fetch does). */
function responseHeaders(raw: IncomingMessage['headers']): HttpHeaders {
  const headers = createHttpHeaders();
  for (const [name, value] of Object.entries(raw)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  return headers;
}

const FAILURES: Record<string, TransportFailure> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
};

export function retryAfterMs(headers: HttpHeaders): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(headers.get(name));
    if (headers.has(name) && Number.isFinite(ms) && ms >= 0) return ms;
  }
  return parseRetryAfter(headers.get('retry-after'));
}

/** A Retry-After value (RFC 9110: delay in seconds, or an HTTP date) in milliseconds from now. */
export function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function describeBody(text: string): string | undefined {
  if (!text) return undefined;
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown; message?: unknown };
    const error = body.error;
    const nested = typeof error === 'object' && error !== null ? (error as { message?: unknown; code?: unknown }) : undefined;
    const found = [body.error_description, body.message, nested?.message, typeof error === 'string' ? error : nested?.code]
      .find((v): v is string => typeof v === 'string' && v.length > 0);
    if (found) return found.split(/\r?\n/)[0]!.slice(0, 300);
  } catch {
    // not JSON: fall through
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200) || undefined;
}

function endpointOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** An HttpClient that always connects directly, within limits, and records every exchange. */
export class DirectTransport implements HttpClient {
  readonly exchanges: Exchange[] = [];

  constructor(private readonly limits: TransportLimits) {}

  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const started = Date.now();
    const base = { method: request.method, endpoint: endpointOf(request.url), started };
    try {
      const { status, headers, text } = await this.exchange(request);
      const ok = status >= 200 && status < 300;
      this.exchanges.push({
        ...base, ms: Date.now() - started, status, retryAfterMs: retryAfterMs(headers),
        ...(ok ? {} : { description: describeBody(text) }),
      });
      return { request, status, headers, bodyAsText: text };
    } catch (err) {
      const e = err as Error & { code?: string; failure?: TransportFailure };
      const failure = e.failure ?? (e.code ? FAILURES[e.code] : undefined) ?? 'other';
      this.exchanges.push({ ...base, ms: Date.now() - started, failure, ...(e.code ? { code: e.code } : {}) });
      throw err;
    }
  }

  private async exchange(request: PipelineRequest): Promise<{ status: number; headers: HttpHeaders; text: string }> {
    const url = new URL(request.url);
    const headers = request.headers.toJSON({ preserveCase: true });
    // We do not decompress; ask for an identity-encoded answer.
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'accept-encoding') delete headers[name];
    const body = typeof request.body === 'string' || request.body instanceof Uint8Array ? request.body : undefined;
    if (request.body !== undefined && request.body !== null && body === undefined) {
      throw new Error('identity transport: unsupported request body type');
    }
    // node:https (with tls) takes ~10 ms to load, and most identity endpoints are plain http (IMDS, App Service,
    // Arc): loaded only for an https endpoint, so it is not on the way to the first token request.
    const send = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
    return new Promise((resolve, reject) => {
      let settled = false;
      const timers: { connect?: NodeJS.Timeout; response?: NodeJS.Timeout } = {};
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timers.connect);
        clearTimeout(timers.response);
        return true;
      };
      // agent: false = a fresh socket, never a proxy agent, never kept alive after the answer.
      const req = send(url, { method: request.method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => fail(err));
        res.on('end', () => {
          if (finish()) resolve({ status: res.statusCode ?? 0, headers: responseHeaders(res.headers), text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      const fail = (err: Error & { code?: string; failure?: TransportFailure }): void => {
        if (!finish()) return;
        req.destroy();
        reject(err);
      };
      const timeout = (failure: TransportFailure, ms: number): NodeJS.Timeout => setTimeout(() => {
        fail(Object.assign(new Error(`${failure === 'connect timeout' ? 'no connection' : 'no answer'} within ${ms} ms`), { code: 'ETIMEDOUT', failure }));
      }, ms);
      timers.connect = timeout('connect timeout', this.limits.connectMs);
      req.on('socket', (socket) => {
        const connected = (): void => {
          clearTimeout(timers.connect);
          if (!settled) timers.response = timeout('response timeout', this.limits.responseMs);
        };
        if (socket.connecting) socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
        else connected();
      });
      req.on('error', (err) => fail(err));
      const signal = request.abortSignal;
      const aborted = (): void => fail(Object.assign(new Error('aborted'), { failure: 'aborted' as const }));
      if (signal?.aborted) aborted();
      else signal?.addEventListener('abort', aborted, { once: true });
      req.end(body);
    });
  }
}

/**
 * Whether @azure/identity's own transport would send a request for `url` through a proxy, by the rules of
 * @typespec/ts-http-runtime 0.3.6 policies/proxyPolicy.js: HTTPS_PROXY, else ALL_PROXY, else HTTP_PROXY (each
 * upper case first, then lower case), unless NO_PROXY lists the host exactly or a '.suffix' of it.
 * test/unit/identity-source.test.ts runs the installed policy next to it.
 */
export function environmentProxyApplies(url: string, env: NodeJS.ProcessEnv): boolean {
  const value = (name: string): string | undefined => env[name] || env[name.toLowerCase()] || undefined;
  if (!(value('HTTPS_PROXY') ?? value('ALL_PROXY') ?? value('HTTP_PROXY'))) return false;
  const host = new URL(url).hostname;
  const bypass = (value('NO_PROXY') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  return !bypass.some((p) => (p.startsWith('.') ? host.endsWith(p) || host === p.slice(1) : host === p));
}

/** A GET without a body for DirectTransport.sendRequest, for callers outside @azure/identity. */
export function transportRequest(url: string, headers: Readonly<Record<string, string>>): PipelineRequest {
  return createPipelineRequest({ url, method: 'GET', headers: createHttpHeaders({ ...headers }) });
}
