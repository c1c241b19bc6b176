/** What the feed writers need from the job, and what each one reports back for the log, the summary and the post-job step. */
import type { Log } from '../core/log';
import type { Client, Feed } from './feed';

/**
 * The variables that carry the token to later steps' package clients. They are not secret variables: the
 * agent gives secret variables to no step's environment, which is where these clients read them (as
 * Microsoft's PipAuthenticate, NuGetAuthenticate and CargoAuthenticate set theirs). The token is registered
 * as a secret before any of them is set, so the agent masks it wherever a value is shown; the post-job step
 * empties them.
 */
export const TOKEN_VARIABLES = /^(PIP_INDEX_URL|PIP_EXTRA_INDEX_URL|VSS_NUGET_EXTERNAL_FEED_ENDPOINTS|CARGO_REGISTRIES_[A-Z0-9_]+_TOKEN|ORG_GRADLE_PROJECT_[A-Za-z0-9]+Password)$/;

/** The job side: pipeline variables (a later step's environment), secrets, the log. The agent adapter provides it. */
export interface FeedJob extends Log {
  /** A pipeline variable or environment value as this step sees it (what an earlier step or the agent set). */
  variable(name: string): string | undefined;
  /**
   * A non-secret variable: later steps get it in their environment (secret ones they would not); with
   * `preserveCase`, under its name as written rather than upper-cased.
   */
  setEnvironmentVariable(name: string, value: string, options?: { preserveCase?: boolean }): void;
  setSecret(value: string): void;
}

/** One client's configuration for some feeds. */
export interface WriteContext {
  readonly job: FeedJob;
  readonly tempDir: string;
  readonly token: string;
  /** The user name sent with the token where a client needs one (Azure Artifacts ignores it). */
  readonly user: string;
  /** Registers a form of the token as a secret (once) before anything writes it. */
  mask(value: string): void;
  /** The user's home, whose ~/.npmrc and ~/.m2/settings.xml are carried over. */
  readonly home: string;
}

export interface ClientFeed {
  readonly feed: Feed;
  /** The URL this client uses for the feed. */
  readonly url: string;
}

/** A variable a writer set, and what the post-job step sets it back to ('' for values that held the token). */
export interface SetVariable {
  readonly name: string;
  readonly restore: string;
  readonly preserveCase?: boolean;
}

export interface Written {
  readonly client: Client;
  readonly feeds: readonly ClientFeed[];
  readonly files: readonly string[];
  readonly variables: readonly SetVariable[];
  /** How the client finds its credentials, for the log and the summary (no secret). */
  readonly how: string;
}

/** Sets a variable and records how to undo it; `secretBearing` values are cleared after the job rather than restored. */
export function setJobVariable(ctx: WriteContext, name: string, value: string, secretBearing: boolean, out: SetVariable[], preserveCase = false): void {
  const previous = preserveCase ? '' : ctx.job.variable(name) ?? '';
  ctx.job.setEnvironmentVariable(name, value, preserveCase ? { preserveCase } : {});
  if (!out.some((v) => v.name === name)) out.push({ name, restore: secretBearing ? '' : previous, ...(preserveCase ? { preserveCase } : {}) });
}
