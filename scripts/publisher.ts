/**
 * Packages built for another publisher than vss-extension.json's (`npm run package -- --publisher you`, or
 * PUBLISHER=you): which publisher, how the tasks learn it (a build-time value, see src/core/errors.ts), which links
 * of the shipped text files name it, and the check that a finished .vsix names no other.
 */
import { readFileSync } from 'node:fs';

export interface Manifest {
  readonly id: string;
  readonly publisher: string;
  readonly version: string;
  readonly files: ReadonlyArray<{ readonly path: string; readonly addressable?: boolean }>;
  readonly content?: { readonly details?: { readonly path: string } };
}

export function readManifest(file = 'vss-extension.json'): Manifest {
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

/**
 * A Marketplace publisher id: letters, digits, '-' and '_', starting with a letter or digit (it becomes part of URLs,
 * of `itemName=` and of the .vsix file name, so nothing else may pass).
 */
export const PUBLISHER_FORM = /^[A-Za-z0-9][A-Za-z0-9_-]{0,126}$/;

/** An error whose message is all a command-line user needs: printed as one line, without a stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--name value` or `--name=value` from argv; given twice, it is an error rather than a guess. */
export function option(argv: readonly string[], name: string): string | undefined {
  const found: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}`) {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value.`);
      found.push(value);
      i++;
    } else if (arg.startsWith(`--${name}=`)) {
      found.push(arg.slice(name.length + 3));
    }
  }
  if (found.length > 1) throw new UsageError(`--${name} is given ${found.length} times; give it once.`);
  return found[0];
}

/** The publisher to package for: --publisher, else PUBLISHER, else the manifest's. Validated. */
export function resolvePublisher(argv: readonly string[], env: NodeJS.ProcessEnv, manifest: Manifest): string {
  const given = option(argv, 'publisher') ?? (env['PUBLISHER'] || undefined);
  const publisher = given ?? manifest.publisher;
  if (!PUBLISHER_FORM.test(publisher)) {
    throw new UsageError(`Publisher '${publisher}' is not a Marketplace publisher id: letters, digits, '-' and '_', starting with a letter or digit.`);
  }
  return publisher;
}

/** `<publisher>.<extension id>`, the Marketplace item name. */
export function extensionItem(publisher: string, manifest: Manifest): string {
  return `${publisher}.${manifest.id}`;
}

/** The esbuild define that writes the item name into the task bundles (read by src/core/errors.ts). */
export function publisherDefine(publisher: string, manifest: Manifest): Record<string, string> {
  return { MIADO_EXTENSION_ITEM: JSON.stringify(extensionItem(publisher, manifest)) };
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Rewrites every `itemName=<manifest publisher>.<id>` (Marketplace links) to the package's publisher. */
export function rewriteLinks(text: string, manifest: Manifest, publisher: string): string {
  return text.replace(new RegExp(`(itemName=)${escape(extensionItem(manifest.publisher, manifest))}\\b`, 'gi'), `$1${extensionItem(publisher, manifest)}`);
}

/**
 * What is wrong with a package's files for `publisher`: a Marketplace link to another item of ours, or (for another
 * publisher than the manifest's) any trace of the manifest's publisher, in any file. Empty when it is right.
 */
export function packageProblems(files: ReadonlyMap<string, Buffer>, manifest: Manifest, publisher: string): string[] {
  const problems: string[] = [];
  const wanted = extensionItem(publisher, manifest).toLowerCase();
  const other = publisher.toLowerCase() !== manifest.publisher.toLowerCase() ? manifest.publisher.toLowerCase() : undefined;
  for (const [name, bytes] of files) {
    const text = bytes.toString('latin1');
    for (const item of itemNames(text, manifest)) {
      if (item.toLowerCase() !== wanted) problems.push(`${name}: names the Marketplace item ${item}`);
    }
    if (other && text.toLowerCase().includes(other)) problems.push(`${name}: names the publisher '${manifest.publisher}'`);
  }
  return problems;
}

/**
 * The `<publisher>.<id>` items of this extension a text names: in a link (`itemName=…`) or as a string literal of a
 * bundle (where the build wrote it; the link itself is assembled at run time).
 */
export function itemNames(text: string, manifest: Manifest): string[] {
  const pattern = new RegExp(`(?:itemName=|["'\`])([A-Za-z0-9_-]+\\.${escape(manifest.id)})(?![A-Za-z0-9_-])`, 'gi');
  return [...text.matchAll(pattern)].map((m) => m[1]!);
}
