// Hash routes (#/live, #/review?event=12): the server serves one shell at /,
// and a notification or a bookmark opens a page and its state directly.

export interface Route {
  path: string; // '/live'
  params: URLSearchParams;
}

function parse(): Route {
  const h = location.hash.replace(/^#/, '') || '/live';
  const [path, q = ''] = h.split('?', 2);
  return { path: path || '/live', params: new URLSearchParams(q) };
}

export const route = $state(parse());

window.addEventListener('hashchange', () => {
  const r = parse();
  route.path = r.path;
  route.params = r.params;
});

export function navigate(path: string, params?: Record<string, string | number | undefined>): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  location.hash = s ? `${path}?${s}` : path;
}

/** Replaces the query of the current page without a new history entry. */
export function setParams(params: Record<string, string | number | undefined>): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  history.replaceState(null, '', `#${route.path}${s ? '?' + s : ''}`);
  route.params = q;
}
