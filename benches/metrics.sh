#!/usr/bin/env bash
# Issue 23: what the `metrics` feature costs a verified-token cache hit, paired
# across builds. The `cache_hit` bench is built three ways:
#   base  today's main (BASE=<commit>, default: the merge-base with main), from
#         `git archive` in a scratch directory, into this target directory
#   off   this tree, without the feature
#   on    this tree, `--features metrics`, a Prometheus recorder installed
# and run in rotating order, each round a short criterion run of each; it prints
# every side's median and the median of the per-round differences (on − off,
# off − base, on − base), which load that drifts over seconds cannot fake.
#
#   benches/metrics.sh [rounds]     (default 15; about 10 s a round, plus the builds)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-15}"
base="${BASE:-$(git merge-base HEAD main)}"
target="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
git archive "$base" | tar -x -C "$scratch"
cp benches/benches/cache_hit.rs "$scratch/benches/benches/"
if ! grep -q 'name = "cache_hit"' "$scratch/benches/Cargo.toml"; then
  printf '\n[[bench]]\nname = "cache_hit"\nharness = false\n' >>"$scratch/benches/Cargo.toml"
fi

# The path of the `cache_hit` bench binary built in directory $1 with the rest as
# cargo arguments.
build() {
  local dir="$1"
  shift
  (cd "$dir" && CARGO_TARGET_DIR="$target" cargo bench -q -p ssr-session-benches \
    --bench cache_hit --no-run --message-format=json "$@") |
    python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "cache_hit" and message.get("executable"):
        print(message["executable"])'
}
echo "== building base ($base), off, on"
declare -A bin
bin[base]="$(build "$scratch")"
bin[off]="$(build .)"
bin[on]="$(build . --features metrics)"

# One criterion run of a side: its median time per hit, in nanoseconds.
measure() {
  "${bin[$1]}" --bench cache_hit --warm-up-time 1 --measurement-time 2 --noplot 2>/dev/null |
    python3 -c '
import re, sys
scale = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6}
for line in sys.stdin:
    found = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
    if found:
        print(float(found.group(1)) * scale[found.group(2)])
        break'
}

results="$(mktemp)"
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
rm -f "$results"
