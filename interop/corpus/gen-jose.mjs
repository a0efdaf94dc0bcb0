// Corpus half signed by panva `jose` (Node): one key pair per algorithm, every
// variant of corpus/variants.json per key, and the JWKS of the published keys.
// Usage: node corpus/gen-jose.mjs OUT.json
import { readFileSync, writeFileSync } from "node:fs";
import * as jose from "jose";

const spec = JSON.parse(readFileSync(new URL("./variants.json", import.meta.url)));
const out = process.argv[2];
const now = Math.floor(Date.now() / 1000);
const RSA = new Set(["RS256", "RS384", "RS512", "PS256"]);
// The other RSA alg an RSA key is misused with in `alg-mismatch`.
const MISMATCH = { RS256: "PS256", RS384: "PS256", RS512: "PS256", PS256: "RS256" };

function b64urlJson(value) {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

async function keyPair(alg) {
  const options = { extractable: true, ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}) };
  return jose.generateKeyPair(alg, options);
}

async function sign(claims, privateKey, alg, kid) {
  return new jose.SignJWT(claims).setProtectedHeader({ alg, kid, typ: "JWT" }).sign(privateKey);
}

function claims(variant) {
  const base = { sub: "user-jose", iat: now, exp: now + 3600, iss: spec.issuer, aud: spec.audience };
  switch (variant) {
    case "expired": return { ...base, iat: now - 4200, exp: now - 600 };
    case "not-yet-valid": return { ...base, nbf: now + 600 };
    case "wrong-issuer": return { ...base, iss: "https://evil.interop.test" };
    case "wrong-audience": return { ...base, aud: "another-api" };
    case "expired-wrong-audience": return { ...base, iat: now - 4200, exp: now - 600, aud: "another-api" };
    default: return base;
  }
}

function tamper(token) {
  const [header, payload, signature] = token.split(".");
  const body = JSON.parse(Buffer.from(payload, "base64url"));
  body.sub = "admin";
  return `${header}.${b64urlJson(body)}.${signature}`;
}

const keys = [];
const cases = [];
for (const alg of spec.algorithms) {
  const kid = `jose-${alg}`;
  const { publicKey, privateKey } = await keyPair(alg);
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: "sig" };
  keys.push(jwk);
  const other = await keyPair(alg);
  for (const [variant, about] of Object.entries(spec.variants)) {
    if (about.rsa_only && !RSA.has(alg)) continue;
    let token;
    switch (variant) {
      case "tampered":
        token = tamper(await sign(claims("valid"), privateKey, alg, kid));
        break;
      case "wrong-key":
        token = await sign(claims("valid"), other.privateKey, alg, kid);
        break;
      case "unknown-kid":
        token = await sign(claims("valid"), other.privateKey, alg, `jose-unpublished-${alg}`);
        break;
      case "alg-mismatch": {
        const misused = await jose.importJWK(await jose.exportJWK(privateKey), MISMATCH[alg]);
        token = await sign(claims("valid"), misused, MISMATCH[alg], kid);
        break;
      }
      default:
        token = await sign(claims(variant), privateKey, alg, kid);
    }
    cases.push({ id: `jose/${alg}/${variant}`, generator: "jose", alg, variant, expected: about.expected, token });
  }
}
writeFileSync(out, JSON.stringify({ generator: "jose", issuer: spec.issuer, audience: spec.audience, jwks: { keys }, cases }, null, 1));
console.log(`gen-jose: ${cases.length} tokens, ${keys.length} keys -> ${out}`);
