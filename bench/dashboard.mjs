// bench/dashboard.mjs: the dashboard's numbers (issue 9, "Numbers to
// report"); bench/dashboard.sh starts the vigil it measures. Prints, never
// asserts.
//
//   node bench/dashboard.mjs CONFIG.json
//
// CONFIG: {"base", "token", "credentials": {"admin": {"name", "password"}},
//          "dist": "<the dashboard build vigil serves>", "cameras": 4, "fps": 5,
//          "runs": 5, "cpuSeconds": 20}
//
// 1. First page's size: index.html + the entry chunk and the chunks it
//    imports statically + their CSS + the Live page's chunk (and what it
//    imports statically, and its CSS), raw and gzipped (node:zlib, level 9,
//    as a server or CDN would precompress), from the built files.
// 2. Time to the first live frame: a signed-in browser (fresh context each
//    run: cold HTTP cache, session cookie set by signing in through the form
//    first) opens /#/live; the time is performance.now() in the page (from
//    the navigation's start) when the first element data-testid="live-frame"
//    has a frame: an <img> decoded (naturalWidth > 0), a <video> with
//    readyState >= 2, or any element with data-frames > 0 (a canvas the page
//    draws on). Median, min and max over `runs`.
// 3. CPU of the tab while the live grid plays every camera (bench/dashboard.sh:
//    4 cameras on the sample video at 5 fps): Chromium's own metrics over
//    cpuSeconds of wall time. TaskDuration (Performance.getMetrics: the
//    renderer main thread's busy time, wall-clock: inflated when the machine
//    is oversubscribed) delta / wall = the share of one core the tab's main
//    thread kept busy; and every Chromium process's CPU time, by type
//    (SystemInfo.getProcessInfo: browser, renderer, GPU, network, utility) as
//    the whole browser's share, since decoding images and compositing run off
//    the main thread.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// the harness (and playwright-core) live under tests/browser
const harnessUrl = pathToFileURL(path.join(here, '..', 'tests', 'browser', 'dashboard', 'harness.mjs')).href;
const { createHarness } = await import(harnessUrl);

const cfg = JSON.parse(fs.readFileSync(process.argv[2] || 0, 'utf8'));
const runs = Number(cfg.runs || 5);
const cpuSeconds = Number(cfg.cpuSeconds || 20);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function machine() {
  const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = (info.match(/^model name\s*:\s*(.*)$/m) || [])[1] || os.cpus()[0]?.model || 'unknown CPU';
  const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return `${model.trim()}, ${os.cpus().length} CPUs, load average ${load}`;
}

// --- 1. bundle size -------------------------------------------------------
function bundle(dist) {
  const read = (rel) => fs.readFileSync(path.join(dist, rel.replace(/^\//, '')));
  const html = read('index.html').toString();
  const files = new Set(['index.html']);
  const js = [];
  for (const m of html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)) js.push(m[1].replace(/^\//, ''));
  for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)) js.push(m[1].replace(/^\//, ''));
  for (const m of html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)) files.add(m[1].replace(/^\//, ''));
  const assets = fs.readdirSync(path.join(dist, 'assets'));
  const live = assets.filter((f) => /^Live-[^.]+\.js$/.test(f)).map((f) => `assets/${f}`);
  if (!live.length) throw new Error(`no assets/Live-*.js in ${dist}`);
  for (const f of assets.filter((f) => /^Live-[^.]+\.css$/.test(f))) files.add(`assets/${f}`);
  // the closure of static imports (`import ... from "./x.js"`, `import "./x.js"`; not import())
  const todo = [...js, ...live];
  while (todo.length) {
    const f = todo.pop();
    if (files.has(f)) continue;
    files.add(f);
    const text = read(f).toString();
    for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*["'](\.{1,2}\/[^"']+\.(?:js|css))["']/g)) {
      todo.push(path.posix.normalize(path.posix.join(path.posix.dirname(f), m[1])));
    }
  }
  const rows = [...files].sort().map((f) => {
    const raw = read(f);
    return { file: f, raw: raw.length, gzip: zlib.gzipSync(raw, { level: 9 }).length };
  });
  const sum = (kind) => rows.filter((r) => kind(r.file)).reduce((a, r) => ({ raw: a.raw + r.raw, gzip: a.gzip + r.gzip }), { raw: 0, gzip: 0 });
  return { rows, js: sum((f) => f.endsWith('.js')), css: sum((f) => f.endsWith('.css')), html: sum((f) => f.endsWith('.html')), all: sum(() => true) };
}

// --- 2. first live frame --------------------------------------------------
const FRAME_SHOWN = () => {
  for (const el of document.querySelectorAll('[data-testid="live-frame"]')) {
    const frames = Number(el.dataset.frames || 0);
    if (frames > 0) return performance.now();
    if (el instanceof HTMLImageElement && el.complete && el.naturalWidth > 0) return performance.now();
    if (el instanceof HTMLVideoElement && el.readyState >= 2) return performance.now();
  }
  return 0;
};

async function firstFrame(t, base) {
  const context = await t.browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await t.signIn(page, 'admin');
    // a new page in the signed-in context: a cold HTTP cache (new context), the cookie set
    const fresh = await context.newPage();
    await page.close();
    const t0 = Date.now();
    await fresh.goto(`${base}/#/live`, { waitUntil: 'commit' });
    const handle = await fresh.waitForFunction(FRAME_SHOWN, null, { polling: 'raf', timeout: 30000 });
    const ms = await handle.jsonValue();
    return { ms, wallMs: Date.now() - t0 };
  } finally {
    await context.close();
  }
}

// --- 3. CPU while the grid plays ------------------------------------------
async function gridCpu(t, base, seconds) {
  const context = await t.browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await t.signIn(page, 'admin');
    await page.goto(`${base}/#/live`);
    await page.waitForFunction(FRAME_SHOWN, null, { polling: 'raf', timeout: 30000 });
    const tiles = await page.locator('[data-testid="live-frame"]').count();
    await sleep(3000); // every tile past its first frame
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'timeTicks' });
    const browserCdp = await t.browser.newBrowserCDPSession();
    const metric = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const procs = async () => {
      try {
        const { processInfo } = await browserCdp.send('SystemInfo.getProcessInfo');
        const byType = {};
        for (const p of processInfo) byType[p.type] = (byType[p.type] || 0) + p.cpuTime;
        return byType;
      } catch {
        return null;
      }
    };
    const frames = () => page.evaluate(() => [...document.querySelectorAll('[data-testid="live-frame"]')]
      .reduce((a, el) => a + Number(el.dataset.frames || 0), 0));
    const m0 = await metric();
    const p0 = await procs();
    const f0 = await frames();
    const w0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const m1 = await metric();
    const p1 = await procs();
    const f1 = await frames();
    const wall = Number(process.hrtime.bigint() - w0) / 1e9;
    await browserCdp.detach().catch(() => {});
    return {
      tiles,
      wall,
      task: (m1.TaskDuration - m0.TaskDuration) / wall,
      script: (m1.ScriptDuration - m0.ScriptDuration) / wall,
      layout: ((m1.LayoutDuration - m0.LayoutDuration) + (m1.RecalcStyleDuration - m0.RecalcStyleDuration)) / wall,
      browser: p0 !== null && p1 !== null
        ? Object.fromEntries(Object.keys(p1).map((k) => [k, (p1[k] - (p0[k] || 0)) / wall])) : null,
      framesPerSecond: f1 > f0 ? (f1 - f0) / wall : null,
      heapMB: m1.JSHeapUsedSize / 1048576,
    };
  } finally {
    await context.close();
  }
}

const t = await createHarness({ ...cfg, screenshotDir: cfg.screenshotDir || fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dash-')) });
t.startArea('bench');
console.log(`machine: ${machine()}`);
console.log(`browser: Chromium ${t.browser.version()} headless (${process.env.VIGIL_CHROMIUM || '/usr/bin/chromium'})`);
console.log(`vigil: ${cfg.base}, ${cfg.cameras ?? '?'} camera(s) on the sample video at ${cfg.fps ?? '?'} fps`);

console.log('\n1. first page (index.html + entry chunk + its CSS + the Live page), from ' + cfg.dist);
try {
  const b = bundle(cfg.dist);
  for (const r of b.rows) console.log(`   ${r.file.padEnd(40)} ${kb(r.raw).padStart(10)} raw ${kb(r.gzip).padStart(10)} gzip`);
  console.log(`   JS   ${kb(b.js.raw).padStart(10)} raw ${kb(b.js.gzip).padStart(10)} gzip`);
  console.log(`   CSS  ${kb(b.css.raw).padStart(10)} raw ${kb(b.css.gzip).padStart(10)} gzip`);
  console.log(`   total (with index.html) ${kb(b.all.raw)} raw, ${kb(b.all.gzip)} gzipped (goal: under 150 KB)`);
} catch (e) {
  console.log(`   not measured: ${e.message}`);
}

console.log(`\n2. open /#/live signed in -> first live frame painted (${runs} runs, fresh context each)`);
let liveWorks = false;
try {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const r = await firstFrame(t, cfg.base);
    times.push(r.ms);
    console.log(`   run ${i + 1}: ${r.ms.toFixed(0)} ms (page clock), ${r.wallMs} ms (harness wall clock)`);
  }
  console.log(`   median ${median(times).toFixed(0)} ms, min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}`);
  liveWorks = true;
} catch (e) {
  console.log(`   not measured: ${e.message.split('\n')[0]} (the Live page shows no data-testid="live-frame" with a frame)`);
}

console.log(`\n3. CPU of the browser while the live grid plays (${cpuSeconds} s)`);
try {
  if (!liveWorks) throw new Error('no live frame in step 2');
  const c = await gridCpu(t, cfg.base, cpuSeconds);
  console.log(`   ${c.tiles} live tile(s) on the page; over ${c.wall.toFixed(1)} s:`);
  // TaskDuration is the wall time of the main thread's tasks: on an oversubscribed machine a task
  // descheduled mid-way counts whole, so it can exceed the renderer's CPU time below
  console.log(`   tab main thread (TaskDuration): ${(c.task * 100).toFixed(1)}% of one core ` +
    `(script ${(c.script * 100).toFixed(1)}%, style+layout ${(c.layout * 100).toFixed(1)}%)`);
  if (c.browser !== null) {
    const total = Object.values(c.browser).reduce((a, v) => a + v, 0);
    const parts = Object.entries(c.browser).sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k.replace(/\.mojom\./, ' ').replace(/^(network|storage) /, '$1:')} ${(v * 100).toFixed(1)}%`);
    console.log(`   all Chromium processes (SystemInfo.getProcessInfo, CPU time): ${(total * 100).toFixed(1)}% of one core (${parts.join(', ')})`);
  }
  if (c.framesPerSecond !== null) console.log(`   frames shown: ${c.framesPerSecond.toFixed(1)}/s over all tiles (data-frames)`);
  console.log(`   JS heap used: ${c.heapMB.toFixed(1)} MB`);
} catch (e) {
  console.log(`   not measured: ${e.message.split('\n')[0]}`);
}

const errs = await t.endArea();
if (errs.length) console.log(`\nconsole errors during the benchmark (${errs.length}): ${errs.map((e) => e.text).join(' | ')}`);
console.log(`\nload average at the end: ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
await t.close();
