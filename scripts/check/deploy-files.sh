#!/usr/bin/env bash
# Checks the deployment files: deploy/event-service.service with
# `systemd-analyze verify`, pointed at the release binary built here (the
# unit names /usr/local/bin, which a build machine does not have), and
# deploy/kubernetes/ with kubernetes-validate (schemas bundled, no cluster).
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/lib/ensure-deps.sh systemd python3-pip
swift build -c release --static-swift-stdlib --product event-service >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/event-service"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/bin/event-service|$bin|" deploy/event-service.service >"$dir/event-service.service"
systemd-analyze verify "$dir/event-service.service"
echo "deploy/event-service.service: systemd-analyze verify found no problem"

python3 -m pip install --quiet --disable-pip-version-check "kubernetes-validate==1.37.0" 2>/dev/null ||
  python3 -m pip install --quiet --break-system-packages --disable-pip-version-check \
    "kubernetes-validate==1.37.0"
kubernetes-validate --strict -k 1.30.0 deploy/kubernetes/*.yaml
