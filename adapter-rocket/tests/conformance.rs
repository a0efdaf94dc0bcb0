//! The shared conformance suite through Rocket's real pipeline, plus the
//! adapter's own guarantees: one verification per request, launch checks,
//! and full responses whatever their status.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rocket::error::ErrorKind;
use rocket::http::{Accept, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::request::{self, FromRequest, Request};
use rocket::{Build, Rocket};
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::{
    DefaultResponses, KeyProvider, SessionConfig, Verifier, async_trait, keys::Algorithm,
    keys::KeyLookupError, keys::KeyRequest, keys::StaticKeys, keys::VerifyingKey,
};
use ssr_session_conformance::{
    ANTI_CSRF_MODES, Fixture, SdkClaims, Suite, TestRequest, TestResponse, run, run_forgery,
};
use ssr_session_rocket::{
    OptionalSession, Props, Require, Session, SessionRejection, Verification, catchers,
};

#[rocket::get("/required")]
fn required(session: Session) -> String {
    format!("user:{}", session.user_id())
}

#[rocket::get("/optional")]
fn optional(session: OptionalSession) -> String {
    match session.into_inner() {
        Some(session) => format!("user:{}", session.user_id()),
        None => "anonymous".into(),
    }
}

#[rocket::get("/outcome")]
fn outcome(outcome: Verification) -> String {
    format!("outcome:{}", outcome.name())
}

#[rocket::get("/props")]
fn props(props: Props) -> Props {
    props
}

#[rocket::get("/require")]
fn require(session: Require<SdkClaims>) -> String {
    format!("user:{}", session.user_id())
}

// The same routes for form posts (a Rocket route has one method).
#[rocket::post("/required")]
fn required_post(session: Session) -> String {
    required(session)
}

#[rocket::post("/optional")]
fn optional_post(session: OptionalSession) -> String {
    optional(session)
}

#[rocket::post("/outcome")]
fn outcome_post(verification: Verification) -> String {
    outcome(verification)
}

#[rocket::post("/props")]
fn props_post(props: Props) -> Props {
    props
}

#[rocket::post("/require")]
fn require_post(session: Require<SdkClaims>) -> String {
    require(session)
}

// And for the other unsafe method of the forgery matrix.
#[rocket::delete("/required")]
fn required_delete(session: Session) -> String {
    required(session)
}

#[rocket::delete("/optional")]
fn optional_delete(session: OptionalSession) -> String {
    optional(session)
}

#[rocket::delete("/outcome")]
fn outcome_delete(verification: Verification) -> String {
    outcome(verification)
}

#[rocket::delete("/props")]
fn props_delete(props: Props) -> Props {
    props
}

#[rocket::delete("/require")]
fn require_delete(session: Require<SdkClaims>) -> String {
    require(session)
}

fn app(config: SessionConfig) -> Rocket<Build> {
    rocket::build()
        .manage(config)
        .register("/", catchers())
        .mount(
            "/",
            rocket::routes![
                required,
                optional,
                outcome,
                props,
                require,
                required_post,
                optional_post,
                outcome_post,
                props_post,
                require_post,
                required_delete,
                optional_delete,
                outcome_delete,
                props_delete,
                require_delete
            ],
        )
}

async fn to_test_response(response: LocalResponse<'_>) -> TestResponse {
    let status = response.status().code;
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect();
    let body = response.into_bytes().await.unwrap_or_default();
    TestResponse {
        status,
        headers,
        body,
    }
}

async fn send(client: &Client, request: TestRequest) -> TestResponse {
    let mut local = match request.method {
        "POST" => client.post(request.path),
        "DELETE" => client.delete(request.path),
        _ => client.get(request.path),
    };
    for (name, value) in request.headers {
        local = local.header(Header::new(name, value));
    }
    to_test_response(local.dispatch().await).await
}

#[tokio::test]
async fn conformance_suite() {
    let fixture = Fixture::new();
    let client = Client::tracked(app(fixture.session_config()))
        .await
        .unwrap();
    run(&fixture, &Suite::extractors(), |request: TestRequest| {
        send(&client, request)
    })
    .await;
}

#[tokio::test]
async fn forgery_through_the_guards() {
    let fixture = Fixture::new();
    for mode in ANTI_CSRF_MODES {
        let client = Client::untracked(app(fixture.forgery_config(mode)))
            .await
            .unwrap();
        run_forgery(&fixture, &Suite::extractors(), mode, |request| {
            send(&client, request)
        })
        .await;
    }
}

/// Keys, tokens and a configuration for the adapter's own tests.
struct Keys {
    key: TestKey,
    lookups: Arc<AtomicUsize>,
}

/// Counts key lookups: with the token cache off, one per verification.
struct Counting {
    keys: StaticKeys,
    lookups: Arc<AtomicUsize>,
}

#[async_trait]
impl KeyProvider for Counting {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.keys.key(request).await
    }
}

impl Keys {
    fn new() -> Self {
        Self {
            key: TestKey::generate(Algorithm::RS256, "k1"),
            lookups: Arc::default(),
        }
    }

    fn config(&self, responses: DefaultResponses) -> SessionConfig {
        let keys = StaticKeys::from_jwks_json(jwks(&[&self.key]).to_string()).unwrap();
        let counting = Counting {
            keys,
            lookups: self.lookups.clone(),
        };
        let verifier = Verifier::builder(counting)
            .without_token_cache()
            .build()
            .unwrap();
        SessionConfig::new(verifier).responses(responses)
    }

    fn token(&self, lifetime_secs: i64) -> String {
        TokenBuilder::supertokens("alice", lifetime_secs).sign(&self.key)
    }

    fn forged(&self) -> String {
        TokenBuilder::supertokens("alice", 300).sign(&TestKey::generate(Algorithm::RS256, "k1"))
    }
}

#[rocket::get("/all")]
fn all(session: Session, optional: OptionalSession, outcome: Verification, props: Props) -> String {
    format!(
        "{} {} {} {}",
        session.user_id(),
        optional.is_some(),
        outcome.name(),
        serde_json::to_string(&*props).unwrap()
    )
}

#[tokio::test]
async fn the_outcome_is_computed_once_per_request() {
    let keys = Keys::new();
    let rocket = app(keys.config(DefaultResponses::default())).mount("/", rocket::routes![all]);
    let client = Client::tracked(rocket).await.unwrap();
    let cookie = Header::new("cookie", format!("sAccessToken={}", keys.token(300)));

    let response = client.get("/all").header(cookie.clone()).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.into_string().await.unwrap(),
        r#"alice true valid {"userId":"alice"}"#
    );
    assert_eq!(
        keys.lookups.load(Ordering::SeqCst),
        1,
        "four guards, one verification"
    );

    client.get("/all").header(cookie).dispatch().await;
    assert_eq!(
        keys.lookups.load(Ordering::SeqCst),
        2,
        "memoised per request, not across requests"
    );
}

#[rocket::get("/same")]
fn same(session: Session, optional: OptionalSession, outcome: Verification) -> String {
    assert!(outcome.session().unwrap().ptr_eq(&session));
    assert!(optional.as_ref().unwrap().ptr_eq(&session));
    session.user_id().to_owned()
}

/// With the token cache on, a hit is looked up again by each guard (no
/// memo), and the token is verified once across requests.
#[tokio::test]
async fn with_the_token_cache_the_guards_share_one_cached_session() {
    let keys = Keys::new();
    let counting = Counting {
        keys: StaticKeys::from_jwks_json(jwks(&[&keys.key]).to_string()).unwrap(),
        lookups: keys.lookups.clone(),
    };
    let config = SessionConfig::new(Verifier::builder(counting).build().unwrap());
    let client = Client::tracked(app(config).mount("/", rocket::routes![same]))
        .await
        .unwrap();
    let cookie = Header::new("cookie", format!("sAccessToken={}", keys.token(300)));
    for _ in 0..3 {
        let response = client.get("/same").header(cookie.clone()).dispatch().await;
        assert_eq!(response.into_string().await.unwrap(), "alice");
    }
    assert_eq!(
        keys.lookups.load(Ordering::SeqCst),
        1,
        "one verification, then hits"
    );
}

fn refused(launch: Result<Client, rocket::Error>) -> rocket::Error {
    match launch {
        Ok(_) => panic!("launch must be refused"),
        Err(error) => error,
    }
}

fn is_sentinel_abort(error: &rocket::Error) -> bool {
    matches!(error.kind(), ErrorKind::SentinelAborts(sentries) if !sentries.is_empty())
}

#[tokio::test]
async fn launch_is_refused_without_the_session_config() {
    let rocket = rocket::build()
        .register("/", catchers())
        .mount("/", rocket::routes![required, optional, outcome, props]);
    let error = refused(Client::tracked(rocket).await);
    assert!(is_sentinel_abort(&error), "{error:?}");
    match error.kind() {
        // Four guards, and `Props` once more as a responder.
        ErrorKind::SentinelAborts(sentries) => assert_eq!(sentries.len(), 5),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn launch_is_refused_without_the_catchers() {
    let keys = Keys::new();
    let rocket = rocket::build()
        .manage(keys.config(DefaultResponses::default()))
        .mount("/", rocket::routes![required]);
    let error = refused(Client::tracked(rocket).await);
    assert!(is_sentinel_abort(&error), "{error:?}");
}

#[tokio::test]
async fn launch_is_refused_for_a_config_of_other_claims() {
    #[derive(Clone, serde::Deserialize)]
    struct Mine {
        #[allow(dead_code)]
        sub: String,
    }
    #[rocket::get("/mine")]
    fn mine(session: Session<Mine>) -> String {
        session.user_id().to_string()
    }
    let keys = Keys::new();
    let rocket = app(keys.config(DefaultResponses::default())).mount("/", rocket::routes![mine]);
    let error = refused(Client::tracked(rocket).await);
    assert!(is_sentinel_abort(&error), "{error:?}");
}

/// A guard built on `Session`: sentinels cannot see the `Session` inside.
struct Hidden(Session);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Hidden {
    type Error = SessionRejection;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, SessionRejection> {
        request.guard::<Session>().await.map(Hidden)
    }
}

#[rocket::get("/hidden")]
fn hidden(session: Hidden) -> String {
    session.0.user_id().to_string()
}

#[tokio::test]
async fn a_guard_hidden_from_sentinels_answers_the_missing_setup() {
    let rocket = rocket::build()
        .register("/", catchers())
        .mount("/", rocket::routes![hidden]);
    let client = Client::tracked(rocket).await.unwrap();
    let response = client.get("/hidden").dispatch().await;
    assert_eq!(response.status(), Status::InternalServerError);
    let body = response.into_string().await.unwrap();
    assert!(
        body.contains("rocket::build().manage(session_config)"),
        "{body}"
    );
}

#[tokio::test]
async fn without_the_catchers_the_status_still_reaches_the_client() {
    let keys = Keys::new();
    let rocket = rocket::build()
        .manage(keys.config(DefaultResponses::default()))
        .mount("/", rocket::routes![hidden]);
    let client = Client::tracked(rocket).await.unwrap();
    let response = client.get("/hidden").dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
}

#[rocket::catch(401)]
fn app_unauthorized() -> &'static str {
    "the app's 401 page"
}

#[rocket::catch(default)]
fn app_default() -> &'static str {
    "the app's default page"
}

#[tokio::test]
async fn rejections_are_sent_whole_whatever_the_status_and_the_app_catchers() {
    let keys = Keys::new();
    let responses = DefaultResponses::default().bridge_status(200);
    let rocket =
        app(keys.config(responses)).register("/", rocket::catchers![app_unauthorized, app_default]);
    let client = Client::tracked(rocket).await.unwrap();

    // The bridge, served with 200.
    let response = client
        .get("/required?x=1")
        .header(Accept::HTML)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.headers().get_one("cache-control"),
        Some("no-store")
    );
    let body = response.into_string().await.unwrap();
    assert!(
        body.contains("/auth/session/refresh") && body.contains("<noscript>"),
        "{body}"
    );

    // A 303 with its location and cookie, past the app's default catcher.
    let forged = Header::new("cookie", format!("sAccessToken={}", keys.forged()));
    let response = client
        .get("/required?x=1")
        .header(Accept::HTML)
        .header(forged.clone())
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(
        response.headers().get_one("location"),
        Some("/auth?redirectToPath=%2Frequired%3Fx%3D1")
    );
    assert!(
        response
            .headers()
            .get_one("set-cookie")
            .unwrap()
            .starts_with("sAccessToken=;")
    );

    // A 401 JSON answer, past the app's 401 catcher.
    let response = client.get("/required").header(forged).dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(
        response.into_string().await.unwrap(),
        r#"{"message":"unauthorised"}"#
    );

    // The app's catchers still answer everything else.
    let response = client.get("/nowhere").dispatch().await;
    assert_eq!(
        response.into_string().await.unwrap(),
        "the app's default page"
    );
}

#[rocket::get("/result")]
fn result(session: Result<Session, SessionRejection>) -> Result<String, SessionRejection> {
    session.map(|session| format!("user:{}", session.user_id()))
}

#[rocket::get("/option")]
fn option(session: Option<Session>) -> &'static str {
    if session.is_some() { "some" } else { "none" }
}

#[tokio::test]
async fn wrapped_guards_leave_the_answer_to_the_handler() {
    let keys = Keys::new();
    let rocket =
        app(keys.config(DefaultResponses::default())).mount("/", rocket::routes![result, option]);
    let client = Client::tracked(rocket).await.unwrap();
    let expired = Header::new("cookie", format!("sAccessToken={}", keys.token(-60)));

    // `Result<Session, SessionRejection>`: the rejection is the core's response.
    let direct = client
        .get("/required")
        .header(expired.clone())
        .dispatch()
        .await;
    let (status, direct) = (direct.status(), direct.into_string().await);
    let wrapped = client
        .get("/result")
        .header(expired.clone())
        .dispatch()
        .await;
    assert_eq!(
        (wrapped.status(), wrapped.into_string().await),
        (status, direct)
    );

    // Rocket's `Option` swallows the rejection, and nothing overrides the handler.
    let response = client.get("/option").header(expired).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.into_string().await.unwrap(), "none");
}

#[tokio::test]
async fn cookies_of_the_local_client_are_read() {
    let keys = Keys::new();
    let client = Client::tracked(app(keys.config(DefaultResponses::default())))
        .await
        .unwrap();
    let response = client
        .get("/required")
        .cookie(("sAccessToken", keys.token(300)))
        .dispatch()
        .await;
    assert_eq!(response.into_string().await.unwrap(), "user:alice");
}
