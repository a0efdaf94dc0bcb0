//! `csrf-check`: requests through the real core pipeline under one of
//! SuperTokens' anti-CSRF modes, one case per line, for comparing
//! ssr-session's answers with supertokens-node's (the interop suite's
//! `supertokens/anti-csrf.mjs`).
//!
//! Each line on stdin is one JSON object:
//!
//! ```text
//! {"mode": "VIA_TOKEN", "method": "POST", "path": "/api/me",
//!  "headers": [["accept", "application/json"], ["cookie", "sAccessToken=eyJ…"], ["anti-csrf", "…"]],
//!  "jwksUrl": "http://127.0.0.1:41234/auth/jwt/jwks.json", "issuer": "http://127.0.0.1:41234/auth"}
//! ```
//!
//! - `mode`: `NONE`, `VIA_CUSTOM_HEADER` or `VIA_TOKEN` (supertokens-node's names), required
//!   with `CsrfProtection::default().anti_csrf(…)` on top of the default origin check;
//! - `method`, `path` (optional, default `/`) and `headers` (name and value pairs, in order):
//!   the request;
//! - `jwksUrl`: where the token's keys are; `issuer` (optional): the required `iss` (one
//!   configuration per mode, URL and issuer, kept for the whole run: the keys are fetched once;
//!   no verified-token cache, so every case is verified).
//!
//! The request goes through `SessionConfig::extract::<Session, _>`, the pipeline every
//! entry point runs (verification, the forgery checks, the requirements, the answer). Each
//! case is answered by one line of JSON on stdout: `{"status":200,"userId":"…","outcome":"valid"}`,
//! or the rejection the core renders:
//!
//! ```text
//! {"status":401,"outcome":"anti_csrf","body":{"message":"try refresh token"},
//!  "bodyText":"{\"message\":\"try refresh token\"}"}
//! ```
//!
//! (`outcome` names the judged outcome: `valid`, `needs_refresh`, `unavailable` or the
//! invalid kind, such as `anti_csrf`, `bad_signature`, `malformed`; `body` parsed, `bodyText`
//! the bytes the core would send, as text.)
//!
//! A line that is not a valid case is answered `{"error":"…"}`. Empty lines are skipped;
//! the process ends when stdin closes. Tokens are never printed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead as _, Write as _};

use serde::Deserialize;
use serde_json::{Value, json};
use ssr_session::{
    CsrfProtection, JwksKeyProvider, Session, SessionConfig, SessionOutcome, SuperTokensClaims,
    Verifier, adapter::Memo, adapter::RequestView, csrf::AntiCsrf, source::HeaderList,
    source::Headers,
};

/// One case (a line of stdin).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    mode: String,
    method: String,
    #[serde(default)]
    path: Option<String>,
    headers: Vec<(String, String)>,
    jwks_url: String,
    #[serde(default)]
    issuer: Option<String>,
}

/// The case's request, as the pipeline sees it.
struct Request {
    headers: HeaderList,
    method: String,
    path: String,
    memo: Option<Memo>,
}

impl RequestView<SuperTokensClaims> for Request {
    fn headers(&self) -> &dyn Headers {
        &self.headers
    }

    fn method(&self) -> &str {
        &self.method
    }

    fn path_and_query(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.path)
    }

    fn memo(&self) -> Option<Memo> {
        self.memo.clone()
    }

    fn keep_memo(&mut self, memo: Memo) -> Option<Memo> {
        self.memo = Some(memo);
        None
    }
}

/// The configurations, one per mode, JWKS URL and issuer, each built on first use and
/// kept (with its key provider, so the keys are fetched once).
#[derive(Default)]
struct Configs(HashMap<(AntiCsrf, String, Option<String>), SessionConfig>);

impl Configs {
    fn get(
        &mut self,
        mode: AntiCsrf,
        jwks_url: &str,
        issuer: Option<&str>,
    ) -> Result<&SessionConfig, String> {
        let key = (mode, jwks_url.to_owned(), issuer.map(str::to_owned));
        if !self.0.contains_key(&key) {
            let provider = JwksKeyProvider::builder(jwks_url)
                .build()
                .map_err(|error| format!("jwksUrl: {error}"))?;
            let mut builder = Verifier::builder(provider).without_token_cache();
            if let Some(issuer) = issuer {
                builder = builder.issuer(issuer);
            }
            let verifier = builder.build().map_err(|error| error.to_string())?;
            let config =
                SessionConfig::new(verifier).csrf(CsrfProtection::default().anti_csrf(mode));
            self.0.insert(key.clone(), config);
        }
        Ok(&self.0[&key])
    }
}

fn mode_named(name: &str) -> Result<AntiCsrf, String> {
    match name {
        "NONE" => Ok(AntiCsrf::None),
        "VIA_CUSTOM_HEADER" => Ok(AntiCsrf::ViaCustomHeader),
        "VIA_TOKEN" => Ok(AntiCsrf::ViaToken),
        other => Err(format!("unknown mode {other:?}")),
    }
}

/// The judged outcome's name: the invalid kind for an invalid one.
fn outcome_name(outcome: &SessionOutcome) -> &'static str {
    match outcome {
        SessionOutcome::Invalid(error) => error.kind().as_str(),
        other => other.name(),
    }
}

/// The answer to one case.
async fn answer(case: Case, configs: &mut Configs) -> Result<Value, String> {
    let mode = mode_named(&case.mode)?;
    let config = configs.get(mode, &case.jwks_url, case.issuer.as_deref())?;
    let mut request = Request {
        headers: case
            .headers
            .iter()
            .fold(HeaderList::new(), |list, (name, value)| {
                list.with(name.as_str(), value.as_str())
            }),
        method: case.method,
        path: case.path.unwrap_or_else(|| "/".to_owned()),
        memo: None,
    };
    // The outcome the pipeline judged, for the table (an extractor that never refuses; the
    // verification is memoised in the request, as for a layer and the extractors behind it).
    let judged: SessionOutcome = config
        .extract(&mut request, None)
        .await
        .map_err(|rejection| format!("the outcome extractor refused: {rejection}"))?;
    let outcome = outcome_name(&judged);
    // The answer, as every entry point requiring a session gives it.
    match config.extract::<Session, _>(&mut request, None).await {
        Ok(session) => {
            Ok(json!({ "status": 200, "outcome": outcome, "userId": session.user_id() }))
        }
        Err(rejection) => {
            let body: Value = serde_json::from_slice(rejection.body())
                .unwrap_or_else(|_| Value::String(rejection.body_text().into_owned()));
            Ok(json!({
                "status": rejection.status(),
                "outcome": outcome,
                "body": body,
                "bodyText": rejection.body_text(),
            }))
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut configs = Configs::default();
    let mut stdout = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let result = match serde_json::from_str::<Case>(&line) {
            Ok(case) => answer(case, &mut configs).await,
            Err(error) => Err(format!("not a case: {error}")),
        };
        let out = result.unwrap_or_else(|error| json!({ "error": error }));
        writeln!(stdout, "{out}")?;
        stdout.flush()?;
    }
    Ok(())
}
