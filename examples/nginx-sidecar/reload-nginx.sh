#!/bin/sh
# Starts nginx on the rendered config, or reloads it. nginx -s reload only signals the master,
# so the config is tested first: a config nginx would refuse makes this exit non-zero, and
# consulate restores the previous file and runs this again.
# Usage: reload-nginx.sh <config> <pidfile>
set -eu
config=$1
pidfile=$2
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  nginx -t -q -c "$config"
  exec nginx -c "$config" -s reload
fi
exec nginx -c "$config"
