#!/usr/bin/env bash
# The multi-host topology on one machine: five hosts, each a network namespace on a bridge of its
# own (10.77.0.0/24; no traffic leaves this machine). Three Consul servers (s1 s2 s3); two Docker
# hosts (a b), each with a Consul client agent, its own dockerd and a consulate registrator.
#
#   topology.sh up                 build it all (idempotent: tears down what is left first)
#   topology.sh down               stop everything and remove the namespaces and the bridge
#   topology.sh status             what runs, and the cluster's members
#   topology.sh agent start|stop|kill <host>     one Consul agent (kill = SIGKILL)
#   topology.sh docker start|stop <host>         one dockerd (a or b)
#   topology.sh registrator start|stop <host>    one registrator (a or b)
#   topology.sh link up|down <host>              a host's cable
#   topology.sh exec <host> <command…>           run a command inside a host
#
# $STATE (default /tmp/consulate-multi-host) holds data dirs, sockets, pid files and logs.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
state=${STATE:-/tmp/consulate-multi-host}
consul="$root/.cache/consul/usr/bin/consul"
consulate="$root/dist/src/cli/main.js"
image=consulate-multihost/busybox:1.0
bridge=cmhbr0
servers=(s1 s2 s3)
dockers=(a b)
hosts=("${servers[@]}" "${dockers[@]}")
declare -A ip=([s1]=10.77.0.11 [s2]=10.77.0.12 [s3]=10.77.0.13 [a]=10.77.0.21 [b]=10.77.0.22)

ns() { echo "cmh-$1"; }
# nsenter enters only the network namespace: `ip netns exec` would also remount /sys, hiding the
# cgroup mounts dockerd needs. It execs the command (no fork), so `$!` after `in_host … &` is
# the daemon's own PID. The function is only ever the whole of a line, never a background job:
# a backgrounded function would run in a subshell whose PID is not the daemon's.
netns() { echo "--net=/var/run/netns/$(ns "$1")"; }
in_host() { local host=$1; shift; nsenter "$(netns "$host")" "$@"; }
pidfile() { echo "$state/$1/$2.pid"; }
running() { local f; f=$(pidfile "$1" "$2"); [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

stop_pid() { # host name signal
  local f; f=$(pidfile "$1" "$2")
  [ -s "$f" ] || return 0
  local pid; pid=$(cat "$f")
  kill "-${3:-TERM}" "$pid" 2>/dev/null || true
  # dockerd takes ~10 s to stop its containers and its containerd: up to 30 s before SIGKILL.
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

net_up() {
  ip link show "$bridge" >/dev/null 2>&1 || {
    ip link add "$bridge" type bridge
    ip addr add 10.77.0.254/24 dev "$bridge"
  }
  ip link set "$bridge" up
  for h in "${hosts[@]}"; do
    ip netns list | grep -qx "$(ns "$h")\( (id: [0-9]*)\)\?" || ip netns add "$(ns "$h")"
    if ! ip link show "cmh-$h-v" >/dev/null 2>&1; then
      ip link add "cmh-$h-v" type veth peer name eth0 netns "$(ns "$h")"
      ip -n "$(ns "$h")" addr add "${ip[$h]}/24" dev eth0
    fi
    ip link set "cmh-$h-v" master "$bridge" up
    ip -n "$(ns "$h")" link set lo up
    ip -n "$(ns "$h")" link set eth0 up
  done
}

agent_start() {
  local h=$1 mode=()
  running "$h" consul && return 0
  mkdir -p "$state/$h/consul"
  local join=()
  for s in "${servers[@]}"; do join+=(-retry-join "${ip[$s]}"); done
  [[ " ${servers[*]} " == *" $h "* ]] && mode=(-server -bootstrap-expect 3)
  # raft_multiplier 1: the production timing of a fast network (Consul's default, 5, suits slow ones).
  nsenter "$(netns "$h")" "$consul" agent "${mode[@]}" -node "$h" -bind "${ip[$h]}" -client "127.0.0.1 ${ip[$h]}" \
    -data-dir "$state/$h/consul" "${join[@]}" -hcl 'performance { raft_multiplier = 1 }' -log-level warn \
    >>"$state/$h/consul.log" 2>&1 &
  echo $! >"$(pidfile "$h" consul)"
}

docker_start() {
  local h=$1 sock="$state/$1/docker.sock"
  running "$h" dockerd && return 0
  mkdir -p "$state/$h/docker" "$state/$h/exec"
  rm -f "$state/$h/dockerd.pid.own"
  # Its own data root, exec root, pid file, socket and cgroup parent: two engines on one kernel.
  # No iptables: published ports go through docker-proxy, on the host's own address.
  nsenter "$(netns "$h")" dockerd --data-root "$state/$h/docker" --exec-root "$state/$h/exec" --pidfile "$state/$h/dockerd.pid.own" \
    -H "unix://$sock" --iptables=false --ip6tables=false --cgroup-parent "/consulate-multihost-$h" --shutdown-timeout 2 \
    >>"$state/$h/dockerd.log" 2>&1 &
  echo $! >"$(pidfile "$h" dockerd)"
  for _ in $(seq 150); do DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1 && break; sleep 0.2; done
  DOCKER_HOST="unix://$sock" docker version >/dev/null
  if ! DOCKER_HOST="unix://$sock" docker image inspect "$image" >/dev/null 2>&1; then
    local rootfs="$state/rootfs"
    mkdir -p "$rootfs/bin" "$rootfs/www" "$rootfs/tmp"
    cp /bin/busybox "$rootfs/bin/busybox"
    for a in sh httpd echo sleep; do ln -sf busybox "$rootfs/bin/$a"; done
    tar -C "$rootfs" -c . | DOCKER_HOST="unix://$sock" docker import - "$image" >/dev/null
  fi
}

registrator_start() {
  local h=$1
  running "$h" registrator && return 0
  nsenter "$(netns "$h")" node "$consulate" registrator --docker "unix://$state/$h/docker.sock" --consul 127.0.0.1:8500 \
    --ip "${ip[$h]}" --hostname "$h" --cleanup --log-level debug >>"$state/$h/registrator.log" 2>&1 &
  echo $! >"$(pidfile "$h" registrator)"
}

wait_leader() {
  for _ in $(seq 300); do
    [[ "$(curl -sf --max-time 1 "${ip[s1]}:8500/v1/status/leader" 2>/dev/null)" == *:* ]] && return 0
    sleep 0.2
  done
  echo "no Consul leader after 60 s" >&2
  return 1
}

down() {
  for h in "${dockers[@]}"; do
    stop_pid "$h" registrator
    if [ -S "$state/$h/docker.sock" ]; then
      DOCKER_HOST="unix://$state/$h/docker.sock" docker ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://$state/$h/docker.sock" docker rm -f >/dev/null 2>&1 || true
    fi
    stop_pid "$h" dockerd
  done
  for h in "${hosts[@]}"; do stop_pid "$h" consul; done
  # Whatever still runs in a host (HAProxy, a renderer, docker-proxy) ends with it.
  for h in "${hosts[@]}"; do
    ip netns pids "$(ns "$h")" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip link del "cmh-$h-v" 2>/dev/null || true
    ip netns del "$(ns "$h")" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
  # Docker's mounts under the state dir go before the files.
  grep -o " $state[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$state"
}

case ${1:-} in
  up)
    down
    mkdir -p "$state"
    net_up
    for h in "${hosts[@]}"; do agent_start "$h"; done
    wait_leader
    for h in "${dockers[@]}"; do docker_start "$h"; done
    for h in "${dockers[@]}"; do registrator_start "$h"; done
    echo "up: servers ${servers[*]}, Docker hosts ${dockers[*]}; state in $state"
    ;;
  down) down ;;
  status)
    for h in "${hosts[@]}"; do
      printf '%-3s %-12s' "$h" "${ip[$h]}"
      for p in consul dockerd registrator; do running "$h" "$p" && printf ' %s' "$p"; done
      echo
    done
    curl -sf "${ip[s1]}:8500/v1/agent/members" | tr '{' '\n' | grep -o '"Name":"[^"]*","Addr":"[^"]*"' || true
    ;;
  agent)
    case $2 in
      start) agent_start "$3" ;;
      stop) stop_pid "$3" consul TERM ;;
      kill) stop_pid "$3" consul KILL ;;
    esac
    ;;
  docker)
    case $2 in
      start) docker_start "$3" ;;
      stop) stop_pid "$3" dockerd TERM ;;
    esac
    ;;
  registrator)
    case $2 in
      start) registrator_start "$3" ;;
      stop) stop_pid "$3" registrator TERM ;;
    esac
    ;;
  link) ip link set "cmh-$3-v" "$2" ;;
  exec) h=$2; shift 2; in_host "$h" "$@" ;;
  *) sed -n '2,15p' "$0"; exit 2 ;;
esac
