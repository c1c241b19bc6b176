/**
 * Which build of the tasks this code runs in. scripts/build.ts bundles every task twice and replaces the
 * identifier MIADO_EMULATOR_BUILD with a constant (esbuild `define`):
 * - the release flavour (`false`): tasks/<Name>V1/*.js, what dist/*.vsix ships. Tokens go to Azure DevOps
 *   hosts over https and nowhere else; the code that could accept another host is not in these bundles
 *   at all, so nothing a pipeline, a queue-time variable, an earlier step or an environment variable sets
 *   can bring it back (scripts/build.ts refuses to write a release bundle that still holds it).
 * - the emulator flavour (`true`): dist/test/*.vsix, for the end-to-end tests, `npm start`, the benchmark and
 *   `npm run try` against the loopback emulators. Only there does the pipeline variable
 *   `ManagedIdentity.TestHosts` name loopback hosts that may stand in for Azure DevOps.
 * Unbundled (tsx: unit tests, which import src/ directly) the identifier is undeclared and the sources
 * behave as the emulator flavour.
 */
declare const MIADO_EMULATOR_BUILD: boolean | undefined;

/** True only in the emulator flavour (and in unbundled sources). */
export const EMULATOR_BUILD: boolean = typeof MIADO_EMULATOR_BUILD === 'undefined' || MIADO_EMULATOR_BUILD;
