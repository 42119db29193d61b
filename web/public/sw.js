// vigil's service worker: the dashboard's shell offline, and web push alerts.
//
// Main idea: the shell is index.html plus the content-hashed files under
// /assets/ that it loads (directly, or as lazily loaded page chunks named in
// the entry script). Navigations go to the network first, so a new build is
// seen at once, and fall back to the cached index.html when the network is
// down; each index.html fetched refreshes the cache with the files it names
// and drops those no build names any more. /assets/* are immutable, so they
// are served from the cache when there. The API (/api/, /healthz, /readyz,
// /metrics) is never cached or even touched here: its answers go straight
// to the page, which shows when it cannot reach vigil.
//
// Push: the server sends {"title","body","event_id","camera","url"}
// (RFC 8291 encrypted; the browser decrypts); a notification shows it, and
// clicking it focuses a dashboard window on its url (e.g.
// "/#/review?event=12") or opens one.

const CACHE = 'vigil-shell-v1';
const SHELL = '/';
const STATIC = ['/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/icon-512.png'];
const MAX_ASSETS = 300;

function isApi(path) {
  return path.startsWith('/api/') || path === '/healthz' || path === '/readyz' || path === '/metrics';
}

// The /assets/ files that text (HTML, JS or CSS) names: "/assets/x.js",
// "assets/x.js" (Vite's preload list) and "./x.js" inside an asset.
function assetRefs(text, inAsset) {
  const refs = new Set();
  for (const m of text.matchAll(/(?:^|["'`(\s,=])\/?(assets\/[A-Za-z0-9._-]+\.(?:js|css|woff2?|svg|png|webp))/g)) {
    refs.add('/' + m[1]);
  }
  if (inAsset) {
    for (const m of text.matchAll(/["'`]\.\/([A-Za-z0-9._-]+\.(?:js|css|woff2?|svg|png|webp))["'`]/g)) {
      refs.add('/assets/' + m[1]);
    }
  }
  return refs;
}

// Caches index.html (the response given) and every asset it leads to; then
// drops cached assets that it does not lead to (an older build's).
async function cacheShell(response) {
  const cache = await caches.open(CACHE);
  const html = await response.clone().text();
  await cache.put(SHELL, response.clone());
  const seen = new Set();
  let todo = [...assetRefs(html, false)];
  while (todo.length && seen.size < MAX_ASSETS) {
    const url = todo.shift();
    if (seen.has(url)) continue;
    seen.add(url);
    let res = await cache.match(url);
    if (!res) {
      try {
        res = await fetch(url);
      } catch {
        continue; // offline part way: what was cached stays
      }
      if (!res.ok) continue;
      await cache.put(url, res.clone());
    }
    if (/\.(js|css)$/.test(url)) {
      for (const r of assetRefs(await res.text(), true)) if (!seen.has(r)) todo.push(r);
    }
  }
  for (const req of await cache.keys()) {
    const path = new URL(req.url).pathname;
    if (path.startsWith('/assets/') && !seen.has(path)) await cache.delete(req);
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      try {
        const res = await fetch(SHELL, { cache: 'no-cache' });
        if (res.ok) await cacheShell(res);
        const cache = await caches.open(CACHE);
        await Promise.all(
          STATIC.map((u) =>
            fetch(u, { cache: 'no-cache' })
              .then((r) => (r.ok ? cache.put(u, r) : undefined))
              .catch(() => undefined),
          ),
        );
      } catch {
        // offline at install: the shell is cached on the first navigation instead
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

async function navigation(event) {
  try {
    const res = await fetch(event.request);
    const type = res.headers.get('Content-Type') || '';
    if (res.ok && type.startsWith('text/html') && new URL(event.request.url).pathname === '/') {
      event.waitUntil(cacheShell(res.clone()).catch(() => undefined));
    }
    return res;
  } catch (e) {
    const cached = await caches.match(SHELL);
    if (cached) return cached;
    throw e;
  }
}

async function asset(request) {
  const cached = await caches.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const res = await fetch(request);
  if (res.ok) {
    const cache = await caches.open(CACHE);
    await cache.put(new URL(request.url).pathname, res.clone());
  }
  return res;
}

// Icons and the manifest: the network, else the cached copy.
async function networkFirst(request) {
  try {
    const res = await fetch(request);
    if (res.ok) {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(new URL(request.url).pathname, copy)).catch(() => undefined);
    }
    return res;
  } catch (e) {
    const cached = await caches.match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw e;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || isApi(url.pathname)) return; // never cached
  if (request.mode === 'navigate') {
    event.respondWith(navigation(event));
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(asset(request));
  } else if (STATIC.includes(url.pathname)) {
    event.respondWith(networkFirst(request));
  }
});

// Push: {"title","body","event_id","camera","url"}; a payload that is not
// JSON is shown as the body.
self.addEventListener('push', (event) => {
  let msg = {};
  if (event.data) {
    try {
      msg = event.data.json();
    } catch {
      msg = { body: event.data.text() };
    }
  }
  const title = typeof msg.title === 'string' && msg.title ? msg.title : 'vigil';
  const url =
    typeof msg.url === 'string' && msg.url
      ? msg.url
      : msg.event_id !== undefined && msg.event_id !== null
        ? `/#/review?event=${encodeURIComponent(msg.event_id)}`
        : '/';
  const options = {
    body: typeof msg.body === 'string' ? msg.body : '',
    icon: '/icon-192.png',
    badge: '/icon-192.png',
    data: { url, event_id: msg.event_id ?? null, camera: msg.camera ?? null },
  };
  // one notification per event: a later message about it replaces the earlier
  if (msg.event_id !== undefined && msg.event_id !== null) options.tag = `vigil-event-${msg.event_id}`;
  event.waitUntil(self.registration.showNotification(title, options));
});

// Only same-origin URLs are opened (a payload cannot send the user elsewhere).
function targetUrl(data) {
  try {
    const u = new URL((data && data.url) || '/', self.location.origin);
    return u.origin === self.location.origin ? u.href : self.location.origin + '/';
  } catch {
    return self.location.origin + '/';
  }
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = targetUrl(event.notification.data);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const client of windows) {
        if (new URL(client.url).origin !== self.location.origin) continue;
        try {
          const focused = await client.focus();
          if (client.url !== url) await (focused || client).navigate(url);
          return;
        } catch {
          // an uncontrolled window cannot be navigated from here: open one
        }
      }
      await self.clients.openWindow(url);
    })(),
  );
});
