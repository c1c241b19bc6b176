/**
 * Renders the extension and task icons from the hand-written SVG sources in images/ to PNG: `npm run icons`.
 * The renderer is resvg (a maintained SVG renderer in Rust, https://github.com/linebender/resvg) as WebAssembly
 * (@resvg/resvg-wasm, pinned in package.json): no native binary and no install script, and the same pixels
 * and PNG bytes on every OS and CPU, so test/unit/icons.test.ts can require the committed PNGs to equal a fresh
 * render byte for byte.
 *
 * No fonts are loaded (the output must not depend on the machine's fonts), so `<text>` is refused: draw
 * lettering as paths.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { initWasm, Resvg } from '@resvg/resvg-wasm';

export interface IconTarget {
  readonly source: string;
  readonly size: number;
  readonly png: string;
  readonly svgCopy?: string;
}

export const ROOT = join(__dirname, '..');

export const ICONS: readonly IconTarget[] = [
  { source: 'images/extension-icon.svg', size: 128, png: 'images/extension-icon.png' },
  {
    source: 'images/authenticate-icon.svg',
    size: 32,
    png: 'tasks/ManagedIdentityAuthenticateV1/icon.png',
    svgCopy: 'tasks/ManagedIdentityAuthenticateV1/icon.svg',
  },
  {
    source: 'images/repository-icon.svg',
    size: 32,
    png: 'tasks/ManagedIdentityRepositoryV1/icon.png',
    svgCopy: 'tasks/ManagedIdentityRepositoryV1/icon.svg',
  },
];

let ready: Promise<void> | undefined;

/** Loads resvg's WebAssembly module once per process. */
function renderer(): Promise<void> {
  ready ??= initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
  return ready;
}

export interface RenderedIcon {
  /** The PNG file: 8-bit RGBA. */
  readonly png: Buffer;
  readonly width: number;
  readonly height: number;
  /** RGBA, premultiplied by alpha, row by row. */
  readonly pixels: Uint8Array;
}

/** Renders `svg` to a `size` × `size` PNG (its viewBox scaled to that width; a non-square one is refused). */
export async function renderIcon(svg: string, size: number): Promise<RenderedIcon> {
  if (/<text[\s>]/.test(svg)) throw new Error('icons load no fonts, so <text> would not be drawn: convert the lettering to paths');
  await renderer();
  const resvg = new Resvg(svg, { fitTo: { mode: 'width', value: size }, font: { loadSystemFonts: false } });
  const image = resvg.render();
  try {
    if (image.width !== size || image.height !== size) throw new Error(`the SVG renders to ${image.width} × ${image.height}, not ${size} × ${size}: give it a square viewBox`);
    return { png: Buffer.from(image.asPng()), width: image.width, height: image.height, pixels: image.pixels };
  } finally {
    image.free();
    resvg.free();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  for (const icon of ICONS) {
    const svg = readFileSync(join(ROOT, icon.source), 'utf8');
    mkdirSync(dirname(join(ROOT, icon.png)), { recursive: true });
    writeFileSync(join(ROOT, icon.png), (await renderIcon(svg, icon.size)).png);
    if (icon.svgCopy) writeFileSync(join(ROOT, icon.svgCopy), svg);
  }
  console.log(`Rendered ${ICONS.length} icon(s) in ${Math.round(performance.now() - started)} ms.`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
