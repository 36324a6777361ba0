//! The stylesheet and the portal's one script, compiled into the binary and served with a
//! version in the path so browsers may cache them for good.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The stylesheet's path (changes with the crate version).
pub const CSS_PATH: &str = concat!("/web/static/casement-", env!("CARGO_PKG_VERSION"), ".css");
/// The portal script's path.
pub const PORTAL_JS_PATH: &str = concat!("/web/static/portal-", env!("CARGO_PKG_VERSION"), ".js");

const CSS: &str = include_str!("static/casement.css");
const PORTAL_JS: &str = include_str!("static/portal.js");

/// `GET` [`CSS_PATH`].
pub async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

/// `GET` [`PORTAL_JS_PATH`].
pub async fn portal_js() -> Response {
    asset("text/javascript; charset=utf-8", PORTAL_JS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
