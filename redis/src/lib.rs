//! Sign out everywhere, now: session revocations shared by every replica
//! through Redis, for [`ssr-session`](ssr_session).
//!
//! A verified access token stays valid until it expires. [`RedisRevocations`]
//! is a [`RevocationList`](ssr_session::RevocationList) that every replica
//! of an application keeps in memory and in step through one Redis stream:
//! a [`revoke_session`](ssr_session::Revoke::revoke_session) or
//! [`revoke_user`](ssr_session::Revoke::revoke_user) on any replica makes the
//! next request with that session *invalid* (kind `revoked`) on every
//! replica, cached tokens included, within about one Redis round trip.
//! It revokes through the core's [`Revoke`](ssr_session::Revoke), as
//! [`MemoryRevocations`](ssr_session::MemoryRevocations) does, so an app
//! can make Redis optional and hold either as an `Arc<dyn Revoke>` (see
//! [Redis or not](#redis-or-not)).
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use ssr_session::{source::HeaderList, JwksKeyProvider, Revoke, SessionOutcome, Verifier};
//! use ssr_session_redis::{FailureMode, RedisRevocations};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Loads every revocation of the last hour before it returns, then
//!     // follows new ones in the background.
//!     let revocations = RedisRevocations::builder("redis://127.0.0.1:6379/0")
//!         // The longest access-token lifetime (SuperTokens' access_token_validity).
//!         .retention(Duration::from_secs(3600))
//!         // The default: keep serving from the last known set for 5 minutes
//!         // of Redis outage, then answer 503.
//!         .failure_mode(FailureMode::open(Duration::from_secs(300)))
//!         .connect()
//!         .await?;
//!
//!     let keys = JwksKeyProvider::for_supertokens("https://api.example.com").build()?;
//!     let verifier = Verifier::builder(keys)
//!         // A clone: the same list, consulted on every verified request.
//!         .revocation_list(revocations.clone())
//!         .build()?;
//!
//!     // A request's session, as a framework adapter would pass it.
//!     let request = HeaderList::new().with("Cookie", "sAccessToken=eyJ...");
//!     if let SessionOutcome::Valid(session) = verifier.verify(&request).await {
//!         // "Sign out": this session, on every replica. `Ok` only once Redis
//!         // has it; see "No lost sign-out" for what an error means.
//!         if let Some(handle) = session.session_handle() {
//!             revocations.revoke_session(handle).await?;
//!         }
//!         // "Sign out everywhere": every token of the user issued so far.
//!         revocations.revoke_user(session.user_id()).await?;
//!     }
//!     // The next verify of that token, on any replica, is invalid (revoked).
//!
//!     // For a health endpoint: Err when checks are answered unavailable.
//!     println!("revocations: {:?}, stale by {:?}", revocations.health(), revocations.staleness());
//!     revocations.shutdown().await;
//!     Ok(())
//! }
//! ```
//!
//! # Redis or not
//!
//! One way to revoke, whichever list: the sign-out code holds an
//! `Arc<dyn Revoke>` and the verifier an `Arc<dyn RevocationList<_>>`, both
//! the same value, Redis or this process' memory.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ssr_session::{
//!     JwksKeyProvider, MemoryRevocations, Revoke, RevocationList, SuperTokensClaims, Verifier,
//! };
//! use ssr_session_redis::RedisRevocations;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let retention = Duration::from_secs(3600);
//!     let (list, revocations): (Arc<dyn RevocationList<SuperTokensClaims>>, Arc<dyn Revoke>) =
//!         match std::env::var("REDIS_URL") {
//!             Ok(url) => {
//!                 let redis = RedisRevocations::builder(url).retention(retention);
//!                 let redis = Arc::new(redis.connect().await?);
//!                 (redis.clone(), redis)
//!             }
//!             Err(_) => {
//!                 let memory = Arc::new(MemoryRevocations::new(retention));
//!                 (memory.clone(), memory)
//!             }
//!         };
//!     let keys = JwksKeyProvider::for_supertokens("https://api.example.com").build()?;
//!     let _verifier = Verifier::builder(keys).revocation_list(list).build()?;
//!
//!     // A sign-out handler, which never knows which list is behind it.
//!     match revocations.revoke_session("the-session-handle").await {
//!         Ok(()) => println!("signed out everywhere"),
//!         // Redis did not acknowledge it: in force on this replica, and
//!         // (when queued) written to Redis in the background.
//!         Err(error) if error.is_applied_locally() => {
//!             println!("not shared yet (queued: {})", error.is_queued())
//!         }
//!         Err(error) => return Err(error.into()),
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # What it costs
//!
//! - **Per request: no network call.** [`is_revoked`](ssr_session::RevocationList::is_revoked)
//!   reads the monotonic clock and a few atomics, takes a read lock and
//!   does at most two hash lookups, at the verifier's time (which the
//!   request has read already): 50 to 61 ns with 10,000 revocations held,
//!   of which the lookup is 12 to 19 ns and the monotonic clock most of
//!   the rest; it adds about 50 ns to a verified-token cache hit (137–140
//!   → 184–192 ns). Measured on the 2-core development VM with
//!   `cargo bench -p ssr-session-redis`.
//! - **Memory:** the revocations made within the last retention, plus one
//!   sweep interval (the retention, at most a minute) and a poll interval:
//!   a hash entry with the session handle or user id each, roughly 100
//!   bytes.
//! - **Redis, per replica:** two connections (one follows, one writes,
//!   opened on the first revoke; with Cluster, two to each node it uses); one blocking `XREAD` per poll interval
//!   (1 s) while nothing happens; a full reload (`XRANGE`, in pages of
//!   10,000) at start and after every reconnect; while it has written
//!   revocations within the retention, one `EVALSHA` a second (two at
//!   most) checking that Redis still has them.
//! - **Redis, in all:** one stream entry per revocation (about 100 bytes),
//!   trimmed to the retention on every write; the key expires after a
//!   retention without writes.
//! - **Per revoke:** one `EVALSHA` round trip.
//!
//! # Redis setup
//!
//! Redis 6.2 or later (`XTRIM … MINID`); no module, no configuration
//! change, no keyspace notifications. Point every replica at the same
//! server and database with the same [`key`](RedisRevocationsBuilder::key)
//! and [`retention`](RedisRevocationsBuilder::retention). The URL takes
//! `redis://[user:password@]host:port/db`, `rediss://…` (TLS) or
//! `redis+unix:///path` (ACL users need `XADD`, `XTRIM`, `PEXPIRE`,
//! `XRANGE`, `XREVRANGE`, `XREAD`, `TIME`, `EVALSHA`, `EVAL` and
//! `SCRIPT LOAD` on the key). Turn
//! persistence on (`appendonly yes`) if revocations must survive a Redis
//! restart: a replica running through the restart keeps what it knew, and a
//! replica that wrote revocations writes them again when it sees Redis lost
//! them (see "No lost sign-out"), but a replica started afterwards learns
//! only what Redis still has, so without persistence it misses the
//! revocations of writers that are gone.
//!
//! Valkey speaks the same protocol and commands (and its `valkey://` /
//! `valkeys://` URLs are accepted), but is not tested here: the test
//! machines' Debian (12) does not package it.
//!
//! # Managed Redis: TLS, Sentinel, Cluster
//!
//! | deployment | builder | what it takes |
//! |---|---|---|
//! | one server, plain or TLS | [`builder`](RedisRevocations::builder) | `redis://…` or `rediss://…` |
//! | Sentinel-managed primary | [`builder_sentinel`](RedisRevocations::builder_sentinel) | the primary's name and the Sentinels' URLs |
//! | Redis Cluster | [`builder_cluster`](RedisRevocations::builder_cluster) | one or more nodes' URLs |
//!
//! **TLS** (`rediss://`; ElastiCache and Azure Cache with in-transit
//! encryption, Upstash, Heroku, Memorystore) is built in, through rustls with
//! the crypto backend's provider (`aws-lc-rs` or `ring`, the features of this
//! crate and of `ssr-session`): no OpenSSL, and no second crypto library beside
//! the one `ssr-session`'s HTTPS already uses. The server's certificate is checked
//! against the platform's roots, or against a CA file
//! ([`tls_ca_file`](RedisRevocationsBuilder::tls_ca_file)) for a private CA;
//! [`tls_client_cert`](RedisRevocationsBuilder::tls_client_cert) presents a
//! client certificate to a server that requires one. Everything that can be
//! checked without the server is checked by
//! [`connect`](RedisRevocationsBuilder::connect) and
//! [`spawn`](RedisRevocationsBuilder::spawn) before anything connects (a
//! missing or empty CA file, a client key that is not a key, a CA file with a
//! plain `redis://` URL, a `rediss://` URL in a build without the `tls`
//! feature: [`RedisRevocationsError::Config`]). A certificate the server
//! presents that is not trusted, a client certificate the server refuses, or a
//! plain-TCP port behind a `rediss://` URL fail `connect` within the connect
//! timeout, with an error that says so (`invalid peer certificate:
//! UnknownIssuer`, `received fatal alert: CertificateRequired`, `connecting
//! over TLS (a plain-TCP port never answers the handshake)`); with `spawn`, the
//! same error is logged and the list stays *unavailable*
//! ([`RedisRevocationsError::NotLoaded`]) until a handshake succeeds. rustls
//! needs a process-wide crypto provider: when the application has not installed
//! one, the first TLS list installs the backend's.
//!
//! **Sentinel**: each connection asks the Sentinels for the current
//! primary (checked to answer `ROLE` as one) and connects to it; after a
//! failover the old connections break, and the next ones go to the new
//! primary, which the list reloads from in full. Revocations the old
//! primary had replicated survive the failover. Redis' replication is
//! asynchronous, so one acknowledged in the last moment before the primary
//! died may be lost from Redis (the lists that had read it keep it);
//! `min-replicas-to-write` on the server narrows that window. A forced
//! `SENTINEL FAILOVER` of a *live* primary leaves it accepting writes until
//! Sentinel demotes it, which discards them.
//!
//! **Cluster**: the stream is one key, so one slot, on one shard; the
//! default key `{ssr-session}:revocations` carries a hash tag so that any
//! other `{ssr-session}…` key lands in the same slot (no `CROSSSLOT`). The
//! follower's cluster connection does not retry inside: a moved slot
//! (`MOVED`/`ASK` during a resharding) or a lost node reaches the follower,
//! which reconnects and reloads in full, as with one server; the writer
//! follows redirects.
//!
//! Whatever the deployment, the request path is the same in-memory check.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `tls` | on | `rediss://` through rustls on the crypto backend |
//! | `aws-lc-rs` | on | the crypto backend (forwarded to `ssr-session`): aws-lc-rs |
//! | `ring` | no | the other crypto backend: ring (with `default-features = false, features = ["tls", "ring"]`) |
//!
//! # Data layout and propagation: one stream
//!
//! Every revocation is one entry of the stream `{ssr-session}:revocations`
//! (field `r`, the [`Revocation`](ssr_session::Revocation) as JSON; the
//! entry id is the moment it was made, by Redis' clock). A revoke runs one
//! Lua script that appends the entry, trims the entries older than the
//! retention and sets the key to expire after the retention: the write and
//! its notification are one atomic step, because the entry *is* the
//! notification. Each replica follows with a blocking `XREAD` from the last
//! id it has seen, which returns as soon as an entry is appended.
//!
//! The stream's format is a stable, versioned contract, so that a backend
//! in another language (a SuperTokens Node backend signing a user out, say)
//! can write revocations too: `STREAM.md` in this crate states the key, the
//! entry's fields and JSON, the retention, the append script verbatim, and
//! what a reader does with an entry that breaks it (skips it with one log
//! line: a newer version, bad JSON, an empty or oversized id).
//!
//! Why a stream, rather than the alternatives:
//!
//! - **Pub/sub plus a key or set per revocation** needs a `MULTI`/`EXEC` of
//!   the write and the `PUBLISH`, and pub/sub drops whatever is published
//!   while a replica is disconnected, or merely slow (the output buffer
//!   limit cuts it off). A stream is the log and the notification at once:
//!   nothing is lost between the write and the read, and a read from the
//!   last seen id cannot miss an entry.
//! - **Keyspace notifications** must be enabled in the server's
//!   configuration (often not allowed on managed Redis), are pub/sub with
//!   the same losses, and carry only key names, so every event costs a
//!   second read.
//! - **A full scan of per-revocation keys** to catch up is `O(keyspace)`;
//!   a stream reload is `O(revocations within the retention)`.
//! - **Liveness for free:** an idle `XREAD` returns empty after the poll
//!   interval, so every replica proves it is current at least once per
//!   interval, and a Redis that hangs without closing the connection shows
//!   as growing staleness within seconds. Pub/sub would need its own pings.
//!
//! After a reconnect the replica **reloads the whole stream** rather than
//! resuming from the id it last saw: a restarted or failed-over Redis may
//! hold entries older than that id (another clock, lost writes replayed by
//! another writer), and a reload is bounded by the retention anyway. The
//! reload is merged into the set, never replacing it: a revocation is never
//! withdrawn, so one that a restarted Redis lost stays in force on the
//! replicas that knew it, until its retention ends.
//!
//! The revoking replica applies its revocation to its own set before
//! [`revoke`](ssr_session::Revoke::revoke) returns (read-your-writes); the
//! others see it one blocking read later.
//!
//! # No lost sign-out
//!
//! The contract of [`revoke`](ssr_session::Revoke::revoke),
//! [`revoke_session`](ssr_session::Revoke::revoke_session) and
//! [`revoke_user`](ssr_session::Revoke::revoke_user):
//!
//! - **`Ok` means Redis acknowledged the write**: the revocation is in the
//!   stream, and every replica following it applies it within a round
//!   trip or so.
//! - **Anything else is an `Err`, never a silent success.** When Redis
//!   does not acknowledge within the connect timeout plus the command
//!   timeout (4 s by default; at once when the connection is refused),
//!   the revocation is **in force on this replica at once** and the error
//!   says what became of it:
//!   [`AppliedLocally`](ssr_session::revocation::RevocationError::AppliedLocally)
//!   ([`is_applied_locally`](ssr_session::revocation::RevocationError::is_applied_locally)
//!   is `true` for both cases below, and the source is the
//!   [`RedisRevocationsError`]):
//!   - `queued` ([`is_queued`](ssr_session::revocation::RevocationError::is_queued);
//!     source [`RedisRevocationsError::Queued`]): it waits in this
//!     replica's retry queue, which writes it to Redis in the background
//!     (oldest first, retrying after 100 ms, doubling to at most 2 s) until
//!     Redis takes it; it then reaches every replica with no further call.
//!     Tell the user it is not done everywhere yet (the examples answer
//!     `503` with `Retry-After`).
//!   - not `queued` (source [`RedisRevocationsError::QueueFull`]): the
//!     queue (bounded:
//!     [`retry_queue`](RedisRevocationsBuilder::retry_queue), 10,000 by
//!     default, about 1 MB) is full, so this one holds **on this replica
//!     only**; revoke again later. Nothing already queued is ever pushed
//!     out to make room.
//! - **Idempotent.** A write that timed out may have been stored after
//!   all, and the queue writes it again: a duplicate entry is harmless
//!   (replicas merge revocations, keeping the later expiry). Revoking
//!   again after an error is always safe.
//! - **What the queue does not survive.** It is in memory: an entry still
//!   queued when its retention has passed is dropped (no token it could
//!   match is still valid), and one still queued when the process ends is
//!   lost ([`shutdown`](RedisRevocations::shutdown) makes a last attempt
//!   and logs what is left at `error`). [`pending`](RedisRevocations::pending)
//!   counts what waits, for a health endpoint.
//!
//! What survives Redis itself losing data (a restart without persistence,
//! a `FLUSHALL`) is measured and stated in the project's `RELIABILITY.md`:
//! in short, replicas running through it keep every revocation they knew,
//! a replica started afterwards knows only what Redis still has, and the
//! retry queue sends only what Redis never acknowledged.
//!
//! # One clock
//!
//! A revocation is judged at the verifier's time (the `now` that
//! [`RevocationList::is_revoked`](ssr_session::RevocationList::is_revoked)
//! is given: [`VerifierBuilder::clock`](ssr_session::verify::VerifierBuilder::clock),
//! else the system clock), the moment `exp` and the requirements are
//! judged at. The staleness of the set is a matter of this process and
//! Redis, measured on the monotonic clock; revocations are dated by
//! Redis' clock (the entry id), or by this machine's for one applied
//! locally while Redis did not answer.
//!
//! # When Redis is down: fail-open or fail-closed
//!
//! No request ever waits on Redis; what changes is the answer.
//!
//! | [`FailureMode`] | while Redis cannot be followed | after `max_staleness` |
//! |---|---|---|
//! | [`Open`](FailureMode::Open) (default, 5 min) | answers from the last known set; `warn`, then `error` past the limit | *unavailable* (503, [`RevocationError::Stale`](ssr_session::revocation::RevocationError::Stale)) |
//! | [`Closed`](FailureMode::Closed) | *unavailable* from the first failure ([`RedisRevocationsError::Disconnected`]) until reloaded | *unavailable* |
//!
//! Fail-open keeps the site up through a Redis restart at the price of missing,
//! for at most `max_staleness`, a revocation made during the outage (one made
//! before it is never missed). Fail-closed never vouches for a session it may
//! not know about, at the price of 503s for every signed-in request during an
//! outage. Either way the list refuses to answer before its first load
//! ([`RedisRevocationsError::NotLoaded`]), and comes back by itself: the
//! follower retries every 100 ms to 2 s and reloads in full.
//! [`staleness`](RedisRevocations::staleness),
//! [`last_sync`](RedisRevocations::last_sync),
//! [`is_following`](RedisRevocations::is_following) and
//! [`health`](RedisRevocations::health) say where a replica stands.
//!
//! Every network step has a timeout: connecting (2 s), each command (2 s),
//! each blocking read (the poll interval plus the command timeout). A
//! [`revoke`](ssr_session::Revoke::revoke) fails after at most the connect
//! plus the command timeout, and a hung Redis shows as staleness.
//!
//! Session handles and user ids are never logged; tokens never reach this
//! crate.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod builder;
mod connect;
mod entry;
mod error;
mod follow;
mod metrics;
mod outbox;
mod revocations;
mod settings;
mod shared;
mod stream;

pub use builder::RedisRevocationsBuilder;
pub use error::RedisRevocationsError;
pub use revocations::RedisRevocations;
pub use settings::{
    DEFAULT_KEY, DEFAULT_MAX_STALENESS, DEFAULT_RETENTION, DEFAULT_RETRY_QUEUE, FailureMode,
};
