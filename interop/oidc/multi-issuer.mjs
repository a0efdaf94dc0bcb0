// Part 5: two real OpenID Connect issuers at once. Two `oidc-provider`
// instances (oidc/provider.mjs, each with its own fresh key set) run on
// loopback; one `verify` command accepts both (`--oidc-issuer` twice, keys
// found by discovery on first use, each key bound to its issuer), and an
// issuer template accepts them as tenants of one URL pattern. A token of
// either issuer verifies; a token of an issuer not listed is invalid; a
// token whose `iss` names one issuer but whose signature is the other's is
// invalid; an allowed issuer that does not answer is an outage.
import net from "node:net";
import path from "node:path";
import * as jose from "jose";
import { INTEROP, lineProcess, verifyCli } from "../lib/common.mjs";

const SUITE = "multi-issuer";
const problems = [];
const check = (ok, what) => ok || problems.push(`${SUITE}: ${what}`);

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startProvider(port) {
  const provider = lineProcess(process.execPath, [path.join(INTEROP, "oidc", "provider.mjs"), String(port)], { name: `oidc-provider:${port}` });
  const [word, issuer, kid] = (await provider.line(60_000)).split(" ");
  if (word !== "ready") throw new Error(`oidc-provider: ${word}`);
  return { provider, issuer, kid };
}

async function clientCredentialsToken(issuer) {
  const response = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from("interop-client:interop-secret").toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: "api", resource: "urn:api" }),
  });
  const body = await response.json();
  if (!response.ok || typeof body.access_token !== "string") throw new Error(`token endpoint: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** `token`'s payload with `iss` replaced, keeping its header and signature. */
function withIssuer(token, iss) {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url"));
  claims.iss = iss;
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}

const [portA, portB, portC, closedPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
const a = await startProvider(portA);
const b = await startProvider(portB);
const c = await startProvider(portC);
try {
  const [tokenA, tokenB, tokenC] = [await clientCredentialsToken(a.issuer), await clientCredentialsToken(b.issuer), await clientCredentialsToken(c.issuer)];
  check(jose.decodeJwt(tokenA).iss === a.issuer && jose.decodeJwt(tokenB).iss === b.issuer, "the providers' tokens name their issuers");
  const down = `http://127.0.0.1:${closedPort}`;
  const both = ["--oidc-issuer", a.issuer, "--oidc-issuer", b.issuer, "--oidc-issuer", down, "--audience", "urn:api", "--timeout-secs", "3"];
  // (Issuer templates are not shown here: oidc-provider's issuers differ by
  // port, and a template's tenant is a path segment or a DNS label, never a
  // port; the Rust tests and the verify CLI tests cover templates.)
  const cases = [
    ["issuer A's token", tokenA, "valid"],
    ["issuer B's token", tokenB, "valid"],
    ["issuer C (not listed)", tokenC, "invalid"],
    ["A's signature, iss of B", withIssuer(tokenA, b.issuer), "invalid"],
    ["B's signature, iss of A", withIssuer(tokenB, a.issuer), "invalid"],
    ["iss of an allowed issuer that is down", withIssuer(tokenA, down), "unavailable"],
  ];
  for (const [what, token, expected] of cases) {
    const result = await verifyCli(both, token);
    const detail = result.report.kind ? ` (${result.report.kind})` : "";
    console.log(`  ${what.padEnd(40)} ${result.outcome}${detail}`);
    check(result.outcome === expected, `${what}: ${result.outcome}${detail}, expected ${expected}`);
    if (expected === "valid") check(result.report.claims?.iss !== undefined, `${what}: no iss in ${JSON.stringify(result.report)}`);
    if (what.startsWith("issuer C")) check(result.report.kind === "claim", `${what}: kind ${result.report.kind}`);
  }
} finally {
  for (const p of [a, b, c]) await p.provider.stop().catch(() => {});
}
if (problems.length > 0) {
  console.error(`\n${SUITE}: ${problems.length} unexpected result(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`${SUITE}: every result as expected`);
