// PWA: the manifest is served as application/manifest+json and is what an
// install needs (name, short_name, start_url, display standalone, colours,
// an SVG icon and 192 and 512 PNGs that are PNGs of those sizes); the service
// worker registers and controls the page, has cached the shell (index.html
// and its hashed assets, lazily loaded page chunks included) and nothing of
// /api/; with the browser offline a reload still shows the shell with the
// offline banner, and back online the app signs in again by itself.
//
// The offline part runs in a context of its own, not the harness's: offline,
// every API request the app makes fails, and Chromium logs each one
// ("net::ERR_INTERNET_DISCONNECTED") as a console error. This area collects
// that context's console errors itself and fails on any other.
export const name = 'pwa';

function pngSize(buf) {
  const sig = '89504e470d0a1a0a';
  if (buf.subarray(0, 8).toString('hex') !== sig || buf.subarray(12, 16).toString('ascii') !== 'IHDR') return null;
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

export async function run(t) {
  t.step('the manifest');
  const res = await fetch(`${t.base}/manifest.webmanifest`);
  t.check(res.status === 200, `GET /manifest.webmanifest: ${res.status}`);
  t.check((res.headers.get('content-type') || '').startsWith('application/manifest+json'),
    `manifest type: ${res.headers.get('content-type')}`);
  const m = await res.json();
  t.check(m.name && m.short_name, 'name and short_name');
  t.check(m.start_url === '/', `start_url /: ${m.start_url}`);
  t.check(m.display === 'standalone', `display standalone: ${m.display}`);
  t.check(/^#[0-9a-f]{6}$/i.test(m.theme_color) && /^#[0-9a-f]{6}$/i.test(m.background_color), 'theme and background colours');
  const icons = m.icons || [];
  t.check(icons.some((i) => i.type === 'image/svg+xml' && i.sizes === 'any'), 'an SVG icon, sizes any');
  for (const size of [192, 512]) {
    const icon = icons.find((i) => i.type === 'image/png' && i.sizes === `${size}x${size}` && (i.purpose || 'any').includes('any'));
    t.check(icon, `a ${size}x${size} PNG icon`);
    const r = await fetch(new URL(icon.src, t.base));
    t.check(r.status === 200 && r.headers.get('content-type') === 'image/png', `${icon.src}: ${r.status} ${r.headers.get('content-type')}`);
    const dims = pngSize(Buffer.from(await r.arrayBuffer()));
    t.check(dims && dims[0] === size && dims[1] === size, `${icon.src} is a ${size}x${size} PNG: ${dims}`);
  }
  for (const icon of icons) {
    const r = await fetch(new URL(icon.src, t.base), { method: 'HEAD' });
    t.check(r.status === 200, `${icon.src} is served: ${r.status}`);
  }

  const context = await t.browser.newContext({ baseURL: t.base, viewport: { width: 1280, height: 800 }, permissions: ['notifications'] });
  const errors = [];
  const offlineNoise = [];
  let offline = false;
  const note = (text) => {
    if (offline && /ERR_INTERNET_DISCONNECTED|Failed to fetch|net::ERR_/.test(text)) offlineNoise.push(text);
    else errors.push(text);
  };
  context.on('console', (msg) => {
    if (msg.type() === 'error') note(`console error: ${msg.text()} (${msg.location()?.url || ''})`);
  });
  context.on('weberror', (e) => errors.push(`page error: ${e.error()}`));
  try {
    const page = await context.newPage();
    await t.signIn(page, 'viewer');

    t.step('the service worker registers and controls the page');
    await t.waitFor(() => page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      return Boolean(reg && reg.active && navigator.serviceWorker.controller);
    }), 'an active service worker controlling the page', 20);
    const sw = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      return { scope: reg.scope, script: reg.active.scriptURL, controller: navigator.serviceWorker.controller.scriptURL };
    });
    t.check(sw.script.endsWith('/sw.js') && sw.controller === sw.script, `controlled by /sw.js: ${JSON.stringify(sw)}`);
    t.check(new URL(sw.scope).pathname === '/', `scope /: ${sw.scope}`);

    t.step('the shell is cached (index.html, its assets, the page chunks), /api/ is not');
    const cached = await t.waitFor(async () => {
      const list = await page.evaluate(async () => {
        const out = [];
        for (const name of await caches.keys()) {
          const c = await caches.open(name);
          for (const r of await c.keys()) out.push(new URL(r.url).pathname);
        }
        return out;
      });
      return list.includes('/') && list.some((p) => /^\/assets\/Account-.*\.js$/.test(p)) ? list : null;
    }, 'the shell and the Account chunk in the cache', 20);
    const html = await (await fetch(`${t.base}/`)).text();
    for (const m of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) {
      t.check(cached.includes(m[1]), `${m[1]} (named by index.html) is cached`);
    }
    t.check(!cached.some((p) => p.startsWith('/api/') || p === '/healthz' || p === '/metrics'), `nothing of the API cached: ${cached.join(' ')}`);

    t.step('a push message shows a notification that opens its event');
    const cdp = await context.newCDPSession(page);
    const registrations = new Promise((resolve) => {
      cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
        const r = e.registrations.find((x) => x.scopeURL === sw.scope && !x.isDeleted);
        if (r) resolve(r.registrationId);
      });
    });
    await cdp.send('ServiceWorker.enable');
    const registrationId = await Promise.race([registrations, new Promise((_, no) => setTimeout(() => no(new Error('no registration from CDP')), 10000))]);
    const alert = { title: 'line_cross: person on street', body: 'middle, in', event_id: 4242, camera: t.camera, url: '/#/review?event=4242' };
    // CDP hands the message to the worker and answers before the worker has
    // run it; in one CI run on a loaded machine a delivery was never shown
    // (why was not found: the same test passed in every other run). The worker is what is
    // under test, not CDP's delivery, so an unshown message is delivered
    // again, at most three times; the tag makes a repeat replace, not add.
    let shown = null;
    for (let attempt = 1; !shown; attempt++) {
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: new URL(t.base).origin, registrationId, data: JSON.stringify(alert) });
      try {
        shown = await t.waitFor(() => page.evaluate(async () => {
          const reg = await navigator.serviceWorker.getRegistration();
          const list = await reg.getNotifications();
          return list.length ? list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })) : null;
        }), `the notification (delivery ${attempt} of 3)`, 10);
        if (attempt > 1) t.step(`shown after delivery ${attempt}`);
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
    t.check(shown.length === 1 && shown[0].title === alert.title && shown[0].body === alert.body, `notification: ${JSON.stringify(shown)}`);
    t.check(shown[0].data.url === alert.url && shown[0].tag === 'vigil-event-4242', `it opens the event: ${JSON.stringify(shown[0])}`);
    await cdp.send('ServiceWorker.disable').catch(() => {});
    await cdp.detach().catch(() => {});
    await page.evaluate(async () => (await (await navigator.serviceWorker.getRegistration()).getNotifications()).forEach((n) => n.close()));

    t.step('offline: a reload shows the shell and the offline banner');
    await page.goto(`${t.base}/#/account`);
    await page.getByTestId('account-user').waitFor({ timeout: 15000 });
    offline = true;
    await context.setOffline(true);
    await page.reload();
    const banner = page.locator('.offline[role=status]');
    await banner.waitFor({ timeout: 15000 });
    t.check(/offline/i.test((await banner.textContent()) ?? ''), 'the banner says offline');
    t.check(await page.evaluate(() => navigator.onLine) === false, 'the page knows it is offline');
    t.check(await page.evaluate(() => document.getElementById('app')?.children.length > 0), 'the app is mounted from the cached shell');
    // the worker's own requests are offline too (so the shell came from its cache,
    // not from a network the worker could still reach): an asset it has not
    // cached fails instead of answering 404
    const probe = await page.evaluate(() => fetch('/assets/not-cached-probe.js').then((r) => `HTTP ${r.status}`, (e) => `failed: ${e.message}`));
    t.check(probe.startsWith('failed'), `an uncached asset offline fails in the worker: ${probe}`);
    await t.shoot(page, 'pwa-offline');

    t.step('back online: the app signs in again by itself');
    await context.setOffline(false);
    offline = false;
    await page.reload();
    await page.getByTestId('who').waitFor({ state: 'attached', timeout: 20000 });
    t.check(await banner.count() === 0, 'no offline banner once online');
    t.step(`offline requests that failed as expected: ${offlineNoise.length}`);
  } finally {
    await context.close().catch(() => {});
  }
  t.check(errors.length === 0, `console errors: ${errors.join(' | ')}`);
}
