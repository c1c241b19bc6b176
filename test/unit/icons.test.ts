/**
 * The shipped PNG icons are what scripts/icons.ts (resvg) renders from images/*.svg today, byte for byte, and
 * look like icons: 8-bit RGBA of the declared size, transparent corners, an opaque centre.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ICONS, ROOT, renderIcon } from '../../scripts/icons';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Independent of the renderer: walks the chunks, checks each CRC, and reads IHDR. */
function header(png: Buffer): { width: number; height: number; bitDepth: number; colorType: number } {
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, 'PNG signature');
  const types: string[] = [];
  let ihdr: Buffer | undefined;
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const body = png.subarray(at + 4, at + 8 + length);
    assert.equal(png.readUInt32BE(at + 8 + length), crc32(body), `CRC of chunk at ${at}`);
    types.push(body.subarray(0, 4).toString('latin1'));
    if (types.at(-1) === 'IHDR') ihdr = body.subarray(4);
    at += 12 + length;
  }
  assert.equal(types[0], 'IHDR');
  assert.equal(types.at(-1), 'IEND');
  assert.ok(types.includes('IDAT'));
  return { width: ihdr!.readUInt32BE(0), height: ihdr!.readUInt32BE(4), bitDepth: ihdr![8]!, colorType: ihdr![9]! };
}

const alphaAt = (pixels: Uint8Array, size: number, x: number, y: number): number => pixels[(y * size + x) * 4 + 3]!;

describe('icons (scripts/icons.ts, resvg)', function () {
  this.timeout(30_000);

  for (const icon of ICONS) {
    describe(icon.png, () => {
      const path = join(ROOT, icon.png);
      const source = (): string => readFileSync(join(ROOT, icon.source), 'utf8');

      it('is an 8-bit RGBA PNG of the declared size', () => {
        assert.ok(existsSync(path), `${icon.png} is missing: run npm run icons`);
        assert.deepEqual(header(readFileSync(path)), { width: icon.size, height: icon.size, bitDepth: 8, colorType: 6 });
      });

      it(`is exactly what ${icon.source} renders to now`, async () => {
        const rendered = await renderIcon(source(), icon.size);
        assert.ok(rendered.png.equals(readFileSync(path)), `${icon.png} is stale: run npm run icons`);
      });

      it('would be reported stale after any visible change to its source', async () => {
        const changed = source().replace(/#FFB900/gi, '#FFB901');
        assert.notEqual(changed, source(), 'the source uses the accent colour');
        assert.ok(!(await renderIcon(changed, icon.size)).png.equals(readFileSync(path)));
      });

      if (icon.svgCopy) {
        const copy = icon.svgCopy;
        it(`ships ${copy} identical to ${icon.source}`, () => {
          assert.equal(readFileSync(join(ROOT, copy), 'utf8'), source());
        });
      }

      it('has transparent corners and an opaque centre', async () => {
        const { pixels } = await renderIcon(source(), icon.size);
        assert.equal(alphaAt(pixels, icon.size, 0, 0), 0);
        assert.equal(alphaAt(pixels, icon.size, icon.size - 1, icon.size - 1), 0);
        assert.equal(alphaAt(pixels, icon.size, icon.size / 2, icon.size / 2), 255);
      });
    });
  }

  it('renders identical bytes on every run', async () => {
    const source = readFileSync(join(ROOT, ICONS[0]!.source), 'utf8');
    assert.ok((await renderIcon(source, 32)).png.equals((await renderIcon(source, 32)).png));
  });

  it('refuses what it cannot render faithfully: text (no fonts are loaded) and a non-square viewBox', async () => {
    const svg = (body: string, viewBox = '0 0 4 4'): string => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${viewBox}">${body}</svg>`;
    await assert.rejects(renderIcon(svg('<text x="0" y="4">A</text>'), 32), /<text> would not be drawn/);
    await assert.rejects(renderIcon(svg('<rect width="4" height="2"/>', '0 0 4 2'), 32), /renders to 32 × 16, not 32 × 32/);
    const half = await renderIcon(svg('<rect width="2" height="4" fill="#ff0000"/>'), 4);
    assert.deepEqual([...half.pixels.subarray(0, 4)], [255, 0, 0, 255], 'left half red');
    assert.deepEqual([...half.pixels.subarray(12, 16)], [0, 0, 0, 0], 'right half transparent');
  });
});
