// The dashboard's browser-test harness: a headless Chromium signed in to a
// running vigil, and the `t` object every area module (areas/*.mjs) gets.
//
// Main idea: the areas test the dashboard the way a person uses it (the real
// sign-in form, real clicks, the real API behind them); this file owns what
// they share: launching Chromium, signing in per role, collecting console
// errors from every page it made, screenshots at desktop and phone width that
// are checked not to be blank, and the admin API token for setting up and
// checking state. run.mjs runs the areas with it; bench/dashboard.mjs uses it
// for its measurements.
//
// The `t` an area gets (the contract the area modules are written against):
//   t.base            vigil's URL (no trailing slash)
//   t.page            a Playwright Page signed in as admin, 1280x800 (shared
//                     by the areas; its viewport is restored after each one)
//   t.newPage(role, opts)  a fresh context + page signed in as 'viewer' |
//                     'operator' | 'admin' (opts.viewport; closed after the area)
//   t.signedOutPage(opts)  a fresh context + page at t.base, not signed in
//   t.api(method, path, body)  fetch with the admin bearer token ->
//                     {status, body (JSON or text), headers}
//   t.check(cond, message)     throws when cond is falsy
//   t.step(text)      logs a step (stderr)
//   t.shoot(page, name, {themes})  full-page screenshots 1280x800 and 390x844
//                     (both themes when themes is true), each checked not blank;
//                     returns the file paths
//   t.waitFor(fn, what, seconds=10)  polls async fn until truthy; returns it
//   t.camera          'street' (the sample video, looping at real time)
//   t.credentials     {admin: {name, password}, operator: {...}, viewer: {...}}
//   t.sampleVideo     the sample video's path (VIGIL_SAMPLE_VIDEO) or ''
//   t.screenshotDir, t.browser, t.area (the running area's name)
//
// Console errors (console messages of type error and uncaught page errors)
// of every page the harness made are collected, each with the area that was
// running; run.mjs fails that area with them. Nothing is allow-listed: a
// 4xx the dashboard provokes shows in Chromium's console ("Failed to load
// resource"), and a page that asks for what its user may not have is a bug.
//
// Chromium is Debian's /usr/bin/chromium (VIGIL_CHROMIUM overrides) through
// playwright-core from tests/browser/node_modules; as root its sandbox
// cannot start, so it runs without (Playwright's default).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
export const ROLES = ['viewer', 'operator', 'admin'];

export function chromiumPath() {
  return process.env.VIGIL_CHROMIUM || '/usr/bin/chromium';
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Two animation frames: what the last layout change asked for is painted.
async function settle(page, ms = 250) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
    .catch(() => {});
  await sleep(ms);
}

// In a blank page: decode the PNG (base64) and count its colours.
// Returns {width, height, colours (distinct, capped at 4096), dominant
// (fraction of pixels of the commonest colour)}.
async function pixelStats(checker, pngBase64) {
  return checker.evaluate(async (b64) => {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const counts = new Map();
    for (let i = 0; i < data.length; i += 4) {
      const c = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
      const n = counts.get(c);
      if (n !== undefined) counts.set(c, n + 1);
      else if (counts.size < 4096) counts.set(c, 1);
    }
    let top = 0;
    for (const n of counts.values()) top = Math.max(top, n);
    return { width: bitmap.width, height: bitmap.height, colours: counts.size, dominant: top / (data.length / 4) };
  }, pngBase64);
}

// A screenshot is "not blank" with at least this many distinct colours and
// at most this share of pixels in one colour (a page of a single card on the
// background is ~90% background; a blank or one-colour page is 100%).
export const MIN_COLOURS = 8;
export const MAX_DOMINANT = 0.995;

// Makes the harness. cfg: {base, credentials, token, screenshotDir, camera,
// sampleVideo, headless}. Returns the `t` object plus:
//   t.errors            [{area, role, text}] console errors so far
//   t.startArea(name)   marks what runs now (errors and contexts are its own)
//   t.endArea()         closes the area's contexts, restores t.page; returns
//                       the area's console errors
//   t.close()           closes the browser
export async function createHarness(cfg) {
  const base = String(cfg.base || '').replace(/\/+$/, '');
  if (!base) throw new Error('harness: no base URL');
  const credentials = cfg.credentials || {};
  const screenshotDir = cfg.screenshotDir || fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-dashboard-shots-'));
  fs.mkdirSync(screenshotDir, { recursive: true });

  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    chromiumSandbox: false,
    headless: cfg.headless !== false,
    args: cfg.chromiumArgs || [],
  });

  const errors = [];
  let area = '(setup)';
  let areaContexts = [];
  // the blank page PNGs are decoded in (no vigil origin, no CSP, no console noise)
  const checkerContext = await browser.newContext();
  const checker = await checkerContext.newPage();

  function watch(context, role) {
    context.on('console', (m) => {
      if (m.type() !== 'error') return;
      const loc = m.location();
      const where = loc && loc.url ? ` (${loc.url}${loc.lineNumber ? ':' + loc.lineNumber : ''})` : '';
      errors.push({ area, role, text: `console error: ${m.text()}${where}` });
    });
    context.on('weberror', (e) => {
      const err = e.error();
      errors.push({ area, role, text: `page error: ${err && err.stack ? err.stack : String(err)}` });
    });
  }

  async function newContext(role, opts = {}) {
    const context = await browser.newContext({
      baseURL: base,
      viewport: opts.viewport || DESKTOP,
      acceptDownloads: true,
      colorScheme: opts.colorScheme || 'light',
    });
    watch(context, role);
    return context;
  }

  // Signs in through the sign-in form: name, password, Enter-free submit by
  // the button; waits for the shell's user line.
  async function signIn(page, role) {
    const who = credentials[role];
    if (!who || !who.name || !who.password) throw new Error(`harness: no credentials for role ${role}`);
    await page.goto(base + '/');
    const form = page.locator('input[name=name]');
    await form.waitFor({ timeout: 20000 });
    await form.fill(who.name);
    await page.locator('input[name=password]').fill(who.password);
    await page.locator('form button[type=submit]').click();
    const line = page.getByTestId('who');
    try {
      await line.waitFor({ state: 'attached', timeout: 20000 }); // hidden at phone width
    } catch (e) {
      const alert = await page.locator('[role=alert]').allTextContents().catch(() => []);
      throw new Error(`sign-in as ${role} (${who.name}) did not reach the shell${alert.length ? ': ' + alert.join('; ') : ''}`);
    }
    const text = (await line.textContent()) || '';
    if (!text.includes(role)) throw new Error(`signed in as ${role} but the shell says "${text}"`);
  }

  async function newPage(role, opts = {}) {
    if (!ROLES.includes(role)) throw new Error(`harness: unknown role ${role}`);
    const context = await newContext(role, opts);
    areaContexts.push(context);
    const page = await context.newPage();
    await signIn(page, role);
    return page;
  }

  async function signedOutPage(opts = {}) {
    const context = await newContext('signed-out', opts);
    areaContexts.push(context);
    const page = await context.newPage();
    await page.goto(base + '/');
    return page;
  }

  let adminContext = null;
  async function adminPage() {
    adminContext = await newContext('admin');
    const page = await adminContext.newPage();
    await signIn(page, 'admin');
    return page;
  }

  async function api(method, p, body) {
    const headers = { Authorization: `Bearer ${cfg.token}` };
    if (body !== undefined && body !== null) headers['Content-Type'] = 'application/json';
    const r = await fetch(base + p, {
      method,
      headers,
      body: body === undefined || body === null ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON: the text */ }
    return { status: r.status, body: parsed, headers: Object.fromEntries(r.headers) };
  }

  function check(cond, message) {
    if (!cond) throw new Error(`check failed: ${message}`);
  }

  function step(text) {
    process.stderr.write(`    [${area}] ${text}\n`);
  }

  async function waitFor(fn, what, seconds = 10) {
    const end = Date.now() + seconds * 1000;
    let last = null;
    for (;;) {
      try {
        const v = await fn();
        if (v) return v;
        last = null;
      } catch (e) {
        last = e;
      }
      if (Date.now() >= end) break;
      await sleep(200);
    }
    throw new Error(`timed out after ${seconds} s waiting for ${what}${last ? `: ${last.message}` : ''}`);
  }

  // One screenshot, checked not blank.
  async function shootOne(page, file) {
    const png = await page.screenshot({ path: file, fullPage: true });
    const s = await pixelStats(checker, png.toString('base64'));
    if (s.colours < MIN_COLOURS || s.dominant > MAX_DOMINANT) {
      throw new Error(`screenshot ${path.basename(file)} looks blank: ${s.colours} colours, ` +
        `${(s.dominant * 100).toFixed(1)}% one colour (${s.width}x${s.height})`);
    }
    return file;
  }

  async function shoot(page, name, opts = {}) {
    const safe = String(name).replace(/[^A-Za-z0-9._-]+/g, '-');
    const viewport = page.viewportSize() || DESKTOP;
    const before = await page.evaluate(() => document.documentElement.dataset.theme || '').catch(() => '');
    const themes = opts.themes ? ['light', 'dark'] : [null];
    const files = [];
    try {
      for (const theme of themes) {
        if (theme) {
          await page.evaluate((th) => { document.documentElement.dataset.theme = th; }, theme);
        }
        const suffix = theme ? `-${theme}` : '';
        for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
          await page.setViewportSize(size);
          await settle(page);
          files.push(await shootOne(page, path.join(screenshotDir, `${safe}${suffix}-${label}.png`)));
        }
      }
    } finally {
      await page.setViewportSize(viewport).catch(() => {});
      if (opts.themes) {
        await page.evaluate((th) => {
          if (th) document.documentElement.dataset.theme = th;
          else delete document.documentElement.dataset.theme;
        }, before).catch(() => {});
      }
      await settle(page, 50);
    }
    return files;
  }

  const t = {
    base,
    page: null,
    camera: cfg.camera || 'street',
    credentials,
    sampleVideo: cfg.sampleVideo || process.env.VIGIL_SAMPLE_VIDEO || '',
    screenshotDir,
    browser,
    errors,
    get area() { return area; },
    newPage,
    signedOutPage,
    signIn,
    api,
    check,
    step,
    waitFor,
    shoot,
    startArea(name) {
      area = name;
      areaContexts = [];
    },
    async endArea() {
      for (const c of areaContexts) await c.close().catch(() => {});
      areaContexts = [];
      // the shared admin page: back to desktop size, or a new one when the area closed it
      if (!t.page || t.page.isClosed()) {
        if (adminContext) await adminContext.close().catch(() => {});
        t.page = await adminPage();
      } else {
        await t.page.setViewportSize(DESKTOP).catch(() => {});
      }
      const mine = errors.filter((e) => e.area === area);
      area = '(between areas)';
      return mine;
    },
    async close() {
      await browser.close().catch(() => {});
    },
  };
  t.page = await adminPage();
  return t;
}
