//! An embedded dev issuer: an in-process stand-in for a SuperTokens backend.
//!
//! It signs SuperTokens v5 access tokens, serves them as `sAccessToken` / `sRefreshToken`
//! cookies, answers the refresh call the way `supertokens-website` expects, and publishes a
//! JWKS with rotation. Example apps merge [`DevIssuer::router`] into their own router (same
//! origin, like a real app with `apiBasePath = /auth`); tests use [`DevIssuer::serve`].
//!
//! Routes (under the base path, `/auth` by default):
//!
//! | route | answer |
//! |---|---|
//! | `GET /auth/jwt/jwks.json` | the JWKS, `Cache-Control: max-age=N, must-revalidate` |
//! | `GET /auth/dev/signin?userId=&redirectTo=` | `303` to `redirectTo`, session cookies set |
//! | `POST /auth/dev/signin` (JSON or form `userId`) | `200 {"status":"OK","userId":..}`, cookies set |
//! | `POST /auth/session/refresh` | `200 {}` + new cookies, or `401 {"message":"unauthorised"}` |
//! | `POST /auth/signout` | `200 {"status":"OK"}`, session revoked, cookies cleared |
//! | `GET /auth?redirectToPath=` | a login page linking to the sign-in route |
//!
//! Test controls, for tests that run an example app as a subprocess (dev only, like the rest):
//!
//! | route | answer |
//! |---|---|
//! | `POST /auth/dev/revoke-all` | `200 {"status":"OK"}`; every refresh token revoked |
//! | `POST /auth/dev/refresh-mode?mode=normal\|unverifiable\|expired` | `200 {"refreshMode":..}`; see [`RefreshMode`] |
//! | `GET /auth/dev/stats` | `200 {"refreshCalls":N,"jwksRequests":M}` |
//! | `GET /auth/dev/expired-access-token?userId=` | `200 {"accessToken":..}`: correctly signed, expired a minute ago |
//! | `GET /auth/dev/access-tokens` | the request's `sAccessToken` cookies in the order sent, decoded without verification: `{"tokens":[{"sub","exp","kid"}..]}` |
//! | `POST /auth/dev/jwks-outage?on=true\|false` | `200 {"jwksOutage":..}`; while on, the JWKS route answers `503` (the soak's injected outage) |
//! | `GET /auth/dev/expired-token?userId=` | `200`, a correctly signed access token that expired a minute ago, as text |
//!
//! Not a security boundary: anyone can sign in as anyone. Never expose it beyond localhost.

mod routes;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use ssr_session::Algorithm;
use ssr_session::testing::{self, TestKey, TokenBuilder};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Configuration of a [`DevIssuer`].
#[derive(Clone, Debug)]
pub struct DevIssuerConfig {
    /// Access token lifetime in seconds (default 60, short so refresh paths get exercised).
    pub access_token_secs: i64,
    /// Signing algorithm of the issuer's keys (default `RS256`, as SuperTokens uses). An
    /// `HS*` algorithm publishes its secret as an `oct` JWK: only for negative tests.
    pub algorithm: Algorithm,
    /// Base path of all routes (default `/auth`, SuperTokens' `apiBasePath`).
    pub api_base_path: String,
    /// The tokens' `iss`: apiDomain + apiBasePath (default `http://127.0.0.1/auth`).
    pub issuer: String,
    /// `max-age` of the JWKS response in seconds (default 60, the backend's fallback).
    pub jwks_max_age_secs: u64,
}

impl Default for DevIssuerConfig {
    fn default() -> Self {
        DevIssuerConfig {
            access_token_secs: 60,
            algorithm: Algorithm::RS256,
            api_base_path: "/auth".to_owned(),
            issuer: "http://127.0.0.1/auth".to_owned(),
            jwks_max_age_secs: 60,
        }
    }
}

/// How the refresh route answers a live refresh token: a test control for refresh loops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RefreshMode {
    /// New, valid tokens: what a real backend does.
    #[default]
    Normal,
    /// `200` and new cookies, but the access token is signed by a key that is not in the
    /// JWKS (its `kid` starts with `rogue-`): the app finds it invalid.
    Unverifiable,
    /// `200` and new cookies, but the access token expired a minute ago (correctly signed),
    /// as when the auth server's clock is behind the app's: the app asks for a refresh again.
    Expired,
}

impl RefreshMode {
    /// The mode's name in the `refresh-mode` route: `normal`, `unverifiable`, `expired`.
    pub fn name(self) -> &'static str {
        match self {
            RefreshMode::Normal => "normal",
            RefreshMode::Unverifiable => "unverifiable",
            RefreshMode::Expired => "expired",
        }
    }

    /// The mode called `name` (see [`name`](Self::name)).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            RefreshMode::Normal,
            RefreshMode::Unverifiable,
            RefreshMode::Expired,
        ]
        .into_iter()
        .find(|mode| mode.name() == name)
    }

    fn from_u8(value: u8) -> Self {
        match value {
            1 => RefreshMode::Unverifiable,
            2 => RefreshMode::Expired,
            _ => RefreshMode::Normal,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            RefreshMode::Normal => 0,
            RefreshMode::Unverifiable => 1,
            RefreshMode::Expired => 2,
        }
    }
}

/// What a sign-in or a refresh hands to the browser.
#[derive(Clone, Debug)]
pub struct DevSession {
    /// The user the session belongs to.
    pub user_id: String,
    /// The access token (the `sAccessToken` cookie).
    pub access_token: String,
    /// The opaque refresh token (the `sRefreshToken` cookie), live until used or revoked.
    pub refresh_token: String,
    /// The `front-token` header: base64 of `{"uid","ate" (ms),"up" (payload)}`.
    pub front_token: String,
}

/// The dev issuer. Cheap to clone; clones share keys, sessions and counters.
#[derive(Clone)]
pub struct DevIssuer {
    inner: Arc<Inner>,
}

struct Inner {
    config: DevIssuerConfig,
    base_path: String,
    state: Mutex<State>,
    refresh_calls: AtomicU64,
    jwks_requests: AtomicU64,
    refresh_mode: AtomicU8,
    /// Signs the tokens of the unverifiable-refresh mode; never published.
    rogue_key: OnceLock<TestKey>,
    /// While set, the JWKS route answers 503 (an injected outage).
    jwks_outage: AtomicBool,
}

struct State {
    issuer: String,
    /// Published keys, oldest first; the last one signs. Never empty.
    keys: Vec<TestKey>,
    last_kid_ms: i64,
    /// Live refresh token → (user id, session handle).
    refresh_tokens: HashMap<String, (String, String)>,
}

impl DevIssuer {
    /// A new issuer with one fresh signing key and no sessions.
    pub fn new(config: DevIssuerConfig) -> Self {
        let base_path = config.api_base_path.trim_end_matches('/').to_owned();
        let ms = now_ms();
        let key = TestKey::generate(config.algorithm, format!("d-{ms}"));
        let state = State {
            issuer: config.issuer.clone(),
            keys: vec![key],
            last_kid_ms: ms,
            refresh_tokens: HashMap::new(),
        };
        DevIssuer {
            inner: Arc::new(Inner {
                config,
                base_path,
                state: Mutex::new(state),
                refresh_calls: AtomicU64::new(0),
                jwks_requests: AtomicU64::new(0),
                refresh_mode: AtomicU8::new(RefreshMode::Normal.to_u8()),
                rogue_key: OnceLock::new(),
                jwks_outage: AtomicBool::new(false),
            }),
        }
    }

    /// A router with all routes under the base path, to merge into an app on the same origin.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Serves the issuer alone on `addr` (e.g. `"127.0.0.1:0"`). It stops when the returned
    /// [`RunningIssuer`] is dropped or shut down. The `iss` is not changed: call
    /// [`set_issuer`](Self::set_issuer) with [`RunningIssuer::base_url`] if it matters.
    pub async fn serve(&self, addr: impl ToSocketAddrs) -> io::Result<RunningIssuer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, signal) = oneshot::channel::<()>();
        let server = axum::serve(listener, self.router()).with_graceful_shutdown(async move {
            // A send or a dropped sender both mean "stop".
            let _ = signal.await;
        });
        Ok(RunningIssuer {
            addr,
            base_path: self.inner.base_path.clone(),
            shutdown: Some(shutdown),
            task: Some(tokio::spawn(server.into_future())),
        })
    }

    /// Sets the `iss` of tokens minted from now on.
    pub fn set_issuer(&self, issuer: impl Into<String>) {
        self.state().issuer = issuer.into();
    }

    /// The `iss` put in tokens.
    pub fn issuer(&self) -> String {
        self.state().issuer.clone()
    }

    /// The normalised base path (no trailing slash; empty for the root).
    pub fn base_path(&self) -> &str {
        &self.inner.base_path
    }

    /// A valid access token for `user_id`, signed with the current key. No refresh token is
    /// created; see [`mint_session`](Self::mint_session) for that.
    pub fn mint_access_token(&self, user_id: &str) -> String {
        let handle = session_handle();
        self.access_token(user_id, &handle, self.inner.config.access_token_secs, None)
            .0
    }

    /// An access token for `user_id` that expired a minute ago (correctly signed).
    pub fn mint_expired_access_token(&self, user_id: &str) -> String {
        let handle = session_handle();
        self.access_token(user_id, &handle, -60, None).0
    }

    /// Starts a session for `user_id`: an access token and a live refresh token.
    pub fn mint_session(&self, user_id: &str) -> DevSession {
        let lifetime = self.inner.config.access_token_secs;
        self.issue(user_id, &session_handle(), lifetime, None)
    }

    /// The JWKS document currently published.
    pub fn jwks(&self) -> Value {
        let keys = self.state().keys.clone();
        testing::jwks(&keys.iter().collect::<Vec<_>>())
    }

    /// The `kid` of the key that signs new tokens.
    pub fn current_kid(&self) -> String {
        self.current_key().kid().to_owned()
    }

    /// Signs `token` with the key that signs new tokens (its `alg` and `kid` go in the header
    /// unless set explicitly): for tests that need tokens of unusual shapes from this issuer,
    /// such as the interop suite's structure checks against supertokens-node.
    pub fn sign(&self, token: &TokenBuilder) -> String {
        token.sign(&self.current_key())
    }

    /// Adds a new signing key (`kid` `d-<ms>`); older keys stay in the JWKS until
    /// [`retire_old_keys`](Self::retire_old_keys).
    pub fn rotate_keys(&self) {
        // Key generation (RSA: tens of ms) happens outside the lock.
        let candidate_ms = now_ms();
        let key = TestKey::generate(self.inner.config.algorithm, "pending");
        let mut state = self.state();
        let ms = candidate_ms.max(state.last_kid_ms + 1);
        state.last_kid_ms = ms;
        state.keys.push(key.with_kid(format!("d-{ms}")));
    }

    /// Removes every key but the current one from the JWKS.
    pub fn retire_old_keys(&self) {
        let mut state = self.state();
        let current = state.keys.pop().expect("at least one key");
        state.keys = vec![current];
    }

    /// Revokes every refresh token (a sign-out elsewhere): the next refresh answers 401.
    pub fn revoke_all_refresh_tokens(&self) {
        self.state().refresh_tokens.clear();
    }

    /// Loop-guard test mode: refresh still answers 200, but the new access token is signed by
    /// a key that is not in the JWKS (its `kid` starts with `rogue-`).
    pub fn set_refresh_issues_unverifiable_tokens(&self, on: bool) {
        let mode = if on {
            RefreshMode::Unverifiable
        } else {
            RefreshMode::Normal
        };
        self.set_refresh_mode(mode);
    }

    /// Sets how refresh answers a live refresh token (see [`RefreshMode`]).
    pub fn set_refresh_mode(&self, mode: RefreshMode) {
        self.inner
            .refresh_mode
            .store(mode.to_u8(), Ordering::SeqCst);
    }

    /// How refresh answers a live refresh token.
    pub fn refresh_mode(&self) -> RefreshMode {
        RefreshMode::from_u8(self.inner.refresh_mode.load(Ordering::SeqCst))
    }

    /// How many refresh calls were received (successful or not).
    pub fn refresh_calls(&self) -> u64 {
        self.inner.refresh_calls.load(Ordering::SeqCst)
    }

    /// Injects a JWKS outage: while `on`, the JWKS route answers `503`.
    pub fn set_jwks_outage(&self, on: bool) {
        self.inner.jwks_outage.store(on, Ordering::SeqCst);
    }

    /// Whether a JWKS outage is being injected.
    pub fn is_jwks_outage(&self) -> bool {
        self.inner.jwks_outage.load(Ordering::SeqCst)
    }

    /// How many JWKS requests were served.
    pub fn jwks_requests(&self) -> u64 {
        self.inner.jwks_requests.load(Ordering::SeqCst)
    }

    /// Counts one call of the refresh route.
    fn count_refresh_call(&self) {
        self.inner.refresh_calls.fetch_add(1, Ordering::SeqCst);
    }

    /// Consumes `refresh_token` if it is live and continues its session with new tokens.
    fn refresh(&self, refresh_token: &str) -> Option<DevSession> {
        let (user_id, handle) = self.state().refresh_tokens.remove(refresh_token)?;
        let lifetime = self.inner.config.access_token_secs;
        let session = match self.refresh_mode() {
            RefreshMode::Normal => self.issue(&user_id, &handle, lifetime, None),
            RefreshMode::Unverifiable => {
                let rogue = self.inner.rogue_key.get_or_init(|| {
                    TestKey::generate(self.inner.config.algorithm, format!("rogue-{}", now_ms()))
                });
                self.issue(&user_id, &handle, lifetime, Some(rogue))
            }
            RefreshMode::Expired => self.issue(&user_id, &handle, -60, None),
        };
        Some(session)
    }

    /// Ends the session `session_handle` (revokes its refresh tokens).
    fn revoke_session(&self, session_handle: &str) {
        self.state()
            .refresh_tokens
            .retain(|_, (_, handle)| handle != session_handle);
    }

    /// The session handle a refresh token belongs to, if it is live.
    fn session_of_refresh_token(&self, refresh_token: &str) -> Option<String> {
        let state = self.state();
        state
            .refresh_tokens
            .get(refresh_token)
            .map(|(_, handle)| handle.clone())
    }

    /// Signs an access token with `key` (default: the current key) and starts a refresh token.
    fn issue(
        &self,
        user_id: &str,
        handle: &str,
        lifetime_secs: i64,
        key: Option<&TestKey>,
    ) -> DevSession {
        let (access_token, payload) = self.access_token(user_id, handle, lifetime_secs, key);
        let refresh_token = testing::random_hex(32);
        self.state().refresh_tokens.insert(
            refresh_token.clone(),
            (user_id.to_owned(), handle.to_owned()),
        );
        let exp_ms = payload["exp"].as_i64().unwrap_or_default() * 1000;
        let front = json!({ "uid": user_id, "ate": exp_ms, "up": payload });
        DevSession {
            user_id: user_id.to_owned(),
            access_token,
            refresh_token,
            front_token: STANDARD.encode(front.to_string()),
        }
    }

    /// Signs a v5 access token; returns it with its payload.
    fn access_token(
        &self,
        user_id: &str,
        handle: &str,
        lifetime_secs: i64,
        key: Option<&TestKey>,
    ) -> (String, Value) {
        let key = key.cloned().unwrap_or_else(|| self.current_key());
        let builder = TokenBuilder::supertokens(user_id, lifetime_secs)
            .claim("iss", self.issuer())
            .claim("sessionHandle", handle);
        let payload = Value::Object(builder.claims().clone());
        (builder.sign(&key), payload)
    }

    fn current_key(&self) -> TestKey {
        self.state().keys.last().expect("at least one key").clone()
    }

    fn jwks_response_parts(&self) -> (u64, Value) {
        self.inner.jwks_requests.fetch_add(1, Ordering::SeqCst);
        (self.inner.config.jwks_max_age_secs, self.jwks())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated; keep serving.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("config", &self.inner.config)
            .field("current_kid", &self.current_kid())
            .finish_non_exhaustive()
    }
}

/// A [`DevIssuer`] served on its own socket. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningIssuer {
    addr: SocketAddr,
    base_path: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningIssuer {
    /// The bound address (with the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr><base path>`: apiDomain + apiBasePath, i.e. the right `iss`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.base_path)
    }

    /// The JWKS URL, `<base_url>/jwt/jwks.json`.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwt/jwks.json", self.base_url())
    }

    /// Stops the server gracefully and waits for it to finish.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// A fresh uuid-shaped session handle.
fn session_handle() -> String {
    let hex = testing::random_hex(16);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
