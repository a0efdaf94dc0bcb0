//! [`JwksKeyProvider`]: keys fetched from JWKS URLs, cached as one set,
//! refreshed by a single in-flight request, served stale while the
//! endpoint is slow or down.
//!
//! One file a job: the provider and its cache (here), its builder
//! (`builder`), the settings it runs with (`settings`), OpenID discovery
//! (`discovery`) and the HTTP fetch (`fetch`).

mod builder;
mod discovery;
mod fetch;
mod settings;

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::{self, BoxFuture, FutureExt as _, Shared};
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

pub use self::builder::JwksKeyProviderBuilder;
pub use self::discovery::DiscoveryError;
pub use self::fetch::client_builder;
// One rule for every URL a provider fetches from, the issuers' included.
pub(crate) use self::builder::parse_url;
use self::settings::Settings;
use crate::error::{ConfigError, KeySourceError};
use crate::keys::{KeyLookupError, KeyProvider, KeyRequest, KeySelection, KeySet, VerifyingKey};
use crate::metrics;

const TARGET: &str = "ssr_session::jwks";

/// The client a provider builds when given none (see
/// [`JwksKeyProviderBuilder::client`]).
pub(crate) fn default_client() -> Result<reqwest::Client, ConfigError> {
    fetch::default_client()
}

/// Keys from one or more JWKS URLs (RFC 7517), for the SuperTokens core or
/// any OpenID provider. Cheap to clone: clones share one cache, one HTTP
/// client and one in-flight request.
///
/// ```
/// use std::time::Duration;
/// use ssr_session::JwksKeyProvider;
///
/// let keys = JwksKeyProvider::for_supertokens("https://api.example.com")
///     .unknown_kid_interval(Duration::from_millis(500))
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
///   [`retry_interval`](JwksKeyProviderBuilder::retry_interval).
///   Each failure is logged at `warn` (target `ssr_session::jwks`) with the
///   URL and the error chain; each fetch at `debug` with the URL, status,
///   key count and TTL.
/// - **Unknown `kid`s wait for a newer set.** A token is answered
///   `UnknownKey` only when its `kid` is missing from a set whose fetch
///   started after the lookup arrived, so a key published at any time
///   verifies within [`unknown_kid_interval`](JwksKeyProviderBuilder::unknown_kid_interval)
///   plus one fetch. Fetches for unknown `kid`s start at least one interval
///   apart: a lookup inside the interval joins the one fetch scheduled at
///   its end (its own task, like every refresh), so a flood of random
///   `kid`s costs the JWKS server one request per interval, and each forged
///   token a wait of up to the interval plus one fetch.
/// - **Bounded waiting.** At most
///   [`max_waiting_lookups`](JwksKeyProviderBuilder::max_waiting_lookups)
///   lookups wait for a fetch at once; one more is
///   [`KeySourceError::TooManyWaiting`] at once. A lookup waits at most the
///   interval plus the fetch [`timeout`](JwksKeyProviderBuilder::timeout)
///   (and 250 ms of slack); past that it is [`KeySourceError::WaitTimeout`].
///   Both are [`KeyLookupError::Unavailable`]: a 503, never a sign-out.
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
/// The first row that applies answers. "Before" and "after" compare the
/// instant the set's fetch *started* with the instant the lookup arrived.
///
/// | cached set | the token's `kid` | answer |
/// | --- | --- | --- |
/// | fresh or stale | in the set | the key (or `AlgorithmMismatch` / `Ambiguous`), at once; past the TTL, a refresh starts in the background |
/// | fetched after the lookup arrived | not in the set | `UnknownKey` |
/// | fetched before | not in the set; a fetch in flight | joins it: the key if its set holds it, `UnknownKey` if it started after the lookup arrived, its failure as `Unavailable`; else on to the next rows |
/// | fetched before | not in the set; the last fetch failed and started less than `retry_interval` ago | `Unavailable` with that failure, at once, no request |
/// | fetched before | not in the set; `unknown_kid_interval` passed since the last fetch started | one fetch at once, shared; then the key or `UnknownKey` |
/// | fetched before | not in the set; within the interval | joins the one fetch scheduled at the end of the interval; then the key or `UnknownKey` |
/// | none, or past `stale_if_error` | — | waits for the fetch in flight or starts one (then as above), or `Unavailable` at once within `failure_backoff` of a failure |
///
/// Every wait counts against `max_waiting_lookups` (one more lookup is
/// `Unavailable` with [`KeySourceError::TooManyWaiting`] at once) and ends
/// after the interval plus the timeout ([`KeySourceError::WaitTimeout`]).
///
/// When the fetch a waiting lookup joined fails, or the most recent fetch
/// failed, a `kid` that is not in the cached set gives
/// [`KeyLookupError::Unavailable`] with that failure rather than
/// `UnknownKey`: the key may have rotated in while the source was down.
/// Retries then keep to one per `retry_interval` (background refreshes
/// included). With nothing cached, a failure is remembered for
/// [`failure_backoff`](JwksKeyProviderBuilder::failure_backoff) (lookups
/// within it get it at once, with no request); the first lookup after it
/// tries again. A key removed from the JWKS stops verifying once a fetch
/// without it lands (at the latest, the first lookup past the set's TTL
/// starts one). A JWKS document whose keys are all unusable (wrong `use`,
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

impl JwksKeyProvider {
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
        refresh.await.result
    }

    /// How many lookups are waiting for a fetch now (at most
    /// [`max_waiting_lookups`](JwksKeyProviderBuilder::max_waiting_lookups)).
    /// For monitoring and tests.
    pub fn waiting_lookups(&self) -> usize {
        self.inner.waiting.load(Ordering::Relaxed)
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

    /// The issuer every key is bound to
    /// ([`bind_issuer`](JwksKeyProviderBuilder::bind_issuer)), if any.
    pub fn bound_issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// Drops the cached keys now, for an owner that stopped using this
    /// provider (an evicted issuer). Its last clone may be freed much later
    /// (moka reclaims removed entries lazily, through an epoch that other
    /// threads hold back), and until then the token cache's entries
    /// verified by these keys would still count as alive.
    pub(crate) fn retire(&self) {
        let mut state = self.inner.lock();
        let keys = state.cached.take();
        report_keys(&mut state, 0);
        drop(state);
        drop(keys);
    }

    fn new(
        urls: Vec<Url>,
        client: reqwest::Client,
        issuer: Option<Arc<str>>,
        settings: Settings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                urls,
                client,
                issuer,
                settings,
                state: Mutex::new(State::default()),
                fetches: AtomicU64::new(0),
                waiting: AtomicUsize::new(0),
            }),
        }
    }
}

impl fmt::Debug for JwksKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksKeyProvider")
            .field("urls", &self.urls().collect::<Vec<_>>())
            .field("bound_issuer", &self.bound_issuer())
            .field("settings", &self.inner.settings)
            .field("fetch_count", &self.fetch_count())
            .field("waiting_lookups", &self.waiting_lookups())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl KeyProvider for JwksKeyProvider {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        let arrival = Instant::now();
        let deadline = arrival + self.inner.settings.longest_wait();
        let mut slot = None;
        loop {
            let refresh = match self.inner.plan(request, arrival) {
                Plan::Ready(answer) => return answer,
                Plan::Wait(refresh) => refresh,
            };
            if slot.is_none() {
                slot = Some(
                    self.inner
                        .wait_slot()
                        .map_err(KeyLookupError::Unavailable)?,
                );
            }
            let Ok(attempt) = tokio::time::timeout_at(deadline, refresh).await else {
                let waited = arrival.elapsed();
                tracing::debug!(target: TARGET, ?waited, "a key lookup gave up waiting for the JWKS");
                return Err(KeyLookupError::Unavailable(Arc::new(
                    KeySourceError::WaitTimeout { waited },
                )));
            };
            match attempt.result {
                Ok(keys) => match keys.select(request.kid, request.algorithm) {
                    // The key may have been published after that fetch
                    // started: only a later set may call it unknown.
                    KeySelection::Unknown if attempt.started < arrival => continue,
                    selection => return selection.into_result(),
                },
                Err(error) => return Err(KeyLookupError::Unavailable(error)),
            }
        }
    }
}

/// One fetch of every URL: when it started (after any scheduled wait) and
/// what it brought.
#[derive(Clone)]
struct Attempt {
    started: Instant,
    result: RefreshResult,
}

type RefreshResult = Result<Arc<KeySet>, Arc<KeySourceError>>;
type Refresh = Shared<BoxFuture<'static, Attempt>>;

struct Inner {
    urls: Vec<Url>,
    client: reqwest::Client,
    /// Every parsed key is bound to this issuer, if set.
    issuer: Option<Arc<str>>,
    settings: Settings,
    state: Mutex<State>,
    fetches: AtomicU64,
    /// Lookups waiting for a fetch now.
    waiting: AtomicUsize,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The refresh running or scheduled now, if any.
    in_flight: Option<Refresh>,
    /// When the most recent refresh started, or when the scheduled one
    /// will.
    last_attempt: Option<Instant>,
    /// The most recent refresh, if it failed (cleared by a success).
    last_failure: Option<Failure>,
    /// How many keys this provider adds to the `ssr_session_jwks_keys`
    /// gauge (what `cached` holds, as last reported).
    reported_keys: usize,
}

struct Cached {
    keys: Arc<KeySet>,
    /// When the fetch that brought these keys started.
    fetched_at: Instant,
    fresh_until: Instant,
    stale_until: Instant,
}

struct Failure {
    /// When the failed fetch ended.
    at: Instant,
    error: Arc<KeySourceError>,
}

enum Plan {
    Ready(Result<Arc<VerifyingKey>, KeyLookupError>),
    Wait(Refresh),
}

/// A lookup's place among the waiting ones, given back when it is dropped
/// (answered, or its caller gone).
struct WaitSlot<'a>(&'a AtomicUsize);

impl Drop for WaitSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl State {
    /// The cached set, if it may still be served.
    fn usable(&self, now: Instant) -> Option<&Cached> {
        self.cached
            .as_ref()
            .filter(|cached| now < cached.stale_until)
    }

    /// Whether `retry_interval` has passed since the last attempt.
    fn retry_due(&self, now: Instant, retry_interval: Duration) -> bool {
        self.last_attempt
            .is_none_or(|at| now.saturating_duration_since(at) >= retry_interval)
    }

    /// Whether a background refresh may start: a stale set whose last
    /// refresh succeeded is due at once; after a failure, the retry
    /// interval since the last attempt must have passed.
    fn may_refresh(&self, now: Instant, retry_interval: Duration) -> bool {
        self.in_flight.is_none()
            && (self.last_failure.is_none() || self.retry_due(now, retry_interval))
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a place among the waiting lookups, if one is left.
    fn wait_slot(&self) -> Result<WaitSlot<'_>, Arc<KeySourceError>> {
        let limit = self.settings.max_waiting_lookups;
        let taken = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |waiting| {
                (waiting < limit).then_some(waiting + 1)
            });
        match taken {
            Ok(_) => Ok(WaitSlot(&self.waiting)),
            Err(_) => {
                metrics::jwks_waiter_turned_away();
                tracing::debug!(target: TARGET, limit, "too many key lookups waiting for the JWKS");
                Err(Arc::new(KeySourceError::TooManyWaiting { limit }))
            }
        }
    }

    /// Decides, under the lock and without waiting, how to answer a lookup
    /// that arrived at `arrival`.
    fn plan(self: &Arc<Self>, request: &KeyRequest<'_>, arrival: Instant) -> Plan {
        let mut state = self.lock();
        let now = Instant::now();
        let Some(cached) = state.usable(now) else {
            return match self.cold(&mut state, now) {
                Ok(refresh) => Plan::Wait(refresh),
                Err(error) => Plan::Ready(Err(KeyLookupError::Unavailable(error))),
            };
        };
        let fresh = now < cached.fresh_until;
        let fetched_after_arrival = cached.fetched_at >= arrival;
        let selection = cached.keys.select(request.kid, request.algorithm);
        if !matches!(selection, KeySelection::Unknown) {
            if !fresh {
                self.refresh_in_background(&mut state, now);
            }
            return Plan::Ready(selection.into_result());
        }
        if fetched_after_arrival {
            return Plan::Ready(Err(KeyLookupError::UnknownKey));
        }
        if let Some(refresh) = &state.in_flight {
            return Plan::Wait(refresh.clone());
        }
        if let Some(failure) = &state.last_failure
            && !state.retry_due(now, self.settings.retry_interval)
        {
            return Plan::Ready(Err(KeyLookupError::Unavailable(failure.error.clone())));
        }
        let at = state.last_attempt.map_or(now, |last| {
            (last + self.settings.unknown_kid_interval).max(now)
        });
        metrics::jwks_unknown_kid_refetch();
        Plan::Wait(self.start_refresh(&mut state, at, "unknown kid"))
    }

    /// Nothing servable is cached: join the refresh in flight, or give the
    /// recent failure, or start a refresh.
    fn cold(
        self: &Arc<Self>,
        state: &mut State,
        now: Instant,
    ) -> Result<Refresh, Arc<KeySourceError>> {
        state.cached = None;
        report_keys(state, 0);
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
        if state.may_refresh(now, self.settings.retry_interval) {
            drop(self.start_refresh(state, now, "expired"));
        }
    }

    /// Spawns a refresh that fetches at `at` (at once if that has passed)
    /// and records it as the one in flight. Called under the lock, so that
    /// two lookups never both start one.
    fn start_refresh(
        self: &Arc<Self>,
        state: &mut State,
        at: Instant,
        reason: &'static str,
    ) -> Refresh {
        tracing::debug!(
            target: TARGET,
            reason,
            starts_in = ?at.saturating_duration_since(Instant::now()),
            urls = ?self.urls.iter().map(Url::as_str).collect::<Vec<_>>(),
            "refreshing the JWKS"
        );
        state.last_attempt = Some(at);
        // Its own span, not the decision's: the fetch outlives the lookup
        // that started it and serves every lookup waiting on it.
        let span = tracing::info_span!(
            target: TARGET,
            "ssr_session.jwks_fetch",
            reason,
            result = tracing::field::Empty,
        );
        let task = tokio::spawn(Arc::clone(self).refresh(at).instrument(span));
        let refresh = async move {
            task.await.unwrap_or_else(|join_error| Attempt {
                started: at,
                result: Err(Arc::new(KeySourceError::Custom(Box::new(join_error)))),
            })
        }
        .boxed()
        .shared();
        state.in_flight = Some(refresh.clone());
        refresh
    }

    async fn refresh(self: Arc<Self>, at: Instant) -> Attempt {
        let mut guard = CommitOnDrop {
            inner: Arc::clone(&self),
            started: at,
            armed: true,
        };
        if at > Instant::now() {
            tokio::time::sleep_until(at).await;
        }
        // Timers fire late: the interval between fetches counts from the
        // real start, and lookups that arrived before it may take this
        // set's answer as final.
        let started = Instant::now();
        self.lock().last_attempt = Some(started);
        guard.started = started;
        let fetch_started = std::time::Instant::now();
        let result = self.fetch_all().await;
        let error = result.as_ref().err();
        metrics::jwks_fetch(error, fetch_started.elapsed());
        tracing::Span::current().record("result", if error.is_none() { "ok" } else { "error" });
        guard.armed = false;
        self.commit(started, result)
    }

    /// Records a refresh's result and clears the in-flight handle.
    fn commit(
        &self,
        started: Instant,
        result: Result<(KeySet, Duration), KeySourceError>,
    ) -> Attempt {
        let now = Instant::now();
        let mut state = self.lock();
        state.in_flight = None;
        let result = match result {
            Ok((keys, ttl)) => {
                let keys = Arc::new(keys);
                report_keys(&mut state, keys.keys().len());
                let fresh_until = now + ttl;
                state.cached = Some(Cached {
                    keys: keys.clone(),
                    fetched_at: started,
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
        };
        Attempt { started, result }
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
        let keys = KeySet::from_jwks_json_bound(&fetched.body, previous, self.issuer.as_ref())
            .map_err(|source| KeySourceError::Parse {
                url: url.to_string(),
                expected: "a JWKS document",
                source,
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
    started: Instant,
    armed: bool,
}

impl Drop for CommitOnDrop {
    fn drop(&mut self) {
        if self.armed {
            let error =
                KeySourceError::Custom("the JWKS refresh task ended before finishing".into());
            let _ = self.inner.commit(self.started, Err(error));
        }
    }
}

/// Moves the `ssr_session_jwks_keys` gauge by the change of this
/// provider's key count to `held`.
fn report_keys(state: &mut State, held: usize) {
    if held != state.reported_keys {
        metrics::jwks_keys_held(held as f64 - state.reported_keys as f64);
        state.reported_keys = held;
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        report_keys(state, 0);
    }
}

fn url_of(error: &KeySourceError) -> Option<&str> {
    match error {
        KeySourceError::Fetch { url, .. }
        | KeySourceError::Timeout { url, .. }
        | KeySourceError::Status { url, .. }
        | KeySourceError::TooLarge { url, .. }
        | KeySourceError::Parse { url, .. } => Some(url),
        KeySourceError::TooManyWaiting { .. }
        | KeySourceError::NewIssuerLimit
        | KeySourceError::WaitTimeout { .. }
        | KeySourceError::Custom(_) => None,
    }
}

/// `error: its source: its source…`.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
