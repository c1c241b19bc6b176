/** Every form of a token something could print, so the agent masks them all (it masks exact values only). */
import { derivedForms } from '../git/credential-helper';
import { describeSelector, getAzureDevOpsToken, type AzureDevOpsToken, type IdentitySelector } from '../identity/managed-identity';
import type { Log } from '../core/log';

export { derivedForms };

export interface SecretSink {
  setSecret(value: string): void;
}

/** Registers the token and its derived forms as secrets: call it before anything can print them. */
export function maskToken(sink: SecretSink, token: string): void {
  for (const form of derivedForms(token)) sink.setSecret(form);
}

/** Gets the token for a task step (logging the identity source and why before asking), and masks every form of it at once. */
export async function acquireToken(p: SecretSink & Log, selector: IdentitySelector): Promise<AzureDevOpsToken> {
  p.info(`Getting an Azure DevOps token for ${describeSelector(selector)}.`);
  const token = await getAzureDevOpsToken(selector, p, { announce: true });
  maskToken(p, token.token);
  return token;
}
