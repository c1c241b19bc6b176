/** Every form of a token something could print, so the agent masks them all (it masks exact values only). */
import { HELPER_USERNAME } from './credential-helper';

export interface SecretSink {
  setSecret(value: string): void;
}

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

/** Registers the token and its derived forms as secrets: call it before anything can print them. */
export function maskToken(sink: SecretSink, token: string): void {
  for (const form of derivedForms(token)) sink.setSecret(form);
}
