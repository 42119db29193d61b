// A headless Chromium with a virtual passkey authenticator, driven line by
// line from a test (tests/e2e/test_api_passkeys.py).
//
// Main idea: the test owns the scenario and this script only does what a
// browser does. Each line on stdin is one JSON command; each answer is one
// JSON line on stdout ({"ok":true,...} or {"ok":false,"error":"..."}). The
// page is a blank HTML document that Playwright serves for URL (a route, so
// vigil needs no page of its own) on vigil's origin: its fetch() calls reach
// the real server with the page's Origin and cookies, and WebAuthn's
// clientDataJSON names that origin. The authenticator is Chromium's virtual
// one from the DevTools protocol (WebAuthn.addVirtualAuthenticator: CTAP2,
// internal transport, resident keys, user verified), so create() and get()
// make real keys and signatures without a person touching anything.
//
// Commands:
//   {"op":"open","url":"http://localhost:PORT/passkey-test"}  starts Chromium
//   {"op":"goto","url":"..."}  the same page and authenticator, another URL
//       (both take "byHand":true: options converted by this script's code, not
//       by PublicKeyCredential.parse*OptionsFromJSON)
//   {"op":"fetch","method":"POST","path":"/api/v1/...","body":{...},"csrf":"..."}
//       -> {"status":N,"body":<JSON or text>}
//   {"op":"create","publicKey":<CreationOptionsJSON>} -> {"credential":<toJSON()>}
//   {"op":"get","publicKey":<RequestOptionsJSON>}     -> {"credential":<toJSON()>}
//   {"op":"credentials"}  -> the authenticator's credentials (CDP getCredentials)
//   {"op":"set_sign_count","credentialId":"<base64>","signCount":N}
//       replaces the credential by itself with another counter
//   {"op":"quit"}
//
// Chromium is Debian's /usr/bin/chromium (VIGIL_CHROMIUM overrides); as
// root its sandbox cannot start, so it runs without (Playwright's default).
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const executablePath = process.env.VIGIL_CHROMIUM || '/usr/bin/chromium';
let browser = null, context = null, page = null, cdp = null, authenticatorId = null;

const BLANK = '<!doctype html><html><head><meta charset="utf-8"><title>passkey test</title>' +
              '</head><body>vigil passkey test page</body></html>';

// In the page: the JSON options to what create()/get() take. Chromium has
// PublicKeyCredential.parse*OptionsFromJSON (WebAuthn L3); the by-hand path
// is for a browser without them.
const PAGE_HELPERS = `
window.__b64uToBuf = (s) => {
  s = s.replace(/-/g, '+').replace(/_/g, '/');
  while (s.length % 4) s += '=';
  const bin = atob(s), out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
};
window.__creation = (o) => {
  if (!window.__byHand && PublicKeyCredential.parseCreationOptionsFromJSON)
    return PublicKeyCredential.parseCreationOptionsFromJSON(o);
  return Object.assign({}, o, {
    challenge: __b64uToBuf(o.challenge),
    user: Object.assign({}, o.user, { id: __b64uToBuf(o.user.id) }),
    excludeCredentials: (o.excludeCredentials || []).map(
      (c) => Object.assign({}, c, { id: __b64uToBuf(c.id) })),
  });
};
window.__request = (o) => {
  if (!window.__byHand && PublicKeyCredential.parseRequestOptionsFromJSON)
    return PublicKeyCredential.parseRequestOptionsFromJSON(o);
  return Object.assign({}, o, {
    challenge: __b64uToBuf(o.challenge),
    allowCredentials: (o.allowCredentials || []).map(
      (c) => Object.assign({}, c, { id: __b64uToBuf(c.id) })),
  });
};
`;

// Shows the blank page at url (served by the route, not by vigil).
// byHand: convert the options in JavaScript even where Chromium could parse them.
async function goto({ url, byHand }) {
  await page.route(url, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: BLANK }));
  await page.goto(url);
  await page.addScriptTag({ content: PAGE_HELPERS + `window.__byHand = ${!!byHand};` });
  return page.evaluate(() => ({
    origin: location.origin,
    secure: isSecureContext,
    parseJSON: typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function',
    userAgent: navigator.userAgent,
  }));
}

async function open({ url, byHand }) {
  browser = await chromium.launch({ executablePath, chromiumSandbox: false });
  context = await browser.newContext();
  page = await context.newPage();
  await goto({ url, byHand });
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  }));
  return goto({ url, byHand });
}

async function doFetch({ method, path, body, csrf }) {
  return page.evaluate(async ({ method, path, body, csrf }) => {
    const headers = {};
    if (body !== undefined && body !== null) headers['Content-Type'] = 'application/json';
    if (csrf) headers['X-CSRF-Token'] = csrf;
    const r = await fetch(path, {
      method,
      headers,
      body: body === undefined || body === null ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    const text = await r.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch (e) { /* not JSON: keep the text */ }
    return { status: r.status, body: parsed };
  }, { method, path, body, csrf });
}

async function ceremony(kind, publicKey) {
  return page.evaluate(async ({ kind, publicKey }) => {
    try {
      const cred = kind === 'create'
        ? await navigator.credentials.create({ publicKey: __creation(publicKey) })
        : await navigator.credentials.get({ publicKey: __request(publicKey) });
      return { credential: cred.toJSON() };
    } catch (e) {
      return { browserError: `${e.name}: ${e.message}` };
    }
  }, { kind, publicKey });
}

async function setSignCount({ credentialId, signCount }) {
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  const c = credentials.find((x) => x.credentialId === credentialId);
  if (!c) throw new Error(`no credential ${credentialId} in the virtual authenticator`);
  await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId });
  await cdp.send('WebAuthn.addCredential', {
    authenticatorId,
    credential: Object.assign({}, c, { signCount }),
  });
  return { signCount };
}

const ops = {
  open,
  goto,
  fetch: doFetch,
  create: (c) => ceremony('create', c.publicKey),
  get: (c) => ceremony('get', c.publicKey),
  credentials: async () => cdp.send('WebAuthn.getCredentials', { authenticatorId }),
  set_sign_count: setSignCount,
};

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    reply({ ok: false, error: `command is not JSON: ${e.message}` });
    continue;
  }
  if (cmd.op === 'quit') break;
  const fn = ops[cmd.op];
  if (!fn) {
    reply({ ok: false, error: `unknown op "${cmd.op}"` });
    continue;
  }
  try {
    reply(Object.assign({ ok: true }, await fn(cmd)));
  } catch (e) {
    reply({ ok: false, error: String((e && e.stack) || e) });
  }
}
if (browser) await browser.close();
