//! Entries that break the wire contract (`redis/STREAM.md`), written into a
//! real `redis-server` with raw `XADD`, as a buggy or hostile writer would:
//! each is skipped with one log line that names no handle or user id, none
//! revokes a session it does not name (or any, when it is unreadable), the
//! follower keeps going, and a good entry after them still applies, both to
//! a replica following at the time and to one that loads the stream later.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ssr_session::testing::{TestKey, TokenBuilder, jwks, now_secs};
use ssr_session::{
    RevocationList, Revoke, Session, SessionOutcome, Verifier, keys::Algorithm, keys::StaticKeys,
};
use ssr_session_redis::RedisRevocations;
use support::{connection, eventually, redis_or_skip};

/// Real tokens with chosen claims, verified into real [`Session`]s.
struct Tokens {
    key: TestKey,
    verifier: Verifier,
}

impl Tokens {
    fn new() -> Self {
        let key = TestKey::generate(Algorithm::ES256, "k");
        let keys = StaticKeys::from_jwks_json(jwks(&[&key]).to_string()).unwrap();
        let verifier = Verifier::builder(keys).build().unwrap();
        Self { key, verifier }
    }

    /// The session of a SuperTokens token for `user`, with `claims` set.
    async fn session(&self, user: &str, claims: &[(&str, serde_json::Value)]) -> Session {
        let mut token = TokenBuilder::supertokens(user, 3600);
        for (name, value) in claims {
            token = token.claim(name, value.clone());
        }
        match self.verifier.verify_token(&token.sign(&self.key)).await {
            SessionOutcome::Valid(session) => session,
            other => panic!("the test token did not verify: {other:?}"),
        }
    }
}

/// The log, captured for the test's own thread (the runtime is
/// single-threaded, so the follower logs here too).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    fn lines_with(&self, needle: &str) -> usize {
        self.text().lines().filter(|l| l.contains(needle)).count()
    }
}

fn revoked(list: &RedisRevocations, session: &Session) -> bool {
    list.is_revoked(session, ssr_session::testing::now_secs())
        .unwrap_or_else(|error| panic!("the list refused to answer: {error}"))
}

const KEY: &str = "{ssr-session-test}:hostile";
const SKIPPED: &str = "skipped a revocation entry";
const CLAMPED: &str = "applied as of the entry's time";

/// One raw `XADD KEY * field value …`.
fn xadd(conn: &mut redis::Connection, fields: &[(&[u8], &[u8])]) {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(KEY).arg("*");
    for (name, value) in fields {
        cmd.arg(*name).arg(*value);
    }
    let _: String = cmd.query(conn).expect("XADD");
}

#[tokio::test]
async fn hostile_entries_are_skipped_with_a_log_line_and_later_entries_still_apply() {
    let Some(redis) = redis_or_skip("hostile_entries") else {
        return;
    };
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let tokens = Tokens::new();
    let builder = || {
        RedisRevocations::builder(redis.url())
            .key(KEY)
            .poll_interval(Duration::from_millis(200))
    };
    // Follows while the entries arrive.
    let following = builder().connect().await.expect("connects");

    // Sessions a misreading reader would revoke.
    let with_handle = |handle: &str| [("sessionHandle", serde_json::json!(handle))];
    let newer_version = tokens.session("victim", &with_handle("victim-v2")).await;
    let repeated = tokens
        .session("victim", &with_handle("victim-repeated"))
        .await;
    let empty_handle = tokens.session("victim", &with_handle("")).await;
    let long_handle = "h".repeat(2000);
    let too_long = tokens.session("victim", &with_handle(&long_handle)).await;
    // Signs in a minute after the entry that says "before" in milliseconds.
    let later = tokens
        .session(
            "victim-later",
            &[("iat", serde_json::json!(now_secs() as i64 + 60))],
        )
        .await;
    let bystander = tokens.session("bystander", &[]).await;

    let mut conn = connection(&redis);
    let huge = format!(r#"{{"kind":"session","handle":"{}"}}"#, "x".repeat(1 << 20));
    let before_ms = (now_secs() as i64 * 1000).to_string();
    let ms_json = format!(r#"{{"kind":"user","user_id":"victim-later","before":{before_ms}}}"#);
    let long_json = format!(r#"{{"kind":"session","handle":"{long_handle}"}}"#);
    let hostile: Vec<Vec<(&[u8], &[u8])>> = vec![
        vec![(b"r", b"{not json")],
        vec![(b"r", br#"{"kind":"session","handle":42}"#)],
        vec![(
            b"r",
            br#"{"kind":"user","user_id":"victim","before":"yesterday"}"#,
        )],
        vec![(b"r", br#"{"kind":"device","id":"victim"}"#)],
        vec![(b"r", huge.as_bytes())],
        vec![(b"r", long_json.as_bytes())],
        vec![(b"r", br#"{"kind":"session","handle":""}"#)],
        vec![(b"r", br#"{"kind":"user","user_id":"","before":99}"#)],
        vec![
            (b"v", b"2"),
            (b"r", br#"{"kind":"session","handle":"victim-v2"}"#),
        ],
        vec![(b"x", br#"{"kind":"session","handle":"victim"}"#)],
        vec![(b"\xff\xfe", b"not UTF-8 as a field name")],
        vec![
            (b"r", br#"{"kind":"session","handle":"victim-repeated"}"#),
            (b"r", b"{}"),
        ],
        vec![(b"r", b"\xff\xfe\xfd")],
    ];
    for fields in &hostile {
        xadd(&mut conn, fields);
    }
    // Applied, with the entry's time for `before`, and one line saying so.
    xadd(&mut conn, &[(b"r", ms_json.as_bytes())]);
    // A good entry after them, written by an older-style raw writer with
    // an explicit version 1 and an extra field.
    let good = tokens.session("good", &[]).await;
    let good_json = format!(
        r#"{{"kind":"session","handle":"{}","by":"raw"}}"#,
        good.session_handle().unwrap()
    );
    xadd(
        &mut conn,
        &[(b"v", b"1"), (b"r", good_json.as_bytes()), (b"trace", b"t")],
    );

    assert!(
        eventually(Duration::from_secs(5), || revoked(&following, &good)).await,
        "the good entry after the hostile ones reached the follower"
    );
    // A replica started afterwards reads them all in its reload.
    let loading = builder().connect().await.expect("connects");
    assert!(
        revoked(&loading, &good),
        "the reload applies the good entry"
    );
    // And the follower still follows: a revocation through the library.
    let after = tokens.session("after", &[]).await;
    loading
        .revoke_session(after.session_handle().unwrap())
        .await
        .unwrap();
    assert!(eventually(Duration::from_secs(5), || revoked(&following, &after)).await);

    for list in [&following, &loading] {
        for (what, session) in [
            ("an entry of version 2", &newer_version),
            ("a repeated `r` field", &repeated),
            ("an empty handle", &empty_handle),
            ("a handle over the size cap", &too_long),
            ("a `before` in milliseconds", &later),
            ("nothing", &bystander),
        ] {
            assert!(
                !revoked(list, session),
                "{what} revoked a session it must not"
            );
        }
        assert!(list.is_following());
    }

    let text = log.text();
    // Two readers (the follower and the reload), one line each per entry.
    assert_eq!(
        log.lines_with(SKIPPED),
        2 * hostile.len(),
        "one line per hostile entry per reader:\n{text}"
    );
    assert_eq!(log.lines_with(CLAMPED), 2, "{text}");
    for reason in [
        "not JSON",
        "`handle` is missing or not a string",
        "`before` is missing or not an integer",
        "kind \"device\" is unknown",
        "more than the 4096 allowed",
        "more than the 1024 allowed",
        "`handle` is empty",
        "`user_id` is empty",
        "version 2, newer than this reader's (1)",
        "has no `r` field",
        "`r` field appears more than once",
    ] {
        assert!(text.contains(reason), "no line says {reason:?}:\n{text}");
    }
    // This crate's lines (the verifier's own debug lines name the user).
    let ours: String = text
        .lines()
        .filter(|line| line.contains("ssr_session_redis"))
        .collect();
    for secret in ["victim", "xxxxxxxxxx", "hhhhhhhhhh", "yesterday"] {
        assert!(
            !ours.contains(secret),
            "a log line shows entry data ({secret:?}):\n{text}"
        );
    }
    assert!(!text.contains("panicked"), "{text}");
    following.shutdown().await;
    loading.shutdown().await;
}
