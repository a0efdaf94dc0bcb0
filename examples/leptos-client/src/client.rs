//! [`SessionClient`]: server_fn's browser client, plus SuperTokens' session
//! handling.

use std::future::Future;

use send_wrapper::SendWrapper;
use server_fn::Bytes;
use server_fn::client::Client;
use server_fn::client::browser::BrowserClient;
use server_fn::error::FromServerFnError;
use server_fn::response::ClientRes;
use server_fn::response::browser::BrowserResponse;

use crate::browser;
use crate::refresh::{self, Refreshed};
use crate::request::SessionRequest;

/// SuperTokens' "session expired" status (`sessionExpiredStatusCode`), which
/// the layer sends as `401 {"message":"try refresh token"}`.
const SESSION_EXPIRED: u16 = 401;

/// A server-function client (`#[server(client = SessionClient)]`) that keeps
/// the session: on `401` it refreshes once for the whole page and sends the
/// call again, once; when the refresh fails it sends the browser to the login
/// page with the way back. See the [crate docs](crate) for every case, and
/// for how it steps aside when supertokens-website is on the page.
///
/// With any error type `E`; with [`SessionError`](crate::SessionError), the
/// layer's refusals come back typed.
#[derive(Debug)]
pub struct SessionClient;

impl<E, InputStreamError, OutputStreamError> Client<E, InputStreamError, OutputStreamError>
    for SessionClient
where
    E: FromServerFnError,
    InputStreamError: FromServerFnError,
    OutputStreamError: FromServerFnError,
{
    type Request = SessionRequest;
    type Response = BrowserResponse;

    fn send(request: SessionRequest) -> impl Future<Output = Result<BrowserResponse, E>> + Send {
        // The browser runs everything on one thread; server_fn wraps its own
        // client the same way.
        SendWrapper::new(send(request))
    }

    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl futures_util::Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                impl futures_util::Sink<Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, InputStreamError, OutputStreamError>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, InputStreamError, OutputStreamError>>::spawn(future);
    }
}

async fn send<E: FromServerFnError>(request: SessionRequest) -> Result<BrowserResponse, E> {
    let (first, again) = request.into_parts();
    let sdk = browser::sdk_intercepts_fetch();
    let mark = refresh::mark();
    let response = <BrowserClient as Client<E>>::send(first).await?;
    if <BrowserResponse as ClientRes<E>>::status(&response) != SESSION_EXPIRED {
        return Ok(response);
    }
    // supertokens-website has already refreshed (and retried) inside its
    // `fetch`: a 401 that still comes through means the session is gone.
    if sdk {
        go_to_login();
        return Ok(response);
    }
    match (refresh::refresh_since(mark).await, again) {
        (Refreshed::Yes, Some(again)) => <BrowserClient as Client<E>>::send(again.build()?).await,
        (Refreshed::Yes, None) => Ok(response),
        (Refreshed::No, _) => {
            go_to_login();
            Ok(response)
        }
    }
}

fn go_to_login() {
    let config = refresh::config();
    browser::go_to_login(&config.login_url, &config.redirect_parameter);
}
