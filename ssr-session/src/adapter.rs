//! For adapter authors: what a framework adapter implements and calls.
//!
//! An app never names these. An adapter implements [`RequestView`] over its
//! framework's request, calls [`SessionConfig::extract`](crate::SessionConfig::extract)
//! or [`SessionConfig::guard`](crate::SessionConfig::guard) (which memoise the
//! outcome per request in a [`Memo`]), and converts the [`Rejection`] it may
//! get into its framework's response. [`Extract`] says what a handler's
//! parameter takes from an outcome, [`GuardMode`] what a route group asks.
//!
//! The orphan rule makes each adapter define its own extractor types (a
//! framework's trait can only be implemented for a local type), so the
//! wrappers are generated here, the way axum-core writes its rejections
//! once through a macro: an adapter invokes `ssr_session::__adapter_types!()`
//! and implements only its framework's traits.

pub use crate::pipeline::{Extract, GuardMode, Memo, Rejection, RequestView};

/// Defines `Session`, `OptionalSession`, `Verification`, `Props`,
/// `Require` and `SessionRejection` in the calling adapter crate. Not part
/// of the public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __adapter_types {
    () => {
        /// A required session: the handler runs only when the request's
        /// session is valid (and meets the configuration's requirements).
        /// Derefs to [`ssr_session::Session`].
        ///
        /// # Rejections
        /// Every outcome but valid, with the core's answer (see the
        /// [crate docs](crate#rejections)).
        pub struct Session<C = $crate::SuperTokensClaims>(pub $crate::Session<C>);

        /// An optional session (SuperTokens' `sessionRequired: false`):
        /// `None` when the request carries no access token at all.
        ///
        /// # Rejections
        /// An expired token (so that the browser refreshes), an invalid
        /// token and an unavailable key source, with the core's answers.
        pub struct OptionalSession<C = $crate::SuperTokensClaims>(pub Option<$crate::Session<C>>);

        /// The request's [`SessionOutcome`](ssr_session::SessionOutcome),
        /// whatever it is, for handlers that decide themselves (the
        /// configuration's requirements already applied).
        ///
        /// # Rejections
        /// None, except the 500 for a missing configuration.
        pub struct Verification<C = $crate::SuperTokensClaims>(pub $crate::SessionOutcome<C>);

        /// A valid session that also meets the requirement `V`, named in
        /// the handler's signature: `Require<IsAdmin>`. `V` is any
        /// [`Requirement`](ssr_session::Requirement) with a
        /// `Default` (see [`ssr_session::requirement!`]). Derefs to
        /// [`ssr_session::Session`].
        ///
        /// # Rejections
        /// Those of [`Session`], and SuperTokens'
        /// `403 {"message":"invalid claim","claimValidationErrors":[…]}`
        /// when `V` refuses the claims.
        pub struct Require<V, C = $crate::SuperTokensClaims>(
            pub $crate::Session<C>,
            pub ::std::marker::PhantomData<fn() -> V>,
        );

        /// The page props of SuperTokens' Next.js `getServerSideProps`
        /// guide: `{"userId":…}` or `{"fromSupertokens":"needs-refresh"}`.
        /// Derefs to [`SessionProps`](ssr_session::SessionProps); as a
        /// response it is that JSON, with status 200.
        ///
        /// # Rejections
        /// Invalid tokens and an unavailable key source, with the core's
        /// answers.
        pub struct Props<C = $crate::SuperTokensClaims>(
            pub $crate::SessionProps,
            pub ::std::marker::PhantomData<fn() -> C>,
        );

        /// The answer to a request refused a session: the core's
        /// [`Rejection`](ssr_session::adapter::Rejection), sent as it is.
        #[derive(Debug, Clone)]
        pub struct SessionRejection(pub $crate::adapter::Rejection);

        $crate::__adapter_types!(@wrapper Session, $crate::Session<C>);
        $crate::__adapter_types!(@wrapper OptionalSession, Option<$crate::Session<C>>);
        $crate::__adapter_types!(@wrapper Verification, $crate::SessionOutcome<C>);

        impl<C> Props<C> {
            /// The props.
            pub fn into_inner(self) -> $crate::SessionProps {
                self.0
            }
        }

        impl<C> ::std::ops::Deref for Props<C> {
            type Target = $crate::SessionProps;
            fn deref(&self) -> &$crate::SessionProps {
                &self.0
            }
        }

        impl<C> ::std::clone::Clone for Props<C> {
            fn clone(&self) -> Self {
                Self(self.0.clone(), ::std::marker::PhantomData)
            }
        }

        impl<C> ::std::fmt::Debug for Props<C> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple("Props").field(&self.0).finish()
            }
        }

        impl<V, C> Require<V, C> {
            /// The session.
            pub fn into_inner(self) -> $crate::Session<C> {
                self.0
            }
        }

        impl<V, C> ::std::ops::Deref for Require<V, C> {
            type Target = $crate::Session<C>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl<V, C> ::std::clone::Clone for Require<V, C> {
            fn clone(&self) -> Self {
                Self(self.0.clone(), ::std::marker::PhantomData)
            }
        }

        impl<V, C> ::std::fmt::Debug for Require<V, C> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple("Require").field(&self.0).finish()
            }
        }

        impl SessionRejection {
            /// The status code.
            pub fn status(&self) -> u16 {
                self.0.status()
            }

            /// The body as text (lossy UTF-8).
            pub fn body_text(&self) -> ::std::borrow::Cow<'_, str> {
                self.0.body_text()
            }

            /// The whole answer, as data.
            pub fn response_data(&self) -> &$crate::respond::ResponseData {
                self.0.response_data()
            }
        }

        impl ::std::convert::From<$crate::adapter::Rejection> for SessionRejection {
            fn from(rejection: $crate::adapter::Rejection) -> Self {
                Self(rejection)
            }
        }

        impl ::std::fmt::Display for SessionRejection {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::error::Error for SessionRejection {}
    };
    (@wrapper $name:ident, $inner:ty) => {
        impl<C> $name<C> {
            /// The wrapped value.
            pub fn into_inner(self) -> $inner {
                self.0
            }
        }

        impl<C> ::std::ops::Deref for $name<C> {
            type Target = $inner;
            fn deref(&self) -> &$inner {
                &self.0
            }
        }

        // By hand: derives would demand `C: Clone` / `C: Debug`, but the
        // claims sit behind an `Arc` and are never printed.
        impl<C> ::std::clone::Clone for $name<C> {
            fn clone(&self) -> Self {
                $name(::std::clone::Clone::clone(&self.0))
            }
        }

        impl<C> ::std::fmt::Debug for $name<C> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }
    };
}

/// Defines the route-group entry point `$name` (axum's layer, actix's
/// middleware) in the calling adapter crate: the configuration and the
/// [`GuardMode`](crate::adapter::GuardMode), the constructors of each mode, `Clone` and
/// `Debug`. The adapter implements its framework's trait. Not part of the
/// public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __adapter_group {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        pub struct $name<C = $crate::SuperTokensClaims> {
            config: $crate::SessionConfig<C>,
            mode: ::std::option::Option<$crate::adapter::GuardMode>,
        }

        impl<C> ::std::clone::Clone for $name<C> {
            fn clone(&self) -> Self {
                Self {
                    config: self.config.clone(),
                    mode: self.mode,
                }
            }
        }

        impl<C> ::std::fmt::Debug for $name<C> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("mode", &self.mode)
                    .finish_non_exhaustive()
            }
        }

        impl<C> $name<C> {
            /// Provides the configuration to the extractors behind it and
            /// checks nothing itself: a request is verified when an
            /// extractor asks.
            pub fn new(config: $crate::SessionConfig<C>) -> Self {
                Self { config, mode: None }
            }

            /// Every request needs a valid session (meeting the
            /// configuration's requirements).
            pub fn required(config: $crate::SessionConfig<C>) -> Self {
                Self::checking(config, $crate::adapter::GuardMode::Required)
            }

            /// Requests without a token go on without a session; expired,
            /// invalid and unavailable sessions are refused.
            pub fn optional(config: $crate::SessionConfig<C>) -> Self {
                Self::checking(config, $crate::adapter::GuardMode::Optional)
            }

            /// Every request goes on; the outcome is verified and recorded
            /// for the extractors (read it with `Verification`).
            pub fn observe(config: $crate::SessionConfig<C>) -> Self {
                Self::checking(config, $crate::adapter::GuardMode::Observe)
            }

            fn checking(config: $crate::SessionConfig<C>, mode: $crate::adapter::GuardMode) -> Self {
                Self {
                    config,
                    mode: Some(mode),
                }
            }
        }
    };
}
