#!/usr/bin/env bash
# The soak run (not part of CI): the axum example under a loopback load
# generator with one injected JWKS outage, the server's RSS sampled every
# 10 s. Prints a Markdown report (RELIABILITY.md holds the last one) and
# exits non-zero if a promise broke.
#
#   scripts/soak.sh [DURATION_SECS=600] [CONCURRENCY=16] [CHURN=5]
#
# CHURN is how many users sign in again each second (new tokens reach the
# key provider; each also fills the verified-token cache toward its bound);
# 0 keeps a fixed pool of 200 valid tokens.
#
# The outage starts at 45 % of the run and lasts 15 % of it (270 s and
# 90 s for the default 10 minutes); while it lasts, the dev issuer's JWKS
# route answers 503 (POST /auth/dev/jwks-outage?on=true|false).
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-600}"
concurrency="${2:-16}"
churn="${3:-5}"
outage_at=$((duration * 45 / 100))
outage_for=$((duration * 15 / 100))
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"

cargo build --release -p ssr-session-examples --bin axum-ssr
cargo build --release -p ssr-session-benches --bin soak-load

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Tokens live an hour, so that only the "expired" share of the mix is expired.
RUST_LOG="ssr_session=warn" "$target_dir/release/axum-ssr" --addr 127.0.0.1:0 --access-token-secs 3600 \
  > "$work/stdout" 2> "$work/stderr" &
server_pid=$!
for _ in $(seq 1 100); do
  [ -s "$work/stdout" ] && break
  sleep 0.1
done
base="$(head -n 1 "$work/stdout")"
[ -n "$base" ] || { echo "the server did not start:" >&2; cat "$work/stderr" >&2; exit 1; }
echo "server $base (pid $server_pid); ${duration}s, concurrency $concurrency, churn $churn/s, outage at ${outage_at}s for ${outage_for}s" >&2

status=0
"$target_dir/release/soak-load" --base "$base" --pid "$server_pid" --duration "$duration" \
  --concurrency "$concurrency" --churn "$churn" --outage-at "$outage_at" --outage-for "$outage_for" || status=$?

# What the server logged about the outage (warnings of ssr_session only).
warnings="$(grep -c WARN "$work/stderr" || true)"
echo
echo "Server warnings: $warnings"
if [ "$warnings" != "0" ]; then
  echo
  echo '```text'
  grep WARN "$work/stderr" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-400 | head -n 3
  echo '```'
fi
exit "$status"
