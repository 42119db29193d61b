#!/usr/bin/env bash
# The deployment files, checked offline (no container engine, no cluster):
#
#   Dockerfile        hadolint (every rule, info level up); its structure
#                     (check_deploy.py dockerfile: bookworm build stage with the
#                     scripts CI runs, slim runtime, non-root, HEALTHCHECK, ENTRYPOINT)
#   runtime packages  deploy/runtime-packages.txt = the packages of the libraries
#                     $VIGIL_BINARY links (deploy/runtime-deps check)
#   vigil.yaml        `vigil config check` of the deployment's configuration
#   compose.yaml      check_deploy.py compose (services, 3 KRaft brokers, healthchecks,
#                     depends_on conditions, replicas, no inline secret); its nginx
#                     config rendered by compose-nginx.sh and `nginx -t` (Debian's 1.22:
#                     without the 1.27 `resolve` lines)
#   deploy/k8s        kustomize build of base, backing and the example overlay; every
#                     manifest against the Kubernetes schemas (kubernetes-validate
#                     --strict, 1.29 and 1.37); check_deploy.py k8s (probes, resources,
#                     an HPA and a PDB per stage, placeholders only in Secrets, ...)
#   ci.yml            actionlint; it runs make test on push and pull_request
#
# and that the validators catch a broken file (each is given one once). The
# validators come from `scripts/setup.sh deploy-tools` ($VIGIL_CACHE/deploy-tools);
# without them the test exits 77 (skipped, which `make test` counts as a failure).
set -uo pipefail

src=${VIGIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${VIGIL_BINARY:-$src/build/vigil}
: "${VIGIL_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
tools=$VIGIL_CACHE/deploy-tools
py=$tools/venv/bin/python
cd "$src" || exit 1

for t in "$tools/venv/bin/hadolint" "$tools/venv/bin/kubernetes-validate" "$tools/bin/actionlint" \
         "$tools/bin/kustomize"; do
  [ -x "$t" ] || { echo "SKIP: $t missing: run scripts/setup.sh deploy-tools"; exit 77; }
done
[ -x "$bin" ] || { echo "SKIP: $bin not built"; exit 77; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ||
  { echo "SKIP: nginx missing: run scripts/setup.sh test"; exit 77; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0 passed=0
check() { # name command...: runs it, its output indented
  local name=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name (exit $rc)"
    failed=$((failed + 1))
  fi
  [ -z "$out" ] || sed 's/^/     /' <<<"$out" | grep -v '^     INFO ' | head -40
}
refuses() { # name command...: the command must fail (a validator catching a broken file)
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then
    echo "FAIL $name: accepted a broken file"
    failed=$((failed + 1))
  else
    echo "ok   $name"
    passed=$((passed + 1))
  fi
}

# --- Dockerfile -------------------------------------------------------------------
check "hadolint Dockerfile" "$tools/venv/bin/hadolint" --failure-threshold info Dockerfile
check "Dockerfile structure" "$py" tests/deploy/check_deploy.py dockerfile Dockerfile .dockerignore
check "runtime packages = what $(basename "$bin") links" \
  deploy/runtime-deps check "$bin" deploy/runtime-packages.txt
sed 's/^USER .*/USER root/' Dockerfile >"$tmp/Dockerfile.root"
refuses "Dockerfile structure refuses USER root" \
  "$py" tests/deploy/check_deploy.py dockerfile "$tmp/Dockerfile.root" .dockerignore
sed '/libcurl4/d' deploy/runtime-packages.txt >"$tmp/packages.short"
refuses "runtime-deps refuses a list without libcurl4" \
  deploy/runtime-deps check "$bin" "$tmp/packages.short"

# --- configuration, compose, nginx ----------------------------------------------
check "vigil config check deploy/k8s/base/vigil.yaml" "$bin" config check deploy/k8s/base/vigil.yaml
check "compose.yaml structure" "$py" tests/deploy/check_deploy.py compose deploy/compose.yaml
sed 's|PGPASSWORD: .*|PGPASSWORD: hunter2|' deploy/compose.yaml >deploy/.test-compose-inline.yaml
refuses "compose check refuses an inline password" \
  "$py" tests/deploy/check_deploy.py compose deploy/.test-compose-inline.yaml
rm -f deploy/.test-compose-inline.yaml
nginx_conf() {
  VIGIL_NGINX_TEMPLATE=deploy/nginx/nginx.conf.template VIGIL_NGINX_PREFIX="$tmp/nginx" \
    sh deploy/nginx/compose-nginx.sh render >/dev/null || return 1
  # nginx 1.22 has no `resolve` (1.27.3): the rest of the config is what it tests
  sed -e '/^ *resolver .*;$/d' -e 's/server api:8080 resolve /server 127.0.0.1:9 /' \
    "$tmp/nginx/nginx.conf" >"$tmp/nginx/test.conf"
  grep -q 'server 127.0.0.1:9 max_fails' "$tmp/nginx/test.conf" || { echo "no upstream line"; return 1; }
  "$nginx" -t -q -p "$tmp/nginx" -c "$tmp/nginx/test.conf" -e "$tmp/nginx/error.log"
}
check "compose nginx.conf renders, nginx -t" nginx_conf

# --- Kubernetes -------------------------------------------------------------------
# a copy, with the overlay's uncommitted db.env made from its example
cp -r deploy/k8s "$tmp/k8s"
cp "$tmp/k8s/overlays/example/db.env.example" "$tmp/k8s/overlays/example/db.env"
check "kustomization files exist" "$py" tests/deploy/check_deploy.py kustomization \
  deploy/k8s/base deploy/k8s/backing deploy/k8s/overlays/example
for k in base backing overlays/example; do
  out=$tmp/$(tr / - <<<"$k").yaml
  check "kustomize build $k" "$tools/bin/kustomize" build "$tmp/k8s/$k" -o "$out"
  for v in 1.29 1.37; do
    check "kubernetes-validate --strict $k (Kubernetes $v)" \
      "$tools/venv/bin/kubernetes-validate" --strict --quiet -k "$v" "$out"
  done
done
check "manifests structure (overlay)" "$py" tests/deploy/check_deploy.py k8s "$tmp/overlays-example.yaml"
sed 's/periodSeconds: 15/periodSecond: 15/' "$tmp/base.yaml" >"$tmp/base-typo.yaml"
refuses "kubernetes-validate --strict refuses an unknown field" \
  "$tools/venv/bin/kubernetes-validate" --strict --quiet "$tmp/base-typo.yaml"
sed 's|path: /readyz|path: /healthz|' "$tmp/overlays-example.yaml" >"$tmp/overlay-probe.yaml"
refuses "manifests check refuses readiness on /healthz" \
  "$py" tests/deploy/check_deploy.py k8s "$tmp/overlay-probe.yaml"

# --- CI workflow ------------------------------------------------------------------
check "actionlint .github/workflows/ci.yml" "$tools/bin/actionlint" -no-color .github/workflows/ci.yml
check "ci.yml runs make test on push and pull_request" \
  "$py" tests/deploy/check_deploy.py workflow .github/workflows/ci.yml
sed 's/runs-on: ubuntu-latest/runs-on: [ubuntu-latest/' .github/workflows/ci.yml >"$tmp/ci-broken.yml"
refuses "actionlint refuses a broken workflow" "$tools/bin/actionlint" -no-color "$tmp/ci-broken.yml"

echo "deploy: $passed passed, $failed failed"
[ $failed -eq 0 ]
