//! The HTTP edge: routers for enrollment, management and the admin API. Handlers are adapters:
//! decode, call a service, encode.

mod api;
mod enroll;
pub mod management;
pub mod openapi;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::paths;
use crate::state::AppState;

/// Largest request body accepted on any endpoint (enrollment requests are a few KiB; SyncML
/// messages are bounded again by the codec's limits).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The whole application, to serve over TLS (or to call with `oneshot` in tests).
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(
            paths::DISCOVERY,
            get(enroll::discovery_probe).post(enroll::discovery),
        )
        .route(paths::STS, get(enroll::sts_page).post(enroll::sts_submit))
        .route(paths::POLICY, post(enroll::policies))
        .route(paths::ENROLLMENT, post(enroll::enrollment))
        .route(paths::MANAGEMENT, post(management::post))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(
                |axum::extract::State(state): axum::extract::State<AppState>| async move {
                    state.metrics.render()
                },
            ),
        )
        .route(
            "/api/v1/openapi.json",
            get(|| async { axum::Json(openapi::document()) }),
        )
        .merge(crate::web::router(state.clone()))
        .nest("/api/v1", api::router(state.clone()))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
