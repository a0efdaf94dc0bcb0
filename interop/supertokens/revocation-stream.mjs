// Part 7: a SuperTokens Node backend as the writer of revocations (issue 20).
//
// supertokens-node 24, with its session recipe overridden by
// revocation-writer.mjs, revokes sessions through its own recipe functions;
// the override appends each revocation to a real redis-server (loopback, a
// free port) with the `redis` npm client and the append script of
// redis/STREAM.md. Two Rust replicas (`axum-ssr --api-domain <dev issuer>
// --redis-url … --redis-key …`) follow that stream. For each revocation the
// time from the Node write's acknowledgement (the SDK call resolving) to each
// replica refusing the token (`/api/me` answering 401, polled) is measured;
// any above 100 ms, or a token still accepted, fails the part.
//
// Revocations go through the SDK as an application would call it:
// `Session.revokeSession(handle)`, `Session.revokeMultipleSessions(handles)`,
// `Session.revokeAllSessionsForUser(userId)` and the sign-out API itself
// (`POST /auth/signout` through the SDK's request handler, which verifies the
// access token and calls `session.revokeSession()`). Sign-out-everywhere also
// covers a token of the user whose session the core no longer lists, which
// only the stream's `user` entry revokes. With Redis stopped (SIGSTOP) the
// SDK call must throw within the writer's deadline, and succeed once Redis is
// back. Afterwards: a bystander and a new
// sign-in of a signed-out user are still served, and every entry in Redis
// has the shape redis/STREAM.md gives.
//
// The SuperTokens core (Java) cannot run here, so `connectionURI` points at a
// small stub on loopback that answers only the core's own REST calls these
// need: `GET /apiversion`, `GET /.well-known/jwks.json` (relayed from the dev
// issuer, as in part 2) and `POST [/<tenant>]/recipe/session/remove` (from a
// table of the sessions the test minted). Everything else it records and the
// part fails on. The SDK code path and the Redis writes are real.
import { createRequire } from "node:module";
import http from "node:http";
import net from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { createClient } from "redis";
import { ROOT, bin, lineProcess, sleep, startDevIssuer } from "../lib/common.mjs";
import { APPEND_SCRIPT, revocationStream, sessionRevocation, userRevocation, writeRevocations } from "./revocation-writer.mjs";

const SUITE = "revocation-stream";
const BOUND_MS = 100;
const GIVE_UP_MS = 2000;
const KEY = "{ssr-session}:revocations";
const RETENTION_SECONDS = 3600;
const WRITE_TIMEOUT_MS = 500;
const require = createRequire(import.meta.url);
const problems = [];
const cleanups = [];

// The SDK's logger prints an empty line after each message; drop those.
const log = console.log;
console.log = (...args) => (args.length > 0 ? log(...args) : undefined);

// The contract's script, verbatim.
const contract = readFileSync(path.join(ROOT, "redis", "STREAM.md"), "utf8");
const luaBlock = contract.match(/```lua\n([\s\S]*?)```/)?.[1];
if (luaBlock !== APPEND_SCRIPT) problems.push(`${SUITE}: revocation-writer.mjs's APPEND_SCRIPT is not the script in redis/STREAM.md`);

// The writer refuses what readers would skip (redis/STREAM.md), rather than write it.
for (const [what, make] of [
  ["an empty handle", () => sessionRevocation("")],
  ["a handle over 1024 bytes", () => sessionRevocation("é".repeat(513))],
  ["a user id that is not a string", () => userRevocation(42)],
  ["a fractional before", () => userRevocation("u", 1.5)],
]) {
  let refused = false;
  try {
    make();
  } catch (error) {
    refused = error instanceof TypeError;
  }
  if (!refused) problems.push(`${SUITE}: the writer accepts ${what}`);
}
const expectedJson = JSON.stringify(userRevocation("u", 7));
if (expectedJson !== '{"kind":"user","user_id":"u","before":7}') problems.push(`${SUITE}: the writer's user JSON is ${expectedJson}`);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

let redisProcess;
/** A redis-server on a free loopback port, no persistence; resolves its URL. */
async function startRedis() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "interop-redis-"));
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    const child = spawn(
      process.env.SSR_SESSION_REDIS_SERVER ?? "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning"],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 250; i += 1) {
      const up = await new Promise((resolve) => {
        const socket = net.connect(port, "127.0.0.1", () => (socket.end(), resolve(true)));
        socket.on("error", () => resolve(false));
      });
      if (up) {
        redisProcess = child;
        cleanups.push(async () => {
          child.kill("SIGKILL");
          await exited;
          rmSync(dir, { recursive: true, force: true });
        });
        return url;
      }
      if (child.exitCode !== null) break;
      await sleep(20);
    }
    child.kill("SIGKILL");
    await exited;
  }
  throw new Error("redis-server did not start");
}

const { issuer, info } = await startDevIssuer(["--access-token-secs", String(RETENTION_SECONDS)]);
cleanups.push(() => issuer.stop());
const redisUrl = await startRedis();

// The stub core: the session table is what the test minted.
const sessionsOf = new Map(); // handle -> user id
const unexpected = [];
const removeCalls = [];
const core = http.createServer(async (request, response) => {
  const url = new URL(request.url, "http://core");
  const json = (status, body) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  if (request.method === "GET" && url.pathname === "/apiversion") return json(200, { versions: ["5.4"] });
  if (request.method === "GET" && url.pathname === "/.well-known/jwks.json") {
    const upstream = await fetch(info.jwksUrl);
    response.writeHead(upstream.status, { "content-type": "application/json", "cache-control": "max-age=60" });
    return response.end(Buffer.from(await upstream.arrayBuffer()));
  }
  if (request.method === "POST" && /^(\/[^/]+)?\/recipe\/session\/remove$/.test(url.pathname)) {
    let body = "";
    for await (const chunk of request) body += chunk;
    const input = JSON.parse(body);
    removeCalls.push({ path: url.pathname, input });
    let revoked;
    if (Array.isArray(input.sessionHandles)) {
      revoked = input.sessionHandles.filter((handle) => sessionsOf.has(handle));
    } else {
      revoked = [...sessionsOf].filter(([, user]) => user === input.userId).map(([handle]) => handle);
    }
    for (const handle of revoked) sessionsOf.delete(handle);
    return json(200, { status: "OK", sessionHandlesRevoked: revoked });
  }
  unexpected.push(`${request.method} ${url.pathname}`);
  json(404, { message: "not a core stub route" });
});
await new Promise((resolve) => core.listen(0, "127.0.0.1", resolve));
cleanups.push(() => new Promise((resolve) => core.close(resolve)));
const coreOrigin = `http://127.0.0.1:${core.address().port}`;

// The backend: supertokens-node with the writer.
const redis = await createClient({ url: redisUrl }).on("error", (error) => problems.push(`${SUITE}: redis client: ${error}`)).connect();
cleanups.push(() => redis.close());
const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const { handleAuthAPIRequest } = require("supertokens-node/custom");
supertokens.init({
  framework: "custom",
  supertokens: { connectionURI: coreOrigin },
  appInfo: { apiDomain: info.origin, websiteDomain: info.origin, appName: "ssr-session interop", apiBasePath: "/auth" },
  recipeList: [
    Session.init({
      override: {
        functions: writeRevocations(revocationStream({ client: redis, key: KEY, retentionSeconds: RETENTION_SECONDS, timeoutMs: WRITE_TIMEOUT_MS })),
      },
    }),
  ],
});
const authApi = handleAuthAPIRequest();

// Two Rust replicas following the stream.
const replicas = [];
for (const name of ["replica-a", "replica-b"]) {
  const app = lineProcess(
    bin("axum-ssr"),
    ["--addr", "127.0.0.1:0", "--api-domain", info.origin, "--redis-url", `${redisUrl}/0`, "--redis-key", KEY],
    { name, env: { RUST_LOG: "warn" } },
  );
  cleanups.push(() => (app.child.kill("SIGTERM"), app.stop()));
  replicas.push({ name, app, origin: (await app.line()).trim() });
}

const agent = new http.Agent({ keepAlive: true });
/** `/api/me` on a replica with `token`: the status. */
function status(origin, token) {
  return new Promise((resolve, reject) => {
    const request = http.get(`${origin}/api/me`, { agent, headers: { cookie: `sAccessToken=${token}` } }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode));
    });
    request.on("error", reject);
  });
}

const claimsOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));

/** A new session of `user` from the dev issuer, known to the stub core and served by every replica. */
async function signIn(user) {
  const { accessToken } = await issuer.ask(`session ${user}`);
  const { sessionHandle, sub } = claimsOf(accessToken);
  sessionsOf.set(sessionHandle, sub);
  for (const { name, origin } of replicas) {
    const answer = await status(origin, accessToken);
    if (answer !== 200) problems.push(`${SUITE}: ${name} answered ${answer} to a fresh session of ${user}`);
  }
  return { token: accessToken, handle: sessionHandle, user: sub };
}

/**
 * Runs `revoke()` (through the SDK), then polls every replica with each of
 * `tokens` until it refuses; records the latency from the acknowledgement.
 */
const results = [];
async function measure(label, tokens, revoke) {
  const started = performance.now();
  await revoke();
  const acknowledged = performance.now();
  await Promise.all(
    replicas.flatMap(({ name, origin }) =>
      tokens.map(async (token) => {
        for (;;) {
          const answer = await status(origin, token);
          const elapsed = performance.now() - acknowledged;
          if (answer === 401) {
            results.push({ label, replica: name, ms: elapsed, writeMs: acknowledged - started });
            return;
          }
          if (answer !== 200) problems.push(`${SUITE} ${label}: ${name} answered ${answer}`);
          if (elapsed > GIVE_UP_MS) {
            problems.push(`${SUITE} ${label}: ${name} still accepts the token ${GIVE_UP_MS} ms after the revocation`);
            results.push({ label, replica: name, ms: Infinity, writeMs: acknowledged - started });
            return;
          }
        }
      }),
    ),
  );
}

const bystander = await signIn("bystander");
const ROUNDS = 5;
for (let round = 0; round < ROUNDS; round += 1) {
  const one = await signIn(`single-${round}`);
  await measure("Session.revokeSession", [one.token], async () => {
    if ((await Session.revokeSession(one.handle)) !== true) problems.push(`${SUITE}: revokeSession did not report the session revoked`);
  });

  const [a, b] = [await signIn(`multi-${round}`), await signIn(`multi-${round}`)];
  await measure("Session.revokeMultipleSessions", [a.token, b.token], async () => {
    const revoked = await Session.revokeMultipleSessions([a.handle, b.handle]);
    if (revoked.length !== 2) problems.push(`${SUITE}: revokeMultipleSessions revoked ${revoked.length} of 2`);
  });

  const devices = [await signIn(`everywhere-${round}`), await signIn(`everywhere-${round}`)];
  // A token of the user whose session the core does not list (its session
  // ended there while the access token is unexpired): only the `user` entry
  // revokes it.
  const unlisted = await signIn(`everywhere-${round}`);
  sessionsOf.delete(unlisted.handle);
  await measure(
    "Session.revokeAllSessionsForUser",
    [...devices, unlisted].map((d) => d.token),
    async () => {
      const revoked = await Session.revokeAllSessionsForUser(devices[0].user);
      if (revoked.length !== 2) problems.push(`${SUITE}: revokeAllSessionsForUser revoked ${revoked.length} of 2`);
    },
  );

  const signedIn = await signIn(`sign-out-${round}`);
  await measure("POST /auth/signout (SDK API)", [signedIn.token], async () => {
    const answer = await authApi(
      new Request(`${info.origin}/auth/signout`, {
        method: "POST",
        headers: { cookie: `sAccessToken=${signedIn.token}`, rid: "session", "st-auth-mode": "cookie", "fdi-version": "4.0" },
      }),
    );
    const body = await answer.text();
    if (answer.status !== 200 || JSON.parse(body).status !== "OK") {
      problems.push(`${SUITE}: the sign-out API answered ${answer.status} ${body}`);
    }
  });
}

// Redis stops answering (SIGSTOP): the revocation is not acknowledged, so
// the SDK call fails within the writer's deadline instead of reporting
// success; once Redis answers again, calling again is enforced as usual.
const stalled = await signIn("stalled");
redisProcess.kill("SIGSTOP");
const stallStarted = performance.now();
const outcome = await Session.revokeSession(stalled.handle).then(
  () => "resolved",
  (error) => String(error.message),
);
const stallMs = performance.now() - stallStarted;
redisProcess.kill("SIGCONT");
console.log(`Redis stopped: Session.revokeSession ${outcome === "resolved" ? "RESOLVED" : "threw"} after ${stallMs.toFixed(0)} ms${outcome === "resolved" ? "" : ` (${outcome})`}`);
if (outcome === "resolved") problems.push(`${SUITE}: Session.revokeSession reported success while Redis was stopped`);
if (stallMs > WRITE_TIMEOUT_MS + 500) problems.push(`${SUITE}: the failed write took ${stallMs.toFixed(0)} ms (deadline ${WRITE_TIMEOUT_MS} ms)`);
sessionsOf.set(stalled.handle, stalled.user);
await measure("Session.revokeSession after a stall", [stalled.token], () => Session.revokeSession(stalled.handle));

// Nothing else was revoked: the bystander, and a session of a user signed out
// everywhere that signs in again a second later (its iat is not before the
// revocation's `before`), are still served.
await sleep(1100);
const again = await signIn("everywhere-0");
await sleep(50);
for (const { name, origin } of replicas) {
  for (const [what, session] of [["the bystander", bystander], ["a sign-in after sign-out-everywhere", again]]) {
    const answer = await status(origin, session.token);
    if (answer !== 200) problems.push(`${SUITE}: ${name} refuses ${what} (${answer})`);
  }
}

// The entries are what redis/STREAM.md says: one `r` field, version 1 JSON.
const entries = await redis.xRange(KEY, "-", "+");
const kinds = { session: 0, user: 0 };
for (const { id, message } of entries) {
  const fields = Object.keys(message);
  if (fields.length !== 1 || fields[0] !== "r") problems.push(`${SUITE}: entry ${id} has fields ${fields.join(",")}`);
  const revocation = JSON.parse(message.r);
  kinds[revocation.kind] = (kinds[revocation.kind] ?? 0) + 1;
  const keys = Object.keys(revocation).join(",");
  const shapeOk =
    (revocation.kind === "session" && keys === "kind,handle" && typeof revocation.handle === "string") ||
    (revocation.kind === "user" && keys === "kind,user_id,before" && Number.isSafeInteger(revocation.before) && revocation.before < Date.now() / 1000 + 300);
  if (!shapeOk) problems.push(`${SUITE}: entry ${id} is not a version 1 revocation: ${keys}`);
}
const ttl = await redis.pTTL(KEY);
if (!(ttl > 0 && ttl <= RETENTION_SECONDS * 1000)) problems.push(`${SUITE}: the key's expiry is ${ttl} ms, not within the retention`);
if (unexpected.length > 0) problems.push(`${SUITE}: unexpected core calls: ${unexpected.join(", ")}`);

// The figures.
const byLabel = new Map();
for (const result of results) {
  if (!byLabel.has(result.label)) byLabel.set(result.label, []);
  byLabel.get(result.label).push(result);
}
const fmt = (ms) => (Number.isFinite(ms) ? `${ms.toFixed(1)} ms` : "never");
console.log(`stream ${KEY} on ${redisUrl}: ${entries.length} entries (${kinds.session} session, ${kinds.user} user), ${removeCalls.length} core remove calls`);
console.log(`${"revocation (supertokens-node)".padEnd(36)} n   write ack   refused after ack: max / median (per replica and token)`);
const all = [];
for (const [label, list] of byLabel) {
  const sorted = list.map((r) => r.ms).sort((x, y) => x - y);
  const writes = list.map((r) => r.writeMs).sort((x, y) => x - y);
  all.push(...sorted);
  console.log(`${label.padEnd(36)} ${String(list.length).padStart(2)}  ${fmt(writes[writes.length - 1]).padStart(9)}   ${fmt(sorted[sorted.length - 1])} / ${fmt(sorted[Math.floor(sorted.length / 2)])}`);
}
all.sort((x, y) => x - y);
const p = (q) => all[Math.min(all.length - 1, Math.round((all.length - 1) * q))];
console.log(`all ${all.length}: p50 ${fmt(p(0.5))}, p99 ${fmt(p(0.99))}, max ${fmt(all[all.length - 1])} (bound ${BOUND_MS} ms)`);
for (const result of results.filter((r) => r.ms > BOUND_MS && Number.isFinite(r.ms))) {
  problems.push(`${SUITE} ${result.label}: ${result.replica} refused the token ${fmt(result.ms)} after the write's acknowledgement (bound ${BOUND_MS} ms)`);
}

agent.destroy();
for (const cleanup of cleanups.reverse()) await cleanup();
if (problems.length > 0) {
  console.error(`\n${SUITE}: ${problems.length} unexpected result(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`${SUITE}: every revocation written by supertokens-node was enforced by both replicas within ${BOUND_MS} ms`);
process.exit(0);
