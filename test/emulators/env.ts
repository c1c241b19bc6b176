/**
 * Environment for child processes that talk to the emulators. Identity variables silently change
 * which managed-identity source msal picks, and proxies would swallow loopback traffic
 * (research/managed-identity.md §2 "Pitfalls"), so both are scrubbed from the parent's env.
 */
const LEAKY = /^(IDENTITY_|MSI_|AZURE_|IMDS_|DEFAULT_IDENTITY_CLIENT_ID$|NODE_EXTRA_CA_CERTS$|(HTTPS?|ALL|NO)_PROXY$)/i;

export const LOOPBACK_NO_PROXY = { NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' } as const;

/** `process.env` minus identity and proxy variables, plus NO_PROXY for loopback, plus `extra`. */
export function scrubbedEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !LEAKY.test(name)) env[name] = value;
  }
  return { ...env, ...LOOPBACK_NO_PROXY, ...extra };
}
