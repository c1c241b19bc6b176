/** Entry of the credential-helper.js bundle shipped in every task folder that configures git. */
import { runCredentialHelper, setSecretCommand } from '../git/credential-helper';

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  process.exitCode = await runCredentialHelper(process.argv.slice(2), {
    stdin: Buffer.concat(chunks).toString('utf8'),
    write: (text) => process.stdout.write(text),
    warn: (text) => process.stderr.write(`${text}\n`),
    register: (value) => process.stderr.write(`${setSecretCommand(value)}\n`),
    // Loaded only here (child_process and the broker's code): most helper runs never start a broker.
    startBroker: async (sessionFile, token) => (await import('../git/broker-process.js')).startBroker(sessionFile, token),
  });
  // An identity request abandoned at its deadline may hold the event loop open.
  setTimeout(() => process.exit(), 50).unref();
}

void main();
