#!/usr/bin/env bash
# web_checks (ctest, label unit, release tree only): the dashboard's static
# and unit checks in web/ — svelte-check (types, a11y and Svelte warnings
# fail it), eslint, vitest (jsdom component and unit tests, web/tests/).
# Skips (77) when node or web/node_modules is absent (make test runs npm ci
# there first: scripts/setup.sh web).
set -u
root="${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}"
cd "$root/web" || exit 1
if ! command -v node >/dev/null || ! command -v npx >/dev/null; then
  echo "SKIP: node/npx not installed"; exit 77
fi
if [ ! -d node_modules ]; then
  echo "SKIP: web/node_modules absent (npm ci in web/, or make web)"; exit 77
fi
status=0
run() {
  local t0=$SECONDS
  echo "== $*"
  if "$@"; then echo "== ok: $* ($((SECONDS - t0)) s)"; else echo "== FAILED: $* ($((SECONDS - t0)) s)"; status=1; fi
}
run npx --no-install svelte-check --tsconfig ./tsconfig.json --fail-on-warnings
run npx --no-install eslint .
run npx --no-install vitest run
exit $status
