// Cameras page: add a camera from the UI (its source the sample video), the
// connection test says it opened, the camera goes online (the API's status)
// and the page shows it, disable and enable it, then remove it with the
// confirmation. (A configuration camera's 409 is checked by vitest, not here:
// Chromium logs every 4xx as a console error, which fails the run.)
export const name = 'cameras';

export async function run(t) {
  const page = t.page;
  let video = process.env.VIGIL_SAMPLE_VIDEO;
  if (!video) {
    const street = await t.api('GET', `/api/v1/cameras/${t.camera}`);
    t.check(street.status === 200, `GET camera ${t.camera}: ${street.status}`);
    video = street.body.url;
  }
  const id = `ui-cam-${Date.now().toString(36)}`;
  const card = page.locator(`[data-testid=camera][data-id="${id}"]`);

  t.step('the list shows the sample camera');
  await page.goto(`${t.base}/#/cameras`);
  await page.locator(`[data-testid=camera][data-id="${t.camera}"]`).waitFor({ timeout: 10000 });

  t.step(`add camera ${id}: fill the form, test the connection`);
  await page.getByTestId('add-camera').click();
  await page.getByTestId('camera-id').fill(id);
  await page.getByTestId('camera-name').fill(`UI camera ${id}`);
  await page.getByTestId('camera-url').fill(video);
  await page.getByTestId('camera-fps').fill('2');
  await page.getByTestId('test-connection').click();
  const result = page.getByTestId('test-result');
  await result.waitFor({ timeout: 15000 });
  const ok = await result.getAttribute('data-ok');
  const said = (await result.textContent()) ?? '';
  t.check(ok === 'true', `connection test of ${video} failed: ${said}`);
  t.check(/Opened/.test(said), `connection test says what it found: ${said}`);
  await t.shoot(page, 'cameras-add');

  t.step('save: the camera appears and goes online');
  await page.getByTestId('camera-save').click();
  await card.waitFor({ timeout: 10000 });
  try {
    await t.waitFor(async () => {
      const r = await t.api('GET', `/api/v1/cameras/${id}`);
      return r.status === 200 && r.body.status === 'online';
    }, `camera ${id} online in the API`, 20);
    await t.waitFor(async () => (await card.getAttribute('data-status')) === 'online', `camera ${id} online on the page`, 10);
    const shown = (await card.getByTestId('camera-status').textContent())?.trim();
    t.check(shown === 'online', `the page shows status "online", not "${shown}"`);
    await t.shoot(page, 'cameras');

    t.step('disable and enable it again');
    await card.getByTestId('toggle-camera').click();
    await t.waitFor(async () => (await card.getAttribute('data-enabled')) === 'false', 'camera disabled on the page', 10);
    const off = await t.api('GET', `/api/v1/cameras/${id}`);
    t.check(off.body.enabled === false, 'the API says disabled');
    await card.getByTestId('toggle-camera').click();
    await t.waitFor(async () => (await card.getAttribute('data-enabled')) === 'true', 'camera enabled on the page', 10);
  } finally {
    t.step(`remove ${id} with the confirmation`);
    if (await card.count()) {
      await card.getByTestId('remove-camera').click();
      await card.getByTestId('confirm-remove').click();
      await card.waitFor({ state: 'detached', timeout: 10000 });
    }
    const gone = await t.api('GET', `/api/v1/cameras/${id}`);
    if (gone.status === 200) await t.api('DELETE', `/api/v1/cameras/${id}`);
  }
  const after = await t.api('GET', `/api/v1/cameras/${id}`);
  t.check(after.status === 404, `camera ${id} removed: GET answers ${after.status}`);
}
