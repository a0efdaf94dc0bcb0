#!/usr/bin/env bash
# Builds the Leptos example's client bundle (examples/leptos-ssr, feature
# `hydrate`) into $CARGO_TARGET_DIR/site/pkg (default target/site/pkg), where
# the example's server finds it (LEPTOS_SITE_ROOT, default target/site):
#   1. the wasm32-unknown-unknown target (rustup), if missing;
#   2. wasm-bindgen-cli at exactly the `wasm-bindgen` version of Cargo.lock
#      (the CLI and the library must agree), if missing or another version;
#   3. the library as a cdylib for wasm32, release (a debug bundle is ~10x
#      larger and slower to load), then wasm-bindgen --target web.
# Idempotent; when everything is in place it only lets cargo see that the
# bundle is fresh (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
site="$target_dir/site"
name=ssr_session_example_leptos

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "build-leptos-bundle: installing the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

wanted=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ -z "$wanted" ]; then
  echo "build-leptos-bundle: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
installed=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$installed" != "$wanted" ]; then
  echo "build-leptos-bundle: installing wasm-bindgen-cli $wanted (found: ${installed:-none})"
  # --locked first (the CLI's own lock file); when the registry lacks one of
  # its pinned versions, cargo's resolution of the same version instead.
  cargo install wasm-bindgen-cli --version "$wanted" --locked \
    || cargo install wasm-bindgen-cli --version "$wanted"
fi

# `cargo rustc --crate-type cdylib`: the wasm module, without making every
# native build of the library link a cdylib too.
cargo rustc -p ssr-session-example-leptos --lib --release \
  --target wasm32-unknown-unknown --no-default-features --features hydrate \
  --crate-type cdylib
wasm="$target_dir/wasm32-unknown-unknown/release/$name.wasm"

mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-name "$name" --out-dir "$site/pkg" "$wasm"
# The server's /pkg service sends these to browsers that accept gzip.
gzip -9 --keep --force "$site/pkg/${name}_bg.wasm" "$site/pkg/$name.js"
echo "build-leptos-bundle: $(du -b "$site/pkg/${name}_bg.wasm" | cut -f1) bytes of wasm in $site/pkg"

# For the example's browser tests with the SuperTokens frontend SDK on the
# page: supertokens-website (pinned by interop/package-lock.json), bundled
# the way interop/supertokens/frontend-sdk.mjs bundles it (esbuild, exposed as
# window.supertokensSession). interop/run.sh installs the same packages with
# the same stamp, so CI installs them once.
if ! command -v npm >/dev/null 2>&1; then
  echo "build-leptos-bundle: npm not found: the browser tests with supertokens-website will fail" >&2
  exit 0
fi
stamp_of() { sha256sum "$1" | cut -d' ' -f1; }
if [ "$(cat interop/node_modules/.interop-stamp 2>/dev/null)" != "$(stamp_of interop/package-lock.json)" ]; then
  echo "build-leptos-bundle: npm ci in interop/ (supertokens-website, esbuild)"
  (cd interop && npm ci --no-audit --no-fund --loglevel=error)
  stamp_of interop/package-lock.json > interop/node_modules/.interop-stamp
fi
interop/node_modules/.bin/esbuild interop/web/entry.js --bundle --format=iife --platform=browser \
  --target=es2020 --log-level=warning --outfile="$site/supertokens-website.js"
