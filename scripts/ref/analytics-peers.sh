#!/usr/bin/env bash
# Installs the peers bench/analytics.py compares vigil's tracker with, into a
# virtualenv in the cache dir (never into git):
#   $VIGIL_CACHE/analytics-venv   motmetrics (MOTA, IDF1, ID switches),
#                                 trackers (Roboflow's ByteTrack, no torch:
#                                 its base install needs numpy, scipy,
#                                 supervision, opencv-python only),
#                                 supervision (LineZone, PolygonZone)
# Versions are pinned so that the printed peer numbers are reproducible.
# Idempotent: does nothing when the venv already imports all three.
set -euo pipefail
: "${VIGIL_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
venv="$VIGIL_CACHE/analytics-venv"
pkgs=(motmetrics==1.4.0 trackers==2.6.1 supervision==0.31.2)

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import motmetrics, trackers, supervision" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "${pkgs[@]}"
fi
echo "$venv"
