#!/usr/bin/env bash
# End to end: the axum example (release build) under wrk on loopback, for
# `/dashboard` with a valid session cookie (token cache on, the default)
# and for the public `/` with the same cookie. Prints requests/s, p50/p99
# and errors; fails if any request failed or answered other than 200.
# With ROUNDS > 1 the two routes run in alternating order, round after
# round (paired, so load that comes and goes hits both alike), and the
# median of the per-round ratios /dashboard ÷ / is printed.
#
#   benches/e2e.sh                      # 30 s per route
#   DURATION=10s CONNECTIONS=32 THREADS=1 benches/e2e.sh
#   ROUNDS=11 DURATION=5s benches/e2e.sh  # paired rounds, median ratio
#
# Needs wrk (Debian: apt-get install -y wrk) and curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

duration="${DURATION:-30s}"
rounds="${ROUNDS:-1}"
connections="${CONNECTIONS:-64}"
threads="${THREADS:-1}"

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "$tool not found (Debian: apt-get install -y $tool)" >&2; exit 1; }
done

cargo build --release -p ssr-session-example-axum --bin axum-ssr
target_dir="$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
work="$(mktemp -d)"
"$target_dir/release/axum-ssr" --addr 127.0.0.1:0 --access-token-secs 3600 >"$work/stdout" 2>"$work/stderr" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 100); do
  [[ -s "$work/stdout" ]] && break
  sleep 0.1
done
base="$(head -n1 "$work/stdout")"
[[ "$base" == http://* ]] || { echo "the example printed no address" >&2; cat "$work/stderr" >&2; exit 1; }

# Sign in with the embedded dev issuer and keep the access token.
token="$(curl -fsS -o /dev/null -D - "$base/auth/dev/signin?userId=bench" |
  tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: sAccessToken=\([^;]*\).*/\1/p' | head -n1)"
[[ -n "$token" ]] || { echo "no sAccessToken cookie from the dev sign-in" >&2; exit 1; }
cookie="sAccessToken=$token"
curl -fsS -H "Cookie: $cookie" -H "Accept: text/html" "$base/dashboard" | grep -q bench ||
  { echo "/dashboard did not render the user with the cookie" >&2; exit 1; }

echo "== $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); wrk -t$threads -c$connections -d$duration, $rounds round(s)"
status=0
ratios=()
for round in $(seq "$rounds"); do
  if (( round % 2 )); then order=(/dashboard /); else order=(/ /dashboard); fi
  declare -A rate=()
  for route in "${order[@]}"; do
    echo "== round $round: GET $route (Cookie: sAccessToken=<valid RS256 token>)"
    wrk -t"$threads" -c"$connections" -d"$duration" --latency \
      -H "Cookie: $cookie" -H "Accept: text/html" "$base$route" | tee "$work/wrk.txt"
    if grep -Eq "Non-2xx or 3xx responses|Socket errors" "$work/wrk.txt"; then
      echo "!! errors on $route" >&2
      status=1
    fi
    rate[$route]="$(sed -n 's/^Requests\/sec: *//p' "$work/wrk.txt")"
  done
  ratios+=("$(awk -v d="${rate[/dashboard]}" -v p="${rate[/]}" 'BEGIN { printf "%.3f", d / p }')")
  echo "== round $round: /dashboard ÷ / = ${ratios[-1]}"
  unset rate
done
if (( rounds > 1 )); then
  echo "== per-round /dashboard ÷ /: ${ratios[*]}"
  printf '%s\n' "${ratios[@]}" | sort -n |
    awk '{ r[NR] = $1 } END { printf "== median /dashboard ÷ / over %d rounds: %.3f×\n", NR, (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2 }'
fi
exit "$status"
