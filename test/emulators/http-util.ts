/** Small helpers shared by the emulator servers (node:http and node:https only). */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:net';

export interface RecordedRequest {
  /** Epoch milliseconds. */
  time: number;
  method: string;
  /** Raw path as sent (still percent-encoded), without the query. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  /** Filled in when the response is sent. */
  status?: number;
}

/** Listens on 127.0.0.1, port 0; resolves the chosen port. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no TCP address'));
      resolve(address.port);
    });
  });
}

/** Closes the server, dropping keep-alive and hanging connections instead of waiting for them. */
export function closeServer(server: Server & { closeAllConnections(): void }): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function queryObject(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams.entries());
}

/** Parses the request target; tolerates the `//metadata` double slash msal can produce. */
export function requestUrl(req: IncomingMessage): URL {
  return new URL(`http://emulator${(req.url ?? '/').replace(/^\/+/, '/')}`);
}

export type HeaderValues = Record<string, string | string[]>;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: HeaderValues = {}): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': payload.length, ...headers });
  res.end(payload);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
  headers: HeaderValues = {},
): void {
  const payload = Buffer.from(text);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': payload.length, ...headers });
  res.end(payload);
}

export function sendBytes(res: ServerResponse, status: number, bytes: Buffer, contentType: string, headers: HeaderValues = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': bytes.length, ...headers });
  res.end(bytes);
}

/** Timers that `stop()` can cancel, so a "hang 20 s" fault never outlives its emulator. */
export class Sleeper {
  private readonly timers = new Set<NodeJS.Timeout>();
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
