// Part 5: supertokens-node as the oracle for the `403 invalid claim` body
// (issue 13).
//
// For every claim validator kind of supertokens-node 24 (PrimitiveArrayClaim's
// includes, excludes, includesAll, excludesAll, includesAny; BooleanClaim's
// isTrue, isFalse), each with a passing case, a wrong value, a missing claim and
// a value older than its maxAgeInSeconds, plus cases with several validators
// (the order of the errors) and custom ids:
// - supertokens-node builds the validators itself (UserRoleClaim.validators.…,
//   PermissionClaim, EmailVerificationClaim, `new PrimitiveArrayClaim({key})`,
//   `new BooleanClaim({key})`), runs them on the payload of the same dev-issuer
//   token with the SDK's own `validateClaimsInPayload` (what `assertClaims` and
//   `verifySession` run after refetching) while `Date.now` is stubbed to the
//   case's fixed time, and renders any failure through its real error handler
//   (`INVALID_CLAIMS` -> the Session recipe's `onInvalidClaim`, into the custom
//   framework's CollectingResponse): status and body as it would send them;
// - ssr-session: the `claims-check` CLI verifies the token with the real
//   Verifier (keys from the dev issuer's JWKS URL, the clock fixed at the same
//   time), applies the same checks as claim validators, and renders the refusal
//   of a data request through the core (SessionConfig::reject).
// The two answers are compared as JSON: the status and the body deep-equal,
// the order of claimValidationErrors included. Byte-identical bodies are
// counted too (for information: member order inside a reason may differ).
import { createRequire } from "node:module";
import { isDeepStrictEqual } from "node:util";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { INTEROP, WORK, bin, intendedDifferences, lineProcess, startDevIssuer } from "../lib/common.mjs";

const SUITE = "supertokens-claims";
const PEER = "supertokens-node";
const require = createRequire(import.meta.url);
mkdirSync(WORK, { recursive: true });
const problems = [];

// The SDK's logger prints an empty line after each message; drop those.
const log = console.log;
console.log = (...args) => (args.length > 0 ? log(...args) : undefined);

// A long token lifetime: the fixed clocks below stay before `exp`.
const { issuer, info } = await startDevIssuer(["--access-token-secs", "3600"]);

const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const { UserRoleClaim, PermissionClaim } = require("supertokens-node/recipe/userroles");
const { EmailVerificationClaim } = require("supertokens-node/recipe/emailverification");
const { PrimitiveArrayClaim, BooleanClaim } = require("supertokens-node/recipe/session/claims");
const { errorHandler, PreParsedRequest, CollectingResponse } = require("supertokens-node/framework/custom");
const { validateClaimsInPayload } = require("supertokens-node/lib/build/recipe/session/utils");
const SessionError = require("supertokens-node/lib/build/recipe/session/error").default;
const sdkVersion = JSON.parse(readFileSync(path.join(INTEROP, "node_modules", "supertokens-node", "package.json"), "utf8")).version;
supertokens.init({
  framework: "custom",
  // Never called: validating claims in a payload needs no core.
  supertokens: { connectionURI: "http://127.0.0.1:9" },
  appInfo: { apiDomain: info.origin, websiteDomain: info.origin, appName: "ssr-session interop", apiBasePath: "/auth" },
  recipeList: [Session.init()],
});

/** Signs `userId` in through the dev issuer's HTTP route with `claims`; the access token. */
async function signIn(userId, claims) {
  const response = await fetch(`${info.origin}/auth/dev/signin`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId, ...claims }),
  });
  if (response.status !== 200) throw new Error(`sign-in of ${userId}: ${response.status}`);
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith("sAccessToken="));
  return cookie.slice("sAccessToken=".length).split(";")[0];
}

const payloadOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));

// The tokens: every SDK claim set, claims deliberately not all present.
const tokens = {
  full: await signIn("claims-full", { roles: "admin,editor", permissions: "read,write", emailVerified: "true" }),
  other: await signIn("claims-other", { roles: "viewer", permissions: "read", emailVerified: "false" }),
  none: await signIn("claims-none", {}),
};
const payloads = Object.fromEntries(Object.entries(tokens).map(([name, token]) => [name, payloadOf(token)]));
const fetchedAt = payloads.full["st-role"].t;
if (payloads.none["st-role"] !== undefined) problems.push(`${SUITE}: the claim-less token carries st-role`);
// 100.123 s after the claims were fetched: under a 200 s maxAge, over a 60 s one.
const NOW = fetchedAt + 100_123;

// The claims, as supertokens-node spells them, and their payload keys for claims-check.
const custom = new PrimitiveArrayClaim({ key: "st-perm", fetchValue: () => undefined });
const customBool = new BooleanClaim({ key: "st-ev", fetchValue: () => undefined });
const CLAIMS = {
  UserRoleClaim: { sdk: UserRoleClaim, key: "st-role" },
  PermissionClaim: { sdk: PermissionClaim, key: "st-perm" },
  EmailVerificationClaim: { sdk: EmailVerificationClaim, key: "st-ev" },
  "PrimitiveArrayClaim(st-perm)": { sdk: custom, key: "st-perm" },
  "BooleanClaim(st-ev)": { sdk: customBool, key: "st-ev" },
};

/**
 * A check, both ways: `claim` (a CLAIMS name), `kind`, `value` (none for
 * isTrue / isFalse), `maxAge`, `id`.
 */
function sdkValidator({ claim, kind, value, maxAge, id }) {
  const validators = CLAIMS[claim].sdk.validators;
  return kind === "isTrue" || kind === "isFalse" ? validators[kind](maxAge, id) : validators[kind](value, maxAge, id);
}
function ourCheck({ claim, kind, value, maxAge, id }) {
  const check = { claim: CLAIMS[claim].key, kind };
  if (value !== undefined) check.value = value;
  if (maxAge !== undefined) check.maxAgeInSeconds = maxAge;
  if (id !== undefined) check.id = id;
  return check;
}

// Every kind: a pass, a wrong value, a missing claim, a value too old.
const KINDS = {
  includes: { claim: "UserRoleClaim", pass: "admin", wrong: "owner" },
  excludes: { claim: "UserRoleClaim", pass: "owner", wrong: "editor" },
  includesAll: { claim: "PermissionClaim", pass: ["read", "write"], wrong: ["read", "delete"] },
  excludesAll: { claim: "PrimitiveArrayClaim(st-perm)", pass: ["delete", "share"], wrong: ["delete", "write"] },
  includesAny: { claim: "UserRoleClaim", pass: ["owner", "editor"], wrong: ["owner", "auditor"] },
  isTrue: { claim: "EmailVerificationClaim", token: "full", wrongToken: "other" },
  isFalse: { claim: "BooleanClaim(st-ev)", token: "other", wrongToken: "full" },
};
const cases = [];
for (const [kind, spec] of Object.entries(KINDS)) {
  const passToken = spec.token ?? "full";
  const check = (value, extra = {}) => ({ claim: spec.claim, kind, value, ...extra });
  cases.push({ id: `${kind}/pass`, kind, token: passToken, checks: [check(spec.pass)] });
  cases.push({ id: `${kind}/pass-within-max-age`, kind, token: passToken, checks: [check(spec.pass, { maxAge: 200 })] });
  cases.push({ id: `${kind}/wrong-value`, kind, token: spec.wrongToken ?? "full", checks: [check(spec.wrong ?? spec.pass)] });
  cases.push({ id: `${kind}/missing`, kind, token: "none", checks: [check(spec.pass)] });
  cases.push({ id: `${kind}/expired`, kind, token: passToken, checks: [check(spec.pass, { maxAge: 60 })] });
  cases.push({ id: `${kind}/custom-id`, kind, token: spec.wrongToken ?? "full", checks: [check(spec.wrong ?? spec.pass, { id: `my-${kind}` })] });
}
// Several validators at once: every failure, in the validators' order.
cases.push({
  id: "several/mixed",
  kind: "several",
  token: "other",
  checks: [
    { claim: "EmailVerificationClaim", kind: "isTrue" },
    { claim: "UserRoleClaim", kind: "includes", value: "viewer" },
    { claim: "PermissionClaim", kind: "includesAny", value: ["write", "delete"], id: "can-write" },
    { claim: "UserRoleClaim", kind: "excludes", value: "viewer", maxAge: 60 },
  ],
});
cases.push({
  id: "several/missing-and-expired",
  kind: "several",
  token: "none",
  checks: [
    { claim: "UserRoleClaim", kind: "includesAll", value: ["admin"] },
    { claim: "EmailVerificationClaim", kind: "isFalse", maxAge: 60 },
  ],
});
cases.push({
  id: "several/all-pass",
  kind: "several",
  token: "full",
  checks: [
    { claim: "UserRoleClaim", kind: "includes", value: "admin", maxAge: 200 },
    { claim: "EmailVerificationClaim", kind: "isTrue" },
    { claim: "PermissionClaim", kind: "excludes", value: "delete" },
  ],
});

/** supertokens-node's answer: `{valid:true}` or `{status, body}` from its error handler. */
async function viaSdk(c) {
  const validators = c.checks.map(sdkValidator);
  const realNow = Date.now;
  Date.now = () => NOW;
  let invalidClaims;
  try {
    invalidClaims = await validateClaimsInPayload(validators, payloads[c.token], {});
  } finally {
    Date.now = realNow;
  }
  if (invalidClaims.length === 0) return { valid: true };
  const request = new PreParsedRequest({
    method: "get",
    url: `${info.origin}/api/admin`,
    query: {},
    headers: new Headers({ accept: "application/json" }),
    cookies: {},
    getFormBody: async () => ({}),
    getJSONBody: async () => ({}),
  });
  const response = new CollectingResponse();
  const error = new SessionError({ type: SessionError.INVALID_CLAIMS, message: "INVALID_CLAIMS", payload: invalidClaims });
  let passedOn;
  await errorHandler()(error, request, response, (err) => (passedOn = err));
  if (passedOn) throw passedOn;
  return { valid: false, status: response.statusCode, text: response.body, body: JSON.parse(response.body) };
}

const checker = lineProcess(bin("claims-check"), [], { env: { RUST_LOG: "" } });
async function viaSsrSession(c) {
  const answer = await checker.ask(
    JSON.stringify({ token: tokens[c.token], jwksUrl: info.jwksUrl, issuer: info.issuer, now: NOW, checks: c.checks.map(ourCheck) }),
  );
  if (answer.error) throw new Error(`claims-check: ${answer.error}`);
  return answer;
}

// Differences listed on purpose (none expected; the file's entries for this suite).
const listed = intendedDifferences().filter((d) => d.suite === SUITE);
const seen = new Set();
const perKind = {};
let agree = 0;
let explained = 0;
let identicalText = 0;
let failing = 0;
let firstTextDifference;
const show = (a) => (a.valid ? "valid" : `${a.status} ${JSON.stringify(a.body)}`);
for (const c of cases) {
  const theirs = await viaSdk(c);
  const ours = await viaSsrSession(c);
  const tally = (perKind[c.kind] ??= { cases: 0, equal: 0 });
  tally.cases += 1;
  const same = theirs.valid
    ? ours.valid === true
    : ours.valid === false && ours.status === theirs.status && isDeepStrictEqual(ours.body, theirs.body);
  if (!theirs.valid) failing += 1;
  if (!theirs.valid && ours.bodyText === theirs.text) identicalText += 1;
  else if (!theirs.valid && firstTextDifference === undefined) {
    firstTextDifference = `${c.id}:\n    supertokens-node: ${theirs.text}\n    ssr-session:      ${ours.bodyText}`;
  }
  if (same) {
    agree += 1;
    tally.equal += 1;
    console.log(`  = ${c.id.padEnd(32)} ${show(theirs).slice(0, 150)}`);
    continue;
  }
  const reason = listed.find((d) => d.cases.some((glob) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^ ]*")}$`).test(c.id)));
  if (reason) {
    explained += 1;
    seen.add(reason);
    console.log(`  * ${c.id.padEnd(32)} listed difference: ${reason.reason}`);
  } else {
    problems.push(`${SUITE} ${c.id}: supertokens-node ${show(theirs)}, ssr-session ${show(ours)}`);
    console.log(`  ! ${c.id}\n      supertokens-node: ${show(theirs)}\n      ssr-session:      ${show(ours)}`);
  }
}
await checker.stop();
await issuer.stop();
for (const d of listed.filter((d) => !seen.has(d))) {
  problems.push(`${SUITE}: intended difference never seen (stale?): ${JSON.stringify(d.cases)}`);
}

console.log(`supertokens-node ${sdkVersion} vs ssr-session (claims-check), claims fetched at t, judged at t + ${(NOW - fetchedAt) / 1000} s:`);
for (const [kind, tally] of Object.entries(perKind)) {
  console.log(`  ${kind.padEnd(12)} ${tally.equal}/${tally.cases} equal`);
}
console.log(`${SUITE}: ${agree}/${cases.length} answers equal (status and body, error order included), ${explained} listed differences; ${identicalText}/${failing} refusal bodies byte-identical`);
if (firstTextDifference) console.log(`  member order, e.g. ${firstTextDifference}`);
writeFileSync(
  path.join(WORK, `summary-${SUITE}.json`),
  JSON.stringify({ suite: SUITE, cases: cases.length, agree: { [PEER]: agree }, explained: { [PEER]: explained } }),
);
if (problems.length > 0) {
  console.error(`\n${SUITE}: ${problems.length} unexpected result(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`${SUITE}: every answer as expected`);
process.exit(0);
