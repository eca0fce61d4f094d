#!/usr/bin/env bash
# The main job, end to end on this machine: a Consul agent, Docker, HAProxy, and consulate in
# between (registrator + renderer in one process). Starts three web containers, shows requests
# spreading over them, stops one and shows the config follow. Cleans up everything it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
consul="$root/.cache/consul/usr/bin/consul"
work=$(mktemp -d)
image=consulate-demo/busybox:1.0
started_dockerd=""
containers=()
say() { printf '\n\033[1mdemo:\033[0m %s\n' "$*"; }
consulate_pid=""
consul_pid=""
# Order matters: consulate first (no reload may start a new HAProxy during the cleanup), then the
# HAProxy it started, the containers, Consul, and last the dockerd this script started. Each wait
# names its own process, so a long-lived daemon cannot keep the script from exiting.
cleanup() {
  set +e
  say "cleaning up"
  if [ -n "$consulate_pid" ]; then kill "$consulate_pid" 2>/dev/null; wait "$consulate_pid" 2>/dev/null; fi
  if [ -s "$work/haproxy.pid" ]; then
    for p in $(cat "$work/haproxy.pid"); do kill "$p" 2>/dev/null; done
  fi
  pkill -f -- "-f $work/haproxy.cfg" 2>/dev/null
  [ ${#containers[@]} -gt 0 ] && docker rm -f "${containers[@]}" >/dev/null 2>&1
  if [ -n "$consul_pid" ]; then kill "$consul_pid" 2>/dev/null; wait "$consul_pid" 2>/dev/null; fi
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$started_dockerd" 2>/dev/null
    wait "$started_dockerd" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if ! docker version >/dev/null 2>&1; then
  say "no Docker engine answers: starting dockerd"
  dockerd >"$work/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
fi
if ! docker image inspect "$image" >/dev/null 2>&1; then
  say "building a tiny web image from Debian's busybox-static (no registry needed)"
  mkdir -p "$work/rootfs/bin" "$work/rootfs/www" "$work/rootfs/tmp"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for a in sh httpd echo; do ln -s busybox "$work/rootfs/bin/$a"; done
  tar -C "$work/rootfs" -c . | docker import - "$image" >/dev/null
fi

http=$(port)
say "starting a Consul 1.8.7 dev agent on 127.0.0.1:$http"
"$consul" agent -dev -bind 127.0.0.1 -client 127.0.0.1 -http-port "$http" -dns-port "$(port)" -server-port "$(port)" \
  -serf-lan-port "$(port)" -serf-wan-port "$(port)" -grpc-port -1 >"$work/consul.log" 2>&1 &
consul_pid=$!
until [[ "$(curl -sf "127.0.0.1:$http/v1/status/leader")" == *:* ]]; do sleep 0.2; done

listen=$(port)
config="$work/haproxy.cfg"
say "starting consulate: registrator + renderer in one process, HAProxy on 127.0.0.1:$listen"
echo "      consulate render --registrator --template templates/haproxy.hbs:haproxy.cfg \\"
echo "        --check 'haproxy -c -q -f {{candidate}}' --exec 'reload-haproxy.sh haproxy.cfg haproxy.pid' \\"
echo "        --haproxy-socket haproxy.sock"
CONSULATE_LISTEN="127.0.0.1:$listen" "$root/dist/src/cli/main.js" render --registrator --consul "127.0.0.1:$http" \
  --hostname demo --log-format text --log-level warn \
  --template "$root/templates/haproxy.hbs:$config" --check "haproxy -c -q -f {{candidate}}" \
  --exec "$root/examples/haproxy-sidecar/reload-haproxy.sh $config $work/haproxy.pid" \
  --haproxy-socket "$work/haproxy.sock" &
consulate_pid=$!
for _ in $(seq 100); do [ -s "$work/haproxy.pid" ] && break; sleep 0.1; done

say "starting three web containers: docker run -p 8080 -e SERVICE_NAME=web -e SERVICE_TAGS=http …"
for n in web-a web-b web-c; do
  docker run -d --name "demo-$n" -p 127.0.0.1::8080 -e SERVICE_NAME=web -e SERVICE_TAGS=http -e NAME="$n" "$image" \
    sh -c 'echo "hello from $NAME" > /www/index.html; exec httpd -f -p 8080 -h /www' >/dev/null
  containers+=("demo-$n")
done
for _ in $(seq 100); do [ "$(grep -c '^    server ' "$config" 2>/dev/null)" = 3 ] && break; sleep 0.1; done
say "consulate registered them in Consul and rendered the HAProxy backend:"
sed -n '/^backend be_web/,$p' "$config"
say "nine requests to http://web.localhost through HAProxy:"
sleep 0.5
for _ in $(seq 9); do curl -s -H "Host: web.localhost" "127.0.0.1:$listen/"; done | sort | uniq -c

say "stopping demo-web-b"
pid_before=$(cat "$work/haproxy.pid")
docker stop -t 1 demo-web-b >/dev/null
for _ in $(seq 100); do [ "$(grep -c '^    server ' "$config")" = 2 ] && break; sleep 0.1; done
sleep 0.3
if [ "$(cat "$work/haproxy.pid")" = "$pid_before" ]; then
  say "HAProxy process $pid_before serves on: the Runtime API took the server out, no reload"
else
  say "HAProxy was reloaded (process $pid_before → $(cat "$work/haproxy.pid"))"
fi
say "the backend now:"
sed -n '/^backend be_web/,$p' "$config"
say "nine more requests: HAProxy keeps serving the other two"
for _ in $(seq 9); do curl -s -H "Host: web.localhost" "127.0.0.1:$listen/"; done | sort | uniq -c
say "done"
