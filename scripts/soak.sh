#!/usr/bin/env bash
# The soak run: two example replicas sharing revocations through a real
# redis-server on loopback, under a loopback load generator with sign-outs
# at a steady rate, one JWKS outage and one Redis restart (killed, started
# again empty), the servers' RSS sampled every 10 s. Prints a Markdown
# report (RELIABILITY.md holds the last long one) and exits non-zero if a
# promise broke. `.ci/run` runs a short one (SOAK_PROFILE=dev).
#
#   scripts/soak.sh [DURATION_SECS=600] [CONCURRENCY=16] [CHURN=5] [SIGNOUTS=2]
#
# The replicas: the axum example with its embedded dev issuer (the writer:
# its sign-outs record revocations in Redis) and the actix example verifying
# the same tokens (--api-domain); both --redis-url. The load alternates
# between them.
#
# CHURN is how many users sign in again each second (new tokens reach the
# key provider; each also fills the verified-token cache toward its bound);
# 0 keeps a fixed pool of 200 valid tokens. SIGNOUTS is how many sessions
# sign out each second (each served first, then asked for again and again
# among the load).
#
# The Redis restart happens at 25 % of the run (Redis is down for 5 % of
# it, at least 2 s; no persistence, so it comes back empty); the JWKS outage
# starts at 45 % and lasts 15 % (the dev issuer's JWKS route answers 503).
#
# SOAK_PROFILE=release (default) or dev (reuses a test build: CI).
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-600}"
concurrency="${2:-16}"
churn="${3:-5}"
signouts="${4:-2}"
outage_at=$((duration * 45 / 100))
outage_for=$((duration * 15 / 100))
redis_at=$((duration * 25 / 100))
redis_for=$((duration * 5 / 100))
[ "$redis_for" -ge 2 ] || redis_for=2
profile="${SOAK_PROFILE:-release}"
case "$profile" in
  release) cargo_profile=(--release); out=release ;;
  dev) cargo_profile=(); out=debug ;;
  *) echo "SOAK_PROFILE must be release or dev" >&2; exit 2 ;;
esac
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
redis_server="${SSR_SESSION_REDIS_SERVER:-$(command -v redis-server || true)}"
[ -n "$redis_server" ] || { echo "redis-server not found: run scripts/install-test-deps.sh" >&2; exit 1; }

# The same selection as interop/run.sh's, so that a run after it builds nothing.
scripts/build-bins.sh "${cargo_profile[@]}"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  [ -f "$work/redis.sh" ] && sh "$work/redis.sh" stop
  rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port for Redis: one nothing answers on.
redis_port=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then redis_port="$candidate"; break; fi
done
[ -n "$redis_port" ] || { echo "no free loopback port found" >&2; exit 1; }
# start|stop, for this script and for the load generator's restart.
cat > "$work/redis.sh" <<EOF
case "\$1" in
  start) "$redis_server" --port $redis_port --bind 127.0.0.1 --save "" --appendonly no \
           --dir "$work" --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log" ;;
  stop) [ -f "$work/redis.pid" ] && kill -9 "\$(cat "$work/redis.pid")" 2>/dev/null; rm -f "$work/redis.pid" ;;
esac
EOF
sh "$work/redis.sh" start
for _ in $(seq 1 100); do
  [ -s "$work/redis.pid" ] && redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis_url="redis://127.0.0.1:$redis_port/0"

# Starts an app; its address is the first line of its stdout.
start_app() {
  local name="$1"; shift
  RUST_LOG="ssr_session=warn,ssr_session_redis=warn" "$target_dir/$out/$name" --addr 127.0.0.1:0 "$@" \
    > "$work/$name.stdout" 2> "$work/$name.stderr" &
  pids+=($!)
  for _ in $(seq 1 100); do
    [ -s "$work/$name.stdout" ] && break
    sleep 0.1
  done
  [ -s "$work/$name.stdout" ] || { echo "$name did not start:" >&2; cat "$work/$name.stderr" >&2; exit 1; }
}
# Tokens live an hour, so that only the "expired" share of the mix is expired.
start_app axum-ssr --access-token-secs 3600 --redis-url "$redis_url"
writer_pid="${pids[-1]}"
writer="$(head -n 1 "$work/axum-ssr.stdout")"
start_app actix-ssr --api-domain "$writer" --redis-url "$redis_url"
other_pid="${pids[-1]}"
other="$(head -n 1 "$work/actix-ssr.stdout")"
echo "replicas $writer (axum, pid $writer_pid) and $other (actix, pid $other_pid), Redis $redis_url; ${duration}s, concurrency $concurrency, churn $churn/s, sign-outs $signouts/s, Redis restart at ${redis_at}s (down ${redis_for}s), JWKS outage at ${outage_at}s for ${outage_for}s ($profile build)" >&2

status=0
"$target_dir/$out/soak-load" --base "$writer" --replica "$other" --pid "$writer_pid" --pid "$other_pid" \
  --duration "$duration" --concurrency "$concurrency" --churn "$churn" --signouts "$signouts" \
  --outage-at "$outage_at" --outage-for "$outage_for" \
  --redis-restart-at "$redis_at" --redis-down-for "$redis_for" --redis-control "$work/redis.sh" || status=$?

# What the servers logged (warnings of ssr_session and ssr_session_redis).
for name in axum-ssr actix-ssr; do
  warnings="$(grep -c WARN "$work/$name.stderr" || true)"
  errors="$(grep -c ERROR "$work/$name.stderr" || true)"
  echo
  echo "$name: $warnings warnings, $errors errors logged"
  if [ "$warnings" != "0" ] || [ "$errors" != "0" ]; then
    echo
    echo '```text'
    grep -E 'WARN|ERROR' "$work/$name.stderr" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-300 | awk '!seen[substr($0, 29)]++' | head -n 6
    echo '```'
  fi
done
exit "$status"
