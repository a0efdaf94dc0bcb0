// Helpers shared by the interop parts: child processes, loopback servers, the
// `verify` CLI, intended differences and the agreement table.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const INTEROP = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(INTEROP);
export const TARGET = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, "target");
export const bin = (name) => path.join(TARGET, "debug", name);
export const WORK = path.join(INTEROP, ".work");

/** ssr-session's outcome from the `verify` CLI's exit status. */
export const OUTCOME_OF_STATUS = { 0: "valid", 3: "needs_refresh", 4: "invalid", 5: "unavailable" };

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a command to completion; resolves { status, stdout, stderr }. `env`
 * adds to this process's environment, or replaces it with `replaceEnv`.
 */
export function run(command, args, { env, input, replaceEnv = false } = {}) {
  return new Promise((resolve, reject) => {
    const childEnv = replaceEnv ? env : { ...process.env, ...env };
    const child = spawn(command, args, { env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

/**
 * One run of ssr-session's `verify` CLI (the token goes in the environment,
 * out of the process list). Resolves { outcome, report, status }.
 */
export async function verifyCli(args, token) {
  const env = { ...process.env };
  delete env.RUST_LOG;
  delete env.SSR_SESSION_TOKEN;
  if (token !== undefined) env.SSR_SESSION_TOKEN = token;
  const result = await run(bin("verify"), args, { env, replaceEnv: true });
  const outcome = OUTCOME_OF_STATUS[result.status];
  if (outcome === undefined) {
    throw new Error(`verify exited ${result.status}: ${result.stderr.trim()}`);
  }
  return { outcome, report: JSON.parse(result.stdout), status: result.status };
}

/** Maps `items` through `fn` with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * A long-running child whose stdout is read line by line: `line()` resolves
 * the next line (rejects if the process ends first), `send(text)` writes a
 * line to its stdin, `stop()` closes stdin and waits (kills after a grace).
 */
export function lineProcess(command, args, { env, name = path.basename(command) } = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  const queue = [];
  const waiters = [];
  let ended = false;
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(line);
    else queue.push(line);
  });
  const closed = new Promise((resolve) => child.on("close", resolve));
  closed.then((status) => {
    ended = true;
    for (const waiter of waiters.splice(0)) {
      waiter.reject(new Error(`${name} exited (${status}) before answering; stderr:\n${stderr}`));
    }
  });
  return {
    child,
    get stderr() {
      return stderr;
    },
    line(timeoutMs = 30_000) {
      if (queue.length > 0) return Promise.resolve(queue.shift());
      if (ended) return Promise.reject(new Error(`${name} has exited; stderr:\n${stderr}`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no line within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          resolve: (line) => (clearTimeout(timer), resolve(line)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
      });
    },
    send(text) {
      child.stdin.write(`${text}\n`);
    },
    async ask(text) {
      this.send(text);
      return JSON.parse(await this.line());
    },
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Starts the dev issuer (`dev-issuer` bin); resolves the process and its `info`. */
export async function startDevIssuer(args = []) {
  const issuer = lineProcess(bin("dev-issuer"), ["--addr", "127.0.0.1:0", ...args]);
  const origin = await issuer.line();
  const info = await issuer.ask("info");
  if (info.origin !== origin) throw new Error(`dev-issuer: ${origin} vs ${JSON.stringify(info)}`);
  return { issuer, info };
}

/**
 * A loopback HTTP server answering GET `path` with the JSON `routes[path]`
 * (re-read on each request, so routes may change); counts requests per path.
 */
// A stand-in for the SuperTokens core on loopback, for supertokens-node's
// session recipe: it relays `GET /.well-known/jwks.json` (where the SDK
// takes its keys from) from `jwksUrl` byte for byte, answers 404 to
// anything else, and records every request (`calls`, "METHOD /path").
export async function startJwksRelayCore(jwksUrl) {
  const calls = [];
  const server = http.createServer(async (request, response) => {
    calls.push(`${request.method} ${request.url}`);
    if (request.method === "GET" && request.url === "/.well-known/jwks.json") {
      const upstream = await fetch(jwksUrl);
      response.writeHead(upstream.status, {
        "content-type": upstream.headers.get("content-type") ?? "application/json",
        "cache-control": upstream.headers.get("cache-control") ?? "max-age=60",
      });
      response.end(Buffer.from(await upstream.arrayBuffer()));
      return;
    }
    response.writeHead(404, { "content-type": "application/json" }).end('{"message":"not a core stub route"}');
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, calls, origin: `http://127.0.0.1:${server.address().port}` };
}

export async function serveJson(routes) {
  const hits = {};
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, "http://x");
    hits[url.pathname] = (hits[url.pathname] ?? 0) + 1;
    const body = routes[url.pathname];
    if (request.method !== "GET" || body === undefined) {
      response.writeHead(404, { "content-type": "application/json" }).end('{"message":"not found"}');
      return;
    }
    response.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=60" });
    response.end(JSON.stringify(body));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The checked-in intended differences (interop/intended-differences.json). */
export function intendedDifferences() {
  const file = path.join(INTEROP, "intended-differences.json");
  return JSON.parse(readFileSync(file, "utf8")).differences;
}

function globToRegExp(glob) {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^ ]*");
  return new RegExp(`^${escaped}$`);
}

const differenceKey = (difference) => JSON.stringify(difference);

/** Problems for the listed differences of `suite` that no case showed. */
export function staleDifferences(suite, seen) {
  return intendedDifferences()
    .filter((difference) => difference.suite === suite && !seen.has(differenceKey(difference)))
    .map((difference) => `${suite}: intended difference never seen (stale?): ${difference.peer} ${JSON.stringify(difference.cases)}`);
}

/** The intended difference that explains `peer` saying `theirs` where ssr-session says `ours` on `id`. */
export function explain(differences, suite, peer, id, ours, theirs) {
  return differences.find(
    (difference) =>
      difference.suite === suite &&
      difference.peer === peer &&
      difference.ours === ours &&
      difference.theirs === theirs &&
      difference.cases.some((glob) => globToRegExp(glob).test(id)),
  );
}

/**
 * Compares every peer with ssr-session over `rows` ({ id, expected, ours,
 * peers: { name: outcome } }); prints the table and the agreement figures.
 * Returns the list of problems (unexpected results); also marks which
 * intended differences were seen.
 */
export function compareAndReport(suite, rows, peerNames, seen) {
  const differences = intendedDifferences();
  const problems = [];
  const agree = Object.fromEntries(peerNames.map((peer) => [peer, 0]));
  const explained = Object.fromEntries(peerNames.map((peer) => [peer, 0]));
  const short = { valid: "valid", needs_refresh: "refresh", invalid: "invalid", unavailable: "unavail" };
  const width = Math.max(...rows.map((row) => row.id.length), 4);
  const header = ["case".padEnd(width), "expected".padEnd(8), "ssr-session".padEnd(11), ...peerNames.map((p) => p.padEnd(Math.max(p.length, 9)))];
  console.log(header.join("  "));
  for (const row of rows) {
    if (row.ours !== row.expected) {
      problems.push(`${suite} ${row.id}: ssr-session says ${row.ours}, its contract says ${row.expected}`);
    }
    const cells = [row.id.padEnd(width), short[row.expected].padEnd(8), `${short[row.ours] ?? row.ours}${row.ours === row.expected ? "" : "!"}`.padEnd(11)];
    for (const peer of peerNames) {
      const theirs = row.peers[peer];
      let mark = "";
      if (theirs === row.ours) {
        agree[peer] += 1;
      } else {
        const reason = explain(differences, suite, peer, row.id, row.ours, theirs);
        if (reason) {
          explained[peer] += 1;
          seen.add(differenceKey(reason));
          mark = reason.kind === "known-gap" ? " ~" : " *";
        } else {
          mark = " !";
          problems.push(`${suite} ${row.id}: ${peer} says ${theirs}, ssr-session says ${row.ours} (not an intended difference)`);
        }
      }
      cells.push(`${short[theirs] ?? theirs}${mark}`.padEnd(Math.max(peer.length, 9)));
    }
    console.log(cells.join("  "));
  }
  console.log("  (* intended difference, ~ known gap: see interop/intended-differences.json; ! unexpected)");
  const figures = peerNames.map((peer) => `${peer} ${agree[peer]}/${rows.length} agree, ${explained[peer]} intended differences`);
  console.log(`${suite}: ${rows.length} cases; ${figures.join("; ")}`);
  return { problems, agree, explained, cases: rows.length };
}
