import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import Review from '../src/pages/Review.svelte';
import EventView from '../src/components/review/EventView.svelte';
import { session, type Role } from '../src/lib/session.svelte';
import { route } from '../src/lib/router.svelte';
import {
  describeEvent,
  eventsQuery,
  filtersFromParams,
  filtersToParams,
  localToRfc3339,
  mergeFresh,
  timelinePos,
  timelines,
  trackPoints,
  type VigilEvent,
} from '../src/lib/events';

function ev(id: number, over: Partial<VigilEvent> = {}): VigilEvent {
  return {
    id,
    camera: 'street',
    kind: 'line_cross',
    label: 'person',
    track: 7,
    zone: null,
    line: 'door',
    direction: 'in',
    start: '2026-11-21T05:31:02.000Z',
    start_us: 1_000_000 * (1000 + id),
    end: '2026-11-21T05:31:04.000Z',
    end_us: 1_000_000 * (1002 + id),
    open: false,
    start_sequence: 1,
    end_sequence: 2,
    peak_score: 0.91,
    box: [10, 20, 30, 60],
    snapshot_frame_id: 5,
    reviewed: false,
    reviewed_at: null,
    reviewed_by: null,
    snapshot_url: `/api/v1/events/${id}/snapshot.jpg`,
    clip_url: `/api/v1/events/${id}/clip.mp4`,
    ...over,
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function signIn(role: Role) {
  session.me = { user: role, role, auth: 'session', can_write: true };
  session.state = 'signed-in';
}

type Call = { url: string; method: string; body?: unknown; headers?: Record<string, string> };

/** fetch answering from a table of handlers (first matching prefix wins), recording each call. */
function serve(handlers: [string, (c: Call) => Response][]): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      const c: Call = {
        url,
        method: init?.method ?? 'GET',
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
        headers: init?.headers as Record<string, string>,
      };
      calls.push(c);
      for (const [prefix, h] of handlers) if (url.startsWith(prefix)) return h(c);
      return json(404, { error: `no handler for ${url}` });
    }),
  );
  return calls;
}

beforeEach(() => {
  route.path = '/review';
  route.params = new URLSearchParams();
  history.replaceState(null, '', '#/review');
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('event helpers', () => {
  it('reads filters from the URL and writes only the set ones back', () => {
    const f = filtersFromParams(new URLSearchParams('camera=street&kind=line_cross&reviewed=maybe&kind2=x&event=4'));
    expect(f).toEqual({ camera: 'street', kind: 'line_cross', label: '', zone: '', line: '', since: '', until: '', reviewed: '' });
    expect(filtersToParams(f)).toEqual({ camera: 'street', kind: 'line_cross' });
    expect(filtersFromParams(new URLSearchParams('kind=bogus')).kind).toBe('');
  });

  it('asks the events API only its documented parameters, a zone over a line', () => {
    const f = filtersFromParams(new URLSearchParams('camera=street&zone=walk&line=door&reviewed=false&label=person'));
    const q = eventsQuery(f, 50, 'abc');
    const sent = Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined));
    expect(sent).toEqual({ camera: 'street', zone: 'walk', label: 'person', reviewed: 'false', limit: 50, cursor: 'abc' });
    for (const k of Object.keys(sent)) {
      expect(['camera', 'kind', 'label', 'zone', 'line', 'since', 'until', 'reviewed', 'limit', 'cursor']).toContain(k);
    }
    expect(eventsQuery(filtersFromParams(new URLSearchParams('line=door')), 10).line).toBe('door');
  });

  it('turns a datetime-local value into RFC 3339 UTC', () => {
    const v = localToRfc3339('2026-11-21T06:31');
    expect(v).toMatch(/^2026-11-2\dT\d\d:31:00\.000Z$/);
    expect(new Date(v!).getTime()).toBe(new Date('2026-11-21T06:31').getTime());
    expect(localToRfc3339('')).toBeUndefined();
    expect(localToRfc3339('nonsense')).toBeUndefined();
  });

  it('says what happened', () => {
    expect(describeEvent(ev(1))).toBe('person crossed line door (in)');
    expect(describeEvent(ev(1, { kind: 'zone_enter', zone: 'lot', line: null, direction: null, label: 'car' }))).toBe(
      'car entered zone lot',
    );
    expect(describeEvent(ev(1, { kind: 'loiter', zone: 'lot', line: null, direction: null }))).toBe('person loitered in zone lot');
  });

  it('draws a track through the bottom centre of its boxes', () => {
    const pts = [
      { sequence: 1, time: null, time_us: 1, frame_id: 1, score: 1, box: [0, 0, 10, 20] as [number, number, number, number] },
      { sequence: 2, time: null, time_us: 2, frame_id: null, score: 1, box: [5, 5, 16, 30.04] as [number, number, number, number] },
    ];
    expect(trackPoints(pts)).toBe('5,20 10.5,30');
  });

  it('places events on per-camera timelines', () => {
    const list = [ev(3), ev(2, { camera: 'yard' }), ev(1)];
    const tl = timelines(list);
    expect(tl.rows.map((r) => [r.camera, r.events.map((e) => e.id)])).toEqual([
      ['street', [3, 1]],
      ['yard', [2]],
    ]);
    expect(tl.t0).toBe(ev(1).start_us);
    expect(tl.t1).toBe(ev(3).end_us);
    expect(timelinePos(tl.t0, tl.t0, tl.t1)).toBe(0);
    expect(timelinePos(tl.t1, tl.t0, tl.t1)).toBe(100);
    expect(timelinePos(5, 5, 5)).toBe(50);
    expect(timelines([]).rows).toEqual([]);
  });

  it('merges a fresh first page over the pages loaded before', () => {
    const old = [ev(5), ev(4), ev(3), ev(2), ev(1)];
    expect(mergeFresh(old, [ev(7), ev(6)], 3).map((e) => e.id)).toEqual([7, 6]);
    const fresh = [ev(7), ev(6), { ...ev(5), reviewed: true }];
    const merged = mergeFresh(old, fresh, 3);
    expect(merged.map((e) => e.id)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(merged[2].reviewed).toBe(true);
  });
});

describe('Review page', () => {
  const items = [ev(3, { reviewed: true }), ev(2, { kind: 'zone_enter', zone: 'walk', line: null, direction: null }), ev(1)];

  function api(extra: [string, (c: Call) => Response][] = []): Call[] {
    return serve([
      ...extra,
      ['/api/v1/events?', () => json(200, { items, next_cursor: 'next1' })],
      ['/api/v1/cameras?', () => json(200, { items: [{ id: 'street', name: 'Street' }], next_cursor: null })],
      ['/api/v1/cameras/street/', () => json(200, { items: [] })],
    ]);
  }

  it('lists events with the attributes tests rely on, and a viewer gets no write controls', async () => {
    signIn('viewer');
    route.params = new URLSearchParams('camera=street&kind=line_cross');
    const calls = api();
    render(Review);
    await waitFor(() => expect(screen.getAllByTestId('event-row')).toHaveLength(3));
    const rows = screen.getAllByTestId('event-row');
    expect(rows.map((r) => [r.dataset.eventId, r.dataset.kind, r.dataset.reviewed])).toEqual([
      ['3', 'line_cross', 'true'],
      ['2', 'zone_enter', 'false'],
      ['1', 'line_cross', 'false'],
    ]);
    const first = calls.find((c) => c.url.startsWith('/api/v1/events?'))!;
    expect(first.url).toBe('/api/v1/events?camera=street&kind=line_cross&limit=50');
    expect(screen.getAllByTestId('timeline-mark')).toHaveLength(3);
    expect(screen.getByTestId('load-more')).toBeTruthy();
    expect(screen.queryByTestId('event-select')).toBeNull();
    expect(screen.queryByTestId('bulk-reviewed')).toBeNull();
  });

  it('marks many at once for an operator', async () => {
    signIn('operator');
    const calls = api([
      ['/api/v1/events/review', (c) => json(200, { requested: 2, updated: 2, reviewed: (c.body as { reviewed: boolean }).reviewed })],
    ]);
    render(Review);
    await waitFor(() => expect(screen.getAllByTestId('event-select')).toHaveLength(3));
    const boxes = screen.getAllByTestId('event-select');
    await fireEvent.click(boxes[1]);
    await fireEvent.click(boxes[2]);
    await fireEvent.click(screen.getByTestId('bulk-reviewed'));
    await waitFor(() => expect(screen.getByTestId('notice').textContent).toContain('2 events marked reviewed'));
    const post = calls.find((c) => c.url === '/api/v1/events/review')!;
    expect(post.method).toBe('POST');
    expect(post.body).toEqual({ ids: [2, 1], reviewed: true });
    expect(screen.getAllByTestId('event-row').map((r) => r.dataset.reviewed)).toEqual(['true', 'true', 'true']);
  });

  it('loads the next page on Load more', async () => {
    signIn('viewer');
    const calls = serve([
      ['/api/v1/events?limit=50&cursor=next1', () => json(200, { items: [ev(0)], next_cursor: null })],
      ['/api/v1/events?', () => json(200, { items, next_cursor: 'next1' })],
      ['/api/v1/cameras', () => json(200, { items: [], next_cursor: null })],
    ]);
    render(Review);
    await waitFor(() => expect(screen.getAllByTestId('event-row')).toHaveLength(3));
    await fireEvent.click(screen.getByTestId('load-more'));
    await waitFor(() => expect(screen.getAllByTestId('event-row')).toHaveLength(4));
    expect(calls.some((c) => c.url === '/api/v1/events?limit=50&cursor=next1')).toBe(true);
    expect(screen.queryByTestId('load-more')).toBeNull();
  });

  it('shows the API error, never a blank list', async () => {
    signIn('viewer');
    serve([
      ['/api/v1/events?', () => json(503, { error: 'the warehouse cannot be opened' })],
      ['/api/v1/cameras', () => json(200, { items: [], next_cursor: null })],
    ]);
    render(Review);
    await screen.findByText(/the warehouse cannot be opened \(HTTP 503\)/);
  });
});

describe('one event', () => {
  const track = {
    camera: 'street',
    track: 7,
    label: 'person',
    first: null,
    first_us: 0,
    last: null,
    last_us: 0,
    points: [{ sequence: 1, time: null, time_us: 0, frame_id: 5, score: 0.9, box: [10, 20, 30, 60] }],
    truncated: false,
  };

  it('shows the clip API\'s message when there is no clip, and marks it reviewed', async () => {
    signIn('operator');
    const calls = serve([
      ['/api/v1/events/9/clip.mp4', () => json(404, { error: 'no stored frame of camera "street" in the event\'s span' })],
      ['/api/v1/events/9', (c) => json(200, c.method === 'PATCH' ? ev(9, { reviewed: true, reviewed_by: 'operator' }) : ev(9))],
      ['/api/v1/tracks/street/7', () => json(200, track)],
    ]);
    const changed: VigilEvent[] = [];
    render(EventView, { id: 9, onclose: () => {}, onchange: (e: VigilEvent) => changed.push(e) });
    const msg = await screen.findByTestId('clip-message');
    expect(msg.textContent).toContain('no stored frame of camera "street"');
    const clipCall = calls.find((c) => c.url === '/api/v1/events/9/clip.mp4')!;
    expect(clipCall.headers?.Range).toBe('bytes=0-0');
    expect(screen.getByTestId('event-snapshot').getAttribute('src')).toBe('/api/v1/events/9/snapshot.jpg');
    expect(screen.queryByTestId('delete-event')).toBeNull(); // operator: no delete
    await fireEvent.click(screen.getByTestId('mark-reviewed'));
    await screen.findByTestId('event-reviewed');
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ reviewed: true });
    expect(changed.map((e) => e.reviewed)).toEqual([true]);
    expect(screen.getByTestId('mark-reviewed').textContent).toContain('Mark not reviewed');
  });

  it('plays a clip that is there; an admin deletes a closed event after confirming', async () => {
    signIn('admin');
    const calls = serve([
      ['/api/v1/events/9/clip.mp4', () => new Response('x', { status: 206, headers: { 'Content-Type': 'video/mp4' } })],
      ['/api/v1/events/9', (c) => json(200, c.method === 'DELETE' ? { id: 9, deleted: true } : ev(9))],
      ['/api/v1/tracks/street/7', () => json(200, track)],
    ]);
    const gone: number[] = [];
    render(EventView, { id: 9, onclose: () => {}, ondeleted: (id: number) => gone.push(id) });
    const video = await screen.findByTestId('event-clip');
    expect(video.getAttribute('src')).toBe('/api/v1/events/9/clip.mp4');
    await fireEvent.click(screen.getByTestId('delete-event'));
    await fireEvent.click(screen.getByTestId('confirm-delete'));
    await waitFor(() => expect(gone).toEqual([9]));
    expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/v1/events/9')).toBe(true);
  });

  it('gives an open event\'s clip to the player at once and offers no delete', async () => {
    signIn('admin');
    const calls = serve([
      ['/api/v1/events/9', () => json(200, ev(9, { open: true, end: null, end_us: null, end_sequence: null }))],
      ['/api/v1/tracks/street/7', () => json(200, track)],
    ]);
    render(EventView, { id: 9, onclose: () => {} });
    await screen.findByTestId('event-clip');
    expect(calls.some((c) => c.url.includes('clip.mp4'))).toBe(false);
    expect(screen.queryByTestId('delete-event')).toBeNull();
  });
});
