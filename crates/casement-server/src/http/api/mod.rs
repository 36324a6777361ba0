//! The admin REST API (`/api/v1`, JSON, `Authorization: Bearer <admin token>`).

mod admins;
mod apps;
mod commands;
mod devices;
mod sessions;
mod users;

use crate::fault::{Fault, Faulty};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/devices", get(devices::list))
        .route("/devices/{id}", get(devices::get))
        .route(
            "/devices/{id}/commands",
            get(commands::list).post(commands::create),
        )
        .route("/devices/{id}/sessions", get(sessions::list))
        .route("/commands", post(commands::create_bulk))
        .route("/commands/{id}", get(commands::get))
        .route("/commands/{id}/cancel", post(commands::cancel))
        .route("/sessions/{id}", get(sessions::get))
        .route("/users", get(users::list).post(users::create))
        .route("/apps", get(apps::list).post(apps::create))
        .route(
            "/devices/{id}/installs",
            get(apps::list_installs).post(apps::install),
        )
        .route("/installs/{id}", get(apps::get_install))
        .route("/audit", get(sessions::audit))
        .route("/admins", get(admins::list).post(admins::create))
        .layer(middleware::from_fn_with_state(state, require_admin))
}

/// Refuses requests without the admin bearer token (compared in constant time; the scheme in
/// any case), before their body is read.
async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !super::has_admin_token(&state, request.headers()) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid admin bearer token is required",
        )
        .into_response();
    }
    next.run(request).await
}

/// An API error: HTTP status, a stable code and a human reason.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    reason: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
        }
    }
}

/// Any service error, answered as its fault says (`crate::fault`).
impl<E: Faulty> From<E> for ApiError {
    fn from(e: E) -> Self {
        let fault = e.fault();
        if fault == Fault::Unavailable {
            tracing::error!(error = %e, "admin API: storage failure");
            return Self::new(fault.status(), fault.code(), "storage is unavailable");
        }
        Self::new(fault.status(), e.code(), e.reason())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": self.code, "reason": self.reason })),
        )
            .into_response()
    }
}

/// The actor recorded in the audit log for admin-token requests.
pub const ADMIN_ACTOR: &str = "admin-token";

/// Appends an audit entry as the admin token ([`crate::services::audit::record`]).
pub async fn audit(
    state: &AppState,
    action: &str,
    target: Option<&str>,
    detail: serde_json::Value,
) {
    crate::services::audit::record(state, ADMIN_ACTOR, action, target, detail).await;
}

/// 404 for an unknown id.
pub fn not_found(what: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-found", what)
}
