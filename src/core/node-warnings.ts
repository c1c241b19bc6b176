/**
 * One Node warning that the bundling itself causes, dropped before the bundle runs (the start files call this,
 * scripts/build.ts startOptions).
 *
 * From Node 24, `url.parse()` prints DEP0169 ("`url.parse()` behavior is not standardized …") once per process
 * when its caller is not inside a node_modules folder (lib/url.js asks isInsideNodeModules). azure-devops-node-api
 * (WebApi.js, VsoClient.js) and typed-rest-client call it; installed as packages they are inside node_modules and
 * Node stays quiet, but bundled into main.bundle.js they are not, so every Node 24 step would print the warning
 * into the pipeline log for code we do not own. Only that code is dropped: every other warning, deprecation or
 * not, is printed as Node prints it.
 */
const BUNDLED_ONLY = new Set(['DEP0169']);

type EmitWarning = (warning: string | Error, ...rest: unknown[]) => void;

/** The code of a `process.emitWarning` call: `(warning, type, code)`, `(warning, { code })` or an Error with a code. */
function warningCode(warning: unknown, rest: readonly unknown[]): unknown {
  const [second, third] = rest;
  if (second && typeof second === 'object') return (second as { code?: unknown }).code;
  if (typeof second === 'string') return third;
  return warning instanceof Error ? (warning as { code?: unknown }).code : undefined;
}

/** Wraps `process.emitWarning` so that the warnings in BUNDLED_ONLY are not emitted. Idempotent; never throws. */
export function dropBundlingWarnings(): void {
  const original = process.emitWarning as EmitWarning & { miadoFiltered?: true };
  if (original.miadoFiltered) return;
  const filtered: EmitWarning & { miadoFiltered?: true } = function (this: unknown, warning, ...rest) {
    const code = warningCode(warning, rest);
    if (typeof code === 'string' && BUNDLED_ONLY.has(code)) return;
    original.call(process, warning, ...rest);
  };
  filtered.miadoFiltered = true;
  process.emitWarning = filtered as typeof process.emitWarning;
}
