// Account: sign in through the password form (a fresh context, no cookies);
// the Account page names the user and lists this session; change the
// password and back; register a passkey through Chromium's virtual
// authenticator (CDP WebAuthn), sign out, sign in with the passkey, remove
// it; push alerts: with the server's push routes, subscribe with filters
// (PushManager.subscribe stubbed: headless Chromium reaches no push service,
// so the test chooses the endpoint and keys) and see the subscription posted,
// listed and removed; without them, the page says the server sends no alerts.
//
// Passkeys need a host name for the relying party (an IP address cannot be
// one): vigil's default rp_id for a loopback listener is `localhost`, so this
// area opens the dashboard at http://localhost:PORT, one of the default
// auth.origins.
import crypto from 'node:crypto';

export const name = 'account';

function localhostBase(base) {
  const u = new URL(base);
  if (u.hostname === '127.0.0.1' || u.hostname === '[::1]') u.hostname = 'localhost';
  return u.origin;
}

async function signInWithPassword(t, page, who) {
  const form = page.locator('input[name=name]');
  await form.waitFor({ timeout: 20000 });
  await form.fill(who.name);
  await page.locator('input[name=password]').fill(who.password);
  await page.locator('form button[type=submit]').click();
  await page.getByTestId('who').waitFor({ state: 'attached', timeout: 20000 });
}

async function openAccount(t, page, base) {
  await page.goto(`${base}/#/account`);
  await page.getByTestId('account-user').waitFor({ timeout: 15000 });
}

async function changePassword(t, page, from, to) {
  await page.getByTestId('password-current').fill(from);
  await page.getByTestId('password-new').fill(to);
  await page.getByTestId('password-again').fill(to);
  await page.getByTestId('password-again').press('Enter');
  await page.getByTestId('password-done').waitFor({ timeout: 15000 });
}

// The page script that stands in for the browser's push service.
function pushStub(sub) {
  return `(() => {
    const SUB = ${JSON.stringify(sub)};
    const b64u = (s) => {
      s = s.replace(/-/g, '+').replace(/_/g, '/');
      while (s.length % 4) s += '=';
      return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)).buffer;
    };
    let current = null;
    const make = (opts) => ({
      endpoint: SUB.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: opts.applicationServerKey },
      getKey: (name) => b64u(SUB.keys[name]),
      toJSON: () => ({ endpoint: SUB.endpoint, expirationTime: null, keys: SUB.keys }),
      unsubscribe: async () => { current = null; window.__pushUnsubscribed = (window.__pushUnsubscribed || 0) + 1; return true; },
    });
    if (window.PushManager) {
      PushManager.prototype.subscribe = async function (opts) {
        window.__pushSubscribeKey = opts && opts.applicationServerKey ? opts.applicationServerKey.byteLength : 0;
        current = make(opts);
        return current;
      };
      PushManager.prototype.getSubscription = async function () { return current; };
    }
  })();`;
}

export async function pushPart(t, base) {
  const doc = await t.api('GET', '/api/v1/openapi.json');
  const hasPush = doc.status === 200 && doc.body && doc.body.paths && doc.body.paths['/api/v1/push/subscriptions'];
  const page = await t.newPage('viewer');
  if (!hasPush) {
    t.step('push: the server has no push routes: the page says so (and asks none of them)');
    const asked = [];
    page.on('request', (r) => { if (r.url().includes('/api/v1/push')) asked.push(r.url()); });
    await openAccount(t, page, t.base);
    await page.getByTestId('alerts-absent').waitFor({ timeout: 15000 });
    t.check(asked.length === 0, `no push route asked: ${asked.join(', ')}`);
    return;
  }

  t.step('push: subscribe with filters (PushManager stubbed), listed, removed');
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  const sub = {
    // a host name (an IP or localhost is refused without push.allow_http_loopback);
    // never contacted: this test sends no alert
    endpoint: `https://push.example.invalid/send/${crypto.randomBytes(6).toString('hex')}`,
    keys: {
      p256dh: ecdh.getPublicKey().toString('base64url'),
      auth: crypto.randomBytes(16).toString('base64url'),
    },
  };
  await page.context().grantPermissions(['notifications'], { origin: t.base });
  await page.addInitScript(pushStub(sub));
  const posted = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/api/v1/push/subscriptions')) posted.push(r.postDataJSON());
  });
  await page.goto(`${t.base}/#/account`);
  await page.reload(); // the init script is in place before the service worker's page loads
  const form = page.getByTestId('push-form');
  await form.waitFor({ timeout: 20000 });
  await page.getByTestId('push-filter-cameras').getByLabel(t.camera, { exact: true }).check();
  await page.getByTestId('push-filter-kinds').getByLabel('line_cross', { exact: true }).check();
  const summary = (await page.getByTestId('push-summary').textContent()) ?? '';
  t.check(summary.includes(`cameras ${t.camera}`) && summary.includes('kinds line_cross'), `the summary names the filters: ${summary}`);
  await page.getByTestId('push-subscribe').click();
  await page.getByTestId('push-notice').waitFor({ timeout: 20000 });
  t.check(posted.length === 1, `one subscription posted (${posted.length})`);
  const body = posted[0];
  t.check(body.endpoint === sub.endpoint, `the endpoint posted is the browser's: ${body.endpoint}`);
  t.check(body.keys.p256dh === sub.keys.p256dh && body.keys.auth === sub.keys.auth, 'the keys posted are the browser\'s');
  t.check(JSON.stringify(body.filters.cameras) === JSON.stringify([t.camera]), `filters.cameras: ${JSON.stringify(body.filters)}`);
  t.check(JSON.stringify(body.filters.kinds) === JSON.stringify(['line_cross']), `filters.kinds: ${JSON.stringify(body.filters)}`);
  t.check(await page.evaluate(() => window.__pushSubscribeKey) === 65, 'subscribed with the server\'s 65-byte VAPID key');
  const row = page.getByTestId('push-row').filter({ hasText: 'this device' });
  await row.waitFor({ timeout: 10000 });
  const rowText = (await row.textContent()) ?? '';
  t.check(rowText.includes(new URL(sub.endpoint).origin), `the row names the push service: ${rowText}`);
  t.check(rowText.includes('line_cross'), `the row shows the filters: ${rowText}`);
  t.check(await page.getByTestId('push-test').count() === 1, 'a "send a test alert" button');
  await t.shoot(page, 'account-push');
  await row.getByTestId('push-remove').click();
  await row.getByTestId('push-confirm-remove').click();
  await t.waitFor(async () => (await page.getByTestId('push-row').filter({ hasText: 'this device' }).count()) === 0,
    'the subscription gone from the list', 10);
  t.check(await page.evaluate(() => window.__pushUnsubscribed) === 1, 'the browser\'s subscription ended too');
}

export async function run(t) {
  const who = t.credentials.viewer;
  const base = localhostBase(t.base);

  t.step(`sign in with the password form (viewer, at ${base})`);
  const page = await t.signedOutPage();
  if (base !== new URL(t.base).origin) {
    await page.locator('input[name=name]').waitFor({ timeout: 20000 });
    t.check(await page.getByTestId('passkey-sign-in').count() === 0, `no passkey button at ${t.base} (an IP is no relying party id)`);
    const link = page.getByTestId('passkey-elsewhere').locator('a');
    t.check((await link.getAttribute('href'))?.startsWith(`${base}/`), 'a link to sign in at localhost instead');
  }
  await page.goto(`${base}/`);
  t.check(await page.getByTestId('passkey-sign-in').count() === 1, 'the sign-in form offers a passkey');
  t.check(await page.locator('form button[type=submit]').count() === 1, 'one submit button (the password one)');
  await signInWithPassword(t, page, who);

  t.step('the Account page names me and lists this session');
  await openAccount(t, page, base);
  t.check((await page.getByTestId('account-user').textContent()) === who.name, 'Account names the user');
  t.check(((await page.getByTestId('account-role').textContent()) ?? '').startsWith('viewer'), 'Account names the role');
  await page.getByTestId('session-current').waitFor({ timeout: 10000 });
  t.check(await page.getByTestId('tokens').count() === 1, 'my tokens are on the page');
  await t.shoot(page, 'account', { themes: true });

  t.step('change the password, and back');
  const other = `${who.password}-changed`;
  await changePassword(t, page, who.password, other);
  await openAccount(t, page, base); // still signed in: the reply was a new session
  await changePassword(t, page, other, who.password);

  t.step('register a passkey with the virtual authenticator');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const keyName = `browser-test-${Date.now() % 100000}`;
  await page.getByTestId('passkey-name').fill(keyName);
  await page.getByTestId('passkey-add').click();
  const added = page.getByTestId('passkey-added');
  await Promise.race([
    added.waitFor({ timeout: 20000 }),
    page.locator('[data-testid=passkeys] [role=alert]').waitFor({ timeout: 20000 }).then(async () => {
      throw new Error(`registration failed: ${await page.locator('[data-testid=passkeys] [role=alert]').textContent()}`);
    }),
  ]);
  const row = page.getByTestId('passkey-row').filter({ hasText: keyName });
  await row.waitFor({ timeout: 10000 });
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  t.check(credentials.length === 1 && credentials[0].isResidentCredential, `the authenticator holds one resident key (${credentials.length})`);

  t.step('sign out, then sign in with the passkey');
  await page.getByRole('button', { name: 'Sign out' }).click();
  const button = page.getByTestId('passkey-sign-in');
  await button.waitFor({ timeout: 15000 });
  await button.click();
  await page.getByTestId('who').waitFor({ state: 'attached', timeout: 20000 });
  const line = (await page.getByTestId('who').textContent()) ?? '';
  t.check(line.includes(who.name) && line.includes('viewer'), `signed in by passkey as the viewer: ${line}`);
  const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  t.check(after[0].signCount > credentials[0].signCount, 'the passkey was used (its sign count grew)');

  t.step('the passkey shows as used; remove it');
  await openAccount(t, page, base);
  const used = page.getByTestId('passkey-row').filter({ hasText: keyName });
  await used.waitFor({ timeout: 10000 });
  t.check(!((await used.textContent()) ?? '').includes('last used never'), 'last used is set');
  await used.getByTestId('passkey-remove').click();
  await used.getByTestId('passkey-confirm-remove').click();
  await t.waitFor(async () => (await page.getByTestId('passkey-row').filter({ hasText: keyName }).count()) === 0,
    'the passkey gone from the list', 10);

  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });

  await pushPart(t, base);
}
