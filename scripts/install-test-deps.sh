#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust, from Debian's packages:
# - Chromium and its chromedriver, for the browser tests
#   (examples/tests/browser.rs). Browsers cannot be downloaded at run time
#   here, so they come from Debian.
# - redis-server, for ssr-session-redis's tests (redis/tests/), which start
#   their own servers on free loopback ports (plain, TLS, Sentinel, Cluster);
#   the package's own service is not used. redis-tools, for `redis-cli
#   --cluster create` in the Cluster test.
# Idempotent: installs only what is missing, and does nothing when all is there.
set -euo pipefail

missing=()
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  missing+=(chromium chromium-driver)
fi
if ! command -v redis-server >/dev/null 2>&1; then
  missing+=(redis-server)
fi
if ! command -v redis-cli >/dev/null 2>&1; then
  missing+=(redis-tools)
fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root() { "$@"; }
elif command -v sudo >/dev/null 2>&1; then
  as_root() { sudo "$@"; }
else
  echo "install-test-deps: need root (or sudo) to install ${missing[*]}" >&2
  exit 1
fi

echo "install-test-deps: installing ${missing[*]} (Debian packages)"
as_root apt-get update
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  "${missing[@]}"
