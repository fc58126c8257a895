#!/usr/bin/env bash
# Builds the container image (scripts/image.sh) and tries it as an operator
# would: runs it (host network, in front of an event-mock on the host), gets
# 200 from /health and /ready, checks it runs as a non-root user and its
# size (at most 40 MB), sends SIGTERM with a request in flight (it
# completes; the container exits 0), and lists the image's files.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait.sh
./scripts/lib/ensure-deps.sh curl
export CONTAINERS_CONF="$PWD/deploy/container/containers.conf"
image=$(./scripts/image.sh)
swift build -c release --static-swift-stdlib --product event-mock >/dev/null
port=${IMAGE_CHECK_PORT:-3690}
"$(swift build -c release --static-swift-stdlib --show-bin-path)/event-mock" --port $((port + 1)) \
  --event-delay-ms 1000 --error-rate 0 >/dev/null 2>&1 &
mock=$!
name=event-service-check-$$
trap 'podman rm -f "$name" >/dev/null 2>&1 || true; kill $mock 2>/dev/null || true' EXIT
wait_http "http://127.0.0.1:$((port + 1))/getUsers"

size=$(podman image inspect "$image" --format '{{.Size}}')
echo "$image: $((size / 1000000)) MB ($size bytes)"
[ "$size" -le 40000000 ] || { echo "the image is over 40 MB" >&2; exit 1; }

podman run -d --name "$name" --runtime runc --cgroup-manager=cgroupfs --network host \
  -e PORT=$port -e API_BASE="http://127.0.0.1:$((port + 1))" "$image" >/dev/null
wait_http "http://127.0.0.1:$port/health"
for path in /health /ready /getUsers; do
  echo "$path: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready")" = 200 ]
pid=$(podman inspect "$name" --format '{{.State.Pid}}')
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
echo "runs as uid $uid (image user $(podman image inspect "$image" --format '{{.Config.User}}'))"
[ "$uid" != 0 ] || { echo "the service runs as root" >&2; exit 1; }

# SIGTERM with a request in flight (the mock takes 1 s per event).
out=$(mktemp)
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/getEventsByUserId/1" >"$out" &
client=$!
sleep 0.3
podman kill --signal TERM "$name" >/dev/null
status=$(podman wait "$name")
wait $client
echo "SIGTERM with a request in flight: the request got $(cat "$out"), the container exited $status"
podman logs "$name" 2>&1 | tail -3
[ "$(cat "$out")" = 200 ] && [ "$status" = 0 ] || exit 1

echo "files:"
(cd .build/image/rootfs && find . -type f -printf '  %-48p %s bytes\n' | sort)
rm -f "$out"
