import type { AzureDevOpsToken } from '../../identity/managed-identity';
import type { Pipeline } from '../../agent/pipeline';
import type { AuthenticateSettings } from './settings';

/** Sets the secret token variable and the non-secret facts about it, and says so without the token. */
export function publishToken(p: Pipeline, settings: AuthenticateSettings, token: AzureDevOpsToken, displayName?: string): void {
  const name = settings.variableName;
  const facts: Array<[string, string | undefined]> = [
    ['ExpiresOn', token.expiresOn.toISOString()],
    ['ObjectId', token.claims.oid],
    ['TenantId', token.claims.tid],
    ['ClientId', token.claims.appid ?? token.claims.azp],
    ['DisplayName', displayName],
  ];
  p.setVariable(name, token.token, { secret: true });
  for (const [suffix, value] of facts) if (value) p.setVariable(`${name}.${suffix}`, value);
  if (settings.isOutput) {
    p.warn(`isOutput is true: the token is also an output variable, readable by later jobs that depend on this one. Prefer running a second authenticate step in those jobs.`);
    p.setVariable(name, token.token, { secret: true, isOutput: true });
    for (const [suffix, value] of facts) if (value) p.setVariable(`${name}.${suffix}`, value, { isOutput: true });
  }
  const who = [displayName && `'${displayName}'`, token.claims.oid && `object id ${token.claims.oid}`, token.claims.tid && `tenant ${token.claims.tid}`]
    .filter(Boolean).join(', ');
  p.info(`Secret variable '${name}' holds a token for ${who || 'the identity'}, valid until ${token.expiresOn.toISOString()}.`);
  p.info(`Map it into scripts explicitly, e.g. env: { AZURE_DEVOPS_TOKEN: $(${name}) }.`);
}
