//! The web: the end users' portal (`/portal`), the administrators' console (`/console`) and the
//! portal's JSON API (`/api/v1/portal/...`). Server-rendered HTML (maud templates compiled into
//! the binary), one stylesheet and one small script served from the binary, no build toolchain.
//!
//! | module | what |
//! |---|---|
//! | [`auth`] | sessions (hashed in the database), cookies, CSRF, sign-in rate limit |
//! | [`portal`], [`portal_api`] | the portal's pages and its JSON API |
//! | [`console`] | the console's pages and actions |
//! | [`page`], [`words`], [`assets`] | the page shell and errors, values in words, CSS/JS |
//!
//! Every route here passes the CSRF check ([`auth::require_csrf`]) and answers with a
//! `Server-Timing` header (`app;dur=<ms>`: the time the server spent on the request).

pub mod assets;
pub mod auth;
pub mod console;
pub mod page;
pub mod portal;
pub mod portal_api;
pub mod words;

use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

use crate::state::AppState;

/// The portal, the console and the portal API (merged into [`crate::http::app`]).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/portal", get(portal::home))
        .route("/portal/", get(|| async { Redirect::permanent("/portal") }))
        .route("/portal/login", get(portal::login_page).post(portal::login))
        .route("/portal/logout", post(portal::logout))
        .route("/portal/installs", post(portal::install))
        .route(
            "/api/v1/portal/installs",
            get(portal_api::list).post(portal_api::create),
        )
        .merge(console::router())
        .layer(middleware::from_fn_with_state(state, auth::require_csrf))
        .route(assets::CSS_PATH, get(assets::css))
        .route(assets::PORTAL_JS_PATH, get(assets::portal_js))
        .layer(middleware::from_fn(server_timing))
}

/// Adds `Server-Timing: app;dur=<ms>` (W3C Server Timing) with the time spent producing the
/// response (pages are rendered whole before they are sent).
async fn server_timing(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.2}")) {
        response.headers_mut().insert("server-timing", v);
    }
    response
}

/// Appends an audit entry for a web action ([`crate::services::audit::record`]).
pub async fn audit(
    state: &AppState,
    actor: &str,
    action: &str,
    target: Option<&str>,
    detail: serde_json::Value,
) {
    crate::services::audit::record(state, actor, action, target, detail).await;
}
