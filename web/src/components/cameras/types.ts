// The API's camera (GET /api/v1/cameras items) and connection test answer.

export interface Camera {
  id: string;
  name: string;
  /** redacted by the API: credentials never reach the page */
  url: string;
  fps: number;
  enabled: boolean;
  status: string;
  last_error: string | null;
  updated: string | null;
  source?: 'api' | 'config' | 'external';
  retention_days?: number | null;
  created?: string | null;
}

export interface CameraTest {
  ok: boolean;
  id?: string;
  url?: string;
  elapsed_ms?: number;
  codec?: string;
  width?: number;
  height?: number;
  fps?: number | null;
  live?: boolean;
  error?: string;
}

export interface CameraFields {
  id: string;
  name: string;
  url: string;
  /** number inputs bind numbers (null when empty); strings from elsewhere */
  fps: string | number | null;
  enabled: boolean;
  retention: string | number | null;
}

/**
 * What the API lets the page do with a camera: its own (`api`) cameras are
 * edited and removed (admin) and switched off and on (operator); a
 * configuration file's are switched off and on only (the rest is the file's,
 * 409); an ingest instance's own (`external`) are not the API's at all.
 */
export function canSwitch(cam: Camera): boolean {
  return cam.source === 'api' || cam.source === 'config';
}

export function canEdit(cam: Camera): boolean {
  return cam.source === 'api';
}

/** A number field's text: '' when empty. */
export function text(v: string | number | null | undefined): string {
  return v === null || v === undefined ? '' : String(v).trim();
}

export const ID_PATTERN = '[A-Za-z0-9_.\\-]{1,63}';

/** A POST /api/v1/cameras body from the form (empty fields left to the server's defaults). */
export function createBody(f: CameraFields): Record<string, unknown> {
  const b: Record<string, unknown> = { id: f.id.trim(), url: f.url.trim(), enabled: f.enabled };
  if (f.name.trim()) b.name = f.name.trim();
  if (text(f.fps) !== '') b.fps = Number(text(f.fps));
  if (text(f.retention) !== '') b.retention_days = Number(text(f.retention));
  return b;
}

/**
 * A PATCH body with what changed: the URL only when a new one was typed (the
 * shown one is redacted), retention '' meaning the default (null).
 */
export function patchBody(cam: Camera, f: CameraFields): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (f.name.trim() && f.name.trim() !== cam.name) b.name = f.name.trim();
  if (f.url.trim() && f.url.trim() !== cam.url) b.url = f.url.trim();
  if (text(f.fps) !== '' && Number(text(f.fps)) !== cam.fps) b.fps = Number(text(f.fps));
  if (f.enabled !== cam.enabled) b.enabled = f.enabled;
  const retention = text(f.retention) === '' ? null : Number(text(f.retention));
  if (retention !== (cam.retention_days ?? null)) b.retention_days = retention;
  return b;
}

export function fieldsOf(cam?: Camera): CameraFields {
  return {
    id: cam?.id ?? '',
    name: cam?.name ?? '',
    url: '',
    fps: cam ? String(cam.fps) : '5',
    enabled: cam?.enabled ?? true,
    retention: cam?.retention_days === null || cam?.retention_days === undefined ? '' : String(cam.retention_days),
  };
}

/** What a connection test found, in words. */
export function describeTest(t: CameraTest): string {
  if (!t.ok) return `Could not open it: ${t.error ?? 'unknown error'}`;
  const parts = [`${t.codec ?? 'video'} ${t.width ?? '?'}×${t.height ?? '?'}`];
  if (t.fps) parts.push(`${Math.round(t.fps * 100) / 100} fps`);
  parts.push(t.live ? 'live source' : 'file (not live)');
  return `Opened: ${parts.join(', ')}`;
}
