#!/bin/sh
# Starts HAProxy on the rendered config, or reloads it seamlessly (-sf: the old process finishes
# its connections). Exits non-zero when the new process fails (e.g. it cannot bind), so consulate
# restores the previous config and runs this again.
# Usage: reload-haproxy.sh <config> <pidfile>
set -eu
config=$1
pidfile=$2
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  exec haproxy -D -f "$config" -p "$pidfile" -sf $(cat "$pidfile")
fi
exec haproxy -D -f "$config" -p "$pidfile"
