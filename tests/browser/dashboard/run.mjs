// Runs the dashboard's browser tests: every module in areas/*.mjs (sorted by
// file name; VIGIL_DASHBOARD_AREAS=live,review runs those only, by the
// module's `name` or its file name) against a running vigil, through
// harness.mjs.
//
//   node tests/browser/dashboard/run.mjs CONFIG.json     (or the JSON on stdin)
//
// CONFIG: {"base": "http://127.0.0.1:PORT", "token": "<admin write token>",
//          "credentials": {"admin": {"name": "...", "password": "..."},
//                          "operator": {...}, "viewer": {...}},
//          "screenshotDir": "/tmp/...",  (else VIGIL_SCREENSHOT_DIR, else a new tmp dir)
//          "camera": "street"}
// The sample video's path comes from VIGIL_SAMPLE_VIDEO.
//
// Output: per area a line "PASS name 12.3s" or "FAIL name 12.3s: error" on
// stdout (the areas' steps on stderr), then one JSON line:
//   {"ok": bool, "seconds": N, "screenshots": DIR, "areas": [{"name", "file",
//    "ok", "seconds", "error", "console_errors": [...]}]}
// Exit status 0 only when every area passed with no console errors; 1 when
// one failed; 2 when the harness itself could not start (no browser, no
// sign-in). An area's failure does not stop the others; a failed area leaves
// a screenshot FAIL-<area>.png of the admin page. Each area has
// VIGIL_AREA_TIMEOUT_S seconds (default 240).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHarness } from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function readConfig() {
  const arg = process.argv[2];
  let text;
  if (arg && arg !== '-') text = arg.trim().startsWith('{') ? arg : fs.readFileSync(arg, 'utf8');
  else text = fs.readFileSync(0, 'utf8');
  const cfg = JSON.parse(text);
  cfg.screenshotDir ||= process.env.VIGIL_SCREENSHOT_DIR || '';
  return cfg;
}

async function listAreas() {
  const dir = path.join(here, 'areas');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort();
  const wanted = (process.env.VIGIL_DASHBOARD_AREAS || '').split(',').map((s) => s.trim()).filter(Boolean);
  const out = [];
  for (const f of files) {
    let mod;
    try {
      mod = await import(pathToFileURL(path.join(dir, f)).href);
    } catch (e) {
      // a module that does not load fails as its own area; the others run
      mod = { name: f.replace(/\.mjs$/, ''), run: () => { throw new Error(`${f} does not load: ${e.message}`); } };
    }
    const name = mod.name || f.replace(/\.mjs$/, '');
    if (wanted.length && !wanted.includes(name) && !wanted.includes(f.replace(/\.mjs$/, ''))) continue;
    out.push({ file: f, name, mod });
  }
  const unknown = wanted.filter((w) => !out.some((a) => a.name === w || a.file === `${w}.mjs`));
  return { areas: out, unknown };
}

function withTimeout(promise, seconds, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const oneLine = (s) => String(s).replace(/\s+/g, ' ').trim();

async function main() {
  const started = Date.now();
  let cfg;
  try {
    cfg = readConfig();
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: `config: ${e.message}` }));
    return 2;
  }
  const { areas, unknown } = await listAreas();
  const results = [];
  for (const w of unknown) {
    console.log(`FAIL ${w} 0.0s: no such area in ${path.join(here, 'areas')}`);
    results.push({ name: w, file: null, ok: false, seconds: 0, error: 'no such area', console_errors: [] });
  }

  let t;
  try {
    t = await createHarness(cfg);
  } catch (e) {
    console.log(`harness could not start: ${e.stack || e}`);
    console.log(JSON.stringify({ ok: false, error: `harness: ${oneLine(e.message)}`, areas: results }));
    return 2;
  }
  const setupErrors = t.errors.filter((e) => e.area === '(setup)');
  const limit = Number(process.env.VIGIL_AREA_TIMEOUT_S || 240);

  try {
    for (const a of areas) {
      const t0 = Date.now();
      t.startArea(a.name);
      let error = null;
      try {
        if (typeof a.mod.run !== 'function') throw new Error(`${a.file} exports no run(t)`);
        await withTimeout(a.mod.run(t), limit, `area ${a.name}`);
      } catch (e) {
        error = e;
        process.stderr.write(`    [${a.name}] ${e.stack || e}\n`);
        try {
          if (t.page && !t.page.isClosed()) {
            await t.page.screenshot({ path: path.join(t.screenshotDir, `FAIL-${a.name}.png`), fullPage: true, timeout: 10000 });
          }
        } catch { /* the failure screenshot is a courtesy */ }
      }
      let consoleErrors = [];
      try {
        consoleErrors = (await t.endArea()).map((e) => `${e.role}: ${e.text}`);
      } catch (e) {
        error ||= new Error(`after the area: ${e.message}`);
      }
      const seconds = (Date.now() - t0) / 1000;
      let message = error ? oneLine(error.message) : '';
      if (consoleErrors.length) {
        message += `${message ? '; ' : ''}${consoleErrors.length} console error(s): ${consoleErrors.map(oneLine).join(' | ')}`;
      }
      const ok = !message;
      console.log(`${ok ? 'PASS' : 'FAIL'} ${a.name} ${seconds.toFixed(1)}s${ok ? '' : ': ' + message}`);
      results.push({ name: a.name, file: a.file, ok, seconds, error: message || null, console_errors: consoleErrors });
    }
  } finally {
    await t.close();
  }
  const stray = t.errors.filter((e) => e.area === '(between areas)').concat(setupErrors)
    .map((e) => `${e.role}: ${e.text}`);
  if (stray.length) console.log(`FAIL (outside the areas): ${stray.map(oneLine).join(' | ')}`);
  const ok = results.length > 0 && results.every((r) => r.ok) && !stray.length;
  if (!results.length) console.log('FAIL no areas ran');
  process.stderr.write(`screenshots in ${t.screenshotDir}\n`);
  console.log(JSON.stringify({
    ok,
    seconds: (Date.now() - started) / 1000,
    screenshots: t.screenshotDir,
    console_errors_outside_areas: stray,
    areas: results,
  }));
  return ok ? 0 : 1;
}

process.exitCode = await main().catch((e) => {
  console.log(JSON.stringify({ ok: false, error: `run.mjs: ${oneLine(e.stack || e)}` }));
  return 2;
});
