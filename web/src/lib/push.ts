// Web push alerts on this device: the browser's PushManager subscription
// (through the service worker) and vigil's /api/v1/push routes, which keep
// the subscription with its filters and send alerts to it (RFC 8291/8292).
//
// Main idea: the browser holds one push subscription per service worker; the
// server may hold it with one set of filters. Subscribing asks the browser for
// it (with the server's VAPID key as applicationServerKey) and hands the
// endpoint and keys to the server; unsubscribing removes the server's record
// and, when it was this device's, the browser's subscription too.
import { api, ApiError } from './api';
import { b64uToBytes, bytesToB64u } from './webauthn';

export const KINDS = ['zone_enter', 'zone_leave', 'loiter', 'line_cross'] as const;

export interface PushFilters {
  cameras: string[];
  zones: string[];
  lines: string[];
  labels: string[];
  kinds: string[];
}

export interface PushSubscriptionRecord {
  id: number;
  endpoint_origin: string;
  filters: Partial<PushFilters>;
  created?: string | null;
  created_us?: number;
}

/** The server has no push routes (404): it does not send alerts. */
export class PushUnavailable extends Error {
  constructor() {
    super('this server does not send alerts');
  }
}

export function emptyFilters(): PushFilters {
  return { cameras: [], zones: [], lines: [], labels: [], kinds: [] };
}

/** Why this browser cannot take push alerts, or '' when it can. */
export function pushUnsupportedReason(): string {
  if (typeof window === 'undefined') return 'no browser';
  if (window.isSecureContext === false) return 'push alerts need a secure (https or localhost) address';
  if (!('serviceWorker' in navigator)) return 'this browser has no service workers';
  if (typeof window.PushManager === 'undefined') return 'this browser cannot receive push messages';
  if (typeof window.Notification === 'undefined') return 'this browser cannot show notifications';
  return '';
}

function unavailableOn404<T>(p: Promise<T>): Promise<T> {
  return p.catch((e) => {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501)) throw new PushUnavailable();
    throw e;
  });
}

let routes: Promise<boolean> | null = null;

/** Whether the server has the push routes, from its own OpenAPI document (public,
 * revalidated by ETag): asking a route that is not there would put a 404 in the
 * browser's console. Remembered for the page's life. */
export function pushOnServer(): Promise<boolean> {
  routes ??= api
    .get<{ paths?: Record<string, unknown> }>('/api/v1/openapi.json')
    .then((doc) => Boolean(doc.paths?.['/api/v1/push/subscriptions']))
    .catch((e) => {
      routes = null; // ask again next time
      throw e;
    });
  return routes;
}

/** For tests: forget what pushOnServer() learnt. */
export function resetPushOnServer(): void {
  routes = null;
}

export async function vapidKey(): Promise<string> {
  const r = await unavailableOn404(api.get<{ public_key: string }>('/api/v1/push/vapid'));
  return r.public_key;
}

export async function listSubscriptions(): Promise<PushSubscriptionRecord[]> {
  return (await unavailableOn404(api.get<{ items: PushSubscriptionRecord[] }>('/api/v1/push/subscriptions'))).items;
}

/** Filters without empty lists are what the server stores; an empty list means "any". */
export function cleanFilters(f: PushFilters): PushFilters {
  const uniq = (a: string[]) => [...new Set(a.map((s) => s.trim()).filter(Boolean))];
  return {
    cameras: uniq(f.cameras),
    zones: uniq(f.zones),
    lines: uniq(f.lines),
    labels: uniq(f.labels),
    kinds: uniq(f.kinds),
  };
}

/** "camera street · kind line_cross" or "everything". */
export function describeFilters(f: Partial<PushFilters> | undefined): string {
  const parts: string[] = [];
  const add = (name: string, v: string[] | undefined) => {
    if (v && v.length) parts.push(`${name} ${v.join(', ')}`);
  };
  add('cameras', f?.cameras);
  add('zones', f?.zones);
  add('lines', f?.lines);
  add('labels', f?.labels);
  add('kinds', f?.kinds);
  return parts.length ? parts.join(' · ') : 'every event';
}

async function registration(): Promise<ServiceWorkerRegistration> {
  const reg = await navigator.serviceWorker.getRegistration();
  if (reg) return reg;
  // not registered yet (a development build registers none): register it now
  await navigator.serviceWorker.register('/sw.js');
  return navigator.serviceWorker.ready;
}

/** This browser's current push subscription, if any. */
export async function browserSubscription(): Promise<PushSubscription | null> {
  if (pushUnsupportedReason()) return null;
  const reg = await navigator.serviceWorker.getRegistration();
  return reg ? reg.pushManager.getSubscription() : null;
}

/** The origin of an endpoint, as the server lists it (to tell this device's record). */
export function endpointOrigin(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return '';
  }
}

function keyOf(sub: PushSubscription, name: 'p256dh' | 'auth'): string {
  const json = sub.toJSON?.();
  const fromJson = json?.keys?.[name];
  if (fromJson) return fromJson;
  const raw = sub.getKey(name);
  if (!raw) throw new Error(`the browser's subscription has no ${name} key`);
  return bytesToB64u(raw);
}

/** Asks permission, subscribes this browser and gives the server the subscription with its filters. */
export async function subscribe(filters: PushFilters): Promise<PushSubscriptionRecord> {
  const why = pushUnsupportedReason();
  if (why) throw new Error(why);
  // asked first, while the click that called this still counts as a user gesture (Safari)
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new Error('notifications are blocked for this site: allow them in the browser');
  const key = await vapidKey();
  const reg = await registration();
  let sub = await reg.pushManager.getSubscription();
  const wanted = bytesToB64u(b64uToBytes(key));
  const current = sub?.options?.applicationServerKey;
  if (sub && current && bytesToB64u(current) !== wanted) {
    // made for another server key (the server's VAPID key changed): start over
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64uToBytes(key) });
  return api.post<PushSubscriptionRecord>('/api/v1/push/subscriptions', {
    endpoint: sub.endpoint,
    keys: { p256dh: keyOf(sub, 'p256dh'), auth: keyOf(sub, 'auth') },
    filters: cleanFilters(filters),
  });
}

/** Removes the server's record; `thisDevice` also drops the browser's subscription. */
export async function unsubscribe(id: number, thisDevice: boolean): Promise<void> {
  await api.del(`/api/v1/push/subscriptions/${id}`);
  if (thisDevice) {
    const sub = await browserSubscription().catch(() => null);
    await sub?.unsubscribe().catch(() => false);
  }
}

export async function sendTest(): Promise<unknown> {
  return api.post('/api/v1/push/test');
}
