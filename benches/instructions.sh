#!/usr/bin/env bash
# Instructions per request of pipeline/<entry point>/{public,protected},
# counted by callgrind (deterministic, unlike timings on a shared machine),
# and protected ÷ public as a throughput ratio. Needs valgrind.
#   benches/instructions.sh [requests]   (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-10000}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cargo build --release -q -p ssr-session-benches --bin pipeline-loop
bin=target/release/pipeline-loop
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        --toggle-collect='pipeline_loop::requests' "$bin" "$1" "$2" "$requests" 2>&1 |
        sed -n 's/.*refs: *//p' | tr -d ,
}
echo "| pipeline | public instr/request | protected instr/request | protected ÷ public throughput |"
echo "|---|---|---|---|"
for framework in axum actix rocket axum_layer actix_middleware axum_layer_role actix_middleware_role axum_noop_layer axum_post; do
    public=$(count "$framework" /public)
    protected=$(count "$framework" /dashboard)
    awk -v f="$framework" -v p="$public" -v q="$protected" -v n="$requests" \
        'BEGIN { printf "| %s | %.0f | %.0f | %.3f× |\n", f, p / n, q / n, p / q }'
done
