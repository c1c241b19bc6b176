/** Entry of the git-broker.js bundle: the job's token broker, started detached by a task step (git/broker-process.ts). */
import { runBrokerProcess } from '../git/broker-process';

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  await runBrokerProcess(process.argv[2], {
    stdin: Buffer.concat(chunks).toString('utf8'),
    say: (line) => {
      process.stdout.write(`${line}\n`);
      process.stdout.end();
    },
    exit: (code) => process.exit(code),
  });
}

process.on('uncaughtException', () => process.exit(1));
void main();
