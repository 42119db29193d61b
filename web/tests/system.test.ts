import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import System from '../src/pages/System.svelte';
import { session, type Role } from '../src/lib/session.svelte';
import { setParams } from '../src/lib/router.svelte';
import { fmtBytes, fmtMs, meanSeconds, orderStages, parseProm, rate, stageMetrics } from '../src/components/system/prom';

const METRICS = `# HELP vigil_stage_queue_depth Messages waiting.
# TYPE vigil_stage_queue_depth gauge
vigil_stage_queue_depth{stage="infer"} 2
vigil_stage_queue_depth{stage="infer",camera="street"} 3
vigil_stage_processing_seconds_sum{stage="infer",camera="street"} 0.5
vigil_stage_processing_seconds_count{stage="infer",camera="street"} 10
vigil_stage_processing_seconds_sum{stage="infer",camera="gate"} 0.5
vigil_stage_processing_seconds_count{stage="infer",camera="gate"} 10
vigil_http_requests_total{route="a \\"quoted\\" one"} 7
`;

describe('prom', () => {
  it('parses samples with labels, escapes and comments', () => {
    const s = parseProm(METRICS);
    expect(s).toHaveLength(7);
    expect(s[0]).toEqual({ name: 'vigil_stage_queue_depth', labels: { stage: 'infer' }, value: 2 });
    expect(s[6].labels.route).toBe('a "quoted" one');
  });
  it('sums per stage and gives mean times over an interval or the whole life', () => {
    const m = stageMetrics(parseProm(METRICS));
    expect(m.queue.infer).toBe(5);
    expect(m.hasLag).toBe(false);
    expect(meanSeconds(m, null, 'infer')).toBeCloseTo(0.05);
    const later = { ...m, procSum: { infer: 1.3 }, procCount: { infer: 24 } };
    expect(meanSeconds(later, m, 'infer')).toBeCloseTo(0.075);
    expect(meanSeconds(m, null, 'sink')).toBeNull();
  });
  it('rates, formats and orders', () => {
    expect(rate(30, 10, 4)).toBe(5);
    expect(rate(5, 10, 4)).toBeNull();
    expect(rate(5, undefined, 4)).toBeNull();
    expect(fmtBytes(1536)).toBe('1.5 KB');
    expect(fmtBytes(10)).toBe('10 B');
    expect(fmtMs(0.0123)).toBe('12 ms');
    expect(orderStages(['sink', 'zeta', 'ingest', 'infer'])).toEqual(['ingest', 'infer', 'sink', 'zeta']);
  });
});

function signIn(role: Role) {
  session.me = { user: role, role, auth: 'session', can_write: true };
  session.state = 'signed-in';
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('System page', () => {
  it("tells a viewer the Users panel is for admins, and offers no admin tabs", async () => {
    signIn('viewer');
    vi.stubGlobal('fetch', vi.fn(async () => new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } })));
    setParams({ panel: 'users' });
    render(System);
    const note = await screen.findByTestId('admin-only');
    expect(note.textContent).toContain('for admins');
    expect(screen.queryByTestId('panel-users')).toBeNull();
    expect(screen.queryByTestId('panel-audit')).toBeNull();
    expect(screen.getByTestId('panel-tokens')).toBeTruthy();
  });

  it('shows an admin the users the API lists', async () => {
    signIn('admin');
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        new Response(JSON.stringify({ items: [{ id: 1, name: 'ann', role: 'admin', created: null, locked_until: null }] }), {
          status: 200,
          headers: { 'Content-Type': 'application/json' },
        }),
      ),
    );
    setParams({ panel: 'users' });
    render(System);
    const row = await screen.findByTestId('user-row');
    expect(row.dataset.name).toBe('ann');
    expect(screen.getByTestId('panel-audit')).toBeTruthy();
  });
});
