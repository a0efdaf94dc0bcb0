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
//! | `POST /auth/signout` | `200 {"status":"OK"}`, session revoked (refresh tokens, and the access token through the app's revocation list), cookies cleared; `503` with `Retry-After` when the list could not record it everywhere (see [`NotRecorded`]) |
//! | `POST /auth/signout-everywhere` | `200 {"status":"OK"}`: every session of the request's user revoked, cookies cleared; `503` with `Retry-After` as for `/auth/signout` |
//! | `GET /auth?redirectToPath=` | a login page: user id, roles, permissions, verified email, tenant |
//!
//! Sign-in takes the user's SDK claims as parameters (query or body):
//! `roles=admin,editor`, `permissions=read,write`, `emailVerified=true|false`, `tenant=acme`.
//! They are stored as the user's claims (the "database"), and put in the session's
//! tokens as SuperTokens does: `st-role` / `st-perm` / `st-ev` as `{"v": …, "t": <ms>}`, the
//! tenant as `tId`. A refresh carries the session's claims over unchanged, as supertokens-node
//! does, unless `claims-on-refresh` is `refetch`.
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
//! | `POST /auth/dev/rotate` | `200 {"kid":..}`: a new key, published and signing at once (an issuer that does not publish ahead) |
//! | `POST /auth/dev/user-claims?userId=&roles=..` | `200`: the user's stored claims replaced (what a refetch finds) |
//! | `POST /auth/dev/claims-on-refresh?mode=keep\|refetch` | `200 {"claimsOnRefresh":..}`: `refetch` makes a refresh read the stored claims again, with a new fetch time |
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
use ssr_session::keys::Algorithm;
use ssr_session::testing::{self, TestKey, TokenBuilder};
use ssr_session::{Revoke, revocation::RevocationError};
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

/// A user's SuperTokens SDK claims, as sign-in parameters and as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct UserClaims {
    /// Roles (`st-role`), comma-separated in parameters.
    #[serde(default, deserialize_with = "comma_list")]
    pub roles: Option<Vec<String>>,
    /// Permissions (`st-perm`), comma-separated in parameters.
    #[serde(default, deserialize_with = "comma_list")]
    pub permissions: Option<Vec<String>>,
    /// Whether the email is verified (`st-ev`).
    #[serde(default, rename = "emailVerified", deserialize_with = "flag")]
    pub email_verified: Option<bool>,
    /// The tenant (`tId`; `public` when absent).
    #[serde(default)]
    pub tenant: Option<String>,
}

impl UserClaims {
    /// `true` when no claim is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn comma_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let raw: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(raw.map(|raw| {
        raw.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }))
}

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let raw: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(raw.and_then(|raw| match raw.as_str() {
        "true" | "on" | "1" => Some(true),
        "false" | "off" | "0" => Some(false),
        _ => None,
    }))
}

/// Whether a refresh carries the session's claims over (`Keep`, as supertokens-node does)
/// or reads the user's stored claims again with a new fetch time (`Refetch`, a backend that
/// refetches claims while refreshing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClaimsOnRefresh {
    /// The claims (and their fetch times) of the session, unchanged.
    #[default]
    Keep,
    /// The user's stored claims, fetched now.
    Refetch,
}

/// `Retry-After` of a sign-out the revocation list did not share (Redis did not
/// acknowledge it): about when `ssr-session-redis`' retry queue, which tries again every
/// 2 s at most, has written it once Redis is back.
const SIGN_OUT_RETRY_AFTER_SECS: u64 = 3;

/// A revocation the sink could not confirm everywhere (the shared store did not
/// acknowledge it): the sign-out is not a success. The routes answer `503` with
/// `Retry-After` (a short page for a navigation, JSON for a data request) and keep the
/// cookies, so that the browser can sign out again; repeating it is harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRecorded {
    /// When to try again (`Retry-After`, seconds).
    pub retry_after_secs: u64,
    /// Whether it will still reach everywhere by itself (queued), as opposed to holding
    /// only where it was applied.
    pub queued: bool,
}

/// What a session's tokens carry besides the user id.
#[derive(Clone, Debug)]
struct SessionRecord {
    user_id: String,
    handle: String,
    claims: UserClaims,
    /// When the claims were fetched (ms): their `t`.
    claims_fetched_ms: i64,
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
    refetch_claims: AtomicBool,
    revocations: Mutex<Option<Arc<dyn Revoke>>>,
}

struct State {
    issuer: String,
    /// Published keys, oldest first; the last one signs. Never empty.
    keys: Vec<TestKey>,
    last_kid_ms: i64,
    /// Live refresh token → its session.
    refresh_tokens: HashMap<String, SessionRecord>,
    /// The users' stored claims (what a refetch finds).
    users: HashMap<String, UserClaims>,
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
            users: HashMap::new(),
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
                refetch_claims: AtomicBool::new(false),
                revocations: Mutex::new(None),
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
        let record = self.new_record(user_id, None);
        self.access_token(&record, self.inner.config.access_token_secs, None)
            .0
    }

    /// An access token for `user_id` that expired a minute ago (correctly signed).
    pub fn mint_expired_access_token(&self, user_id: &str) -> String {
        let record = self.new_record(user_id, None);
        self.access_token(&record, -60, None).0
    }

    /// Starts a session for `user_id`: an access token and a live refresh token.
    pub fn mint_session(&self, user_id: &str) -> DevSession {
        self.sign_in(user_id, None)
    }

    /// Signs `user_id` in. With `claims`, they become the user's stored claims first;
    /// without, the stored ones (if any) go in the session.
    pub fn sign_in(&self, user_id: &str, claims: Option<UserClaims>) -> DevSession {
        let record = self.new_record(user_id, claims);
        let lifetime = self.inner.config.access_token_secs;
        self.issue(record, lifetime, None)
    }

    /// Replaces the stored claims of `user_id` (what a refetch finds).
    pub fn set_user_claims(&self, user_id: &str, claims: UserClaims) {
        self.state().users.insert(user_id.to_owned(), claims);
    }

    /// Sets whether a refresh fetches the user's claims again (see [`ClaimsOnRefresh`]).
    pub fn set_claims_on_refresh(&self, mode: ClaimsOnRefresh) {
        let refetch = mode == ClaimsOnRefresh::Refetch;
        self.inner.refetch_claims.store(refetch, Ordering::SeqCst);
    }

    /// Whether a refresh fetches the user's claims again.
    pub fn claims_on_refresh(&self) -> ClaimsOnRefresh {
        if self.inner.refetch_claims.load(Ordering::SeqCst) {
            ClaimsOnRefresh::Refetch
        } else {
            ClaimsOnRefresh::Keep
        }
    }

    /// Records every revocation (sign-out, sign-out everywhere) in `revocations` from
    /// now on: the app's revocation list, whichever it is (in memory, or shared
    /// through Redis).
    pub fn set_revocations(&self, revocations: Arc<dyn Revoke>) {
        *self
            .inner
            .revocations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(revocations);
    }

    /// The app's revocation list, if it gave one.
    fn revocations(&self) -> Option<Arc<dyn Revoke>> {
        self.inner
            .revocations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// A new session's record: `claims` stored as the user's if given.
    fn new_record(&self, user_id: &str, claims: Option<UserClaims>) -> SessionRecord {
        let mut state = self.state();
        let claims = match claims {
            Some(claims) => {
                state.users.insert(user_id.to_owned(), claims.clone());
                claims
            }
            None => state.users.get(user_id).cloned().unwrap_or_default(),
        };
        SessionRecord {
            user_id: user_id.to_owned(),
            handle: session_handle(),
            claims,
            claims_fetched_ms: now_ms(),
        }
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

    /// Adds a new signing key (`kid` `d-<ms>`), published and signing at once (an issuer
    /// that does not publish ahead, unlike SuperTokens' core); older keys stay in the JWKS
    /// until [`retire_old_keys`](Self::retire_old_keys).
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
        let mut record = self.state().refresh_tokens.remove(refresh_token)?;
        if self.claims_on_refresh() == ClaimsOnRefresh::Refetch {
            record.claims = self
                .state()
                .users
                .get(&record.user_id)
                .cloned()
                .unwrap_or_default();
            record.claims_fetched_ms = now_ms();
        }
        let lifetime = self.inner.config.access_token_secs;
        let session = match self.refresh_mode() {
            RefreshMode::Normal => self.issue(record, lifetime, None),
            RefreshMode::Unverifiable => {
                let rogue = self.inner.rogue_key.get_or_init(|| {
                    TestKey::generate(self.inner.config.algorithm, format!("rogue-{}", now_ms()))
                });
                self.issue(record, lifetime, Some(rogue))
            }
            RefreshMode::Expired => self.issue(record, -60, None),
        };
        Some(session)
    }

    /// Ends the session `session_handle`: its refresh tokens, and its access tokens at the
    /// app through its revocation list.
    async fn sign_out_session(&self, session_handle: &str) -> Result<(), NotRecorded> {
        self.state()
            .refresh_tokens
            .retain(|_, record| record.handle != session_handle);
        match self.revocations() {
            Some(list) => list
                .revoke_session(session_handle)
                .await
                .map_err(not_recorded),
            None => Ok(()),
        }
    }

    /// Ends every session of `user_id`: refresh tokens, and (through the revocation list)
    /// every access token issued up to now, this second included.
    async fn sign_out_everywhere(&self, user_id: &str) -> Result<(), NotRecorded> {
        self.state()
            .refresh_tokens
            .retain(|_, record| record.user_id != user_id);
        match self.revocations() {
            Some(list) => list.revoke_user(user_id).await.map_err(not_recorded),
            None => Ok(()),
        }
    }

    /// The session handle a refresh token belongs to, if it is live.
    fn session_of_refresh_token(&self, refresh_token: &str) -> Option<String> {
        let state = self.state();
        state
            .refresh_tokens
            .get(refresh_token)
            .map(|record| record.handle.clone())
    }

    /// Signs an access token with `key` (default: the current key) and starts a refresh token.
    fn issue(
        &self,
        record: SessionRecord,
        lifetime_secs: i64,
        key: Option<&TestKey>,
    ) -> DevSession {
        let (access_token, payload) = self.access_token(&record, lifetime_secs, key);
        let refresh_token = testing::random_hex(32);
        let user_id = record.user_id.clone();
        self.state()
            .refresh_tokens
            .insert(refresh_token.clone(), record);
        let exp_ms = payload["exp"].as_i64().unwrap_or_default() * 1000;
        let front = json!({ "uid": user_id, "ate": exp_ms, "up": payload });
        DevSession {
            user_id,
            access_token,
            refresh_token,
            front_token: STANDARD.encode(front.to_string()),
        }
    }

    /// Signs a v5 access token for `record`; returns it with its payload.
    fn access_token(
        &self,
        record: &SessionRecord,
        lifetime_secs: i64,
        key: Option<&TestKey>,
    ) -> (String, Value) {
        let key = key.cloned().unwrap_or_else(|| self.current_key());
        let mut builder = TokenBuilder::supertokens(&record.user_id, lifetime_secs)
            .claim("iss", self.issuer())
            .claim("sessionHandle", record.handle.as_str());
        let t = record.claims_fetched_ms;
        let claims = &record.claims;
        if let Some(roles) = &claims.roles {
            builder = builder.claim("st-role", json!({ "v": roles, "t": t }));
        }
        if let Some(permissions) = &claims.permissions {
            builder = builder.claim("st-perm", json!({ "v": permissions, "t": t }));
        }
        if let Some(verified) = claims.email_verified {
            builder = builder.claim("st-ev", json!({ "v": verified, "t": t }));
        }
        if let Some(tenant) = &claims.tenant {
            builder = builder.claim("tId", tenant.as_str());
        }
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

/// What the sign-out routes answer when the list did not record a revocation
/// everywhere: held on this server (and queued for the others, or not), or a plain
/// failure, which the routes answer the same way, as not shared.
fn not_recorded(error: RevocationError) -> NotRecorded {
    eprintln!("a revocation is not recorded everywhere yet: {error}");
    NotRecorded {
        retry_after_secs: SIGN_OUT_RETRY_AFTER_SECS,
        queued: error.is_queued(),
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
