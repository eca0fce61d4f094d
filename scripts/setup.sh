#!/usr/bin/env bash
# Installs every real component consulate's tests and demo use, on Debian bookworm, as root.
# Idempotent: a second run only checks. Consul 1.8.7 comes from Debian bullseye through a private
# apt configuration and is unpacked into .cache/consul; the system's apt sources are not touched.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache"
consul_bin="$cache/consul/usr/bin/consul"
consul_version="1.8.7"
say() { printf 'setup: %s\n' "$*"; }
# Output captured first, then matched: `cmd | grep -q` under pipefail fails at random when grep
# exits before cmd has written everything (SIGPIPE, status 141).
has() { local out; out=$("$@" 2>/dev/null) || return 1; [[ "$out" == *"$HAS"* ]]; }
consul_ok() { [ -x "$consul_bin" ] && HAS="v$consul_version" has "$consul_bin" version; }

apt_packages=(docker.io busybox-static haproxy nginx dnsutils iproute2 curl ca-certificates chromium)
missing=()
for p in "${apt_packages[@]}"; do
  HAS="install ok installed" has dpkg-query -W -f='${Status}' "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# The nginx and haproxy packages start system services; the tests start their own.
for svc in nginx haproxy; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done

if consul_ok; then
  :
else
  say "fetching consul $consul_version from Debian bullseye (private apt configuration)"
  work=$(mktemp -d) && chmod 755 "$work"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/parts" "$work/cache/archives/partial"
  echo "deb http://deb.debian.org/debian bullseye main" > "$work/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/parts"
            -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  apt-get "${apt_opts[@]}" update -q >/dev/null
  (cd "$work" && apt-get "${apt_opts[@]}" download -q "consul=${consul_version}*" >/dev/null 2>&1)
  rm -rf "$cache/consul"
  mkdir -p "$cache/consul"
  dpkg-deb -x "$work"/consul_*.deb "$cache/consul"
  consul_ok || { say "consul $consul_version did not unpack as expected"; exit 1; }
fi

if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  say "installing npm packages"
  (cd "$root" && npm ci --no-audit --no-fund >/dev/null)
fi
# The demo runs the built CLI: rebuild when any source is newer than the build.
if [ ! -f "$root/dist/src/cli/main.js" ] || [ -n "$(find "$root/src" "$root/package.json" -newer "$root/dist/src/cli/main.js" -print -quit)" ]; then
  (cd "$root" && npm run build >/dev/null && touch "$root/dist/src/cli/main.js")
fi
say "ready: consul $("$consul_bin" version | head -1 | cut -d' ' -f2), $(dockerd --version | cut -d, -f1), $(haproxy -v | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1)"
