// Part 3: the real SuperTokens frontend SDK (supertokens-website) in headless
// Chromium, against the axum example (`axum-ssr`, embedded dev issuer, 2 s
// access tokens).
//
// The SDK is bundled with esbuild (web/entry.js), injected into a page of the
// app (so it is same-origin with the app's cookies) through WebDriver, and
// web/scenarios.js runs in the page:
// 1. sign in through the SDK's fetch; the token expires; `fetch("/api/me")`
//    gets ssr-session's 401 {"message":"try refresh token"}, the SDK calls
//    the dev issuer's refresh route by itself, retries, and the page gets
//    {"userId":"alice"};
// 2. the SSR way: /api/props/dashboard says needs-refresh, the page calls
//    Session.attemptRefreshingSession(), and the props then carry the user;
// 3. the session revoked: the refresh answers 401, the SDK clears its
//    session and the page gets the 401;
// 4. (issue 13) a user without role admin: `fetch("/api/admin")` gets
//    ssr-session's 403 {"message":"invalid claim",…}; the SDK hands the page
//    the 403 and fires its API_INVALID_CLAIM event (lib/build/fetch.js,
//    onInvalidClaimResponse: a response whose status is invalidClaimStatusCode,
//    403 by default) with the body's claimValidationErrors;
// 5. (issue 13) a role older than --claims-max-age-secs on /reports (marked
//    refresh-if-stale) while the token is fresh: a data request gets 401 try
//    refresh token; with the dev issuer refetching claims on refresh, the SDK
//    refreshes exactly once and its retry is served;
// 6. the same with a backend that keeps claims on refresh: recorded how many
//    refreshes the SDK makes before it gives up (a data request is not behind
//    the bridge's loop guard; the SDK's own limit, maxRetryAttemptsForSessionRefresh,
//    is 10), checked to be bounded and never served.
// WebDriver is spoken over plain HTTP to Debian's chromedriver.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import net from "node:net";
import { isDeepStrictEqual } from "node:util";
import os from "node:os";
import path from "node:path";
import * as esbuild from "esbuild";
import { INTEROP, WORK, bin, lineProcess, sleep } from "../lib/common.mjs";

const SUITE = "supertokens-website";
const LIFETIME_SECS = 2;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CHROMEDRIVER = process.env.CHROMEDRIVER ?? "/usr/bin/chromedriver";
const problems = [];
const check = (ok, what) => ok || problems.push(`${SUITE}: ${what}`);

mkdirSync(path.join(WORK, "web"), { recursive: true });
const bundlePath = path.join(WORK, "web", "supertokens-website.js");
await esbuild.build({
  entryPoints: [path.join(INTEROP, "web", "entry.js")],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2020",
  outfile: bundlePath,
  logLevel: "warning",
});
const bundle = readFileSync(bundlePath, "utf8");
const scenarios = readFileSync(path.join(INTEROP, "web", "scenarios.js"), "utf8");
const sdkVersion = JSON.parse(readFileSync(path.join(INTEROP, "node_modules", "supertokens-website", "package.json"), "utf8")).version;
console.log(`bundled supertokens-website ${sdkVersion}: ${(bundle.length / 1024).toFixed(0)} KiB`);

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function webdriver(base, method, route, body) {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`WebDriver ${method} ${route}: ${response.status} ${JSON.stringify(json.value).slice(0, 500)}`);
  return json.value;
}

const CLAIMS_MAX_AGE_SECS = 2;
const app = lineProcess(bin("axum-ssr"), ["--addr", "127.0.0.1:0", "--access-token-secs", String(LIFETIME_SECS), "--claims-max-age-secs", String(CLAIMS_MAX_AGE_SECS)], {
  env: { SSR_SESSION_CSP_NONCE: "", RUST_LOG: "" },
});
const origin = (await app.line()).trim();
const driverPort = await freePort();
const driver = lineProcess(CHROMEDRIVER, [`--port=${driverPort}`], { name: "chromedriver" });
const profile = mkdtempSync(path.join(os.tmpdir(), "interop-chromium-"));
const base = `http://127.0.0.1:${driverPort}`;
let session;
let result;
try {
  for (let attempt = 0; ; attempt++) {
    try {
      const status = await webdriver(base, "GET", "/status");
      if (status.ready) break;
    } catch (error) {
      if (attempt > 100) throw error;
    }
    await sleep(100);
  }
  session = (
    await webdriver(base, "POST", "/session", {
      capabilities: {
        alwaysMatch: {
          browserName: "chrome",
          "goog:chromeOptions": {
            binary: CHROMIUM,
            args: [
              "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
              "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
              `--user-data-dir=${profile}`,
            ],
          },
        },
      },
    })
  ).sessionId;
  const s = `/session/${session}`;
  await webdriver(base, "POST", `${s}/timeouts`, { script: 60_000 });
  await webdriver(base, "POST", `${s}/url`, { url: `${origin}/` });
  await webdriver(base, "POST", `${s}/execute/sync`, { script: `${bundle}\nreturn typeof window.supertokensSession;`, args: [] });
  result = await webdriver(base, "POST", `${s}/execute/async`, { script: scenarios, args: [LIFETIME_SECS * 1000, CLAIMS_MAX_AGE_SECS] });
} finally {
  if (session) await webdriver(base, "DELETE", `/session/${session}`).catch(() => {});
  await driver.stop().catch(() => {});
  driver.child.kill();
  await app.stop().catch(() => {});
  app.child.kill();
  rmSync(profile, { recursive: true, force: true });
}
writeFileSync(path.join(WORK, "frontend-sdk-result.json"), JSON.stringify(result, null, 1));

const show = (calls) => calls.map((c) => `${c.method} ${c.path} -> ${c.status} ${c.body.startsWith("<") ? `${c.body.replace(/\s+/g, " ").slice(0, 60)}…` : c.body}${c.frontToken ? ` [front-token ${c.frontToken}]` : ""}`).join("\n    ");
if (result.error) {
  problems.push(`${SUITE}: the page failed: ${result.error}`);
} else {
  console.log(`1. expired token, fetch("/api/me") through the SDK:\n    ${show(result.meCalls)}\n   the page got ${result.me.status} ${JSON.stringify(result.me.body)}`);
  console.log(`2. SSR props + Session.attemptRefreshingSession(): ${JSON.stringify(result.ssr.before)} -> refreshed=${result.ssr.refreshed} -> ${JSON.stringify(result.ssr.after)}\n    ${show(result.ssr.calls)}`);
  console.log(`3. session revoked:\n    ${show(result.revoked.calls)}\n   the page got ${result.revoked.status} ${JSON.stringify(result.revoked.body)}; doesSessionExist=${result.revoked.sessionExists}`);
  console.log(`   SDK events: ${result.events.join(", ")}; cookies visible to the page: ${result.cookies.join(", ")}`);

  check(result.signIn === 200 && result.sessionAfterSignIn === true && result.userId === "alice", `sign-in through the SDK: ${JSON.stringify({ signIn: result.signIn, exists: result.sessionAfterSignIn, userId: result.userId })}`);
  const me = result.meCalls.map((c) => `${c.method} ${c.path} ${c.status}`);
  check(JSON.stringify(me) === JSON.stringify(["GET /api/me 401", "POST /auth/session/refresh 200", "GET /api/me 200"]), `expired flow: calls ${JSON.stringify(me)}`);
  check(result.meCalls[0]?.body === '{"message":"try refresh token"}', `the first /api/me answer is ${result.meCalls[0]?.body}`);
  const refresh = result.meCalls[1];
  check(refresh?.requestHeaders?.rid === "session" && refresh?.requestHeaders?.["st-auth-mode"] === "cookie" && refresh?.requestHeaders?.["fdi-version"], `refresh request headers: ${JSON.stringify(refresh?.requestHeaders)}`);
  check(refresh?.frontToken === "set", "the refresh answer carries no front-token");
  check(result.me.status === 200 && result.me.body.userId === "alice", `the page got ${JSON.stringify(result.me)}`);
  check(result.ssr.before.fromSupertokens === "needs-refresh" && result.ssr.refreshed === true && result.ssr.after.userId === "alice", `SSR flow: ${JSON.stringify(result.ssr)}`);
  const revoked = result.revoked.calls.map((c) => `${c.method} ${c.path} ${c.status}`);
  check(JSON.stringify(revoked) === JSON.stringify(["GET /api/me 401", "POST /auth/session/refresh 401"]), `revoked flow: calls ${JSON.stringify(revoked)}`);
  check(result.revoked.calls[1]?.frontToken === "remove", "the failed refresh does not say front-token: remove");
  check(result.revoked.status === 401 && result.revoked.sessionExists === false, `revoked: the page got ${result.revoked.status}, doesSessionExist=${result.revoked.sessionExists}`);
  check(result.events.includes("REFRESH_SESSION") && result.events.includes("UNAUTHORISED"), `SDK events ${result.events.join(",")}`);

  const ic = result.invalidClaim;
  const expectedClaimErrors = [{ id: "st-role", reason: { message: "wrong value", expectedToInclude: "admin", actualValue: ["viewer"] } }];
  console.log(`4. role missing, fetch("/api/admin"):\n    ${show(ic.calls)}\n   the page got ${ic.status} ${JSON.stringify(ic.body)}\n   SDK events: ${JSON.stringify(ic.events)}`);
  check(ic.signIn === 200, `sign-in of vera: ${ic.signIn}`);
  const icCalls = ic.calls.map((c) => `${c.method} ${c.path} ${c.status}`);
  check(JSON.stringify(icCalls) === JSON.stringify(["GET /api/admin 403"]), `invalid claim: calls ${JSON.stringify(icCalls)} (no refresh, no retry)`);
  check(ic.status === 403 && isDeepStrictEqual(ic.body, { message: "invalid claim", claimValidationErrors: expectedClaimErrors }), `invalid claim: the page got ${ic.status} ${JSON.stringify(ic.body)}`);
  const invalidClaimEvents = ic.events.filter((e) => e.action === "API_INVALID_CLAIM");
  check(isDeepStrictEqual(invalidClaimEvents, [{ action: "API_INVALID_CLAIM", claimValidationErrors: expectedClaimErrors }]), `invalid claim: SDK events ${JSON.stringify(ic.events)}`);
  check(!ic.events.some((e) => e.action === "REFRESH_SESSION" || e.action === "UNAUTHORISED"), `invalid claim: the SDK refreshed or signed out: ${JSON.stringify(ic.events)}`);

  const sc = result.staleClaim;
  console.log(`5. role older than ${CLAIMS_MAX_AGE_SECS} s, token fresh (refresh kept the claims: ${sc.keptRefresh}; /api/me ${sc.before.me}, /reports ${sc.before.reports.status} ${sc.before.reports.body});\n   claims-on-refresh=refetch, fetch("/reports") as data:\n    ${show(sc.calls)}\n   the page got ${sc.status}, showing ada: ${sc.showsUser}; SDK events: ${JSON.stringify(sc.events)}`);
  check(sc.keptRefresh === true && sc.before.me === 200, `stale claim: the token was not fresh (${JSON.stringify(sc.before)})`);
  check(sc.before.reports.status === 401 && sc.before.reports.body === '{"message":"try refresh token"}', `stale claim: /reports answered ${JSON.stringify(sc.before.reports)}`);
  const scCalls = sc.calls.map((c) => `${c.method} ${c.path} ${c.status}`);
  check(JSON.stringify(scCalls) === JSON.stringify(["GET /reports 401", "POST /auth/session/refresh 200", "GET /reports 200"]), `stale claim: calls ${JSON.stringify(scCalls)} (one refresh, then served)`);
  check(sc.status === 200 && sc.showsUser, `stale claim: the page got ${sc.status}`);
  const kc = result.keptClaim;
  console.log(`6. the same with claims-on-refresh=keep (no refresh can help; a data request has no loop guard):\n   /reports answered ${JSON.stringify(kc.reportsCalls)}, ${kc.refreshes} refresh call(s) (${kc.refreshEvents} REFRESH_SESSION events); the page got ${JSON.stringify(kc.outcome)}`);
  check(kc.refreshes >= 1 && kc.refreshes <= 10 && kc.outcome.status !== 200, `kept claims: ${JSON.stringify(kc)} (bounded by the SDK's maxRetryAttemptsForSessionRefresh, never served)`);
  check(kc.reportsCalls.every((status) => status === 401) && kc.reportsCalls.length === kc.refreshes + 1, `kept claims: /reports answered ${JSON.stringify(kc.reportsCalls)}`);
  check(sc.events.filter((e) => e.action === "REFRESH_SESSION").length === 1 && !sc.events.some((e) => e.action === "UNAUTHORISED" || e.action === "API_INVALID_CLAIM"), `stale claim: SDK events ${JSON.stringify(sc.events)}`);
}
if (problems.length > 0) {
  console.error(`\n${SUITE}: ${problems.length} unexpected result(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`${SUITE}: every step as expected`);
