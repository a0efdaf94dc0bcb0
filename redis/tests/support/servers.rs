//! Redis deployments for the tests, beyond one plain server: a server that
//! speaks only TLS (with certificates made here), a Sentinel-managed
//! primary with a replica, and a three-primary Redis Cluster (made with
//! `redis-cli --cluster create`). Every process listens on 127.0.0.1 on a
//! free port and is killed on drop.
//!
//! Like [`redis_or_skip`](super::redis_or_skip): a missing `redis-server`
//! (or `redis-cli`, for the cluster) skips the test with a note, except
//! under `CI=true`, where it fails (`scripts/install-test-deps.sh` installs
//! both).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};

/// How long a started process may take to accept connections.
const START_WITHIN: Duration = Duration::from_secs(10);

/// `program` on the `PATH` (or at `$env_override`), or `None` after saying
/// the test is skipped; under `CI=true`, a failure instead.
pub fn program_or_skip(program: &str, env_override: &str, test: &str) -> Option<PathBuf> {
    let found = match std::env::var_os(env_override) {
        Some(path) => Some(PathBuf::from(path)).filter(|path| path.is_file()),
        None => std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|candidate| candidate.is_file())
        }),
    };
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!(
                "{test}: {program} not found; with CI=true the Redis tests must run \
                 (scripts/install-test-deps.sh installs it)"
            );
        }
        eprintln!(
            "SKIPPED {test}: {program} not found. Run scripts/install-test-deps.sh to install \
             it (with CI=true this is a failure, not a skip)."
        );
    }
    found
}

pub fn redis_server_or_skip(test: &str) -> Option<PathBuf> {
    program_or_skip("redis-server", "SSR_SESSION_REDIS_SERVER", test)
}

pub use ssr_session_example_support::process::loopback_port as free_port;

/// A scratch directory, removed by [`Node`]'s drop.
pub fn scratch(name: &str) -> PathBuf {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ssr-session-redis-{name}-{}-{}",
        std::process::id(),
        SERIAL.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// One `redis-server` process (a server, a Sentinel or a cluster node),
/// restartable with the same arguments, killed on drop.
pub struct Node {
    binary: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
}

impl Node {
    /// Starts `binary` with `args` in `dir` and waits until `port` accepts
    /// connections. `args` come after the standard ones (loopback only, no
    /// persistence, quiet), so they may override them.
    pub fn start(binary: &Path, port: u16, dir: PathBuf, args: Vec<String>) -> Self {
        let mut node = Self {
            binary: binary.to_owned(),
            args,
            child: None,
            port,
            dir,
        };
        node.launch();
        node
    }

    pub fn launch(&mut self) {
        // Its log (stdout), kept so that a server that does not come up
        // says why in the failure.
        let log_path = self.dir.join(format!("redis-{}.log", self.port));
        let log = std::fs::File::create(&log_path).expect("a log file");
        let child = Command::new(&self.binary)
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if started.elapsed() >= START_WITHIN {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                panic!(
                    "redis-server on port {} did not listen within {START_WITHIN:?}; its log \
                     ends with:\n{}",
                    self.port,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process (SIGKILL): connections drop, data is lost.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A plain synchronous connection, for the test's own commands.
    pub fn connection(&self) -> redis::Connection {
        plain_connection(&self.url())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn plain_connection(url: &str) -> redis::Connection {
    let client = redis::Client::open(url).expect("a valid URL");
    let conn = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .expect("a connection to the test server");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn
}

/// The standard arguments of a test server on `port`.
fn base_args(port: u16) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--loglevel",
        "warning",
    ]
    .map(str::to_owned)
    .to_vec()
}

pub use ssr_session_example_support::process::ping;

/// Polls `condition` every 50 ms until it holds; panics with `what` after
/// `within`.
pub fn wait_for(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// TLS

/// A certificate authority made for one test, and what it signs.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate (PEM), in `dir/<name>-ca.pem`.
    pub ca_file: PathBuf,
}

/// A certificate and its key, as PEM files.
pub struct Identity {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl Authority {
    pub fn new(name: &str, dir: &Path) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("ssr-session test CA {name}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let ca_file = dir.join(format!("{name}-ca.pem"));
        std::fs::write(&ca_file, cert.pem()).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            ca_file,
        }
    }

    /// A certificate for `127.0.0.1` and `localhost` (a server's, or a
    /// client's with `client`), signed by this authority.
    pub fn issue(&self, name: &str, dir: &Path, client: bool) -> Identity {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, name.to_owned());
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_file = dir.join(format!("{name}.pem"));
        let key_file = dir.join(format!("{name}.key"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        Identity {
            cert_file,
            key_file,
        }
    }
}

/// A `redis-server` that speaks only TLS (`--port 0 --tls-port …`), with a
/// server certificate from its own [`Authority`].
pub struct TlsServer {
    pub node: Node,
    pub authority: Authority,
}

impl TlsServer {
    /// `client_auth`: `--tls-auth-clients yes` (a client certificate signed
    /// by the authority is required).
    pub fn start(binary: &Path, client_auth: bool) -> Self {
        let dir = scratch("tls");
        let authority = Authority::new("redis", &dir);
        let server = authority.issue("server", &dir, false);
        let port = free_port();
        let mut args = base_args(0);
        args.extend(
            [
                "--tls-port",
                &port.to_string(),
                "--tls-cert-file",
                &server.cert_file.display().to_string(),
                "--tls-key-file",
                &server.key_file.display().to_string(),
                "--tls-ca-cert-file",
                &authority.ca_file.display().to_string(),
                "--tls-auth-clients",
                if client_auth { "yes" } else { "no" },
            ]
            .map(str::to_owned),
        );
        let node = Node::start(binary, port, dir, args);
        Self { node, authority }
    }

    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/0", self.node.port)
    }
}

/// A plain-TCP `redis-server` (for a TLS URL pointed at it).
pub fn plain_server(binary: &Path) -> Node {
    let port = free_port();
    Node::start(binary, port, scratch("plain"), base_args(port))
}

// ---------------------------------------------------------------------------
// Sentinel

/// The name the Sentinel monitors its primary under.
pub const PRIMARY_NAME: &str = "revocations";

/// A primary, its replica, and one Sentinel watching them (quorum 1).
pub struct SentinelSetup {
    pub nodes: Vec<Node>,
    pub sentinel: Node,
}

impl SentinelSetup {
    pub fn start(binary: &Path) -> Self {
        let primary_port = free_port();
        let primary = Node::start(
            binary,
            primary_port,
            scratch("primary"),
            base_args(primary_port),
        );
        let replica_port = free_port();
        let mut args = base_args(replica_port);
        args.extend(["--replicaof", "127.0.0.1", &primary_port.to_string()].map(str::to_owned));
        let replica = Node::start(binary, replica_port, scratch("replica"), args);

        let sentinel_port = free_port();
        let dir = scratch("sentinel");
        // Sentinel rewrites its configuration file, so it must be its own.
        let config = dir.join("sentinel.conf");
        std::fs::write(
            &config,
            format!(
                "port {sentinel_port}\nbind 127.0.0.1\ndir {dir}\n\
                 sentinel monitor {PRIMARY_NAME} 127.0.0.1 {primary_port} 1\n\
                 sentinel down-after-milliseconds {PRIMARY_NAME} 1000\n\
                 sentinel failover-timeout {PRIMARY_NAME} 5000\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        let sentinel = Node::start(
            binary,
            sentinel_port,
            dir,
            vec![
                config.display().to_string(),
                "--sentinel".into(),
                "--loglevel".into(),
                "warning".into(),
            ],
        );
        let setup = Self {
            nodes: vec![primary, replica],
            sentinel,
        };
        // A failover needs a replica the Sentinel knows and trusts.
        wait_for(
            "the Sentinel sees the replica in sync",
            Duration::from_secs(15),
            || setup.replica_ready(),
        );
        setup
    }

    fn replica_ready(&self) -> bool {
        let replicas: Vec<std::collections::HashMap<String, String>> = match redis::cmd("SENTINEL")
            .arg("REPLICAS")
            .arg(PRIMARY_NAME)
            .query(&mut self.sentinel.connection())
        {
            Ok(replicas) => replicas,
            Err(_) => return false,
        };
        replicas.iter().any(|replica| {
            replica.get("flags").is_some_and(|flags| flags == "slave")
                && replica
                    .get("master-link-status")
                    .is_some_and(|status| status == "ok")
        })
    }

    /// The port of the primary the Sentinel names now.
    pub fn primary_port(&self) -> u16 {
        let (_, port): (String, u16) = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(PRIMARY_NAME)
            .query(&mut self.sentinel.connection())
            .unwrap();
        port
    }

    /// Kills the primary (SIGKILL) and waits for the Sentinel to promote
    /// the replica: returns the new primary's port once the Sentinel names
    /// it and it answers as a primary. (A `SENTINEL FAILOVER` of a live
    /// primary leaves it taking writes for up to ten seconds, until the
    /// Sentinel demotes it and its writes are discarded: Redis' replication
    /// is asynchronous. A dead primary has no such window.)
    pub fn kill_primary(&mut self) -> u16 {
        let old = self.primary_port();
        self.nodes
            .iter_mut()
            .find(|node| node.port == old)
            .expect("the primary is one of the nodes")
            .kill();
        let mut new = old;
        wait_for(
            "the Sentinel names a new primary",
            Duration::from_secs(20),
            || {
                new = self.primary_port();
                new != old
            },
        );
        wait_for(
            "the new primary answers as one",
            Duration::from_secs(10),
            || role(new) == "master",
        );
        new
    }

    pub fn sentinel_url(&self) -> String {
        self.sentinel.url()
    }
}

/// What the server on `port` says it is (`ROLE`): `master`, `slave`, or
/// an empty string when it cannot say.
pub fn role(port: u16) -> String {
    let role: Result<Vec<redis::Value>, _> =
        redis::cmd("ROLE").query(&mut plain_connection(&format!("redis://127.0.0.1:{port}")));
    match role.as_deref() {
        Ok([redis::Value::BulkString(role), ..]) => String::from_utf8_lossy(role).into_owned(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------
// Cluster

/// Three primaries, no replicas, made into a cluster by `redis-cli`.
pub struct Cluster {
    pub nodes: Vec<Node>,
}

impl Cluster {
    pub fn start(binary: &Path, cli: &Path) -> Self {
        let nodes: Vec<Node> = (0..3)
            .map(|_| {
                let port = free_port();
                let mut args = base_args(port);
                args.extend(
                    [
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "5000",
                        // The bus port, free too (not port + 10000).
                        "--cluster-port",
                        &free_port().to_string(),
                    ]
                    .map(str::to_owned),
                );
                Node::start(binary, port, scratch("cluster"), args)
            })
            .collect();
        let output = Command::new(cli)
            .arg("--cluster")
            .arg("create")
            .args(nodes.iter().map(|node| format!("127.0.0.1:{}", node.port)))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let cluster = Self { nodes };
        cluster.wait_until_ok();
        cluster
    }

    /// Waits until every node says `cluster_state:ok`.
    pub fn wait_until_ok(&self) {
        wait_for("the cluster is ok", Duration::from_secs(20), || {
            self.nodes.iter().all(|node| {
                redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query::<String>(&mut node.connection())
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
            })
        });
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Node::url).collect()
    }

    /// The node id of each node.
    pub fn id(&self, index: usize) -> String {
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut self.nodes[index].connection())
            .unwrap()
    }

    /// The slot of `key`.
    pub fn slot(&self, key: &str) -> u16 {
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut self.nodes[0].connection())
            .unwrap()
    }

    /// The index of the node that serves `slot`, by `CLUSTER SLOTS` as
    /// node 0 sees it.
    pub fn owner(&self, slot: u16) -> usize {
        let slots: Vec<(u16, u16, (String, u16))> = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query::<Vec<redis::Value>>(&mut self.nodes[0].connection())
            .unwrap()
            .into_iter()
            .map(|range| {
                let redis::Value::Array(parts) = range else {
                    panic!("a CLUSTER SLOTS range is an array");
                };
                let first: u16 = redis::from_redis_value(parts[0].clone()).unwrap();
                let last: u16 = redis::from_redis_value(parts[1].clone()).unwrap();
                let redis::Value::Array(primary) = &parts[2] else {
                    panic!("a CLUSTER SLOTS node is an array");
                };
                let host: String = redis::from_redis_value(primary[0].clone()).unwrap();
                let port: u16 = redis::from_redis_value(primary[1].clone()).unwrap();
                (first, last, (host, port))
            })
            .collect();
        let (_, _, (_, port)) = slots
            .iter()
            .find(|(first, last, _)| (*first..=*last).contains(&slot))
            .expect("every slot is served");
        self.nodes
            .iter()
            .position(|node| node.port == *port)
            .expect("the owner is one of the nodes")
    }

    /// Moves `slot`, with its keys, from node `from` to node `to`, as
    /// `redis-cli --cluster reshard` does: IMPORTING / MIGRATING, MIGRATE
    /// of each key, then the new owner announced to every node.
    pub fn migrate(&self, slot: u16, from: usize, to: usize) {
        let (from_id, to_id) = (self.id(from), self.id(to));
        let mut source = self.nodes[from].connection();
        let mut target = self.nodes[to].connection();
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("IMPORTING")
            .arg(&from_id)
            .query(&mut target)
            .unwrap();
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("MIGRATING")
            .arg(&to_id)
            .query(&mut source)
            .unwrap();
        loop {
            let keys: Vec<String> = redis::cmd("CLUSTER")
                .arg("GETKEYSINSLOT")
                .arg(slot)
                .arg(100)
                .query(&mut source)
                .unwrap();
            if keys.is_empty() {
                break;
            }
            let _: () = redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(self.nodes[to].port)
                .arg("")
                .arg(0)
                .arg(5000)
                .arg("KEYS")
                .arg(&keys)
                .query(&mut source)
                .unwrap();
        }
        for node in [to, from]
            .into_iter()
            .chain((0..self.nodes.len()).filter(|i| *i != to && *i != from))
        {
            let _: () = redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("NODE")
                .arg(&to_id)
                .query(&mut self.nodes[node].connection())
                .unwrap();
        }
    }
}
