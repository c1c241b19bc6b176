/**
 * The git credential helper later steps run (`git credential-<helper> get`). It reads git's request on
 * stdin, checks the URL belongs to the job's session (organization names in any letter case), and answers
 * with the job's token: from the job's token broker (broker.ts) while it runs, else fresh from the managed
 * identity. The first helper of a session that had to ask the identity endpoint starts the session's broker
 * with that token (once per session: session.ts claimBrokerStart), so the job's later git requests cost no
 * identity request and no Node start. Every token it hands out is first registered with the agent as a secret,
 * with every form something could print, on stderr, which git passes through to the step's output where the agent
 * reads logging commands.
 * It never writes the token anywhere else but to git on stdout, and answers nothing once the session file is
 * gone. It must not import azure-pipelines-task-lib: it does not run under the agent.
 */
import { dirname } from 'node:path';
import { getAzureDevOpsToken } from '../identity/managed-identity';
import { neutralize, type Log } from '../core/log';
import { isTokenHost } from '../devops/organizations';
import { askBroker, type HeldToken } from './broker';
import { credentialAnswer, HELPER_USERNAME, inScope, parseCredentialRequest, requestUrl, scopeNames } from './credential-protocol';
import { claimBrokerStart, readSession, removeBrokerDirectory, removeBrokerFromSession } from './session';

export { HELPER_USERNAME, parseCredentialRequest };

export interface HelperIo {
  readonly stdin: string;
  write(text: string): void;
  warn(text: string): void;
  /** Registers a value with the agent as a secret (a `##vso[task.setsecret]` line on stderr). */
  register(value: string): void;
  /**
   * Starts the session's broker with a token already registered (broker-process.ts startBroker, which does not wait
   * for it to listen). Absent: this helper never starts one.
   */
  startBroker?(sessionFile: string, token: HeldToken): Promise<unknown>;
}

/** Every form of a token something could print, so the agent masks them all (it masks exact values only). */
export function derivedForms(token: string): string[] {
  const forms = [
    token,
    Buffer.from(`:${token}`).toString('base64'),
    Buffer.from(`${HELPER_USERNAME}:${token}`).toString('base64'),
    Buffer.from(token).toString('base64'),
    encodeURIComponent(token),
  ];
  return [...new Set(forms)];
}

/**
 * `##vso[task.setsecret]<value>`, escaped as the agent unescapes a command's value (%, CR, LF; agent
 * src/Agent.Worker/Command.cs `_escapeMappings`). Tokens and their base64 forms hold none of them.
 */
export function setSecretCommand(value: string): string {
  return `##vso[task.setsecret]${value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}`;
}

const PREFIX = 'Managed identity credential helper:';

/** Runs one helper invocation: `<session file> <get|store|erase>`. Returns the exit code. */
export async function runCredentialHelper(args: readonly string[], io: HelperIo): Promise<number> {
  const [sessionFile, action] = args;
  if (action !== 'get' || !sessionFile) return 0;
  const session = readSession(sessionFile);
  if (!session) {
    io.warn(`${PREFIX} this job's git credentials were removed (the post-job step ran); not answering.`);
    return 0;
  }
  const url = requestUrl(parseCredentialRequest(io.stdin));
  // Not an Azure DevOps host: another helper's business; say nothing.
  if (!url || !isTokenHost(url, session.policy)) return 0;
  if (!inScope(url, session)) {
    io.warn(`${PREFIX} ${url.protocol}//${url.host}${url.pathname} is not in one of this job's organizations (${scopeNames(session).join(', ')}): not answering. ` +
      'Add its organization to the organizations input of ManagedIdentityAuthenticate.');
    return 0;
  }
  const hand = (token: string, credential: string): number => {
    // A value of several lines cannot be registered as a secret (the agent refuses it), so it is never handed out.
    if (/[\r\n]/.test(token)) {
      io.warn(`${PREFIX} the identity endpoint answered with a token that spans several lines; not answering, as it could not be masked.`);
      return 1;
    }
    for (const form of derivedForms(token)) io.register(form);
    io.write(credential);
    return 0;
  };
  if (session.broker) {
    const answer = await askBroker(session.broker, io.stdin);
    if (answer) {
      if (answer.warning) io.warn(`${PREFIX} ${neutralize(answer.warning)}`);
      return answer.token && answer.credential ? hand(answer.token, answer.credential) : 1;
    }
  }
  if (!session.selector) {
    io.warn(`${PREFIX} the task that started this git command has ended; not answering.`);
    return 1;
  }
  const log: Log = { info: () => undefined, debug: () => undefined, warn: (m) => io.warn(m) };
  let held: HeldToken;
  try {
    const { token, expiresOn } = await getAzureDevOpsToken(session.selector, log, { direct: true });
    held = { token, expiresOn: expiresOn.getTime() };
  } catch (err) {
    io.warn(`${PREFIX} ${neutralize(err instanceof Error ? err.message : String(err))}`);
    return 1;
  }
  const code = hand(held.token, credentialAnswer(held.token, held.expiresOn));
  // Registered with the agent by hand() above, so git's own cache client may be given this token too.
  if (code === 0 && session.broker && io.startBroker && claimBrokerStart(sessionFile)) {
    await io.startBroker(sessionFile, held).catch((err: unknown) => {
      io.warn(`${PREFIX} could not start the job's git token broker (${neutralize(err instanceof Error ? err.message : String(err))}); ` +
        'later git requests ask the identity endpoint each time instead.');
      removeBrokerDirectory(dirname(sessionFile), session.broker);
      removeBrokerFromSession(sessionFile, session);
    });
  }
  return code;
}
