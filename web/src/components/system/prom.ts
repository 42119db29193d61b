// The few /metrics figures the System page shows that /api/v1/stats does not:
// queue depth, consumer lag and processing time per stage (the infer stage's
// is the model's latency). Prometheus text format 0.0.4, read leniently.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) {
      for (const l of m[2].matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    const value = Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Sums of a family's samples per value of one label. */
export function sumBy(samples: readonly Sample[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const k = s.labels[label];
    if (k === undefined) continue;
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

export interface StageMetrics {
  queue: Record<string, number>;
  lag: Record<string, number>;
  /** cumulative processing seconds and count per stage */
  procSum: Record<string, number>;
  procCount: Record<string, number>;
  hasLag: boolean;
}

export function stageMetrics(samples: readonly Sample[]): StageMetrics {
  const lagStage = sumBy(samples, 'vigil_consumer_lag', 'stage');
  const lagGroup = sumBy(samples, 'vigil_consumer_lag', 'group');
  return {
    queue: sumBy(samples, 'vigil_stage_queue_depth', 'stage'),
    lag: Object.keys(lagStage).length ? lagStage : lagGroup,
    procSum: sumBy(samples, 'vigil_stage_processing_seconds_sum', 'stage'),
    procCount: sumBy(samples, 'vigil_stage_processing_seconds_count', 'stage'),
    hasLag: samples.some((s) => s.name === 'vigil_consumer_lag'),
  };
}

/**
 * Mean processing time of a stage in seconds: over the last interval when
 * it processed something then, else over the process's life; null if never.
 */
export function meanSeconds(now: StageMetrics, before: StageMetrics | null, stage: string): number | null {
  const n = now.procCount[stage] ?? 0;
  const s = now.procSum[stage] ?? 0;
  if (before) {
    const dn = n - (before.procCount[stage] ?? 0);
    const ds = s - (before.procSum[stage] ?? 0);
    if (dn > 0) return ds / dn;
  }
  return n > 0 ? s / n : null;
}

/** Per-second rate of a counter between two readings; null without a previous one. */
export function rate(now: number, before: number | undefined, seconds: number): number | null {
  if (before === undefined || seconds <= 0 || now < before) return null;
  return (now - before) / seconds;
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtMs(seconds: number | null): string {
  if (seconds === null) return '–';
  const ms = seconds * 1000;
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function fmtRate(r: number | null): string {
  return r === null ? '–' : r < 10 ? r.toFixed(1) : r.toFixed(0);
}

/** The pipeline's stages in data-flow order; others after, by name. */
export const STAGE_ORDER = ['ingest', 'preprocess', 'infer', 'analytics', 'sink'];

export function orderStages(names: Iterable<string>): string[] {
  return [...new Set(names)].sort((a, b) => {
    const ia = STAGE_ORDER.indexOf(a);
    const ib = STAGE_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
}
