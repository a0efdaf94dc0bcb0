// Part 7: supertokens-node as the oracle for SuperTokens' anti-CSRF modes
// (issue 19).
//
// For each configuration of supertokens-node 24 (`antiCsrf: "NONE"`,
// `"VIA_CUSTOM_HEADER"`, `"VIA_TOKEN"`, and `antiCsrf` left to its default
// with `cookieSameSite: "lax"` and `"none"`), a real Koa server (framework
// "koa") runs the SDK's own `Session.getSession(ctx, ctx)` on a route behind
// the SDK's Koa `middleware()`, whose error handler answers what getSession
// throws. (Not `verifySession()`: it lets OPTIONS and TRACE through without
// calling getSession at all, recipe/session/api/implementation.js.) Each case
// is a real HTTP request to it: every method (GET, POST, PUT, DELETE, HEAD,
// OPTIONS) x the token in the `sAccessToken` cookie or in
// `Authorization: Bearer` x a `rid` header or none x an `anti-csrf` header
// absent, equal to the `antiCsrfToken` claim of the session tokens, or
// different x the token (valid with an `antiCsrfToken` claim, valid without
// one, expired with one, tampered, signed without a session's structure, not
// a JWT), plus requests without a token. No `Origin` / `Sec-Fetch-Site`: ssr-session's
// origin check lets such requests through (they do not come from a
// browser), so only the SuperTokens modes are compared.
//
// The SDK takes its keys from the core (`{connectionURI}/.well-known/jwks.json`):
// a stub core here relays the dev issuer's JWKS and records every other
// request (none may arrive: the SDK needs no core for these checks).
//
// ssr-session: the `csrf-check` CLI runs the same request (same method and
// headers) through the real pipeline, `SessionConfig::extract::<Session, _>`
// with `CsrfProtection::default().anti_csrf(mode)`, keys from the dev
// issuer's JWKS URL. The status and the body must be equal byte for byte
// (for HEAD, whose body is not sent, the body supertokens-node set, checked
// against the Content-Length it sent); a 200 must name the same user.
// Differences that are meant are listed in intended-differences.json.
import { createRequire } from "node:module";
import http from "node:http";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { INTEROP, WORK, bin, explain, intendedDifferences, lineProcess, staleDifferences, startDevIssuer, startJwksRelayCore } from "../lib/common.mjs";

const SUITE = "supertokens-anti-csrf";
const PEER = "supertokens-node";
const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------
// The oracle: `node anti-csrf.mjs oracle CONFIG_JSON` serves supertokens-node
// with one configuration (supertokens.init is once per process) and prints its
// origin on the first line.
if (process.argv[2] === "oracle") {
  const { connectionURI, apiDomain, session, why: logWhy } = JSON.parse(process.argv[3]);
  // The SDK logs why it refused a request at debug level (namespace com.supertokens);
  // read for the explicit modes only (it costs a third of the SDK's time).
  const debug = require("debug");
  const sdkLog = [];
  if (logWhy) debug.enable("com.supertokens");
  debug.log = (...args) => sdkLog.push(args.join(" "));
  const Koa = require("koa");
  const supertokens = require("supertokens-node");
  const Session = require("supertokens-node/recipe/session");
  const { middleware } = require("supertokens-node/framework/koa");
  supertokens.init({
    framework: "koa",
    supertokens: { connectionURI },
    appInfo: { apiDomain, websiteDomain: apiDomain, appName: "ssr-session interop", apiBasePath: "/auth" },
    recipeList: [Session.init(session)],
  });
  const app = new Koa();
  // Test instrumentation around the SDK: the body it set (a HEAD response
  // carries none on the wire) and the SDK's last word on the request.
  app.use(async (ctx, next) => {
    sdkLog.length = 0;
    await next();
    const decided = sdkLog.filter((line) => /Returning|Throwing|UNAUTHORISED|check passed|Value of doAntiCsrfCheck/.test(line)).pop() ?? "";
    const why = decided.replace(/^.*?(getSession|getInfoFromAccessToken|errorHandler):\s*/, "$1: ").replace(/", file:.*$/, "").replace(/[^\x20-\x7e]/g, "");
    ctx.set("x-oracle-why", why.slice(0, 200));
    const body = typeof ctx.body === "string" ? ctx.body : JSON.stringify(ctx.body ?? null);
    ctx.set("x-oracle-body", Buffer.from(body).toString("base64"));
  });
  // The SDK's Koa middleware: its error handler answers what getSession throws.
  app.use(middleware());
  app.use(async (ctx) => {
    const session = await Session.getSession(ctx, ctx);
    ctx.body = { userId: session.getUserId() };
  });
  const server = app.listen(0, "127.0.0.1", () => {
    console.log(`origin http://127.0.0.1:${server.address().port}`);
  });
  process.stdin.resume();
  process.stdin.on("end", () => server.close(() => process.exit(0)));
} else {
  await main();
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  const problems = [];
  const sdkVersion = JSON.parse(readFileSync(path.join(INTEROP, "node_modules", "supertokens-node", "package.json"), "utf8")).version;
  const { issuer, info } = await startDevIssuer(["--access-token-secs", "3600"]);

  // The stub core: relays the JWKS, records anything else.
  const { server: core, calls: coreCalls, origin: connectionURI } = await startJwksRelayCore(info.jwksUrl);

  // The tokens, minted by the dev issuer (its keys, its iss).
  const mint = async (kind) => {
    const answer = await issuer.ask(`mint ${kind} csrf-user`);
    if (!answer.token) throw new Error(`dev-issuer mint ${kind}: ${JSON.stringify(answer)}`);
    return answer.token;
  };
  const TOKENS = {
    "valid-csrf": await mint("anti-csrf"),
    "valid-plain": await mint("valid"),
    "expired-csrf": await mint("anti-csrf-expired"),
    tampered: await mint("tampered"),
    // Signed, but not a session's structure (v5 without rsub): the SDK does not count it as a token.
    "no-rsub": await mint("no-rsub"),
    "not-a-jwt": "not-a-jwt",
  };
  const payloadOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
  const ANTI_CSRF = payloadOf(TOKENS["valid-csrf"]).antiCsrfToken;
  if (typeof ANTI_CSRF !== "string" || payloadOf(TOKENS["expired-csrf"]).antiCsrfToken !== ANTI_CSRF) {
    throw new Error("the dev issuer's anti-csrf tokens carry no (or different) antiCsrfToken claims");
  }
  if (payloadOf(TOKENS["valid-plain"]).antiCsrfToken != null) throw new Error("the plain token carries an antiCsrfToken");

  // The configurations: supertokens-node's, and the ssr-session mode each must equal.
  const CONFIGS = [
    { name: "NONE", session: { antiCsrf: "NONE" }, ours: "NONE" },
    { name: "VIA_CUSTOM_HEADER", session: { antiCsrf: "VIA_CUSTOM_HEADER" }, ours: "VIA_CUSTOM_HEADER" },
    { name: "VIA_TOKEN", session: { antiCsrf: "VIA_TOKEN" }, ours: "VIA_TOKEN" },
    // antiCsrf unset: the SDK's default for each cookieSameSite (recipe/session/utils.js).
    { name: "default-lax", session: { cookieSameSite: "lax" }, ours: "NONE" },
    { name: "default-none", session: { cookieSameSite: "none", cookieSecure: true }, ours: "VIA_CUSTOM_HEADER" },
  ];
  const METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"];
  const cases = [];
  for (const config of CONFIGS) {
    for (const method of METHODS) {
      cases.push({ id: `${config.name}/${method}/no-token`, config, method, kind: "no-token", headers: [["accept", "application/json"]] });
      for (const carrier of ["cookie", "bearer"]) {
        for (const rid of ["rid", "no-rid"]) {
          for (const antiCsrf of ["no-anti-csrf", "anti-csrf-equal", "anti-csrf-other"]) {
            for (const [kind, token] of Object.entries(TOKENS)) {
              const headers = [["accept", "application/json"]];
              if (carrier === "cookie") headers.push(["cookie", `theme=dark; sAccessToken=${token}`]);
              else headers.push(["authorization", `Bearer ${token}`]);
              if (rid === "rid") headers.push(["rid", "session"]);
              if (antiCsrf === "anti-csrf-equal") headers.push(["anti-csrf", ANTI_CSRF]);
              if (antiCsrf === "anti-csrf-other") headers.push(["anti-csrf", "not-this-sessions-token"]);
              cases.push({ id: `${config.name}/${method}/${carrier}/${rid}/${antiCsrf}/${kind}`, config, method, kind, headers });
            }
          }
        }
      }
    }
  }

  /** supertokens-node's answer to one request: { status, text, why }. */
  function viaSdk(origin, agent, c) {
    return new Promise((resolve, reject) => {
      const request = http.request(`${origin}/api/me`, { method: c.method, headers: Object.fromEntries(c.headers), agent }, (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          const wire = Buffer.concat(chunks).toString("utf8");
          const setBody = Buffer.from(response.headers["x-oracle-body"] ?? "", "base64").toString("utf8");
          if (c.method === "HEAD") {
            if (wire !== "") problems.push(`${SUITE} ${c.id}: a HEAD answer with a body`);
            const length = Number(response.headers["content-length"]);
            if (length !== Buffer.byteLength(setBody)) {
              problems.push(`${SUITE} ${c.id}: HEAD Content-Length ${length}, the body set is ${Buffer.byteLength(setBody)} bytes`);
            }
          } else if (wire !== setBody) {
            problems.push(`${SUITE} ${c.id}: the instrumentation saw another body than was sent`);
          }
          resolve({ status: response.statusCode, text: setBody, why: response.headers["x-oracle-why"] ?? "" });
        });
      });
      request.on("error", reject);
      request.end();
    });
  }

  const checker = lineProcess(bin("csrf-check"), [], { env: { RUST_LOG: "" } });
  async function viaSsrSession(c) {
    const answer = await checker.ask(
      JSON.stringify({ mode: c.config.ours, method: c.method, path: "/api/me", headers: c.headers, jwksUrl: info.jwksUrl, issuer: info.issuer }),
    );
    if (answer.error) throw new Error(`csrf-check: ${answer.error}`);
    return answer;
  }

  /** A short label of an answer: `200 <user>`, `401 try refresh token`, or the status and body. */
  const label = (status, text) => {
    if (status === 200) {
      try {
        return `200 ${JSON.parse(text).userId}`;
      } catch {
        return `200 ${text}`;
      }
    }
    try {
      const body = JSON.parse(text);
      if (Object.keys(body).length === 1 && typeof body.message === "string") return `${status} ${body.message}`;
    } catch {
      // not JSON: the raw text
    }
    return `${status} ${text.slice(0, 80)}`;
  };

  const differences = intendedDifferences();
  const seen = new Set();
  const tally = {};
  const reasons = {};
  const answersOf = {};
  let agree = 0;
  let explained = 0;
  // One oracle per configuration (supertokens.init is once per process), all at once;
  // each one's requests in turn (its debug log is read per request).
  for (const config of CONFIGS) tally[config.name] = { cases: 0, equal: 0, listed: 0, unexpected: 0, answers: {} };
  async function runConfig(config) {
    const oracle = lineProcess(process.execPath, [SELF, "oracle", JSON.stringify({ connectionURI, apiDomain: info.origin, session: config.session, why: !config.name.startsWith("default") })], {
      name: `oracle ${config.name}`,
    });
    let origin = "";
    while (!origin.startsWith("origin ")) origin = await oracle.line();
    origin = origin.slice("origin ".length);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const row = tally[config.name];
    for (const c of cases.filter((c) => c.config === config)) {
      const [theirs, ours] = await Promise.all([viaSdk(origin, agent, c), viaSsrSession(c)]);
      const theirLabel = label(theirs.status, theirs.text);
      const ourText = ours.status === 200 ? JSON.stringify({ userId: ours.userId }) : ours.bodyText;
      const ourLabel = label(ours.status, ourText);
      row.cases += 1;
      row.answers[theirLabel] = (row.answers[theirLabel] ?? 0) + 1;
      answersOf[c.id] = { theirs: theirLabel, ours: ourLabel };
      if (theirs.why) (reasons[theirs.why] ??= new Set()).add(config.name);
      const same = theirs.status === ours.status && (ours.status === 200 ? theirLabel === ourLabel : theirs.text === ourText);
      if (same) {
        agree += 1;
        row.equal += 1;
        continue;
      }
      const reason = explain(differences, SUITE, PEER, c.id, ourLabel, theirLabel);
      if (reason) {
        explained += 1;
        row.listed += 1;
        seen.add(JSON.stringify(reason));
      } else {
        row.unexpected += 1;
        problems.push(`${SUITE} ${c.id}: supertokens-node ${theirs.status} ${theirs.text} (${theirs.why}), ssr-session ${ours.status} ${ourText} (${ours.outcome})`);
      }
    }
    agent.destroy();
    await oracle.stop();
  }
  await Promise.all(CONFIGS.map(runConfig));
  await checker.stop();
  await issuer.stop();
  await new Promise((resolve) => core.close(resolve));

  // The agreement table.
  console.log(`supertokens-node ${sdkVersion} (koa, getSession) vs ssr-session (csrf-check), ${cases.length} requests:`);
  console.log(`  ${"configuration".padEnd(20)} ${"cases".padStart(5)} ${"equal".padStart(5)} ${"listed".padStart(6)} ${"!".padStart(3)}  supertokens-node's answers`);
  for (const [name, row] of Object.entries(tally)) {
    const answers = Object.entries(row.answers)
      .map(([answer, n]) => `${n} x ${answer}`)
      .join(", ");
    console.log(`  ${name.padEnd(20)} ${String(row.cases).padStart(5)} ${String(row.equal).padStart(5)} ${String(row.listed).padStart(6)} ${String(row.unexpected).padStart(3)}  ${answers}`);
  }
  console.log("  supertokens-node's deciding debug lines (configurations):");
  const order = CONFIGS.map((config) => config.name);
  for (const [why, names] of Object.entries(reasons).sort()) {
    console.log(`    ${why.slice(0, 150)}  [${order.filter((name) => names.has(name)).join(", ")}]`);
  }
  // The cookie cells of one unsafe method, per mode: supertokens-node's answer
  // (200, R = 401 try refresh token, U = 401 unauthorised), * where ssr-session's
  // differs as listed.
  const short = (answer) => (answer.startsWith("200") ? "200" : answer === "401 try refresh token" ? "R" : answer === "401 unauthorised" ? "U" : answer);
  const columns = ["rid", "no-rid"].flatMap((rid) => ["no-anti-csrf", "anti-csrf-equal", "anti-csrf-other"].map((a) => `${rid}/${a}`));
  console.log(`  POST with the token in the cookie (columns: rid or not / anti-csrf header absent, equal, other):`);
  for (const config of CONFIGS.slice(0, 3)) {
    for (const kind of Object.keys(TOKENS)) {
      const cells = columns.map((column) => {
        const answer = answersOf[`${config.name}/POST/cookie/${column}/${kind}`];
        return `${short(answer.theirs)}${answer.theirs === answer.ours ? "" : "*"}`.padEnd(5);
      });
      console.log(`    ${config.name.padEnd(18)} ${kind.padEnd(13)} ${cells.join(" ").trimEnd()}`);
    }
  }
  // supertokens-node's own defaults (antiCsrf unset) against its explicit modes.
  for (const [name, like] of [["default-lax", "NONE"], ["default-none", "VIA_CUSTOM_HEADER"]]) {
    const ids = cases.filter((c) => c.config.name === name).map((c) => c.id.slice(name.length));
    const same = ids.filter((id) => answersOf[name + id].theirs === answersOf[like + id].theirs).length;
    console.log(`  supertokens-node with antiCsrf unset, ${name.replace("default-", "cookieSameSite ")}: ${same}/${ids.length} answers as antiCsrf ${like}`);
    if (same !== ids.length) problems.push(`${SUITE}: supertokens-node's ${name} answers differently from its ${like} on ${ids.length - same} cases`);
  }
  // The cases must reach every path of the SDK's anti-CSRF code.
  for (const needle of ["custom header (rid) was not passed", "antiCsrfToken is missing from request", "not the same as in the access token", "does not contain the anti-csrf token"]) {
    if (!Object.keys(reasons).some((why) => why.includes(needle))) problems.push(`${SUITE}: no case reached supertokens-node's "${needle}"`);
  }
  const jwksCalls = coreCalls.filter((call) => call === "GET /.well-known/jwks.json").length;
  const otherCalls = coreCalls.filter((call) => call !== "GET /.well-known/jwks.json");
  console.log(`stub core: ${jwksCalls} JWKS request(s), ${otherCalls.length} other request(s)${otherCalls.length ? `: ${otherCalls.join(", ")}` : ""}`);
  if (jwksCalls === 0) problems.push(`${SUITE}: the SDK never fetched the JWKS from the (stub) core`);
  if (otherCalls.length > 0) problems.push(`${SUITE}: the SDK called its core: ${otherCalls.join(", ")}`);
  problems.push(...staleDifferences(SUITE, seen));
  console.log(`${SUITE}: ${agree}/${cases.length} answers equal (status and body, byte for byte), ${explained} listed differences`);
  writeFileSync(path.join(WORK, `summary-${SUITE}.json`), JSON.stringify({ suite: SUITE, cases: cases.length, agree: { [PEER]: agree }, explained: { [PEER]: explained } }));
  if (problems.length > 0) {
    console.error(`\n${SUITE}: ${problems.length} unexpected result(s):\n  ${problems.slice(0, Number(process.env.SHOW ?? 60)).join("\n  ")}`);
    process.exit(1);
  }
  console.log(`${SUITE}: every answer as expected`);
  process.exit(0);
}

