// Roles: a viewer sees no admin pages or buttons (no Add camera, no Users
// panel, no delete or toggle buttons, no user or audit tabs), and opening an
// admin-only panel by its URL says whom it is for instead of failing or
// showing nothing. An operator may toggle cameras but not add or remove them.
export const name = 'roles';

export async function run(t) {
  const viewer = await t.newPage('viewer');

  t.step('viewer: Cameras lists cameras without write buttons');
  await viewer.goto(`${t.base}/#/cameras`);
  await viewer.locator(`[data-testid=camera][data-id="${t.camera}"]`).waitFor({ timeout: 15000 });
  for (const id of ['add-camera', 'toggle-camera', 'edit-camera', 'remove-camera']) {
    t.check(await viewer.getByTestId(id).count() === 0, `viewer sees no ${id} button`);
  }
  t.check(await viewer.getByRole('button', { name: /remove|delete/i }).count() === 0, 'viewer sees no remove/delete button');

  t.step('viewer: System has no Users or Audit tab');
  await viewer.goto(`${t.base}/#/system`);
  await viewer.getByTestId('panel-pipeline').waitFor({ timeout: 10000 });
  t.check(await viewer.getByTestId('panel-users').count() === 0, 'no Users tab');
  t.check(await viewer.getByTestId('panel-audit').count() === 0, 'no Audit tab');
  t.check(await viewer.getByTestId('users').count() === 0, 'no Users panel');

  for (const panel of ['users', 'audit']) {
    t.step(`viewer: #/system?panel=${panel} says it is for admins`);
    await viewer.goto(`${t.base}/#/system?panel=${panel}`);
    await viewer.reload();
    const note = viewer.getByTestId('admin-only');
    await note.waitFor({ timeout: 10000 });
    const text = (await note.textContent()) ?? '';
    t.check(/for admins/i.test(text), `the note says it is for admins: ${text}`);
    t.check(await viewer.getByTestId('users-table').count() === 0, 'no user list');
    t.check(await viewer.locator('[role=alert]').count() === 0, 'no error shown');
    if (panel === 'users') await t.shoot(viewer, 'roles-viewer-admin-only');
  }

  t.step('viewer: tokens panel has no "everyone\'s tokens" switch');
  await viewer.goto(`${t.base}/#/system?panel=tokens`);
  await viewer.getByTestId('tokens-table').waitFor({ timeout: 10000 });
  t.check(await viewer.getByTestId('tokens-all').count() === 0, 'no all=true switch for a viewer');
  await viewer.context().close();

  t.step('operator: may enable/disable, not add, edit or remove');
  const op = await t.newPage('operator');
  await op.goto(`${t.base}/#/cameras`);
  await op.locator(`[data-testid=camera][data-id="${t.camera}"]`).waitFor({ timeout: 15000 });
  t.check(await op.getByTestId('toggle-camera').count() > 0, 'operator sees enable/disable');
  for (const id of ['add-camera', 'edit-camera', 'remove-camera']) {
    t.check(await op.getByTestId(id).count() === 0, `operator sees no ${id} button`);
  }
  await op.context().close();
}
