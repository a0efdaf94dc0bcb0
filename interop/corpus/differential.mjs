// Part 1: differential testing against peer verifiers.
//
// Two corpora, signed by `jose` (Node) and by PyJWT (Python), each with the
// JWKS it was signed for, served on loopback. Every token is classified by
// - jose:    createRemoteJWKSet + jwtVerify (issuer, audience);
// - guide:   the SuperTokens Next.js guide's own code (jwks-rsa + jsonwebtoken,
//            options {}, TokenExpiredError -> needs refresh, other errors -> invalid);
// - pyjwt:   PyJWKClient + jwt.decode with the PyJWK (issuer, audience);
// - ssr-session through the `verify` CLI (--jwks-url, --issuer, --audience).
// ssr-session must give its contract's answer; a peer that differs must be
// listed in intended-differences.json.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as jose from "jose";
import JsonWebToken from "jsonwebtoken";
import jwksClient from "jwks-rsa";
import { INTEROP, WORK, compareAndReport, staleDifferences, pool, run, serveJson, verifyCli } from "../lib/common.mjs";

const SUITE = "corpus";
const PEERS = ["jose", "guide", "pyjwt"];
const python = path.join(INTEROP, ".venv", "bin", "python");
mkdirSync(WORK, { recursive: true });

async function generate() {
  const jose = path.join(WORK, "corpus-jose.json");
  const pyjwt = path.join(WORK, "corpus-pyjwt.json");
  const [a, b] = await Promise.all([
    run(process.execPath, [path.join(INTEROP, "corpus", "gen-jose.mjs"), jose]),
    run(python, [path.join(INTEROP, "corpus", "gen_pyjwt.py"), pyjwt]),
  ]);
  for (const result of [a, b]) {
    if (result.status !== 0) throw new Error(`corpus generation failed:\n${result.stdout}${result.stderr}`);
    process.stdout.write(result.stdout);
  }
  const { readFileSync } = await import("node:fs");
  return [JSON.parse(readFileSync(jose, "utf8")), JSON.parse(readFileSync(pyjwt, "utf8"))];
}

function classifyJoseError(error) {
  if (error?.code === "ERR_JWT_EXPIRED") return "needs_refresh";
  if (error?.code === "ERR_JWKS_TIMEOUT" || error?.name === "TypeError") return "unavailable";
  return "invalid";
}

async function viaJose(jwks, token, corpus) {
  try {
    await jose.jwtVerify(token, jwks, { issuer: corpus.issuer, audience: corpus.audience });
    return { outcome: "valid" };
  } catch (error) {
    return { outcome: classifyJoseError(error), detail: `${error.code ?? error.name}: ${error.message}` };
  }
}

/** The guide's code, as published (getPublicKey + verifyToken), around one jwks-rsa client. */
function guideVerifier(jwksUri) {
  const client = jwksClient({ jwksUri });
  function getPublicKey(header, callback) {
    client.getSigningKey(header.kid, (err, key) => {
      if (err) {
        callback(err);
      } else {
        const signingKey = key?.getPublicKey();
        callback(null, signingKey);
      }
    });
  }
  return (token) =>
    new Promise((resolve, reject) => {
      JsonWebToken.verify(token, getPublicKey, {}, (err, decoded) => (err ? reject(err) : resolve(decoded)));
    });
}

async function viaGuide(verifyToken, token) {
  try {
    await verifyToken(token);
    return { outcome: "valid" };
  } catch (error) {
    // The guide: TokenExpiredError -> { fromSupertokens: "needs-refresh" }; any other error is returned as `error`.
    if (error instanceof JsonWebToken.TokenExpiredError) return { outcome: "needs_refresh", detail: error.message };
    return { outcome: "invalid", detail: `${error.name}: ${error.message}` };
  }
}

const corpora = await generate();
const routes = Object.fromEntries(corpora.map((corpus) => [`/${corpus.generator}/jwks.json`, corpus.jwks]));
const server = await serveJson(routes);
const problems = [];
try {
  const jwksUrl = (corpus) => `${server.origin}/${corpus.generator}/jwks.json`;
  const cases = corpora.flatMap((corpus) => corpus.cases.map((c) => ({ ...c, corpus, jwks_url: jwksUrl(corpus) })));

  const joseSets = new Map(corpora.map((corpus) => [corpus.generator, jose.createRemoteJWKSet(new URL(jwksUrl(corpus)))]));
  const guides = new Map(corpora.map((corpus) => [corpus.generator, guideVerifier(jwksUrl(corpus))]));

  const casesFile = path.join(WORK, "corpus-cases.json");
  writeFileSync(
    casesFile,
    JSON.stringify(cases.map((c) => ({ id: c.id, token: c.token, jwks_url: c.jwks_url, issuer: c.corpus.issuer, audience: c.corpus.audience }))),
  );
  const pyjwtRun = run(python, [path.join(INTEROP, "corpus", "pyjwt_peer.py"), casesFile]);

  const rows = [];
  for (const c of cases) {
    rows.push({
      id: c.id,
      expected: c.expected,
      peers: {
        jose: (await viaJose(joseSets.get(c.generator), c.token, c.corpus)).outcome,
        guide: (await viaGuide(guides.get(c.generator), c.token)).outcome,
      },
    });
  }
  const ours = await pool(cases, 4, (c) =>
    verifyCli(["--jwks-url", c.jwks_url, "--any-jwt", "--issuer", c.corpus.issuer, "--audience", c.corpus.audience], c.token),
  );
  const pyjwt = await pyjwtRun;
  if (pyjwt.status !== 0) throw new Error(`pyjwt peer failed:\n${pyjwt.stderr}`);
  const pyjwtResults = JSON.parse(pyjwt.stdout);
  rows.forEach((row, index) => {
    row.ours = ours[index].outcome;
    row.peers.pyjwt = pyjwtResults[row.id].outcome;
  });

  const seen = new Set();
  const report = compareAndReport(SUITE, rows, PEERS, seen);
  problems.push(...report.problems);
  problems.push(...staleDifferences(SUITE, seen));
  writeFileSync(path.join(WORK, `summary-${SUITE}.json`), JSON.stringify({ suite: SUITE, cases: report.cases, agree: report.agree, explained: report.explained }));
  console.log(`jwks requests served: ${JSON.stringify(server.hits)}`);
} finally {
  await server.close();
}
if (problems.length > 0) {
  console.error(`\n${SUITE}: ${problems.length} unexpected result(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`${SUITE}: every result as expected`);
