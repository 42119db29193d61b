#!/usr/bin/env bash
# bench/nn.sh: vigil-nn against its references, one table.
#
#   vigil-nn (bench_nn)          CenterNet-512 (TF.js), PP-OCRv4 det 640x640 and rec 48x320
#   ONNX Runtime (bench/nn_ort.py, reference venv)   PP-OCRv4 det and rec, same thread counts
#   TF.js (bench/nn_tfjs.js, pure-JS CPU backend)    CenterNet-512 (single-threaded)
#
# Median latency over RUNS runs (default 20; TF.js: TFJS_RUNS, default 5, as
# one run takes seconds) after one warm-up, at 1 and 2 threads (THREADS),
# each configuration in its own process so max RSS is its own. Ratio =
# vigil median / reference median (< 1: vigil is faster). Prints numbers,
# asserts nothing. Env: BUILD (default build), VIGIL_MODELS, RUNS,
# TFJS_RUNS, THREADS ("1 2").
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/vigil
models=${VIGIL_MODELS:-$cache/models}
runs=${RUNS:-20}
tfjs_runs=${TFJS_RUNS:-5}
threads=${THREADS:-1 2}
py=$cache/ref-venv/bin/python
node_modules=$cache/ref-node/node_modules
bench=$build/bench_nn
out=$(mktemp)
trap 'rm -f "$out"' EXIT

[ -x "$bench" ] || { echo "bench/nn.sh: $bench not built (make build)"; exit 1; }
det=$models/ppocr/ch_PP-OCRv4_det_infer.onnx
rec=$models/ppocr/ch_PP-OCRv4_rec_infer.onnx
cn=$models/centernet/centernet.json
have_ort=0; [ -x "$py" ] && "$py" -c "import onnxruntime" 2>/dev/null && have_ort=1
have_tfjs=0; [ -d "$node_modules/@tensorflow/tfjs" ] && command -v node >/dev/null && have_tfjs=1
[ "$have_ort" = 1 ] || echo "note: no ONNX Runtime in $py (scripts/ref/setup.sh): ORT columns skipped"
[ "$have_tfjs" = 1 ] || echo "note: no @tensorflow/tfjs in $node_modules (scripts/ref/setup.sh): TF.js column skipped"

# name label model shape
configs=()
[ -f "$cn" ] && configs+=("centernet-512|$cn|1x512x512x3|tfjs")
[ -f "$det" ] && configs+=("ppocrv4-det-640|$det|1x3x640x640|ort")
[ -f "$rec" ] && configs+=("ppocrv4-rec-48x320|$rec|1x3x48x320|ort")
[ ${#configs[@]} -gt 0 ] || { echo "bench/nn.sh: no models under $models (vigil models fetch)"; exit 0; }

for c in "${configs[@]}"; do
  IFS='|' read -r label model shape ref <<<"$c"
  for t in $threads; do
    line=$("$bench" "$model" "$shape" "$t" "$runs" 2>&1 | tail -n 1)
    case "$line" in
      vigil*) echo "$label $t $line" >>"$out" ;;
      *) echo "note: vigil-nn on $label: $line (skipped)" ;;
    esac
    if [ "$ref" = ort ] && [ "$have_ort" = 1 ]; then
      line=$("$py" "$src/bench/nn_ort.py" "$model" "$shape" "$t" "$runs" 2>&1 | tail -n 1)
      case "$line" in ort*) echo "$label $t $line" >>"$out" ;; *) echo "note: ORT on $label: $line" ;; esac
    fi
  done
  if [ "$ref" = tfjs ] && [ "$have_tfjs" = 1 ]; then
    line=$(NODE_PATH=$node_modules node "$src/bench/nn_tfjs.js" "$model" "$shape" 1 "$tfjs_runs" 2>&1 | tail -n 1)
    case "$line" in tfjs*) echo "$label 1 $line" >>"$out" ;; *) echo "note: TF.js on $label: $line" ;; esac
  fi
done

# table: one row per (model, threads); the TF.js (single-threaded) number is
# the reference for every thread count
awk '
  function field(name,   i) { for (i = 3; i <= NF; i++) if ($i == name) return $(i + 1); return "-" }
  {
    key = $1 " " $2
    if (!(key in seen)) { seen[key] = 1; order[n++] = key }
    eng = $3
    med[key, eng] = field("median_ms"); rss[key, eng] = field("maxrss_mib")
    if (eng == "vigil") arena[key] = field("arena_mib")
    if (eng == "tfjs") { tfjs[$1] = field("median_ms"); tfjs_rss[$1] = field("maxrss_mib"); tfjs_runs[$1] = field("runs") }
  }
  END {
    printf "%-20s %3s %10s %10s %-6s %7s %9s %10s %10s\n", "model", "thr", "vigil ms", "ref ms", "ref", "ratio", "arena MiB", "vigil RSS", "ref RSS"
    for (i = 0; i < n; i++) {
      split(order[i], kv, " "); m = kv[1]
      v = med[order[i], "vigil"]; r = med[order[i], "ort"]; refn = "ort"; rr = rss[order[i], "ort"]
      if (r == "" || r == "-") { r = tfjs[m]; refn = "tfjs"; rr = tfjs_rss[m] }
      if (r == "") { r = "-"; refn = "-"; rr = "-" }
      ratio = (v != "" && v != "-" && r != "-" && r + 0 > 0) ? sprintf("%.2f", v / r) : "-"
      printf "%-20s %3s %10s %10s %-6s %7s %9s %10s %10s\n", m, kv[2], (v == "" ? "-" : v), r, refn, ratio, (arena[order[i]] == "" ? "-" : arena[order[i]]), (rss[order[i], "vigil"] == "" ? "-" : rss[order[i], "vigil"]), rr
    }
    for (m in tfjs_runs) printf "(TF.js on %s: median of %s runs, single-threaded pure-JS CPU backend)\n", m, tfjs_runs[m]
  }' "$out"
