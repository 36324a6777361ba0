//! The HTTP edge: routers for enrollment, management and the admin API. Handlers are adapters:
//! decode, call a service, encode.
//!
//! Bodies are bounded per route (enrollment at its parser's limit, management at the SyncML
//! codec's, everything else at [`MAX_OTHER_BODY_BYTES`]); a declared `Content-Length` over the
//! route's limit is refused (413) before anything is read, and every body must arrive within the
//! configured body timeout. Requests that cannot be authenticated are refused before their body
//! is read: management without a client certificate (see [`management`]), the admin API and
//! `/metrics` without the admin token.

mod api;
mod enroll;
pub mod management;
pub mod openapi;
mod openapi_profiles;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::paths;
use crate::state::AppState;

/// The actor recorded in the audit log for requests with the bootstrap admin token.
pub const ADMIN_ACTOR: &str = "admin-token";

/// Largest management body: the SyncML codec's limit.
pub const MAX_MANAGEMENT_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Largest enrollment body (Discovery, STS, Policy, Enrollment): the enrollment parser's limit.
pub const MAX_ENROLLMENT_BODY_BYTES: usize = 256 * 1024;
/// Largest body anywhere else (admin API, portal, console).
pub const MAX_OTHER_BODY_BYTES: usize = 1024 * 1024;

/// The whole application, to serve over TLS (or to call with `oneshot` in tests).
pub fn app(state: AppState) -> Router {
    let enrollment = Router::new()
        .route(
            paths::DISCOVERY,
            get(enroll::discovery_probe).post(enroll::discovery),
        )
        .route(paths::STS, get(enroll::sts_page).post(enroll::sts_submit))
        .route(paths::POLICY, post(enroll::policies))
        .route(paths::ENROLLMENT, post(enroll::enrollment))
        .layer(DefaultBodyLimit::max(MAX_ENROLLMENT_BODY_BYTES));
    let body_timeout = state.config.network.body_timeout;
    Router::new()
        .merge(enrollment)
        .route(paths::MANAGEMENT, post(management::post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics_with_token))
        .route(
            "/api/v1/openapi.json",
            get(|| async { axum::Json(openapi::document()) }),
        )
        .merge(crate::web::router(state.clone()))
        .nest("/api/v1", api::router(state.clone()))
        .layer(DefaultBodyLimit::max(MAX_OTHER_BODY_BYTES))
        .layer(middleware::from_fn(refuse_declared_oversize))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            crate::listener::deadline_body(body_timeout, request, next)
        }))
        .with_state(state)
}

/// The body limit of the route `path` is on.
pub fn body_limit(path: &str) -> usize {
    if path.eq_ignore_ascii_case(paths::MANAGEMENT) {
        MAX_MANAGEMENT_BODY_BYTES
    } else if path.starts_with("/EnrollmentServer/") {
        MAX_ENROLLMENT_BODY_BYTES
    } else {
        MAX_OTHER_BODY_BYTES
    }
}

/// Refuses with 413, before reading anything, a request whose `Content-Length` is over its
/// route's limit.
async fn refuse_declared_oversize(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = body_limit(request.uri().path());
    if declared.is_some_and(|n| n > limit as u64) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONNECTION, "close")],
            format!("the body is over this endpoint's {limit}-byte limit"),
        )
            .into_response();
    }
    next.run(request).await
}

/// The bearer token of an `Authorization` header; the scheme is case-insensitive (RFC 9110
/// §11.1).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// True when the request carries the bootstrap admin token (compared in constant time) and it
/// is not disabled by configuration.
pub fn has_admin_token(state: &AppState, headers: &HeaderMap) -> bool {
    if state.config.disable_bootstrap_token {
        return false;
    }
    let presented = bearer_token(headers).unwrap_or("");
    let expected = state.admin_token.as_bytes();
    presented.len() == expected.len()
        && presented
            .bytes()
            .zip(expected)
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `GET /metrics` on the HTTPS listener: the admin token (or a personal token) is required (Prometheus sends it with
/// `authorization.credentials_file`); the separate metrics listener needs none.
async fn metrics_with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let allowed = match crate::authz::authenticate_bearer(&state, &headers).await {
        Ok(principal) => {
            crate::authz::grants(principal.role(), crate::authz::Permission::MetricsRead)
        }
        Err(_) => false,
    };
    if !allowed {
        state.metrics.refusal("metrics-unauthorized");
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "the admin bearer token is required",
        )
            .into_response();
    }
    state.metrics.render().into_response()
}

/// Binds the plain-HTTP metrics listener (only `GET /metrics`) and serves it in the background.
/// Returns the bound address (port 0 picks one) and the task.
pub async fn metrics_listener(
    addr: SocketAddr,
    state: AppState,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    if !bound.ip().is_loopback() {
        tracing::warn!(%bound, "the metrics listener is not on loopback: anyone who reaches it can read the metrics");
    }
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let state = state.clone();
            async move { state.metrics.render() }
        }),
    );
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER  abc ", "bEaReR abc"] {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(bearer_token(&headers), Some("abc"), "{value}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn each_route_has_its_body_limit() {
        assert_eq!(body_limit(paths::DISCOVERY), MAX_ENROLLMENT_BODY_BYTES);
        assert_eq!(body_limit(paths::ENROLLMENT), MAX_ENROLLMENT_BODY_BYTES);
        assert_eq!(body_limit(paths::MANAGEMENT), MAX_MANAGEMENT_BODY_BYTES);
        assert_eq!(body_limit("/api/v1/users"), MAX_OTHER_BODY_BYTES);
    }
}
