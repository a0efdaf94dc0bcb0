// Part 2: the real SuperTokens backend SDK (supertokens-node) as an oracle.
//
// supertokens-node verifies SSR tokens without its core: `getSessionForSSR`
// (supertokens-node/custom; `getSSRSession` in supertokens-node/nextjs is the
// same function) runs jose's jwtVerify against a remote JWKS and then its own
// check of the access token's structure for the header's `version`
// (lib/build/recipe/session/accessToken.js). The SDK takes that JWKS from the
// *core*: `{connectionURI}/.well-known/jwks.json`
// (lib/build/combinedRemoteJWKSet.js), not from apiDomain. So connectionURI
// points at a stub core in this script that relays the dev issuer's JWKS
// (`/auth/jwt/jwks.json`) byte for byte and records every other request:
// none may arrive, which proves that no core call is needed.
//
// Each token (minted by the dev issuer, or obtained from its sign-in and
// refresh routes) is classified by
// - sdk:      getSessionForSSR; a missing payload is split into expired /
//             refused by the SDK's own debug log line, which names the cause;
// - sdk-ssr:  what the SuperTokens guides do with getSSRSession's answer
//             (no payload but a token -> needs refresh);
// - ssr-session through the `verify` CLI, the token in an sAccessToken cookie,
//   keys from the dev issuer's JWKS URL, its `iss` required.
import { createRequire } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { WORK, compareAndReport, staleDifferences, sleep, startDevIssuer, startJwksRelayCore, verifyCli } from "../lib/common.mjs";

const SUITE = "supertokens-node";
const PEERS = ["sdk", "sdk-ssr"];
const require = createRequire(import.meta.url);
mkdirSync(WORK, { recursive: true });

// The SDK logs why it refused a token at debug level (namespace com.supertokens).
const debug = require("debug");
const sdkLog = [];
debug.enable("com.supertokens");
debug.log = (...args) => sdkLog.push(args.join(" "));

// The SDK's logger prints an empty line after each message; drop those.
const log = console.log;
console.log = (...args) => (args.length > 0 ? log(...args) : undefined);

const { issuer, info } = await startDevIssuer();
const problems = [];

// The stub core: relays the JWKS, records anything else.
const { server: core, calls: coreCalls, origin: coreOrigin } = await startJwksRelayCore(info.jwksUrl);

const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const { getSessionForSSR } = require("supertokens-node/custom");
const { getSSRSession } = require("supertokens-node/nextjs");
supertokens.init({
  framework: "custom",
  supertokens: { connectionURI: coreOrigin },
  appInfo: { apiDomain: info.origin, websiteDomain: info.origin, appName: "ssr-session interop", apiBasePath: "/auth" },
  recipeList: [Session.init()],
});

/** The SDK's verdict on `token` sent as the sAccessToken cookie. */
async function viaSdk(token) {
  sdkLog.length = 0;
  const request = new Request(`${info.origin}/dashboard`, { headers: { cookie: `sAccessToken=${token}` } });
  const result = await getSessionForSSR(request);
  const nextjs = await getSSRSession([{ name: "sAccessToken", value: token }]);
  const why =
    sdkLog.find((line) => line.includes("getInfoFromAccessToken: Returning TRY_REFRESH_TOKEN")) ??
    "the header is not a SuperTokens access token's (parseJWTWithoutSignatureVerification threw: no kid, or a version that is not a string)";
  const same = (nextjs.accessTokenPayload === undefined) === (result.accessTokenPayload === undefined) && nextjs.hasToken === result.hasToken;
  if (!same) problems.push(`${SUITE}: getSessionForSSR and getSSRSession disagree on a token`);
  if (result.error) return { fine: "unavailable", coarse: "unavailable", why: String(result.error) };
  if (result.accessTokenPayload !== undefined) return { fine: "valid", coarse: "valid", payload: result.accessTokenPayload };
  const expired = /"exp" claim timestamp check failed|Access token expired/.test(why);
  return { fine: expired ? "needs_refresh" : "invalid", coarse: "needs_refresh", why };
}

async function viaSsrSession(token) {
  return verifyCli(["--jwks-url", info.jwksUrl, "--issuer", info.issuer, "--cookie", `sAccessToken=${token}; other=1`]);
}

/** The cookies a dev issuer response sets: name -> { value, attributes }. */
function setCookies(response) {
  const cookies = {};
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(";").map((part) => part.trim());
    const at = pair.indexOf("=");
    cookies[pair.slice(0, at)] = { value: pair.slice(at + 1), attributes: attributes.map((a) => a.toLowerCase()) };
  }
  return cookies;
}

/** Checks a sign-in or refresh answer the way the SDKs read it; returns its cookies. */
function checkSessionResponse(label, response) {
  const cookies = setCookies(response);
  const access = cookies.sAccessToken;
  const refresh = cookies.sRefreshToken;
  const front = response.headers.get("front-token");
  const expose = (response.headers.get("access-control-expose-headers") ?? "").toLowerCase();
  const check = (ok, what) => ok || problems.push(`${SUITE} ${label}: ${what}`);
  check(response.status === 200, `status ${response.status}`);
  check(access && access.attributes.includes("httponly") && access.attributes.includes("path=/"), "sAccessToken not HttpOnly on Path=/");
  check(refresh && refresh.attributes.includes("httponly") && refresh.attributes.includes("path=/auth/session/refresh"), "sRefreshToken not HttpOnly on Path=/auth/session/refresh");
  check(front !== null && expose.split(",").map((h) => h.trim()).includes("front-token"), "front-token missing or not exposed");
  if (front) {
    // supertokens-website: JSON.parse(decodeURIComponent(escape(atob(frontToken)))) -> { uid, ate, up }
    const parsed = JSON.parse(decodeURIComponent(escape(atob(front))));
    check(typeof parsed.uid === "string" && typeof parsed.ate === "number" && typeof parsed.up === "object", "front-token is not {uid, ate, up}");
    check(parsed.up && typeof parsed.up.iat === "number", "front-token's up has no iat (the website SDK's clock-skew estimate reads it)");
  }
  return cookies;
}

// The cases: tokens minted directly, then tokens from the HTTP routes.
const CONTRACT = {
  valid: "valid", expired: "needs_refresh", tampered: "invalid", "wrong-key": "invalid", "unknown-kid": "invalid",
  "wrong-issuer": "invalid", "no-rsub": "invalid", "stt-1": "invalid", "version-number": "invalid", v4: "valid", v3: "valid", "no-kid": "valid", "jwt-recipe": "invalid",
};
const cases = [];
for (const [kind, expected] of Object.entries(CONTRACT)) {
  const { token } = await issuer.ask(`mint ${kind} alice`);
  cases.push({ id: `minted/${kind}`, expected, token });
}
const signIn = await fetch(`${info.origin}/auth/dev/signin`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ userId: "bob" }),
});
const signedIn = checkSessionResponse("sign-in", signIn);
cases.push({ id: "http/sign-in-cookie", expected: "valid", token: signedIn.sAccessToken?.value, sub: "bob" });
const refreshed = await fetch(`${info.origin}/auth/session/refresh`, {
  method: "POST",
  headers: { cookie: `sRefreshToken=${signedIn.sRefreshToken?.value}`, rid: "session", "fdi-version": "4.0", "st-auth-mode": "cookie" },
});
const afterRefresh = checkSessionResponse("refresh", refreshed);
cases.push({ id: "http/refreshed-cookie", expected: "valid", token: afterRefresh.sAccessToken?.value, sub: "bob" });

const rows = [];
async function classify(c) {
  const sdk = await viaSdk(c.token);
  const ours = await viaSsrSession(c.token);
  if (c.sub && sdk.payload?.sub !== c.sub) problems.push(`${SUITE} ${c.id}: the SDK's payload has sub ${sdk.payload?.sub}`);
  rows.push({ id: c.id, expected: c.expected, ours: ours.outcome, peers: { sdk: sdk.fine, "sdk-ssr": sdk.coarse }, why: sdk.why });
}
for (const c of cases) await classify(c);

// Key rotation: a token under a new kid; the SDK's remote JWKS refetches
// (cooldown 500 ms), ssr-session's CLI fetches afresh.
await sleep(600);
const { kid } = await issuer.ask("rotate");
const { token: rotated } = await issuer.ask("mint valid carol");
// Read the header's kid (member order is the issuer's business).
const rotatedKid = JSON.parse(Buffer.from(rotated.split(".")[0], "base64url").toString("utf8")).kid;
if (rotatedKid !== kid) {
  problems.push(`${SUITE}: the rotated token carries kid ${rotatedKid}, not the new kid ${kid}`);
}
await classify({ id: "rotation/new-kid", expected: "valid", token: rotated, sub: "carol" });

const seen = new Set();
const report = compareAndReport(SUITE, rows, PEERS, seen);
problems.push(...report.problems);
for (const row of rows.filter((r) => r.peers.sdk !== "valid")) {
  console.log(`  sdk on ${row.id}: ${(row.why ?? "").replace(/.*validation failed - /, "").replace(/", file:.*/, "").slice(0, 140)}`);
}
const jwksCalls = coreCalls.filter((call) => call === "GET /.well-known/jwks.json").length;
const otherCalls = coreCalls.filter((call) => call !== "GET /.well-known/jwks.json");
console.log(`stub core: ${jwksCalls} JWKS request(s), ${otherCalls.length} other request(s)${otherCalls.length ? `: ${otherCalls.join(", ")}` : ""}`);
if (jwksCalls === 0) problems.push(`${SUITE}: the SDK never fetched the JWKS from the (stub) core`);
if (otherCalls.length > 0) problems.push(`${SUITE}: the SDK called its core for SSR verification: ${otherCalls.join(", ")}`);
problems.push(...staleDifferences(SUITE, seen));
writeFileSync(path.join(WORK, `summary-${SUITE}.json`), JSON.stringify({ suite: SUITE, cases: report.cases, agree: report.agree, explained: report.explained }));

await issuer.stop();
await new Promise((resolve) => core.close(resolve));
if (problems.length > 0) {
  console.error(`\n${SUITE}: ${problems.length} unexpected result(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`${SUITE}: every result as expected`);
process.exit(0);
