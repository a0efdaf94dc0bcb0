//! [`SessionError`]: what a server function called through the
//! [`SessionClient`](crate::SessionClient) can end with, the layer's refusals
//! typed.

use std::fmt;

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};
use server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};

/// One failed requirement of SuperTokens' invalid-claim answer
/// (`claimValidationErrors[i]`), as the frontend SDK receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimFailure {
    /// The claim's key, e.g. `st-role`.
    pub id: String,
    /// Why it failed, in the SDK's shape (e.g. `{"message":"wrong value",
    /// "expectedToInclude":"admin","actualValue":[]}`).
    #[serde(default)]
    pub reason: serde_json::Value,
}

impl ClaimFailure {
    /// The reason's `message`, when it has one.
    pub fn message(&self) -> Option<&str> {
        self.reason.get("message")?.as_str()
    }
}

/// How a server function called through the
/// [`SessionClient`](crate::SessionClient) failed. Server functions that
/// should tell the layer's refusals apart return `Result<T, SessionError>`;
/// a `ServerFnError` from the body converts with `?`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SessionError {
    /// `403 invalid claim`: the session lacks what the function requires
    /// (a role, a verified email…). The list is the SDK-format
    /// `claimValidationErrors`.
    ClaimsFailed(Vec<ClaimFailure>),
    /// No usable session: the refresh failed (the browser is on its way to
    /// the login page), or the layer still answered `401` after a refresh.
    SignInRequired,
    /// Any other failure: the network, the function's own error, encoding.
    ServerFn(ServerFnErrorErr),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::ClaimsFailed(failures) => {
                f.write_str("the session lacks a required claim:")?;
                for failure in failures {
                    write!(f, " {}", failure.id)?;
                    if let Some(message) = failure.message() {
                        write!(f, " ({message})")?;
                    }
                }
                Ok(())
            }
            SessionError::SignInRequired => f.write_str("sign-in required"),
            SessionError::ServerFn(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<server_fn::ServerFnError> for SessionError {
    fn from(error: server_fn::ServerFnError) -> Self {
        SessionError::ServerFn(ServerFnErrorErr::ServerError(error.to_string()))
    }
}

impl From<ServerFnErrorErr> for SessionError {
    fn from(error: ServerFnErrorErr) -> Self {
        SessionError::ServerFn(error)
    }
}

/// The SuperTokens answers the layer sends instead of the function's own.
#[derive(Deserialize)]
struct LayerAnswer {
    message: String,
    #[serde(rename = "claimValidationErrors")]
    claim_validation_errors: Option<Vec<ClaimFailure>>,
}

/// JSON, except that the layer's SuperTokens bodies (which are not this
/// type's JSON) decode to the variants they mean.
#[derive(Debug)]
pub struct SessionErrorEncoding;

impl ContentType for SessionErrorEncoding {
    const CONTENT_TYPE: &'static str = JsonEncoding::CONTENT_TYPE;
}

impl FormatType for SessionErrorEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl Encodes<SessionError> for SessionErrorEncoding {
    type Error = serde_json::Error;

    fn encode(value: &SessionError) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(value).map(Bytes::from)
    }
}

impl Decodes<SessionError> for SessionErrorEncoding {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<SessionError, Self::Error> {
        if let Ok(answer) = serde_json::from_slice::<LayerAnswer>(&bytes) {
            match (answer.message.as_str(), answer.claim_validation_errors) {
                ("invalid claim", Some(failures)) => {
                    return Ok(SessionError::ClaimsFailed(failures));
                }
                ("try refresh token" | "unauthorised", _) => {
                    return Ok(SessionError::SignInRequired);
                }
                _ => {}
            }
        }
        serde_json::from_slice(&bytes)
    }
}

impl FromServerFnError for SessionError {
    type Encoder = SessionErrorEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        SessionError::ServerFn(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &str) -> SessionError {
        SessionError::de(Bytes::from(body.to_owned()))
    }

    #[test]
    fn the_sdk_claim_failure_body_is_typed() {
        let error = decode(
            r#"{"message":"invalid claim","claimValidationErrors":[{"id":"st-role","reason":{"message":"wrong value","expectedToInclude":"admin","actualValue":[]}}]}"#,
        );
        let SessionError::ClaimsFailed(failures) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].id, "st-role");
        assert_eq!(failures[0].message(), Some("wrong value"));
        assert_eq!(
            error.to_string(),
            "the session lacks a required claim: st-role (wrong value)"
        );
    }

    #[test]
    fn the_layer_401_bodies_mean_sign_in() {
        assert_eq!(
            decode(r#"{"message":"try refresh token"}"#),
            SessionError::SignInRequired
        );
        assert_eq!(
            decode(r#"{"message":"unauthorised"}"#),
            SessionError::SignInRequired
        );
    }

    #[test]
    fn the_functions_own_errors_round_trip() {
        let error = SessionError::ServerFn(ServerFnErrorErr::ServerError("no theme".into()));
        assert_eq!(SessionError::de(error.ser()), error);
    }

    #[test]
    fn garbage_is_a_deserialization_error_not_a_panic() {
        assert!(matches!(
            decode("<html>proxy error</html>"),
            SessionError::ServerFn(ServerFnErrorErr::Deserialization(_))
        ));
        assert!(matches!(
            decode(r#"{"message":"invalid claim"}"#),
            SessionError::ServerFn(ServerFnErrorErr::Deserialization(_))
        ));
    }
}
