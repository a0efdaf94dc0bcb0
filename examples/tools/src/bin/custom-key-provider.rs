//! An app whose verification keys come from a hand-written [`KeyProvider`]:
//! a JWKS file, re-read whenever it changes. This is the path for keys that
//! live somewhere no built-in provider reaches (a file shipped by your
//! deployment, a secret store, an environment variable…).
//!
//! ```text
//! cargo run -p ssr-session-examples --bin custom-key-provider -- --jwks-file keys.json
//! ```
//!
//! Without `--jwks-file` it makes a demo key, writes its JWKS to a
//! temporary file and prints a token to try:
//! `curl -H "Authorization: Bearer <token>" <address>/api/me`.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use axum::Router;
use axum::response::Json;
use axum::routing::get;
use clap::Parser;
use serde_json::{Value, json};
use ssr_session::{
    KeyProvider, SessionConfig, Verifier, async_trait, keys::KeyLookupError, keys::KeyRequest,
    keys::KeySet, keys::VerifyingKey,
};
use ssr_session_axum::{Session, SessionLayer};

/// Keys from a JWKS file, re-read when its modification time changes. It
/// hands out the same `Arc<VerifyingKey>` until a key really changes, so the
/// verified-token cache keeps working (see `KeyProvider`'s docs).
struct FileKeys {
    path: PathBuf,
    loaded: RwLock<Option<(SystemTime, Arc<KeySet>)>>,
}

impl FileKeys {
    fn current(&self) -> Result<Arc<KeySet>, KeyLookupError> {
        let modified = std::fs::metadata(&self.path)
            .and_then(|meta| meta.modified())
            .map_err(KeyLookupError::unavailable)?;
        let previous = self
            .loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some((seen, keys)) = &previous
            && *seen == modified
        {
            return Ok(keys.clone());
        }
        let json = std::fs::read(&self.path).map_err(KeyLookupError::unavailable)?;
        // Reusing unchanged keys keeps their tokens in the verified-token cache.
        let keys = match &previous {
            Some((_, previous)) => previous.update_from_jwks_json(&json),
            None => KeySet::from_jwks_json(&json),
        }
        .map_err(KeyLookupError::unavailable)?;
        let keys = Arc::new(keys);
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = Some((modified, keys.clone()));
        Ok(keys)
    }
}

#[async_trait]
impl KeyProvider for FileKeys {
    async fn key(&self, request: &KeyRequest<'_>) -> Result<Arc<VerifyingKey>, KeyLookupError> {
        self.current()?
            .select(request.kid, request.algorithm)
            .into_result()
    }
}

#[derive(Debug, Parser)]
struct Options {
    /// Address to listen on (port 0 picks a free one; printed first).
    #[arg(long, env = "SSR_SESSION_ADDR", default_value = "127.0.0.1:3001")]
    addr: std::net::SocketAddr,
    /// The JWKS file to read keys from (a demo key is made when absent).
    #[arg(long, env = "SSR_SESSION_JWKS_FILE")]
    jwks_file: Option<PathBuf>,
}

async fn me(Session(session): Session) -> Json<Value> {
    Json(json!({ "userId": session.user_id() }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::parse();
    let (path, demo_token) = match options.jwks_file {
        Some(path) => (path, None),
        None => demo_key()?,
    };
    let keys = FileKeys {
        path,
        loaded: RwLock::new(None),
    };
    let config = SessionConfig::new(Verifier::builder(keys).build()?);
    let app = Router::new()
        .route("/api/me", get(me))
        .layer(SessionLayer::required(config));
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    ssr_session_example_support::site::print_address(addr);
    if let Some(token) = demo_token {
        eprintln!("try: curl -H 'Authorization: Bearer {token}' http://{addr}/api/me");
    }
    axum::serve(listener, app).await?;
    Ok(())
}

/// A demo key whose JWKS goes to a temporary file, and a token it signed.
fn demo_key() -> Result<(PathBuf, Option<String>), std::io::Error> {
    use ssr_session::testing::{TestKey, TokenBuilder, jwks};
    let key = TestKey::generate(ssr_session::keys::Algorithm::EdDSA, "demo");
    let path = std::env::temp_dir().join(format!("ssr-session-demo-{}.json", std::process::id()));
    std::fs::write(&path, jwks(&[&key]).to_string())?;
    let token = TokenBuilder::supertokens("demo-user", 3600).sign(&key);
    Ok((path, Some(token)))
}
