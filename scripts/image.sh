#!/usr/bin/env bash
# Builds the container image localhost/event-service:<version> from
# deploy/container/Containerfile: stages a root filesystem (the release
# binary, the shared libraries ldd names and the loader, CA certificates, a
# non-root user 65532, config.json with the embedded mock off) in
# .build/image/rootfs, then `podman build` FROM scratch. Prints the image.
#   --stage-only   stage .build/image (Containerfile and rootfs) and stop
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/lib/ensure-deps.sh podman buildah runc ca-certificates python3
swift build -c release --static-swift-stdlib --product event-service >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/event-service"
version=$("$bin" --version)
stage=.build/image
root=$stage/rootfs
rm -rf "$stage"
mkdir -p "$root/usr/bin" "$root/etc/event-service" "$root/etc/ssl/certs" "$root/tmp"
chmod 1777 "$root/tmp"
strip -o "$root/usr/bin/event-service" "$bin"
# Every library the binary loads, at the path it is found at, and the loader.
for lib in $(ldd "$bin" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
python3 - config.json >"$root/etc/event-service/config.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["MOCK"]["ENABLED"] = False
print(json.dumps(config, indent=2))
PY
cp deploy/container/Containerfile "$stage/"
[ "${1:-}" = --stage-only ] && { echo "$stage"; exit 0; }
export CONTAINERS_CONF="$PWD/deploy/container/containers.conf"
podman build --quiet --runtime runc --cgroup-manager=cgroupfs \
  -t "localhost/event-service:$version" -f "$stage/Containerfile" "$stage" >/dev/null
echo "localhost/event-service:$version"
