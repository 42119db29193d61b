// The zones editor's model of a rule set: each zone and line as the form
// edits it (labels as typed text, empty numbers as null, fields the form does
// not show kept as they came), and the conversions to and from the API's
// Rules (docs/api.md "Zones and lines"), plus where a 400's "parameter"
// (`zones[1].polygon`) belongs in the form.
import { freeId, type Pt } from '../../lib/geometry';
import type { Line, Rules, Zone } from '../../lib/live';

export interface EditZone {
  kind: 'zone';
  key: number;
  id: string;
  points: Pt[];
  labels: string;
  min_score: number | null;
  loiter_seconds: number | null;
  rest: Record<string, unknown>;
}

export interface EditLine {
  kind: 'line';
  key: number;
  id: string;
  points: Pt[];
  labels: string;
  min_score: number | null;
  hysteresis: number | null;
  rest: Record<string, unknown>;
}

export type EditItem = EditZone | EditLine;

let keys = 0;
export const nextKey = (): number => ++keys;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function fromRules(r: Rules): EditItem[] {
  const out: EditItem[] = [];
  for (const z of r.zones) {
    const { id, polygon, labels, min_score, loiter_seconds, ...rest } = z;
    out.push({
      kind: 'zone', key: nextKey(), id, points: polygon.map((p) => [p[0], p[1]] as Pt),
      labels: (labels ?? []).join(', '), min_score: num(min_score), loiter_seconds: num(loiter_seconds), rest,
    });
  }
  for (const l of r.lines) {
    const { id, points, labels, min_score, hysteresis, ...rest } = l;
    out.push({
      kind: 'line', key: nextKey(), id, points: points.map((p) => [p[0], p[1]] as Pt),
      labels: (labels ?? []).join(', '), min_score: num(min_score), hysteresis: num(hysteresis), rest,
    });
  }
  return out;
}

export function parseLabels(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/** The PUT body: every zone, then every line, in the order of the form. */
export function toRules(items: EditItem[]): Rules {
  const zones: Zone[] = [];
  const lines: Line[] = [];
  for (const it of items) {
    const common: Record<string, unknown> = { ...it.rest, id: it.id.trim(), labels: parseLabels(it.labels) };
    const n = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? undefined : v);
    if (n(it.min_score) !== undefined) common.min_score = it.min_score;
    else delete common.min_score;
    if (it.kind === 'zone') {
      const z = { ...common, polygon: it.points.map((p) => [p[0], p[1]]) } as Record<string, unknown>;
      if (n(it.loiter_seconds) !== undefined) z.loiter_seconds = it.loiter_seconds;
      else delete z.loiter_seconds;
      zones.push(z as unknown as Zone);
    } else {
      const l = { ...common, points: it.points.map((p) => [p[0], p[1]]) } as Record<string, unknown>;
      if (n(it.hysteresis) !== undefined) l.hysteresis = it.hysteresis;
      else delete l.hysteresis;
      lines.push(l as unknown as Line);
    }
  }
  return { zones, lines };
}

export function newZone(points: Pt[], items: EditItem[]): EditZone {
  const id = freeId('zone', items.filter((i) => i.kind === 'zone').map((i) => i.id));
  return { kind: 'zone', key: nextKey(), id, points, labels: '', min_score: null, loiter_seconds: null, rest: {} };
}

export function newLine(points: Pt[], items: EditItem[]): EditLine {
  const id = freeId('line', items.filter((i) => i.kind === 'line').map((i) => i.id));
  return { kind: 'line', key: nextKey(), id, points, labels: '', min_score: null, hysteresis: null, rest: {} };
}

/**
 * Where an API 400 belongs: `zones[1].polygon` -> the second zone's `points`
 * field (the shape), `lines[0].id` -> the first line's id; anything else is
 * the form's (field '').
 */
export function placeError(parameter: string | undefined, items: EditItem[]): { key: number | null; field: string } {
  const m = /^(zones|lines)\[(\d+)\](?:\.([A-Za-z_]+))?/.exec(parameter ?? '');
  if (!m) return { key: null, field: '' };
  const kind = m[1] === 'zones' ? 'zone' : 'line';
  const item = items.filter((i) => i.kind === kind)[Number(m[2])];
  if (!item) return { key: null, field: '' };
  let field = m[3] ?? '';
  if (field === 'polygon') field = 'points';
  return { key: item.key, field };
}
