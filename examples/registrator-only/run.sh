#!/usr/bin/env bash
# consulate registrator against the local agent ($CONSUL_HTTP_ADDR or 127.0.0.1:8500) and Docker.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
exec node "$root/dist/src/cli/main.js" registrator "$@"
