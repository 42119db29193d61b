// Live data for the Live page and the zones editor: the multipart JPEG stream
// of GET /api/v1/cameras/{id}/live.mjpeg read with fetch() (not an <img src>),
// the shared Server-Sent Events stream GET /api/v1/stream, and the types of
// cameras, rule sets and detections as the API sends them.
//
// Why fetch() for MJPEG: the page sees each part (so it counts frames, knows
// the frame's sequence and size, and can take one frame as a snapshot and
// hang up), and aborting the fetch closes the connection at once when a page
// or tile goes away, where an <img> may keep its connection open. Each part
// becomes a blob: URL (CSP img-src allows blob:), which the <img> decodes off
// the main thread.
import { ApiError, request, withQuery, type Query } from './api';
import type { Pt } from './geometry';

export interface Camera {
  id: string;
  name: string;
  url: string;
  fps: number;
  enabled: boolean;
  status: string;
  last_error: string | null;
  updated: string | null;
}

export interface Zone {
  id: string;
  polygon: Pt[];
  labels?: string[];
  min_score?: number;
  loiter_seconds?: number;
  inertia?: number;
  anchor?: string;
}

export interface Line {
  id: string;
  points: Pt[];
  labels?: string[];
  min_score?: number;
  hysteresis?: number;
  anchor?: string;
}

export interface Rules {
  zones: Zone[];
  lines: Line[];
}

export interface DetectionItem {
  label: string;
  score: number;
  box: [number, number, number, number];
  track?: number | null;
}

/** An SSE `detection` message (boxes in frame pixels of width x height). */
export interface DetectionMsg {
  camera: string;
  sequence: number;
  time_us: number;
  frame_id?: number | null;
  width: number;
  height: number;
  items: DetectionItem[];
  truncated?: boolean;
}

/** An SSE `status` or `event` message. */
export interface StreamMsg {
  camera: string;
  type: string;
  time?: string;
  time_us?: number;
  message?: string;
  payload?: Record<string, unknown> | null;
}

export interface MjpegPart {
  jpeg: Uint8Array<ArrayBuffer>;
  sequence?: number;
  timestampUs?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const CRLFCRLF = enc.encode('\r\n\r\n');

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = hay.length - needle.length;
  outer: for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The boundary of a `multipart/x-mixed-replace; boundary=...` type. */
export function boundaryOf(contentType: string | null): string {
  const m = /boundary="?([^";]+)"?/i.exec(contentType ?? '');
  return m ? m[1] : 'vigil-live-frame';
}

/**
 * Splits a multipart/x-mixed-replace body into its JPEG parts, whatever the
 * chunking. Each part needs a Content-Length (vigil always sends one); a part
 * without is skipped.
 */
export class MjpegParser {
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  private readonly boundary: Uint8Array;

  constructor(boundary = 'vigil-live-frame') {
    this.boundary = enc.encode('--' + boundary);
  }

  push(chunk: Uint8Array): MjpegPart[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    this.buf = joined;
    const out: MjpegPart[] = [];
    for (;;) {
      const at = indexOf(this.buf, this.boundary, 0);
      if (at < 0) {
        // keep a tail that may be the start of a boundary
        this.buf = this.buf.slice(Math.max(0, this.buf.length - this.boundary.length + 1));
        break;
      }
      const headEnd = indexOf(this.buf, CRLFCRLF, at + this.boundary.length);
      if (headEnd < 0) {
        this.buf = this.buf.slice(at);
        break;
      }
      const headers: Record<string, string> = {};
      for (const line of dec.decode(this.buf.subarray(at + this.boundary.length, headEnd)).split('\r\n')) {
        const c = line.indexOf(':');
        if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
      }
      const len = Number(headers['content-length']);
      const start = headEnd + 4;
      if (!Number.isInteger(len) || len < 0) {
        this.buf = this.buf.slice(start);
        continue;
      }
      if (this.buf.length < start + len) {
        this.buf = this.buf.slice(at);
        break;
      }
      const part: MjpegPart = { jpeg: this.buf.slice(start, start + len) };
      if (headers['x-sequence']) part.sequence = Number(headers['x-sequence']);
      if (headers['x-timestamp-us']) part.timestampUs = Number(headers['x-timestamp-us']);
      out.push(part);
      this.buf = this.buf.slice(start + len);
    }
    return out;
  }
}

export function liveUrl(camera: string, fps: number, boxes = false): string {
  return withQuery(`/api/v1/cameras/${encodeURIComponent(camera)}/live.mjpeg`, { fps, boxes: boxes ? 1 : undefined });
}

/**
 * Reads a camera's live.mjpeg until `signal` aborts or the server ends it;
 * `onPart` returns false to hang up (a snapshot takes one part). Throws
 * ApiError for an HTTP error (503: too many streams, no pipeline).
 */
export async function readMjpeg(
  camera: string,
  fps: number,
  signal: AbortSignal,
  onPart: (part: MjpegPart) => boolean | void,
  boxes = false,
): Promise<void> {
  const res = await request<Response>('GET', liveUrl(camera, fps, boxes), {
    raw: true,
    signal,
    headers: { Accept: 'multipart/x-mixed-replace, image/jpeg' },
  });
  if (!res.body) throw new ApiError(0, 'the browser cannot read the live stream');
  const parser = new MjpegParser(boundaryOf(res.headers.get('Content-Type')));
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      for (const part of parser.push(value)) if (onPart(part) === false) return;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * One current frame of a camera as a blob: URL (the caller revokes it); with
 * `boxes` the server draws the zones, lines and newest boxes into it.
 */
export async function grabFrame(camera: string, timeoutMs = 8000, boxes = false): Promise<string> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  let url = '';
  try {
    await readMjpeg(camera, 1, ctl.signal, (part) => {
      url = URL.createObjectURL(new Blob([part.jpeg], { type: 'image/jpeg' }));
      return false;
    }, boxes);
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw new ApiError(0, `no frame from camera ${camera} within ${timeoutMs / 1000} s`);
    throw e;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  if (!url) throw new ApiError(0, `the live stream of camera ${camera} ended without a frame`);
  return url;
}

export interface StreamHandlers {
  detection?: (m: DetectionMsg) => void;
  event?: (m: StreamMsg) => void;
  status?: (m: StreamMsg) => void;
  /** true when the stream is open, false while it is down (with why) */
  state?: (open: boolean, why?: string) => void;
}

/**
 * One EventSource on /api/v1/stream for the whole page (every tile shares it:
 * browsers allow 6 HTTP/1.1 connections per host). EventSource reconnects by
 * itself after a dropped connection; after a refused one (503: too many live
 * streams) it gives up, so this opens a new one 5 s later. Returns close().
 */
export function openStream(query: Query, h: StreamHandlers): () => void {
  let es: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const parse = <T>(ev: MessageEvent, fn?: (m: T) => void) => {
    if (!fn) return;
    try {
      fn(JSON.parse(ev.data) as T);
    } catch {
      /* a message we cannot read: skip it */
    }
  };
  const open = () => {
    if (closed) return;
    es = new EventSource(withQuery('/api/v1/stream', query));
    es.onopen = () => h.state?.(true);
    es.onerror = () => {
      if (!es || closed) return;
      if (es.readyState === EventSource.CLOSED) {
        h.state?.(false, 'the live stream was refused; trying again in 5 s');
        es = null;
        timer = setTimeout(open, 5000);
      } else {
        h.state?.(false, 'the live stream dropped; reconnecting');
      }
    };
    es.addEventListener('detection', (ev) => parse<DetectionMsg>(ev as MessageEvent, h.detection));
    es.addEventListener('event', (ev) => parse<StreamMsg>(ev as MessageEvent, h.event));
    es.addEventListener('status', (ev) => parse<StreamMsg>(ev as MessageEvent, h.status));
  };
  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    es?.close();
    es = null;
  };
}

/** Loads a camera's rule set with its ETag (the version an editor must send back). */
export async function loadRules(camera: string, signal?: AbortSignal): Promise<{ rules: Rules; etag: string }> {
  const res = await request<Response>('GET', `/api/v1/cameras/${encodeURIComponent(camera)}/rules`, { raw: true, signal });
  const body = (await res.json()) as Partial<Rules>;
  return { rules: { zones: body.zones ?? [], lines: body.lines ?? [] }, etag: res.headers.get('ETag') ?? '' };
}

/** The status a camera shows: the API's word, with offline-ish ones grouped for colour. */
export function statusTone(status: string): 'ok' | 'warn' | 'bad' | 'idle' {
  if (status === 'online') return 'ok';
  if (status === 'starting' || status === 'retrying' || status === 'degraded') return 'warn';
  if (status === 'stopped' || status === 'ended') return 'idle';
  return 'bad';
}
