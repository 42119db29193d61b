// System page: the stage table and warehouse totals show the API's numbers
// (GET /api/v1/stats) and refresh, storage shows each camera's frames; the
// tokens, users and audit panels open and list what the API lists.
export const name = 'system';

const num = (s) => Number(String(s).trim());

export async function run(t) {
  const page = t.page;

  t.step('pipeline: a row per stage with numbers, the totals near the API\'s');
  await page.goto(`${t.base}/#/system`);
  await page.locator('[data-testid=stage-row]').first().waitFor({ timeout: 15000 });
  const stats = await t.api('GET', '/api/v1/stats');
  t.check(stats.status === 200, `GET stats: ${stats.status}`);
  for (const stage of Object.keys(stats.body.stages)) {
    const row = page.locator(`[data-testid=stage-row][data-stage="${stage}"]`);
    t.check(await row.count() === 1, `a row for stage ${stage}`);
    const shownIn = num(await row.locator('[data-col=in]').textContent());
    t.check(Number.isFinite(shownIn) && shownIn >= 0, `stage ${stage} in is a number: ${shownIn}`);
  }
  const ingest = page.locator('[data-testid=stage-row][data-stage=ingest] [data-col=in]');
  const first = num(await ingest.textContent());
  t.check(first > 0, `ingest has taken frames: ${first}`);
  await t.waitFor(async () => num(await ingest.textContent()) > first, 'the stage figures refresh', 15);
  const frames = num(await page.getByTestId('store-frames').textContent());
  const after = await t.api('GET', '/api/v1/stats');
  t.check(frames > 0 && frames <= after.body.store.frames, `warehouse frames ${frames} (API ${after.body.store.frames})`);
  const latency = (await page.locator('[data-testid=stage-row][data-stage=infer] [data-col=latency]').textContent()) ?? '';
  t.check(/\d/.test(latency), `the model's latency is shown: ${latency}`);
  const health = (await page.getByTestId('health-status').textContent())?.trim();
  t.check(['ok', 'degraded', 'failed'].includes(health), `health status shown: ${health}`);
  await t.shoot(page, 'system-pipeline');

  t.step('storage: the sample camera\'s frames');
  await page.getByTestId('panel-storage').click();
  const row = page.locator(`[data-testid=storage-row][data-camera="${t.camera}"]`);
  await row.waitFor({ timeout: 15000 });
  const shownFrames = num(await row.locator('[data-col=frames]').textContent());
  const storage = await t.api('GET', '/api/v1/storage');
  const cam = storage.body.cameras.find((c) => c.camera === t.camera);
  t.check(cam && shownFrames > 0 && shownFrames <= cam.frames, `storage frames ${shownFrames} (API ${cam && cam.frames})`);
  t.check(/\d/.test((await row.locator('[data-col=bytes]').textContent()) ?? ''), 'storage size shown');
  await t.shoot(page, 'system-storage');

  t.step('tokens: make one (its secret shown once), revoke it');
  await page.getByTestId('panel-tokens').click();
  await page.getByTestId('tokens-table').waitFor({ timeout: 10000 });
  const label = `ui-${Date.now().toString(36)}`;
  await page.getByTestId('token-label').fill(label);
  await page.getByTestId('token-create').click();
  const secret = (await page.getByTestId('token-value').textContent())?.trim() ?? '';
  t.check(/^vgl_/.test(secret), `the new token is shown: ${secret.slice(0, 8)}…`);
  const tokenRow = page.locator('[data-testid=token-row]', { hasText: label });
  await tokenRow.waitFor({ timeout: 10000 });
  await t.shoot(page, 'system-tokens');
  await tokenRow.getByTestId('token-revoke').click();
  await tokenRow.getByTestId('token-confirm-revoke').click();
  await tokenRow.waitFor({ state: 'detached', timeout: 10000 });

  t.step('users: list, add a viewer, make them operator, remove them');
  await page.getByTestId('panel-users').click();
  await page.getByTestId('users-table').waitFor({ timeout: 10000 });
  const users = await t.api('GET', '/api/v1/users');
  t.check(await page.locator('[data-testid=user-row]').count() === users.body.items.length, 'every user listed');
  const uname = `ui-user-${Date.now().toString(36)}`;
  await page.getByTestId('user-name').fill(uname);
  await page.getByTestId('user-role').selectOption('viewer');
  await page.getByTestId('user-password').fill('ui-password-12345');
  await page.getByTestId('user-add').click();
  const urow = page.locator(`[data-testid=user-row][data-name="${uname}"]`);
  await urow.waitFor({ timeout: 10000 });
  await urow.getByTestId('user-role-select').selectOption('operator');
  await t.waitFor(async () => {
    const u = (await t.api('GET', '/api/v1/users')).body.items.find((x) => x.name === uname);
    return u && u.role === 'operator';
  }, `${uname} operator in the API`, 10);
  await t.shoot(page, 'system-users');
  await urow.getByTestId('user-remove').click();
  await urow.getByTestId('user-confirm-remove').click();
  await urow.waitFor({ state: 'detached', timeout: 10000 });
  const gone = (await t.api('GET', '/api/v1/users')).body.items.find((x) => x.name === uname);
  t.check(!gone, `${uname} removed`);

  t.step('audit: the log lists the user changes just made');
  await page.getByTestId('panel-audit').click();
  await page.locator('[data-testid=audit-row]').first().waitFor({ timeout: 10000 });
  const text = (await page.getByTestId('audit-table').textContent()) ?? '';
  t.check(text.includes(uname), `the audit log names ${uname}`);
  await t.shoot(page, 'system-audit');
}
