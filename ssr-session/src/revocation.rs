//! Revocation: sessions signed out before their access tokens expire.
//!
//! A JWT stays valid until `exp`, so without this a sign-out, a "sign out
//! of all devices", a password change or a ban reaches server-rendered
//! pages only when the token expires. A [`RevocationList`] is consulted
//! after a token verifies **and on every verified-token cache hit**; the
//! check is synchronous on purpose: it must answer from memory, never with
//! a network call per request. [`Revoke`] is the one way to revoke,
//! whichever list: [`MemoryRevocations`] is the in-memory set for one
//! process (and the building block of shared implementations such as
//! `ssr-session-redis`, which keep one in step across replicas).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::session::Session;

/// One revocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Revocation {
    /// One session (SuperTokens' `sessionHandle`): every access token of
    /// that sign-in.
    Session {
        /// The session handle.
        handle: String,
    },
    /// Every session of a user whose token was issued (`iat`) before
    /// `before` (seconds since the Unix epoch): "sign out everywhere", a
    /// password change, a ban. A token issued in the same second as
    /// `before` or later survives, so pass the moment of the revocation
    /// rounded up if nothing issued in that second may survive.
    User {
        /// The user id (`sub`).
        user_id: String,
        /// Tokens issued strictly before this time are revoked.
        before: i64,
    },
}

impl Revocation {
    /// Revokes the session `handle` (SuperTokens' `sessionHandle`).
    pub fn session(handle: impl Into<String>) -> Self {
        Self::Session {
            handle: handle.into(),
        }
    }

    /// Revokes every token of `user_id` issued strictly before `before`
    /// (seconds since the Unix epoch). [`Revoke::revoke_user`] dates it
    /// with the current time.
    pub fn user(user_id: impl Into<String>, before: i64) -> Self {
        Self::User {
            user_id: user_id.into(),
            before,
        }
    }
}

/// A revocation list could not answer: the session cannot be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The list has not been synchronised for longer than allowed.
    #[error("the revocation list is stale: last synchronised {age:?} ago (limit {limit:?})")]
    Stale {
        /// Time since the last successful synchronisation.
        age: Duration,
        /// The configured maximum staleness.
        limit: Duration,
    },
    /// A [revoke](Revoke::revoke) that holds in this process but that the
    /// list's shared store (Redis, say) did not acknowledge: the other
    /// replicas may not know it yet. Not a success: tell the user it is not
    /// done everywhere yet. Revoking again is harmless.
    #[error("{}", if *.queued {
        "the revocation holds on this replica and is queued for the other replicas"
    } else {
        "the revocation holds on this replica only"
    })]
    AppliedLocally {
        /// `true` when it is queued to be shared, and reaches the other
        /// replicas with no further call; `false` when it holds here only
        /// (revoke again later).
        queued: bool,
        /// Why the store did not take it (for `ssr-session-redis`, its
        /// `RedisRevocationsError`).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The list's own failure.
    #[error("the revocation list failed")]
    Custom(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl RevocationError {
    /// `true` for a revocation that is in force in this process although
    /// the shared store did not take it
    /// ([`AppliedLocally`](Self::AppliedLocally)), as opposed to a plain
    /// failure.
    pub fn is_applied_locally(&self) -> bool {
        matches!(self, Self::AppliedLocally { .. })
    }

    /// `true` for a revocation in force in this process and queued to be
    /// shared: it reaches every replica with no further call.
    pub fn is_queued(&self) -> bool {
        matches!(self, Self::AppliedLocally { queued: true, .. })
    }
}

/// Answers "is this verified session revoked?", from memory.
///
/// Called on every verified request, cache hits included, so `is_revoked`
/// must not block on IO: keep the revocations in memory and bring them up
/// to date in the background. `now` is the verifier's clock
/// ([`VerifierBuilder::clock`](crate::verify::VerifierBuilder::clock), seconds
/// since the Unix epoch), the same moment `exp`, `nbf` and the claim
/// validators are judged at: judge by it rather than by a clock of your
/// own, so that a revocation and an expiry are never decided at two
/// different times. `Err` means the list cannot vouch for the
/// session (it is too stale, say): the request is answered *unavailable*
/// (503), never *invalid*.
///
/// A revoked session is *invalid* (kind `revoked`): an HTML navigation
/// goes to the login page with the cookie cleared and a data request gets
/// `401 unauthorised`. Not *needs refresh*: the session is gone at the auth
/// server too, so the refresh would fail anyway, and costs a round trip.
///
/// A complete implementation over a table you keep yourself (here a
/// `Vec`; a SQL table loaded at start and followed by notifications is the
/// same shape):
///
/// ```
/// use std::sync::RwLock;
/// use ssr_session::{revocation::RevocationError, RevocationList, Session};
///
/// /// Revoked session handles, refreshed by a background task.
/// struct RevokedHandles(RwLock<Vec<String>>);
///
/// impl<C> RevocationList<C> for RevokedHandles {
///     fn is_revoked(&self, session: &Session<C>, _now: i64) -> Result<bool, RevocationError> {
///         let handles = self.0.read().unwrap();
///         Ok(session.session_handle().is_some_and(|h| handles.iter().any(|r| r == h)))
///     }
/// }
/// ```
pub trait RevocationList<C>: Send + Sync + 'static {
    /// `Ok(true)` when the session is revoked at `now` (the verifier's
    /// clock, seconds since the Unix epoch).
    fn is_revoked(&self, session: &Session<C>, now: i64) -> Result<bool, RevocationError>;
}

impl<C, L: RevocationList<C> + ?Sized> RevocationList<C> for Arc<L> {
    fn is_revoked(&self, session: &Session<C>, now: i64) -> Result<bool, RevocationError> {
        (**self).is_revoked(session, now)
    }
}

/// Revokes sessions: the one way to write to a revocation list, whichever
/// it is ([`MemoryRevocations`] in one process, `RedisRevocations` from
/// `ssr-session-redis` across replicas).
///
/// Async and object-safe, so that a sign-out handler holds an
/// `Arc<dyn Revoke>` and never needs to know which list is behind it. The
/// same value is the verifier's [`RevocationList`]: give the verifier one
/// clone and keep the other.
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use ssr_session::{
///     JwksKeyProvider, MemoryRevocations, Revoke, RevocationList, SuperTokensClaims, Verifier,
/// };
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let memory = Arc::new(MemoryRevocations::new(Duration::from_secs(3600)));
/// // With Redis (`ssr-session-redis`), an `Arc<RedisRevocations>` takes the
/// // memory list's place in the two lines below and nothing else changes:
/// //     let redis = Arc::new(RedisRevocations::builder(url).connect().await?);
/// // An app that makes Redis optional picks one of the two here.
/// let list: Arc<dyn RevocationList<SuperTokensClaims>> = memory.clone();
/// let revocations: Arc<dyn Revoke> = memory.clone();
///
/// let keys = JwksKeyProvider::for_supertokens("https://api.example.com").build()?;
/// let verifier = Verifier::builder(keys).revocation_list(list).build()?;
///
/// // A sign-out handler needs only the `Arc<dyn Revoke>`.
/// revocations.revoke_session("the-session-handle").await?;
/// revocations.revoke_user("user-1").await?;
///
/// // Which the verifier's list now answers, from memory.
/// let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
/// assert!(memory.is_session_revoked("the-session-handle", now));
/// assert!(memory.is_user_token_revoked("user-1", Some(now - 60), now));
/// # drop(verifier);
/// # Ok(())
/// # }
/// ```
///
/// A complete implementation, for a list of your own that records
/// revocations in a table and in the set it answers from:
///
/// ```
/// use std::sync::Mutex;
/// use ssr_session::{async_trait, MemoryRevocations, Revocation, revocation::RevocationError, Revoke};
///
/// struct Audited {
///     /// What `is_revoked` answers from.
///     memory: MemoryRevocations,
///     /// Stands for a table in a database.
///     table: Mutex<Vec<Revocation>>,
/// }
///
/// #[async_trait]
/// impl Revoke for Audited {
///     async fn revoke(&self, revocation: &Revocation) -> Result<(), RevocationError> {
///         self.table.lock().map_err(|_| {
///             RevocationError::Custom("the table is poisoned".into())
///         })?.push(revocation.clone());
///         self.memory.revoke(revocation).await
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let list = Audited {
///     memory: MemoryRevocations::new(std::time::Duration::from_secs(3600)),
///     table: Mutex::new(Vec::new()),
/// };
/// list.revoke_session("h1").await.unwrap();
/// assert_eq!(*list.table.lock().unwrap(), [Revocation::session("h1")]);
/// # });
/// ```
#[async_trait]
pub trait Revoke: Send + Sync + 'static {
    /// Records `revocation`; from then on a session it matches is
    /// *invalid* (kind `revoked`). Revoking again is harmless.
    ///
    /// `Err` when it may not hold everywhere it should:
    /// [`is_applied_locally`](RevocationError::is_applied_locally) tells a
    /// revocation in force in this process but not shared (yet) from a
    /// plain failure.
    async fn revoke(&self, revocation: &Revocation) -> Result<(), RevocationError>;

    /// Revokes the session `handle` (SuperTokens' `sessionHandle`): every
    /// access token of that sign-in.
    async fn revoke_session(&self, handle: &str) -> Result<(), RevocationError> {
        self.revoke(&Revocation::session(handle)).await
    }

    /// Revokes every session of `user_id` ("sign out everywhere", a
    /// password change, a ban): every token issued up to and including
    /// this second, by this machine's clock. A token issued later (the user
    /// signs in again) is not affected.
    async fn revoke_user(&self, user_id: &str) -> Result<(), RevocationError> {
        // Rounded up: a token issued earlier in this second, before the
        // call, must not survive it.
        let before = unix_now().saturating_add(1);
        self.revoke(&Revocation::user(user_id, before)).await
    }
}

#[async_trait]
impl<R: Revoke + ?Sized> Revoke for Arc<R> {
    async fn revoke(&self, revocation: &Revocation) -> Result<(), RevocationError> {
        (**self).revoke(revocation).await
    }

    async fn revoke_session(&self, handle: &str) -> Result<(), RevocationError> {
        (**self).revoke_session(handle).await
    }

    async fn revoke_user(&self, user_id: &str) -> Result<(), RevocationError> {
        (**self).revoke_user(user_id).await
    }
}

/// The wall clock in seconds since the Unix epoch, as token claims count
/// time. Read here rather than through the verifier: a revocation is dated
/// when it is made, and no verifier need be at hand.
fn unix_now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// The revocations of one process, in memory, each kept for `retention`
/// (the longest access-token lifetime: after that, no token it could match
/// is still valid), so memory is bounded by the revocations of one token
/// lifetime.
///
/// Revoke through [`Revoke`] (made now, by the system clock; never fails),
/// as with any list. [`apply`](Self::apply) is the low-level record of a
/// revocation made at a time you give: for a shared list that learns of
/// revocations after they were made (`ssr-session-redis` dates each by
/// Redis' clock), and for tests on a clock of their own.
///
/// ```
/// use std::time::Duration;
/// use ssr_session::{MemoryRevocations, Revocation};
///
/// let revocations = MemoryRevocations::new(Duration::from_secs(3600));
/// revocations.apply(&Revocation::session("h1"), 1_700_000_000);
/// assert!(revocations.is_session_revoked("h1", 1_700_000_100));
/// assert!(!revocations.is_session_revoked("h1", 1_700_003_601)); // past the retention
/// assert_eq!(revocations.len(), 1); // dropped at the next sweep
/// ```
#[derive(Debug)]
pub struct MemoryRevocations {
    retention: i64,
    state: RwLock<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Session handle → when the entry may go (seconds).
    sessions: HashMap<Box<str>, i64, foldhash::fast::RandomState>,
    /// User id → (revoked before, when the entry may go).
    users: HashMap<Box<str>, (i64, i64), foldhash::fast::RandomState>,
    next_sweep: i64,
}

/// The longest time (seconds) between two sweeps: a sweep walks every
/// entry under the write lock, so it is not done on every call.
const SWEEP_EVERY_SECS: i64 = 60;

impl MemoryRevocations {
    /// An empty set whose entries are kept for `retention`.
    pub fn new(retention: Duration) -> Self {
        Self {
            retention: i64::try_from(retention.as_secs()).unwrap_or(i64::MAX / 2),
            state: RwLock::new(Entries::default()),
        }
    }

    /// The retention, in seconds.
    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention.unsigned_abs())
    }

    /// How often entries past their retention are dropped: every
    /// `retention`, at most every minute, and at least every second. Entries
    /// are therefore never held for longer than `retention` plus this.
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_every().unsigned_abs())
    }

    fn sweep_every(&self) -> i64 {
        // A short retention sweeps as often as its entries expire, so that
        // memory stays within about two retentions' worth of revocations.
        self.retention.clamp(1, SWEEP_EVERY_SECS)
    }

    /// Drops the entries past their retention at `now` (seconds since the
    /// Unix epoch), unless the last sweep was less than
    /// [`sweep_interval`](Self::sweep_interval) ago. [`apply`](Self::apply)
    /// sweeps too; call this from a periodic task so that memory is given
    /// back when no revocation arrives.
    pub fn sweep(&self, now: i64) {
        // The read lock first: a sweep that is not due must not stall the
        // readers behind a write lock.
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        if now < state.next_sweep {
            return;
        }
        drop(state);
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        self.sweep_locked(&mut state, now);
    }

    fn sweep_locked(&self, state: &mut Entries, now: i64) {
        if now >= state.next_sweep {
            state.sessions.retain(|_, until| *until > now);
            state.users.retain(|_, (_, until)| *until > now);
            state.next_sweep = now.saturating_add(self.sweep_every());
        }
    }

    /// Records `revocation`, made at `at` (seconds since the Unix epoch):
    /// kept until `at` plus the retention. Entries past their retention are
    /// dropped now and then (see [`sweep_interval`](Self::sweep_interval)).
    /// [`Revoke::revoke`] is this at the current time.
    pub fn apply(&self, revocation: &Revocation, at: i64) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let until = at.saturating_add(self.retention);
        match revocation {
            Revocation::Session { handle } => {
                let entry = state
                    .sessions
                    .entry(handle.as_str().into())
                    .or_insert(until);
                *entry = (*entry).max(until);
            }
            Revocation::User { user_id, before } => {
                let until = until.max(before.saturating_add(self.retention));
                let entry = state
                    .users
                    .entry(user_id.as_str().into())
                    .or_insert((*before, until));
                *entry = (entry.0.max(*before), entry.1.max(until));
            }
        }
        self.sweep_locked(&mut state, at);
    }

    /// Replaces every entry with `revocations` (a full resynchronisation),
    /// each made at the time given with it.
    pub fn replace_all(&self, revocations: impl IntoIterator<Item = (Revocation, i64)>) {
        let fresh = Self::new(self.retention());
        for (revocation, at) in revocations {
            fresh.apply(&revocation, at);
        }
        let fresh = fresh
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = fresh;
    }

    /// `true` when the session `handle` is revoked at `now`.
    pub fn is_session_revoked(&self, handle: &str, now: i64) -> bool {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.sessions.get(handle).is_some_and(|until| *until > now)
    }

    /// `true` when a token of `user_id` issued at `issued_at` is revoked at
    /// `now` (a token without `iat` is, once its user has a revocation).
    pub fn is_user_token_revoked(&self, user_id: &str, issued_at: Option<i64>, now: i64) -> bool {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.users.get(user_id).is_some_and(|(before, until)| {
            *until > now && issued_at.is_none_or(|iat| iat < *before)
        })
    }

    /// Whether `session` is revoked at `now`: by its handle, or by its user.
    pub fn is_revoked_at<C>(&self, session: &Session<C>, now: i64) -> bool {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let by_handle = session
            .session_handle()
            .and_then(|handle| state.sessions.get(handle))
            .is_some_and(|until| *until > now);
        by_handle
            || state
                .users
                .get(session.user_id())
                .is_some_and(|(before, until)| {
                    *until > now && session.issued_at().is_none_or(|iat| iat < *before)
                })
    }

    /// How many entries are held (sessions plus users).
    pub fn len(&self) -> usize {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.sessions.len() + state.users.len()
    }

    /// `true` when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<C> RevocationList<C> for MemoryRevocations {
    /// [`is_revoked_at`](Self::is_revoked_at) the verifier's `now`.
    fn is_revoked(&self, session: &Session<C>, now: i64) -> Result<bool, RevocationError> {
        Ok(self.is_revoked_at(session, now))
    }
}

#[async_trait]
impl Revoke for MemoryRevocations {
    /// [`apply`](Self::apply) at the current time (the system clock).
    /// Never fails.
    async fn revoke(&self, revocation: &Revocation) -> Result<(), RevocationError> {
        self.apply(revocation, unix_now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionFacts;

    fn session(user: &str, handle: &str, iat: i64) -> Session<()> {
        let facts = SessionFacts {
            expires_at: iat + 3600,
            issued_at: Some(iat),
            session_handle: Some(handle.into()),
            anti_csrf_token: None,
        };
        Session::new(user.into(), (), facts)
    }

    #[test]
    fn a_session_is_revoked_by_its_handle_until_the_retention_ends() {
        let list = MemoryRevocations::new(Duration::from_secs(100));
        list.apply(&Revocation::Session { handle: "h".into() }, 1000);
        assert!(list.is_revoked_at(&session("u", "h", 990), 1050));
        assert!(!list.is_revoked_at(&session("u", "other", 990), 1050));
        assert!(!list.is_revoked_at(&session("u", "h", 990), 1100));
    }

    #[test]
    fn a_user_is_revoked_for_tokens_issued_before_the_moment() {
        let list = MemoryRevocations::new(Duration::from_secs(100));
        list.apply(
            &Revocation::User {
                user_id: "u".into(),
                before: 1000,
            },
            1000,
        );
        assert!(list.is_revoked_at(&session("u", "a", 999), 1001));
        assert!(!list.is_revoked_at(&session("u", "b", 1000), 1001));
        assert!(!list.is_revoked_at(&session("v", "a", 999), 1001));
        // A later, earlier-dated revocation never shortens the first.
        list.apply(
            &Revocation::User {
                user_id: "u".into(),
                before: 900,
            },
            1002,
        );
        assert!(list.is_revoked_at(&session("u", "a", 999), 1003));
    }

    #[test]
    fn entries_past_their_retention_are_swept() {
        let list = MemoryRevocations::new(Duration::from_secs(10));
        for i in 0..1000 {
            list.apply(
                &Revocation::Session {
                    handle: format!("h{i}"),
                },
                0,
            );
        }
        assert_eq!(list.len(), 1000);
        list.apply(
            &Revocation::Session {
                handle: "late".into(),
            },
            100,
        );
        assert_eq!(list.len(), 1, "only the live entry stays");
    }

    #[test]
    fn sweep_drops_expired_entries_without_a_new_revocation() {
        let list = MemoryRevocations::new(Duration::from_secs(10));
        assert_eq!(list.sweep_interval(), Duration::from_secs(10));
        for i in 0..100 {
            list.apply(
                &Revocation::Session {
                    handle: format!("h{i}"),
                },
                0,
            );
        }
        list.apply(
            &Revocation::Session {
                handle: "late".into(),
            },
            5,
        );
        list.sweep(9);
        assert_eq!(list.len(), 101, "no sweep is due before the interval");
        list.sweep(12);
        assert_eq!(
            list.len(),
            1,
            "only the entry still within its retention stays"
        );
        assert!(list.is_session_revoked("late", 12));
    }

    #[test]
    fn the_sweep_interval_follows_a_short_retention() {
        assert_eq!(
            MemoryRevocations::new(Duration::from_secs(3600)).sweep_interval(),
            Duration::from_secs(60)
        );
        assert_eq!(
            MemoryRevocations::new(Duration::ZERO).sweep_interval(),
            Duration::from_secs(1)
        );
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    #[test]
    fn revoke_applies_now_and_revoke_user_covers_this_second_only() {
        let memory = Arc::new(MemoryRevocations::new(Duration::from_secs(100)));
        let list: Arc<dyn Revoke> = memory.clone();
        let before = unix_now();
        block_on(list.revoke_session("h")).unwrap();
        block_on(list.revoke_user("u")).unwrap();
        let after = unix_now();
        assert!(memory.is_session_revoked("h", after));
        assert!(!memory.is_session_revoked("other", after));
        // Applied at the current time: kept for the retention from then.
        assert!(memory.is_session_revoked("h", before + 99));
        assert!(!memory.is_session_revoked("h", after + 100));
        // Tokens of this second (and older) are revoked; the next second's
        // sign-in is not.
        assert!(memory.is_user_token_revoked("u", Some(before), after));
        assert!(!memory.is_user_token_revoked("u", Some(after + 1), after));
        assert!(!memory.is_user_token_revoked("v", Some(before), after));
    }

    #[test]
    fn every_method_of_an_arc_reaches_the_list_inside() {
        /// Counts which method was called, and fails as a shared list does
        /// when its store does not acknowledge.
        #[derive(Default)]
        struct Counting(std::sync::Mutex<Vec<&'static str>>);

        #[async_trait]
        impl Revoke for Counting {
            async fn revoke(&self, _: &Revocation) -> Result<(), RevocationError> {
                self.0.lock().unwrap().push("revoke");
                Err(RevocationError::AppliedLocally {
                    queued: true,
                    source: "no answer".into(),
                })
            }
            async fn revoke_user(&self, _: &str) -> Result<(), RevocationError> {
                self.0.lock().unwrap().push("revoke_user");
                Err(RevocationError::AppliedLocally {
                    queued: false,
                    source: "no room".into(),
                })
            }
        }

        let inner = Arc::new(Counting::default());
        let list: Arc<dyn Revoke> = Arc::new(inner.clone());
        let queued = block_on(list.revoke_session("h")).unwrap_err();
        assert!(queued.is_applied_locally() && queued.is_queued());
        let local = block_on(list.revoke_user("u")).unwrap_err();
        assert!(local.is_applied_locally() && !local.is_queued());
        assert_eq!(*inner.0.lock().unwrap(), ["revoke", "revoke_user"]);
        assert_eq!(
            local.to_string(),
            "the revocation holds on this replica only"
        );
        let source = std::error::Error::source(&queued).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("no answer"));
    }

    #[test]
    fn a_plain_failure_is_not_applied_locally() {
        let failed = RevocationError::Custom("down".into());
        assert!(!failed.is_applied_locally() && !failed.is_queued());
        let stale = RevocationError::Stale {
            age: Duration::from_secs(2),
            limit: Duration::from_secs(1),
        };
        assert!(!stale.is_applied_locally());
    }

    #[test]
    fn the_constructors_make_the_variants() {
        assert_eq!(
            Revocation::session("h"),
            Revocation::Session { handle: "h".into() }
        );
        assert_eq!(
            Revocation::user("u", 7),
            Revocation::User {
                user_id: "u".into(),
                before: 7
            }
        );
    }

    #[test]
    fn replace_all_drops_what_is_not_listed() {
        let list = MemoryRevocations::new(Duration::from_secs(100));
        list.apply(
            &Revocation::Session {
                handle: "old".into(),
            },
            0,
        );
        list.replace_all([(
            Revocation::Session {
                handle: "new".into(),
            },
            0,
        )]);
        assert!(!list.is_session_revoked("old", 1));
        assert!(list.is_session_revoked("new", 1));
    }
}
