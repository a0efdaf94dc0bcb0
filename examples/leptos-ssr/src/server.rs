//! The server: Leptos' routes behind the session layers, the dev issuer
//! under `/auth`, and `main`.

use std::sync::Arc;

use axum::Router;
use clap::Parser as _;
use leptos::config::LeptosOptions;
use leptos::context::provide_context;
use leptos_axum::{LeptosRoutes as _, generate_route_list};
use ssr_session::SessionConfig;
use ssr_session::supertokens::has_role;
use ssr_session_axum::SessionLayer;
use ssr_session_example_support::site::{self, Options, SetupError, Site};
use tower_layer::Layer as _;

use crate::app::{App, SessionUrls, shell};

/// Leptos' options: what `cargo leptos` would pass in `LEPTOS_*`
/// environment variables, with defaults that need no tool and no file.
pub fn leptos_options() -> LeptosOptions {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    LeptosOptions::builder()
        .output_name(var("LEPTOS_OUTPUT_NAME", env!("CARGO_CRATE_NAME")))
        .site_root(var("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(var("LEPTOS_SITE_PKG_DIR", "pkg"))
        .build()
}

/// Where the client bundle's JavaScript is:
/// `{site_root}/{site_pkg_dir}/{output_name}.js`, as
/// `scripts/build-leptos-bundle.sh` leaves it.
pub fn bundle_path(options: &LeptosOptions) -> std::path::PathBuf {
    std::path::Path::new(options.site_root.as_ref())
        .join(options.site_pkg_dir.as_ref())
        .join(format!("{}.js", options.output_name))
}

/// The site's router. When the client bundle is built ([`bundle_path`]),
/// pages link it and `/pkg` serves it: the pages hydrate. Without it, they
/// are served as complete HTML that needs no script.
///
/// Leptos' own router (pages and every server function) is built once;
/// each path the site serves is routed to it *through* the layer that path
/// needs, so the layer answers before Leptos renders a byte. A page or a
/// server function not routed here is not served at all.
///
/// `urls` are where the hydrated pages refresh and sign in.
pub fn router(site: Site, options: LeptosOptions, urls: SessionUrls) -> Router {
    let config: SessionConfig = site.session.clone();
    let site = Arc::new(site);

    let hydrate = bundle_path(&options).is_file();
    let shell_options = options.clone();
    // Pages and server functions read the site's state from the context.
    let context_site = site.clone();
    let leptos = Router::new()
        .leptos_routes_with_context(
            &options,
            generate_route_list(App),
            move || provide_context(context_site.clone()),
            move || shell(shell_options.clone(), hydrate, urls.clone()),
        )
        .with_state(options.clone());

    let required = SessionLayer::required(config.clone());
    let optional = SessionLayer::optional(config.clone());
    let admins = SessionLayer::required(config.clone().require(has_role(site::ADMIN_ROLE)));
    let mut router = Router::new()
        .route_service("/", leptos.clone())
        .route_service("/dashboard", required.layer(leptos.clone()))
        .route_service("/optional", optional.layer(leptos.clone()))
        .route_service("/admin", admins.layer(leptos.clone()))
        .route_service("/account/settings", required.layer(leptos.clone()))
        // Server functions: a data request, so needs-refresh is
        // `401 {"message":"try refresh token"}`.
        .route_service("/api/session/{*name}", required.layer(leptos.clone()))
        .route_service("/api/optional/{*name}", optional.layer(leptos.clone()))
        .route_service("/api/admin/{*name}", admins.layer(leptos.clone()));
    if hydrate {
        router = router.route_service(
            &leptos_axum::site_pkg_dir_service_route_path(&options),
            leptos_axum::site_pkg_dir_service(&options),
        );
    }
    site::axum_site(router, site)
}

/// Runs the site with the command line's options until Ctrl-C.
#[tokio::main]
pub async fn main() -> Result<(), SetupError> {
    let options = Options::parse();
    site::init_logging();
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    let site = Site::new(&options, addr)?;
    let mut leptos = leptos_options();
    if !bundle_path(&leptos).is_file() {
        eprintln!(
            "leptos-ssr: no client bundle at {}: pages are served without hydration \
             (build it with scripts/build-leptos-bundle.sh)",
            bundle_path(&leptos).display()
        );
    }
    site::print_address(addr);
    leptos.site_addr = addr;
    let urls = SessionUrls::for_api_domain(options.api_domain.as_deref());
    axum::serve(listener, router(site, leptos, urls))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
