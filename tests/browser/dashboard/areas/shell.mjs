// The shell: a signed-out browser gets the sign-in form, which submits on
// Enter; signed in, the nav lists every page and each link opens its page
// (marked current, the page's title in the tab); the theme switch sets the
// theme and it survives a reload; at phone width the nav hides behind the
// menu button. Console errors fail the run (the harness collects them).
import fs from 'node:fs';

export const name = 'shell';

// The page registry (web/src/lib/pages.ts): [path, title, least role], in nav order.
const registry = fs.readFileSync(new URL('../../../../web/src/lib/pages.ts', import.meta.url), 'utf8');
const PAGES = [...registry.matchAll(/path:\s*'([^']+)',\s*title:\s*'([^']+)',\s*least:\s*'([^']+)'/g)]
  .map((m) => [m[1], m[2], m[3]]);

export async function run(t) {
  t.step('signed out: the sign-in form');
  const out = await t.signedOutPage();
  const nameInput = out.locator('input[name=name]');
  await nameInput.waitFor({ timeout: 15000 });
  t.check(await out.locator('input[name=password][type=password]').count() === 1, 'a password input');
  t.check(await out.locator('form button[type=submit]').count() === 1, 'a submit button');
  t.check(await out.getByTestId('who').count() === 0, 'no shell before signing in');
  t.check(await out.locator('nav a').count() === 0, 'no nav before signing in');
  await t.shoot(out, 'shell-sign-in', { themes: true });

  t.step('the form submits on Enter (viewer)');
  await nameInput.fill(t.credentials.viewer.name);
  await out.locator('input[name=password]').fill(t.credentials.viewer.password);
  await out.locator('input[name=password]').press('Enter');
  await out.getByTestId('who').waitFor({ state: 'attached', timeout: 15000 });
  const who = (await out.getByTestId('who').textContent()) ?? '';
  t.check(who.includes(t.credentials.viewer.name) && who.includes('viewer'), `the shell names the viewer: ${who}`);
  const viewerNav = (await out.locator('nav a').allTextContents()).map((x) => x.trim());
  const forViewers = PAGES.filter((p) => p[2] === 'viewer').map((p) => p[1]);
  t.check(JSON.stringify(viewerNav) === JSON.stringify(forViewers),
    `a viewer's nav lists the viewers' pages ${forViewers.join(', ')}: got ${viewerNav.join(', ')}`);

  t.check(PAGES.length >= 8, `the page registry parsed: ${PAGES.length} pages`);
  t.step('nav: a link per page, each opens its page');
  const page = t.page;
  await page.goto(`${t.base}/#/live`);
  await page.getByTestId('who').waitFor({ state: 'attached', timeout: 15000 });
  const links = page.locator('nav a');
  const titles = (await links.allTextContents()).map((s) => s.trim());
  t.check(JSON.stringify(titles) === JSON.stringify(PAGES.map((p) => p[1])),
    `nav lists ${PAGES.map((p) => p[1]).join(', ')}: got ${titles.join(', ')}`);
  for (const [p, title] of PAGES) { // admin: every page
    await page.locator('nav a', { hasText: title }).first().click();
    await t.waitFor(async () => (await page.evaluate(() => location.hash)).startsWith(`#${p}`), `#${p} after clicking ${title}`, 10);
    const current = page.locator('nav a[aria-current=page]');
    await t.waitFor(async () => ((await current.textContent()) ?? '').trim() === title, `${title} marked current`, 10);
    await t.waitFor(async () => (await page.title()).startsWith(title), `the tab titled ${title}`, 10);
    // the page's chunk loaded: no "cannot load" error box
    await t.waitFor(async () => (await page.locator('main.content').textContent())?.trim(), `${title} shows something`, 15);
    t.check(!/cannot load/.test((await page.locator('main.content').textContent()) ?? ''), `${title}'s chunk loads`);
  }

  t.step('theme switch: dark, kept over a reload, then light');
  await page.goto(`${t.base}/#/live`);
  const select = page.locator('.topbar select');
  await select.selectOption('dark');
  await t.waitFor(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', 'data-theme=dark', 5);
  const bgDark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.reload();
  await page.getByTestId('who').waitFor({ state: 'attached', timeout: 15000 });
  t.check(await page.evaluate(() => document.documentElement.dataset.theme) === 'dark', 'dark theme kept after a reload');
  t.check(await select.inputValue() === 'dark', 'the switch shows Dark after a reload');
  await select.selectOption('light');
  await t.waitFor(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'light', 'data-theme=light', 5);
  const bgLight = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  t.check(bgDark !== bgLight, `the themes differ: dark ${bgDark}, light ${bgLight}`);
  await page.evaluate(() => localStorage.removeItem('vigil-theme'));
  await t.shoot(page, 'shell', { themes: true });

  t.step('phone width: the nav hides behind the menu button');
  const phone = await t.newPage('operator', { viewport: { width: 390, height: 844 } });
  const menu = phone.getByRole('button', { name: 'Menu' });
  t.check(await menu.isVisible(), 'the menu button shows at 390 px');
  t.check(!(await phone.locator('nav').isVisible()), 'the nav is hidden until the menu opens');
  await menu.click();
  await phone.locator('nav').waitFor({ state: 'visible', timeout: 5000 });
  t.check(await menu.getAttribute('aria-expanded') === 'true', 'the menu says it is open');
  await phone.locator('nav a', { hasText: 'Cameras' }).click();
  await t.waitFor(async () => (await phone.evaluate(() => location.hash)).startsWith('#/cameras'), 'Cameras opened from the menu', 10);
  t.check(!(await phone.locator('nav').isVisible()), 'the menu closes after choosing a page');
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  t.check(width <= 390, `no sideways scrolling at 390 px: the page is ${width} px wide`);
}
