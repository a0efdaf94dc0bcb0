#!/usr/bin/env bash
# The public API of every published crate, listed in api/<crate>.txt (committed),
# so that a change of the public surface shows up in review as a diff of those files.
#
#   scripts/public-api.sh           rewrite api/*.txt from this tree (commit the result)
#   scripts/public-api.sh --check   fail with a diff if api/*.txt differ from this tree (CI)
#
# Each published crate is documented with every feature but the non-default crypto
# backend (`ring`: the backends are exclusive and give the same surface) as
# rustdoc JSON, which scripts/public_api.py renders into sorted lines.
set -euo pipefail

# Rustdoc JSON is unstable output: the stable toolchain gives it only with
# RUSTC_BOOTSTRAP=1. Cargo runs this script as RUSTDOC (below) so that the variable
# reaches rustdoc alone. Set for all of cargo, it would also reach build scripts that
# probe for a nightly (proc-macro2's does), rebuilding every proc-macro and whatever
# uses one, here and again at the next ordinary build.
if [[ -n "${PUBLIC_API_RUSTDOC:-}" ]]; then
  RUSTC_BOOTSTRAP=1 exec "$PUBLIC_API_RUSTDOC" "$@"
fi

cd "$(dirname "$0")/.."
mode=write
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

metadata=$(mktemp)
trap 'rm -f "$metadata"' EXIT
cargo metadata --no-deps --format-version 1 >"$metadata"
mapfile -t crates < <(python3 scripts/public_api.py packages --metadata "$metadata")
doc_dir=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["target_directory"])' "$metadata")/doc

# One `cargo doc` for all of them: dependencies are only type-checked (shared with
# earlier runs of this script, not with the HTML `cargo doc`, whose feature set is
# the whole workspace's), and each crate's JSON lands in target/doc/<crate>.json.
package_args=()
for crate in "${crates[@]}"; do package_args+=(-p "$crate"); done
unset CARGO_ENCODED_RUSTDOCFLAGS
PUBLIC_API_RUSTDOC="${RUSTDOC:-rustdoc}" RUSTDOC="$PWD/scripts/public-api.sh" \
  RUSTDOCFLAGS="-Z unstable-options --output-format json" \
  cargo doc --quiet --no-deps --lib --features ssr-session/testing,ssr-session-redis/tls "${package_args[@]}"

if [[ $mode == check ]]; then
  if ! python3 scripts/public_api.py render --check --metadata "$metadata" --doc-dir "$doc_dir" --out api; then
    echo
    echo "The public API differs from api/*.txt (diff above: - committed, + this tree)."
    echo "If the change is meant, run scripts/public-api.sh and commit api/ with it."
    exit 1
  fi
  echo "public API: api/*.txt match (${crates[*]})"
else
  python3 scripts/public_api.py render --metadata "$metadata" --doc-dir "$doc_dir" --out api
  echo "wrote api/{$(IFS=,; echo "${crates[*]}")}.txt"
fi
