import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import { ICONS, PNG_SIGNATURE, ROOT, encodePng, parsePathData, parseSvg, rasterize, renderIcon } from '../../scripts/icons';

interface DecodedPng {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly raw: Buffer;
}

/** Independent of the encoder on purpose: walks the chunks and checks each CRC. */
function decodePng(png: Buffer): DecodedPng {
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, 'PNG signature');
  const chunks: { type: string; data: Buffer }[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const body = png.subarray(at + 4, at + 8 + length);
    assert.equal(png.readUInt32BE(at + 8 + length), crc32(body), `CRC of chunk at ${at}`);
    chunks.push({ type: body.subarray(0, 4).toString('latin1'), data: body.subarray(4) });
    at += 12 + length;
  }
  assert.equal(chunks[0]?.type, 'IHDR');
  assert.equal(chunks.at(-1)?.type, 'IEND');
  const ihdr = chunks[0].data;
  const idat = Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
  return { width: ihdr.readUInt32BE(0), height: ihdr.readUInt32BE(4), bitDepth: ihdr[8], colorType: ihdr[9], raw: inflateSync(idat) };
}

/** Strips the per-row filter bytes, which the encoder always writes as 0 (None). */
function pixels({ width, height, raw }: DecodedPng): Uint8Array {
  const stride = width * 4 + 1;
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * stride], 0, `filter byte of row ${y}`);
    out.set(raw.subarray(y * stride + 1, (y + 1) * stride), y * width * 4);
  }
  return out;
}

function pixelAt(rgba: Uint8Array, width: number, x: number, y: number): number[] {
  return [...rgba.subarray((y * width + x) * 4, (y * width + x) * 4 + 4)];
}

const svg = (body: string, viewBox = '0 0 4 4'): string => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${viewBox}">${body}</svg>`;

describe('icons', () => {
  for (const icon of ICONS) {
    describe(icon.png, () => {
      const path = join(ROOT, icon.png);

      it('is an 8-bit RGBA PNG of the declared size', () => {
        assert.ok(existsSync(path), `${icon.png} is missing: run npx tsx scripts/icons.ts`);
        const png = decodePng(readFileSync(path));
        assert.deepEqual([png.width, png.height, png.bitDepth, png.colorType], [icon.size, icon.size, 8, 6]);
        assert.equal(png.raw.length, icon.size * icon.size * 4 + icon.size);
      });

      // Pixels rather than file bytes: zlib builds may deflate the same data differently across machines.
      it(`matches what ${icon.source} renders to now`, () => {
        const committed = pixels(decodePng(readFileSync(path)));
        const expected = rasterize(parseSvg(readFileSync(join(ROOT, icon.source), 'utf8')), icon.size, icon.size);
        assert.ok(Buffer.from(committed).equals(expected), `${icon.png} is stale: run npx tsx scripts/icons.ts`);
      });

      if (icon.svgCopy) {
        const copy = icon.svgCopy;
        it(`ships ${copy} identical to ${icon.source}`, () => {
          assert.equal(readFileSync(join(ROOT, copy), 'utf8'), readFileSync(join(ROOT, icon.source), 'utf8'));
        });
      }

      it('has transparent corners and an opaque centre', () => {
        const rgba = pixels(decodePng(readFileSync(path)));
        assert.equal(pixelAt(rgba, icon.size, 0, 0)[3], 0);
        assert.equal(pixelAt(rgba, icon.size, icon.size - 1, icon.size - 1)[3], 0);
        assert.equal(pixelAt(rgba, icon.size, icon.size / 2, icon.size / 2)[3], 255);
      });
    });
  }

  it('renders identical bytes on every run', () => {
    const source = readFileSync(join(ROOT, ICONS[0].source), 'utf8');
    assert.ok(renderIcon(source, 32).equals(renderIcon(source, 32)));
  });

  describe('rasterize', () => {
    it('fills a rect covering the left half: left opaque, right transparent', () => {
      const rgba = rasterize(parseSvg(svg('<rect width="2" height="4" fill="#ff0000"/>')), 4, 4);
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) assert.deepEqual(pixelAt(rgba, 4, x, y), x < 2 ? [255, 0, 0, 255] : [0, 0, 0, 0], `(${x}, ${y})`);
      }
    });

    it('anti-aliases a half-covered pixel to half alpha in the shape colour', () => {
      const rgba = rasterize(parseSvg(svg('<rect width="2.5" height="4" fill="#0078d4"/>')), 4, 4);
      assert.deepEqual(pixelAt(rgba, 4, 2, 1), [0x00, 0x78, 0xd4, 128]);
    });

    it('applies fill-rule, fill-opacity and group transforms', () => {
      const squares = 'M0 0H4V4H0ZM1 1H3V3H1Z';
      const evenodd = rasterize(parseSvg(svg(`<path fill-rule="evenodd" d="${squares}"/>`)), 4, 4);
      const nonzero = rasterize(parseSvg(svg(`<path d="${squares}"/>`)), 4, 4);
      assert.equal(pixelAt(evenodd, 4, 1, 1)[3], 0);
      assert.equal(pixelAt(nonzero, 4, 1, 1)[3], 255);
      const moved = rasterize(parseSvg(svg('<g transform="translate(2 0) scale(0.5)" fill="#fff" fill-opacity="0.5"><rect width="4" height="8"/></g>')), 4, 4);
      assert.deepEqual([pixelAt(moved, 4, 1, 0), pixelAt(moved, 4, 3, 3)], [[0, 0, 0, 0], [255, 255, 255, 128]]);
    });

    it('scales the viewBox to the image size', () => {
      const rgba = rasterize(parseSvg(svg('<circle cx="16" cy="16" r="16" fill="#000"/>', '0 0 32 32')), 8, 8);
      assert.equal(pixelAt(rgba, 8, 4, 4)[3], 255);
      assert.equal(pixelAt(rgba, 8, 0, 0)[3], 0);
    });
  });

  describe('parsePathData', () => {
    it('reads relative commands, implicit linetos and packed arc flags', () => {
      assert.deepEqual(parsePathData('m1 1 2 0v2h-2z', 0.01), [{ points: [[1, 1], [3, 1], [3, 3], [1, 3]], closed: true }]);
      const [arc] = parsePathData('M0 0a1 1 0 012 0', 0.01);
      assert.deepEqual(arc.points.at(-1), [2, 0]);
      assert.ok(arc.points.every(([x, y]) => Math.abs(Math.hypot(x - 1, y) - 1) < 0.011));
    });

    it('flattens curves within the tolerance', () => {
      const [curve] = parsePathData('M0 0Q1 2 2 0', 0.001);
      // The quadratic's apex is (1, 1).
      assert.ok(curve.points.some(([x, y]) => Math.abs(x - 1) < 0.05 && Math.abs(y - 1) < 0.001));
      assert.ok(curve.points.every(([, y]) => y <= 1 + 1e-12));
    });
  });

  describe('parseSvg', () => {
    it('rejects markup outside the documented subset', () => {
      assert.throws(() => parseSvg(svg('<linearGradient id="g"/>')), /unsupported element <linearGradient>/);
      assert.throws(() => parseSvg(svg('<rect width="2px" height="4"/>')), /not a plain number/);
      assert.throws(() => parseSvg(svg('<rect width="2" height="4" fill="red"/>')), /colour "red"/);
      assert.throws(() => parseSvg('<svg width="4" height="4"></svg>'), /viewBox/);
    });
  });

  describe('encodePng', () => {
    it('writes signature, IHDR and IDAT that inflate to rows with a filter byte each', () => {
      const rgba = new Uint8Array(3 * 2 * 4).map((_, i) => i);
      const png = decodePng(encodePng(3, 2, rgba));
      assert.deepEqual([png.width, png.height, png.bitDepth, png.colorType], [3, 2, 8, 6]);
      assert.equal(png.raw.length, 3 * 2 * 4 + 2);
      assert.deepEqual(pixels(png), rgba);
    });
  });
});
