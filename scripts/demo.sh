#!/usr/bin/env bash
# The main job in two minutes: a real Consul agent, consulate rendering a config from its catalog,
# instances coming and going, the file following them. Cleans up everything it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
consul="$root/.cache/consul/usr/bin/consul"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1mdemo:\033[0m %s\n' "$*"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

http=$(port)
say "starting a Consul 1.8.7 dev agent on 127.0.0.1:$http"
"$consul" agent -dev -bind 127.0.0.1 -client 127.0.0.1 -http-port "$http" -dns-port "$(port)" -server-port "$(port)" \
  -serf-lan-port "$(port)" -serf-wan-port "$(port)" -grpc-port -1 >"$work/consul.log" 2>&1 &
pids+=($!)
until curl -sf "127.0.0.1:$http/v1/status/leader" | grep -q ':'; do sleep 0.2; done
api() { curl -sf -X PUT "127.0.0.1:$http/v1/agent/service/$1" ${2:+-d "$2"} >/dev/null; }

say "registering web-1 and web-2 (tagged http) and a database (not tagged)"
api register '{"ID":"web-1","Name":"web","Port":8081,"Tags":["http"]}'
api register '{"ID":"web-2","Name":"web","Port":8082,"Tags":["http"]}'
api register '{"ID":"db-1","Name":"db","Port":5432}'

say "starting: consulate render --template services.hbs:$work/backends.cfg --exec 'echo reload'"
node "$root/dist/src/cli/main.js" render --consul "127.0.0.1:$http" --log-format text \
  --template "$root/examples/render-demo/services.hbs:$work/backends.cfg" --exec "echo '   (the reload command ran)'" &
pids+=($!)
wait_for() { for _ in $(seq 100); do grep -q "$1" "$work/backends.cfg" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out"; exit 1; }
wait_for "web_2"
say "rendered file:"; cat "$work/backends.cfg"

say "a third instance appears: web-3"
api register '{"ID":"web-3","Name":"web","Port":8083,"Tags":["http"]}'
wait_for "web_3"
cat "$work/backends.cfg"

say "web-1 leaves"
api deregister/web-1
for _ in $(seq 100); do grep -q "web_1" "$work/backends.cfg" || break; sleep 0.1; done
cat "$work/backends.cfg"

say "done: stopping consulate and Consul"
