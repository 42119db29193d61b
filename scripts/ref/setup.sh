#!/usr/bin/env bash
# Installs the test-only reference tools into the cache dir (never into git):
#   $VIGIL_CACHE/ref-node   @tensorflow/tfjs (pure JS, CPU backend) + jpeg-js, from npm
#   $VIGIL_CACHE/ref-venv   numpy + onnxruntime (+ onnx, for its quantize_static), from PyPI; webauthn (py_webauthn)
# Idempotent. tests/integration/test_nn_reference.py and
# tests/e2e/test_webauthn_pyref.py use them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${VIGIL_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
node_dir="$VIGIL_CACHE/ref-node"
venv="$VIGIL_CACHE/ref-venv"

mkdir -p "$node_dir"
if ! cmp -s "$here/package.json" "$node_dir/package.json" || [ ! -d "$node_dir/node_modules/@tensorflow/tfjs" ]; then
  cp "$here/package.json" "$node_dir/package.json"
  [ -f "$here/package-lock.json" ] && cp "$here/package-lock.json" "$node_dir/package-lock.json"
  (cd "$node_dir" && npm install --silent --no-audit --no-fund)
fi
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import numpy, onnx, onnxruntime, webauthn" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
fi
echo "reference tools in $node_dir and $venv"
