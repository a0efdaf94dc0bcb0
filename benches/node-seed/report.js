// Reads criterion's medians (and the Node run's result, if given) and prints
// every ratio the performance targets name, each with met / missed.
//
//   node report.js <criterion-dir> [<node-result.json>]
//
// <criterion-dir> is the workspace's `target/criterion`. Missing benches are
// reported as such, so a partial run still prints what it can.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const [criterionDir, nodeResultFile] = process.argv.slice(2);
if (!criterionDir) {
  console.error('usage: node report.js <criterion-dir> [<node-result.json>]');
  process.exit(2);
}

// Median time of a bench, in µs (criterion's `median.point_estimate` is in ns).
function median(id) {
  const slash = id.lastIndexOf('/');
  const group = id.slice(0, slash).replaceAll('/', '_');
  const file = path.join(criterionDir, group, id.slice(slash + 1), 'new', 'estimates.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')).median.point_estimate / 1000;
  } catch {
    return undefined;
  }
}

const node = nodeResultFile ? JSON.parse(fs.readFileSync(nodeResultFile, 'utf8')) : undefined;

const us = (v) => (v === undefined ? 'n/a' : v < 1 ? `${(v * 1000).toFixed(0)} ns` : `${v.toFixed(2)} µs`);
const ratio = (v) => (v === undefined || Number.isNaN(v) ? 'n/a' : `${v.toFixed(2)}×`);

console.log('\n## Medians\n');
console.log('| bench | median |');
console.log('|---|---|');
const ids = [];
for (const alg of ['rs256', 'es256', 'eddsa']) {
  for (const kind of ['raw_signature', 'raw_jsonwebtoken', 'core', 'core_cached']) ids.push(`verify/${kind}/${alg}`);
}
ids.push('verify/peer_jwtk/rs256', 'extract/cookie_20');
for (const fw of ['axum', 'actix', 'rocket']) ids.push(`pipeline/${fw}/public`, `pipeline/${fw}/protected`);
ids.push('jwks/cold_herd_1000', 'jwks/unknown_kid_flood_10000');
for (const id of ids) {
  const value = median(id);
  if (value !== undefined) console.log(`| \`${id}\` | ${us(value)} |`);
}
if (node) {
  console.log(`| node seed (jwks-rsa + jsonwebtoken.verify, the guide's path), RS256 | ${us(node.guide_us)} |`);
  console.log(`| node, jsonwebtoken.verify with a cached KeyObject (reference), RS256 | ${us(node.cached_key_object_us)} |`);
}

console.log('\n## Targets from the criterion medians of this run (sequential; see the paired ratios below)\n');
console.log('| target | ratio | goal | |');
console.log('|---|---|---|---|');
let missed = 0;
function target(name, value, goal, ok) {
  const verdict = value === undefined || Number.isNaN(value) ? 'not measured' : ok(value) ? 'met' : 'MISSED';
  if (verdict === 'MISSED') missed += 1;
  console.log(`| ${name} | ${ratio(value)} | ${goal} | ${verdict} |`);
}
for (const alg of ['rs256', 'es256', 'eddsa']) {
  target(`core/${alg} ÷ raw_jsonwebtoken/${alg}`, median(`verify/core/${alg}`) / median(`verify/raw_jsonwebtoken/${alg}`), '≤ 1.10', (v) => v <= 1.1);
}
for (const alg of ['rs256', 'es256', 'eddsa']) {
  const value = median(`verify/core/${alg}`) / median(`verify/raw_signature/${alg}`);
  console.log(`| core/${alg} ÷ raw_signature/${alg} (distance from the floor) | ${ratio(value)} | (report) | |`);
}
target('raw_jsonwebtoken/rs256 ÷ core_cached/rs256', median('verify/raw_jsonwebtoken/rs256') / median('verify/core_cached/rs256'), '≥ 30', (v) => v >= 30);
for (const fw of ['axum', 'actix', 'rocket']) {
  // Throughput ratio = time(public) ÷ time(protected).
  target(`pipeline/${fw}: protected ÷ public throughput`, median(`pipeline/${fw}/public`) / median(`pipeline/${fw}/protected`), '≥ 0.80', (v) => v >= 0.8);
}
if (node) {
  target('node seed ÷ core/rs256 (first visit)', node.guide_us / median('verify/core/rs256'), '≥ 5', (v) => v >= 5);
  target('node seed ÷ core_cached/rs256 (repeat visit)', node.guide_us / median('verify/core_cached/rs256'), '≥ 100', (v) => v >= 100);
}
target('peer_jwtk/rs256 ÷ core/rs256 (first visit)', median('verify/peer_jwtk/rs256') / median('verify/core/rs256'), '≥ 1 (not slower)', (v) => v >= 1);
console.log(missed ? `\n${missed} target(s) missed in this run.` : '\nEvery measured target met in this run.');
