#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust: Debian's Chromium and its
# chromedriver, for the browser tests (examples/tests/browser.rs). Browsers
# cannot be downloaded at run time here, so they come from Debian's packages.
# Idempotent: does nothing when both are already installed.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root() { "$@"; }
elif command -v sudo >/dev/null 2>&1; then
  as_root() { sudo "$@"; }
else
  echo "install-test-deps: need root (or sudo) to install chromium and chromium-driver" >&2
  exit 1
fi

echo "install-test-deps: installing chromium and chromium-driver (Debian packages)"
as_root apt-get update
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  chromium chromium-driver
