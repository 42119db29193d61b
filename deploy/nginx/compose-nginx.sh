#!/bin/sh
# The nginx of deploy/compose.yaml: fills in deploy/nginx/nginx.conf.template
# (the template scripts/nginx uses) for the replicas of the compose service
# `api` and runs nginx in the foreground, logging to stdout/stderr.
#
#   compose-nginx.sh          render, then exec nginx (the container's command)
#   compose-nginx.sh render   only write the config and print its path (the deploy test)
#
# Environment (defaults for the container):
#   VIGIL_NGINX_TEMPLATE   template (/etc/vigil/nginx.conf.template)
#   VIGIL_NGINX_PREFIX     pid, temp paths and the rendered nginx.conf (/tmp/nginx)
#   VIGIL_NGINX_UPSTREAM   the API service and port (api:8080); every replica's
#                          address is found by DNS and followed as replicas come
#                          and go (`resolve`, nginx >= 1.27.3)
#   VIGIL_NGINX_RESOLVER   the DNS server (127.0.0.11: Docker's embedded DNS)
#   VIGIL_NGINX_LISTEN     listen address (8080)
#   VIGIL_NGINX_RATE, VIGIL_NGINX_BURST, VIGIL_NGINX_CONN   per-client limits
#                          (100 r/s, burst 200, 32 connections: vigil's own defaults)
#   VIGIL_NGINX_PROTO      X-Forwarded-Proto ($scheme; https behind a TLS terminator)
set -eu

template=${VIGIL_NGINX_TEMPLATE:-/etc/vigil/nginx.conf.template}
prefix=${VIGIL_NGINX_PREFIX:-/tmp/nginx}
upstream=${VIGIL_NGINX_UPSTREAM:-api:8080}
resolver=${VIGIL_NGINX_RESOLVER:-127.0.0.11}

[ -r "$template" ] || { echo "compose-nginx: cannot read $template" >&2; exit 1; }
mkdir -p "$prefix/tmp"
sed -e "s|@PREFIX@/access.log|/dev/stdout|" \
    -e "s|@PREFIX@/error.log|stderr|" \
    -e "s|@PREFIX@|$prefix|g" \
    -e "s|@WORKERS@|auto|" \
    -e "s|@LISTEN@|${VIGIL_NGINX_LISTEN:-8080}|" \
    -e "s|@BODY_MAX@|1m|" \
    -e "s|@RATE@|${VIGIL_NGINX_RATE:-100}|" \
    -e "s|@BURST@|${VIGIL_NGINX_BURST:-200}|" \
    -e "s|@CONN@|${VIGIL_NGINX_CONN:-32}|" \
    -e "s|@FORWARDED_PROTO@|${VIGIL_NGINX_PROTO:-\$scheme}|" \
    -e "s|^@UPSTREAMS@$|        resolver $resolver valid=5s ipv6=off;\\
        server $upstream resolve max_fails=1 fail_timeout=10s;|" \
    "$template" >"$prefix/nginx.conf"
if sed 's/#.*//' "$prefix/nginx.conf" | grep -n '@[A-Z_]*@' >&2; then
  echo "compose-nginx: $template has placeholders this script does not fill (above)" >&2
  exit 1
fi
if [ "${1:-}" = render ]; then
  echo "$prefix/nginx.conf"
  exit 0
fi
exec nginx -p "$prefix" -c "$prefix/nginx.conf" -e stderr -g 'daemon off;'
