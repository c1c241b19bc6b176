/**
 * Starts every emulator over one shared world:
 *   const emu = await startEmulators();
 *   spawn(process.execPath, [...], { env: scrubbedEnv(emu.env()) });
 *   ...
 *   await emu.stop();
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDevOps, type DevOpsEmulator, type DevOpsOptions } from './devops';
import { startEntra, type EntraEmulator } from './entra';
import { LOOPBACK_NO_PROXY } from './env';
import { startFeeds, type FeedsService } from './feeds';
import { createRepositories } from './git-repos';
import { startIdentity, type IdentityConfig, type IdentityEmulator } from './identity';
import { TokenIssuer } from './tokens';
import { AZURE_DEVOPS_RESOURCE, defaultWorld, identityByKey, type World } from './world';

export interface Emulators {
  /** Temp directory holding the bare repos, key files and certificates. */
  readonly root: string;
  readonly world: World;
  readonly tokens: TokenIssuer;
  readonly identity: IdentityEmulator;
  readonly devops: DevOpsEmulator;
  /** Azure Artifacts (feeds.ts) on the Azure DevOps emulator's origin: `emu.feeds.feeds` is live data. */
  readonly feeds: FeedsService;
  /** Entra over HTTPS (workload identity), started on first use. */
  entra(): Promise<EntraEmulator>;
  /** What a child process needs to get tokens through IMDS: AZURE_POD_IDENTITY_AUTHORITY_HOST and NO_PROXY. */
  env(): Record<string, string>;
  /** A valid access token for an identity of the world, minted directly (no identity endpoint). */
  tokenFor(identityKey: string, resource?: string): string;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Directory for repos and key files; default a fresh temp dir, removed by stop(). */
  root?: string;
  /** Scenario factory; default `defaultWorld`. */
  world?: (root: string) => World;
  identity?: Partial<IdentityConfig>;
  devops?: Partial<DevOpsOptions>;
}

export async function startEmulators(opts: EmulatorOptions = {}): Promise<Emulators> {
  const ownRoot = !opts.root;
  const root = opts.root ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'mi-emulators-')));
  const world = (opts.world ?? defaultWorld)(root);
  const tokens = await TokenIssuer.create();
  const feeds = startFeeds(world);
  const [identity, devops] = await Promise.all([
    startIdentity({ world, tokens, config: opts.identity }),
    startDevOps({ world, tokens, options: opts.devops, feeds }),
  ]);
  // The repos come after the server: submodule URLs name the emulator's own address.
  await createRepositories(world, devops.url);
  let entra: Promise<EntraEmulator> | undefined;

  return {
    root,
    world,
    tokens,
    identity,
    devops,
    feeds,
    entra: () => (entra ??= startEntra({ world, tokens, dir: path.join(root, 'entra') })),
    env: () => ({ ...identity.envFor('imds'), ...LOOPBACK_NO_PROXY }),
    tokenFor: (key, resource = AZURE_DEVOPS_RESOURCE) => tokens.mintAccessToken(identityByKey(world, key), resource).token,
    async stop() {
      await Promise.all([identity.stop(), devops.stop(), entra?.then((e) => e.stop())]);
      if (ownRoot) await fs.promises.rm(root, { recursive: true, force: true });
    },
  };
}

export * from './world';
export * from './world-helpers';
export {
  matchRequest,
  serverErrorFault,
  startDevOps,
  throttlingFault,
  type DevOpsEmulator,
  type DevOpsOptions,
  type DevOpsRequest,
  type RequestMatch,
  type ServerErrorOptions,
  type ThrottlingOptions,
} from './devops';
export { startEntra, type EntraEmulator } from './entra';
export * from './feeds';
export { scrubbedEnv, LOOPBACK_NO_PROXY } from './env';
export type { Fault } from './faults';
export { createRepositories, isolatedGitEnv, runGit, seedBytes, syncPolicyHook, TF402455, type GitResult } from './git-repos';
export { addGeneratedRepository, type GeneratedRepository, type GeneratedRepositoryOptions } from './generated-repository';
export { readCommit, refsOf, refValue, ZERO_ID, type CommitInfo, type RefEntry } from './git-store';
export type { RecordedRequest } from './http-util';
export { SOURCE_PATHS, startIdentity, type IdentityEmulator, type IdentitySource, type IdentityConfig } from './identity';
export { createTestPki, type TestPki } from './pki';
export { decodeClaims, TokenIssuer, type AccessTokenClaims, type VerifyResult } from './tokens';
