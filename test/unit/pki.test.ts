/** test/emulators/pki.ts: the throwaway CA and server certificate the TLS emulators (Entra) serve, made with openssl. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import { createTestPki } from '../emulators/pki';

describe('test PKI (test/emulators/pki.ts)', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pki-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('issues a P-256 server certificate for 127.0.0.1 and localhost from a CA that only signs certificates', async () => {
    const pki = await createTestPki(dir);
    const ca = new X509Certificate(pki.caPem);
    const server = new X509Certificate(pki.cert);
    assert.equal(ca.ca, true);
    assert.equal(server.ca, false);
    assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
    assert.equal(server.subjectAltName, 'IP Address:127.0.0.1, DNS:localhost');
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth only');
    assert.equal(server.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(Date.parse(server.validTo) - Date.now() < 3 * 86_400_000, 'throwaway: valid for days, not years');
  });

  it('serves TLS that a client trusting only that CA accepts for 127.0.0.1, and one without it refuses', async () => {
    const pki = await createTestPki(dir);
    const tls = createServer({ cert: pki.cert, key: pki.key }, (socket) => socket.end('ok'));
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    const { port } = tls.address() as AddressInfo;
    const ask = (ca?: string): Promise<string> => new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ...(ca ? { ca } : {}) }, () => socket.once('data', (d) => { resolve(String(d)); socket.end(); }));
      socket.once('error', reject);
    });
    try {
      assert.equal(await ask(pki.caPem), 'ok');
      await assert.rejects(ask(), /self-signed|unable to (verify|get local issuer)/i);
    } finally {
      tls.close();
    }
  });

  it('says what is missing when openssl is not installed', async () => {
    const saved = process.env.PATH;
    process.env.PATH = dir;
    try {
      await assert.rejects(createTestPki(join(dir, 'pki')), /The emulators need the openssl command/);
    } finally {
      process.env.PATH = saved;
    }
  });
});
