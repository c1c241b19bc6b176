/**
 * A real forwarding HTTP proxy on loopback that records what passes through it:
 * - plain-HTTP forwarding of absolute-URI requests (`GET http://host:port/path HTTP/1.1`), as git/curl and
 *   http-proxy-agent send them for http:// targets;
 * - CONNECT tunnels (`CONNECT host:port`), as typed-rest-client (azure-devops-node-api) and
 *   https-proxy-agent open them. Inside a tunnel it also records the request lines of plaintext HTTP,
 *   so a test can tell which paths went through (TLS inside a tunnel shows only the CONNECT).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ProxiedRequest {
  /** forward: absolute-URI request; connect: the CONNECT itself; tunnelled: a request line seen inside a tunnel. */
  readonly kind: 'forward' | 'connect' | 'tunnelled';
  readonly method: string;
  /** host:port of the target. */
  readonly host: string;
  /** Path and query ('' for CONNECT). */
  readonly path: string;
  readonly time: number;
}

export interface RecordingProxy {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly requests: ProxiedRequest[];
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const REQUEST_LINE = /(?:^|\r\n)(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\/\S*) HTTP\/1\.[01]\r\n/g;

function forwardHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

export async function startRecordingProxy(host = '127.0.0.1'): Promise<RecordingProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const record = (r: Omit<ProxiedRequest, 'time'>): void => void requests.push({ ...r, time: Date.now() });

  const server: Server = createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute URI required');
      return;
    }
    if (target.protocol !== 'http:') {
      res.writeHead(501).end('only http:// is forwarded; use CONNECT for https');
      return;
    }
    record({ kind: 'forward', method: req.method ?? 'GET', host: target.host, path: `${target.pathname}${target.search}` });
    const upstream = httpRequest(
      { host: target.hostname, port: target.port || 80, method: req.method, path: `${target.pathname}${target.search}`, headers: forwardHeaders(req.headers), agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, forwardHeaders(answer.headers));
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(upstream);
  });

  server.on('connect', (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const authority = req.url ?? '';
    const colon = authority.lastIndexOf(':');
    const [targetHost, targetPort] = [authority.slice(0, colon), Number(authority.slice(colon + 1))];
    record({ kind: 'connect', method: 'CONNECT', host: authority, path: '' });
    let seen = '';
    const sniff = (chunk: Buffer): void => {
      seen = (seen + chunk.toString('latin1')).slice(-64 * 1024);
      for (const match of seen.matchAll(REQUEST_LINE)) record({ kind: 'tunnelled', method: match[1]!, host: authority, path: match[2]! });
      // Keep only what could be the start of a request line not yet complete.
      const lastBreak = seen.lastIndexOf('\r\n');
      seen = lastBreak >= 0 ? seen.slice(lastBreak) : seen;
    };
    const upstream = connect(targetPort, targetHost, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) {
        sniff(head);
        upstream.write(head);
      }
      client.on('data', sniff);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => {
      if (client.writable) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
    client.on('error', () => upstream.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy did not bind');
  return {
    url: `http://${host}:${address.port}`,
    requests,
    stop: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
