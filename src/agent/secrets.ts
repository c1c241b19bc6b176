/** Every form of a token something could print, so the agent masks them all (it masks exact values only). */
import { derivedForms } from '../git/credential-helper';
import { describeSelector, getAzureDevOpsToken, type AzureDevOpsToken, type IdentitySelector } from '../identity/managed-identity';
import type { Log } from '../core/log';
import { TaskError } from '../core/errors';

export { derivedForms };

export interface SecretSink {
  setSecret(value: string): void;
}

/**
 * Registers the token and its derived forms as secrets: call it before anything can print them. A value of
 * several lines is never registered: the agent would fail the step ("Secrets cannot contain multiple lines") or
 * mask none of its lines, so it is refused here with a message that says why.
 */
export function maskToken(sink: SecretSink, token: string): void {
  const forms = derivedForms(token);
  if (forms.some((form) => /[\r\n]/.test(form))) {
    throw new TaskError('Refusing to use a token that spans several lines: the agent cannot register it as a secret, so it could not be masked.',
      'A token is a single line: check the identity endpoint and anything between it and the agent that rewrites its answers.');
  }
  for (const form of forms) sink.setSecret(form);
}

/**
 * Gets the token for a task step (logging the identity source and why before asking; IMDS and App Service asked
 * directly, identity/direct.ts), and masks every form of it at once.
 */
export async function acquireToken(p: SecretSink & Log, selector: IdentitySelector): Promise<AzureDevOpsToken> {
  p.info(`Getting an Azure DevOps token for ${describeSelector(selector)}.`);
  const token = await getAzureDevOpsToken(selector, p, { announce: true, direct: true });
  maskToken(p, token.token);
  return token;
}
