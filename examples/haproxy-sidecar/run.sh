#!/usr/bin/env bash
# Runs the HAProxy sidecar against the local Consul agent ($CONSUL_HTTP_ADDR or 127.0.0.1:8500)
# and Docker engine, listening on $CONSULATE_LISTEN (default 127.0.0.1:8080). Ctrl-C stops it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
state=${STATE_DIR:-/tmp/consulate-haproxy}
mkdir -p "$state"
trap '[ -s "$state/haproxy.pid" ] && kill "$(cat "$state/haproxy.pid")" 2>/dev/null || true' EXIT
CONSULATE_LISTEN=${CONSULATE_LISTEN:-127.0.0.1:8080} node "$root/dist/src/cli/main.js" render --registrator \
  --template "$root/templates/haproxy.hbs:$state/haproxy.cfg" \
  --check "haproxy -c -q -f {{candidate}}" \
  --exec "$root/examples/haproxy-sidecar/reload-haproxy.sh $state/haproxy.cfg $state/haproxy.pid" "$@"
