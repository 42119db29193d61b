#!/usr/bin/env bash
# Installs the API's test-only tools into the cache dir (never into git):
#   $VIGIL_CACHE/api-test-venv   schemathesis, http-ece, grpcio, h2 ... (pinned in requirements.txt), from PyPI
# Idempotent: reinstalls only when requirements.txt changed or the venv is
# broken. tests/e2e/test_api_schemathesis.py runs it before it starts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${VIGIL_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
venv="$VIGIL_CACHE/api-test-venv"

if [ ! -x "$venv/bin/schemathesis" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt" ||
   ! "$venv/bin/python" -c "import schemathesis" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi
echo "API test tools in $venv"
