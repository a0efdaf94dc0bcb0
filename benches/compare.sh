#!/usr/bin/env bash
# One run, side by side: our criterion benches (verify, pipeline, jwks), the
# seed's Node path (benches/node-seed) on the very same RS256 token and JWKS,
# the ratios of those medians, and then every target ratio measured *paired*
# (both sides in alternating ~20 ms blocks, median of 41 rounds: the numbers
# to trust on a busy machine), each with met / missed.
#
#   benches/compare.sh            # full criterion runs (about 4 minutes on 2 cores)
#   benches/compare.sh --quick    # shorter samples, for a smoke test
#   ROUNDS=81 benches/compare.sh  # more paired rounds
#   BENCHES="verify" benches/compare.sh   # only some bench targets
#
# Needs cargo, node >= 20.19 and npm (for `npm ci` in benches/node-seed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

criterion_args=()
if [[ "${1:-}" == "--quick" ]]; then
  criterion_args=(--warm-up-time 1 --measurement-time 2)
fi
benches="${BENCHES:-verify pipeline jwks}"

target_dir="$(cargo metadata --format-version 1 --no-deps |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
fixture="$target_dir/bench-fixture"
mkdir -p "$fixture"

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(rustc --version), node $(node --version)"
for bench in $benches; do
  echo "== cargo bench --bench $bench"
  SSR_BENCH_EXPORT="$fixture" cargo bench -p ssr-session-benches --bench "$bench" -- "${criterion_args[@]}"
done

echo "== the seed's Node path (benches/node-seed) on the same token and JWKS"
if [[ ! -d benches/node-seed/node_modules ]]; then
  (cd benches/node-seed && npm ci --no-audit --no-fund)
fi
if [[ ! -f "$fixture/token-rs256.txt" ]]; then
  echo "no fixture in $fixture: run the verify bench (BENCHES=verify) first" >&2
  exit 1
fi
node benches/node-seed/bench.js "$fixture" --json | tee "$fixture/node.json"

node benches/node-seed/report.js "$target_dir/criterion" "$fixture/node.json"

echo "== paired ratios (cargo run --release -p ssr-session-benches --bin ratios)"
cargo run --quiet --release -p ssr-session-benches --bin ratios -- --rounds "${ROUNDS:-41}" 2>/dev/null
