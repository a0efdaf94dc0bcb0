//! [`SessionProps`]: the page props of SuperTokens' Next.js guide.

use serde::Serialize;

/// Page props, serialized exactly as the SuperTokens Next.js guide's
/// `getServerSideProps` returns them, so existing frontends keep working.
///
/// ```
/// use ssr_session::SessionProps;
/// assert_eq!(serde_json::to_string(&SessionProps::user("u1")).unwrap(), r#"{"userId":"u1"}"#);
/// assert_eq!(
///     serde_json::to_string(&SessionProps::NeedsRefresh).unwrap(),
///     r#"{"fromSupertokens":"needs-refresh"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionProps {
    /// `{"userId": "<sub>"}`
    User {
        /// The user id.
        user_id: String,
    },
    /// `{"fromSupertokens": "needs-refresh"}`
    NeedsRefresh,
}

impl SessionProps {
    /// Props for a signed-in user.
    pub fn user(user_id: impl Into<String>) -> Self {
        Self::User {
            user_id: user_id.into(),
        }
    }
}

impl Serialize for SessionProps {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Self::User { user_id } => map.serialize_entry("userId", user_id)?,
            Self::NeedsRefresh => map.serialize_entry("fromSupertokens", "needs-refresh")?,
        }
        map.end()
    }
}
