#!/usr/bin/env bash
# The suite's backend-sensitive parts on one crypto backend (`ring` unless told):
# the core's tests, the adapters' tests (the conformance suite included), the
# interop corpus (tokens signed by jose and PyJWT, judged by the `verify` CLI
# built on that backend) and the fuzz targets' seeds (each seed run once
# through its target's checks). CI runs it for the backend that is not the
# default; `scripts/test.sh` covers the default.
#
#   scripts/test-backend.sh [ring|aws-lc-rs]
#
# Runs last in CI: it rebuilds ssr-session and what depends on it with the
# other backend into the same target directory (the `verify` binary too).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
backend="${1:-ring}"
case "$backend" in
  ring | aws-lc-rs) ;;
  *) echo "usage: $0 [ring|aws-lc-rs]" >&2; exit 2 ;;
esac
features=(--no-default-features --features "$backend")
step() { echo; echo "== backend $backend: $* =="; }

step "clippy on the core (its backend module is compiled only here)"
cargo clippy "${features[@]}" -p ssr-session --all-targets -- -D warnings

step "the core's and the adapters' tests (conformance included)"
cargo test "${features[@]}" \
  -p ssr-session -p ssr-session-axum -p ssr-session-actix -p ssr-session-rocket

step "interop corpus: jose / Next.js guide / PyJWT / the verify CLI on $backend"
cargo build --quiet "${features[@]}" -p ssr-session-example-tools --bin verify
cd interop
stamp_of() { sha256sum "$1" | cut -d' ' -f1; }
# What interop/run.sh installs (the corpus's peers), when it has not run yet.
if [ "$(cat node_modules/.interop-stamp 2>/dev/null)" != "$(stamp_of package-lock.json)" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  stamp_of package-lock.json > node_modules/.interop-stamp
fi
if [ "$(cat .venv/.interop-stamp 2>/dev/null)" != "$(stamp_of requirements.txt)" ]; then
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --disable-pip-version-check -q -r requirements.txt
  stamp_of requirements.txt > .venv/.interop-stamp
fi
mkdir -p .work
timeout 240 node corpus/differential.mjs
cd "$ROOT"

# The fuzz crate is a workspace of its own (cargo-fuzz's layout); built without
# cargo-fuzz's instrumentation, each target is libFuzzer's runner, which runs
# the files it is given once each and fails on the first panic.
step "fuzz seeds through their targets"
target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
(cd fuzz && CARGO_TARGET_DIR="$target_dir" cargo build --quiet "${features[@]}" --bins)
for target in verify_token token_source jwks_parse; do
  seeds=(fuzz/seeds/"$target"/*)
  "$target_dir/debug/$target" "${seeds[@]}" >/dev/null 2>&1 \
    || { echo "fuzz target $target failed on a seed; rerun: $target_dir/debug/$target fuzz/seeds/$target/*" >&2; exit 1; }
  echo "$target: ${#seeds[@]} seeds, no failure"
done
