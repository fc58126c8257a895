#!/usr/bin/env bash
# Makes the release artefacts in dist/ (`make dist`):
#   dist/event-service-<version>-linux-<arch>.tar.gz: the binary (the Swift
#     standard library inside), config.json with the mock off, the systemd
#     unit, the Prometheus rules and an INSTALL
#   dist/event-service_<version>_<debarch>.deb: the same as a Debian package
#     (dpkg-deb): /usr/bin/event-service, /etc/event-service/config.json (a
#     conffile), the unit, the rules under /usr/share/event-service/,
#     dependencies declared
# Prints the paths it made.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/lib/ensure-deps.sh dpkg-dev python3
swift build -c release --static-swift-stdlib --product event-service >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/event-service"
version=$("$bin" --version)
arch=$(uname -m)
debarch=$(dpkg --print-architecture)
name="event-service-$version-linux-$arch"
rm -rf dist
stage="dist/$name"
mkdir -p "$stage"

# The configuration a package ships: every key at its default, but the mock
# off, so nothing starts until API_BASE names the real event API.
python3 - config.json >"$stage/config.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["MOCK"]["ENABLED"] = False
print(json.dumps(config, indent=2))
PY
strip -o "$stage/event-service" "$bin"
install -m 644 deploy/event-service.service "$stage/"
install -m 644 deploy/prometheus/event-service.rules.yml "$stage/"
cat >"$stage/INSTALL" <<TEXT
Event Service $version for Linux ($arch)

Needs: libevent 2.1, OpenSSL 3, hiredis, mimalloc, libstdc++ (Debian/Ubuntu:
apt-get install libevent-2.1-7 libevent-openssl-2.1-7 libssl3 libhiredis0.14
libmimalloc2.0 libstdc++6). The Swift runtime is inside the binary.

  sudo install -m 755 event-service /usr/local/bin/
  sudo install -D -m 644 config.json /etc/event-service/config.json
  sudo install -m 644 event-service.service /etc/systemd/system/
  sudo systemctl edit event-service     # Environment="API_BASE=https://..."
  sudo systemctl enable --now event-service

config.json has the embedded mock off: the service refuses to start (exit 2)
until API_BASE names the event API. event-service --help lists every key.
event-service.rules.yml: Prometheus alert rules (rule_files:).
TEXT
tar -C dist -czf "dist/$name.tar.gz" "$name"

# The Debian package.
deb="dist/deb"
mkdir -p "$deb/DEBIAN" "$deb/usr/bin" "$deb/etc/event-service" "$deb/lib/systemd/system" \
  "$deb/usr/share/event-service" "$deb/usr/share/doc/event-service"
install -m 755 "$stage/event-service" "$deb/usr/bin/event-service"
install -m 644 "$stage/config.json" "$deb/etc/event-service/config.json"
sed 's|/usr/local/bin/event-service|/usr/bin/event-service|' deploy/event-service.service \
  >"$deb/lib/systemd/system/event-service.service"
chmod 644 "$deb/lib/systemd/system/event-service.service"
install -m 644 deploy/prometheus/event-service.rules.yml "$deb/usr/share/event-service/"
printf 'event-service (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- Event Service team <events@example.com>  %s\n' \
  "$version" "$version" "$(date -R -u -d @0)" | gzip -9n >"$deb/usr/share/doc/event-service/changelog.gz"
cat >"$deb/usr/share/doc/event-service/copyright" <<TEXT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: event-service

Files: *
Copyright: 2026 Event Service team
License: proprietary
TEXT
echo "/etc/event-service/config.json" >"$deb/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
cat >"$deb/DEBIAN/control" <<TEXT
Package: event-service
Version: $version
Section: net
Priority: optional
Architecture: $debarch
Maintainer: Event Service team <events@example.com>
Installed-Size: $size
Depends: libc6, libstdc++6, libgcc-s1, libevent-2.1-7, libevent-openssl-2.1-7, libssl3, libhiredis0.14, libmimalloc2.0
Description: HTTP API in front of a slow, flaky event API
 Answers a user's events in about one upstream delay, guards writes with a
 circuit breaker, keeps reads answering through outages, keeps writes
 exactly once across instances (idempotency keys in Redis), and tells
 operators what is happening (metrics, a live status page).
TEXT
dpkg-deb --root-owner-group -Zxz --build "$deb" "dist/event-service_${version}_${debarch}.deb" >/dev/null
rm -rf "$deb"
echo "dist/$name.tar.gz"
echo "dist/event-service_${version}_${debarch}.deb"
