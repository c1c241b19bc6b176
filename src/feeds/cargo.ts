/**
 * Cargo (1.74 and later): CARGO_REGISTRIES_{NAME}_TOKEN = `Basic base64(user:token)` and
 * CARGO_REGISTRIES_{NAME}_CREDENTIAL_PROVIDER = `cargo:token` for each feed, as CargoAuthenticate@0 sets them
 * (microsoft/azure-pipelines-tasks Tasks/CargoAuthenticateV0/cargoauthenticatemain.ts). Cargo sends the token
 * value as the Authorization header of a registry whose index says `auth-required` (Cargo book,
 * reference/registry-authentication.md and config.md "registries.<name>.token"). {NAME} is the registry's
 * name in the project's .cargo/config.toml (`[registries] {name} = { index = "sparse+…/Cargo/index/" }`),
 * upper-cased with `-` as `_`; the "Connect to feed" page names it after the feed. The index itself stays
 * the project's to define: an index variable would silently redirect a registry of the same name.
 */
import { setJobVariable, type ClientFeed, type SetVariable, type WriteContext, type Written } from './job';

/** Cargo registry names: letters, digits, '-' and '_' (cargo's validate_name for registries). */
export const CARGO_NAME = /^[A-Za-z0-9_-]+$/;

export const cargoVariable = (name: string, key: 'TOKEN' | 'CREDENTIAL_PROVIDER'): string =>
  `CARGO_REGISTRIES_${name.toUpperCase().replace(/-/g, '_')}_${key}`;

export function configureCargo(ctx: WriteContext, feeds: readonly ClientFeed[]): Written {
  const header = `Basic ${Buffer.from(`${ctx.user}:${ctx.token}`).toString('base64')}`;
  ctx.mask(header.slice('Basic '.length));
  const variables: SetVariable[] = [];
  const names = [...new Set(feeds.map((f) => f.feed.name))];
  for (const name of names) {
    setJobVariable(ctx, cargoVariable(name, 'TOKEN'), header, true, variables);
    setJobVariable(ctx, cargoVariable(name, 'CREDENTIAL_PROVIDER'), 'cargo:token', false, variables);
  }
  return { client: 'cargo', feeds, files: [], variables, how: `${names.map((n) => cargoVariable(n, 'TOKEN')).join(', ')} for the registries ${names.join(', ')} of .cargo/config.toml` };
}
