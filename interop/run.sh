#!/usr/bin/env bash
# interop/run.sh: checks ssr-session against software written by others, run
# here for real (issue 7). Installs what it needs (npm ci from the lock file,
# PyJWT into .venv/, Debian's Chromium if missing), builds the Rust binaries
# it drives, runs every part, prints the agreement tables and exits non-zero
# on any unexpected result.
#
#   1. corpus             tokens signed by jose and PyJWT, classified by jose,
#                         the SuperTokens Next.js guide's code, PyJWT and ssr-session
#   2. supertokens-node   the real backend SDK's getSessionForSSR as an oracle
#   3. supertokens-website the real frontend SDK in headless Chromium against axum-ssr
#   4. oidc               a real OpenID provider (oidc-provider), discovery, key rollover
#   5. supertokens claims supertokens-node's claim validators as the oracle for
#                         the 403 invalid-claim body (claims-check)
#   6. multi-issuer       two oidc-provider issuers accepted by one verifier, a third refused
#   7. revocation stream  supertokens-node's recipe, overridden by revocation-writer.mjs, writes
#                         revocations into a real redis-server; two axum-ssr replicas refuse the
#                         token within 100 ms of the write's acknowledgement (latencies printed)
#   8. supertokens anti-csrf supertokens-node's anti-CSRF modes (NONE, VIA_CUSTOM_HEADER,
#                         VIA_TOKEN, its defaults) on real requests as the oracle for the
#                         core's answers (csrf-check)
#
# Differences that are meant (or known) are listed with their reasons in
# intended-differences.json. Idempotent; run from anywhere.
set -euo pipefail
cd "$(dirname "$0")"
INTEROP="$PWD"
ROOT="$(dirname "$INTEROP")"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { echo; echo "== interop: $* =="; }
stamp_of() { sha256sum "$1" | cut -d' ' -f1; }

step "Node packages (npm ci from package-lock.json)"
if [ "$(cat node_modules/.interop-stamp 2>/dev/null)" != "$(stamp_of package-lock.json)" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  stamp_of package-lock.json > node_modules/.interop-stamp
else
  echo "up to date"
fi

step "Python packages (pip into .venv from requirements.txt)"
if [ "$(cat .venv/.interop-stamp 2>/dev/null)" != "$(stamp_of requirements.txt)" ]; then
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --disable-pip-version-check -q -r requirements.txt
  stamp_of requirements.txt > .venv/.interop-stamp
else
  echo "up to date"
fi

step "Chromium, chromedriver and redis-server"
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ] || [ ! -x "${CHROMEDRIVER:-/usr/bin/chromedriver}" ] \
  || ! command -v "${SSR_SESSION_REDIS_SERVER:-redis-server}" >/dev/null 2>&1; then
  "$ROOT/scripts/install-test-deps.sh"
else
  echo "installed"
fi

step "Rust binaries (scripts/build-bins.sh: the same selection as the soak's)"
"$ROOT/scripts/build-bins.sh" --quiet

rm -f .work/summary-*.json
failed=()
parts=0
part() {
  local name="$1" script="$2"
  parts=$((parts + 1))
  step "$name"
  if ! timeout 240 node "$script"; then
    failed+=("$name")
  fi
}
part "1. corpus: jose / Next.js guide / PyJWT / ssr-session" corpus/differential.mjs
part "2. supertokens-node as an oracle" supertokens/backend-sdk.mjs
part "3. supertokens-website in headless Chromium" supertokens/frontend-sdk.mjs
part "4. a real OIDC issuer (oidc-provider)" oidc/oidc.mjs
part "5. supertokens-node's claim validators as an oracle" supertokens/claims.mjs
part "6. two OIDC issuers at once (oidc-provider x3)" oidc/multi-issuer.mjs
part "7. supertokens-node writes revocations to Redis, Rust replicas enforce them" supertokens/revocation-stream.mjs
part "8. supertokens anti-csrf: supertokens-node's modes as an oracle" supertokens/anti-csrf.mjs

step "agreement with ssr-session"
node --input-type=module -e '
import { readdirSync, readFileSync } from "node:fs";
for (const file of readdirSync(".work").filter((f) => f.startsWith("summary-")).sort()) {
  const s = JSON.parse(readFileSync(`.work/${file}`, "utf8"));
  const peers = Object.keys(s.agree).map((p) => `${p} ${s.agree[p]}/${s.cases} (+${s.explained[p]} listed differences)`);
  console.log(`${s.suite.padEnd(17)} ${String(s.cases).padStart(3)} cases: ${peers.join(", ")}`);
}'
if [ "${#failed[@]}" -gt 0 ]; then
  echo
  echo "interop: FAILED: ${failed[*]}" >&2
  echo "interop: $((parts - ${#failed[@]})) passed, ${#failed[@]} failed"
  exit 1
fi
echo
echo "interop: ${parts} passed, 0 failed"
