import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import Search from '../src/pages/Search.svelte';
import { session } from '../src/lib/session.svelte';
import { route } from '../src/lib/router.svelte';
import {
  facetEntries,
  facetSelected,
  kindNamed,
  searchEventsQuery,
  searchFromParams,
  searchQuery,
  searchToParams,
  toggleFacet,
  type SearchState,
} from '../src/lib/events';

const empty: SearchState = searchFromParams(new URLSearchParams());

function defined(q: Record<string, unknown>) {
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined));
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const event = {
  type: 'event',
  id: 4,
  camera: 'street',
  kind: 'line_cross',
  label: 'person',
  track: 1,
  zone: null,
  line: 'door',
  direction: 'out',
  start: '2026-11-21T05:31:02.000Z',
  start_us: 1,
  end: null,
  end_us: null,
  open: true,
  start_sequence: 1,
  end_sequence: null,
  peak_score: 0.8,
  box: [0, 0, 1, 1],
  snapshot_frame_id: null,
  reviewed: false,
  snapshot_url: null,
  clip_url: '/api/v1/events/4/clip.mp4',
};
const detection = {
  type: 'detection',
  id: 11,
  camera: 'street',
  sequence: 3,
  frame_id: 8,
  time: '2026-11-21T05:31:01.000Z',
  time_us: 0,
  model: 'motion',
  label: 'person',
  score: 0.7,
  box: [0, 0, 1, 1],
  frame_url: '/api/v1/frames/8.jpg',
};
const facets = {
  cameras: { street: 2 },
  labels: { person: 2 },
  zones: {},
  lines: { door: 1 },
  kinds: { line_cross: 1, detection: 1, zone_enter: 0 },
};

beforeEach(() => {
  session.me = { user: 'v', role: 'viewer', auth: 'session', can_write: true };
  session.state = 'signed-in';
  route.path = '/search';
  route.params = new URLSearchParams();
  history.replaceState(null, '', '#/search');
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('search helpers', () => {
  it('knows a kind by its name in a text', () => {
    expect(kindNamed('line_cross')).toBe('line_cross');
    expect(kindNamed(' Line crossing ')).toBe('line_cross');
    expect(kindNamed('zone-enter')).toBe('zone_enter');
    expect(kindNamed('loitering')).toBe('loiter');
    expect(kindNamed('door')).toBe('');
  });

  it('reads a search from the URL: a kind text becomes the kind filter, a zone wins over a line', () => {
    const s = searchFromParams(new URLSearchParams('q=line_cross&camera=street&zone=walk&line=door&type=bogus'));
    expect(s).toEqual({ ...empty, kind: 'line_cross', camera: 'street', zone: 'walk' });
    expect(searchToParams(s)).toEqual({ kind: 'line_cross', camera: 'street', zone: 'walk' });
  });

  it('asks /search with its documented parameters', () => {
    const s = { ...empty, q: 'door', camera: 'street', label: 'person', line: 'door', reviewed: 'false' as const, type: 'events' as const };
    expect(defined(searchQuery(s, 50, 'c1'))).toEqual({
      q: 'door',
      cameras: 'street',
      labels: 'person',
      lines: 'door',
      reviewed: 'false',
      type: 'events',
      limit: 50,
      cursor: 'c1',
    });
    expect(defined(searchQuery(empty, 50, null, false))).toEqual({ facets: 'false', limit: 50 });
    expect(defined(searchEventsQuery({ ...empty, kind: 'line_cross', camera: 'street' }, 50))).toEqual({
      kind: 'line_cross',
      camera: 'street',
      limit: 50,
    });
  });

  it('toggles facets', () => {
    let s = toggleFacet(empty, 'zones', 'walk');
    expect(s.zone).toBe('walk');
    expect(facetSelected(s, 'zones', 'walk')).toBe(true);
    s = toggleFacet(s, 'lines', 'door');
    expect([s.zone, s.line]).toEqual(['', 'door']);
    s = toggleFacet(s, 'kinds', 'detection');
    expect(s.type).toBe('detections');
    s = toggleFacet(s, 'kinds', 'line_cross');
    expect([s.kind, s.type]).toEqual(['line_cross', '']);
    expect(toggleFacet(s, 'kinds', 'line_cross').kind).toBe('');
    expect(toggleFacet(s, 'cameras', 'street').camera).toBe('street');
    expect(facetEntries({ b: 1, a: 1, c: 5 })).toEqual([
      ['c', 5],
      ['a', 1],
      ['b', 1],
    ]);
  });
});

describe('Search page', () => {
  it('shows results and facets; a facet click narrows the search in the URL', async () => {
    const urls: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        urls.push(url);
        return json(200, { items: [event, detection], next_cursor: null, facets, facets_truncated: false });
      }),
    );
    render(Search);
    await waitFor(() => expect(screen.getAllByTestId('search-result')).toHaveLength(2));
    const [r1, r2] = screen.getAllByTestId('search-result');
    expect([r1.dataset.type, r1.dataset.kind, r1.dataset.eventId]).toEqual(['event', 'line_cross', '4']);
    expect(r1.querySelector('a[data-testid=result-link]')?.getAttribute('href')).toBe('#/review?event=4');
    expect(r2.dataset.type).toBe('detection');
    expect(urls[0]).toBe('/api/v1/search?limit=50');
    const door = screen.getAllByTestId('facet').find((b) => b.dataset.facet === 'lines' && b.dataset.value === 'door')!;
    expect(door.dataset.count).toBe('1');
    await fireEvent.click(door);
    expect(route.params.get('line')).toBe('door');
    await waitFor(() => expect(urls).toContain('/api/v1/search?lines=door&limit=50'));
  });

  it('answers a kind typed as text from the events API, with the search\'s facets beside it', async () => {
    const urls: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        urls.push(url);
        if (url.startsWith('/api/v1/events?')) return json(200, { items: [{ ...event, type: undefined }], next_cursor: null });
        return json(200, { items: [], next_cursor: null, facets });
      }),
    );
    render(Search);
    await waitFor(() => expect(urls.length).toBeGreaterThan(0));
    const input = screen.getByTestId('search-input') as HTMLInputElement;
    await fireEvent.input(input, { target: { value: 'line crossing' } });
    await fireEvent.submit(screen.getByTestId('search-form'));
    expect(route.params.get('kind')).toBe('line_cross');
    expect(route.params.get('q')).toBeNull();
    await waitFor(() => expect(urls).toContain('/api/v1/events?kind=line_cross&limit=50'));
    expect(urls).toContain('/api/v1/search?type=events&limit=1');
    await waitFor(() => expect(screen.getAllByTestId('search-result')).toHaveLength(1));
    expect(screen.getByTestId('search-result').dataset.kind).toBe('line_cross');
    expect(screen.getAllByTestId('search-chip').map((c) => c.dataset.key)).toEqual(['kind']);
  });

  it('shows the API error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(400, { error: 'invalid parameter "q": too long', parameter: 'q' })));
    render(Search);
    await screen.findByText(/invalid parameter "q": too long \(HTTP 400\)/);
  });
});
