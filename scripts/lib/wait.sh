# Sourced by the scripts: waits for something to answer over HTTP.
#
#   wait_http URL [SECONDS]   # until URL answers 2xx (default 30 s), else
#                             # says so on stderr and returns 1
# HTTPS URLs are not verified (a test CA is not the system's).
wait_http() {
  local url=$1 seconds=${2:-30} deadline
  deadline=$((SECONDS + seconds))
  until curl -sfk -o /dev/null "$url"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "nothing answers at $url after ${seconds} s" >&2
      return 1
    fi
    sleep 0.05
  done
}
