// Part 4: a real OpenID Connect issuer. `oidc-provider` (oidc/provider.mjs)
// runs on loopback and issues JWT access tokens by the client-credentials
// grant with resource indicators; ssr-session verifies them configured only
// by the issuer URL (`verify --oidc-issuer`: discovery -> jwks_uri; issuer and
// audience checked). jose, configured the same way by discovery, is the peer.
// Then the provider restarts on the same port with a new key set, and one
// long-lived verifier (`verify-stream`) shows that the next token verifies
// after exactly one refetch.
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import * as jose from "jose";
import { INTEROP, WORK, bin, compareAndReport, lineProcess, run, sleep, staleDifferences, verifyCli } from "../lib/common.mjs";

const SUITE = "oidc";
const problems = [];
const check = (ok, what) => ok || problems.push(`${SUITE}: ${what}`);
mkdirSync(WORK, { recursive: true });

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startProvider(port) {
  const provider = lineProcess(process.execPath, [path.join(INTEROP, "oidc", "provider.mjs"), String(port)], { name: "oidc-provider" });
  const [word, issuer, kid] = (await provider.line(60_000)).split(" ");
  if (word !== "ready") throw new Error(`oidc-provider: ${word}`);
  return { provider, issuer, kid };
}

async function clientCredentialsToken(issuer, resource) {
  const response = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from("interop-client:interop-secret").toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: "api", resource }),
  });
  const body = await response.json();
  if (!response.ok || typeof body.access_token !== "string") throw new Error(`token endpoint: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

const decode = (token) => ({ header: jose.decodeProtectedHeader(token), claims: jose.decodeJwt(token) });

function tamper(token) {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url"));
  claims.sub = "another-client";
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}

const port = await freePort();
let { provider, issuer, kid } = await startProvider(port);
let stream;
try {
  // --- Tokens from the real provider, classified by ssr-session and jose.
  const shortLived = await clientCredentialsToken(issuer, "urn:api:short");
  const shortIssuedAt = Date.now();
  const token = await clientCredentialsToken(issuer, "urn:api");
  const { header, claims } = decode(token);
  console.log(`oidc-provider at ${issuer}: access token header ${JSON.stringify(header)}, claims ${Object.keys(claims).join(", ")} (sub ${claims.sub}, aud ${claims.aud})`);
  check(header.typ === "at+jwt" && header.kid === kid && claims.iss === issuer && claims.aud === "urn:api", "the provider's token is not an RFC 9068 JWT for urn:api");

  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const joseKeys = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));
  async function viaJose(t, audience) {
    try {
      await jose.jwtVerify(t, joseKeys, { issuer: discovery.issuer, audience });
      return "valid";
    } catch (error) {
      return error.code === "ERR_JWT_EXPIRED" ? "needs_refresh" : "invalid";
    }
  }
  await sleep(Math.max(0, 2100 - (Date.now() - shortIssuedAt)));
  const cases = [
    { id: "provider/valid", expected: "valid", token, audience: "urn:api" },
    { id: "provider/expired", expected: "needs_refresh", token: shortLived, audience: "urn:api:short" },
    { id: "provider/wrong-audience", expected: "invalid", token, audience: "urn:api:short" },
    { id: "provider/tampered", expected: "invalid", token: tamper(token), audience: "urn:api" },
  ];
  const rows = [];
  for (const c of cases) {
    const ours = await verifyCli(["--oidc-issuer", issuer, "--audience", c.audience], c.token);
    if (c.expected === "valid") check(ours.report.sub === "interop-client", `verify reports sub ${ours.report.sub}`);
    rows.push({ id: c.id, expected: c.expected, ours: ours.outcome, peers: { jose: await viaJose(c.token, c.audience) } });
  }
  const seen = new Set();
  const report = compareAndReport(SUITE, rows, ["jose"], seen);
  problems.push(...report.problems, ...staleDifferences(SUITE, seen));
  writeFileSync(path.join(WORK, `summary-${SUITE}.json`), JSON.stringify({ suite: SUITE, cases: report.cases, agree: report.agree, explained: report.explained }));

  // Discovery is strict about the issuer's spelling (OIDC Discovery 4.3), and an issuer that does not answer is an outage.
  const env = { ...process.env, SSR_SESSION_TOKEN: token };
  const otherSpelling = await run(bin("verify"), ["--oidc-issuer", issuer.replace("127.0.0.1", "localhost")], { env, replaceEnv: true });
  check(otherSpelling.status === 2 && /names issuer/.test(otherSpelling.stderr), `--oidc-issuer with another spelling: exit ${otherSpelling.status} ${otherSpelling.stderr.trim()}`);
  const closedPort = await freePort();
  const down = await run(bin("verify"), ["--oidc-issuer", `http://127.0.0.1:${closedPort}`, "--timeout-secs", "3"], { env, replaceEnv: true });
  check(down.status === 5, `--oidc-issuer that does not answer: exit ${down.status} ${down.stdout.trim()} ${down.stderr.trim()}`);
  console.log(`issuer spelled http://localhost:${port}: exit ${otherSpelling.status} (discovery names another issuer); nothing listening: exit ${down.status} (unavailable)`);

  // --- Restart with a new key set: one long-lived verifier, one refetch.
  stream = lineProcess(bin("verify-stream"), ["--oidc-issuer", issuer, "--audience", "urn:api", "--unknown-kid-interval-ms", "1000"], { name: "verify-stream" });
  const verify = async (t) => {
    stream.send(t);
    return JSON.parse(await stream.line());
  };
  const steps = [];
  const first = await verify(token);
  const second = await verify(await clientCredentialsToken(issuer, "urn:api"));
  steps.push(["token of key set 1", first], ["another token of key set 1", second]);
  check(first.outcome === "valid" && first.fetches === 1, `first token: ${JSON.stringify(first)}`);
  check(second.outcome === "valid" && second.fetches === 1, `second token (cached keys): ${JSON.stringify(second)}`);

  const oldKid = kid;
  await provider.stop();
  ({ provider, issuer, kid } = await startProvider(port));
  check(kid !== oldKid, "the restarted provider kept its key");
  const renewed = await clientCredentialsToken(issuer, "urn:api");
  await sleep(1100); // past the unknown-kid interval set above: the refetch starts at once
  const third = await verify(renewed);
  const old = await verify(token);
  steps.push(["token of key set 2 (new kid)", third], ["old token of key set 1 again", old]);
  check(third.outcome === "valid" && third.fetches === 2, `token of the new key set: ${JSON.stringify(third)} (expected valid after exactly one refetch)`);
  check(old.outcome === "invalid" && old.kind === "unknown_key", `old token after the key change: ${JSON.stringify(old)}`);
  console.log("provider restarted on the same port with a new key set; one verify-stream process:");
  for (const [what, outcome] of steps) {
    console.log(`  ${what.padEnd(30)} ${outcome.outcome}${outcome.kind ? ` (${outcome.kind})` : ""}, JWKS fetches so far: ${outcome.fetches}`);
  }
} finally {
  if (stream) await stream.stop().catch(() => {});
  await provider.stop().catch(() => {});
}
if (problems.length > 0) {
  console.error(`\n${SUITE}: ${problems.length} unexpected result(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`${SUITE}: every result as expected`);
