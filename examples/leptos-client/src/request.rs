//! [`SessionRequest`]: a server-function request that can be sent twice.
//!
//! A `fetch` request's body can be read once, and server_fn's own
//! [`BrowserRequest`] cannot be copied from outside the crate. So this request
//! keeps what it was built from and builds a fresh [`BrowserRequest`] for the
//! retry, with server_fn's own constructors: both sends are exactly what
//! server_fn would send.

use http::Method;
use server_fn::Bytes;
use server_fn::error::FromServerFnError;
use server_fn::request::ClientReq;
use server_fn::request::browser::{BrowserFormData, BrowserRequest};

/// What a request was built from, to build it again.
#[derive(Debug)]
enum Recipe {
    Query(String),
    Text(String),
    Bytes(Bytes),
    Multipart(BrowserFormData),
    Form(BrowserFormData),
}

/// A server-function request sent by [`SessionClient`](crate::SessionClient):
/// server_fn's browser request, plus what it takes to send it again once
/// after a refresh. A streaming body cannot be sent again; such a call is
/// not retried.
#[derive(Debug)]
pub struct SessionRequest {
    first: BrowserRequest,
    again: Option<Again>,
}

/// What it takes to build a request again.
#[derive(Debug)]
pub(crate) struct Again {
    path: String,
    content_type: String,
    accepts: String,
    method: Method,
    recipe: Recipe,
}

impl SessionRequest {
    /// The request to send first, and a way to build it again.
    pub(crate) fn into_parts(self) -> (BrowserRequest, Option<Again>) {
        (self.first, self.again)
    }

    fn new(first: BrowserRequest, again: Again) -> Self {
        SessionRequest {
            first,
            again: Some(again),
        }
    }
}

/// A `FormData` for the first send, and one (the same browser object) kept
/// for the second.
fn twice(body: BrowserFormData) -> (BrowserFormData, BrowserFormData) {
    let form = body.take();
    (
        BrowserFormData::from(form.clone()),
        BrowserFormData::from(form),
    )
}

impl Again {
    /// A fresh request, built as the first one was.
    pub(crate) fn build<E: FromServerFnError>(self) -> Result<BrowserRequest, E> {
        let Again {
            path,
            content_type,
            accepts,
            method,
            recipe,
        } = self;
        match recipe {
            Recipe::Query(query) => {
                BrowserRequest::try_new_req_query(&path, &content_type, &accepts, &query, method)
            }
            Recipe::Text(body) => {
                BrowserRequest::try_new_req_text(&path, &content_type, &accepts, body, method)
            }
            Recipe::Bytes(body) => {
                BrowserRequest::try_new_req_bytes(&path, &content_type, &accepts, body, method)
            }
            Recipe::Multipart(body) => {
                BrowserRequest::try_new_req_multipart(&path, &accepts, body, method)
            }
            Recipe::Form(body) => {
                BrowserRequest::try_new_req_form_data(&path, &accepts, &content_type, body, method)
            }
        }
    }
}

impl<E: FromServerFnError> ClientReq<E> for SessionRequest {
    type FormData = BrowserFormData;

    fn try_new_req_query(
        path: &str,
        content_type: &str,
        accepts: &str,
        query: &str,
        method: Method,
    ) -> Result<Self, E> {
        let first = <BrowserRequest as ClientReq<E>>::try_new_req_query(
            path,
            content_type,
            accepts,
            query,
            method.clone(),
        )?;
        Ok(Self::new(
            first,
            Again::of(
                path,
                content_type,
                accepts,
                method,
                Recipe::Query(query.to_owned()),
            ),
        ))
    }

    fn try_new_req_text(
        path: &str,
        content_type: &str,
        accepts: &str,
        body: String,
        method: Method,
    ) -> Result<Self, E> {
        let first = <BrowserRequest as ClientReq<E>>::try_new_req_text(
            path,
            content_type,
            accepts,
            body.clone(),
            method.clone(),
        )?;
        Ok(Self::new(
            first,
            Again::of(path, content_type, accepts, method, Recipe::Text(body)),
        ))
    }

    fn try_new_req_bytes(
        path: &str,
        content_type: &str,
        accepts: &str,
        body: Bytes,
        method: Method,
    ) -> Result<Self, E> {
        let first = <BrowserRequest as ClientReq<E>>::try_new_req_bytes(
            path,
            content_type,
            accepts,
            body.clone(),
            method.clone(),
        )?;
        Ok(Self::new(
            first,
            Again::of(path, content_type, accepts, method, Recipe::Bytes(body)),
        ))
    }

    fn try_new_req_form_data(
        path: &str,
        accepts: &str,
        content_type: &str,
        body: Self::FormData,
        method: Method,
    ) -> Result<Self, E> {
        let (now, later) = twice(body);
        let first = <BrowserRequest as ClientReq<E>>::try_new_req_form_data(
            path,
            accepts,
            content_type,
            now,
            method.clone(),
        )?;
        Ok(Self::new(
            first,
            Again::of(path, content_type, accepts, method, Recipe::Form(later)),
        ))
    }

    fn try_new_req_multipart(
        path: &str,
        accepts: &str,
        body: Self::FormData,
        method: Method,
    ) -> Result<Self, E> {
        let (now, later) = twice(body);
        let first = <BrowserRequest as ClientReq<E>>::try_new_req_multipart(
            path,
            accepts,
            now,
            method.clone(),
        )?;
        Ok(Self::new(
            first,
            Again::of(path, "", accepts, method, Recipe::Multipart(later)),
        ))
    }

    fn try_new_req_streaming(
        path: &str,
        accepts: &str,
        content_type: &str,
        body: impl futures_util::Stream<Item = Bytes> + Send + 'static,
        method: Method,
    ) -> Result<Self, E> {
        let first = <BrowserRequest as ClientReq<E>>::try_new_req_streaming(
            path,
            accepts,
            content_type,
            body,
            method,
        )?;
        Ok(SessionRequest { first, again: None })
    }
}

impl Again {
    fn of(path: &str, content_type: &str, accepts: &str, method: Method, recipe: Recipe) -> Self {
        Again {
            path: path.to_owned(),
            content_type: content_type.to_owned(),
            accepts: accepts.to_owned(),
            method,
            recipe,
        }
    }
}
