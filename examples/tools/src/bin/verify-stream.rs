//! `verify-stream`: one long-lived verifier, tokens on stdin one per line,
//! one line of JSON per token on stdout with the outcome and how many JWKS
//! fetches the key provider has made so far. Shows key-set caching and
//! refetching across many tokens, which the one-shot `verify` cannot.
//!
//! ```text
//! verify-stream --oidc-issuer http://127.0.0.1:4000 --audience urn:api
//! > eyJ…
//! {"outcome":"valid","sub":"client-1","fetches":1}
//! ```
//!
//! With `--oidc-issuer`, discovery runs once at start (a failure ends the
//! process with status 5) and the issuer is also required as the `iss`
//! claim. Empty lines are skipped. Tokens are never printed.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Parser as _};
use serde_json::{Map, Value, json};
use ssr_session::{
    JwksKeyProvider, SessionOutcome, Verifier, jwks::JwksKeyProviderBuilder, verify::TokenStructure,
};

/// Verifies tokens read from stdin, one per line, with one verifier.
#[derive(Debug, clap::Parser)]
#[command(
    name = "verify-stream",
    group = ArgGroup::new("keys").required(true).args(["jwks_url", "oidc_issuer"])
)]
struct Cli {
    /// JWKS endpoint.
    #[arg(long, value_name = "URL")]
    jwks_url: Option<String>,
    /// OpenID issuer: keys from its discovered `jwks_uri`; also required as `iss`.
    #[arg(long, value_name = "ISS")]
    oidc_issuer: Option<String>,
    /// Required `iss` claim (default with `--oidc-issuer`: that issuer).
    #[arg(long, value_name = "ISS")]
    issuer: Option<String>,
    /// Required `aud` claim (or member of an `aud` array).
    #[arg(long, value_name = "AUD")]
    audience: Option<String>,
    /// Minimum time between the starts of two fetches made for unknown
    /// `kid`s, in milliseconds (default: the library's, 1000). A token
    /// whose `kid` is unknown waits for the next such fetch.
    #[arg(long, value_name = "MS")]
    unknown_kid_interval_ms: Option<u64>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let interval = cli.unknown_kid_interval_ms.map(Duration::from_millis);
    let configure = move |builder: JwksKeyProviderBuilder| match interval {
        Some(interval) => builder.unknown_kid_interval(interval),
        None => builder,
    };
    let keys = match (&cli.oidc_issuer, &cli.jwks_url) {
        (Some(issuer), _) => match JwksKeyProvider::from_oidc_issuer(issuer, configure).await {
            Ok(keys) => keys,
            Err(error) => {
                eprintln!("verify-stream: OpenID discovery for {issuer} failed: {error}");
                return ExitCode::from(5);
            }
        },
        (None, Some(url)) => match configure(JwksKeyProvider::builder(url)).build() {
            Ok(keys) => keys,
            Err(error) => {
                eprintln!("verify-stream: --jwks-url: {error}");
                return ExitCode::from(2);
            }
        },
        (None, None) => unreachable!("clap requires one key source"),
    };
    let mut builder = Verifier::<Map<String, Value>>::builder_for(keys.clone())
        .without_token_cache()
        .token_structure(TokenStructure::AnyJwt);
    if let Some(issuer) = cli.issuer.as_ref().or(cli.oidc_issuer.as_ref()) {
        builder = builder.issuer(issuer);
    }
    if let Some(audience) = &cli.audience {
        builder = builder.audience(audience);
    }
    let verifier = match builder.build() {
        Ok(verifier) => verifier,
        Err(error) => {
            eprintln!("verify-stream: {error}");
            return ExitCode::from(2);
        }
    };

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
        let token = line.trim();
        if token.is_empty() {
            continue;
        }
        let mut report = match verifier.verify_token(token).await {
            SessionOutcome::Valid(session) => json!({"outcome": "valid", "sub": session.user_id()}),
            SessionOutcome::NeedsRefresh(reason) => {
                json!({"outcome": "needs_refresh", "reason": reason.as_str()})
            }
            SessionOutcome::Invalid(invalid) => json!({
                "outcome": "invalid",
                "kind": invalid.kind().as_str(),
                "message": invalid.detail(),
            }),
            SessionOutcome::Unavailable(unavailable) => {
                json!({"outcome": "unavailable", "message": unavailable.to_string()})
            }
        };
        report["fetches"] = json!(keys.fetch_count());
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{report}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
