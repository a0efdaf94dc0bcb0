//! The axum adapter under load while the JWKS server goes away and comes
//! back: pages of users whose key is cached keep answering 200, tokens of
//! a kid never seen get 503 with `Retry-After` (never a 401 that would
//! sign the user out), no request waits longer than the fetch timeout, and
//! after recovery a rotated-in key verifies within one retry interval plus
//! one unknown-kid interval.
//!
//! The JWKS server is real (127.0.0.1, its listening socket closed during
//! the outage); requests go through the router's full pipeline in process.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use ssr_session::testing::{TestKey, TokenBuilder, jwks};
use ssr_session::{JwksKeyProvider, SessionConfig, Verifier, keys::Algorithm};
use ssr_session_axum::{Session, SessionLayer};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::ServiceExt as _;

const MS: fn(u64) -> Duration = Duration::from_millis;
const TIMEOUT: Duration = Duration::from_millis(500);
const RETRY_INTERVAL: Duration = Duration::from_millis(400);
const UNKNOWN_KID_INTERVAL: Duration = Duration::from_millis(100);
/// Headroom for a busy CI machine.
const MARGIN: Duration = Duration::from_millis(1000);

/// A JWKS server that can go away (its socket closed) and come back on the
/// same address.
struct JwksServer {
    addr: SocketAddr,
    body: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl JwksServer {
    async fn start(body: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            addr: listener.local_addr().unwrap(),
            body: Arc::new(Mutex::new(body)),
            stop: Arc::new(AtomicBool::new(false)),
            task: Mutex::new(None),
        };
        server.serve(listener);
        server
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        self.stop.store(false, Ordering::SeqCst);
        let body = self.body.clone();
        let app = Router::new().route(
            "/auth/jwt/jwks.json",
            get(move || {
                let body = body.lock().unwrap().clone();
                async move { ([("content-type", "application/json")], body) }
            }),
        );
        let stop = self.stop.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    while !stop.load(Ordering::SeqCst) {
                        tokio::time::sleep(MS(5)).await;
                    }
                })
                .await
                .unwrap();
        });
        *self.task.lock().unwrap() = Some(task);
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes the listening socket and idle connections, and waits until
    /// the server is gone.
    async fn down(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let task = self.task.lock().unwrap().take().unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the server shuts down")
            .unwrap();
        assert!(tokio::net::TcpStream::connect(self.addr).await.is_err());
    }

    async fn up(&self, body: String) {
        *self.body.lock().unwrap() = body;
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

async fn page(session: Session) -> String {
    session.user_id().to_owned()
}

fn app(keys: JwksKeyProvider) -> Router {
    let verifier = Verifier::builder(keys).build().unwrap();
    Router::new()
        .route("/page", get(page))
        .layer(SessionLayer::required(SessionConfig::new(verifier)))
}

/// One data request for `/page` with the token as `sAccessToken`: its
/// status, whether it carried `Retry-After`, and how long it took.
async fn request(app: &Router, token: &str) -> (StatusCode, bool, Duration) {
    let request = Request::get("/page")
        .header("cookie", format!("sAccessToken={token}"))
        .body(Body::empty())
        .unwrap();
    let started = Instant::now();
    let response = tokio::time::timeout(
        TIMEOUT + Duration::from_secs(5),
        app.clone().oneshot(request),
    )
    .await
    .expect("a request hung")
    .unwrap();
    let retry_after = response.headers().contains_key("retry-after");
    (response.status(), retry_after, started.elapsed())
}

fn sign(key: &TestKey) -> String {
    TokenBuilder::supertokens("alice", 600).sign(key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_under_load_keeps_cached_kids_at_200_and_unknown_kids_at_503() {
    let (k1, k2) = (
        TestKey::generate(Algorithm::ES256, "d-1"),
        TestKey::generate(Algorithm::ES256, "d-2"),
    );
    let unknown_key = TestKey::generate(Algorithm::ES256, "d-unknown");
    let server = JwksServer::start(jwks(&[&k1]).to_string()).await;
    let keys = JwksKeyProvider::for_supertokens(&server.origin())
        .min_ttl(Duration::ZERO)
        .default_ttl(MS(200))
        .retry_interval(RETRY_INTERVAL)
        .unknown_kid_interval(UNKNOWN_KID_INTERVAL)
        .timeout(TIMEOUT)
        .build()
        .unwrap();
    let app = app(keys.clone());
    assert_eq!(request(&app, &sign(&k1)).await.0, StatusCode::OK);

    server.down().await;
    // The first refresh after the TTL fails; from then on a kid never seen
    // is unavailable.
    let unknown = sign(&unknown_key);
    let started = Instant::now();
    while request(&app, &unknown).await.0 != StatusCode::SERVICE_UNAVAILABLE {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the outage was never noticed"
        );
        tokio::time::sleep(MS(20)).await;
    }

    // 200 requests over 4 tasks: fresh tokens of the cached kid (each one
    // reaches the key provider), and tokens of the unknown kid.
    let mut tasks = Vec::new();
    for task in 0..4 {
        let (app, k1, unknown) = (app.clone(), k1.clone(), unknown.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for i in 0..50 {
                let cached_kid = (task + i) % 2 == 0;
                let token = if cached_kid {
                    sign(&k1)
                } else {
                    unknown.clone()
                };
                let (status, retry_after, elapsed) = request(&app, &token).await;
                seen.push((cached_kid, status, retry_after, elapsed));
                tokio::time::sleep(MS(10)).await;
            }
            seen
        }));
    }
    let mut seen = Vec::new();
    for task in tasks {
        seen.extend(task.await.unwrap());
    }
    assert_eq!(seen.len(), 200);
    for (cached_kid, status, retry_after, elapsed) in &seen {
        if *cached_kid {
            assert_eq!(
                *status,
                StatusCode::OK,
                "a cached kid failed during the outage"
            );
        } else {
            assert_eq!(
                *status,
                StatusCode::SERVICE_UNAVAILABLE,
                "an unknown kid during the outage"
            );
            assert!(retry_after, "503 without Retry-After");
        }
        assert!(*elapsed < TIMEOUT + MARGIN, "a request took {elapsed:?}");
    }

    // Recovery, with a key rotated in while the server was down.
    server.up(jwks(&[&k1, &k2]).to_string()).await;
    let rotated = sign(&k2);
    let started = Instant::now();
    loop {
        let (status, _, _) = request(&app, &rotated).await;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "before the refetch: 503, never 401"
        );
        assert!(
            started.elapsed() < RETRY_INTERVAL + UNKNOWN_KID_INTERVAL + MARGIN,
            "the new kid did not verify within one retry interval and one unknown-kid interval"
        );
        tokio::time::sleep(MS(20)).await;
    }
    assert_eq!(request(&app, &sign(&k1)).await.0, StatusCode::OK);
}
