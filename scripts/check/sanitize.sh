#!/usr/bin/env bash
# Runs the test suite under sanitizers, each in its own build folder:
#   scripts/check/sanitize.sh            # address, then thread
#   scripts/check/sanitize.sh address
# LeakSanitizer is off: it reports FoundationNetworking/XCTest allocations that
# are not ours; scripts/check/valgrind.sh covers leaks instead. scripts/check/asan.supp
# suppresses one report that is Foundation's own (it says which).
# ASan does not see inside libevent (not instrumented); it does see libevent
# reading memory that Swift freed, such as a string libevent kept a pointer to.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/lib/ensure-deps.sh openssl redis-server
for sanitizer in ${*:-address thread}; do
  echo "== swift test --sanitize=$sanitizer"
  ASAN_OPTIONS="detect_leaks=0:suppressions=$PWD/scripts/check/asan.supp" swift test --scratch-path ".build-$sanitizer" --sanitize="$sanitizer"
done
