// The Analytics page's numbers: GET /api/v1/counts items turned into table
// rows, totals and uPlot's columnar data, and uPlot's options. Pure functions
// (no DOM), so the tests check them without a canvas.
import type uPlot from 'uplot';

/** One item of GET /api/v1/counts: a zone's {entered, peak} or a line's {in, out}. */
export interface CountItem {
  camera: string;
  zone?: string;
  line?: string;
  label: string;
  entered?: number;
  peak?: number;
  in?: number;
  out?: number;
  bucket?: string | null;
  bucket_us?: number;
}

export type Bucket = 'minute' | 'hour' | 'day';

export const BUCKET_US: Record<Bucket, number> = {
  minute: 60e6,
  hour: 3600e6,
  day: 86400e6,
};

/** A table row: a zone's or a line's counts for one camera and label (and bucket). */
export interface CountRow {
  camera: string;
  kind: 'zone' | 'line';
  id: string;
  label: string;
  entered: number | null;
  peak: number | null;
  in: number | null;
  out: number | null;
  bucket: string | null;
  bucket_us: number | null;
}

export function rowOf(it: CountItem): CountRow {
  const zone = it.zone !== undefined && it.zone !== null;
  return {
    camera: it.camera,
    kind: zone ? 'zone' : 'line',
    id: (zone ? it.zone : it.line) ?? '',
    label: it.label,
    entered: zone ? (it.entered ?? 0) : null,
    peak: zone ? (it.peak ?? 0) : null,
    in: zone ? null : (it.in ?? 0),
    out: zone ? null : (it.out ?? 0),
    bucket: it.bucket ?? null,
    bucket_us: it.bucket_us ?? null,
  };
}

/** The key of a row without its bucket: camera, zone or line, label. */
export function keyOf(r: Pick<CountRow, 'camera' | 'kind' | 'id' | 'label'>): string {
  return `${r.camera}\u0000${r.kind}\u0000${r.id}\u0000${r.label}`;
}

export function describeRow(r: Pick<CountRow, 'camera' | 'kind' | 'id' | 'label'>): string {
  return `${r.camera} · ${r.kind} ${r.id} · ${r.label}`;
}

/**
 * Sums rows per key (camera, zone or line, label) over their buckets:
 * entered, in and out add up, peak is the largest (as the API's totals).
 * Keeps the order of first appearance (the API's: camera, zone, line, label).
 */
export function totalsOf(rows: readonly CountRow[]): CountRow[] {
  const byKey = new Map<string, CountRow>();
  for (const r of rows) {
    const k = keyOf(r);
    const t = byKey.get(k);
    if (!t) {
      byKey.set(k, { ...r, bucket: null, bucket_us: null });
      continue;
    }
    if (r.kind === 'zone') {
      t.entered = (t.entered ?? 0) + (r.entered ?? 0);
      t.peak = Math.max(t.peak ?? 0, r.peak ?? 0);
    } else {
      t.in = (t.in ?? 0) + (r.in ?? 0);
      t.out = (t.out ?? 0) + (r.out ?? 0);
    }
  }
  return [...byKey.values()];
}

/** The grand totals of rows: entered, in and out summed, peak the largest. */
export function grandTotal(rows: readonly CountRow[]): { entered: number; peak: number; in: number; out: number } {
  const g = { entered: 0, peak: 0, in: 0, out: 0 };
  for (const r of rows) {
    g.entered += r.entered ?? 0;
    g.peak = Math.max(g.peak, r.peak ?? 0);
    g.in += r.in ?? 0;
    g.out += r.out ?? 0;
  }
  return g;
}

export interface ChartSeries {
  /** the legend's name */
  label: string;
  /** one value per x; 0 where the API had no bucket (it leaves empty buckets out) */
  values: number[];
}

export interface ChartData {
  /** bucket starts, in seconds (uPlot's time scale) */
  xs: number[];
  series: ChartSeries[];
  /** series left out of the chart (beyond maxSeries); the table still has them */
  omitted: number;
}

/** At most this many buckets are filled in with zeros; beyond, only those the API gave. */
export const MAX_FILLED_BUCKETS = 5000;

/**
 * uPlot's data from bucketed rows: every bucket from since to until (the API
 * leaves out buckets without counts: they are zeros), one series per zone
 * (entered) and two per line (in, out), at most maxSeries.
 */
export function chartData(
  rows: readonly CountRow[],
  bucket: Bucket,
  sinceUs?: number,
  untilUs?: number,
  maxSeries = 12,
): ChartData {
  const step = BUCKET_US[bucket];
  const present = new Set<number>();
  for (const r of rows) if (r.bucket_us !== null) present.add(r.bucket_us);
  let xsUs: number[];
  if (sinceUs !== undefined && untilUs !== undefined && untilUs > sinceUs &&
      (untilUs - sinceUs) / step <= MAX_FILLED_BUCKETS) {
    const lo = Math.floor(sinceUs / step) * step;
    const all = new Set(present);
    for (let x = lo; x < untilUs; x += step) all.add(x);
    xsUs = [...all].sort((a, b) => a - b);
  } else {
    xsUs = [...present].sort((a, b) => a - b);
  }
  const index = new Map<number, number>();
  xsUs.forEach((x, i) => index.set(x, i));

  const series = new Map<string, ChartSeries>();
  const add = (name: string, x: number, v: number) => {
    let s = series.get(name);
    if (!s) {
      s = { label: name, values: new Array(xsUs.length).fill(0) };
      series.set(name, s);
    }
    const i = index.get(x);
    if (i !== undefined) s.values[i] += v;
  };
  for (const r of rows) {
    if (r.bucket_us === null) continue;
    const base = describeRow(r);
    if (r.kind === 'zone') add(`${base} entered`, r.bucket_us, r.entered ?? 0);
    else {
      add(`${base} in`, r.bucket_us, r.in ?? 0);
      add(`${base} out`, r.bucket_us, r.out ?? 0);
    }
  }
  const all = [...series.values()];
  return {
    xs: xsUs.map((x) => x / 1e6),
    series: all.slice(0, maxSeries),
    omitted: Math.max(0, all.length - maxSeries),
  };
}

/** Colours that read on both themes' panels. */
export const PALETTE = [
  '#3b82f6', '#f97316', '#10b981', '#e11d48', '#8b5cf6', '#eab308',
  '#06b6d4', '#db2777', '#84cc16', '#64748b', '#f43f5e', '#14b8a6',
];

export interface ChartColors {
  text: string;
  grid: string;
}

/** uPlot's options for a counts chart of the given size and series. */
export function chartOptions(
  width: number,
  height: number,
  series: readonly ChartSeries[],
  colors: ChartColors,
  bucket: Bucket,
): uPlot.Options {
  const axis = {
    stroke: colors.text,
    grid: { stroke: colors.grid, width: 1 },
    ticks: { stroke: colors.grid, width: 1 },
  };
  return {
    width,
    height,
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: [
      { ...axis },
      { ...axis, label: `per ${bucket}`, labelSize: 20, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000] },
    ],
    series: [
      { label: 'time' },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        points: { show: true, size: 5 },
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : String(v)),
      })),
    ],
  };
}

/** The columnar data uPlot takes: xs, then one array per series. */
export function alignedOf(d: ChartData): uPlot.AlignedData {
  return [d.xs, ...d.series.map((s) => s.values)];
}

export type RangeKey = '1h' | '6h' | '24h' | '7d' | '30d' | '90d';

export const RANGES: { key: RangeKey; title: string; us: number; bucket: Bucket }[] = [
  { key: '1h', title: 'Last hour', us: 3600e6, bucket: 'minute' },
  { key: '6h', title: 'Last 6 hours', us: 6 * 3600e6, bucket: 'hour' },
  { key: '24h', title: 'Last 24 hours', us: 86400e6, bucket: 'hour' },
  { key: '7d', title: 'Last 7 days', us: 7 * 86400e6, bucket: 'day' },
  { key: '30d', title: 'Last 30 days', us: 30 * 86400e6, bucket: 'day' },
  { key: '90d', title: 'Last 90 days', us: 90 * 86400e6, bucket: 'day' },
];

/** Whether a bucket makes a sensible chart over a range (at most ~2000 points). */
export function bucketFits(bucket: Bucket, rangeUs: number): boolean {
  return rangeUs / BUCKET_US[bucket] <= 2000;
}
