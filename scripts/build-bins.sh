#!/usr/bin/env bash
# Builds, in one cargo invocation, every binary that interop/run.sh and
# scripts/soak.sh drive. Cargo unifies dependency features over the packages
# one invocation selects, so two different selections rebuild the shared
# dependencies twice (83 crates, about a minute and a half on two cores);
# one selection, shared by both scripts, builds them once.
#   scripts/build-bins.sh [--release] [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo build "$@" \
  -p ssr-session-example-tools --bin verify --bin verify-stream --bin dev-issuer \
  --bin claims-check --bin csrf-check \
  -p ssr-session-example-axum --bin axum-ssr \
  -p ssr-session-example-actix --bin actix-ssr \
  --features ssr-session-example-axum/redis,ssr-session-example-actix/redis \
  -p ssr-session-benches --bin soak-load
