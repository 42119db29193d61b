#!/usr/bin/env bash
# bench/dashboard.sh: the dashboard's numbers (issue 9, "Numbers to report"):
# first page's size (JS and CSS gzipped), time from opening the Live page to
# its first frame, and the browser's CPU while a 4-camera live grid plays at
# 5 fps. bench/README.md says what is measured and how.
#
#   1. the dashboard build: DASHBOARD_DIST if set, else `npx vite build` of
#      web/ into a temp dir;
#   2. `vigil run` serving it (http.web_root) with BENCH_DASH_CAMERAS (4)
#      cameras on the sample video, each looping at real time sampled at
#      BENCH_DASH_FPS (5) fps, the motion model (the server stays light:
#      this measures the browser), an admin made with the CLI;
#   3. bench/dashboard.mjs: headless Chromium (tests/browser/dashboard/harness.mjs)
#      measures and prints.
#
# Prints numbers, asserts nothing; exits 0 with a message when node,
# playwright-core, Chromium or the sample video is missing. Env: BUILD
# (default build), DASHBOARD_DIST, BENCH_DASH_CAMERAS, BENCH_DASH_FPS,
# BENCH_DASH_RUNS (first-frame runs, 5), BENCH_DASH_CPU_SECONDS (20),
# VIGIL_CHROMIUM, VIGIL_MEDIA.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
vigil=$build/vigil
[ -x "$vigil" ] || { echo "bench/dashboard.sh: $vigil not built (make build)"; exit 1; }
skip() { echo "bench/dashboard.sh: $*: skipped"; exit 0; }
command -v node >/dev/null || skip "node is not installed"
[ -d "$src/tests/browser/node_modules/playwright-core" ] || skip "no playwright-core (scripts/setup.sh test)"
[ -x "${VIGIL_CHROMIUM:-/usr/bin/chromium}" ] || skip "no Chromium at ${VIGIL_CHROMIUM:-/usr/bin/chromium}"
video=${VIGIL_MEDIA:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil/media}/vtest.avi
[ -f "$video" ] || skip "no sample video $video (scripts/setup.sh media)"
cameras=${BENCH_DASH_CAMERAS:-4}
fps=${BENCH_DASH_FPS:-5}

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-dashboard-XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${DASHBOARD_DIST:-}" ]; then
  dist=$DASHBOARD_DIST
else
  [ -d "$src/web/node_modules" ] || skip "web/node_modules absent (make web)"
  dist=$work/dist
  (cd "$src/web" && npx --no-install vite build --outDir "$dist" --emptyOutDir > "$work/vite.log" 2>&1) ||
    { echo "bench/dashboard.sh: vite build failed:"; tail -20 "$work/vite.log"; exit 1; }
fi

{
  echo "ingest:"
  echo "  realtime: true"
  echo "infer:"
  echo "  model: motion"
  echo "http:"
  echo "  web_root: \"$dist\""
  echo "cameras:"
  for i in $(seq 1 "$cameras"); do
    echo "  - id: cam$i"
    echo "    name: Camera $i"
    echo "    url: \"$video\""
    echo "    fps: $fps"
    echo "    loop: true"
  done
} > "$work/vigil.yaml"

password=bench-dashboard-password-1
common=(--data-dir "$work/data" --config "$work/vigil.yaml")
echo "$password" | "$vigil" user add bench-admin --role admin "${common[@]}" >/dev/null ||
  { echo "bench/dashboard.sh: vigil user add failed"; exit 1; }
token=$("$vigil" token create bench-admin --scope write "${common[@]}" | tail -n 1)

"$vigil" run --http 127.0.0.1:0 "${common[@]}" > "$work/vigil.log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*api listening on http:[^ ]* (port \([0-9]*\)).*/\1/p' "$work/vigil.log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "bench/dashboard.sh: vigil exited:"; tail -20 "$work/vigil.log"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "bench/dashboard.sh: vigil did not listen"; tail -20 "$work/vigil.log"; exit 1; }
base=http://127.0.0.1:$port
# every camera online before measuring
for _ in $(seq 1 100); do
  online=$(curl -s -H "Authorization: Bearer $token" "$base/api/v1/cameras" | grep -o '"status":"online"' | wc -l)
  [ "$online" -ge "$cameras" ] && break
  sleep 0.2
done

cat > "$work/bench.json" <<EOF
{"base": "$base", "token": "$token", "dist": "$dist", "cameras": $cameras, "fps": $fps,
 "runs": ${BENCH_DASH_RUNS:-5}, "cpuSeconds": ${BENCH_DASH_CPU_SECONDS:-20},
 "screenshotDir": "$work/shots",
 "credentials": {"admin": {"name": "bench-admin", "password": "$password"}}}
EOF
node "$src/bench/dashboard.mjs" "$work/bench.json"
echo "vigil during the run: $(grep -c '"level":"error"' "$work/vigil.log") error line(s) in its log"
