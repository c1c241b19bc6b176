/**
 * The token broker: holds a job's Azure DevOps token in memory and hands it to git, so that many git requests
 * (a checkout with twenty submodules, several agents on one VM each running git in a loop) cost no identity
 * request and no Node start each. Nothing is written to disk: the token arrives on a pipe (the broker process's
 * stdin, or in-process), lives in this object, and leaves only through the local socket to git.
 *
 * It speaks the protocol of git's own credential cache daemon (git builtin/credential-cache.c: a request is
 * `action=<get|store|erase|exit>`, `timeout=<n>`, then git's credential lines, the client shuts down its side
 * and copies the answer to git verbatim), so `git credential-cache --socket <broker>` is a helper that costs a
 * few milliseconds. Our own helper (credential-helper.ts) asks with `action=miado-get` and gets warnings too.
 *
 * Renewal happens on demand, once for all waiting requests, before the token's last `renewalMargin`, through
 * the identity endpoint's retries (jittered, honouring Retry-After, within its deadline). A renewed token is a
 * value the agent has not been told to mask: it is handed out only to our helper, which registers it with the
 * agent (`##vso[task.setsecret]` on the stderr git passes through to the step) before git sees it; git's cache
 * client, which cannot print anything but the answer, gets only tokens the agent already masks.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { credentialAnswer, inScope, parseCredentialRequest, requestUrl, scopeNames, type CredentialScope } from './credential-protocol';
import { isSocketAddress } from './session';

export interface HeldToken {
  readonly token: string;
  /** Epoch milliseconds. */
  readonly expiresOn: number;
}

export interface BrokerOptions {
  readonly scope: CredentialScope;
  /** The token to start with, already registered as a secret by whoever obtained it (the helper that started the broker, or a task step). */
  readonly initial: HeldToken;
  /** Gets a new token; absent: the broker never renews (it serves one step's token for that step's git). */
  readonly renew?: () => Promise<HeldToken>;
  /** Called with a renewed token before anything hands it out; return true when it is now registered (in-process). */
  readonly registered?: (token: string) => boolean;
  /** Told about every request (the process entry watches for idleness). */
  readonly onActivity?: () => void;
  /** `exit` was asked for (the post-job step): the process entry ends. */
  readonly onExit?: () => void;
  readonly now?: () => number;
}

/** Renew when less than this is left of a token (or half its lifetime, for short-lived tokens). */
export const RENEWAL_MARGIN_MS = 5 * 60_000;
/** After a failed renewal, while the current token still works, wait this long before trying again. */
const RENEWAL_COOLDOWN_MS = 10_000;
/** A token with less left than this is renewed rather than served on after a failure. */
const MIN_VALIDITY_MS = 30_000;

interface Held extends HeldToken {
  readonly obtained: number;
  registered: boolean;
}

export class TokenBroker {
  private held: Held;
  private renewing: Promise<Held> | undefined;
  private lastFailure: { at: number; message: string } | undefined;
  private readonly known = new Set<string>();
  private server: Server | undefined;
  private address: string | undefined;
  private readonly now: () => number;
  /** Requests answered, by kind (for benchmarks and tests). */
  readonly counts = { get: 0, helper: 0, renewals: 0 };

  constructor(private readonly options: BrokerOptions) {
    this.now = options.now ?? Date.now;
    this.held = { ...options.initial, obtained: this.now(), registered: true };
    this.known.add(options.initial.token);
  }

  /** Answers one request (the text a client sent) with the text to send back. */
  async answer(request: string): Promise<string> {
    this.options.onActivity?.();
    const newline = request.indexOf('\n');
    const action = /^action=(.*)$/.exec(request.slice(0, newline < 0 ? undefined : newline))?.[1];
    const rest = request.slice(newline + 1).replace(/^timeout=[^\n]*\n/, '');
    switch (action) {
      case 'get': return this.get(rest, false);
      case 'miado-get': return this.get(rest, true);
      case 'exit':
        this.options.onExit?.();
        return '';
      default:
        // store and erase: the broker keeps the one token it holds. An erase after a 401 means the organization
        // refused the identity, not that the token is bad, so it is not dropped.
        return '';
    }
  }

  private async get(text: string, helper: boolean): Promise<string> {
    const url = requestUrl(parseCredentialRequest(text));
    if (!url || !inScope(url, this.options.scope)) {
      if (!helper || !url) return '';
      const names = scopeNames(this.options.scope);
      const where = `${url.protocol}//${url.host}${url.pathname}`;
      return `warning=${oneLine(`${where} is not in one of this job's organizations (${names.join(', ')}): not answering. Add its organization to the organizations input of ManagedIdentityAuthenticate.`)}\n`;
    }
    if (helper) this.counts.helper++;
    else this.counts.get++;
    const held = await this.current();
    if (!held) return helper ? `warning=${oneLine(this.lastFailure?.message ?? 'no token')}\n` : '';
    // git's cache client cannot register a token with the agent: it gets only registered ones (see the header).
    if (!helper && !held.registered) return '';
    const warning = this.lastFailure && held.expiresOn - this.now() < this.margin(held) ? `warning=${oneLine(`could not renew the token (${this.lastFailure.message}); the current one is valid until ${new Date(held.expiresOn).toISOString()}.`)}\n` : '';
    return `${credentialAnswer(held.token, held.expiresOn)}${warning}`;
  }

  private margin(held: Held): number {
    return Math.min(RENEWAL_MARGIN_MS, Math.max(0, held.expiresOn - held.obtained) / 2);
  }

  /** The token to hand out: the held one, or a renewed one when it is about to expire; undefined when there is none. */
  private async current(): Promise<Held | undefined> {
    const held = this.held;
    const now = this.now();
    if (!this.options.renew || held.expiresOn - now >= this.margin(held)) return held.expiresOn > now ? held : undefined;
    // A renewal failed a moment ago: keep serving the current token while it has time left, rather than asking again.
    if (this.lastFailure && now - this.lastFailure.at < RENEWAL_COOLDOWN_MS && held.expiresOn - now > MIN_VALIDITY_MS) return held;
    try {
      return await this.renewOnce();
    } catch {
      return held.expiresOn > this.now() ? held : undefined;
    }
  }

  private renewOnce(): Promise<Held> {
    this.renewing ??= (async () => {
      try {
        const fresh = await this.options.renew!();
        this.counts.renewals++;
        const registered = this.known.has(fresh.token) || (this.options.registered?.(fresh.token) ?? false);
        this.known.add(fresh.token);
        this.held = { ...fresh, obtained: this.now(), registered };
        this.lastFailure = undefined;
        return this.held;
      } catch (err) {
        this.lastFailure = { at: this.now(), message: err instanceof Error ? err.message : String(err) };
        throw err;
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  /** Listens on a Unix socket path or a Windows named pipe. */
  listen(address: string): Promise<void> {
    const server = createServer({ allowHalfOpen: true }, (socket) => this.serve(socket));
    this.server = server;
    this.address = address;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Lets the process exit while the server listens (the in-process broker of a task's own git). */
  unref(): void {
    this.server?.unref();
  }

  private serve(socket: Socket): void {
    const chunks: Buffer[] = [];
    let size = 0;
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 64 * 1024) socket.destroy();
      else chunks.push(chunk);
    });
    socket.on('error', () => socket.destroy());
    // A client shuts down its side after the request (git's send_request does); a silent one is dropped.
    socket.setTimeout(30_000, () => socket.destroy());
    socket.on('end', () => {
      this.answer(Buffer.concat(chunks).toString('utf8'))
        .then((text) => socket.end(text), () => socket.end());
    });
  }

  /** Stops listening and removes the socket file. */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (this.address && isSocketAddress(this.address)) rmSync(this.address, { force: true });
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

export interface BrokerAnswer {
  /** The credential lines for git, when the broker gave a token. */
  readonly credential?: string;
  readonly token?: string;
  readonly warning?: string;
}

/**
 * Asks a broker (as our helper does). Undefined when no broker answers at that address (gone, never started):
 * the caller may then ask the identity endpoint itself.
 */
export function askBroker(address: string, request: string, timeoutMs = 30_000): Promise<BrokerAnswer | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ path: address, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let connected = false;
    const done = (answer: BrokerAnswer | undefined): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('connect', () => {
      connected = true;
      socket.end(`action=miado-get\ntimeout=0\n${request}`);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => done(undefined));
    socket.on('end', () => {
      if (!connected) return done(undefined);
      const fields = parseCredentialRequest(Buffer.concat(chunks).toString('utf8'));
      const token = fields.get('password');
      const credential = token ? ['username', 'password', 'password_expiry_utc'].filter((k) => fields.has(k)).map((k) => `${k}=${fields.get(k)}\n`).join('') : undefined;
      done({ ...(credential ? { credential, token } : {}), ...(fields.has('warning') ? { warning: fields.get('warning') } : {}) });
    });
  });
}
