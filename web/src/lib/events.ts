// Events, tracks and search results as the API gives them (docs/api.md), and
// the pure helpers the Review and Search pages share: filters <-> the URL's
// query <-> the API's query (only documented parameters: the API answers an
// unknown one with 400), how an event reads, and a track's path.
import type { Query } from './api';

export const KINDS = ['zone_enter', 'zone_leave', 'loiter', 'line_cross'] as const;
export type Kind = (typeof KINDS)[number];

export type Box = [number, number, number, number];

export interface VigilEvent {
  id: number;
  camera: string;
  kind: Kind | null;
  label: string;
  track: number;
  zone: string | null;
  line: string | null;
  direction: 'in' | 'out' | null;
  start: string | null;
  start_us: number;
  end: string | null;
  end_us: number | null;
  open: boolean;
  start_sequence: number;
  end_sequence: number | null;
  peak_score: number;
  box: Box;
  snapshot_frame_id: number | null;
  reviewed: boolean;
  reviewed_at?: string | null;
  reviewed_by?: string | null;
  snapshot_url: string | null;
  clip_url: string;
}

export interface EventPage {
  items: VigilEvent[];
  next_cursor: string | null;
}

export interface Detection {
  id: number;
  camera: string;
  sequence: number;
  frame_id: number | null;
  time: string | null;
  time_us: number;
  model: string;
  label: string;
  score: number;
  box: Box;
  frame_url: string | null;
}

export interface TrackPoint {
  sequence: number;
  time: string | null;
  time_us: number;
  frame_id: number | null;
  score: number;
  box: Box;
}

export interface Track {
  camera: string;
  track: number;
  label: string;
  first: string | null;
  first_us: number;
  last: string | null;
  last_us: number;
  points: TrackPoint[];
  truncated: boolean;
}

export type SearchItem = ({ type: 'event' } & VigilEvent) | ({ type: 'detection' } & Detection);

export type FacetName = 'cameras' | 'labels' | 'zones' | 'lines' | 'kinds';
export type Facets = Partial<Record<FacetName, Record<string, number>>>;

export interface SearchPage {
  items: SearchItem[];
  next_cursor: string | null;
  facets?: Facets;
  facets_truncated?: boolean;
}

// ---- filters ---------------------------------------------------------------

/** What the Review page filters on; every field is a string as in the URL ('' = any). */
export interface EventFilters {
  camera: string;
  kind: string;
  label: string;
  zone: string;
  line: string;
  since: string; // datetime-local value (local time), '' = open
  until: string;
  reviewed: '' | 'true' | 'false';
}

export const FILTER_KEYS = ['camera', 'kind', 'label', 'zone', 'line', 'since', 'until', 'reviewed'] as const;

export function emptyFilters(): EventFilters {
  return { camera: '', kind: '', label: '', zone: '', line: '', since: '', until: '', reviewed: '' };
}

export function filtersFromParams(p: URLSearchParams): EventFilters {
  const f = emptyFilters();
  for (const k of FILTER_KEYS) {
    const v = (p.get(k) ?? '').trim();
    if (k === 'reviewed') f.reviewed = v === 'true' || v === 'false' ? v : '';
    else if (k === 'kind') f.kind = (KINDS as readonly string[]).includes(v) ? v : '';
    else f[k] = v;
  }
  return f;
}

/** The URL's query of some filters (empty ones left out), for setParams/navigate. */
export function filtersToParams(f: EventFilters): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of FILTER_KEYS) if (f[k]) out[k] = f[k];
  return out;
}

/** A datetime-local value ('2026-11-21T06:31') as RFC 3339 UTC, or undefined. */
export function localToRfc3339(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** An instant as a datetime-local value in local time ('2026-11-21T06:31'). */
export function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** GET /api/v1/events's query for the filters: zone and line are exclusive
 * there (400), so a line wins only when no zone is given. */
export function eventsQuery(f: EventFilters, limit: number, cursor?: string | null): Query {
  return {
    camera: f.camera || undefined,
    kind: f.kind || undefined,
    label: f.label || undefined,
    zone: f.zone || undefined,
    line: f.zone ? undefined : f.line || undefined,
    since: localToRfc3339(f.since),
    until: localToRfc3339(f.until),
    reviewed: f.reviewed || undefined,
    limit,
    cursor: cursor || undefined,
  };
}

// ---- search ----------------------------------------------------------------

/** What the Search page searches for, as kept in the URL. One value per facet
 * (a facet click selects it, a second click clears it). */
export interface SearchState {
  q: string;
  type: '' | 'events' | 'detections';
  kind: string;
  camera: string;
  label: string;
  zone: string;
  line: string;
  reviewed: '' | 'true' | 'false';
  since: string;
  until: string;
}

export const SEARCH_KEYS = ['q', 'type', 'kind', 'camera', 'label', 'zone', 'line', 'reviewed', 'since', 'until'] as const;

export function searchFromParams(p: URLSearchParams): SearchState {
  const get = (k: string) => (p.get(k) ?? '').trim();
  const type = get('type');
  const reviewed = get('reviewed');
  const s: SearchState = {
    q: get('q'),
    type: type === 'events' || type === 'detections' ? type : '',
    kind: '',
    camera: get('camera'),
    label: get('label'),
    zone: get('zone'),
    line: get('line'),
    reviewed: reviewed === 'true' || reviewed === 'false' ? reviewed : '',
    since: get('since'),
    until: get('until'),
  };
  const kind = get('kind');
  if ((KINDS as readonly string[]).includes(kind)) s.kind = kind;
  return normalizeSearch(s);
}

export function searchToParams(s: SearchState): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of SEARCH_KEYS) if (s[k]) out[k] = s[k];
  return out;
}

/** The event kind a free text names ('line_cross', 'line cross', 'Line crossing',
 * 'loiter', ...), or ''. The search API matches its text against camera,
 * zone and line ids and labels, not kinds, so the page turns such a text into
 * a kind filter. */
export function kindNamed(text: string): Kind | '' {
  const t = text.trim().toLowerCase().replace(/[\s-]+/g, '_');
  const aliases: Record<string, Kind> = {
    line_cross: 'line_cross',
    line_crossing: 'line_cross',
    line_crossings: 'line_cross',
    crossing: 'line_cross',
    zone_enter: 'zone_enter',
    zone_entry: 'zone_enter',
    zone_leave: 'zone_leave',
    zone_exit: 'zone_leave',
    loiter: 'loiter',
    loitering: 'loiter',
  };
  return aliases[t] ?? '';
}

/** A text naming a kind becomes the kind filter; zone and line are exclusive
 * (an event has one or the other); detections have no kind. */
export function normalizeSearch(s: SearchState): SearchState {
  const out = { ...s };
  const k = kindNamed(out.q);
  if (k) {
    out.kind = k;
    out.q = '';
  }
  if (out.zone && out.line) out.line = '';
  if (out.kind && out.type === 'detections') out.type = '';
  return out;
}

/** Whether the search needs GET /api/v1/events (a kind filter: the search
 * API cannot filter kinds) rather than GET /api/v1/search. */
export function searchUsesEvents(s: SearchState): boolean {
  return s.kind !== '';
}

/** GET /api/v1/search's query. */
export function searchQuery(s: SearchState, limit: number, cursor?: string | null, facets = true): Query {
  return {
    q: s.q || undefined,
    cameras: s.camera || undefined,
    labels: s.label || undefined,
    zones: s.zone || undefined,
    lines: s.line || undefined,
    since: localToRfc3339(s.since),
    until: localToRfc3339(s.until),
    reviewed: s.reviewed || undefined,
    type: s.type || undefined,
    facets: facets ? undefined : 'false',
    limit,
    cursor: cursor || undefined,
  };
}

/** GET /api/v1/events's query for a search with a kind (no free text there). */
export function searchEventsQuery(s: SearchState, limit: number, cursor?: string | null): Query {
  return eventsQuery(
    {
      camera: s.camera,
      kind: s.kind,
      label: s.label,
      zone: s.zone,
      line: s.line,
      since: s.since,
      until: s.until,
      reviewed: s.reviewed,
    },
    limit,
    cursor,
  );
}

/** The search state after clicking a facet value: selects it, or clears it
 * when it was selected. */
export function toggleFacet(s: SearchState, facet: FacetName, value: string): SearchState {
  const out = { ...s };
  if (facet === 'kinds') {
    if (value === 'detection') {
      out.kind = '';
      out.type = out.type === 'detections' ? '' : 'detections';
    } else {
      out.kind = out.kind === value ? '' : value;
      if (out.kind) out.type = '';
    }
    return out;
  }
  const key = ({ cameras: 'camera', labels: 'label', zones: 'zone', lines: 'line' } as const)[facet];
  out[key] = out[key] === value ? '' : value;
  if (key === 'zone' && out.zone) out.line = '';
  if (key === 'line' && out.line) out.zone = '';
  return out;
}

export function facetSelected(s: SearchState, facet: FacetName, value: string): boolean {
  if (facet === 'kinds') return value === 'detection' ? s.type === 'detections' : s.kind === value;
  const key = ({ cameras: 'camera', labels: 'label', zones: 'zone', lines: 'line' } as const)[facet];
  return s[key] === value;
}

/** A facet's values, most frequent first (then by name). */
export function facetEntries(f: Record<string, number> | undefined): [string, number][] {
  return Object.entries(f ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

// ---- how an event reads ----------------------------------------------------

export const KIND_TEXT: Record<Kind, string> = {
  zone_enter: 'entered zone',
  zone_leave: 'left zone',
  loiter: 'loitered in zone',
  line_cross: 'crossed line',
};

export function kindTitle(kind: string | null): string {
  switch (kind) {
    case 'zone_enter':
      return 'Zone enter';
    case 'zone_leave':
      return 'Zone leave';
    case 'loiter':
      return 'Loiter';
    case 'line_cross':
      return 'Line cross';
    default:
      return kind ?? 'event';
  }
}

/** "person crossed line door (in)", "car entered zone lot". */
export function describeEvent(e: Pick<VigilEvent, 'kind' | 'label' | 'zone' | 'line' | 'direction'>): string {
  const what = e.kind ? KIND_TEXT[e.kind] : 'event';
  if (e.kind === 'line_cross' || (e.line && !e.zone)) {
    return `${e.label} ${what} ${e.line ?? '?'}${e.direction ? ` (${e.direction})` : ''}`;
  }
  return `${e.label} ${what} ${e.zone ?? '?'}`;
}

export function formatTime(iso: string | null | undefined, us?: number | null): string {
  const d = iso ? new Date(iso) : us ? new Date(us / 1000) : null;
  if (!d || Number.isNaN(d.getTime())) return '—';
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** "12.4 s", "3 min 2 s"; "still open" while the event is open. */
export function duration(e: Pick<VigilEvent, 'start_us' | 'end_us' | 'open'>): string {
  if (e.open || e.end_us === null) return 'still open';
  const s = Math.max(0, (e.end_us - e.start_us) / 1e6);
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

// ---- track and timeline geometry -------------------------------------------

/** The path a track walked: the bottom centre of each box (where an object
 * stands), as an SVG polyline's points in frame pixels. */
export function trackPoints(points: TrackPoint[]): string {
  return points
    .map((p) => `${round1((p.box[0] + p.box[2]) / 2)},${round1(p.box[3])}`)
    .join(' ');
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** Where an event sits on a timeline from t0 to t1 (microseconds), in percent (0..100). */
export function timelinePos(us: number, t0: number, t1: number): number {
  if (t1 <= t0) return 50;
  return Math.min(100, Math.max(0, ((us - t0) / (t1 - t0)) * 100));
}

/** Events grouped per camera (cameras in order of first appearance), each with
 * the overall time span of all the events. */
export function timelines(events: VigilEvent[]): {
  t0: number;
  t1: number;
  rows: { camera: string; events: VigilEvent[] }[];
} {
  let t0 = Infinity;
  let t1 = -Infinity;
  const by = new Map<string, VigilEvent[]>();
  for (const e of events) {
    t0 = Math.min(t0, e.start_us);
    t1 = Math.max(t1, e.end_us ?? e.start_us);
    const list = by.get(e.camera);
    if (list) list.push(e);
    else by.set(e.camera, [e]);
  }
  if (!events.length) return { t0: 0, t1: 0, rows: [] };
  return { t0, t1, rows: [...by].map(([camera, evs]) => ({ camera, events: evs })) };
}

/** The list after a fresh look at its first page: the fresh items first, then
 * the older items loaded before (further pages) that the fresh page does not
 * hold. A fresh page shorter than `limit` is the whole list. */
export function mergeFresh(old: VigilEvent[], fresh: VigilEvent[], limit: number): VigilEvent[] {
  if (fresh.length < limit) return fresh;
  const ids = new Set(fresh.map((e) => e.id));
  const oldest = fresh[fresh.length - 1];
  return [
    ...fresh,
    ...old.filter(
      (e) => !ids.has(e.id) && (e.start_us < oldest.start_us || (e.start_us === oldest.start_us && e.id < oldest.id)),
    ),
  ];
}
