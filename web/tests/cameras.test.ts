import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import Cameras from '../src/pages/Cameras.svelte';
import { session, type Role } from '../src/lib/session.svelte';
import {
  canEdit,
  canSwitch,
  createBody,
  describeTest,
  fieldsOf,
  patchBody,
  type Camera,
} from '../src/components/cameras/types';

const street: Camera = {
  id: 'street',
  name: 'Street',
  url: 'rtsp://user:***@cam/1',
  fps: 5,
  enabled: true,
  status: 'online',
  last_error: null,
  updated: null,
  source: 'config',
  retention_days: null,
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function signIn(role: Role) {
  session.me = { user: role, role, auth: 'session', can_write: true };
  session.state = 'signed-in';
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('camera form bodies', () => {
  it('creates with what was typed, leaving empty fields to the server', () => {
    const f = { ...fieldsOf(), id: ' gate ', url: 'rtsp://h/1', fps: 2, retention: null };
    expect(createBody(f)).toEqual({ id: 'gate', url: 'rtsp://h/1', enabled: true, fps: 2 });
    expect(createBody({ ...f, fps: '', retention: '7' })).toEqual({
      id: 'gate',
      url: 'rtsp://h/1',
      enabled: true,
      retention_days: 7,
    });
  });
  it('patches only what changed, never the redacted URL', () => {
    const cam = { ...street, source: 'api' as const };
    expect(patchBody(cam, fieldsOf(cam))).toEqual({});
    expect(patchBody(cam, { ...fieldsOf(cam), fps: 10, retention: 3, enabled: false })).toEqual({
      fps: 10,
      retention_days: 3,
      enabled: false,
    });
    expect(patchBody({ ...cam, retention_days: 3 }, { ...fieldsOf(cam), retention: '' })).toEqual({ retention_days: null });
    expect(patchBody(cam, { ...fieldsOf(cam), url: 'rtsp://new/2' })).toEqual({ url: 'rtsp://new/2' });
  });
  it('says what a connection test found', () => {
    expect(describeTest({ ok: true, codec: 'h264', width: 640, height: 480, fps: 25, live: true })).toBe(
      'Opened: h264 640×480, 25 fps, live source',
    );
    expect(describeTest({ ok: false, error: 'connection refused' })).toBe('Could not open it: connection refused');
  });
});

describe('Cameras page', () => {
  it('shows a viewer the list without any write button', async () => {
    signIn('viewer');
    vi.stubGlobal('fetch', vi.fn(async () => json(200, { items: [street], next_cursor: null })));
    render(Cameras);
    await screen.findByText('Street');
    expect(screen.getByTestId('camera-source').textContent).toContain('***');
    expect(screen.queryByTestId('add-camera')).toBeNull();
    expect(screen.queryByTestId('toggle-camera')).toBeNull();
    expect(screen.queryByTestId('remove-camera')).toBeNull();
  });

  it('lets an operator toggle but not add, edit or remove', async () => {
    signIn('operator');
    vi.stubGlobal('fetch', vi.fn(async () => json(200, { items: [street], next_cursor: null })));
    render(Cameras);
    await screen.findByText('Street');
    expect(screen.getByTestId('toggle-camera')).toBeTruthy();
    expect(screen.queryByTestId('add-camera')).toBeNull();
    expect(screen.queryByTestId('edit-camera')).toBeNull();
    expect(screen.queryByTestId('remove-camera')).toBeNull();
  });

  it('gives a configuration camera Disable but no Edit or Remove, even to an admin', async () => {
    signIn('admin');
    const patches: [string, unknown][] = [];
    let enabled = true;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        if (init?.method === 'PATCH') {
          patches.push([url, JSON.parse(String(init.body))]);
          enabled = false;
          return json(200, { ...street, enabled, status: 'stopped', applied: true });
        }
        return json(200, { items: [{ ...street, enabled, status: enabled ? 'online' : 'stopped' }], next_cursor: null });
      }),
    );
    render(Cameras);
    await screen.findByText('Street');
    expect(screen.queryByTestId('edit-camera')).toBeNull();
    expect(screen.queryByTestId('remove-camera')).toBeNull();
    expect(screen.getByTestId('defined-by-note').textContent).toContain('configuration file');
    const toggle = screen.getByTestId('toggle-camera');
    expect(toggle.textContent).toContain('Disable');
    await fireEvent.click(toggle);
    await waitFor(() => expect(screen.getByTestId('notice').textContent).toContain('disabled'));
    expect(patches).toEqual([['/api/v1/cameras/street', { enabled: false }]]);
    await waitFor(() => expect(screen.getByTestId('toggle-camera').textContent).toContain('Enable'));
    expect(screen.getByTestId('camera').dataset.status).toBe('stopped');
  });

  it('offers Edit and Remove for the API\'s cameras and nothing for an ingest instance\'s', async () => {
    signIn('admin');
    const items = [
      { ...street, id: 'gate', name: 'Gate', source: 'api' },
      { ...street, id: 'yard', name: 'Yard', source: 'external' },
    ];
    vi.stubGlobal('fetch', vi.fn(async () => json(200, { items, next_cursor: null })));
    render(Cameras);
    await screen.findByText('Gate');
    expect(screen.getAllByTestId('toggle-camera')).toHaveLength(1);
    expect(screen.getAllByTestId('edit-camera')).toHaveLength(1);
    expect(screen.getAllByTestId('remove-camera')).toHaveLength(1);
    expect(screen.getByTestId('defined-by-note').textContent).toContain('an ingest instance');
    expect(canSwitch(items[0] as Camera)).toBe(true);
    expect(canSwitch(items[1] as Camera)).toBe(false);
    expect(canEdit(street)).toBe(false);
  });

  it("shows the server's 409 when a switch is refused", async () => {
    signIn('operator');
    const msg = 'camera "street" comes from the configuration file (cameras[]): change it there';
    vi.stubGlobal(
      'fetch',
      vi.fn(async (_url: string, init?: RequestInit) => {
        if (init?.method === 'PATCH') return json(409, { error: msg, parameter: 'id' });
        return json(200, { items: [street], next_cursor: null });
      }),
    );
    render(Cameras);
    await screen.findByText('Street');
    await fireEvent.click(screen.getByTestId('toggle-camera'));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('(HTTP 409)'));
    expect(screen.getByRole('alert').textContent).toContain('comes from the configuration file');
  });

  it('adds a camera after a connection test', async () => {
    signIn('admin');
    const posts: [string, unknown][] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        if (init?.method === 'POST') {
          posts.push([url, JSON.parse(String(init.body))]);
          if (url === '/api/v1/cameras/test')
            return json(200, { ok: true, codec: 'mjpeg', width: 320, height: 240, fps: null, live: true, elapsed_ms: 40 });
          return json(201, { ...street, id: 'gate', source: 'api', applied: true });
        }
        return json(200, { items: [street], next_cursor: null });
      }),
    );
    render(Cameras);
    await fireEvent.click(await screen.findByTestId('add-camera'));
    await fireEvent.input(screen.getByTestId('camera-id'), { target: { value: 'gate' } });
    const url = screen.getAllByTestId('camera-url').find((e) => e.tagName === 'INPUT')!;
    await fireEvent.input(url, { target: { value: 'http://gate/mjpeg' } });
    await fireEvent.click(screen.getByTestId('test-connection'));
    const result = await screen.findByTestId('test-result');
    expect(result.dataset.ok).toBe('true');
    expect(result.textContent).toContain('mjpeg 320×240');
    await fireEvent.click(screen.getByTestId('camera-save'));
    await screen.findByTestId('notice');
    expect(posts).toEqual([
      ['/api/v1/cameras/test', { url: 'http://gate/mjpeg' }],
      ['/api/v1/cameras', { id: 'gate', url: 'http://gate/mjpeg', enabled: true, fps: 5 }],
    ]);
  });
});
