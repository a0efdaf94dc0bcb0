// Runs in the page (WebDriver execute/async), after the bundle has been
// injected into a page of the axum example. The last argument is WebDriver's
// callback; the first is the access token lifetime in ms.
//
// A recording fetch is installed *before* Session.init, so the SDK wraps it:
// every request the SDK really sends (the page's, the refresh call, the
// retries) goes through it and is logged with its answer.
const done = arguments[arguments.length - 1];
const lifetimeMs = arguments[0];
// How long until an `admin` role fetched now is too old for /reports.
const CLAIMS_STALE_MS = arguments[1] * 1000 + 600;
const calls = [];
const originalFetch = window.fetch.bind(window);
window.fetch = async (input, init = {}) => {
  const url = typeof input === "string" ? input : input.url;
  const headers = new Headers(init.headers ?? (typeof input === "string" ? undefined : input.headers));
  const response = await originalFetch(input, init);
  const text = await response.clone().text();
  calls.push({
    method: (init.method ?? (typeof input === "string" ? "GET" : input.method) ?? "GET").toUpperCase(),
    path: new URL(url, location.href).pathname,
    status: response.status,
    body: text.length < 300 ? text : `${text.slice(0, 300)}…`,
    frontToken: response.headers.get("front-token") === null ? null : response.headers.get("front-token") === "remove" ? "remove" : "set",
    requestHeaders: Object.fromEntries(["rid", "fdi-version", "st-auth-mode", "anti-csrf"].filter((h) => headers.has(h)).map((h) => [h, headers.get(h)])),
  });
  return response;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const events = [];

(async () => {
  const Session = window.supertokensSession;
  Session.init({
    apiDomain: location.origin,
    apiBasePath: "/auth",
    onHandleEvent: (event) => events.push(event),
  });
  const result = {};

  // 1. Sign in through the intercepted fetch: the SDK sees the front-token.
  const signIn = await fetch("/auth/dev/signin", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId: "alice" }),
  });
  result.signIn = signIn.status;
  result.sessionAfterSignIn = await Session.doesSessionExist();
  result.userId = await Session.getUserId();

  // 2. The access token expires; the page fetches /api/me once.
  await sleep(lifetimeMs + 1500);
  let mark = calls.length;
  const me = await fetch("/api/me");
  result.me = { status: me.status, body: await me.json() };
  result.meCalls = calls.slice(mark);

  // 3. The SSR way: the props endpoint says needs-refresh, the page calls
  //    attemptRefreshingSession and asks again.
  await sleep(lifetimeMs + 1500);
  mark = calls.length;
  const before = await (await fetch("/api/props/dashboard")).json();
  const refreshed = await Session.attemptRefreshingSession();
  const after = await (await fetch("/api/props/dashboard")).json();
  result.ssr = { before, refreshed, after, calls: calls.slice(mark) };

  // 4. The session is revoked elsewhere: the refresh answers 401, the SDK
  //    signs the page out and hands it the 401.
  await originalFetch("/auth/dev/revoke-all", { method: "POST" });
  await sleep(lifetimeMs + 1500);
  mark = calls.length;
  const revoked = await fetch("/api/me");
  result.revoked = {
    status: revoked.status,
    body: await revoked.json(),
    sessionExists: await Session.doesSessionExist(),
    calls: calls.slice(mark),
  };
  // 5. Issue 13: a claim the session fails. /api/admin refuses a user
  //    without role admin with SuperTokens' 403 invalid claim; the SDK hands
  //    the page the 403 and fires its invalid-claim event with the errors.
  const viewer = await fetch("/auth/dev/signin", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId: "vera", roles: "viewer" }),
  });
  mark = calls.length;
  let eventMark = events.length;
  const admin = await fetch("/api/admin");
  result.invalidClaim = {
    signIn: viewer.status,
    status: admin.status,
    body: await admin.json(),
    calls: calls.slice(mark),
    events: events.slice(eventMark).map(({ action, claimValidationErrors }) => (claimValidationErrors ? { action, claimValidationErrors } : { action })),
  };

  // 6. Issue 13: a claim that a refresh can fix. /reports wants role admin
  //    fetched within --claims-max-age-secs (2 s here), refresh-if-stale. The
  //    session's role gets old while its token stays fresh (a refresh that
  //    keeps claims, as supertokens-node does), then the backend refetches
  //    claims on refresh: a data request for /reports gets 401 try refresh
  //    token, the SDK refreshes once and the retry is served.
  await fetch("/auth/dev/signin", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId: "ada", roles: "admin" }),
  });
  await originalFetch("/auth/dev/claims-on-refresh?mode=keep", { method: "POST" });
  await sleep(lifetimeMs + 1500);
  const kept = await Session.attemptRefreshingSession();
  const reports = () => originalFetch("/reports", { headers: { accept: "application/json" } });
  const tokenFresh = await originalFetch("/api/me");
  const claimStale = await reports();
  await originalFetch("/auth/dev/claims-on-refresh?mode=refetch", { method: "POST" });
  mark = calls.length;
  eventMark = events.length;
  const served = await fetch("/reports", { headers: { accept: "application/json" } });
  const servedText = await served.text();
  result.staleClaim = {
    keptRefresh: kept,
    before: {
      me: tokenFresh.status,
      reports: { status: claimStale.status, body: await claimStale.text() },
    },
    status: served.status,
    showsUser: servedText.includes('<strong id="user-id">ada</strong>'),
    calls: calls.slice(mark),
    events: events.slice(eventMark).map(({ action, claimValidationErrors }) => (claimValidationErrors ? { action, claimValidationErrors } : { action })),
  };
  // 7. The same with a backend that keeps claims on refresh (supertokens-node's
  //    default): no refresh can help, and the page's data request is not
  //    behind the bridge's loop guard. Recorded: how many refreshes the SDK
  //    makes before it gives up (its maxRetryAttemptsForSessionRefresh, 10 by
  //    default), and what the page gets.
  await originalFetch("/auth/dev/claims-on-refresh?mode=keep", { method: "POST" });
  await sleep(CLAIMS_STALE_MS);
  mark = calls.length;
  eventMark = events.length;
  let keptOutcome;
  try {
    const r = await fetch("/reports", { headers: { accept: "application/json" } });
    keptOutcome = { status: r.status };
  } catch (error) {
    keptOutcome = { error: String(error).slice(0, 200) };
  }
  const keptCalls = calls.slice(mark);
  result.keptClaim = {
    outcome: keptOutcome,
    refreshes: keptCalls.filter((c) => c.path === "/auth/session/refresh").length,
    reportsCalls: keptCalls.filter((c) => c.path === "/reports").map((c) => c.status),
    refreshEvents: events.slice(eventMark).filter((e) => e.action === "REFRESH_SESSION").length,
  };

  result.events = events.map((event) => event.action);
  result.cookies = document.cookie.split(";").map((c) => c.trim().split("=")[0]).filter(Boolean).sort();
  done(result);
})().catch((error) => done({ error: String(error && error.stack ? error.stack : error), calls, events }));
