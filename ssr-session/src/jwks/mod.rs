//! [`JwksKeyProvider`]: keys fetched from JWKS URLs, cached as one set,
//! refreshed by a single in-flight request, served stale while the
//! endpoint is slow or down.

mod builder;
mod fetch;

use std::error::Error as _;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::{self, BoxFuture, FutureExt as _, Shared};
use tokio::time::Instant;
use url::Url;

pub use self::builder::JwksKeyProviderBuilder;
use self::builder::Settings;
use crate::error::{ConfigError, KeySourceError};
use crate::keys::{KeyLookupError, KeyProvider, KeyRequest, KeySelection, KeySet, VerifyingKey};

const TARGET: &str = "ssr_session::jwks";

/// Keys from one or more JWKS URLs (RFC 7517), for the SuperTokens core or
/// any OpenID provider. Cheap to clone: clones share one cache, one HTTP
/// client and one in-flight request.
///
/// ```
/// use std::time::Duration;
/// use ssr_session::JwksKeyProvider;
///
/// let keys = JwksKeyProvider::for_supertokens("https://api.example.com")
///     .refetch_cooldown(Duration::from_secs(10))
///     .build()?;
/// assert_eq!(keys.urls().collect::<Vec<_>>(), ["https://api.example.com/auth/jwt/jwks.json"]);
/// assert_eq!(keys.fetch_count(), 0); // nothing is fetched before the first lookup
/// # Ok::<(), ssr_session::ConfigError>(())
/// ```
///
/// # Caching
///
/// The whole set is cached, as a snapshot with the time it stops being
/// fresh (the answer's `Cache-Control: max-age`, less `Age`, clamped into
/// [`min_ttl`](JwksKeyProviderBuilder::min_ttl)..=[`max_ttl`](JwksKeyProviderBuilder::max_ttl);
/// without a valid `max-age`, [`default_ttl`](JwksKeyProviderBuilder::default_ttl))
/// and the time it stops being served at all (that plus
/// [`stale_if_error`](JwksKeyProviderBuilder::stale_if_error)).
///
/// - **Single flight.** At most one refresh runs at a time; every lookup
///   that must wait for keys waits for that one. A refresh runs in its own
///   task, so it completes (and fills the cache) even when the request
///   that started it is dropped.
/// - **No lock across IO.** The cache sits behind a mutex held only to read
///   or replace the snapshot and the in-flight handle, never across an
///   `.await`: a lookup whose key is cached never waits behind a fetch.
/// - **Stale while revalidate.** Past its TTL, a set still answers for the
///   keys it holds, at once, and a refresh starts in the background.
/// - **Stale if error.** A failed refresh keeps the last good set serving
///   until [`stale_if_error`](JwksKeyProviderBuilder::stale_if_error) past
///   its TTL, retrying at most once per
///   [`refetch_cooldown`](JwksKeyProviderBuilder::refetch_cooldown).
///   Each failure is logged at `warn` (target `ssr_session::jwks`) with the
///   URL and the error chain; each fetch at `debug` with the URL, status,
///   key count and TTL.
/// - **Several URLs** ([`also_url`](JwksKeyProviderBuilder::also_url)) are
///   fetched in parallel as one refresh and their keys merged; the set is
///   fresh for the shortest TTL among them; if any URL fails, the refresh
///   fails and the last good merged set keeps serving.
///
/// The cache is not built on `moka`: moka drops an entry when it expires,
/// but serving stale keys needs the old set after its TTL, and moka
/// coalesces loads only while an entry is absent, not the refresh of one
/// that is present. One snapshot and one shared in-flight future do both.
///
/// # Outcomes of a lookup
///
/// | cached set | the token's `kid` | answer |
/// | --- | --- | --- |
/// | fresh | in the set | the key (or `AlgorithmMismatch` / `Ambiguous`), at once |
/// | fresh | not in the set, cooldown passed | one refetch (shared), then the key or `UnknownKey` |
/// | fresh | not in the set, within the cooldown | `UnknownKey` at once, no request |
/// | stale (past TTL) | in the set | the key at once; a refresh starts in the background |
/// | stale | not in the set | waits for the due refresh, then the key or `UnknownKey` |
/// | none, or past `stale_if_error` | — | waits for a fetch; on failure `Unavailable` |
///
/// When the most recent fetch failed, a `kid` that is not in the cached
/// set gives [`KeyLookupError::Unavailable`] with that failure rather than
/// `UnknownKey`: the key may have rotated in while the source was down.
/// With nothing cached, a failure is remembered for
/// [`failure_backoff`](JwksKeyProviderBuilder::failure_backoff) (lookups
/// within it get it at once, with no request); the first lookup after it
/// tries again. A JWKS document whose keys are all unusable (wrong `use`,
/// unsupported type, RSA under 2048 bits…) is a valid, empty set: tokens
/// get `UnknownKey`, and a warning is logged.
///
/// # Errors of a fetch
///
/// Non-2xx → [`KeySourceError::Status`]; not a JWKS document (HTML,
/// truncated JSON…) → [`KeySourceError::Parse`]; body over
/// [`max_body_bytes`](JwksKeyProviderBuilder::max_body_bytes) →
/// [`KeySourceError::TooLarge`]; over the
/// [`timeout`](JwksKeyProviderBuilder::timeout) → [`KeySourceError::Timeout`];
/// connection, TLS and redirect failures → [`KeySourceError::Fetch`].
///
/// Lookups must run inside a Tokio runtime: a refresh is spawned on the
/// runtime of the lookup that starts it.
#[derive(Clone)]
pub struct JwksKeyProvider {
    inner: Arc<Inner>,
}

/// Why [`JwksKeyProvider::from_oidc_issuer`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer, the discovered `jwks_uri` or a setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The OpenID configuration could not be fetched, or is not a JSON
    /// object with string members `issuer` and `jwks_uri`
    /// ([`KeySourceError::Parse`]).
    #[error("OpenID discovery failed")]
    Source(#[from] KeySourceError),
    /// The configuration names another issuer than the one asked for
    /// (OpenID Connect Discovery §4.3 requires them to be identical).
    #[error("the OpenID configuration names issuer {found:?}, not {expected:?}")]
    IssuerMismatch {
        /// The issuer passed to `from_oidc_issuer`.
        expected: String,
        /// The `issuer` of the configuration.
        found: String,
    },
}

impl JwksKeyProvider {
    /// Starts configuring a provider for one JWKS URL (checked by
    /// [`build`](JwksKeyProviderBuilder::build)).
    pub fn builder(jwks_url: &str) -> JwksKeyProviderBuilder {
        JwksKeyProviderBuilder::for_url(jwks_url)
    }

    /// Starts configuring a provider for a SuperTokens backend: the keys at
    /// `{api_domain}{api_base_path}/jwt/jwks.json`, with the base path
    /// `/auth` unless [`api_base_path`](JwksKeyProviderBuilder::api_base_path)
    /// says otherwise. `api_domain` is an origin such as
    /// `https://api.example.com` (no path).
    pub fn for_supertokens(api_domain: &str) -> JwksKeyProviderBuilder {
        JwksKeyProviderBuilder::for_supertokens(api_domain)
    }

    /// OpenID Connect discovery: fetches
    /// `{issuer}/.well-known/openid-configuration` (a trailing `/` of the
    /// issuer removed first), checks that its `issuer` is exactly `issuer`,
    /// and builds a provider for its `jwks_uri`. `configure` adjusts the
    /// builder (client, timeout, body cap, more URLs…) before the
    /// discovery request, which uses the same client, timeout and body cap;
    /// it is not counted by [`fetch_count`](Self::fetch_count).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use ssr_session::JwksKeyProvider;
    ///
    /// let keys = JwksKeyProvider::from_oidc_issuer("https://auth.example.com/auth", |builder| {
    ///     builder.timeout(Duration::from_secs(2))
    /// })
    /// .await?;
    /// assert_eq!(keys.urls().len(), 1);
    /// # Ok(()) }
    /// ```
    pub async fn from_oidc_issuer(
        issuer: &str,
        configure: impl FnOnce(JwksKeyProviderBuilder) -> JwksKeyProviderBuilder,
    ) -> Result<Self, DiscoveryError> {
        JwksKeyProviderBuilder::discover(issuer, configure).await
    }

    /// The keys lookups would use now: the cached set if it may still be
    /// served (starting a background refresh if it is past its TTL), else
    /// the result of a fetch (shared with concurrent lookups). For tools
    /// and tests.
    pub async fn key_set(&self) -> Result<Arc<KeySet>, Arc<KeySourceError>> {
        let refresh = {
            let now = Instant::now();
            let mut state = self.inner.lock();
            if let Some(cached) = state.usable(now) {
                let (keys, fresh) = (cached.keys.clone(), now < cached.fresh_until);
                if !fresh {
                    self.inner.refresh_in_background(&mut state, now);
                }
                return Ok(keys);
            }
            self.inner.cold(&mut state, now)?
        };
        refresh.await
    }

    /// How many HTTP requests for a JWKS this provider (and its clones) has
    /// started: one per URL per refresh.
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// The JWKS URLs, in the order given.
    pub fn urls(&self) -> impl ExactSizeIterator<Item = &str> {
        self.inner.urls.iter().map(Url::as_str)
    }

    fn new(urls: Vec<Url>, client: reqwest::Client, settings: Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                urls,
                client,
                settings,
                state: Mutex::new(State::default()),
                fetches: AtomicU64::new(0),
            }),
        }
    }
}

impl fmt::Debug for JwksKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksKeyProvider")
            .field("urls", &self.urls().collect::<Vec<_>>())
            .field("settings", &self.inner.settings)
            .field("fetch_count", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl KeyProvider for JwksKeyProvider {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        let refresh = match self.inner.plan(request, Instant::now()) {
            Plan::Ready(answer) => return answer,
            Plan::Wait(refresh) => refresh,
        };
        match refresh.await {
            Ok(keys) => keys.select(request.kid, request.algorithm).into_result(),
            Err(error) => Err(KeyLookupError::Unavailable(error)),
        }
    }
}

type RefreshResult = Result<Arc<KeySet>, Arc<KeySourceError>>;
type Refresh = Shared<BoxFuture<'static, RefreshResult>>;

struct Inner {
    urls: Vec<Url>,
    client: reqwest::Client,
    settings: Settings,
    state: Mutex<State>,
    fetches: AtomicU64,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The refresh running now, if any.
    in_flight: Option<Refresh>,
    /// When the most recent refresh started.
    last_attempt: Option<Instant>,
    /// The most recent refresh, if it failed (cleared by a success).
    last_failure: Option<Failure>,
}

struct Cached {
    keys: Arc<KeySet>,
    fresh_until: Instant,
    stale_until: Instant,
}

struct Failure {
    at: Instant,
    error: Arc<KeySourceError>,
}

enum Plan {
    Ready(Result<Arc<VerifyingKey>, KeyLookupError>),
    Wait(Refresh),
}

impl State {
    /// The cached set, if it may still be served.
    fn usable(&self, now: Instant) -> Option<&Cached> {
        self.cached
            .as_ref()
            .filter(|cached| now < cached.stale_until)
    }

    /// Whether a new refresh may start: a stale set whose last refresh
    /// succeeded is due at once; otherwise the cooldown since the last
    /// attempt must have passed.
    fn may_refresh(&self, fresh: bool, now: Instant, cooldown: Duration) -> bool {
        let due = !fresh && self.last_failure.is_none();
        let cooled = self
            .last_attempt
            .is_none_or(|at| now.saturating_duration_since(at) >= cooldown);
        self.in_flight.is_none() && (due || cooled)
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Decides, under the lock and without waiting, how to answer.
    fn plan(self: &Arc<Self>, request: &KeyRequest<'_>, now: Instant) -> Plan {
        let mut state = self.lock();
        let Some(cached) = state.usable(now) else {
            return match self.cold(&mut state, now) {
                Ok(refresh) => Plan::Wait(refresh),
                Err(error) => Plan::Ready(Err(KeyLookupError::Unavailable(error))),
            };
        };
        let fresh = now < cached.fresh_until;
        let selection = cached.keys.select(request.kid, request.algorithm);
        if !matches!(selection, KeySelection::Unknown) {
            if !fresh {
                self.refresh_in_background(&mut state, now);
            }
            return Plan::Ready(selection.into_result());
        }
        if let Some(refresh) = &state.in_flight {
            return Plan::Wait(refresh.clone());
        }
        if state.may_refresh(fresh, now, self.settings.refetch_cooldown) {
            let reason = if fresh { "unknown kid" } else { "expired" };
            return Plan::Wait(self.start_refresh(&mut state, now, reason));
        }
        Plan::Ready(Err(match &state.last_failure {
            Some(failure) => KeyLookupError::Unavailable(failure.error.clone()),
            None => KeyLookupError::UnknownKey,
        }))
    }

    /// Nothing servable is cached: join the refresh in flight, or give the
    /// recent failure, or start a refresh.
    fn cold(
        self: &Arc<Self>,
        state: &mut State,
        now: Instant,
    ) -> Result<Refresh, Arc<KeySourceError>> {
        state.cached = None;
        if let Some(refresh) = &state.in_flight {
            return Ok(refresh.clone());
        }
        if let Some(failure) = &state.last_failure
            && now.saturating_duration_since(failure.at) < self.settings.failure_backoff
        {
            return Err(failure.error.clone());
        }
        Ok(self.start_refresh(state, now, "nothing cached"))
    }

    fn refresh_in_background(self: &Arc<Self>, state: &mut State, now: Instant) {
        if state.may_refresh(false, now, self.settings.refetch_cooldown) {
            drop(self.start_refresh(state, now, "expired"));
        }
    }

    /// Spawns a refresh and records it as the one in flight. Called under
    /// the lock, so that two lookups never both start one.
    fn start_refresh(
        self: &Arc<Self>,
        state: &mut State,
        now: Instant,
        reason: &'static str,
    ) -> Refresh {
        tracing::debug!(target: TARGET, reason, urls = ?self.urls.iter().map(Url::as_str).collect::<Vec<_>>(), "refreshing the JWKS");
        state.last_attempt = Some(now);
        let task = tokio::spawn(Arc::clone(self).refresh());
        let refresh = async move {
            match task.await {
                Ok(result) => result,
                Err(join_error) => Err(Arc::new(KeySourceError::Custom(Box::new(join_error)))),
            }
        }
        .boxed()
        .shared();
        state.in_flight = Some(refresh.clone());
        refresh
    }

    async fn refresh(self: Arc<Self>) -> RefreshResult {
        let mut guard = CommitOnDrop {
            inner: Arc::clone(&self),
            armed: true,
        };
        let result = self.fetch_all().await;
        guard.armed = false;
        self.commit(result)
    }

    /// Records a refresh's result and clears the in-flight handle.
    fn commit(&self, result: Result<(KeySet, Duration), KeySourceError>) -> RefreshResult {
        let now = Instant::now();
        let mut state = self.lock();
        state.in_flight = None;
        match result {
            Ok((keys, ttl)) => {
                let keys = Arc::new(keys);
                let fresh_until = now + ttl;
                state.cached = Some(Cached {
                    keys: keys.clone(),
                    fresh_until,
                    stale_until: fresh_until + self.settings.stale_if_error,
                });
                state.last_failure = None;
                Ok(keys)
            }
            Err(error) => {
                let error = Arc::new(error);
                state.last_failure = Some(Failure {
                    at: now,
                    error: error.clone(),
                });
                let serving = state.usable(now).map(|cached| cached.stale_until - now);
                drop(state);
                let url = url_of(&error).unwrap_or("");
                let chain = error_chain(&error);
                match serving {
                    Some(left) => tracing::warn!(
                        target: TARGET,
                        url,
                        error = %chain,
                        stale_keys_serve_for = ?left,
                        "refreshing the JWKS failed; the cached keys keep serving"
                    ),
                    None => tracing::warn!(
                        target: TARGET,
                        url,
                        error = %chain,
                        "fetching the JWKS failed and no keys are cached: verification is unavailable"
                    ),
                }
                Err(error)
            }
        }
    }

    /// Fetches every URL in parallel and merges the keys; the set is
    /// fresh for the shortest TTL.
    async fn fetch_all(&self) -> Result<(KeySet, Duration), KeySourceError> {
        // Unchanged keys keep their `Arc`, so a refresh that returns the same
        // keys keeps their tokens in the verifier's verified-token cache.
        let previous = self
            .lock()
            .cached
            .as_ref()
            .map(|cached| cached.keys.clone());
        let previous = previous.as_deref();
        let parts =
            future::try_join_all(self.urls.iter().map(|url| self.fetch_one(url, previous))).await?;
        let mut keys = KeySet::default();
        let mut ttl = self.settings.max_ttl;
        for (part, part_ttl) in &parts {
            keys.extend(part);
            ttl = ttl.min(*part_ttl);
        }
        if keys.is_empty() {
            tracing::warn!(
                target: TARGET,
                urls = ?self.urls.iter().map(Url::as_str).collect::<Vec<_>>(),
                "the JWKS holds no usable key: every token will have an unknown key"
            );
        }
        Ok((keys, ttl))
    }

    async fn fetch_one(
        &self,
        url: &Url,
        previous: Option<&KeySet>,
    ) -> Result<(KeySet, Duration), KeySourceError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let fetched = fetch::get(&self.client, url, self.settings.limits()).await?;
        let keys = KeySet::from_jwks_json_reusing(&fetched.body, previous).map_err(|source| {
            KeySourceError::Parse {
                url: url.to_string(),
                expected: "a JWKS document",
                source,
            }
        })?;
        let ttl = self.settings.ttl(fetched.max_age);
        tracing::debug!(
            target: TARGET,
            url = %url,
            status = fetched.status,
            keys = keys.keys().len(),
            max_age = ?fetched.max_age,
            ttl = ?ttl,
            elapsed = ?started.elapsed(),
            "fetched the JWKS"
        );
        Ok((keys, ttl))
    }
}

/// Records a failure if a refresh task ends without committing (it
/// panicked, or its runtime shut down), so the in-flight handle never
/// outlives it.
struct CommitOnDrop {
    inner: Arc<Inner>,
    armed: bool,
}

impl Drop for CommitOnDrop {
    fn drop(&mut self) {
        if self.armed {
            let error =
                KeySourceError::Custom("the JWKS refresh task ended before finishing".into());
            let _ = self.inner.commit(Err(error));
        }
    }
}

fn url_of(error: &KeySourceError) -> Option<&str> {
    match error {
        KeySourceError::Fetch { url, .. }
        | KeySourceError::Timeout { url, .. }
        | KeySourceError::Status { url, .. }
        | KeySourceError::TooLarge { url, .. }
        | KeySourceError::Parse { url, .. } => Some(url),
        KeySourceError::Custom(_) => None,
    }
}

/// `error: its source: its source…`.
fn error_chain(error: &KeySourceError) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
