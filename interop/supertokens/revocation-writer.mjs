// The revocation writer for a SuperTokens Node backend (supertokens-node 24).
//
// Rust replicas that verify SuperTokens access tokens with ssr-session follow
// one Redis stream of revocations (ssr-session-redis). In a SuperTokens
// deployment the sign-out runs here, in the backend SDK, so this module makes
// the SDK's session recipe ALSO append each revocation to that stream, as the
// wire contract (redis/STREAM.md, version 1) says, with the `redis` npm
// client and the contract's append script:
//
//   import Session from "supertokens-node/recipe/session";
//   import { createClient } from "redis";
//   import { revocationStream, writeRevocations } from "./revocation-writer.mjs";
//
//   const redis = await createClient({ url: process.env.REDIS_URL }).connect();
//   const stream = revocationStream({ client: redis, retentionSeconds: 3600 });
//   Session.init({ override: { functions: writeRevocations(stream) } });
//
// To keep an override of your own, compose: `functions: (original) =>
// yours(writeRevocations(stream)(original))`.
//
// What is written (after the core has answered, so the stream records what
// the core did):
//
// | recipe function (what calls it) | entries |
// |---|---|
// | `revokeSession` (`Session.revokeSession(handle)`, the sign-out API `POST /auth/signout`, `session.revokeSession()`) | `{"kind":"session","handle"}` for the handle |
// | `revokeMultipleSessions` (`Session.revokeMultipleSessions(handles)`) | one session entry per handle asked for |
// | `revokeAllSessionsForUser` (`Session.revokeAllSessionsForUser(userId)`) | one session entry per handle the core revoked; and, when the call covers every session of the user (all tenants and linked accounts, the function's default without a tenant id), one `{"kind":"user","user_id","before"}` |
//
// A call returns only once Redis has acknowledged every entry. When Redis
// does not answer within `timeoutMs` (default 2 s) or refuses, the call
// throws (the sign-out API answers 500): the caller is never told that a
// revocation reached the replicas when it did not. The core has revoked the
// session by then, and calling again is harmless (a duplicate entry changes
// nothing). Pass `onWriteError(error, revocations)` to decide otherwise.
import { createHash } from "node:crypto";

/** The default stream key (ssr_session_redis::DEFAULT_KEY): `{…}` is a Redis Cluster hash tag. */
export const DEFAULT_KEY = "{ssr-session}:revocations";

/** The append script of redis/STREAM.md, verbatim (part 7 of interop/run.sh checks it). */
export const APPEND_SCRIPT = `local id = redis.call('XADD', KEYS[1], '*', 'r', ARGV[1])
local ms = tonumber(string.match(id, '^(%d+)-'))
local min = ms - tonumber(ARGV[2])
if min > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d', min))
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return id
`;

const APPEND_SHA1 = createHash("sha1").update(APPEND_SCRIPT).digest("hex");

/** The limit of redis/STREAM.md on a handle or user id, in UTF-8 bytes. */
const MAX_ID_BYTES = 1024;

function checkId(name, value) {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`revocation-writer: ${name} must be a non-empty string`);
  }
  if (Buffer.byteLength(value, "utf8") > MAX_ID_BYTES) {
    throw new TypeError(`revocation-writer: ${name} is longer than ${MAX_ID_BYTES} bytes`);
  }
}

/** A revocation of one session (SuperTokens' session handle). */
export function sessionRevocation(handle) {
  checkId("the session handle", handle);
  return { kind: "session", handle };
}

/**
 * A revocation of every token of `userId` issued before `before` (seconds
 * since the Unix epoch; by default now, rounded up: floor(now) + 1).
 */
export function userRevocation(userId, before = Math.floor(Date.now() / 1000) + 1) {
  checkId("the user id", userId);
  if (!Number.isSafeInteger(before)) {
    throw new TypeError("revocation-writer: before must be an integer number of seconds");
  }
  return { kind: "user", user_id: userId, before };
}

/**
 * The stream: `append(revocations)` resolves to the entry ids once Redis has
 * acknowledged every one.
 *
 * - `client`: a connected node-redis client (`createClient(…).connect()`);
 * - `key`: the stream key (default `{ssr-session}:revocations`), the same as the replicas';
 * - `retentionSeconds`: the longest access-token lifetime, the same as the replicas';
 * - `timeoutMs`: how long to wait for Redis' acknowledgement (node-redis queues
 *   commands while it reconnects, so without a deadline a sign-out could hang).
 */
export function revocationStream({ client, key = DEFAULT_KEY, retentionSeconds = 3600, timeoutMs = 2000 }) {
  if (!client) throw new TypeError("revocation-writer: a connected node-redis client is required");
  if (typeof key !== "string" || key.length === 0) throw new TypeError("revocation-writer: the key must be a non-empty string");
  if (!Number.isSafeInteger(retentionSeconds) || retentionSeconds <= 0) {
    throw new TypeError("revocation-writer: retentionSeconds must be a positive integer");
  }
  const retentionMs = String(retentionSeconds * 1000);

  async function appendOne(revocation) {
    const options = { keys: [key], arguments: [JSON.stringify(revocation), retentionMs] };
    try {
      return await client.evalSha(APPEND_SHA1, options);
    } catch (error) {
      // The script cache is empty (a restarted or failed-over Redis): send it whole.
      if (!String(error?.message).startsWith("NOSCRIPT")) throw error;
      return client.eval(APPEND_SCRIPT, options);
    }
  }

  async function append(revocations) {
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`revocation-writer: Redis did not acknowledge ${revocations.length} revocation(s) within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([Promise.all(revocations.map(appendOne)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  return { key, retentionSeconds, append };
}

/**
 * The override of supertokens-node's session recipe functions:
 * `Session.init({ override: { functions: writeRevocations(stream) } })`.
 */
export function writeRevocations(stream, { onWriteError } = {}) {
  async function record(revocations) {
    if (revocations.length === 0) return;
    try {
      await stream.append(revocations);
    } catch (error) {
      if (onWriteError === undefined) throw error;
      await onWriteError(error, revocations);
    }
  }

  return (original) => ({
    ...original,
    // Through `original`, a proxy that calls the layer below (not `this`).
    revokeSession: async function (input) {
      const revoked = await original.revokeSession(input);
      await record([sessionRevocation(input.sessionHandle)]);
      return revoked;
    },
    revokeMultipleSessions: async function (input) {
      const revoked = await original.revokeMultipleSessions(input);
      await record(input.sessionHandles.map(sessionRevocation));
      return revoked;
    },
    revokeAllSessionsForUser: async function (input) {
      const handles = await original.revokeAllSessionsForUser(input);
      const revocations = handles.map(sessionRevocation);
      // A user entry only when the call covers every session of the user;
      // with a tenant (or without linked accounts) the core's list is exact.
      if (input.revokeAcrossAllTenants && input.revokeSessionsForLinkedAccounts) {
        revocations.push(userRevocation(input.userId));
      }
      await record(revocations);
      return handles;
    },
  });
}
