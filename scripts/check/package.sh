#!/usr/bin/env bash
# Checks what scripts/package.sh makes, as a user would meet it:
#   1. the binary from the tarball runs with the Swift toolchain hidden (an
#      empty directory mounted over it in a mount namespace of its own):
#      --version, and a service that answers /health and stops on SIGTERM;
#   2. the .deb installs with apt-get, `event-service --version` runs, its
#      config refuses to start without API_BASE (exit 2), lintian's tags are
#      printed, and it is removed and purged cleanly.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait.sh
./scripts/lib/ensure-deps.sh curl lintian util-linux
mapfile -t made < <(./scripts/package.sh)
tarball=${made[0]}
deb=${made[1]}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xzf "$tarball"
bin=$(echo "$work"/event-service-*/event-service)
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")

echo "== the binary without the toolchain ($toolchain hidden)"
unshare -m sh -c "mount -t tmpfs none '$toolchain' && ls -A '$toolchain' | wc -l && '$bin' --version"
port=${PACKAGE_CHECK_PORT:-3680}
unshare -m sh -c "mount -t tmpfs none '$toolchain' && cd '$work' && exec env PORT=$port MOCK='{\"PORT\":$((port + 1))}' '$bin'" \
  >"$work/service.log" 2>&1 &
service=$!
wait_http "http://127.0.0.1:$port/health"
curl -sf "http://127.0.0.1:$port/getUsers" >/dev/null
echo "answers /health and /getUsers; RSS $(awk '/^VmRSS/ {print $2, $3}' /proc/$(pgrep -P $service || echo $service)/status 2>/dev/null || echo '?')"
kill -TERM $service
wait $service && echo "SIGTERM: exit 0"

echo "== the .deb"
lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v "root privileges" || true
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "./$deb" >/dev/null
dpkg -s event-service | grep -E "^(Status|Version|Depends):"
event-service --version
[ -f /etc/event-service/config.json ] && [ -f /lib/systemd/system/event-service.service ]
code=0
event-service --config /etc/event-service/config.json 2>"$work/refused.txt" || code=$?
[ "$code" -eq 2 ] || { echo "expected exit 2 without API_BASE, got $code" >&2; exit 1; }
echo "without API_BASE: exit 2 ($(cat "$work/refused.txt"))"
apt-get remove -y -qq event-service >/dev/null
[ ! -e /usr/bin/event-service ] || { echo "binary left after remove" >&2; exit 1; }
apt-get purge -y -qq event-service >/dev/null
[ ! -e /etc/event-service/config.json ] || { echo "config left after purge" >&2; exit 1; }
dpkg -s event-service >/dev/null 2>&1 && { echo "still installed" >&2; exit 1; }
echo "removed and purged cleanly"
