import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, waitFor } from '@testing-library/svelte';
import { MjpegParser, boundaryOf, statusTone } from '../src/lib/live';
import { arrowHead, cross, inArrow, lineProblem, normPoint, polygonProblem, side, type Pt } from '../src/lib/geometry';
import { session } from '../src/lib/session.svelte';
import Live from '../src/pages/Live.svelte';

const enc = new TextEncoder();

function part(seq: number, jpeg: number[]): Uint8Array {
  const head = enc.encode(
    `--vigil-live-frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\nX-Sequence: ${seq}\r\nX-Timestamp-Us: ${seq * 1000}\r\n\r\n`,
  );
  const out = new Uint8Array(head.length + jpeg.length + 2);
  out.set(head);
  out.set(jpeg, head.length);
  out.set([13, 10], head.length + jpeg.length);
  return out;
}

function concat(...a: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(a.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of a) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

describe('MJPEG parts', () => {
  const body = concat(enc.encode('\r\n'), part(7, [0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]), part(8, [0xff, 0xd8, 45, 45, 13, 10, 0xff, 0xd9]));

  it('splits a body given whole', () => {
    const parts = new MjpegParser().push(body);
    expect(parts.map((p) => p.sequence)).toEqual([7, 8]);
    expect([...parts[0].jpeg]).toEqual([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
    expect(parts[1].timestampUs).toBe(8000);
  });

  it('gives the same parts whatever the chunking, even one byte at a time', () => {
    for (const size of [1, 2, 5, 17, 64]) {
      const p = new MjpegParser();
      const got: number[][] = [];
      for (let i = 0; i < body.length; i += size) for (const x of p.push(body.subarray(i, i + size))) got.push([...x.jpeg]);
      expect(got).toEqual([
        [0xff, 0xd8, 1, 2, 3, 0xff, 0xd9],
        [0xff, 0xd8, 45, 45, 13, 10, 0xff, 0xd9],
      ]);
    }
  });

  it('takes the boundary from the Content-Type', () => {
    expect(boundaryOf('multipart/x-mixed-replace; boundary=vigil-live-frame')).toBe('vigil-live-frame');
    expect(boundaryOf('multipart/x-mixed-replace;boundary="b1"')).toBe('b1');
    expect(boundaryOf(null)).toBe('vigil-live-frame');
  });

  it('groups statuses for colour', () => {
    expect(statusTone('online')).toBe('ok');
    expect(statusTone('retrying')).toBe('warn');
    expect(statusTone('ended')).toBe('idle');
    expect(statusTone('offline')).toBe('bad');
  });
});

describe('geometry', () => {
  it('puts the positive side where docs/analytics.md says (y down)', () => {
    const a: Pt = [0.5, 0], b: Pt = [0.5, 1];
    expect(side(a, b, [0.4, 0.5])).toBe(1); // left of a top-to-bottom line
    expect(side(a, b, [0.6, 0.5])).toBe(-1);
    expect(cross(a, b, [0.5, 0.3])).toBe(0);
  });

  it('draws the in arrow from the positive to the negative side', () => {
    // top to bottom: left -> right is in
    const v = inArrow([0.5, 0], [0.5, 1], 800, 600, 20)!;
    expect(v.from[0]).toBeLessThan(v.to[0]);
    expect(v.mid).toEqual([400, 300]);
    // reversed: right -> left
    const r = inArrow([0.5, 1], [0.5, 0], 800, 600, 20)!;
    expect(r.from[0]).toBeGreaterThan(r.to[0]);
    // left to right: bottom -> top is in (the negative side is above)
    const h = inArrow([0, 0.5], [1, 0.5], 800, 600, 20)!;
    expect(h.from[1]).toBeGreaterThan(h.to[1]);
    // the arrow's ends are on the sides the API counts
    for (const [a, b] of [[[0.1, 0.2], [0.7, 0.9]], [[0.9, 0.1], [0.2, 0.4]]] as [Pt, Pt][]) {
      const x = inArrow(a, b, 1000, 500, 30)!;
      const norm = (p: Pt): Pt => [p[0] / 1000, p[1] / 500];
      expect(side(a, b, norm(x.from))).toBe(1);
      expect(side(a, b, norm(x.to))).toBe(-1);
    }
    expect(inArrow([0.2, 0.2], [0.2, 0.2], 100, 100, 5)).toBeNull();
    expect(arrowHead([0, 0], [10, 0], 2).split(' ')).toHaveLength(3);
  });

  it('checks polygons and lines as the API will', () => {
    expect(polygonProblem([[0, 0], [1, 0]])).toBe('needs at least 3 points');
    expect(polygonProblem([[0, 0], [1, 0], [1, 1], [0, 1]])).toBe('');
    expect(polygonProblem([[0, 0], [1, 1], [1, 0], [0, 1]])).toBe('self-intersecting');
    expect(polygonProblem([[0, 0], [0.5, 0.5], [1, 1]])).not.toBe('');
    expect(lineProblem([[0.5, 0.5], [0.5, 0.5]])).toBe('its two points are the same');
    expect(lineProblem([[0.5, 0.3], [0.5, 1]])).toBe('');
  });

  it('clamps and rounds points into the frame', () => {
    expect(normPoint(-0.2, 1.7)).toEqual([0, 1]);
    expect(normPoint(0.123456, 0.5)).toEqual([0.1235, 0.5]);
  });
});

// --- the page, with fetch and EventSource faked ------------------------------

class FakeEventSource {
  static all: FakeEventSource[] = [];
  static readonly CLOSED = 2;
  url: string;
  readyState = 1;
  closed = false;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private handlers: Record<string, ((e: MessageEvent) => void)[]> = {};
  constructor(url: string) {
    this.url = url;
    FakeEventSource.all.push(this);
  }
  addEventListener(type: string, fn: (e: MessageEvent) => void) {
    (this.handlers[type] ??= []).push(fn);
  }
  emit(type: string, data: unknown) {
    for (const fn of this.handlers[type] ?? []) fn(new MessageEvent(type, { data: JSON.stringify(data) }));
  }
  close() {
    this.closed = true;
  }
}

const street = { id: 'street', name: 'Street', url: 'x', fps: 5, enabled: true, status: 'online', last_error: null, updated: null };
const rules = {
  zones: [{ id: 'walk', polygon: [[0.1, 0.4], [0.9, 0.4], [0.9, 0.95]] }],
  lines: [{ id: 'middle', points: [[0.5, 0], [0.5, 1]] }],
};

function json(body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json', ...headers } });
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  FakeEventSource.all = [];
});

describe('Live page', () => {
  it('plays a camera, draws its zones, lines and the streamed boxes, and hangs up when left', async () => {
    session.me = { user: 'v', role: 'viewer', auth: 'session', can_write: true };
    session.state = 'signed-in';
    const aborted: string[] = [];
    vi.stubGlobal('EventSource', FakeEventSource);
    let n = 0;
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: () => `blob:frame-${++n}`, revokeObjectURL: () => {} }));
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        if (url.startsWith('/api/v1/cameras?')) return json({ items: [street], next_cursor: null });
        if (url === '/api/v1/cameras/street/rules') return json(rules, { ETag: '"3"' });
        if (url.startsWith('/api/v1/cameras/street/live.mjpeg')) {
          init?.signal?.addEventListener('abort', () => aborted.push(url));
          const stream = new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(concat(part(1, [0xff, 0xd8, 0xff, 0xd9]), part(2, [0xff, 0xd8, 0xff, 0xd9])));
            },
          });
          return new Response(stream, { status: 200, headers: { 'Content-Type': 'multipart/x-mixed-replace; boundary=vigil-live-frame' } });
        }
        throw new Error(`unexpected ${url}`);
      }),
    );
    const { unmount } = render(Live);
    const tile = await screen.findByTestId('live-tile');
    expect(tile.dataset.camera).toBe('street');
    await waitFor(() => expect(screen.getByTestId('live-frame').dataset.frames).toBe('2'));
    expect(screen.getByTestId('live-status').textContent).toBe('online');
    expect(screen.getByTestId('live-fps').textContent).toContain('5 fps');
    await waitFor(() => expect(screen.getAllByTestId('live-line')).toHaveLength(1));
    expect(screen.getAllByTestId('live-zone')).toHaveLength(1);

    // one shared stream for the page, and boxes from its detections
    expect(FakeEventSource.all).toHaveLength(1);
    expect(FakeEventSource.all[0].url).toContain('types=detections%2Cstatus');
    FakeEventSource.all[0].emit('detection', {
      camera: 'street', sequence: 2, time_us: 1, width: 768, height: 576,
      items: [{ label: 'person', score: 0.87, box: [10, 20, 110, 220], track: 12 }],
    });
    const box = await screen.findByTestId('live-box');
    expect(box.dataset.label).toBe('person');
    expect(box.textContent).toContain('person 87% #12');

    // a status change from the stream
    FakeEventSource.all[0].emit('status', { camera: 'street', type: 'retrying', message: 'connection refused' });
    await waitFor(() => expect(screen.getByTestId('live-status').textContent).toBe('retrying'));

    unmount();
    expect(FakeEventSource.all[0].closed).toBe(true);
    expect(aborted.length).toBe(1);
  });
});
