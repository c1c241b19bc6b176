/**
 * src/identity/transport.ts over real HTTP on 127.0.0.1: requests and headers are @azure/core-rest-pipeline's own
 * (createPipelineRequest, createHttpHeaders), answers come back as the pipeline's HttpHeaders, and every exchange is
 * recorded without a 2xx body.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DirectTransport, transportRequest } from '../../src/identity/transport';

describe('identity transport (src/identity/transport.ts)', () => {
  let server: Server;
  let url: string;
  let seen: IncomingHttpHeaders[];
  before(async () => {
    seen = [];
    server = createServer((req, res) => {
      seen.push(req.headers);
      if (req.url?.startsWith('/throttled')) {
        res.writeHead(429, [['Retry-After', '3'], ['X-Multi', 'a'], ['X-Multi', 'b'], ['Content-Type', 'application/json']]);
        res.end(JSON.stringify({ error: 'too_many_requests', error_description: 'Slow down' }));
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"access_token":"secret-token-value"}');
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('sends the request as built by core-rest-pipeline, and answers with its HttpHeaders', async () => {
    const transport = new DirectTransport({ connectMs: 2_000, responseMs: 2_000 });
    const request = transportRequest(`${url}/throttled?api-version=1`, { Metadata: 'true' });
    assert.match(request.requestId, /^[0-9a-f-]{36}$/, 'a pipeline request, with its id');
    const response = await transport.sendRequest(request);
    assert.equal(response.status, 429);
    assert.equal(response.request, request);
    assert.equal(response.headers.get('RETRY-AFTER'), '3', 'case-insensitive');
    assert.equal(response.headers.get('x-multi'), 'a, b', 'a repeated header joined as fetch does');
    assert.equal(seen.at(-1)!['metadata'], 'true');
    assert.equal(seen.at(-1)!['accept-encoding'], undefined);
    assert.deepEqual(transport.exchanges.map((e) => [e.status, e.retryAfterMs, e.description, e.endpoint]), [[429, 3_000, 'Slow down', `${url}/throttled`]]);
  });

  it('never records a 2xx body (it holds the token)', async () => {
    const transport = new DirectTransport({ connectMs: 2_000, responseMs: 2_000 });
    const response = await transport.sendRequest(transportRequest(`${url}/token`, {}));
    assert.equal(response.bodyAsText, '{"access_token":"secret-token-value"}');
    assert.ok(!JSON.stringify(transport.exchanges).includes('secret-token-value'));
  });
});
