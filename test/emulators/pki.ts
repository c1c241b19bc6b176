/**
 * A throwaway CA and a server certificate for 127.0.0.1 (ECDSA P-256), made at test time with the `openssl`
 * command (nothing is committed). The commands and configuration files used (`ecparam -genkey`, `req -x509`,
 * `req -new`, `x509 -req -extfile`) work alike in OpenSSL 1.1.1, OpenSSL 3 and LibreSSL; `.ci/run` installs openssl
 * where it is missing, and without it the emulator that needs TLS fails with one message saying so.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestPki {
  /** PEM of the CA; `caFile` is the same on disk, for `NODE_EXTRA_CA_CERTS`. */
  caPem: string;
  caFile: string;
  /** Server certificate (SAN IP:127.0.0.1, DNS:localhost) and its private key, PEM. */
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OPENSSL_CONF: path.join(cwd, 'ca.cnf') } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT'
      ? new Error('The emulators need the openssl command for their test certificates: install it (apt-get install openssl, or your OS package manager).')
      : err));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`openssl ${args[0]} failed: ${stderr.trim()}`))));
  });
}

// One configuration for both certificates: the CA's own extensions, and those the CA puts in the server's.
const CONFIG = `[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext

[dn]
CN = Emulator Test CA

[server_dn]
CN = 127.0.0.1

[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[server_ext]
subjectAltName = IP:127.0.0.1,DNS:localhost
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** Creates the CA and server certificate under `dir` (created if missing). */
export async function createTestPki(dir: string): Promise<TestPki> {
  await fs.promises.mkdir(dir, { recursive: true });
  await fs.promises.writeFile(path.join(dir, 'ca.cnf'), CONFIG);
  await fs.promises.writeFile(path.join(dir, 'server.cnf'), CONFIG.replace('distinguished_name = dn', 'distinguished_name = server_dn'));
  const key = ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out'];
  await openssl([...key, 'ca.key'], dir);
  await openssl([...key, 'server.key'], dir);
  await openssl(['req', '-x509', '-new', '-sha256', '-days', '2', '-key', 'ca.key', '-config', 'ca.cnf', '-out', 'ca.pem'], dir);
  await openssl(['req', '-new', '-sha256', '-key', 'server.key', '-config', 'server.cnf', '-out', 'server.csr'], dir);
  await openssl(['x509', '-req', '-sha256', '-days', '2', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-set_serial', `0x${randomBytes(16).toString('hex').replace(/^[89a-f]/, '7')}`, '-extfile', 'ca.cnf', '-extensions', 'server_ext', '-out', 'server.pem'], dir);
  const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
  const caFile = path.join(dir, 'ca.pem');
  return { caPem: read('ca.pem'), caFile, cert: read('server.pem'), key: read('server.key') };
}
