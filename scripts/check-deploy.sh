#!/usr/bin/env bash
# Checks deploy/event-service.service with `systemd-analyze verify`, pointed
# at the release binary built here (the unit names /usr/local/bin, which a
# build machine does not have).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh systemd
swift build -c release --product event-service >/dev/null
bin="$(swift build -c release --show-bin-path)/event-service"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/bin/event-service|$bin|" deploy/event-service.service >"$dir/event-service.service"
systemd-analyze verify "$dir/event-service.service"
echo "deploy/event-service.service: systemd-analyze verify found no problem"
