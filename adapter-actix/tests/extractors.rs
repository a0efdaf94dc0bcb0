//! Memoisation, a missing configuration, response conversion and custom
//! claims, through actix's real service pipeline.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::http::header;
use actix_web::{App, HttpResponse, test, web};
use serde::Deserialize;
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::{
    DefaultResponses, InvalidToken, KeyProvider, NeedsRefreshReason, Respond, SessionConfig,
    Unavailable, Verifier, async_trait, keys::Algorithm, keys::KeyLookupError, keys::KeyRequest,
    keys::StaticKeys, keys::VerifyingKey, respond::RequestInfo, respond::ResponseData,
};
use ssr_session_actix::{OptionalSession, Props, Session, SessionMiddleware, Verification};

/// Counts key lookups: one per verification of a signed token.
struct CountingKeys {
    keys: StaticKeys,
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl KeyProvider for CountingKeys {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.keys.key(request).await
    }
}

fn counting_verifier<C>(
    key: &TestKey,
    build: impl FnOnce(CountingKeys) -> Verifier<C>,
) -> (Verifier<C>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let keys = StaticKeys::from_jwks_json(jwks(&[key]).to_string()).unwrap();
    let verifier = build(CountingKeys {
        keys,
        calls: calls.clone(),
    });
    (verifier, calls)
}

fn cookie(token: &str) -> (header::HeaderName, String) {
    (header::COOKIE, format!("sAccessToken={token}"))
}

/// All four extractors in one handler (extracted concurrently by actix)
/// verify the token once per request.
#[actix_web::test]
async fn the_outcome_is_computed_once_per_request() {
    let key = TestKey::generate(Algorithm::RS256, "k1");
    // Without the core's verified-token cache, so that every verification
    // shows as a key lookup.
    let (verifier, calls) = counting_verifier(&key, |keys| {
        Verifier::builder(keys)
            .without_token_cache()
            .build()
            .unwrap()
    });
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(SessionConfig::new(verifier)))
            .route(
                "/all",
                web::get().to(
                    |session: Session,
                     optional: OptionalSession,
                     outcome: Verification,
                     props: Props| async move {
                        assert_eq!(
                            optional.as_ref().map(|s| s.user_id()),
                            Some(session.user_id())
                        );
                        assert!(outcome.is_valid());
                        HttpResponse::Ok().json(&*props)
                    },
                ),
            ),
    )
    .await;
    for (round, user) in [(1, "alice"), (2, "alice"), (3, "bob")] {
        let token = TokenBuilder::supertokens(user, 300).sign(&key);
        let request = test::TestRequest::get()
            .uri("/all")
            .insert_header(cookie(&token))
            .to_request();
        let body = test::call_and_read_body(&app, request).await;
        assert_eq!(body, format!(r#"{{"userId":"{user}"}}"#));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            round,
            "one key lookup per request"
        );
    }
}

/// With the token cache on, a hit is looked up again by each extractor
/// (no memo), and the token is verified once across requests.
#[actix_web::test]
async fn with_the_token_cache_the_extractors_share_one_cached_session() {
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let (verifier, calls) =
        counting_verifier(&key, |keys| Verifier::builder(keys).build().unwrap());
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(SessionConfig::new(verifier)))
            .route(
                "/all",
                web::get().to(
                    |session: Session, optional: OptionalSession, outcome: Verification| async move {
                        assert!(outcome.session().unwrap().ptr_eq(&session));
                        assert!(optional.as_ref().unwrap().ptr_eq(&session));
                        HttpResponse::Ok().body(session.user_id().to_owned())
                    },
                ),
            ),
    )
    .await;
    let token = TokenBuilder::supertokens("alice", 300).sign(&key);
    for _ in 0..3 {
        let request = test::TestRequest::get()
            .uri("/all")
            .insert_header(cookie(&token))
            .to_request();
        assert_eq!(test::call_and_read_body(&app, request).await, "alice");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one verification, then hits"
    );
}

#[actix_web::test]
async fn a_missing_configuration_is_a_500_naming_the_setup() {
    let app = test::init_service(
        App::new()
            .route(
                "/required",
                web::get().to(|_: Session| async { "unreachable" }),
            )
            .route(
                "/outcome",
                web::get().to(|_: Verification| async { "unreachable" }),
            ),
    )
    .await;
    for path in ["/required", "/outcome"] {
        let response =
            test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), 500);
        let body = test::read_body(response).await;
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains("App::new().app_data(web::Data::new(session_config))"),
            "{body}"
        );
    }
}

/// Answers needs-refresh with a redirect and two `set-cookie` headers.
struct TwoCookies;

impl Respond for TwoCookies {
    fn needs_refresh(&self, _: &RequestInfo<'_>, _: NeedsRefreshReason) -> ResponseData {
        ResponseData::new(303, "text/plain", "bye")
            .with_header("location", "/auth")
            .with_header("set-cookie", "a=; Max-Age=0")
            .with_header("set-cookie", "b=; Max-Age=0")
    }
    fn invalid(&self, request: &RequestInfo<'_>, error: &InvalidToken) -> ResponseData {
        DefaultResponses::default().invalid(request, error)
    }
    fn unavailable(&self, request: &RequestInfo<'_>, error: &Unavailable) -> ResponseData {
        DefaultResponses::default().unavailable(request, error)
    }
}

#[actix_web::test]
async fn rejections_keep_every_header_and_the_body() {
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let (verifier, _) = counting_verifier(&key, |keys| Verifier::builder(keys).build().unwrap());
    let config = SessionConfig::new(verifier).responses(TwoCookies);
    // Through an extractor, and through the middleware.
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(config.clone()))
            .route(
                "/extractor",
                web::get().to(|_: Session| async { "unreachable" }),
            )
            .service(
                web::scope("/middleware")
                    .wrap(SessionMiddleware::required(config))
                    .route("", web::get().to(|| async { "unreachable" })),
            ),
    )
    .await;
    for path in ["/extractor", "/middleware"] {
        let response =
            test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(response.status(), 303, "{path}");
        let cookies: Vec<_> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(cookies, ["a=; Max-Age=0", "b=; Max-Age=0"]);
        assert_eq!(response.headers().get(header::LOCATION).unwrap(), "/auth");
        assert_eq!(
            response.headers().get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
        assert_eq!(test::read_body(response).await, "bye");
    }
}

#[actix_web::test]
async fn the_middleware_and_the_extractors_behind_it_verify_once() {
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let (verifier, calls) = counting_verifier(&key, |keys| {
        Verifier::builder(keys)
            .without_token_cache()
            .build()
            .unwrap()
    });
    let app = test::init_service(
        App::new().service(
            web::scope("/app")
                .wrap(SessionMiddleware::required(SessionConfig::new(verifier)))
                .route(
                    "/page",
                    web::get().to(|session: Session, outcome: Verification| async move {
                        assert!(outcome.session().unwrap().ptr_eq(&session));
                        format!("user:{}", session.user_id())
                    }),
                ),
        ),
    )
    .await;
    let token = TokenBuilder::supertokens("bob", 300).sign(&key);
    let request = test::TestRequest::get()
        .uri("/app/page")
        .insert_header(cookie(&token))
        .to_request();
    assert_eq!(test::call_and_read_body(&app, request).await, "user:bob");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[derive(Debug, Deserialize)]
struct MyClaims {
    sub: String,
    plan: String,
}

#[actix_web::test]
async fn custom_claims_come_from_their_own_configuration() {
    let key = TestKey::generate(Algorithm::RS256, "k1");
    let (verifier, _) = counting_verifier(&key, |keys| {
        Verifier::<MyClaims>::builder_for(keys).build().unwrap()
    });
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(SessionConfig::new(verifier)))
            .route(
                "/plan",
                web::get().to(|session: Session<MyClaims>| async move {
                    format!("{}:{}", session.claims().sub, session.claims().plan)
                }),
            ),
    )
    .await;
    let token = TokenBuilder::supertokens("bob", 300)
        .claim("plan", "pro")
        .sign(&key);
    let request = test::TestRequest::get()
        .uri("/plan")
        .insert_header(cookie(&token))
        .to_request();
    assert_eq!(test::call_and_read_body(&app, request).await, "bob:pro");

    // The default claims type is another configuration: not provided here.
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(SessionConfig::new(
                Verifier::<MyClaims>::builder_for(StaticKeys::default())
                    .build()
                    .unwrap(),
            )))
            .route("/", web::get().to(|_: Session| async { "unreachable" })),
    )
    .await;
    let response = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(response.status(), 500);
}
