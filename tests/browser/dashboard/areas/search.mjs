// Search page: a search finds events, a result opens in Review; a search for
// "line_cross" (a kind, which the search API's text does not match: the page
// turns it into a kind filter) and one for the line's id find line crossing
// events; a facet click narrows the results (and the URL); scrolling to the
// end of the list loads the next page when there is one.
export const name = 'search';

const results = (page) => page.locator('[data-testid=search-result]');

async function attrs(page, key) {
  return results(page).evaluateAll((els, k) => els.map((e) => e.dataset[k]), key);
}

export async function run(t) {
  const page = t.page;

  t.step('wait for a line crossing of the sample camera');
  const line = await t.waitFor(async () => {
    const r = await t.api('GET', `/api/v1/events?camera=${t.camera}&kind=line_cross&limit=1`);
    return r.status === 200 && r.body.items.length ? r.body.items[0].line : null;
  }, 'a line_cross event in the API', 120);

  t.step('a search finds events');
  await page.goto(`${t.base}/#/search`);
  await results(page).first().waitFor({ timeout: 15000 });
  await page.getByTestId('facets').locator('[data-testid=facet]').first().waitFor({ timeout: 10000 });
  await page.getByTestId('search-input').fill(t.camera);
  await page.getByTestId('search-input').press('Enter');
  await t.waitFor(() => page.url().includes(`q=${t.camera}`), 'the text in the URL', 5);
  await t.waitFor(async () => (await results(page).count()) > 0, 'results for the camera', 15);
  await page.getByTestId('search-type').selectOption('events');
  await t.waitFor(() => page.url().includes('type=events'), 'the type in the URL', 5);
  await t.waitFor(async () => {
    const types = await attrs(page, 'type');
    return types.length > 0 && types.every((x) => x === 'event');
  }, 'events found', 15);
  await t.shoot(page, 'search', { themes: true });

  t.step('"line_cross" finds line crossing events');
  await page.getByTestId('search-input').fill('line_cross');
  await page.getByTestId('search-input').press('Enter');
  await t.waitFor(() => page.url().includes('kind=line_cross'), 'the kind in the URL', 5);
  await t.waitFor(async () => {
    const k = await attrs(page, 'kind');
    return k.length > 0 && k.every((x) => x === 'line_cross');
  }, 'only line_cross events found', 15);

  t.step(`the line's id "${line}" finds its crossings`);
  await page.goto(`${t.base}/#/search?q=${encodeURIComponent(line)}`);
  await t.waitFor(async () => (await attrs(page, 'kind')).includes('line_cross'), `line_cross events for "${line}"`, 15);

  t.step('a result opens in Review');
  const first = results(page).filter({ has: page.locator('[data-testid=result-link]') }).first();
  const id = await first.getAttribute('data-event-id');
  await first.getByTestId('result-link').click();
  await page.locator(`[data-testid=event-view][data-event-id="${id}"]`).waitFor({ timeout: 10000 });

  t.step('a facet click narrows the results');
  await page.goto(`${t.base}/#/search`);
  await results(page).first().waitFor({ timeout: 15000 });
  const zoneFacet = page.locator('[data-testid=facet][data-facet=zones]').first();
  await zoneFacet.waitFor({ timeout: 10000 });
  const zone = await zoneFacet.getAttribute('data-value');
  const kindsBefore = await page.locator('[data-testid=facet][data-facet=kinds]').evaluateAll((els) =>
    els.reduce((n, e) => n + Number(e.dataset.count), 0));
  await zoneFacet.click();
  await t.waitFor(() => page.url().includes(`zone=${zone}`), 'the facet in the URL', 5);
  await t.waitFor(async () => {
    const types = await attrs(page, 'type');
    return types.length > 0 && types.every((x) => x === 'event');
  }, `only events of zone ${zone} (no detections)`, 15);
  const kindsAfter = await t.waitFor(async () => {
    const n = await page.locator('[data-testid=facet][data-facet=kinds]').evaluateAll((els) =>
      els.reduce((s, e) => s + Number(e.dataset.count), 0));
    return n > 0 && n < kindsBefore ? n : 0;
  }, 'facet counts narrowed', 15);
  t.step(`matches ${kindsBefore} -> ${kindsAfter}`);
  t.check(
    (await page.locator(`[data-testid=facet][data-facet=zones][data-value="${zone}"]`).getAttribute('aria-pressed')) === 'true',
    'the facet shows selected',
  );
  await page.locator(`[data-testid=facet][data-facet=zones][data-value="${zone}"]`).click();
  await t.waitFor(() => !page.url().includes('zone='), 'a second click clears it', 5);

  t.step('scrolling loads the next page');
  await page.goto(`${t.base}/#/search`);
  await results(page).first().waitFor({ timeout: 15000 });
  const sentinel = page.getByTestId('search-sentinel');
  if ((await sentinel.getAttribute('data-has-more')) === 'true') {
    const before = await results(page).count();
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await t.waitFor(async () => (await results(page).count()) > before, `more than ${before} results after scrolling`, 15);
    const ids = await results(page).evaluateAll((els) => els.map((e) => `${e.dataset.type}-${e.dataset.eventId ?? e.dataset.detectionId}`));
    t.check(new Set(ids).size === ids.length, 'no result twice');
  } else {
    t.step('one page only: nothing more to load');
  }
}
