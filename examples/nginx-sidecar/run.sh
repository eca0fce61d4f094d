#!/usr/bin/env bash
# Runs the nginx sidecar against the local Consul agent and Docker engine, on $CONSULATE_LISTEN.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
state=${STATE_DIR:-/tmp/consulate-nginx}
mkdir -p "$state"
export CONSULATE_LISTEN=${CONSULATE_LISTEN:-127.0.0.1:8080} CONSULATE_NGINX_PID="$state/nginx.pid" CONSULATE_NGINX_ERROR_LOG="$state/error.log"
trap '[ -s "$state/nginx.pid" ] && kill "$(cat "$state/nginx.pid")" 2>/dev/null || true' EXIT
node "$root/dist/src/cli/main.js" render --registrator \
  --template "$root/templates/nginx.hbs:$state/nginx.conf" \
  --check "nginx -t -q -c {{candidate}}" \
  --exec "$root/examples/nginx-sidecar/reload-nginx.sh $state/nginx.conf $state/nginx.pid" "$@"
