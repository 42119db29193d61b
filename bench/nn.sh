#!/usr/bin/env bash
# bench/nn.sh: vigil-nn against its references, one table.
#
#   vigil-nn (bench_nn)          CenterNet-512 (TF.js), PP-OCRv4 det 640x640 and rec 48x320
#   ONNX Runtime (bench/nn_ort.py, reference venv)   the same three, same thread counts;
#                                CenterNet as `vigil nn export` writes it (ONNX, opset 13)
#   TF.js (bench/nn_tfjs.js, pure-JS CPU backend)    CenterNet-512, single-threaded, with TFJS=1
#   CenterNet INT8: vigil's `vigil models quantize` defaults (bench_nn with its
#   .vq) against ORT's quantize_static QDQ model (bench/nn_ort_int8.py: MinMax,
#   u8 activations, per-channel s8 weights), timed by nn_ort.py as the float
#   rows; both calibrated on the same tensors (vigil's own inputs from
#   vtest.avi frames 400, 412, ..., 676, saved by --save-inputs; INT8=0 skips)
#   PP-OCRv4 det / rec INT8 likewise (--method percentile), calibrated on 24
#   text images rendered by bench/ocr_int8.py (rec on the detector's lines)
#
# Median latency over RUNS runs (default 20; TF.js: TFJS_RUNS, default 5, as
# one run takes seconds) after one warm-up, at 1 and 2 threads (THREADS),
# each configuration in its own process so max RSS is its own. Ratio =
# vigil median / reference median (< 1: vigil is faster).
#
# Knowing the limit: it prints the CPU model and flags, vigil's kernel tier,
# each model's multiply-accumulates a run (counted from the graph: Conv,
# ConvTranspose, MatMul, Gemm), the achieved GFLOP/s (2 x MACs / median) of
# vigil and ORT, and that as a fraction of the cores' fp32 peak measured in
# the same run by an FMA throughput loop at the same thread count
# (`bench_nn --peak`, before and after the models: the higher is used).
# "cpu ms": the median CPU time of the engine's process a run; at 1 thread
# it is what a run costs even when a busy machine makes the wall time wait
# for a core (at 2 threads it adds both threads' time, spinning included).
# PROFILE=1 also prints vigil's per-op profile of each model at 1 thread
# (`vigil nn run --profile`: time per op type, GFLOP/s of the slowest nodes).
# Prints numbers, asserts nothing. Env: BUILD (default build), VIGIL_MODELS,
# RUNS, TFJS, TFJS_RUNS, THREADS ("1 2"), PROFILE, INT8, VIGIL_MEDIA.
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
work=$(mktemp -d)
trap 'rm -rf "$out" "$work"' EXIT

[ -x "$bench" ] || { echo "bench/nn.sh: $bench not built (make build)"; exit 1; }
det=$models/ppocr/ch_PP-OCRv4_det_infer.onnx
rec=$models/ppocr/ch_PP-OCRv4_rec_infer.onnx
cn=$models/centernet/centernet.json
have_ort=0; [ -x "$py" ] && "$py" -c "import onnxruntime" 2>/dev/null && have_ort=1
have_tfjs=0
[ "${TFJS:-0}" = 1 ] && [ -d "$node_modules/@tensorflow/tfjs" ] && command -v node >/dev/null && have_tfjs=1
[ "$have_ort" = 1 ] || echo "note: no ONNX Runtime in $py (scripts/ref/setup.sh): ORT columns skipped"
[ "${TFJS:-0}" = 1 ] && [ "$have_tfjs" = 0 ] && echo "note: no @tensorflow/tfjs in $node_modules (scripts/ref/setup.sh): TF.js column skipped"

# CenterNet for ONNX Runtime: vigil's own export of the TF.js graph
cn_onnx=""
if [ -f "$cn" ] && [ "$have_ort" = 1 ]; then
  if "$build/vigil" nn export "$cn" "$work/centernet.onnx" >/dev/null 2>"$work/export.err"; then
    cn_onnx=$work/centernet.onnx
  else
    echo "note: vigil nn export $cn failed: $(cat "$work/export.err"): no ORT peer for CenterNet"
  fi
fi

# ONNX Runtime's INT8 model of FLOAT.onnx calibrated on vigil's saved inputs
# (bench/nn_ort_int8.py): prints its path, or nothing (and a note) when it failed
ort_int8() {
  local line
  if line=$("$py" "$src/bench/nn_ort_int8.py" "$1" "$work/$2-int8.onnx" "$3" 2>"$work/ort_int8_$2.err"); then
    echo "note: ORT INT8 model: $line" >&2
    echo "$work/$2-int8.onnx"
  else
    echo "note: ORT quantize_static of $2 failed: $(tail -n 1 "$work/ort_int8_$2.err"): no ORT INT8 peer" >&2
  fi
}

# CenterNet INT8: vigil's own (`vigil models quantize`, its defaults, into a
# throwaway models dir) and ORT's (quantize_static, QDQ, bench/nn_ort_int8.py),
# both calibrated on the same tensors: vigil calibrates on the sample video's
# every 12th frame from 400, 24 JPEGs (as bench/nn_int8.py), and writes each
# input it made (decoded, resized, augmented: 72) with --save-inputs; ORT
# calibrates on those files
video=${VIGIL_MEDIA:-$cache/media}/vtest.avi
cn_vq=""; cn_qdq=""
if [ -f "$cn" ] && [ -f "$video" ] && [ "${INT8:-1}" = 1 ]; then
  mkdir -p "$work/models/centernet" "$work/calib" "$work/inputs"
  ln -s "$(dirname "$cn")"/centernet.* "$work/models/centernet/"
  ffmpeg -loglevel error -i "$video" -vf "select='gte(n\,400)*not(mod(n-400\,12))'" -vsync 0 -frames:v 24 \
    -q:v 2 "$work/calib/f%03d.jpg" </dev/null
  if VIGIL_MODELS=$work/models "$build/vigil" models quantize centernet --calibrate "$work/calib" --frames 24 \
       --save-inputs "$work/inputs" >"$work/quantize.log" 2>&1; then
    cn_vq=$work/models/centernet/centernet-int8.vq
  else
    echo "note: vigil models quantize centernet failed: $(tail -n 1 "$work/quantize.log"): no vigil INT8 row"
  fi
  [ -n "$cn_onnx" ] && [ -n "$cn_vq" ] && cn_qdq=$(ort_int8 "$cn_onnx" centernet "$work/inputs")
fi

# PP-OCRv4 det and rec INT8 the same way: vigil's `vigil models quantize
# ppocr_det` / `ppocr_rec` (--method percentile: the method docs/nn.md
# measured best for PP-OCR; default layers) and ORT's quantize_static, both on
# the tensors vigil made from bench/ocr_int8.py's 24 rendered calibration
# images: det each image at its own size (fit32), rec the float detector's
# text lines (48 high, as wide as the line)
det_vq=""; det_qdq=""; rec_vq=""; rec_qdq=""
if [ -f "$det" ] && [ -f "$rec" ] && [ "${INT8:-1}" = 1 ] && command -v ffmpeg >/dev/null; then
  mkdir -p "$work/models/ppocr" "$work/det_inputs" "$work/rec_inputs"
  ln -s "$(dirname "$det")"/* "$work/models/ppocr/"
  python3 - "$src/bench" "$work/ocr_calib" "$video" <<'PY' >"$work/ocr_render.log" 2>&1
import os, sys
sys.path.insert(0, sys.argv[1])
import ocr_int8
ocr_int8.render_set(sys.argv[2], 24, 1, video=sys.argv[3] if os.path.exists(sys.argv[3]) else None)
PY
  for m in det rec; do
    if VIGIL_MODELS=$work/models "$build/vigil" models quantize "ppocr_$m" --calibrate "$work/ocr_calib" \
         --method percentile --save-inputs "$work/${m}_inputs" >"$work/quantize_$m.log" 2>&1; then
      vq=$work/models/ppocr/ppocr_$m-int8.vq
      [ -f "$vq" ] || { echo "note: vigil models quantize ppocr_$m wrote no $vq: no vigil INT8 row"; continue; }
      onnx=$det; [ "$m" = rec ] && onnx=$rec
      qdq=""; [ "$have_ort" = 1 ] && qdq=$(ort_int8 "$onnx" "ppocr_$m" "$work/${m}_inputs")
      if [ "$m" = det ]; then det_vq=$vq; det_qdq=$qdq; else rec_vq=$vq; rec_qdq=$qdq; fi
    else
      echo "note: vigil models quantize ppocr_$m failed: $(tail -n 1 "$work/quantize_$m.log"): no vigil INT8 row"
    fi
  done
fi

# label|vigil model|shape|ORT model (empty: none)|TF.js reference (1/0)|vigil .vq (INT8)
configs=()
[ -f "$cn" ] && configs+=("centernet-512|$cn|1x512x512x3|$cn_onnx|1|")
[ -n "$cn_vq" ] && configs+=("centernet-512-int8|$cn|1x512x512x3|$cn_qdq|0|$cn_vq")
[ -f "$det" ] && configs+=("ppocrv4-det-640|$det|1x3x640x640|$det|0|")
[ -n "$det_vq" ] && configs+=("ppocrv4-det-640-int8|$det|1x3x640x640|$det_qdq|0|$det_vq")
[ -f "$rec" ] && configs+=("ppocrv4-rec-48x320|$rec|1x3x48x320|$rec|0|")
[ -n "$rec_vq" ] && configs+=("ppocrv4-rec-48x320-int8|$rec|1x3x48x320|$rec_qdq|0|$rec_vq")
[ ${#configs[@]} -gt 0 ] || { echo "bench/nn.sh: no models under $models (vigil models fetch)"; exit 0; }

peak() { for t in $threads; do "$bench" --peak "$t" 2>&1 | tail -n 1 >>"$out"; done; }
peak
for c in "${configs[@]}"; do
  IFS='|' read -r label model shape ort_model tfjs_ref vq <<<"$c"
  for t in $threads; do
    line=$("$bench" "$model" "$shape" "$t" "$runs" $vq 2>&1 | tail -n 1)
    case "$line" in
      vigil*) echo "$label $t $line" >>"$out" ;;
      *) echo "note: vigil-nn on $label: $line (skipped)" ;;
    esac
    if [ -n "$ort_model" ] && [ "$have_ort" = 1 ]; then
      line=$("$py" "$src/bench/nn_ort.py" "$ort_model" "$shape" "$t" "$runs" 2>&1 | tail -n 1)
      case "$line" in ort*) echo "$label $t $line" >>"$out" ;; *) echo "note: ORT on $label: $line" ;; esac
    fi
  done
  if [ "$tfjs_ref" = 1 ] && [ "$have_tfjs" = 1 ]; then
    line=$(NODE_PATH=$node_modules node "$src/bench/nn_tfjs.js" "$model" "$shape" 1 "$tfjs_runs" 2>&1 | tail -n 1)
    case "$line" in tfjs*) echo "$label 1 $line" >>"$out" ;; *) echo "note: TF.js on $label: $line" ;; esac
  fi
done

peak

# what was measured on: CPU, the flags that decide the kernels, load
cpu=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/^[^:]*: *//')
family=$(grep -m1 '^cpu family' /proc/cpuinfo 2>/dev/null | sed 's/^[^:]*: *//')
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' |
        grep -E '^(sse4_2|avx|avx2|fma|f16c|avx512[a-z_0-9]*|avx_vnni|amx[a-z_0-9]*)$' | tr '\n' ' ')
echo "cpu: ${cpu:-unknown} (family ${family:-?}), $(nproc) cpus online, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "flags: ${flags:-none of avx/avx2/fma/avx512}"
echo "vigil kernel tier: $(awk '$3 == "vigil" { for (i = 4; i < NF; i++) if ($i == "tier") { print $(i + 1); exit } }' "$out")"
echo "ONNX Runtime: $([ "$have_ort" = 1 ] && "$py" -c 'import onnxruntime as o; print(o.__version__)' 2>/dev/null || echo none)"
echo

# table: one row per (model, threads); ORT is the reference where it ran,
# else the TF.js (single-threaded) number for every thread count. GFLOP/s
# from the graph's MACs (the same graph for both engines), % of the fp32
# peak measured at that thread count (AVX-512's where the CPU has it, else
# AVX2's: the best the hardware can do, whatever tier an engine uses)
awk '
  function field(name,   i) { for (i = 3; i <= NF; i++) if ($i == name) return $(i + 1); return "-" }
  $1 == "peak" {
    t = $3; p = $5 + 0
    for (i = 6; i < NF; i++) if ($i == "avx512_gflops") p = $(i + 1) + 0
    for (i = 6; i < NF; i++) if ($i == "vnni_gops" && $(i + 1) + 0 > vpeak[t]) vpeak[t] = $(i + 1) + 0
    if (p > peak[t]) peak[t] = p
    if ($5 + 0 > peak2[t]) peak2[t] = $5 + 0
    next
  }
  {
    key = $1 " " $2
    if (!(key in seen)) { seen[key] = 1; order[n++] = key }
    eng = $3
    med[key, eng] = field("median_ms"); rss[key, eng] = field("maxrss_mib"); cpu[key, eng] = field("cpu_ms")
    if (eng == "vigil") { arena[key] = field("arena_mib"); gmac[$1] = field("gmac") }
    if (eng == "tfjs") { tfjs[$1] = field("median_ms"); tfjs_rss[$1] = field("maxrss_mib"); tfjs_runs[$1] = field("runs") }
  }
  function gf(m, ms) { return (gmac[m] + 0 > 0 && ms + 0 > 0) ? 2 * gmac[m] / (ms / 1e3) : -1 }
  function pct(g, t, m) {
    if (m ~ /-int8$/) return (g >= 0 && vpeak[t] > 0) ? sprintf("%.0f%%", 100 * g / vpeak[t]) : "-"
    return (g >= 0 && peak[t] > 0) ? sprintf("%.0f%%", 100 * g / peak[t]) : "-"
  }
  function num(g) { return g >= 0 ? sprintf("%.1f", g) : "-" }
  END {
    for (t = 1; t <= 256; t++) if (t in peak) printf "fp32 peak, %d thread(s): %.1f GFLOP/s (FMA loop; AVX2 %.1f)\n", t, peak[t], peak2[t]
    for (t = 1; t <= 256; t++) if (t in vpeak) printf "int8 peak, %d thread(s): %.1f GOP/s (vpdpbusd loop: the -int8 rows use it for their percent of peak)\n", t, vpeak[t]
    printf "%-20s %3s %7s %10s %10s %-5s %6s %8s %7s %8s %7s %9s %9s %6s %6s %9s %9s\n", "model", "thr", "GMAC", "vigil ms", "ref ms", "ref", "ratio", "vigil GF", "% peak", "ref GF", "% peak", "vigil cpu", "ref cpu", "ratio", "arena", "vigil RSS", "ref RSS"
    for (i = 0; i < n; i++) {
      split(order[i], kv, " "); m = kv[1]; t = kv[2]
      v = med[order[i], "vigil"]; r = med[order[i], "ort"]; refn = "ort"; rr = rss[order[i], "ort"]
      if (r == "" || r == "-") { r = tfjs[m]; refn = "tfjs"; rr = tfjs_rss[m] }
      if (r == "") { r = "-"; refn = "-"; rr = "-" }
      ratio = (v != "" && v != "-" && r != "-" && r + 0 > 0) ? sprintf("%.2f", v / r) : "-"
      gv = gf(m, v); gr = (refn == "ort") ? gf(m, r) : -1
      cv = cpu[order[i], "vigil"]; cr = (refn == "ort") ? cpu[order[i], "ort"] : ""
      if (cv == "") cv = "-"
      if (cr == "") cr = "-"
      cratio = (cv != "-" && cr != "-" && cr + 0 > 0) ? sprintf("%.2f", cv / cr) : "-"
      printf "%-20s %3s %7s %10s %10s %-5s %6s %8s %7s %8s %7s %9s %9s %6s %6s %9s %9s\n", m, t, (gmac[m] == "" ? "-" : gmac[m]), (v == "" ? "-" : v), r, refn, ratio, num(gv), pct(gv, t, m), num(gr), pct(gr, t, m), cv, cr, cratio, (arena[order[i]] == "" ? "-" : arena[order[i]]), (rss[order[i], "vigil"] == "" ? "-" : rss[order[i], "vigil"]), rr
    }
    for (m in tfjs_runs) printf "(TF.js on %s: median of %s runs, single-threaded pure-JS CPU backend)\n", m, tfjs_runs[m]
  }' "$out"

# where the time goes: vigil's per-op profile of each model at 1 thread
if [ "${PROFILE:-0}" = 1 ]; then
  for c in "${configs[@]}"; do
    IFS='|' read -r label model shape ort_model tfjs_ref vq <<<"$c"
    echo
    echo "== profile: $label, 1 thread, $runs runs (vigil nn run --profile)"
    "$build/vigil" nn run "$model" --shape "$shape" --threads 1 --runs "$runs" --profile ${vq:+--quant "$vq"} 2>&1 |
      sed -n '/^runs /,$p'
  done
fi
