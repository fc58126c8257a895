#!/usr/bin/env bash
# The status page in headless Chromium (scripts/check/status-page.py):
# Debian's chromium, chromium-driver and python3-selenium, no browser
# download. --screenshot PATH keeps a picture of the page in the OPEN state
# (assets/status-open.png was made so).
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/lib/ensure-deps.sh chromium chromium-driver python3-selenium
swift build -c release --static-swift-stdlib --product event-service >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/event-service"
# Debian's own python3, which python3-selenium is installed for.
/usr/bin/python3 scripts/check/status-page.py "$bin" "${BROWSER_CHECK_PORT:-3660}" "$@"
