//! Processes for tests: an example binary ([`Server`]: started on a free
//! loopback port, its address read from the first line of stdout, killed
//! when dropped, even if the test fails) and a real `redis-server`
//! ([`RedisServer`]).
//!
//! When `redis-server` is missing, [`redis_or_skip`] prints `SKIPPED …` and
//! the test passes, except under `CI=true`, where it fails
//! (`scripts/install-test-deps.sh` installs Debian's `redis-server`).
//! `SSR_SESSION_REDIS_SERVER` overrides where it is looked for.

use std::io::{BufRead as _, BufReader};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The running example.
#[derive(Debug)]
pub struct Server {
    child: Child,
    base: String,
    /// Kept open so that the app's later writes to stdout never fail.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts `binary` (a `CARGO_BIN_EXE_*` path) with `--addr 127.0.0.1:0`
    /// and `extra_args`, free of the caller's `SSR_SESSION_*` / `ROCKET_*`
    /// environment.
    pub fn start(binary: &str, extra_args: &[&str]) -> Self {
        let mut command = Command::new(binary);
        command
            .args(["--addr", "127.0.0.1:0"])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("SSR_SESSION_") || name.starts_with("ROCKET_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the address");
        let base = line.trim().to_string();
        if !base.starts_with("http://127.0.0.1:") || base.ends_with(":0") {
            let _ = child.kill();
            panic!("expected the address as the first line of stdout, got {line:?}");
        }
        Self {
            child,
            base,
            _stdout: stdout,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The `sAccessToken` an answer sets (a sign-in or a refresh), if it sets a
/// non-empty one: the value of its `Set-Cookie: sAccessToken=…`.
pub fn access_token_set_by(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix("sAccessToken="))
        .and_then(|rest| rest.split(';').next())
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long a started server may take to answer its first `PING`.
const START_WITHIN: Duration = Duration::from_secs(10);

/// A `redis-server` child process on 127.0.0.1, killed on drop. No
/// persistence unless [`with_append_only_file`](Self::with_append_only_file):
/// a restart starts empty, like a Redis that lost its data.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    append_only: bool,
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

/// A loopback port for a server a test starts itself (`redis-server`, a
/// Sentinel, a cluster node and its bus), free when asked.
///
/// Chosen below Linux's ephemeral range (32768–60999): a port the kernel
/// hands out for `bind(0)` or an outgoing connection can be taken again by
/// any other connection between the moment it is freed here and the moment
/// the server binds it (or rebinds it after a restart), and a busy test
/// opens thousands of connections. Ports below the range are only ever
/// taken by servers that ask for them; a process-wide counter walks them so
/// that two servers of one test run never get the same one.
pub fn loopback_port() -> u16 {
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    // Start each process at its own offset, so that test binaries running
    // one after the other (or at once) do not walk the same ports.
    let start = std::process::id().wrapping_mul(7_919) % COUNT;
    for _ in 0..COUNT {
        let step = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = FIRST + (start + step.wrapping_mul(13)) % COUNT;
        let port = u16::try_from(port).expect("below 32768");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!(
        "no free loopback port between {FIRST} and {}",
        FIRST + COUNT
    )
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
            port: loopback_port(),
            dir,
            append_only: false,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--protected-mode", "yes"])
            .args(["--save", ""])
            .args(["--appendonly", if self.append_only { "yes" } else { "no" }])
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

    /// Restarts the server (SIGKILL, then a start on the same port and
    /// directory) with the append-only file on (`appendfsync everysec`,
    /// Redis' default): from then on a [`restart`](Self::restart) keeps
    /// what was written, but for up to the last second before a kill.
    pub fn with_append_only_file(mut self) -> Self {
        self.append_only = true;
        self.restart();
        self
    }

    /// The URL of database 0.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The server process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// Kills the server (SIGKILL): connections drop, data is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port: empty, unless it keeps an
    /// append-only file.
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

    /// The server's scratch directory.
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

/// `true` when a plain-TCP Redis on `port` (loopback) answers `PING`.
pub fn ping(port: u16) -> bool {
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
