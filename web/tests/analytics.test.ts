import { describe, expect, it } from 'vitest';
import {
  BUCKET_US,
  bucketFits,
  chartData,
  chartOptions,
  grandTotal,
  rowOf,
  totalsOf,
  type CountItem,
} from '../src/lib/charts';
import { occupancyOf } from '../src/components/analytics/occupancy';

const H = BUCKET_US.hour;
const T0 = 1796389200000000; // an hour's start
const items: CountItem[] = [
  { camera: 'street', line: 'middle', label: 'person', in: 2, out: 1, bucket: 'b0', bucket_us: T0 },
  { camera: 'street', line: 'middle', label: 'person', in: 3, out: 0, bucket: 'b2', bucket_us: T0 + 2 * H },
  { camera: 'street', zone: 'walk', label: 'person', entered: 5, peak: 4, bucket: 'b0', bucket_us: T0 },
  { camera: 'street', zone: 'walk', label: 'person', entered: 1, peak: 6, bucket: 'b1', bucket_us: T0 + H },
];

describe('rowOf', () => {
  it('tells zones from lines and leaves the other kind empty', () => {
    expect(rowOf(items[0])).toMatchObject({ kind: 'line', id: 'middle', in: 2, out: 1, entered: null, peak: null });
    expect(rowOf(items[2])).toMatchObject({ kind: 'zone', id: 'walk', entered: 5, peak: 4, in: null, out: null });
  });
});

describe('totalsOf', () => {
  it('sums entered, in and out and keeps the largest peak, per key', () => {
    const t = totalsOf(items.map(rowOf));
    expect(t).toHaveLength(2);
    expect(t[0]).toMatchObject({ kind: 'line', in: 5, out: 1, bucket: null });
    expect(t[1]).toMatchObject({ kind: 'zone', entered: 6, peak: 6 });
    expect(grandTotal(t)).toEqual({ entered: 6, peak: 6, in: 5, out: 1 });
  });
});

describe('chartData', () => {
  it('fills the buckets the API left out with zeros', () => {
    const d = chartData(items.map(rowOf), 'hour', T0 + 10, T0 + 3 * H);
    expect(d.xs).toEqual([T0 / 1e6, (T0 + H) / 1e6, (T0 + 2 * H) / 1e6]);
    expect(d.series.map((s) => s.label)).toEqual([
      'street · line middle · person in',
      'street · line middle · person out',
      'street · zone walk · person entered',
    ]);
    expect(d.series[0].values).toEqual([2, 0, 3]);
    expect(d.series[1].values).toEqual([1, 0, 0]);
    expect(d.series[2].values).toEqual([5, 1, 0]);
    expect(d.omitted).toBe(0);
  });
  it('uses only the given buckets without a range, and caps the series', () => {
    const d = chartData(items.map(rowOf), 'hour', undefined, undefined, 2);
    expect(d.xs).toHaveLength(3);
    expect(d.series).toHaveLength(2);
    expect(d.omitted).toBe(1);
  });
  it('makes uPlot options with one series per chart series plus x', () => {
    const d = chartData(items.map(rowOf), 'hour', T0, T0 + 3 * H);
    const o = chartOptions(600, 300, d.series, { text: '#000', grid: '#ccc' }, 'hour');
    expect(o.series).toHaveLength(4);
    expect(o.width).toBe(600);
  });
});

describe('bucketFits', () => {
  it('refuses minute buckets over months', () => {
    expect(bucketFits('minute', 3600e6)).toBe(true);
    expect(bucketFits('minute', 30 * 86400e6)).toBe(false);
    expect(bucketFits('day', 90 * 86400e6)).toBe(true);
  });
});

describe('occupancyOf', () => {
  it('counts open zone_enter events per camera, zone and label', () => {
    const ev = (zone: string | null, label: string, open: boolean, kind = 'zone_enter') => ({
      camera: 'street',
      kind,
      zone,
      label,
      open,
    });
    expect(
      occupancyOf([
        ev('walk', 'person', true),
        ev('walk', 'person', true),
        ev('walk', 'person', false),
        ev('walk', 'car', true),
        ev(null, 'person', true, 'line_cross'),
      ]),
    ).toEqual([
      { camera: 'street', zone: 'walk', label: 'car', inside: 1 },
      { camera: 'street', zone: 'walk', label: 'person', inside: 2 },
    ]);
  });
});
