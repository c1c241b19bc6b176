/**
 * Renders the extension and task icons from the hand-written SVG sources in images/ to PNG:
 * `npx tsx scripts/icons.ts`. No dependencies, so the shipped PNGs are reproducible from reviewable
 * vector sources on any machine with Node, and the output bytes are identical from run to run.
 *
 * Supported SVG subset. Anything outside it throws rather than rendering differently from a browser:
 * - root `<svg viewBox="minX minY width height">` (width/height attributes are ignored);
 * - `<g>` carrying a transform and paint attributes that its children inherit;
 * - `<rect x y width height rx ry>`, `<circle cx cy r>`, `<ellipse cx cy rx ry>`, `<polygon points>`,
 *   `<path d>` with M L H V C S Q T A Z, absolute and relative (curves and arcs are flattened);
 * - `transform`: translate(), scale(), rotate(), matrix(), on `<g>` and on shapes;
 * - `fill` and `stroke`: `#rgb`, `#rrggbb` or `none`; `fill-opacity`, `stroke-opacity`;
 *   `fill-rule`: nonzero | evenodd; `stroke-width` (strokes always have round caps and joins,
 *   and are scaled by the square root of the transform's determinant);
 * - `<title>`, `<desc>`, comments, the XML declaration and text between tags are skipped.
 * Not supported: gradients, clipping, masks, `opacity`, `style`/CSS, text, units on lengths.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

export type Point = readonly [number, number];
export type Rgb = readonly [number, number, number];
export type FillRule = 'nonzero' | 'evenodd';

/** One fill or stroke, flattened to closed polygons in viewBox coordinates. */
export interface Paint {
  readonly polygons: readonly (readonly Point[])[];
  readonly color: Rgb;
  readonly opacity: number;
  readonly rule: FillRule;
}

export interface ViewBox {
  readonly minX: number;
  readonly minY: number;
  readonly width: number;
  readonly height: number;
}

export interface SvgDocument {
  readonly viewBox: ViewBox;
  readonly paints: readonly Paint[];
}

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

// ---------------------------------------------------------------------------------------------------
// Geometry

type Matrix = readonly [number, number, number, number, number, number];

const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0];

function multiply(m: Matrix, n: Matrix): Matrix {
  return [
    m[0] * n[0] + m[2] * n[1],
    m[1] * n[0] + m[3] * n[1],
    m[0] * n[2] + m[2] * n[3],
    m[1] * n[2] + m[3] * n[3],
    m[0] * n[4] + m[2] * n[5] + m[4],
    m[1] * n[4] + m[3] * n[5] + m[5],
  ];
}

function apply(m: Matrix, [x, y]: Point): Point {
  return [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]];
}

function scaleOf(m: Matrix): number {
  return Math.sqrt(Math.abs(m[0] * m[3] - m[1] * m[2]));
}

function signedArea(polygon: readonly Point[]): number {
  let sum = 0;
  for (let i = 0; i < polygon.length; i++) {
    const [x0, y0] = polygon[i];
    const [x1, y1] = polygon[(i + 1) % polygon.length];
    sum += x0 * y1 - x1 * y0;
  }
  return sum / 2;
}

/** Segments needed so a flattened curve stays within `tol` (Wang's formula; `degree` 2 or 3). */
function curveSegments(points: readonly Point[], degree: number, tol: number): number {
  let m = 0;
  for (let i = 0; i + 2 < points.length; i++) {
    const dx = points[i][0] - 2 * points[i + 1][0] + points[i + 2][0];
    const dy = points[i][1] - 2 * points[i + 1][1] + points[i + 2][1];
    m = Math.max(m, Math.hypot(dx, dy));
  }
  const n = Math.ceil(Math.sqrt((degree * (degree - 1) * m) / (8 * tol)));
  return Math.min(256, Math.max(1, n));
}

function arcSegments(radius: number, sweep: number, tol: number): number {
  const step = 2 * Math.acos(Math.max(-1, 1 - tol / radius));
  return Math.min(256, Math.max(1, Math.ceil(Math.abs(sweep) / step)));
}

function circlePolygon([cx, cy]: Point, r: number, tol: number): Point[] {
  const n = Math.max(8, arcSegments(r, 2 * Math.PI, tol));
  const points: Point[] = [];
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * i) / n;
    points.push([cx + r * Math.cos(t), cy + r * Math.sin(t)]);
  }
  return points;
}

function segmentQuad([x0, y0]: Point, [x1, y1]: Point, halfWidth: number): Point[] {
  const length = Math.hypot(x1 - x0, y1 - y0);
  const nx = (-(y1 - y0) / length) * halfWidth;
  const ny = ((x1 - x0) / length) * halfWidth;
  return [
    [x0 + nx, y0 + ny],
    [x1 + nx, y1 + ny],
    [x1 - nx, y1 - ny],
    [x0 - nx, y0 - ny],
  ];
}

/**
 * Round-capped, round-joined stroke as a union of one quad per segment and one disc per vertex.
 * All pieces get the same orientation so that a nonzero fill unions them without holes or seams.
 */
function strokeOutline(subpaths: readonly Subpath[], width: number, tol: number): Point[][] {
  const pieces: Point[][] = [];
  for (const { points, closed } of subpaths) {
    const vertices = closed && points.length > 2 ? [...points, points[0]] : points;
    for (let i = 0; i < vertices.length; i++) {
      pieces.push(circlePolygon(vertices[i], width / 2, tol));
      const next = vertices[i + 1];
      if (next && Math.hypot(next[0] - vertices[i][0], next[1] - vertices[i][1]) > 1e-9) {
        pieces.push(segmentQuad(vertices[i], next, width / 2));
      }
    }
  }
  return pieces.map((piece) => (signedArea(piece) < 0 ? piece.reverse() : piece));
}

// ---------------------------------------------------------------------------------------------------
// Path data

export interface Subpath {
  readonly points: Point[];
  closed: boolean;
}

const NUMBER = /[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/y;

class PathReader {
  private pos = 0;

  constructor(private readonly d: string) {}

  private skipSeparators(): void {
    while (this.pos < this.d.length && /[\s,]/.test(this.d[this.pos])) this.pos++;
  }

  atEnd(): boolean {
    this.skipSeparators();
    return this.pos >= this.d.length;
  }

  command(): string | undefined {
    this.skipSeparators();
    const c = this.d.charAt(this.pos);
    if (!/^[MLHVCSQTAZ]$/i.test(c)) return undefined;
    this.pos++;
    return c;
  }

  hasNumber(): boolean {
    this.skipSeparators();
    return /^[-+.\d]$/.test(this.d.charAt(this.pos));
  }

  number(): number {
    this.skipSeparators();
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.d);
    if (!match) throw new Error(`path: number expected at offset ${this.pos} in "${this.d}"`);
    this.pos = NUMBER.lastIndex;
    return Number(match[0]);
  }

  /** Arc flags may be written without separators ("a5 5 0 015 5"), so they are read one char at a time. */
  flag(): boolean {
    this.skipSeparators();
    const c = this.d.charAt(this.pos);
    if (c !== '0' && c !== '1') throw new Error(`path: arc flag expected at offset ${this.pos} in "${this.d}"`);
    this.pos++;
    return c === '1';
  }
}

class PathBuilder {
  readonly subpaths: Subpath[] = [];
  private current: Point = [0, 0];
  private start: Point = [0, 0];
  /** Reflected by S and T; only meaningful right after a curve of the same family. */
  private lastControl: { kind: 'C' | 'Q'; point: Point } | undefined;

  constructor(private readonly tol: number) {}

  get point(): Point {
    return this.current;
  }

  reflected(kind: 'C' | 'Q'): Point {
    const last = this.lastControl;
    if (last?.kind !== kind) return this.current;
    return [2 * this.current[0] - last.point[0], 2 * this.current[1] - last.point[1]];
  }

  moveTo(p: Point): void {
    this.subpaths.push({ points: [p], closed: false });
    this.current = p;
    this.start = p;
    this.lastControl = undefined;
  }

  lineTo(p: Point): void {
    this.push(p);
    this.lastControl = undefined;
  }

  cubicTo(c1: Point, c2: Point, p: Point): void {
    this.bezier([this.current, c1, c2, p]);
    this.lastControl = { kind: 'C', point: c2 };
  }

  quadTo(c: Point, p: Point): void {
    this.bezier([this.current, c, p]);
    this.lastControl = { kind: 'Q', point: c };
  }

  arcTo(rx: number, ry: number, rotation: number, largeArc: boolean, sweep: boolean, p: Point): void {
    const [x1, y1] = this.current;
    const [x2, y2] = p;
    if (x1 === x2 && y1 === y2) return;
    if (rx === 0 || ry === 0) return this.lineTo(p);
    const arc = centerArc(x1, y1, Math.abs(rx), Math.abs(ry), (rotation * Math.PI) / 180, largeArc, sweep, x2, y2);
    const n = arcSegments(Math.max(arc.rx, arc.ry), arc.delta, this.tol);
    for (let i = 1; i < n; i++) this.push(arc.at(arc.start + (arc.delta * i) / n));
    this.lineTo(p);
  }

  close(): void {
    const subpath = this.subpaths.at(-1);
    if (subpath) subpath.closed = true;
    this.current = this.start;
    this.lastControl = undefined;
  }

  private push(p: Point): void {
    if (this.subpaths.length === 0) this.moveTo(this.current);
    this.subpaths[this.subpaths.length - 1].points.push(p);
    this.current = p;
  }

  private bezier(control: readonly Point[]): void {
    const degree = control.length - 1;
    const n = curveSegments(control, degree, this.tol);
    for (let i = 1; i < n; i++) this.push(bezierAt(control, i / n));
    this.push(control[degree]);
  }
}

function bezierAt(control: readonly Point[], t: number): Point {
  let points = control;
  while (points.length > 1) {
    const next: Point[] = [];
    for (let i = 0; i + 1 < points.length; i++) {
      next.push([points[i][0] + (points[i + 1][0] - points[i][0]) * t, points[i][1] + (points[i + 1][1] - points[i][1]) * t]);
    }
    points = next;
  }
  return points[0];
}

function vectorAngle(ux: number, uy: number, vx: number, vy: number): number {
  return Math.atan2(ux * vy - uy * vx, ux * vx + uy * vy);
}

/** Endpoint-to-centre conversion of an elliptical arc (SVG 1.1 implementation notes, F.6.5–F.6.6). */
function centerArc(
  x1: number, y1: number, rx: number, ry: number, phi: number,
  largeArc: boolean, sweep: boolean, x2: number, y2: number,
): { rx: number; ry: number; start: number; delta: number; at: (t: number) => Point } {
  const cos = Math.cos(phi);
  const sin = Math.sin(phi);
  const dx = (x1 - x2) / 2;
  const dy = (y1 - y2) / 2;
  const xp = cos * dx + sin * dy;
  const yp = -sin * dx + cos * dy;
  const lambda = (xp * xp) / (rx * rx) + (yp * yp) / (ry * ry);
  if (lambda > 1) {
    rx *= Math.sqrt(lambda);
    ry *= Math.sqrt(lambda);
  }
  const num = rx * rx * ry * ry - rx * rx * yp * yp - ry * ry * xp * xp;
  const den = rx * rx * yp * yp + ry * ry * xp * xp;
  const coef = (largeArc === sweep ? -1 : 1) * Math.sqrt(Math.max(0, num / den));
  const cxp = (coef * rx * yp) / ry;
  const cyp = (-coef * ry * xp) / rx;
  const cx = cos * cxp - sin * cyp + (x1 + x2) / 2;
  const cy = sin * cxp + cos * cyp + (y1 + y2) / 2;
  const start = vectorAngle(1, 0, (xp - cxp) / rx, (yp - cyp) / ry);
  let delta = vectorAngle((xp - cxp) / rx, (yp - cyp) / ry, (-xp - cxp) / rx, (-yp - cyp) / ry);
  if (!sweep && delta > 0) delta -= 2 * Math.PI;
  if (sweep && delta < 0) delta += 2 * Math.PI;
  const at = (t: number): Point => [
    cx + rx * Math.cos(t) * cos - ry * Math.sin(t) * sin,
    cy + rx * Math.cos(t) * sin + ry * Math.sin(t) * cos,
  ];
  return { rx, ry, start, delta, at };
}

function runCommand(cmd: string, r: PathReader, b: PathBuilder): void {
  const rel = cmd === cmd.toLowerCase();
  const [ox, oy] = rel ? b.point : [0, 0];
  const pt = (): Point => [ox + r.number(), oy + r.number()];
  switch (cmd.toUpperCase()) {
    case 'M': return b.moveTo(pt());
    case 'L': return b.lineTo(pt());
    case 'H': return b.lineTo([ox + r.number(), b.point[1]]);
    case 'V': return b.lineTo([b.point[0], oy + r.number()]);
    case 'C': return b.cubicTo(pt(), pt(), pt());
    case 'S': return b.cubicTo(b.reflected('C'), pt(), pt());
    case 'Q': return b.quadTo(pt(), pt());
    case 'T': return b.quadTo(b.reflected('Q'), pt());
    case 'A': {
      const [rx, ry, rotation] = [r.number(), r.number(), r.number()];
      const [large, sweep] = [r.flag(), r.flag()];
      return b.arcTo(rx, ry, rotation, large, sweep, pt());
    }
    default: return b.close();
  }
}

/** Flattens path data to polylines, within `tol` of the true curves (in the path's own units). */
export function parsePathData(d: string, tol: number): Subpath[] {
  const reader = new PathReader(d);
  const builder = new PathBuilder(tol);
  let cmd = reader.command();
  if (cmd !== 'M' && cmd !== 'm' && !reader.atEnd()) throw new Error(`path must start with M: "${d}"`);
  while (cmd) {
    runCommand(cmd, reader, builder);
    // Coordinates repeated without a letter repeat the command; after a moveto they are linetos.
    const repeat = cmd === 'M' ? 'L' : cmd === 'm' ? 'l' : cmd;
    while (!/z/i.test(cmd) && reader.hasNumber()) runCommand(repeat, reader, builder);
    cmd = reader.command();
  }
  if (!reader.atEnd()) throw new Error(`path: unexpected data in "${d}"`);
  return builder.subpaths;
}

// ---------------------------------------------------------------------------------------------------
// SVG elements

interface Style {
  readonly matrix: Matrix;
  readonly fill: Rgb | null;
  readonly fillOpacity: number;
  readonly fillRule: FillRule;
  readonly stroke: Rgb | null;
  readonly strokeWidth: number;
  readonly strokeOpacity: number;
}

const DEFAULT_STYLE: Style = {
  matrix: IDENTITY,
  fill: [0, 0, 0],
  fillOpacity: 1,
  fillRule: 'nonzero',
  stroke: null,
  strokeWidth: 1,
  strokeOpacity: 1,
};

interface Tag {
  readonly name: string;
  readonly closing: boolean;
  readonly selfClosing: boolean;
  readonly attrs: ReadonlyMap<string, string>;
}

const TAG = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
const ATTR = /([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function* tags(text: string): Generator<Tag> {
  for (let at = text.indexOf('<'); at >= 0; at = text.indexOf('<', TAG.lastIndex)) {
    TAG.lastIndex = at;
    const match = TAG.exec(text);
    if (!match) throw new Error(`svg: malformed markup at offset ${at}: ${text.slice(at, at + 40)}`);
    if (match[2] === undefined) continue;
    const attrs = new Map<string, string>();
    for (const [, key, double, single] of match[3].matchAll(ATTR)) attrs.set(key, double ?? single);
    yield { name: match[2], closing: match[1] === '/', selfClosing: match[4] === '/', attrs };
  }
}

function num(attrs: ReadonlyMap<string, string>, key: string, fallback?: number): number {
  const raw = attrs.get(key);
  if (raw === undefined) {
    if (fallback === undefined) throw new Error(`svg: missing attribute ${key}`);
    return fallback;
  }
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(value)) throw new Error(`svg: ${key}="${raw}" is not a plain number`);
  return value;
}

function numbers(raw: string): number[] {
  const parts = raw.trim().split(/[\s,]+/).filter((part) => part !== '');
  return parts.map((part) => {
    const value = Number(part);
    if (!Number.isFinite(value)) throw new Error(`svg: "${part}" is not a number in "${raw}"`);
    return value;
  });
}

function parseColor(raw: string): Rgb | null {
  if (raw === 'none') return null;
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(raw.trim());
  if (!match) throw new Error(`svg: colour "${raw}" is not #rgb, #rrggbb or none`);
  const hex = match[1].length === 3 ? [...match[1]].map((c) => c + c).join('') : match[1];
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgb;
}

function transformMatrix(raw: string): Matrix {
  let matrix = IDENTITY;
  const item = /\s*(\w+)\s*\(([^)]*)\)\s*,?/y;
  for (let at = 0; at < raw.trim().length; at = item.lastIndex) {
    item.lastIndex = at;
    const match = item.exec(raw);
    if (!match) throw new Error(`svg: malformed transform "${raw}"`);
    matrix = multiply(matrix, transformItem(match[1], numbers(match[2])));
  }
  return matrix;
}

function transformItem(name: string, args: number[]): Matrix {
  const [a = 0, b, c = 0, d = 0, e = 0, f = 0] = args;
  switch (name) {
    case 'translate': return [1, 0, 0, 1, a, b ?? 0];
    case 'scale': return [a, 0, 0, b ?? a, 0, 0];
    case 'matrix': return [a, b ?? 0, c, d, e, f];
    case 'rotate': {
      const t = (a * Math.PI) / 180;
      const turn: Matrix = [Math.cos(t), Math.sin(t), -Math.sin(t), Math.cos(t), 0, 0];
      const cx = b ?? 0;
      return multiply(multiply([1, 0, 0, 1, cx, c], turn), [1, 0, 0, 1, -cx, -c]);
    }
    default: throw new Error(`svg: unsupported transform ${name}()`);
  }
}

function fillRule(raw: string): FillRule {
  if (raw !== 'nonzero' && raw !== 'evenodd') throw new Error(`svg: unsupported fill-rule "${raw}"`);
  return raw;
}

function inherit(parent: Style, attrs: ReadonlyMap<string, string>): Style {
  const get = <T>(key: string, parse: (raw: string) => T, fallback: T): T => {
    const raw = attrs.get(key);
    return raw === undefined ? fallback : parse(raw);
  };
  return {
    matrix: get('transform', (raw) => multiply(parent.matrix, transformMatrix(raw)), parent.matrix),
    fill: get('fill', parseColor, parent.fill),
    fillOpacity: num(attrs, 'fill-opacity', parent.fillOpacity),
    fillRule: get('fill-rule', fillRule, parent.fillRule),
    stroke: get('stroke', parseColor, parent.stroke),
    strokeWidth: num(attrs, 'stroke-width', parent.strokeWidth),
    strokeOpacity: num(attrs, 'stroke-opacity', parent.strokeOpacity),
  };
}

function rectPath(attrs: ReadonlyMap<string, string>): string {
  const [x, y, w, h] = [num(attrs, 'x', 0), num(attrs, 'y', 0), num(attrs, 'width'), num(attrs, 'height')];
  // A missing rx or ry takes the other's value, as in SVG.
  const rx = Math.min(w / 2, num(attrs, 'rx', num(attrs, 'ry', 0)));
  const ry = Math.min(h / 2, num(attrs, 'ry', num(attrs, 'rx', 0)));
  if (rx <= 0 || ry <= 0) return `M${x} ${y}H${x + w}V${y + h}H${x}Z`;
  const corner = (dx: number, dy: number): string => `A${rx} ${ry} 0 0 1 ${dx} ${dy}`;
  return `M${x + rx} ${y}H${x + w - rx}${corner(x + w, y + ry)}V${y + h - ry}${corner(x + w - rx, y + h)}` +
    `H${x + rx}${corner(x, y + h - ry)}V${y + ry}${corner(x + rx, y)}Z`;
}

function ellipsePath(cx: number, cy: number, rx: number, ry: number): string {
  return `M${cx - rx} ${cy}A${rx} ${ry} 0 1 1 ${cx + rx} ${cy}A${rx} ${ry} 0 1 1 ${cx - rx} ${cy}Z`;
}

function shapePath(name: string, attrs: ReadonlyMap<string, string>): string {
  switch (name) {
    case 'rect': return rectPath(attrs);
    case 'circle': return ellipsePath(num(attrs, 'cx', 0), num(attrs, 'cy', 0), num(attrs, 'r'), num(attrs, 'r'));
    case 'ellipse': return ellipsePath(num(attrs, 'cx', 0), num(attrs, 'cy', 0), num(attrs, 'rx'), num(attrs, 'ry'));
    case 'polygon': return `M${numbers(attrs.get('points') ?? '').join(' ')}Z`;
    case 'path': return attrs.get('d') ?? '';
    default: throw new Error(`svg: unsupported element <${name}>`);
  }
}

function shapePaints(name: string, attrs: ReadonlyMap<string, string>, style: Style, tol: number): Paint[] {
  const scale = scaleOf(style.matrix);
  const local = parsePathData(shapePath(name, attrs), tol / scale);
  const subpaths = local.map(({ points, closed }) => ({ points: points.map((p) => apply(style.matrix, p)), closed }));
  const paints: Paint[] = [];
  if (style.fill && style.fillOpacity > 0) {
    const polygons = subpaths.map((s) => s.points).filter((points) => points.length > 2);
    paints.push({ polygons, color: style.fill, opacity: style.fillOpacity, rule: style.fillRule });
  }
  if (style.stroke && style.strokeOpacity > 0 && style.strokeWidth > 0) {
    const polygons = strokeOutline(subpaths, style.strokeWidth * scale, tol);
    paints.push({ polygons, color: style.stroke, opacity: style.strokeOpacity, rule: 'nonzero' });
  }
  return paints;
}

function parseViewBox(raw: string | undefined): ViewBox {
  const values = numbers(raw ?? '');
  if (values.length !== 4 || values[2] <= 0 || values[3] <= 0) throw new Error(`svg: viewBox="${raw}" must be 4 numbers`);
  return { minX: values[0], minY: values[1], width: values[2], height: values[3] };
}

const SKIPPED = new Set(['title', 'desc']);
const SHAPES = new Set(['rect', 'circle', 'ellipse', 'polygon', 'path']);

/** Parses the documented SVG subset into paints in document order; throws on anything else. */
export function parseSvg(text: string): SvgDocument {
  const paints: Paint[] = [];
  const open: { name: string; style: Style }[] = [];
  let viewBox: ViewBox | undefined;
  let tol = 0;
  for (const tag of tags(text)) {
    if (tag.closing) {
      if (open.pop()?.name !== tag.name) throw new Error(`svg: unexpected </${tag.name}>`);
      continue;
    }
    const parent = open.at(-1);
    let style = parent?.style ?? DEFAULT_STYLE;
    if (tag.name === 'svg') {
      if (viewBox) throw new Error('svg: nested <svg> is not supported');
      viewBox = parseViewBox(tag.attrs.get('viewBox'));
      // A quarter pixel at 512 px, the largest size worth previewing.
      tol = Math.max(viewBox.width, viewBox.height) / 2048;
      style = inherit(style, tag.attrs);
    } else if (!viewBox || !parent) {
      throw new Error(`svg: <${tag.name}> outside the root <svg>`);
    } else if (tag.name === 'g') {
      style = inherit(style, tag.attrs);
    } else if (SHAPES.has(tag.name)) {
      style = inherit(style, tag.attrs);
      paints.push(...shapePaints(tag.name, tag.attrs, style, tol));
    } else if (!SKIPPED.has(tag.name)) {
      throw new Error(`svg: unsupported element <${tag.name}>`);
    }
    if (!tag.selfClosing) open.push({ name: tag.name, style });
  }
  if (!viewBox) throw new Error('svg: no root <svg viewBox>');
  if (open.length > 0) throw new Error(`svg: <${open[open.length - 1].name}> is not closed`);
  return { viewBox, paints };
}

// ---------------------------------------------------------------------------------------------------
// Rasterizer

interface Edge {
  readonly x0: number;
  readonly y0: number;
  readonly y1: number;
  readonly slope: number;
  readonly dir: 1 | -1;
}

interface Coverage {
  /** Samples inside the paint, per pixel, out of samples². */
  readonly counts: Uint16Array;
  readonly minRow: number;
  readonly maxRow: number;
}

function edgesOf(polygons: readonly (readonly Point[])[], toPixel: (p: Point) => Point): Edge[] {
  const edges: Edge[] = [];
  for (const polygon of polygons) {
    const pixels = polygon.map(toPixel);
    for (let i = 0; i < pixels.length; i++) {
      const a = pixels[i];
      const b = pixels[(i + 1) % pixels.length];
      if (a[1] === b[1]) continue;
      const [top, bottom, dir] = a[1] < b[1] ? [a, b, 1 as const] : [b, a, -1 as const];
      edges.push({ x0: top[0], y0: top[1], y1: bottom[1], slope: (bottom[0] - top[0]) / (bottom[1] - top[1]), dir });
    }
  }
  return edges;
}

function crossings(edges: readonly Edge[], y: number): { x: number; dir: number }[] {
  const hits: { x: number; dir: number }[] = [];
  for (const e of edges) {
    if (e.y0 <= y && y < e.y1) hits.push({ x: e.x0 + (y - e.y0) * e.slope, dir: e.dir });
  }
  return hits.sort((a, b) => a.x - b.x || a.dir - b.dir);
}

/** Counts the sample columns whose centres fall in [xa, xb) on one sample row. */
function addSpan(counts: Uint16Array, rowStart: number, width: number, samples: number, xa: number, xb: number): void {
  const k0 = Math.max(0, Math.ceil(xa * samples - 0.5));
  const k1 = Math.min(width * samples, Math.ceil(xb * samples - 0.5));
  for (let k = k0; k < k1; k++) counts[rowStart + Math.floor(k / samples)]++;
}

function coverage(edges: readonly Edge[], rule: FillRule, width: number, height: number, samples: number): Coverage {
  const counts = new Uint16Array(width * height);
  const minY = Math.min(...edges.map((e) => e.y0));
  const maxY = Math.max(...edges.map((e) => e.y1));
  const first = Math.max(0, Math.floor(minY * samples));
  const last = Math.min(height * samples, Math.ceil(maxY * samples));
  const inside = (w: number): boolean => (rule === 'nonzero' ? w !== 0 : w % 2 !== 0);
  for (let j = first; j < last; j++) {
    const rowStart = Math.floor(j / samples) * width;
    let winding = 0;
    let spanStart = 0;
    for (const hit of crossings(edges, (j + 0.5) / samples)) {
      const was = inside(winding);
      winding += hit.dir;
      if (!was && inside(winding)) spanStart = hit.x;
      if (was && !inside(winding)) addSpan(counts, rowStart, width, samples, spanStart, hit.x);
    }
  }
  return { counts, minRow: Math.floor(first / samples), maxRow: Math.ceil(last / samples) };
}

/** Source-over onto a premultiplied float canvas, so partial coverage from several paints blends exactly. */
function composite(canvas: Float64Array, cov: Coverage, width: number, paint: Paint, samples: number): void {
  const [r, g, b] = paint.color.map((c) => c / 255);
  for (let i = cov.minRow * width; i < cov.maxRow * width; i++) {
    if (cov.counts[i] === 0) continue;
    const a = (cov.counts[i] / (samples * samples)) * paint.opacity;
    const o = i * 4;
    canvas[o] = r * a + canvas[o] * (1 - a);
    canvas[o + 1] = g * a + canvas[o + 1] * (1 - a);
    canvas[o + 2] = b * a + canvas[o + 2] * (1 - a);
    canvas[o + 3] = a + canvas[o + 3] * (1 - a);
  }
}

function toRgba8(canvas: Float64Array): Uint8Array {
  const out = new Uint8Array(canvas.length);
  for (let o = 0; o < canvas.length; o += 4) {
    const alpha = canvas[o + 3];
    const a8 = Math.round(alpha * 255);
    if (a8 === 0) continue;
    for (let c = 0; c < 3; c++) out[o + c] = Math.round(Math.min(1, canvas[o + c] / alpha) * 255);
    out[o + 3] = a8;
  }
  return out;
}

/**
 * Renders the document to straight-alpha RGBA (width × height × 4 bytes), stretching the viewBox to the
 * image, with samples × samples supersampling per pixel for anti-aliasing.
 */
export function rasterize(doc: SvgDocument, width: number, height: number, samples = 4): Uint8Array {
  const canvas = new Float64Array(width * height * 4);
  const sx = width / doc.viewBox.width;
  const sy = height / doc.viewBox.height;
  const toPixel = ([x, y]: Point): Point => [(x - doc.viewBox.minX) * sx, (y - doc.viewBox.minY) * sy];
  for (const paint of doc.paints) {
    const edges = edgesOf(paint.polygons, toPixel);
    if (edges.length === 0) continue;
    composite(canvas, coverage(edges, paint.rule, width, height, samples), width, paint, samples);
  }
  return toRgba8(canvas);
}

// ---------------------------------------------------------------------------------------------------
// PNG

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * Encodes straight-alpha RGBA as an 8-bit colour-type-6 PNG. Every row uses filter 0 (None): the icons
 * are a few kilobytes either way and the .vsix is zipped, so adaptive filtering is not worth its code.
 */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  if (rgba.length !== width * height * 4) throw new Error(`png: expected ${width * height * 4} bytes, got ${rgba.length}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  const idat = deflateSync(raw, { level: 9 });
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

export function renderIcon(svg: string, size: number): Buffer {
  return encodePng(size, size, rasterize(parseSvg(svg), size, size));
}

function main(): void {
  const started = performance.now();
  for (const icon of ICONS) {
    const svg = readFileSync(join(ROOT, icon.source), 'utf8');
    mkdirSync(dirname(join(ROOT, icon.png)), { recursive: true });
    writeFileSync(join(ROOT, icon.png), renderIcon(svg, icon.size));
    if (icon.svgCopy) writeFileSync(join(ROOT, icon.svgCopy), svg);
  }
  console.log(`Rendered ${ICONS.length} icon(s) in ${Math.round(performance.now() - started)} ms.`);
}

if (require.main === module) main();
