// Plane geometry for zones and lines: points are [x, y] normalised to the
// frame (x 0 left .. 1 right, y 0 top .. 1 bottom, as the API stores them).
// The line direction follows docs/analytics.md ("Line direction"): for a line
// A->B a point P is on the positive side when (B-A)x(P-A) > 0 (y down), and
// `in` is a crossing from the positive side to the negative one. Scaling x and
// y by positive factors keeps the sign of that cross product, so the direction
// can be drawn in pixels of any frame size.

export type Pt = [number, number];

export function cross(a: Pt, b: Pt, p: Pt): number {
  return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
}

/** Which side of line A->B a point is on: 1 positive, -1 negative, 0 on it. */
export function side(a: Pt, b: Pt, p: Pt): -1 | 0 | 1 {
  const c = cross(a, b, p);
  return c > 0 ? 1 : c < 0 ? -1 : 0;
}

export function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

/** A point clamped into the frame and rounded to 4 decimals (0.1 px at 1000 px). */
export function normPoint(x: number, y: number): Pt {
  const r = (v: number) => Math.round(clamp01(v) * 10000) / 10000;
  return [r(x), r(y)];
}

/** Twice the signed area (shoelace); 0 for a degenerate polygon. */
export function area2(poly: Pt[]): number {
  let s = 0;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i];
    const b = poly[(i + 1) % poly.length];
    s += a[0] * b[1] - b[0] * a[1];
  }
  return s;
}

function onSegment(a: Pt, b: Pt, p: Pt): boolean {
  return (
    Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) &&
    Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1])
  );
}

/** Whether segments p1-p2 and q1-q2 meet (touching counts). */
export function segmentsIntersect(p1: Pt, p2: Pt, q1: Pt, q2: Pt): boolean {
  const d1 = side(q1, q2, p1);
  const d2 = side(q1, q2, p2);
  const d3 = side(p1, p2, q1);
  const d4 = side(p1, p2, q2);
  if (d1 !== d2 && d3 !== d4 && d1 !== 0 && d2 !== 0 && d3 !== 0 && d4 !== 0) return true;
  if (d1 === 0 && onSegment(q1, q2, p1)) return true;
  if (d2 === 0 && onSegment(q1, q2, p2)) return true;
  if (d3 === 0 && onSegment(p1, p2, q1)) return true;
  if (d4 === 0 && onSegment(p1, p2, q2)) return true;
  return false;
}

/**
 * Why a polygon would be refused, in the API's words, or '' when it is fine:
 * 3..32 points, no two non-adjacent edges meeting, a non-zero area. The server
 * checks again (and has the last word); this only warns while drawing.
 */
export function polygonProblem(poly: Pt[]): string {
  if (poly.length < 3) return 'needs at least 3 points';
  if (poly.length > 32) return 'at most 32 points';
  const n = poly.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const adjacent = j === i + 1 || (i === 0 && j === n - 1);
      if (adjacent) continue;
      if (segmentsIntersect(poly[i], poly[(i + 1) % n], poly[j], poly[(j + 1) % n])) return 'self-intersecting';
    }
  }
  if (Math.abs(area2(poly)) < 1e-9) return 'has no area';
  return '';
}

export function lineProblem(points: Pt[]): string {
  if (points.length !== 2) return 'needs two points';
  if (points[0][0] === points[1][0] && points[0][1] === points[1][1]) return 'its two points are the same';
  return '';
}

/**
 * The arrow that shows a line's `in` direction, in pixels of a w x h frame:
 * from `from` (on the positive side) through the middle of the line to `to`
 * (on the negative side), `len` pixels each side of it; `null` for a
 * degenerate line.
 */
export function inArrow(a: Pt, b: Pt, w: number, h: number, len: number): { from: Pt; to: Pt; mid: Pt } | null {
  const ax = a[0] * w, ay = a[1] * h, bx = b[0] * w, by = b[1] * h;
  const dx = bx - ax, dy = by - ay;
  const n = Math.hypot(dx, dy);
  if (n === 0) return null;
  // (-dy, dx) points to the positive side (its cross product with B-A is
  // dx*dx + dy*dy > 0), so the negative side, where `in` goes, is (dy, -dx).
  const ux = dy / n, uy = -dx / n;
  const mid: Pt = [(ax + bx) / 2, (ay + by) / 2];
  return { from: [mid[0] - ux * len, mid[1] - uy * len], to: [mid[0] + ux * len, mid[1] + uy * len], mid };
}

/** Distance from p to segment a-b (all in the same units). */
export function distToSegment(p: Pt, a: Pt, b: Pt): number {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const l2 = dx * dx + dy * dy;
  let t = l2 === 0 ? 0 : ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

/** A point inside a polygon (even-odd rule). */
export function pointInPolygon(p: Pt, poly: Pt[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The mean of a polygon's corners: where its name is written. */
export function centroid(poly: Pt[]): Pt {
  if (!poly.length) return [0, 0];
  const s = poly.reduce((acc, p) => [acc[0] + p[0], acc[1] + p[1]] as Pt, [0, 0] as Pt);
  return [s[0] / poly.length, s[1] / poly.length];
}

/** The first id of the form `${prefix}-N` not in `taken`. */
export function freeId(prefix: string, taken: Iterable<string>): string {
  const set = new Set(taken);
  for (let i = 1; ; i++) if (!set.has(`${prefix}-${i}`)) return `${prefix}-${i}`;
}

/** SVG points of a small triangle at `to`, pointing away from `from` (pixels). */
export function arrowHead(from: Pt, to: Pt, size: number): string {
  const dx = to[0] - from[0], dy = to[1] - from[1];
  const n = Math.hypot(dx, dy) || 1;
  const ux = dx / n, uy = dy / n;
  const bx = to[0] - ux * size * 1.6, by = to[1] - uy * size * 1.6;
  return `${to[0]},${to[1]} ${bx - uy * size},${by + ux * size} ${bx + uy * size},${by - ux * size}`;
}
