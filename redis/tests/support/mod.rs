//! Test helpers: a real `redis-server` per test on a free loopback port,
//! killed on drop, and verified sessions to check.
//!
//! When `redis-server` is missing the tests print `SKIPPED …` and pass,
//! except under `CI=true`, where they fail (`scripts/install-test-deps.sh`
//! installs Debian's `redis-server`). `SSR_SESSION_REDIS_SERVER` overrides
//! where it is looked for.
#![allow(dead_code)] // Each test binary uses its own part of this.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::{Algorithm, Session, SessionOutcome, StaticKeys, Verifier};

/// How long a started server may take to answer its first `PING`.
const START_WITHIN: Duration = Duration::from_secs(10);

/// A `redis-server` child process on 127.0.0.1, killed on drop. No
/// persistence: a restart starts empty, like a Redis that lost its data.
pub struct RedisServer {
    binary: PathBuf,
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

/// `redis-server`, or `None` (after saying so) when it is missing outside
/// CI. Under `CI=true` a missing server fails the test.
pub fn redis_or_skip(test: &str) -> Option<RedisServer> {
    let Some(binary) = find_redis_server() else {
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!(
                "{test}: redis-server not found; with CI=true the Redis tests must run \
                 (scripts/install-test-deps.sh installs it)"
            );
        }
        eprintln!(
            "SKIPPED {test}: redis-server not found. Run scripts/install-test-deps.sh to \
             install it (with CI=true this is a failure, not a skip)."
        );
        return None;
    };
    Some(RedisServer::start(binary))
}

fn find_redis_server() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SSR_SESSION_REDIS_SERVER") {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

impl RedisServer {
    fn start(binary: PathBuf) -> Self {
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ssr-session-redis-test-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a scratch directory for redis-server");
        let mut server = Self {
            binary,
            child: None,
            port: free_port(),
            dir,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--protected-mode", "yes"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--enable-debug-command", "local", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let started = Instant::now();
        while !ping(self.port) {
            assert!(
                started.elapsed() < START_WITHIN,
                "redis-server on port {} did not answer within {START_WITHIN:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The URL of database 0.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// Kills the server (SIGKILL): connections drop, data is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh, empty server on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Freezes the server (SIGSTOP): connections stay open, the kernel
    /// still accepts new ones, nothing is answered. A hung Redis.
    pub fn freeze(&self) {
        signal("-STOP", self.pid());
    }

    /// Undoes [`freeze`](Self::freeze).
    pub fn thaw(&self) {
        signal("-CONT", self.pid());
    }

    /// A plain synchronous connection, for the test's own commands.
    pub fn connection(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("a valid URL");
        let conn = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .expect("a connection to the test server");
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        conn
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn signal(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid} failed");
}

/// `true` when a Redis on `port` answers `PING`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
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
