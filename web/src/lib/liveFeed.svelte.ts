// One camera's live picture for a tile: reads live.mjpeg with fetch(), shows
// each part as a blob: URL, counts frames and measures the rate, and
// reconnects with a growing pause after an error. stop() aborts the fetch,
// which closes its connection.
import { errorText } from './api';
import { readMjpeg } from './live';

const KEEP_URLS = 3; // the shown frame, the one decoding, one spare

export class LiveFeed {
  url = $state('');
  frames = $state(0);
  /** frames per second over the last few seconds */
  rate = $state(0);
  sequence = $state(0);
  error = $state('');
  state = $state<'connecting' | 'playing' | 'error' | 'stopped'>('stopped');

  private ctl: AbortController | null = null;
  private urls: string[] = [];
  private times: number[] = [];
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly camera: string;
  private readonly fps: number;

  constructor(camera: string, fps: number) {
    this.camera = camera;
    this.fps = fps;
  }

  start(): void {
    if (this.ctl) return;
    const ctl = new AbortController();
    this.ctl = ctl;
    this.state = 'connecting';
    this.run(ctl, 0);
  }

  private async run(ctl: AbortController, failures: number): Promise<void> {
    try {
      await readMjpeg(this.camera, this.fps, ctl.signal, (part) => {
        this.show(URL.createObjectURL(new Blob([part.jpeg], { type: 'image/jpeg' })));
        if (part.sequence !== undefined) this.sequence = part.sequence;
        failures = 0;
      });
      if (ctl.signal.aborted) return;
      this.error = 'the live stream ended; reconnecting';
    } catch (e) {
      if (ctl.signal.aborted) return;
      this.error = errorText(e);
      failures++;
    }
    this.state = 'error';
    const wait = Math.min(15000, 1000 * 2 ** Math.min(failures, 4));
    this.retry = setTimeout(() => {
      if (this.ctl === ctl && !ctl.signal.aborted) {
        this.state = 'connecting';
        this.run(ctl, failures);
      }
    }, wait);
  }

  private show(url: string): void {
    this.urls.push(url);
    while (this.urls.length > KEEP_URLS) URL.revokeObjectURL(this.urls.shift()!);
    this.url = url;
    this.frames++;
    this.state = 'playing';
    this.error = '';
    const now = performance.now();
    this.times.push(now);
    while (this.times.length > 2 && now - this.times[0] > 3000) this.times.shift();
    const span = (now - this.times[0]) / 1000;
    this.rate = this.times.length > 1 && span > 0 ? (this.times.length - 1) / span : 0;
  }

  stop(): void {
    clearTimeout(this.retry);
    this.ctl?.abort();
    this.ctl = null;
    this.state = 'stopped';
    this.rate = 0;
    this.times = [];
  }

  /** stop() and free the frames (the tile is gone). */
  dispose(): void {
    this.stop();
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
    this.url = '';
  }
}
