#!/usr/bin/env bash
# Issue 23: what the `metrics` feature costs a verified-token cache hit, paired
# across builds. The `cache_hit` bench is built three ways:
#   base  main before issue 23 (BASE=<commit>, default 1f387da, the commit the
#         feature was built on), from
#         `git archive` in a scratch directory, into this target directory
#   off   this tree, without the feature
#   on    this tree, `--features metrics`, a Prometheus recorder installed
# and run in rotating order, each round a short criterion run of each; it prints
# every side's median and the median of the per-round differences (on − off,
# off − base, on − base), which load that drifts over seconds cannot fake. Then,
# with valgrind, the instructions per hit of each side (`cache-hit-loop` under
# callgrind: deterministic, where timings on a shared machine are not).
#
#   benches/metrics.sh [rounds]     (default 15; about 30 s a round, plus the builds;
#                                    0: the instruction counts only)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-15}"
base="${BASE:-1f387da}"
target="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
git archive "$base" | tar -x -C "$scratch"
cp benches/benches/cache_hit.rs "$scratch/benches/benches/"
cp benches/src/bin/cache-hit-loop.rs "$scratch/benches/src/bin/"
if ! grep -q 'name = "cache_hit"' "$scratch/benches/Cargo.toml"; then
  printf '\n[[bench]]\nname = "cache_hit"\nharness = false\n' >>"$scratch/benches/Cargo.toml"
fi
if ! grep -q '^tracing-subscriber' "$scratch/benches/Cargo.toml"; then
  sed -i 's/^criterion.workspace = true$/&\ntracing-subscriber.workspace = true/' "$scratch/benches/Cargo.toml"
fi

# The path of the executable named $2 that `cargo $3…` builds in directory $1
# (the `cache_hit` bench or the `cache-hit-loop` binary, release).
build() {
  local dir="$1" name="$2"
  shift 2
  (cd "$dir" && CARGO_TARGET_DIR="$target" cargo "$@" -q -p ssr-session-benches \
    --message-format=json) |
    NAME="$name" python3 -c '
import json, os, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == os.environ["NAME"] and message.get("executable"):
        print(message["executable"])'
}
echo "== building base ($base), off, on"
declare -A bin loop
bin[base]="$(build "$scratch" cache_hit bench --bench cache_hit --no-run)"
bin[off]="$(build . cache_hit bench --bench cache_hit --no-run)"
bin[on]="$(build . cache_hit bench --bench cache_hit --no-run --features metrics)"
# A binary is copied out at once: cargo writes every build of it to the same
# target/release/cache-hit-loop.
loop[base]="$scratch/loop-base"
cp "$(build "$scratch" cache-hit-loop build --release --bin cache-hit-loop)" "${loop[base]}"
loop[off]="$scratch/loop-off"
cp "$(build . cache-hit-loop build --release --bin cache-hit-loop)" "${loop[off]}"
loop[on]="$scratch/loop-on"
cp "$(build . cache-hit-loop build --release --bin cache-hit-loop --features metrics)" "${loop[on]}"

# One criterion run of a side: its median time per hit, in nanoseconds.
measure() {
  "${bin[$1]}" --bench 'cache_hit$' --warm-up-time 1 --measurement-time 2 --noplot 2>/dev/null |
    python3 -c '
import re, sys
scale = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6}
# Reads to the end: leaving early would kill the bench with SIGPIPE.
times = []
for line in sys.stdin:
    found = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
    if found:
        times.append(float(found.group(1)) * scale[found.group(2)])
print(times[0])'
}

results="$(mktemp)"
if ((rounds > 0)); then
  sides=(base off on)
  echo "== $rounds rounds, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
  for ((round = 0; round < rounds; round++)); do
    line="$round"
    for ((i = 0; i < 3; i++)); do
      side="${sides[$(((round + i) % 3))]}"
      line+=" $side=$(measure "$side")"
    done
    echo "$line" | tee -a "$results"
  done
  python3 - "$results" <<'PY'
import statistics, sys
rows = [dict(item.split("=") for item in line.split()[1:]) for line in open(sys.argv[1])]
rows = [{side: float(value) for side, value in row.items()} for row in rows]
def median(values):
    return statistics.median(values)
def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return f"[{q[0]:+.1f}, {q[2]:+.1f}]"
print()
print("| side | median ns per hit |")
print("|---|---|")
for side in ("base", "off", "on"):
    print(f"| {side} | {median([row[side] for row in rows]):.1f} |")
print()
print("| difference | median of per-round differences, ns [quartiles] |")
print("|---|---|")
for a, b in (("off", "base"), ("on", "off"), ("on", "base")):
    diffs = [row[a] - row[b] for row in rows]
    print(f"| {a} − {b} | {median(diffs):+.1f} {quartiles(diffs)} |")
PY
fi
rm -f "$results"

if command -v valgrind >/dev/null; then
  hits=100000
  echo
  echo "| side | instructions per hit (callgrind, $hits hits) |"
  echo "|---|---|"
  for side in base off on; do
    refs=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      --toggle-collect='cache_hit_loop::hits' "${loop[$side]}" "$hits" 2>&1 |
      sed -n 's/.*refs: *//p' | tr -d ,)
    awk -v s="$side" -v r="$refs" -v n="$hits" 'BEGIN { printf "| %s | %.0f |\n", s, r / n }'
  done
else
  echo "(no valgrind: instruction counts skipped; apt-get install valgrind)"
fi
