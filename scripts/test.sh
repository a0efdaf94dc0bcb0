#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs them all.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x scripts/install-test-deps.sh ]; then
  scripts/install-test-deps.sh
fi
# The Leptos example's client bundle (and, for its browser tests, the
# supertokens-website bundle): its browser tests run the hydrated pages.
scripts/build-leptos-bundle.sh
cargo test --workspace "$@"
