// Zones & lines editor: as admin, draw a line across the walkway of the
// sample video (vertical, x = 0.5 from y = 0.3 to the bottom: people walk
// left-right along the pavement in the lower half), save it, see it on the
// Live view, and within a minute see its line_cross events in the API and on
// the Review page. A viewer sees the rules but no drawing or save buttons.
// The line stays on the camera afterwards (later areas may search for its
// events).
export const name = 'zones';

export async function run(t) {
  const page = t.page;
  const id = `walkway-${Date.now().toString(36)}`;

  t.step('open the editor on the sample camera');
  await page.goto(`${t.base}/#/zones?camera=${t.camera}`);
  const canvas = page.getByTestId('zones-canvas');
  await canvas.waitFor({ timeout: 10000 });
  await page.getByTestId('zones-frame').waitFor({ timeout: 15000 });
  const before = await t.api('GET', `/api/v1/cameras/${t.camera}/rules`);
  t.check(before.status === 200, `GET rules: ${before.status}`);
  await t.waitFor(async () => (await page.getByTestId('rule-item').count()) === before.body.zones.length + before.body.lines.length,
    'the rule list shows the camera\'s zones and lines', 10);

  t.step(`draw line ${id} from (0.5, 0.3) to (0.5, 1.0)`);
  await page.getByTestId('zones-add-line').click();
  const box = await canvas.boundingBox();
  t.check(box && box.width > 100, 'the canvas has a size');
  await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.3);
  await page.mouse.click(box.x + box.width * 0.5, box.y + box.height - 1);
  const item = page.locator('[data-testid=rule-item][data-kind=line]').last();
  await item.getByTestId('rule-id').fill(id);
  await page.locator(`[data-testid=zones-shape][data-kind=line][data-id="${id}"]`).waitFor({ timeout: 5000 });
  t.check(await page.getByTestId('zones-arrow').count() >= 1, 'the line shows its direction arrow');
  await t.shoot(page, 'zones-drawn', { themes: true });

  t.step('save');
  await page.getByTestId('rules-save').click();
  await page.getByTestId('rules-saved').waitFor({ timeout: 10000 });
  const after = await t.api('GET', `/api/v1/cameras/${t.camera}/rules`);
  const line = after.body.lines.find((l) => l.id === id);
  t.check(line, `the API has line ${id}: ${JSON.stringify(after.body.lines)}`);
  const [[ax, ay], [bx, by]] = line.points;
  t.check(Math.abs(ax - 0.5) < 0.01 && Math.abs(bx - 0.5) < 0.01 && Math.abs(ay - 0.3) < 0.01 && by > 0.98,
    `the line is where it was drawn: ${JSON.stringify(line.points)}`);
  t.check(after.body.zones.length === before.body.zones.length && after.body.lines.length === before.body.lines.length + 1,
    'the other zones and lines were kept');
  t.check(Number(JSON.parse(after.headers.etag)) > Number(JSON.parse(before.headers.etag || '"0"')), 'a new version');

  t.step('the Live view shows the new line at once');
  await page.goto(`${t.base}/#/live`);
  await page.locator(`[data-testid=live-tile][data-camera="${t.camera}"] [data-testid=live-line][data-id="${id}"]`)
    .waitFor({ timeout: 10000 });

  t.step(`line_cross events of ${id} within 60 s`);
  const events = await t.waitFor(async () => {
    const r = await t.api('GET', `/api/v1/events?camera=${t.camera}&kind=line_cross&line=${id}&limit=10`);
    return r.status === 200 && r.body.items.length ? r.body.items : null;
  }, `line_cross events of ${id} in the API`, 60);
  t.check(events.every((e) => e.kind === 'line_cross' && e.line === id && ['in', 'out'].includes(e.direction)),
    'each is a line_cross of the line with a direction');

  t.step('the Review page shows them');
  await page.goto(`${t.base}/#/review?camera=${t.camera}&kind=line_cross`);
  const row = page.locator('[data-testid=event-row][data-kind=line_cross]').first();
  await row.waitFor({ timeout: 15000 });
  t.check(await row.getAttribute('data-event-id'), 'a row carries its event id');

  t.step('a viewer sees the rules read-only');
  const viewer = await t.newPage('viewer');
  await viewer.goto(`${t.base}/#/zones?camera=${t.camera}`);
  await viewer.getByTestId('zones-readonly').waitFor({ timeout: 10000 });
  await viewer.locator(`[data-testid=zones-shape][data-id="${id}"]`).waitFor({ timeout: 10000 });
  for (const tid of ['zones-add-zone', 'zones-add-line', 'rules-save', 'rule-delete', 'rule-reverse']) {
    t.check(await viewer.getByTestId(tid).count() === 0, `a viewer has no ${tid} button`);
  }
  t.check(await viewer.getByTestId('rule-id').first().getAttribute('readonly') !== null, 'a viewer\'s fields are read-only');
  await t.shoot(viewer, 'zones-viewer');
}
