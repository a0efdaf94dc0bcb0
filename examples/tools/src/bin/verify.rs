//! `verify`: checks one request's access token the way a server-side
//! renderer would, and prints the outcome as one line of JSON.
//!
//! ```text
//! verify --jwks-url http://localhost:3567/.well-known/jwks.json \
//!        --cookie "sAccessToken=eyJ…; other=1"
//! {"outcome":"valid","sub":"user-1","claims":{…}}
//! ```
//!
//! Exit status: 0 valid, 3 needs refresh, 4 invalid, 5 unavailable (the key
//! source failed), 2 usage or configuration error (message on stderr,
//! nothing on stdout). The token itself is never printed.
//!
//! `--oidc-issuer https://auth.example.com` finds the keys by OpenID
//! discovery (`{issuer}/.well-known/openid-configuration` → `jwks_uri`) and
//! requires that issuer as `iss` unless `--issuer` says otherwise; a failed
//! discovery request is reported as unavailable.
//!
//! Several issuers: repeat `--oidc-issuer`, and/or give
//! `--issuer-template 'https://login.example.com/{tenant}/v2.0'` (repeatable).
//! The token's `iss` then picks the issuer (ssr-session's
//! `IssuerKeyProvider`): an `iss` on none of them is invalid without any
//! request; an allowed issuer is discovered on use, and a failed discovery
//! is unavailable.

use std::error::Error;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{ArgGroup, Parser};
use serde::Serialize;
use serde_json::{Map, Value};
use ssr_session::{
    JwksKeyProvider, KeyProvider, SessionOutcome, Verifier, error::KeySourceError,
    issuers::IssuerKeyProvider, issuers::IssuerKeys, keys::Algorithm, keys::StaticKeys,
    source::HeaderList, verify::TokenStructure,
};

/// Exit status for a usage or configuration error (clap's own usage errors
/// exit with it too).
const EXIT_USAGE: u8 = 2;
const EXIT_NEEDS_REFRESH: u8 = 3;
const EXIT_INVALID: u8 = 4;
const EXIT_UNAVAILABLE: u8 = 5;

/// Verifies a SuperTokens-style access token and prints the outcome as one
/// line of JSON.
///
/// Exit status: 0 valid, 3 needs refresh, 4 invalid, 5 unavailable (the key
/// source failed), 2 usage or configuration error. Set RUST_LOG (e.g.
/// RUST_LOG=ssr_session=debug) for logs on stderr; tokens are never printed.
#[derive(Debug, Parser)]
#[command(
    name = "verify",
    group = ArgGroup::new("keys")
        .required(true)
        .multiple(true)
        .args(["jwks_url", "jwks_file", "oidc_issuer", "issuer_template"]),
    group = ArgGroup::new("remote")
        .multiple(true)
        .args(["jwks_url", "oidc_issuer", "issuer_template"])
)]
struct Cli {
    /// JWKS endpoint to fetch the verification keys from (fetched by the
    /// library's JwksKeyProvider).
    #[arg(long, value_name = "URL", conflicts_with_all = ["jwks_file", "oidc_issuer", "issuer_template"])]
    jwks_url: Option<String>,

    /// JWKS document to read the verification keys from, instead of a URL.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["oidc_issuer", "issuer_template"])]
    jwks_file: Option<PathBuf>,

    /// OpenID issuer: the keys come from the `jwks_uri` of its discovery
    /// document, and it is the required `iss` unless --issuer is given.
    /// Repeat it (or add --issuer-template) to accept several issuers: the
    /// token's `iss` then picks one.
    #[arg(long, value_name = "ISS")]
    oidc_issuer: Vec<String>,

    /// Accept every issuer this template gives with `{tenant}` replaced by
    /// 1 to 64 characters among A-Z a-z 0-9 - _ (e.g.
    /// `https://login.example.com/{tenant}/v2.0`); keys by OpenID discovery.
    /// Repeatable.
    #[arg(long, value_name = "TEMPLATE")]
    issuer_template: Vec<String>,

    /// Required `iss` claim.
    #[arg(long, value_name = "ISS")]
    issuer: Option<String>,

    /// Required `aud` claim (or member of an `aud` array).
    #[arg(long, value_name = "AUD")]
    audience: Option<String>,

    /// Accept any JWT with `sub` and `exp`, not only SuperTokens session
    /// access tokens (implied by --oidc-issuer).
    #[arg(long)]
    any_jwt: bool,

    /// Accepted `alg` values, comma-separated (default: whatever the key allows).
    #[arg(long, value_name = "ALGS", value_delimiter = ',', value_parser = parse_algorithm)]
    algorithms: Option<Vec<Algorithm>>,

    /// Clock leeway for `exp` and `nbf`, in seconds.
    #[arg(long, value_name = "N")]
    leeway_secs: Option<u64>,

    /// Raw `Cookie` header of the request (the token is read from `sAccessToken`).
    #[arg(long, value_name = "RAW COOKIE HEADER")]
    cookie: Option<String>,

    /// Raw `Authorization` header of the request (`Bearer <token>`).
    #[arg(long, value_name = "RAW AUTHORIZATION HEADER")]
    authorization: Option<String>,

    /// The access token alone (as if sent as `Authorization: Bearer <token>`);
    /// prefer the environment variable, which stays out of the process list.
    #[arg(
        long,
        value_name = "JWT",
        env = "SSR_SESSION_TOKEN",
        hide_env_values = true,
        conflicts_with_all = ["cookie", "authorization"]
    )]
    token: Option<String>,

    /// Timeout of one JWKS (or discovery) fetch, in seconds (default: the library's).
    #[arg(long, value_name = "N", requires = "remote")]
    timeout_secs: Option<u64>,
}

fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    name.trim().parse().map_err(|_| {
        "unknown algorithm (expected names such as RS256, PS256, ES256, EdDSA, HS256; \
         case-sensitive)"
            .to_owned()
    })
}

/// The line printed on stdout. The tag comes first in the JSON.
#[derive(Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Report {
    Valid {
        sub: String,
        claims: Map<String, Value>,
    },
    NeedsRefresh {
        reason: &'static str,
    },
    Invalid {
        kind: &'static str,
        message: String,
    },
    Unavailable {
        message: String,
    },
}

impl Report {
    fn from_outcome(outcome: SessionOutcome<Map<String, Value>>) -> (Self, u8) {
        match outcome {
            SessionOutcome::Valid(session) => {
                let sub = session.user_id().to_owned();
                let claims = session.into_claims();
                (Self::Valid { sub, claims }, 0)
            }
            SessionOutcome::NeedsRefresh(reason) => (
                Self::NeedsRefresh {
                    reason: reason.as_str(),
                },
                EXIT_NEEDS_REFRESH,
            ),
            SessionOutcome::Invalid(invalid) => (
                Self::Invalid {
                    kind: invalid.kind().as_str(),
                    message: invalid.detail().to_owned(),
                },
                EXIT_INVALID,
            ),
            SessionOutcome::Unavailable(unavailable) => (
                Self::Unavailable {
                    // The cause itself: the outcome already says "unavailable".
                    message: unavailable
                        .source()
                        .map_or_else(|| unavailable.to_string(), error_chain),
                },
                EXIT_UNAVAILABLE,
            ),
        }
    }
}

/// An error and its `source()` chain, joined by `": "`; a source whose text
/// its parent already ends with is skipped.
fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(error) = source {
        let text = error.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = error.source();
    }
    message
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    ssr_session_example_support::site::init_logging();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("verify: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (report, status) = match runtime.block_on(build_verifier(&cli)) {
        Ok(verifier) => {
            let outcome = runtime.block_on(async {
                match &cli.token {
                    Some(token) => verifier.verify_token(token).await,
                    None => verifier.verify(&request_headers(&cli)).await,
                }
            });
            Report::from_outcome(outcome)
        }
        Err(BuildError::Usage(message)) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let _ = command.error(ErrorKind::ValueValidation, message).print();
            return ExitCode::from(EXIT_USAGE);
        }
        Err(BuildError::Unavailable(message)) => {
            (Report::Unavailable { message }, EXIT_UNAVAILABLE)
        }
    };
    let line = serde_json::to_string(&report).expect("a report serializes to JSON");
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        eprintln!("verify: cannot write to stdout: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::from(status)
}

/// The request as the verifier sees it.
fn request_headers(cli: &Cli) -> HeaderList {
    let mut headers = HeaderList::new();
    if let Some(cookie) = &cli.cookie {
        headers.push("Cookie", cookie.as_str());
    }
    if let Some(authorization) = &cli.authorization {
        headers.push("Authorization", authorization.as_str());
    }
    headers
}

/// Why no verifier could be built.
enum BuildError {
    /// The options describe no verifier (exit 2).
    Usage(String),
    /// OpenID discovery could not be fetched (exit 5, like a JWKS outage).
    Unavailable(String),
}

impl From<String> for BuildError {
    fn from(message: String) -> Self {
        Self::Usage(message)
    }
}

/// The verifier the options describe; a message for the user if they do not
/// describe one.
async fn build_verifier(cli: &Cli) -> Result<Verifier<Map<String, Value>>, BuildError> {
    let single_issuer = match (cli.oidc_issuer.as_slice(), cli.issuer_template.is_empty()) {
        ([issuer], true) => Some(issuer),
        _ => None,
    };
    let multi_issuer = single_issuer.is_none() && cli.jwks_url.is_none() && cli.jwks_file.is_none();
    let keys = match single_issuer {
        Some(issuer) => discover(cli, issuer).await?,
        None if multi_issuer => issuer_keys(cli)?,
        None => key_provider(cli)?,
    };
    let mut builder = Verifier::<Map<String, Value>>::builder_for(keys);
    // With several issuers, each key is bound to its issuer: `iss` is
    // checked without a fixed required issuer.
    if let Some(issuer) = cli.issuer.as_ref().or(single_issuer) {
        builder = builder.issuer(issuer);
    }
    if let Some(audience) = &cli.audience {
        builder = builder.audience(audience);
    }
    if let Some(algorithms) = &cli.algorithms {
        builder = builder.algorithms(algorithms.iter().copied());
    }
    if let Some(leeway) = cli.leeway_secs {
        builder = builder.leeway(Duration::from_secs(leeway));
    }
    if cli.any_jwt || !cli.oidc_issuer.is_empty() || !cli.issuer_template.is_empty() {
        builder = builder.token_structure(TokenStructure::AnyJwt);
    }
    Ok(builder.build().map_err(|error| error_chain(&error))?)
}

/// Keys by OpenID discovery from `issuer`.
async fn discover(cli: &Cli, issuer: &str) -> Result<Arc<dyn KeyProvider>, BuildError> {
    let timeout = cli.timeout_secs.map(Duration::from_secs);
    let provider = JwksKeyProvider::from_oidc_issuer(issuer, |builder| match timeout {
        Some(timeout) => builder.timeout(timeout),
        None => builder,
    })
    .await;
    match provider {
        Ok(provider) => Ok(Arc::new(provider)),
        Err(error) => {
            let message = format!("--oidc-issuer: {}", error_chain(&error));
            // A failed request (not a bad setting or another issuer) is an outage.
            let fetch_failed = error
                .source()
                .is_some_and(|source| source.downcast_ref::<KeySourceError>().is_some());
            Err(if fetch_failed {
                BuildError::Unavailable(message)
            } else {
                BuildError::Usage(message)
            })
        }
    }
}

/// Keys chosen by the token's `iss` among the --oidc-issuer and
/// --issuer-template issuers, each discovered on first use.
fn issuer_keys(cli: &Cli) -> Result<Arc<dyn KeyProvider>, String> {
    let mut builder = IssuerKeyProvider::builder();
    for issuer in &cli.oidc_issuer {
        builder = builder.oidc_issuer(issuer);
    }
    for template in &cli.issuer_template {
        builder = builder.issuer_template(template, IssuerKeys::Discovery);
    }
    if let Some(timeout) = cli.timeout_secs.map(Duration::from_secs) {
        builder = builder.configure_jwks(move |jwks| jwks.timeout(timeout));
    }
    let provider = builder
        .build()
        .map_err(|error| format!("--oidc-issuer / --issuer-template: {}", error_chain(&error)))?;
    Ok(Arc::new(provider))
}

fn key_provider(cli: &Cli) -> Result<Arc<dyn KeyProvider>, String> {
    if let Some(path) = &cli.jwks_file {
        let json = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read --jwks-file {}: {error}", path.display()))?;
        let keys = StaticKeys::from_jwks_json(&json)
            .map_err(|error| format!("--jwks-file {}: {}", path.display(), error_chain(&error)))?;
        return Ok(Arc::new(keys));
    }
    let url = cli
        .jwks_url
        .as_deref()
        .ok_or("one of --jwks-url or --jwks-file is required")?;
    let mut builder = JwksKeyProvider::builder(url);
    if let Some(timeout) = cli.timeout_secs {
        builder = builder.timeout(Duration::from_secs(timeout));
    }
    let provider = builder
        .build()
        .map_err(|error| format!("--jwks-url: {}", error_chain(&error)))?;
    Ok(Arc::new(provider))
}
