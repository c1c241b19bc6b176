/**
 * A throwaway CA and a server certificate for 127.0.0.1, made at test time (nothing is committed).
 * Uses the `openssl` CLI when it is on PATH (OpenSSL ≥ 3 for `req -x509 -CA`), else builds the
 * X.509 DER itself with node:crypto (ECDSA P-256, RFC 5280 fields only).
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestPki {
  /** PEM of the CA; `caFile` is the same on disk, for `NODE_EXTRA_CA_CERTS`. */
  caPem: string;
  caFile: string;
  /** Server certificate (SAN IP:127.0.0.1, DNS:localhost) and its private key, PEM. */
  cert: string;
  key: string;
  tool: 'openssl' | 'node';
}

export function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)));
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args[0]} failed: ${stderr}`))));
  });
}

async function withOpenssl(dir: string): Promise<Omit<TestPki, 'caFile' | 'tool'>> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Emulator Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  await run('openssl', ['req', '-x509', ...ec, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-keyout', 'server.key', '-out', 'server.pem',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=serverAuth'], dir);
  const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
  return { caPem: read('ca.pem'), cert: read('server.pem'), key: read('server.key') };
}

// Minimal DER encoder (X.690) for the handful of types a certificate needs.
function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...items: Buffer[]): Buffer => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => der(0x31, Buffer.concat(items));
const int = (bytes: Buffer): Buffer => der(0x02, bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
const octets = (b: Buffer): Buffer => der(0x04, b);
const bits = (b: Buffer, unused = 0): Buffer => der(0x03, Buffer.concat([Buffer.from([unused]), b]));
const TRUE = der(0x01, Buffer.from([0xff]));
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  }
  return der(0x06, Buffer.from(out));
}
const utcTime = (d: Date): Buffer => der(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));
const name = (cn: string): Buffer => seq(set(seq(oid('2.5.4.3'), der(0x0c, Buffer.from(cn)))));
const extension = (id: string, value: Buffer, critical = false): Buffer =>
  seq(oid(id), ...(critical ? [TRUE] : []), octets(value));

interface CertSpec {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  issuerKeyId: Buffer;
  extensions: Buffer[];
}

function keyId(publicKey: KeyObject): Buffer {
  return createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest();
}

function certificate(spec: CertSpec): string {
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const tbs = seq(
    der(0xa0, int(Buffer.from([2]))),
    int(serial),
    ecdsaSha256,
    name(spec.issuer),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 2 * 86400_000))),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, seq(
      ...spec.extensions,
      extension('2.5.29.14', octets(keyId(spec.publicKey))),
      extension('2.5.29.35', seq(der(0x80, spec.issuerKeyId))),
    )),
  );
  const signature = sign('sha256', tbs, spec.signingKey);
  const body = seq(tbs, ecdsaSha256, bits(signature)).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${body.trimEnd()}\n-----END CERTIFICATE-----\n`;
}

function withNodeCrypto(): Omit<TestPki, 'caFile' | 'tool'> {
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const server = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caId = keyId(ca.publicKey);
  const caPem = certificate({
    subject: 'Emulator Test CA', issuer: 'Emulator Test CA', publicKey: ca.publicKey, signingKey: ca.privateKey, issuerKeyId: caId,
    extensions: [
      extension('2.5.29.19', seq(TRUE), true),
      extension('2.5.29.15', bits(Buffer.from([0x06]), 1), true), // keyCertSign, cRLSign
    ],
  });
  const cert = certificate({
    subject: '127.0.0.1', issuer: 'Emulator Test CA', publicKey: server.publicKey, signingKey: ca.privateKey, issuerKeyId: caId,
    extensions: [
      extension('2.5.29.17', seq(der(0x87, Buffer.from([127, 0, 0, 1])), der(0x82, Buffer.from('localhost')))),
      extension('2.5.29.19', seq()),
      extension('2.5.29.15', bits(Buffer.from([0x80]), 7), true), // digitalSignature
      extension('2.5.29.37', seq(oid('1.3.6.1.5.5.7.3.1'))), // serverAuth
    ],
  });
  const key = server.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { caPem, cert, key };
}

/** Creates the CA and server certificate under `dir` (created if missing). */
export async function createTestPki(dir: string, tool: 'auto' | 'openssl' | 'node' = 'auto'): Promise<TestPki> {
  await fs.promises.mkdir(dir, { recursive: true });
  let made: Omit<TestPki, 'caFile' | 'tool'> | undefined;
  if (tool === 'openssl' || (tool === 'auto' && onPath('openssl'))) {
    try {
      made = await withOpenssl(dir);
    } catch (err) {
      if (tool === 'openssl') throw err; // 'auto': an OpenSSL older than 3.0 lacks `req -CA`
    }
  }
  const used = made ? 'openssl' : 'node';
  made ??= withNodeCrypto();
  const caFile = path.join(dir, 'ca.pem');
  await fs.promises.writeFile(caFile, made.caPem);
  return { ...made, caFile, tool: used };
}
