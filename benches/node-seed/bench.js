// The seed's own SSR verification path, timed: SuperTokens' Next.js guide
// (`jwksClient({ jwksUri })`, `client.getSigningKey(header.kid, …)`,
// `key.getPublicKey()`, `JsonWebToken.verify(token, getKey, {}, callback)`),
// against a JWKS served on 127.0.0.1 and the token the Rust benches used.
//
//   node bench.js <fixture-dir> [--json]
//
// <fixture-dir> holds `jwks.json` and `token-rs256.txt`, written by
// `SSR_BENCH_EXPORT=<dir> cargo bench -p ssr-session-benches --bench verify`
// (benches/compare.sh does both). Prints µs per verification: the guide's
// path, and for reference the same verify with a KeyObject created once.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const JsonWebToken = require('jsonwebtoken');
const jwksClient = require('jwks-rsa');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench.js <fixture-dir> [--json]');
  process.exit(2);
}
const json = process.argv.includes('--json');
const jwks = fs.readFileSync(path.join(dir, 'jwks.json'));
const token = fs.readFileSync(path.join(dir, 'token-rs256.txt'), 'utf8').trim();

const SAMPLES = 21;
const OPS_PER_SAMPLE = 500;

let jwksRequests = 0;
const server = http.createServer((request, response) => {
  jwksRequests += 1;
  response.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': 'max-age=600',
  });
  response.end(jwks);
});

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeIt(verifyOnce) {
  for (let i = 0; i < 200; i += 1) await verifyOnce(); // warm up (and fill jwks-rsa's cache)
  const samples = [];
  for (let s = 0; s < SAMPLES; s += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS_PER_SAMPLE; i += 1) await verifyOnce();
    const elapsed = Number(process.hrtime.bigint() - start);
    samples.push(elapsed / OPS_PER_SAMPLE / 1000);
  }
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();

  // --- The guide's code, as the seed runs it on every SSR request. ---
  const client = jwksClient({
    jwksUri: `http://127.0.0.1:${port}/auth/jwt/jwks.json`,
  });
  function getKey(header, callback) {
    client.getSigningKey(header.kid, function (err, key) {
      if (err) return callback(err);
      const signingKey = key.getPublicKey();
      callback(err, signingKey);
    });
  }
  const verifyGuide = () =>
    new Promise((resolve, reject) => {
      JsonWebToken.verify(token, getKey, {}, function (err, decoded) {
        if (err) reject(err);
        else resolve(decoded);
      });
    });
  // --- end of the guide's code ---

  // Reference: a KeyObject created once, verified synchronously.
  const decodedHeader = JSON.parse(Buffer.from(token.split('.')[0], 'base64url'));
  const jwk = JSON.parse(jwks).keys.find((k) => k.kid === decodedHeader.kid);
  const keyObject = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const verifyCachedKeyObject = async () =>
    JsonWebToken.verify(token, keyObject, { algorithms: ['RS256'] });

  try {
    const decoded = await verifyGuide();
    if (decoded.sub !== 'bench-user-7f3c9a') throw new Error(`unexpected sub ${decoded.sub}`);
    const guide = await timeIt(verifyGuide);
    const cached = await timeIt(verifyCachedKeyObject);
    const result = {
      node: process.version,
      samples: SAMPLES,
      ops_per_sample: OPS_PER_SAMPLE,
      guide_us: guide.median,
      guide_min_us: guide.min,
      guide_max_us: guide.max,
      cached_key_object_us: cached.median,
      jwks_requests: jwksRequests,
    };
    if (json) {
      console.log(JSON.stringify(result));
    } else {
      console.log(`node ${process.version}, median of ${SAMPLES} samples x ${OPS_PER_SAMPLE} ops`);
      console.log(
        `node_seed/rs256 (jwks-rsa getSigningKey + jsonwebtoken.verify, the guide's path): ` +
          `${guide.median.toFixed(2)} µs/op (min ${guide.min.toFixed(2)}, max ${guide.max.toFixed(2)})`,
      );
      console.log(
        `node_key_object/rs256 (jsonwebtoken.verify with a cached KeyObject, reference): ` +
          `${cached.median.toFixed(2)} µs/op`,
      );
      console.log(`JWKS requests: ${jwksRequests}`);
    }
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  } finally {
    server.close();
  }
});
