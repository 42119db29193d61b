import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { fromRules, placeError, toRules, type EditLine } from '../src/components/zones/rules';
import type { Rules } from '../src/lib/live';
import { session, type Role } from '../src/lib/session.svelte';
import Zones from '../src/pages/Zones.svelte';

const canonical: Rules = {
  zones: [{ id: 'walk', polygon: [[0.1, 0.4], [0.9, 0.4], [0.9, 0.95]], labels: [], min_score: 0, loiter_seconds: 0, inertia: 2, anchor: 'bottom_center' }],
  lines: [{ id: 'middle', points: [[0.5, 0], [0.5, 1]], labels: ['person'], min_score: 0, hysteresis: 0.02, anchor: 'bottom_center' }],
};

describe('rule set model', () => {
  it('round-trips the API set, fields the form does not show included', () => {
    expect(toRules(fromRules(canonical))).toEqual(canonical);
  });

  it('sends typed labels as a list and leaves empty numbers to the server', () => {
    const items = fromRules(canonical);
    items[0].labels = ' person, car ,, ';
    items[0].min_score = null;
    (items[1] as EditLine).hysteresis = null;
    const r = toRules(items);
    expect(r.zones[0].labels).toEqual(['person', 'car']);
    expect('min_score' in r.zones[0]).toBe(false);
    expect('hysteresis' in r.lines[0]).toBe(false);
    expect(r.lines[0].anchor).toBe('bottom_center');
  });

  it('places an API 400 at its field', () => {
    const items = fromRules(canonical);
    expect(placeError('zones[0].polygon', items)).toEqual({ key: items[0].key, field: 'points' });
    expect(placeError('lines[0].id', items)).toEqual({ key: items[1].key, field: 'id' });
    expect(placeError('lines[3].id', items)).toEqual({ key: null, field: '' });
    expect(placeError('zones', items)).toEqual({ key: null, field: '' });
    expect(placeError(undefined, items)).toEqual({ key: null, field: '' });
  });
});

// --- the page, with fetch faked ----------------------------------------------

const street = { id: 'street', name: 'Street', url: 'x', fps: 5, enabled: true, status: 'online', last_error: null, updated: null };

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

function signIn(role: Role) {
  session.me = { user: role, role, auth: 'session', can_write: true };
  session.state = 'signed-in';
}

let puts: { body: unknown; ifMatch: string }[] = [];
let putAnswer: () => Response;
let version = 3;

beforeEach(() => {
  puts = [];
  version = 3;
  putAnswer = () => json(200, { camera: 'street', version: 4, applied: true, ...canonical }, { ETag: '"4"' });
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      if (url.startsWith('/api/v1/cameras?')) return json(200, { items: [street], next_cursor: null });
      if (url === '/api/v1/cameras/street/rules' && (init?.method ?? 'GET') === 'GET') return json(200, canonical, { ETag: `"${version}"` });
      if (url === '/api/v1/cameras/street/rules' && init?.method === 'PUT') {
        puts.push({ body: JSON.parse(String(init.body)), ifMatch: (init.headers as Record<string, string>)['If-Match'] });
        return putAnswer();
      }
      if (url.includes('/live.mjpeg')) return json(503, { error: 'no pipeline' });
      if (url.startsWith('/api/v1/detections')) return json(200, { items: [], next_cursor: null });
      throw new Error(`unexpected ${url}`);
    }),
  );
  // jsdom lays nothing out: give the canvas a size
  vi.spyOn(Element.prototype, 'getBoundingClientRect').mockReturnValue({
    x: 0, y: 0, left: 0, top: 0, width: 800, height: 600, right: 800, bottom: 600, toJSON: () => ({}),
  } as DOMRect);
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('Zones page', () => {
  it('shows a viewer the rules read-only, without drawing or save buttons', async () => {
    signIn('viewer');
    render(Zones);
    await waitFor(() => expect(screen.getAllByTestId('rule-item')).toHaveLength(2));
    expect(screen.getByTestId('zones-readonly')).toBeTruthy();
    for (const id of ['zones-add-zone', 'zones-add-line', 'rules-save', 'rule-delete', 'rule-reverse']) {
      expect(screen.queryByTestId(id)).toBeNull();
    }
    expect(screen.getAllByTestId('rule-id').every((i) => i.hasAttribute('readonly'))).toBe(true);
    expect(screen.getAllByTestId('zones-shape')).toHaveLength(2);
    // no frame to draw on: said, not blank
    await waitFor(() => expect(screen.getByTestId('zones-frame-note').textContent).toContain('No frame'));
  });

  it('draws a line with two clicks and saves the whole set with If-Match', async () => {
    signIn('operator');
    render(Zones);
    await waitFor(() => expect(screen.getAllByTestId('rule-item')).toHaveLength(2));
    expect((screen.getByTestId('rules-save') as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(screen.getByTestId('zones-add-line'));
    const canvas = screen.getByTestId('zones-canvas');
    await fireEvent.click(canvas, { clientX: 400, clientY: 180 });
    await fireEvent.click(canvas, { clientX: 400, clientY: 600 });
    await waitFor(() => expect(screen.getAllByTestId('rule-item')).toHaveLength(3));
    expect(screen.getByTestId('rules-dirty')).toBeTruthy();
    const item = screen.getAllByTestId('rule-item')[2];
    expect(item.dataset.id).toBe('line-1');
    await fireEvent.input(within(item).getByTestId('rule-id'), { target: { value: 'walkway' } });
    await fireEvent.click(screen.getByTestId('rules-save'));
    await screen.findByTestId('rules-saved');
    expect(puts).toHaveLength(1);
    expect(puts[0].ifMatch).toBe('"3"');
    const body = puts[0].body as typeof canonical;
    expect(body.zones).toEqual(canonical.zones);
    expect(body.lines[0]).toEqual(canonical.lines[0]);
    expect(body.lines[1]).toEqual({ id: 'walkway', labels: [], points: [[0.5, 0.3], [0.5, 1]] });
  });

  it('says someone else changed the set on a 412 and reloads it', async () => {
    signIn('admin');
    putAnswer = () => json(412, { error: 'the rule set changed: it is now version 5' }, { ETag: '"5"' });
    render(Zones);
    await waitFor(() => expect(screen.getAllByTestId('rule-item')).toHaveLength(2));
    await fireEvent.click(screen.getAllByTestId('rule-reverse')[0]);
    await fireEvent.click(screen.getByTestId('rules-save'));
    const box = await screen.findByTestId('rules-conflict');
    expect(box.textContent).toContain('Someone else changed');
    version = 5;
    await fireEvent.click(screen.getByTestId('rules-reload'));
    await waitFor(() => expect(screen.queryByTestId('rules-conflict')).toBeNull());
    expect(screen.queryByTestId('rules-dirty')).toBeNull();
  });

  it('shows a 400 next to the field its parameter names', async () => {
    signIn('admin');
    putAnswer = () => json(400, { error: 'lines[0].id: duplicate id "walk"', parameter: 'lines[0].id' });
    render(Zones);
    await waitFor(() => expect(screen.getAllByTestId('rule-item')).toHaveLength(2));
    const line = screen.getAllByTestId('rule-item')[1];
    await fireEvent.input(within(line).getByTestId('rule-id'), { target: { value: 'walk' } });
    await fireEvent.click(screen.getByTestId('rules-save'));
    await waitFor(() => expect(within(line).getByTestId('rule-error').textContent).toContain('duplicate id'));
    expect(within(screen.getAllByTestId('rule-item')[0]).queryByTestId('rule-error')).toBeNull();
  });
});
