//! How the crate reaches Redis: one server (TCP, TLS or a Unix socket), the
//! primary that Sentinel names, or a Redis Cluster.
//!
//! The follower and the writer each get a [`Connector`] and open every
//! [`Connection`] through it; what they send is the same whatever the kind,
//! so `stream.rs` and `follow.rs` know only [`Connection`]. Each kind keeps
//! the crate's own reconnect-and-reload: a connection that fails is dropped,
//! the next one is opened afresh (asking Sentinel again for the primary, or
//! the cluster again for its slots) and the follower reloads in full.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::TcpSettings;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Cmd, IntoConnectionInfo, Pipeline, RedisFuture, Value};

use crate::error::RedisRevocationsError;
use crate::settings::Settings;

/// Where Redis is, as the builder was told.
#[derive(Clone)]
pub(crate) enum Topology {
    /// One server: `redis://`, `rediss://` or `redis+unix://`.
    Single(String),
    /// The primary that these Sentinels name `primary`.
    Sentinel {
        primary: String,
        sentinels: Vec<String>,
        /// The primary's login (username, password), when it needs one.
        login: Option<(String, String)>,
        database: i64,
    },
    /// A Redis Cluster, found through any of these nodes.
    Cluster(Vec<String>),
}

impl Topology {
    /// The URLs this topology names.
    fn urls(&self) -> &[String] {
        match self {
            Self::Single(url) => std::slice::from_ref(url),
            Self::Sentinel { sentinels, .. } => sentinels,
            Self::Cluster(nodes) => nodes,
        }
    }
}

/// TLS settings beyond the `rediss://` scheme: files, read when the list is
/// built so a missing or unreadable one fails there.
#[derive(Clone, Default)]
pub(crate) struct TlsFiles {
    pub ca: Option<PathBuf>,
    pub client: Option<(PathBuf, PathBuf)>,
}

impl TlsFiles {
    fn is_set(&self) -> bool {
        self.ca.is_some() || self.client.is_some()
    }
}

/// What a connection is for: the follower's blocking read holds its reply
/// for up to a poll interval on purpose, the writer's replies must come
/// within the command timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Follow,
    Write,
}

/// Opens connections of one kind for one purpose.
pub(crate) struct Connector {
    kind: Kind,
    connect_timeout: Duration,
    uses_tls: bool,
}

enum Kind {
    Single {
        client: redis::Client,
        config: redis::AsyncConnectionConfig,
    },
    Sentinel {
        // `&mut` to ask: one lookup at a time per connector (the follower
        // and the writer each have their own).
        client: tokio::sync::Mutex<SentinelClient>,
        config: redis::AsyncConnectionConfig,
    },
    Cluster(ClusterClient),
}

/// An open connection of any kind.
#[derive(Clone)]
pub(crate) enum Connection {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

/// The follower's and the writer's connectors, built and checked together:
/// every URL, file and certificate is checked here, before anything
/// connects.
pub(crate) fn connectors(
    topology: &Topology,
    tls: &TlsFiles,
    settings: &Settings,
) -> Result<(Connector, Connector), RedisRevocationsError> {
    let uses_tls = check_schemes(topology, tls)?;
    let certificates = certificates(tls)?;
    if uses_tls {
        ensure_crypto_provider();
    }
    let connector = |purpose| {
        Kind::new(topology, certificates.as_ref(), settings, purpose).map(|kind| Connector {
            kind,
            connect_timeout: settings.connect_timeout,
            uses_tls,
        })
    };
    Ok((connector(Purpose::Follow)?, connector(Purpose::Write)?))
}

impl Kind {
    fn new(
        topology: &Topology,
        certificates: Option<&Certificates>,
        settings: &Settings,
        purpose: Purpose,
    ) -> Result<Kind, RedisRevocationsError> {
        let response_timeout = match purpose {
            Purpose::Follow => settings.poll_interval + settings.command_timeout,
            Purpose::Write => settings.command_timeout,
        };
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(settings.connect_timeout))
            .set_response_timeout(Some(response_timeout));
        let kind = match topology {
            Topology::Single(url) => Kind::Single {
                client: single_client(url, certificates)?,
                config,
            },
            Topology::Sentinel {
                primary,
                sentinels,
                login,
                database,
            } => Kind::Sentinel {
                client: tokio::sync::Mutex::new(sentinel_client(
                    primary,
                    sentinels,
                    login.as_ref(),
                    *database,
                    certificates,
                )?),
                config,
            },
            Topology::Cluster(nodes) => {
                let mut builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(settings.connect_timeout)
                    .response_timeout(response_timeout)
                    .tcp_settings(tcp_settings());
                if purpose == Purpose::Follow {
                    // No retries inside the cluster connection: a redirect
                    // (the slot moved) or a lost node then reaches the
                    // follower, which reconnects and reloads in full, as
                    // for one server. The writer may follow redirects.
                    builder = builder.retries(0);
                }
                #[cfg(feature = "tls")]
                if let Some(certificates) = certificates {
                    builder = builder.certs(certificates.to_redis());
                }
                let client = builder.build().map_err(|e| {
                    RedisRevocationsError::Config(format!(
                        "the Redis Cluster nodes are not usable: {e}"
                    ))
                })?;
                Kind::Cluster(client)
            }
        };
        Ok(kind)
    }
}

impl Connector {
    /// Opens a connection: within the connect timeout, or an error.
    pub async fn connect(&self) -> Result<Connection, RedisRevocationsError> {
        let opened = bounded(self.connect_timeout, "connecting", async {
            match &self.kind {
                Kind::Single { client, config } => client
                    .get_multiplexed_async_connection_with_config(config)
                    .await
                    .map(Connection::Single),
                Kind::Sentinel { client, config } => {
                    // Asks the Sentinels for the primary (which is checked
                    // to answer `ROLE` as a primary), then connects to it.
                    let primary = client.lock().await.async_get_client().await?;
                    primary
                        .get_multiplexed_async_connection_with_config(config)
                        .await
                        .map(Connection::Single)
                }
                Kind::Cluster(client) => {
                    client.get_async_connection().await.map(Connection::Cluster)
                }
            }
        })
        .await;
        match opened {
            // A TLS handshake that never completes is most often a
            // plain-TCP port behind a rediss:// URL: say so.
            Err(RedisRevocationsError::Timeout { .. }) if self.uses_tls => {
                Err(tls_timeout(self.connect_timeout))
            }
            Err(RedisRevocationsError::Redis(error))
                if self.uses_tls
                    && error
                        .downcast_ref::<redis::RedisError>()
                        .is_some_and(redis::RedisError::is_timeout) =>
            {
                Err(tls_timeout(self.connect_timeout))
            }
            other => other,
        }
    }
}

fn tls_timeout(after: Duration) -> RedisRevocationsError {
    RedisRevocationsError::Timeout {
        during: "connecting over TLS (a plain-TCP port never answers the handshake)",
        after,
    }
}

/// The URLs' schemes agree with each other and with the TLS settings.
/// Returns whether TLS is used.
fn check_schemes(topology: &Topology, tls: &TlsFiles) -> Result<bool, RedisRevocationsError> {
    let urls = topology.urls();
    if urls.is_empty() {
        return Err(RedisRevocationsError::Config(
            "no Redis URL was given".into(),
        ));
    }
    let is_tls = |url: &str| url.starts_with("rediss://") || url.starts_with("valkeys://");
    let uses_tls = is_tls(&urls[0]);
    if urls.iter().any(|url| is_tls(url) != uses_tls) {
        return Err(RedisRevocationsError::Config(
            "some Redis URLs use TLS (rediss://) and others do not".into(),
        ));
    }
    if uses_tls && !cfg!(feature = "tls") {
        return Err(RedisRevocationsError::Config(
            "a rediss:// URL needs TLS, and ssr-session-redis was built without its `tls` \
             feature (on by default)"
                .into(),
        ));
    }
    if !uses_tls && tls.is_set() {
        return Err(RedisRevocationsError::Config(
            "a TLS CA file or client certificate was given, but the Redis URL is not \
             rediss://"
                .into(),
        ));
    }
    Ok(uses_tls)
}

/// The CA file and client certificate, read and checked.
#[derive(Clone)]
struct Certificates {
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    ca: Option<Vec<u8>>,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    client: Option<(Vec<u8>, Vec<u8>)>,
}

fn read(what: &str, path: &Path) -> Result<Vec<u8>, RedisRevocationsError> {
    std::fs::read(path).map_err(|e| {
        RedisRevocationsError::Config(format!("cannot read the {what} {}: {e}", path.display()))
    })
}

fn certificates(tls: &TlsFiles) -> Result<Option<Certificates>, RedisRevocationsError> {
    if !tls.is_set() {
        return Ok(None);
    }
    let ca = tls
        .ca
        .as_deref()
        .map(|path| {
            let pem = read("TLS CA file", path)?;
            check_certificates("TLS CA file", path, &pem)?;
            Ok::<_, RedisRevocationsError>(pem)
        })
        .transpose()?;
    let client = tls
        .client
        .as_ref()
        .map(|(cert, key)| {
            let cert_pem = read("TLS client certificate", cert)?;
            check_certificates("TLS client certificate", cert, &cert_pem)?;
            let key_pem = read("TLS client key", key)?;
            check_key(key, &key_pem)?;
            Ok::<_, RedisRevocationsError>((cert_pem, key_pem))
        })
        .transpose()?;
    Ok(Some(Certificates { ca, client }))
}

/// At least one PEM certificate, and none malformed: a file that holds
/// none would fail every handshake with a less helpful error.
#[cfg(feature = "tls")]
fn check_certificates(what: &str, path: &Path, pem: &[u8]) -> Result<(), RedisRevocationsError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut count = 0;
    for certificate in CertificateDer::pem_slice_iter(pem) {
        certificate.map_err(|e| {
            RedisRevocationsError::Config(format!(
                "the {what} {} is not valid PEM: {e}",
                path.display()
            ))
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(RedisRevocationsError::Config(format!(
            "the {what} {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(feature = "tls")]
fn check_key(path: &Path, pem: &[u8]) -> Result<(), RedisRevocationsError> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject as _;
    PrivateKeyDer::from_pem_slice(pem).map(drop).map_err(|e| {
        RedisRevocationsError::Config(format!(
            "the TLS client key {} holds no usable PEM private key: {e}",
            path.display()
        ))
    })
}

// Without the `tls` feature a TLS setting is refused with the URL (see
// `check_schemes`) before these run.
#[cfg(not(feature = "tls"))]
fn check_certificates(_: &str, _: &Path, _: &[u8]) -> Result<(), RedisRevocationsError> {
    Ok(())
}

#[cfg(not(feature = "tls"))]
fn check_key(_: &Path, _: &[u8]) -> Result<(), RedisRevocationsError> {
    Ok(())
}

#[cfg(feature = "tls")]
impl Certificates {
    fn to_redis(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: self.ca.clone(),
        }
    }
}

/// rustls needs a process-wide crypto provider (redis' TLS takes no
/// configuration of ours). When the application has not chosen one,
/// install the backend's (`aws-lc-rs` or `ring`, as the core's HTTPS uses):
/// with both compiled in, rustls would otherwise panic on the first handshake.
fn ensure_crypto_provider() {
    #[cfg(feature = "tls")]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        #[cfg(feature = "ring")]
        let provider = rustls::crypto::ring::default_provider();
        #[cfg(not(feature = "ring"))]
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        // Err: another thread installed one meanwhile, which is as good.
        let _ = provider.install_default();
    }
}

/// `TCP_NODELAY` on every connection: each command and reply is one small
/// message, and a revocation's latency is the point.
fn tcp_settings() -> TcpSettings {
    TcpSettings::default().set_nodelay(true)
}

fn single_client(
    url: &str,
    certificates: Option<&Certificates>,
) -> Result<redis::Client, RedisRevocationsError> {
    let unusable = |e: redis::RedisError| {
        RedisRevocationsError::Config(format!("the Redis URL is not usable: {e}"))
    };
    let info = url
        .into_connection_info()
        .map_err(unusable)?
        .set_tcp_settings(tcp_settings());
    match certificates {
        None => redis::Client::open(info).map_err(unusable),
        #[cfg(feature = "tls")]
        Some(certificates) => {
            redis::Client::build_with_tls(info, certificates.to_redis()).map_err(unusable)
        }
        #[cfg(not(feature = "tls"))]
        Some(_) => unreachable!("TLS settings without the `tls` feature are refused earlier"),
    }
}

fn sentinel_client(
    primary: &str,
    sentinels: &[String],
    login: Option<&(String, String)>,
    database: i64,
    certificates: Option<&Certificates>,
) -> Result<SentinelClient, RedisRevocationsError> {
    let unusable = |e: redis::RedisError| {
        RedisRevocationsError::Config(format!("the Sentinel settings are not usable: {e}"))
    };
    if primary.is_empty() {
        return Err(RedisRevocationsError::Config(
            "the Sentinel primary name is empty".into(),
        ));
    }
    let mut addresses = Vec::with_capacity(sentinels.len());
    let mut sentinel_login = None;
    for url in sentinels {
        let info = url.as_str().into_connection_info().map_err(unusable)?;
        let redis = info.redis_settings();
        if let Some(password) = redis.password() {
            let login = (redis.username().map(str::to_owned), password.to_owned());
            if sentinel_login.get_or_insert_with(|| login.clone()) != &login {
                return Err(RedisRevocationsError::Config(
                    "the Sentinel URLs carry different logins".into(),
                ));
            }
        }
        addresses.push(info.addr().clone());
    }
    let uses_tls = matches!(
        addresses.first(),
        Some(redis::ConnectionAddr::TcpTls { .. })
    );
    let mut builder = SentinelClientBuilder::new(addresses, primary, SentinelServerType::Master)
        .map_err(unusable)?
        .set_client_to_redis_db(database)
        .set_client_to_redis_tcp_settings(tcp_settings())
        .set_client_to_sentinel_tcp_settings(tcp_settings());
    if let Some((username, password)) = login {
        builder = builder
            .set_client_to_redis_username(username)
            .set_client_to_redis_password(password);
    }
    if let Some((username, password)) = sentinel_login {
        if let Some(username) = username {
            builder = builder.set_client_to_sentinel_username(username);
        }
        builder = builder.set_client_to_sentinel_password(password);
    }
    if uses_tls {
        // The primary is reached as the Sentinels are: over TLS, with the
        // same CA and client certificate.
        builder = builder.set_client_to_redis_tls_mode(redis::TlsMode::Secure);
        #[cfg(feature = "tls")]
        if let Some(certificates) = certificates {
            builder = builder
                .set_client_to_sentinel_certificates(certificates.to_redis())
                .set_client_to_redis_certificates(certificates.to_redis());
        }
    }
    #[cfg(not(feature = "tls"))]
    let _ = certificates;
    builder.build().map_err(unusable)
}

impl fmt::Debug for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URLs: they may carry passwords.
        match self {
            Self::Single(_) => f.write_str("Single"),
            Self::Sentinel {
                primary, sentinels, ..
            } => f
                .debug_struct("Sentinel")
                .field("primary", primary)
                .field("sentinels", &sentinels.len())
                .finish_non_exhaustive(),
            Self::Cluster(nodes) => f
                .debug_struct("Cluster")
                .field("nodes", &nodes.len())
                .finish(),
        }
    }
}

/// `future`, or a timeout error after `after`. The connection's own
/// response timeout bounds each reply too; this also bounds a reply that
/// trickles in.
pub(crate) async fn bounded<T>(
    after: Duration,
    during: &'static str,
    future: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, RedisRevocationsError> {
    match tokio::time::timeout(after, future).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(RedisRevocationsError::Timeout { during, after }),
    }
}
