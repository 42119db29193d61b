// Review page: the sample camera's events listed with thumbnails and a
// timeline; one event opened (from the list and by its link #/review?event=ID,
// as a push notification opens it): its snapshot loads, the clip player gets
// a video or shows the API's message, the track's path is drawn; marked
// reviewed on the page and in the API; many marked at once with the
// checkboxes; filters change the list and the URL, and a URL with filters
// opens filtered; an admin deletes a closed event; a viewer sees no mark or
// delete buttons.
export const name = 'review';

const rows = (page) => page.locator('[data-testid=event-row]');

async function closedEvents(t, n) {
  let found = [];
  await t.waitFor(async () => {
    const r = await t.api('GET', `/api/v1/events?camera=${t.camera}&limit=200`);
    if (r.status !== 200) return false;
    found = r.body.items.filter((e) => !e.open && e.snapshot_url);
    return found.length >= n;
  }, `${n} closed events of ${t.camera} with snapshots`, 90);
  return found;
}

async function kindsShown(page) {
  return page.locator('[data-testid=event-row]').evaluateAll((els) => els.map((e) => e.dataset.kind));
}

export async function run(t) {
  const page = t.page;
  const closed = await closedEvents(t, 4);

  t.step('the list shows the sample camera\'s events with thumbnails and a timeline');
  await page.goto(`${t.base}/#/review?camera=${t.camera}`);
  await rows(page).first().waitFor({ timeout: 15000 });
  await page.getByTestId('timeline').waitFor();
  await t.waitFor(
    () => page.locator('[data-testid=event-thumb]').evaluateAll((imgs) => imgs.some((i) => i.complete && i.naturalWidth > 0)),
    'a thumbnail loaded',
    15,
  );
  const cams = await page.locator('[data-testid=event-row]').count();
  t.check(cams > 0, 'events listed');
  t.check((await page.getByTestId('filter-camera').inputValue()) === t.camera, 'the camera filter comes from the URL');
  await t.shoot(page, 'review', { themes: true });

  t.step('open an event from the list');
  const firstRow = rows(page).first();
  const firstId = await firstRow.getAttribute('data-event-id');
  await firstRow.locator('button.what, button.linklike').first().click();
  await page.locator(`[data-testid=event-view][data-event-id="${firstId}"]`).waitFor({ timeout: 10000 });
  t.check(page.url().includes(`event=${firstId}`), `the URL names the event: ${page.url()}`);
  t.check(page.url().includes(`camera=${t.camera}`), 'the filters stay in the URL');
  await page.getByTestId('close-event').click();
  await page.getByTestId('event-view').waitFor({ state: 'detached' });

  const ev = closed[0];
  t.step(`open closed event ${ev.id} by its link: snapshot, track, clip`);
  await page.goto(`${t.base}/#/review?event=${ev.id}`);
  const view = page.locator(`[data-testid=event-view][data-event-id="${ev.id}"]`);
  await view.waitFor({ timeout: 10000 });
  const snap = view.getByTestId('event-snapshot');
  await t.waitFor(() => snap.evaluate((i) => i.complete && i.naturalWidth > 0), 'the snapshot loaded', 15);
  await view.getByTestId('track-path').waitFor({ state: 'attached', timeout: 10000 });
  const clip = view.getByTestId('clip');
  const state = await t.waitFor(async () => {
    const s = await clip.getAttribute('data-state');
    return s === 'making' ? false : s;
  }, 'the clip made (or its message)', 120);
  if (state === 'ready') {
    await t.waitFor(
      () => view.getByTestId('event-clip').evaluate((v) => v.readyState >= 1 && v.videoWidth > 0),
      'the player has the video (metadata, size)',
      30,
    );
  } else {
    const msg = (await view.getByTestId('clip-message').textContent()) ?? '';
    t.check(msg.length > 10, `the clip's message is shown: ${msg}`);
    t.step(`no clip: ${msg}`);
  }
  const details = (await view.textContent()) ?? '';
  t.check(details.includes(ev.label), 'details name the label');
  t.check(details.includes(ev.zone ?? ev.line ?? '?'), 'details name the zone or line');
  await t.shoot(page, 'review-event', { themes: true });

  t.step('mark it reviewed');
  await t.api('PATCH', `/api/v1/events/${ev.id}`, { reviewed: false });
  await page.reload();
  await view.waitFor({ timeout: 10000 });
  const mark = view.getByTestId('mark-reviewed');
  await mark.waitFor();
  t.check(/Mark reviewed/.test((await mark.textContent()) ?? ''), 'the button offers to mark it reviewed');
  await mark.click();
  await view.getByTestId('event-reviewed').waitFor({ timeout: 10000 });
  const after = await t.api('GET', `/api/v1/events/${ev.id}`);
  t.check(after.body.reviewed === true, `the API says event ${ev.id} is reviewed`);
  t.check(typeof after.body.reviewed_by === 'string' && after.body.reviewed_by.length > 0, 'reviewed_by recorded');
  const row = page.locator(`[data-testid=event-row][data-event-id="${ev.id}"]`);
  if (await row.count()) {
    await t.waitFor(async () => (await row.getAttribute('data-reviewed')) === 'true', 'its row shows it reviewed', 5);
  }

  t.step('mark many with the checkboxes');
  await page.goto(`${t.base}/#/review?camera=${t.camera}&reviewed=false`);
  await rows(page).first().waitFor({ timeout: 10000 });
  const picked = [];
  for (let i = 0; i < Math.min(3, await rows(page).count()); i++) {
    const r = rows(page).nth(i);
    picked.push(await r.getAttribute('data-event-id'));
    await r.getByTestId('event-select').check();
  }
  t.check(picked.length >= 2, `at least two unreviewed events to mark (${picked.length})`);
  await page.getByTestId('bulk-reviewed').click();
  await page.getByTestId('notice').waitFor({ timeout: 10000 });
  for (const id of picked) {
    const r = page.locator(`[data-testid=event-row][data-event-id="${id}"]`);
    await t.waitFor(async () => (await r.getAttribute('data-reviewed')) === 'true', `row ${id} marked reviewed`, 5);
    const got = await t.api('GET', `/api/v1/events/${id}`);
    t.check(got.body.reviewed === true, `the API says event ${id} is reviewed`);
  }

  t.step('filters change the list and the URL');
  await page.goto(`${t.base}/#/review?camera=${t.camera}`);
  await rows(page).first().waitFor({ timeout: 10000 });
  await page.getByTestId('filter-kind').selectOption('zone_enter');
  await t.waitFor(() => page.url().includes('kind=zone_enter'), 'kind in the URL', 5);
  await t.waitFor(async () => {
    const k = await kindsShown(page);
    return k.length > 0 && k.every((x) => x === 'zone_enter');
  }, 'only zone_enter events listed', 10);
  await page.getByTestId('filter-reviewed').selectOption('true');
  await t.waitFor(() => page.url().includes('reviewed=true'), 'reviewed in the URL', 5);
  await t.waitFor(async () => {
    const r = await page.locator('[data-testid=event-row]').evaluateAll((els) => els.map((e) => e.dataset.reviewed));
    return (r.length > 0 && r.every((x) => x === 'true')) || (await page.getByTestId('no-events').count()) > 0;
  }, 'only reviewed events listed', 10);
  await page.getByTestId('clear-filters').click();
  await t.waitFor(() => !page.url().includes('kind='), 'filters cleared from the URL', 5);

  t.step('a URL with filters opens filtered');
  const lineEvents = await t.api('GET', `/api/v1/events?camera=${t.camera}&kind=line_cross&limit=1`);
  const kind = lineEvents.body.items.length ? 'line_cross' : 'zone_leave';
  await page.goto(`${t.base}/#/review?camera=${t.camera}&kind=${kind}`);
  await t.waitFor(async () => (await page.getByTestId('filter-kind').inputValue()) === kind, 'the kind select shows the URL\'s kind', 10);
  await t.waitFor(async () => {
    const k = await kindsShown(page);
    return (k.length > 0 && k.every((x) => x === kind)) || (await page.getByTestId('no-events').count()) > 0;
  }, `only ${kind} events listed`, 10);

  t.step('an admin deletes a closed event');
  const victim = closed[closed.length - 1];
  await page.goto(`${t.base}/#/review?event=${victim.id}`);
  const vview = page.locator(`[data-testid=event-view][data-event-id="${victim.id}"]`);
  await vview.waitFor({ timeout: 10000 });
  // the clip first: deleting the event while it is being made would answer its request 404
  await t.waitFor(async () => (await vview.getByTestId('clip').getAttribute('data-state')) !== 'making', 'the clip made', 120);
  await vview.getByTestId('delete-event').click();
  await vview.getByTestId('confirm-delete').click();
  await vview.waitFor({ state: 'detached', timeout: 10000 });
  const gone = await t.api('GET', `/api/v1/events/${victim.id}`);
  t.check(gone.status === 404, `event ${victim.id} deleted: GET answers ${gone.status}`);

  t.step('a viewer sees no mark, select or delete buttons');
  const viewer = await t.newPage('viewer');
  await viewer.goto(`${t.base}/#/review?camera=${t.camera}&event=${closed[1].id}`);
  await viewer.locator(`[data-testid=event-view][data-event-id="${closed[1].id}"]`).waitFor({ timeout: 10000 });
  await viewer.locator('[data-testid=event-row]').first().waitFor({ timeout: 10000 });
  await viewer.getByTestId('event-what').waitFor();
  for (const id of ['mark-reviewed', 'delete-event', 'event-select', 'bulk-reviewed', 'select-all']) {
    t.check((await viewer.getByTestId(id).count()) === 0, `a viewer sees no ${id}`);
  }
  await t.shoot(viewer, 'review-viewer');

  t.step('an operator marks but does not delete');
  const operator = await t.newPage('operator');
  await operator.goto(`${t.base}/#/review?event=${closed[1].id}`);
  const oview = operator.locator(`[data-testid=event-view][data-event-id="${closed[1].id}"]`);
  await oview.getByTestId('mark-reviewed').waitFor({ timeout: 10000 });
  t.check((await operator.getByTestId('delete-event').count()) === 0, 'an operator sees no delete button');
}
