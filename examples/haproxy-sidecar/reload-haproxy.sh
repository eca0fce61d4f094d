#!/bin/sh
# Starts HAProxy on the rendered config, or reloads it seamlessly (-sf: the old process finishes
# its connections; -x: with a Runtime API socket, the new process takes the listening sockets
# over from the old one, so no connection is refused in between). Exits non-zero when the new
# process fails (e.g. it cannot bind), so consulate restores the previous config and runs this again.
# Usage: reload-haproxy.sh <config> <pidfile>   ($CONSULATE_HAPROXY_SOCKET: the Runtime API socket)
set -eu
config=$1
pidfile=$2
socket=${CONSULATE_HAPROXY_SOCKET:-}
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  if [ -n "$socket" ] && [ -S "$socket" ]; then
    exec haproxy -D -f "$config" -p "$pidfile" -x "$socket" -sf $(cat "$pidfile")
  fi
  exec haproxy -D -f "$config" -p "$pidfile" -sf $(cat "$pidfile")
fi
exec haproxy -D -f "$config" -p "$pidfile"
