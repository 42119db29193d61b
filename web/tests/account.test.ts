import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import Account from '../src/pages/Account.svelte';
import SignIn from '../src/components/SignIn.svelte';
import { session, type Role } from '../src/lib/session.svelte';
import { cleanFilters, describeFilters, emptyFilters, endpointOrigin, resetPushOnServer, subscribe, unsubscribe } from '../src/lib/push';
import { bytesToB64u } from '../src/lib/webauthn';
import { filterChoices, keepOffered } from '../src/components/account/choices';
import { browserOf } from '../src/components/account/ua';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function signIn(role: Role, auth: 'session' | 'token' | 'disabled' = 'session') {
  session.me = { user: 'alice', role, auth, can_write: true, csrf_token: 'csrf' };
  session.state = 'signed-in';
}

type Handler = (method: string, body: unknown) => Response | Promise<Response>;

/** A fake API: path (no query) -> handler; records every call. */
function fakeApi(routes: Record<string, Handler>) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  const fetchMock = vi.fn(async (url: string, init: RequestInit = {}) => {
    const path = url.split('?')[0];
    const method = init.method ?? 'GET';
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, path, body });
    const h = routes[`${method} ${path}`] ?? routes[path];
    if (!h) return json(404, { error: `no route ${method} ${path}` });
    return h(method, body);
  });
  vi.stubGlobal('fetch', fetchMock);
  return calls;
}

const SESSIONS = {
  items: [
    { id: 1, user: 'alice', created: '2026-12-01T10:00:00Z', last_seen: null, expires: null, client_ip: '127.0.0.1', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', current: true },
    { id: 2, user: 'alice', created: null, last_seen: null, expires: null, client_ip: '10.0.0.9', user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1', current: false },
    { id: 3, user: 'alice', created: null, last_seen: null, expires: null, client_ip: '10.0.0.8', user_agent: '', current: false },
  ],
};

function baseRoutes(extra: Record<string, Handler> = {}): Record<string, Handler> {
  return {
    '/api/v1/auth/passkeys': () => json(200, { items: [{ id: 5, name: 'laptop', created: null, last_used: null, sign_count: 2 }] }),
    '/api/v1/auth/sessions': () => json(200, SESSIONS),
    '/api/v1/tokens': () => json(200, { items: [] }),
    '/api/v1/openapi.json': () => json(200, { paths: { '/api/v1/auth/me': {} } }),
    ...extra,
  };
}

beforeEach(() => {
  resetPushOnServer();
  localStorage.clear();
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('push helpers', () => {
  it('cleans and describes filters', () => {
    const f = { ...emptyFilters(), cameras: ['street', ' street ', ''], kinds: ['line_cross'] };
    expect(cleanFilters(f)).toEqual({ cameras: ['street'], zones: [], lines: [], labels: [], kinds: ['line_cross'] });
    expect(describeFilters(cleanFilters(f))).toBe('cameras street · kinds line_cross');
    expect(describeFilters({})).toBe('every event');
    expect(describeFilters(undefined)).toBe('every event');
    expect(endpointOrigin('https://push.example.com/send/abc')).toBe('https://push.example.com');
    expect(endpointOrigin('not a url')).toBe('');
  });
  it("offers the chosen cameras' zones and lines, and labels from rules and what was seen", () => {
    const rules = {
      street: { zones: [{ id: 'walkway', labels: ['person'] }], lines: [{ id: 'gate', labels: ['forklift'] }] },
      yard: { zones: [{ id: 'dock' }, { id: 'walkway' }], lines: [] },
    };
    const all = filterChoices(['yard', 'street'], rules, ['heron']);
    expect(all.cameras).toEqual(['street', 'yard']);
    expect(all.zones).toEqual(['dock', 'walkway']);
    expect(all.lines).toEqual(['gate']);
    expect(all.labels).toContain('forklift');
    expect(all.labels).toContain('heron');
    expect(all.labels).toContain('person');
    expect(all.kinds).toEqual(['zone_enter', 'zone_leave', 'loiter', 'line_cross']);
    const yard = filterChoices(['yard', 'street'], rules, [], ['yard']);
    expect(yard.zones).toEqual(['dock', 'walkway']);
    expect(yard.lines).toEqual([]);
    expect(yard.labels).toContain('forklift'); // labels stay: they are not per camera
    expect(keepOffered(['gate', 'dock'], yard.lines)).toEqual([]);
    expect(filterChoices(['x'], { x: undefined }, []).zones).toEqual([]);
  });
  it('names browsers from user agents', () => {
    expect(browserOf(SESSIONS.items[0].user_agent)).toBe('Headless Chrome 131 on Linux');
    expect(browserOf(SESSIONS.items[1].user_agent)).toBe('Safari 17 on iOS');
    expect(browserOf('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0')).toBe('Edge 120 on Windows');
    expect(browserOf('Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0')).toBe('Firefox 121 on Android');
    expect(browserOf('curl/8.5.0')).toBe('curl/8.5.0');
    expect(browserOf('')).toBe('unknown client');
  });
});

describe('push subscribe', () => {
  function browserPush(existing: unknown = null) {
    const sub = {
      endpoint: 'https://push.example/send/1',
      options: { applicationServerKey: null as ArrayBuffer | null },
      toJSON: () => ({ endpoint: 'https://push.example/send/1', keys: { p256dh: 'BPUB', auth: 'AUTH' } }),
      getKey: () => null,
      unsubscribe: vi.fn(async () => true),
    };
    const pushManager = {
      getSubscription: vi.fn(async () => existing),
      subscribe: vi.fn(async (o: { applicationServerKey: Uint8Array }) => {
        sub.options.applicationServerKey = o.applicationServerKey.buffer as ArrayBuffer;
        return sub;
      }),
    };
    const reg = { pushManager };
    vi.stubGlobal('PushManager', function PushManager() {});
    const requestPermission = vi.fn(async () => 'granted');
    vi.stubGlobal('Notification', { permission: 'default', requestPermission });
    Object.defineProperty(navigator, 'serviceWorker', {
      value: { getRegistration: async () => reg, register: async () => reg, ready: Promise.resolve(reg) },
      configurable: true,
    });
    return { sub, pushManager, requestPermission };
  }

  afterEach(() => {
    delete (navigator as unknown as Record<string, unknown>).serviceWorker;
  });

  it("asks permission, subscribes with the server's key and posts the endpoint, keys and filters", async () => {
    const key = bytesToB64u(new Uint8Array(65).fill(4));
    const calls = fakeApi({
      '/api/v1/push/vapid': () => json(200, { public_key: key }),
      'POST /api/v1/push/subscriptions': (_m, body) => json(201, { id: 4, endpoint_origin: 'https://push.example', filters: (body as { filters: unknown }).filters }),
    });
    const { pushManager, requestPermission } = browserPush();
    const rec = await subscribe({ ...emptyFilters(), cameras: ['street'], kinds: ['line_cross', 'line_cross'] });
    expect(rec.id).toBe(4);
    expect(requestPermission).toHaveBeenCalledBefore(pushManager.subscribe);
    const opts = pushManager.subscribe.mock.calls[0][0] as unknown as { userVisibleOnly: boolean; applicationServerKey: Uint8Array };
    expect(opts.userVisibleOnly).toBe(true);
    expect(opts.applicationServerKey.byteLength).toBe(65);
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      endpoint: 'https://push.example/send/1',
      keys: { p256dh: 'BPUB', auth: 'AUTH' },
      filters: { cameras: ['street'], zones: [], lines: [], labels: [], kinds: ['line_cross'] },
    });
  });

  it('stops when notifications are refused, before asking the server', async () => {
    const calls = fakeApi({});
    const { requestPermission, pushManager } = browserPush();
    requestPermission.mockResolvedValue('denied');
    await expect(subscribe(emptyFilters())).rejects.toThrow(/blocked/);
    expect(calls).toHaveLength(0);
    expect(pushManager.subscribe).not.toHaveBeenCalled();
  });

  it("unsubscribing this device ends the browser's subscription too; another's does not", async () => {
    fakeApi({ 'DELETE /api/v1/push/subscriptions/4': () => json(200, { id: 4, deleted: true }), 'DELETE /api/v1/push/subscriptions/5': () => json(200, { id: 5, deleted: true }) });
    const existing = { unsubscribe: vi.fn(async () => true) };
    browserPush(existing);
    await unsubscribe(5, false);
    expect(existing.unsubscribe).not.toHaveBeenCalled();
    await unsubscribe(4, true);
    expect(existing.unsubscribe).toHaveBeenCalledTimes(1);
  });
});

describe('Account page', () => {
  it('shows who I am, my passkeys and sessions; push absent without its routes', async () => {
    signIn('operator');
    const calls = fakeApi(baseRoutes());
    render(Account);
    expect(screen.getByTestId('account-user').textContent).toBe('alice');
    expect(screen.getByTestId('account-role').textContent).toBe('operator');
    await screen.findByText('laptop');
    expect(await screen.findByTestId('alerts-absent')).toBeTruthy();
    const rows = await screen.findAllByTestId('session-row');
    expect(rows).toHaveLength(3);
    expect(rows[0].textContent).toContain('this browser');
    expect(rows[1].textContent).toContain('Safari 17 on iOS');
    // the current session has no End button; the others do
    expect(screen.getAllByTestId('session-end')).toHaveLength(2);
    // no push route was asked (a 404 would show in the browser console)
    expect(calls.some((c) => c.path.startsWith('/api/v1/push'))).toBe(false);
  });

  it('changes the password, refusing two different new ones first', async () => {
    signIn('viewer');
    const calls = fakeApi(
      baseRoutes({
        'POST /api/v1/auth/password': () => json(200, { user: 'alice', role: 'viewer', auth: 'session', csrf_token: 'new' }),
      }),
    );
    render(Account);
    await fireEvent.input(screen.getByTestId('password-current'), { target: { value: 'old-password' } });
    await fireEvent.input(screen.getByTestId('password-new'), { target: { value: 'new-password-1' } });
    await fireEvent.input(screen.getByTestId('password-again'), { target: { value: 'new-password-2' } });
    await fireEvent.submit(screen.getByTestId('password-form'));
    expect((await screen.findByRole('alert')).textContent).toContain('differ');
    expect(calls.some((c) => c.path === '/api/v1/auth/password')).toBe(false);
    await fireEvent.input(screen.getByTestId('password-again'), { target: { value: 'new-password-1' } });
    await fireEvent.submit(screen.getByTestId('password-form'));
    await screen.findByTestId('password-done');
    expect(calls.find((c) => c.path === '/api/v1/auth/password')?.body).toEqual({ current: 'old-password', new: 'new-password-1' });
    expect(session.me?.csrf_token).toBe('new');
  });

  it("shows the server's refusal of a password change", async () => {
    signIn('viewer');
    fakeApi(baseRoutes({ 'POST /api/v1/auth/password': () => json(403, { error: 'the current password is wrong' }) }));
    render(Account);
    await fireEvent.input(screen.getByTestId('password-current'), { target: { value: 'wrong-one' } });
    await fireEvent.input(screen.getByTestId('password-new'), { target: { value: 'new-password-1' } });
    await fireEvent.input(screen.getByTestId('password-again'), { target: { value: 'new-password-1' } });
    await fireEvent.submit(screen.getByTestId('password-form'));
    expect((await screen.findByRole('alert')).textContent).toContain('the current password is wrong (HTTP 403)');
  });

  it('ends every other session after a confirmation', async () => {
    signIn('viewer');
    const calls = fakeApi(baseRoutes({ 'DELETE /api/v1/auth/sessions/2': () => json(200, { id: 2, revoked: true }), 'DELETE /api/v1/auth/sessions/3': () => json(200, { id: 3, revoked: true }) }));
    render(Account);
    await fireEvent.click(await screen.findByTestId('sessions-end-others'));
    await fireEvent.click(screen.getByTestId('sessions-confirm-end-others'));
    await waitFor(() => expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/v1/auth/sessions/2', '/api/v1/auth/sessions/3']));
  });

  it('removes a passkey after a confirmation, and shows a list error with a retry', async () => {
    signIn('viewer');
    let gone = false;
    const calls = fakeApi(
      baseRoutes({
        '/api/v1/auth/passkeys': () =>
          gone ? json(200, { items: [] }) : json(200, { items: [{ id: 5, name: 'laptop', created: null, last_used: null, sign_count: 2 }] }),
        'DELETE /api/v1/auth/passkeys/5': () => {
          gone = true;
          return json(200, { id: 5, removed: true });
        },
      }),
    );
    render(Account);
    await fireEvent.click(await screen.findByTestId('passkey-remove'));
    await fireEvent.click(screen.getByTestId('passkey-confirm-remove'));
    await screen.findByTestId('passkeys-none');
    expect(calls.some((c) => c.method === 'DELETE' && c.path === '/api/v1/auth/passkeys/5')).toBe(true);
  });

  it('says when passkeys cannot be listed', async () => {
    signIn('viewer');
    fakeApi(baseRoutes({ '/api/v1/auth/passkeys': () => json(500, { error: 'store is down' }) }));
    render(Account);
    const box = await screen.findByText('store is down (HTTP 500)');
    expect(box.closest('[role=alert]')?.querySelector('button')?.textContent).toBe('Try again');
  });

  it('lists push subscriptions with filters when the server has push, and removes one', async () => {
    signIn('viewer');
    let items = [{ id: 9, endpoint_origin: 'https://push.example', filters: { cameras: ['street'], kinds: ['line_cross'] }, created: null }];
    const calls = fakeApi(
      baseRoutes({
        '/api/v1/openapi.json': () => json(200, { paths: { '/api/v1/push/subscriptions': {} } }),
        '/api/v1/push/subscriptions': () => json(200, { items }),
        '/api/v1/cameras': () => json(200, { items: [{ id: 'street' }], next_cursor: null }),
        '/api/v1/cameras/street/rules': () => json(200, { zones: [{ id: 'walkway' }], lines: [{ id: 'crossing' }] }),
        '/api/v1/search': () => json(200, { items: [], next_cursor: null, facets: { labels: { person: 3 } } }),
        'DELETE /api/v1/push/subscriptions/9': () => {
          items = [];
          return json(200, { id: 9, removed: true });
        },
      }),
    );
    render(Account);
    const row = await screen.findByTestId('push-row');
    expect(row.textContent).toContain('https://push.example');
    expect(row.textContent).toContain('cameras street · kinds line_cross');
    // jsdom has no PushManager: subscribing is explained, not offered
    expect(screen.getByTestId('alerts-unsupported').textContent).toMatch(/^This browser cannot take alerts: \w/);
    expect(screen.getByTestId('push-test')).toBeTruthy();
    await fireEvent.click(screen.getByTestId('push-remove'));
    await fireEvent.click(screen.getByTestId('push-confirm-remove'));
    await screen.findByTestId('push-none');
    expect(calls.some((c) => c.method === 'DELETE' && c.path === '/api/v1/push/subscriptions/9')).toBe(true);
  });

  it('with a token: no password form, no passkey registration', async () => {
    signIn('admin', 'token');
    fakeApi(baseRoutes());
    render(Account);
    expect(screen.getByTestId('password-needs-session')).toBeTruthy();
    expect(screen.queryByTestId('passkey-add')).toBeNull();
  });

  it('with sign-in off: says so instead of account panels', async () => {
    signIn('admin', 'disabled');
    fakeApi(baseRoutes());
    render(Account);
    expect(screen.getByTestId('account-auth-off')).toBeTruthy();
    expect(screen.queryByTestId('passkeys')).toBeNull();
  });
});

describe('sign-in form', () => {
  it('offers a passkey only where the browser has WebAuthn, and keeps one submit button', async () => {
    fakeApi({});
    render(SignIn);
    expect(screen.queryByTestId('passkey-sign-in')).toBeNull();
    cleanup();
    vi.stubGlobal('PublicKeyCredential', {});
    vi.stubGlobal('isSecureContext', true);
    Object.defineProperty(navigator, 'credentials', { value: { create: () => null, get: () => null }, configurable: true });
    const { container } = render(SignIn);
    const button = screen.getByTestId('passkey-sign-in');
    expect(button.getAttribute('type')).toBe('button');
    expect(container.querySelectorAll('button[type=submit]')).toHaveLength(1);
    delete (navigator as unknown as Record<string, unknown>).credentials;
  });
});
