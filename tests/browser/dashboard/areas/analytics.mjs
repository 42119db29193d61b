// Analytics page: the table's totals are the API's (GET /api/v1/counts with
// the very query the page made, read from the table's data-query), the chart
// charts the same numbers (its series' sums), hovering shows numbers in the
// legend, and the CSV export downloads a file whose rows are the table's.
import fs from 'node:fs';

export const name = 'analytics';

function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

// The API's items as the table's rows: camera, kind, id, label, entered, peak, in, out (strings).
function apiRows(items) {
  return items.map((it) => {
    const zone = it.zone !== undefined && it.zone !== null;
    const n = (v) => (v === undefined || v === null ? '' : String(v));
    return [it.camera, zone ? 'zone' : 'line', zone ? it.zone : it.line, it.label,
      n(zone ? it.entered : null), n(zone ? it.peak : null), n(zone ? null : it.in), n(zone ? null : it.out)];
  });
}

async function tableState(page) {
  return page.evaluate(() => {
    const table = document.querySelector('[data-testid=counts-table]');
    const chart = document.querySelector('[data-testid=counts-chart] .chart');
    const rows = [...document.querySelectorAll('[data-testid=counts-row]')].map((tr) => [
      tr.dataset.camera, tr.dataset.kind, tr.dataset.id, tr.dataset.label,
      ...['entered', 'peak', 'in', 'out'].map((c) => tr.querySelector(`[data-col=${c}]`)?.textContent?.trim() ?? ''),
    ]);
    return { query: table?.dataset.query ?? '', rows, sums: chart ? JSON.parse(chart.dataset.sums || '{}') : null };
  });
}

export async function run(t) {
  const page = t.page;
  let made = null;

  t.step('counts exist for the sample camera (or a line is drawn to make some)');
  const have = async () => {
    const r = await t.api('GET', `/api/v1/counts?camera=${t.camera}`);
    return r.status === 200 && r.body.items.some((it) => (it.in ?? 0) + (it.out ?? 0) + (it.entered ?? 0) > 0);
  };
  if (!(await have())) {
    made = `ui-analytics-${Date.now().toString(36)}`;
    const r = await t.api('POST', `/api/v1/cameras/${t.camera}/lines`, { id: made, points: [[0.5, 0], [0.5, 1]] });
    t.check(r.status === 201, `POST line: ${r.status} ${JSON.stringify(r.body)}`);
    await t.waitFor(have, 'counts from the line', 90);
  }

  try {
    t.step('open Analytics: the table has the API\'s totals for the page\'s query');
    await page.goto(`${t.base}/#/analytics?range=24h&bucket=hour&camera=${t.camera}`);
    await page.locator('[data-testid=counts-row]').first().waitFor({ timeout: 15000 });
    let last = null;
    await t.waitFor(async () => {
      const s = await tableState(page);
      t.check(s.query.includes('since=') && s.query.includes('until='), `the table names its query: ${s.query}`);
      const r = await t.api('GET', `/api/v1/counts?${s.query}`);
      t.check(r.status === 200, `GET counts?${s.query}: ${r.status}`);
      const want = apiRows(r.body.items);
      last = { page: s.rows, api: want };
      if (JSON.stringify(s.rows) === JSON.stringify(want)) return true;
      await page.getByRole('button', { name: 'Refresh' }).click(); // a minute still being counted
      await page.waitForTimeout(500);
      return false;
    }, `the table equal to the API's totals (last: ${JSON.stringify(last)})`, 30);
    const s = await tableState(page);
    t.check(s.rows.length > 0, 'the table has rows');

    t.step('the chart charts the same numbers');
    await page.locator('[data-testid=counts-chart] canvas').first().waitFor({ timeout: 10000 });
    t.check(s.sums, 'the chart is drawn');
    for (const [cam, kind, id, label, entered, , inn, out] of s.rows) {
      const base = `${cam} · ${kind} ${id} · ${label}`;
      if (kind === 'zone') t.check(s.sums[`${base} entered`] === Number(entered), `chart ${base} entered ${s.sums[`${base} entered`]} = ${entered}`);
      else {
        t.check(s.sums[`${base} in`] === Number(inn), `chart ${base} in ${s.sums[`${base} in`]} = ${inn}`);
        t.check(s.sums[`${base} out`] === Number(out), `chart ${base} out ${s.sums[`${base} out`]} = ${out}`);
      }
    }

    t.step('hovering the chart shows numbers in its legend');
    const over = page.locator('[data-testid=counts-chart] .u-over').first();
    const box = await over.boundingBox();
    t.check(box && box.width > 100, 'the plot has a size');
    await page.mouse.move(box.x + box.width - 3, box.y + box.height / 2);
    const values = await page.locator('[data-testid=counts-chart] .u-legend .u-series .u-value').allTextContents();
    t.check(values.slice(1).some((v) => /^\d+$/.test(v.trim())), `legend values at the cursor: ${JSON.stringify(values)}`);
    await t.shoot(page, 'analytics');

    t.step('Export CSV downloads the table\'s rows');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 10000 }),
      page.getByTestId('csv-export').click(),
    ]);
    t.check(/\.csv$/.test(download.suggestedFilename()), `file name ${download.suggestedFilename()}`);
    const text = fs.readFileSync(await download.path(), 'utf8');
    const csv = parseCsv(text);
    t.check(csv[0].join(',') === 'camera,kind,id,label,entered,peak,in,out', `CSV header: ${csv[0]}`);
    const now = await tableState(page);
    t.check(JSON.stringify(csv.slice(1)) === JSON.stringify(now.rows),
      `CSV rows ${JSON.stringify(csv.slice(1))} = table ${JSON.stringify(now.rows)}`);
  } finally {
    if (made) {
      t.step(`remove line ${made}`);
      await page.evaluate(async (p) => {
        const me = await (await fetch('/api/v1/auth/me')).json();
        await fetch(p, { method: 'DELETE', headers: { 'If-Match': '*', 'X-CSRF-Token': me.csrf_token } });
      }, `/api/v1/cameras/${t.camera}/lines/${made}`);
    }
  }
}
