//! `claims-check`: SuperTokens claim checks through the real verifier, one
//! case per line, for comparing ssr-session's `403 invalid claim` answers
//! with supertokens-node's (the interop suite's `supertokens/claims.mjs`).
//!
//! Each line on stdin is one JSON object:
//!
//! ```text
//! {"token": "eyJ…", "jwksUrl": "http://127.0.0.1:41234/auth/jwt/jwks.json", "now": 1700000100000,
//!  "issuer": "http://127.0.0.1:41234/auth",
//!  "checks": [{"claim": "st-role", "kind": "includes", "value": "admin",
//!              "maxAgeInSeconds": 60, "id": "roles", "refreshIfStale": false}]}
//! ```
//!
//! - `token`: the access token; `jwksUrl`: where its keys are (one key provider per URL,
//!   kept for the whole run); `issuer` (optional): the required `iss`;
//! - `now`: the verification time in milliseconds since the Unix epoch: the verifier's
//!   clock is fixed there (expiry and claim ages are judged at that instant);
//! - `checks`, applied in order as the verifier's requirements, each a
//!   [`ClaimRequirement`] from `ssr_session::supertokens`: `claim` is the payload key (`st-role`,
//!   `st-perm`, `st-ev`, or any other SDK claim), `kind` one of `includes`, `excludes`,
//!   `includesAll`, `excludesAll`, `includesAny` (array claims; `value` a value, or an array
//!   for the last three), `isTrue`, `isFalse` (boolean claims; no `value`), `hasValue`
//!   (`value` a boolean) or `tenant` (`value` the tenant id; the claim is `tId`);
//!   `maxAgeInSeconds`, `id` and `refreshIfStale` are optional.
//!
//! Each case is answered by one line of JSON on stdout: `{"valid":true}`, or how the core
//! refuses a data request (`fetch`, `Accept: application/json`) with that outcome, through
//! [`SessionConfig::reject`] and the default responses:
//!
//! ```text
//! {"valid":false,"outcome":"invalid","status":403,
//!  "body":{"message":"invalid claim","claimValidationErrors":[{"id":"st-role","reason":{…}}]},
//!  "bodyText":"{\"message\":\"invalid claim\",…}"}
//! ```
//!
//! (`body` parsed, `bodyText` the bytes the core would send, as text.)
//!
//! A line that is not a valid case is answered `{"error":"…"}`. Empty lines are skipped;
//! the process ends when stdin closes. Tokens are never printed.

use std::collections::HashMap;
use std::io::{BufRead as _, Write as _};

use serde::Deserialize;
use serde_json::{Value, json};
use ssr_session::supertokens::{ArrayClaim, BooleanClaim, ClaimRequirement, tenant_is};
use ssr_session::{
    JwksKeyProvider, SessionConfig, Verifier, respond::RequestInfo, source::HeaderList,
};

/// One case (a line of stdin).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    token: String,
    jwks_url: String,
    /// Milliseconds since the Unix epoch.
    now: f64,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    checks: Vec<Check>,
}

/// One claim check of a case.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Check {
    claim: String,
    kind: String,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    max_age_in_seconds: Option<u64>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    refresh_if_stale: bool,
}

/// Claim keys are `&'static str` in [`ArrayClaim`] / [`BooleanClaim`]: each distinct key
/// read from the input is leaked once and reused.
#[derive(Default)]
struct Keys(HashMap<String, &'static str>);

impl Keys {
    fn get(&mut self, key: &str) -> &'static str {
        if let Some(known) = self.0.get(key) {
            return known;
        }
        let leaked: &'static str = Box::leak(key.to_owned().into_boxed_str());
        self.0.insert(key.to_owned(), leaked);
        leaked
    }
}

impl Check {
    /// The [`ClaimRequirement`] this entry names.
    fn build(&self, keys: &mut Keys) -> Result<ClaimRequirement, String> {
        let key = keys.get(&self.claim);
        let array = || ArrayClaim::new(key);
        let value = || {
            self.value
                .clone()
                .ok_or_else(|| format!("{}: needs a value", self.kind))
        };
        let values = || match self.value.clone() {
            Some(Value::Array(values)) => Ok(values),
            _ => Err(format!("{}: needs an array value", self.kind)),
        };
        let check = match self.kind.as_str() {
            "includes" => array().includes(value()?),
            "excludes" => array().excludes(value()?),
            "includesAll" => array().includes_all(values()?),
            "excludesAll" => array().excludes_all(values()?),
            "includesAny" => array().includes_any(values()?),
            "isTrue" | "isFalse" | "hasValue" => {
                let claim = BooleanClaim::new(key);
                match (self.kind.as_str(), &self.value) {
                    ("isTrue", None) => claim.is_true(),
                    ("isFalse", None) => claim.is_false(),
                    ("hasValue", Some(Value::Bool(wanted))) => claim.has_value(*wanted),
                    (kind, _) => return Err(format!("{kind}: wrong value {:?}", self.value)),
                }
            }
            "tenant" => match &self.value {
                Some(Value::String(tenant)) => tenant_is(tenant),
                _ => return Err("tenant: needs a string value".to_owned()),
            },
            other => return Err(format!("unknown kind {other:?}")),
        };
        let check = match self.max_age_in_seconds {
            Some(secs) => check.max_age_secs(secs),
            None => check,
        };
        let check = match &self.id {
            Some(id) => check.id(id.clone()),
            None => check,
        };
        Ok(if self.refresh_if_stale {
            check.refresh_if_stale()
        } else {
            check
        })
    }
}

/// The key providers, one per JWKS URL, each built on first use and kept.
#[derive(Default)]
struct Providers(HashMap<String, JwksKeyProvider>);

impl Providers {
    fn get(&mut self, url: &str) -> Result<JwksKeyProvider, String> {
        if let Some(provider) = self.0.get(url) {
            return Ok(provider.clone());
        }
        let provider = JwksKeyProvider::builder(url)
            .build()
            .map_err(|error| format!("jwksUrl: {error}"))?;
        self.0.insert(url.to_owned(), provider.clone());
        Ok(provider)
    }
}

/// The answer to one case.
async fn answer(case: Case, keys: &mut Keys, providers: &mut Providers) -> Result<Value, String> {
    let checks = case
        .checks
        .iter()
        .map(|check| check.build(keys))
        .collect::<Result<Vec<_>, _>>()?;
    let now_secs = case.now / 1000.0;
    let mut builder = Verifier::builder(providers.get(&case.jwks_url)?)
        .without_token_cache()
        .clock(move || now_secs);
    if let Some(issuer) = case.issuer {
        builder = builder.issuer(issuer);
    }
    for check in checks {
        builder = builder.require(check);
    }
    let verifier = builder.build().map_err(|error| error.to_string())?;
    let outcome = verifier.verify_token(&case.token).await;
    if outcome.is_valid() {
        return Ok(json!({ "valid": true }));
    }
    // How the core answers a data request (a page's fetch) refused with this outcome.
    let config = SessionConfig::new(verifier);
    let headers = HeaderList::new().with("accept", "application/json");
    let rejection = config.reject(
        &outcome,
        &RequestInfo::new(&headers, "GET", "/claims-check"),
    );
    let body: Value = serde_json::from_slice(rejection.body())
        .unwrap_or_else(|_| Value::String(rejection.body_text().into_owned()));
    Ok(json!({
        "valid": false,
        "outcome": outcome.name(),
        "status": rejection.status(),
        "body": body,
        "bodyText": rejection.body_text(),
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut keys = Keys::default();
    let mut providers = Providers::default();
    let mut stdout = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let result = match serde_json::from_str::<Case>(&line) {
            Ok(case) => answer(case, &mut keys, &mut providers).await,
            Err(error) => Err(format!("not a case: {error}")),
        };
        let out = result.unwrap_or_else(|error| json!({ "error": error }));
        writeln!(stdout, "{out}")?;
        stdout.flush()?;
    }
    Ok(())
}
