//! Test helpers: a real `redis-server` per test on a free loopback port,
//! killed on drop (the examples' process helpers, shared), and verified
//! sessions to check.
#![allow(dead_code, unused_imports)] // Each test binary uses its own part of this.

use std::time::{Duration, Instant};

use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::{
    Session, SessionOutcome, Verifier, keys::Algorithm, keys::StaticKeys,
    revocation::RevocationError,
};
use ssr_session_redis::RedisRevocationsError;

pub mod servers;

pub use ssr_session_example_support::process::{RedisServer, redis_or_skip};

/// This crate's error inside the core's (its source), if it holds one.
pub fn redis_error(error: &RevocationError) -> Option<&RedisRevocationsError> {
    std::error::Error::source(error)?.downcast_ref()
}

/// A plain synchronous connection to `server`, for the test's own commands.
pub fn connection(server: &RedisServer) -> redis::Connection {
    let client = redis::Client::open(server.url()).expect("a valid URL");
    let conn = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .expect("a connection to the test server");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    conn
}

/// How many `XADD`s `server` has run since it started (`INFO
/// commandstats`): inside scripts too, and across the key's expiries, so
/// every entry ever written, whichever key or client wrote it.
pub fn xadd_calls(server: &RedisServer) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut connection(server))
        .expect("INFO commandstats");
    xadd_calls_in(&info)
}

/// The `XADD` count in the reply to `INFO commandstats` (0 before the
/// first).
pub fn xadd_calls_in(info: &str) -> u64 {
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_xadd:calls="))
        .map_or(0, |rest| {
            rest.split(',')
                .next()
                .and_then(|calls| calls.parse().ok())
                .expect("a count of XADD calls")
        })
}

/// Mints and verifies real tokens, so the revocation lists are asked about
/// real [`Session`]s.
pub struct Sessions {
    key: TestKey,
    verifier: Verifier,
}

impl Sessions {
    pub fn new() -> Self {
        let key = TestKey::generate(Algorithm::ES256, "k");
        let keys = StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap();
        let verifier = Verifier::builder(keys).build().unwrap();
        Self { key, verifier }
    }

    /// A signed SuperTokens token for `user` (its own random session
    /// handle), valid for an hour.
    pub fn token(&self, user: &str) -> String {
        TokenBuilder::supertokens(user, 3600).sign(&self.key)
    }

    /// A token for `user` issued at `iat`.
    pub fn token_issued_at(&self, user: &str, iat: i64) -> String {
        TokenBuilder::supertokens(user, 3600)
            .claim("iat", iat)
            .sign(&self.key)
    }

    /// The signing key's JWKS, for another verifier.
    pub fn static_keys(&self) -> StaticKeys {
        StaticKeys::from_jwks_json(jwks(&[&self.key]).to_string()).unwrap()
    }

    /// The verified session of `token`.
    pub async fn session(&self, token: &str) -> Session {
        match self.verifier.verify_token(token).await {
            SessionOutcome::Valid(session) => session,
            other => panic!("the test token did not verify: {other:?}"),
        }
    }

    /// A fresh verified session for `user`.
    pub async fn new_session(&self, user: &str) -> Session {
        self.session(&self.token(user)).await
    }
}

/// Polls `condition` every few milliseconds until it holds; `false` after
/// `within`.
pub async fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if condition() {
            return true;
        }
        if started.elapsed() > within {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A small deterministic generator (xorshift64*), so the random moments
/// are repeatable from the seed printed by the test.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The `q`-quantile (0..=1) of sorted durations.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    assert!(!sorted.is_empty());
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}
