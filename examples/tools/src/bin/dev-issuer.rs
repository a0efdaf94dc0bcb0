//! `dev-issuer`: the embedded dev issuer served alone, driven over stdin, for
//! tests written in other languages (the interop suite in `interop/`).
//!
//! ```text
//! dev-issuer --addr 127.0.0.1:0
//! http://127.0.0.1:41234            <- first line: the origin (apiDomain)
//! > info
//! {"origin":"http://127.0.0.1:41234","issuer":"http://127.0.0.1:41234/auth","jwksUrl":"…","kid":"d-…"}
//! > mint expired alice
//! {"kind":"expired","token":"eyJ…"}
//! ```
//!
//! The issuer's `iss` is `{origin}/auth`, its JWKS at `{origin}/auth/jwt/jwks.json`, and all
//! its HTTP routes are served (sign-in, refresh, sign-out, …; see the `dev_issuer` module).
//!
//! Commands, one per line on stdin, each answered by one line of JSON on stdout:
//!
//! | command | answer |
//! |---|---|
//! | `info` | `{"origin","issuer","jwksUrl","kid"}` |
//! | `mint KIND [USER]` | `{"kind","token"}`; kinds below |
//! | `session [USER]` | `{"accessToken","refreshToken","frontToken"}` (a live refresh token) |
//! | `rotate` | `{"kid"}`: a new signing key, the old ones still published |
//! | `retire` | `{"kid"}`: every key but the current one unpublished |
//! | `stats` | `{"jwksRequests","refreshCalls"}` |
//!
//! Kinds (all v5 SuperTokens access tokens for `USER`, default `interop-user`, signed by the
//! current key unless said otherwise): `valid`, `expired` (a minute ago), `tampered` (`sub`
//! changed after signing), `wrong-key` (the current `kid`, another key), `unknown-kid` (a key
//! and `kid` that were never published), `wrong-issuer`, `no-rsub`, `stt-1` (`stt: 1`, another
//! SuperTokens token type), `version-number` (header `version` as a number), `v4` (header
//! version 4, no `rsub`), `v3` (no header `version`, no `rsub` or `tId`), `no-kid`,
//! `jwt-recipe` (a plain JWT as SuperTokens' JWT recipe `createJWT` makes with the same keys:
//! `sub`, `iat`, `exp`, `iss`, no session claims, no header `version`), `anti-csrf` (valid, with
//! the `antiCsrfToken` claim a SuperTokens core sets under `VIA_TOKEN`: `interop-anti-csrf-token`),
//! `anti-csrf-expired` (the same, expired a minute ago).
//!
//! The process ends when stdin closes. Dev only: anyone can sign in as anyone.

use std::io::{BufRead as _, Write as _};
use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser as _;
use serde_json::{Value, json};
use ssr_session::keys::Algorithm;
use ssr_session::testing::{self, TestKey, TokenBuilder};
use ssr_session_example_support::dev_issuer::{DevIssuer, DevIssuerConfig};

/// Serves the dev issuer alone and answers commands on stdin (see the source's docs).
#[derive(Debug, clap::Parser)]
#[command(name = "dev-issuer")]
struct Cli {
    /// Address to listen on (port 0 picks a free port; the origin is printed first).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 60)]
    access_token_secs: i64,
    /// `max-age` of the JWKS response, in seconds.
    #[arg(long, default_value_t = 60)]
    jwks_max_age_secs: u64,
}

const DEFAULT_USER: &str = "interop-user";

/// The `antiCsrfToken` claim of the `anti-csrf` kinds.
const ANTI_CSRF_TOKEN: &str = "interop-anti-csrf-token";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let issuer = DevIssuer::new(DevIssuerConfig {
        access_token_secs: cli.access_token_secs,
        jwks_max_age_secs: cli.jwks_max_age_secs,
        ..DevIssuerConfig::default()
    });
    let running = issuer.serve(cli.addr).await?;
    let origin = format!("http://{}", running.addr());
    issuer.set_issuer(running.base_url());
    println!("{origin}");
    std::io::stdout().flush()?;

    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        let answer = answer(&issuer, &origin, &running.jwks_url(), line.trim());
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{answer}")?;
        stdout.flush()?;
    }
    running.shutdown().await?;
    Ok(())
}

fn answer(issuer: &DevIssuer, origin: &str, jwks_url: &str, line: &str) -> Value {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or_default();
    let argument = words.next();
    match command {
        "info" => json!({
            "origin": origin,
            "issuer": issuer.issuer(),
            "jwksUrl": jwks_url,
            "kid": issuer.current_kid(),
        }),
        "mint" => {
            let kind = argument.unwrap_or("valid");
            let user = words.next().unwrap_or(DEFAULT_USER);
            match mint(issuer, kind, user) {
                Some(token) => json!({ "kind": kind, "token": token }),
                None => json!({ "error": format!("unknown kind {kind:?}") }),
            }
        }
        "session" => {
            let session = issuer.mint_session(argument.unwrap_or(DEFAULT_USER));
            json!({
                "accessToken": session.access_token,
                "refreshToken": session.refresh_token,
                "frontToken": session.front_token,
            })
        }
        "rotate" => {
            issuer.rotate_keys();
            json!({ "kid": issuer.current_kid() })
        }
        "retire" => {
            issuer.retire_old_keys();
            json!({ "kid": issuer.current_kid() })
        }
        "stats" => json!({
            "jwksRequests": issuer.jwks_requests(),
            "refreshCalls": issuer.refresh_calls(),
        }),
        _ => json!({ "error": format!("unknown command {command:?}") }),
    }
}

/// A token of `kind` for `user`, or `None` for an unknown kind.
fn mint(issuer: &DevIssuer, kind: &str, user: &str) -> Option<String> {
    let lifetime = 3600;
    let base = TokenBuilder::supertokens(user, lifetime).claim("iss", issuer.issuer());
    let token = match kind {
        "valid" => issuer.mint_access_token(user),
        "expired" => issuer.mint_expired_access_token(user),
        "tampered" => tamper(&issuer.mint_access_token(user)),
        "wrong-key" => base.sign(&TestKey::generate(Algorithm::RS256, issuer.current_kid())),
        "unknown-kid" => base.sign(&TestKey::generate(Algorithm::RS256, "d-1")),
        "wrong-issuer" => issuer.sign(&base.claim("iss", "http://evil.invalid/auth")),
        "no-rsub" => issuer.sign(&base.without_claim("rsub")),
        "stt-1" => issuer.sign(&base.claim("stt", 1)),
        "version-number" => issuer.sign(&base.header("version", 5)),
        "v4" => issuer.sign(&base.header("version", "4").without_claim("rsub")),
        "v3" => issuer.sign(
            &base
                .without_header("version")
                .without_claim("rsub")
                .without_claim("tId"),
        ),
        "no-kid" => issuer.sign(&base.without_header("kid")),
        "anti-csrf" => issuer.sign(&base.claim("antiCsrfToken", ANTI_CSRF_TOKEN)),
        "anti-csrf-expired" => {
            issuer.sign(&base.claim("antiCsrfToken", ANTI_CSRF_TOKEN).expires_in(-60))
        }
        "jwt-recipe" => issuer.sign(
            &TokenBuilder::new()
                .header("typ", "JWT")
                .claim("sub", user)
                .claim("iat", testing::now_secs())
                .claim("exp", testing::now_secs() + lifetime)
                .claim("iss", issuer.issuer()),
        ),
        _ => return None,
    };
    Some(token)
}

/// The token with its payload's `sub` changed and the signature kept.
fn tamper(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url payload");
    let mut claims: Value = serde_json::from_slice(&payload).expect("JSON payload");
    claims["sub"] = json!("someone-else");
    claims["rsub"] = json!("someone-else");
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{payload}.{}", parts[0], parts[2])
}
