// Live page: the grid shows the sample camera playing (frames counted by the
// page from live.mjpeg), with boxes drawn from the SSE detections within a few
// seconds, the camera's status and fps, and its zones and lines over it;
// opening the camera shows it full size with its latest events; leaving the
// page closes its streams (no leaked connections: the server's live-stream
// gauge falls back).
export const name = 'live';

async function liveStreams(t) {
  const r = await t.api('GET', '/metrics');
  let n = 0;
  for (const line of String(r.body).split('\n')) {
    const m = /^vigil_live_streams\{[^}]*\}\s+([0-9.e+]+)/.exec(line);
    if (m) n += Number(m[1]);
  }
  return n;
}

export async function run(t) {
  const page = t.page;
  const before = await liveStreams(t);

  t.step('the grid shows the sample camera playing');
  await page.goto(`${t.base}/#/live`);
  const tile = page.locator(`[data-testid=live-tile][data-camera="${t.camera}"]`);
  await tile.waitFor({ timeout: 10000 });
  const frame = tile.getByTestId('live-frame');
  await t.waitFor(async () => Number(await frame.getAttribute('data-frames')) >= 3, 'three live frames', 15);

  t.step('boxes from the detections are drawn over it');
  await t.waitFor(async () => (await tile.getByTestId('live-box').count()) > 0, 'a detection box on the tile', 20);
  const label = await tile.getByTestId('live-box').first().getAttribute('data-label');
  t.check(label, 'a box carries its label');

  t.step('status, fps, zones and lines');
  const status = (await tile.getByTestId('live-status').textContent())?.trim();
  t.check(status === 'online', `status shows "online", not "${status}"`);
  const fps = (await tile.getByTestId('live-fps').textContent()) ?? '';
  t.check(/fps/.test(fps), `fps shown: "${fps}"`);
  await t.waitFor(async () => /showing \d/.test((await tile.getByTestId('live-fps').textContent()) ?? ''), 'the measured frame rate', 10);
  const rules = await t.api('GET', `/api/v1/cameras/${t.camera}/rules`);
  for (const z of rules.body.zones) {
    t.check(await tile.locator(`[data-testid=live-zone][data-id="${z.id}"]`).count() === 1, `zone ${z.id} drawn`);
  }
  for (const l of rules.body.lines) {
    t.check(await tile.locator(`[data-testid=live-line][data-id="${l.id}"]`).count() === 1, `line ${l.id} drawn`);
  }
  await t.shoot(page, 'live-grid', { themes: true });

  t.step('open the camera full size: its latest events beside it');
  await tile.getByTestId('live-open').click();
  await page.waitForFunction((cam) => location.hash === `#/live?camera=${cam}`, t.camera);
  const events = page.getByTestId('live-events');
  await events.waitFor({ timeout: 10000 });
  const full = page.locator(`[data-testid=live-tile][data-camera="${t.camera}"]`);
  await t.waitFor(async () => Number(await full.getByTestId('live-frame').getAttribute('data-frames')) >= 2, 'frames full size', 15);
  const api = await t.api('GET', `/api/v1/events?camera=${t.camera}&limit=20`);
  if (api.body.items.length) {
    await t.waitFor(async () => (await events.getByTestId('live-event').count()) > 0, 'event rows beside the camera', 10);
  }
  await t.shoot(page, 'live-camera');

  t.step('a viewer sees the live view too');
  const viewer = await t.newPage('viewer');
  await viewer.goto(`${t.base}/#/live`);
  const vtile = viewer.locator(`[data-testid=live-tile][data-camera="${t.camera}"]`);
  await t.waitFor(async () => Number(await vtile.getByTestId('live-frame').getAttribute('data-frames')) >= 2, 'frames for the viewer', 15);
  await viewer.goto(`${t.base}/#/account`);

  t.step('leaving the page closes its streams');
  await page.goto(`${t.base}/#/account`);
  await t.waitFor(async () => (await liveStreams(t)) <= before, `vigil_live_streams back to ${before}`, 20);
}
