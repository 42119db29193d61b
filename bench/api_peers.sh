#!/usr/bin/env bash
# Installs what bench/api.py needs besides vigil, when it is missing, and
# prints the venv's path on its last line:
#   wrk                          the load generator (Debian package)
#   $VIGIL_CACHE/api-venv        FastAPI + uvicorn (uvloop, httptools), pinned in
#                                bench/api_requirements.txt (never into git)
# Idempotent: does nothing when wrk is there and the venv imports the peer's
# packages at the pinned versions (a changed requirements file rebuilds it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${VIGIL_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
venv="$VIGIL_CACHE/api-venv"
req="$here/api_requirements.txt"

sudo_cmd() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v wrk >/dev/null; then
  echo "bench/api_peers.sh: installing wrk" >&2
  sudo_cmd apt-get update -qq >&2
  sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >&2
fi

stamp="$venv/.requirements"
if [ ! -x "$venv/bin/uvicorn" ] || ! cmp -s "$req" "$stamp" ||
   ! "$venv/bin/python" -c "import fastapi, uvicorn, uvloop, httptools" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
  cp "$req" "$stamp"
fi
echo "$venv"
