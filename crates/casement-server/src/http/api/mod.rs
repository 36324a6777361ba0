//! The admin REST API (`/api/v1`, JSON, `Authorization: Bearer <admin token>`).

mod actions;
mod admins;
mod apps;
mod commands;
mod devices;
mod events;
mod profiles;
mod sessions;
mod tokens;
mod users;

use crate::fault::{Fault, Faulty};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::json;

use crate::authz;
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
        .route(
            "/devices/{id}/recording",
            put(devices::start_recording).delete(devices::stop_recording),
        )
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
        .route("/admins/{id}/role", post(admins::set_role))
        .route("/devices.csv", get(devices::csv))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::revoke))
        .route("/events", get(events::list))
        .route(
            "/webhooks",
            get(events::list_webhooks).post(events::create_webhook),
        )
        .route("/webhooks/{id}", delete(events::delete_webhook))
        .route("/webhooks/{id}/deliveries", get(events::deliveries))
        .route("/devices/{id}/actions", post(actions::create))
        .route("/action-requests", get(actions::list))
        .route("/action-requests/{id}/approve", post(actions::approve))
        .route("/action-requests/{id}/reject", post(actions::reject))
        .route("/profiles", get(profiles::list).post(profiles::create))
        .route(
            "/profiles/{id}",
            get(profiles::get)
                .put(profiles::update)
                .delete(profiles::remove),
        )
        .route("/profiles/{id}/assignments", post(profiles::assign))
        .route(
            "/profiles/{id}/assignments/{group}",
            delete(profiles::unassign),
        )
        .route("/profiles/{id}/devices", get(profiles::devices))
        .route("/devices/{id}/profiles", get(profiles::of_device))
        .route(
            "/groups",
            get(profiles::list_groups).post(profiles::create_group),
        )
        .route(
            "/groups/{id}",
            get(profiles::get_group)
                .put(profiles::update_group)
                .delete(profiles::delete_group),
        )
        .layer(middleware::from_fn_with_state(state, authorize))
}

/// Every admin API request: authenticates the bearer token (the bootstrap token unless
/// disabled, or a personal token; 401 otherwise) and checks the route's permission in
/// [`authz::API_ROUTES`] (403 naming it, audited) before the body is read. The principal is
/// handed to the handler (an extension) and is the audit actor of what it records.
async fn authorize(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let principal = match authz::authenticate_bearer(&state, request.headers()).await {
        Ok(p) => p,
        Err(authz::BearerError::Unauthorized) => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid admin bearer token is required",
            )
            .into_response();
        }
        Err(authz::BearerError::Store(e)) => return ApiError::from(e).into_response(),
    };
    let route = route_of(&request);
    let door = format!("{} {route}", request.method());
    match authz::need(authz::API_ROUTES, request.method(), &route) {
        Some(authz::Need::Permission(p)) => {
            if let Err(refused) = authz::require(&state, &principal, p, &door).await {
                return refused.into_response();
            }
        }
        Some(authz::Need::CommandKind | authz::Need::Open) => {}
        None => {
            let refused = authz::refuse(&state, &principal, authz::UNLISTED, &door).await;
            return refused
                .err()
                .map(IntoResponse::into_response)
                .unwrap_or_default();
        }
    }
    request.extensions_mut().insert(principal.clone());
    authz::with_actor(principal.actor(), next.run(request)).await
}

/// The route the request matched (`/api/v1/devices/{id}`), as the permission tables name it.
fn route_of(request: &Request) -> String {
    let matched = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| request.uri().path(), |m| m.as_str());
    if matched.starts_with("/api/v1") {
        matched.to_owned()
    } else {
        format!("/api/v1{matched}")
    }
}

/// Checks, in a handler, the permission of the command kind in a request body (routes marked
/// [`authz::Need::CommandKind`]).
pub async fn require_kind(
    state: &AppState,
    principal: &authz::Principal,
    request: &impl serde::Serialize,
    door: &str,
) -> Result<(), ApiError> {
    let kind = serde_json::to_value(request)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_default();
    authz::require(state, principal, authz::command_permission(&kind), door)
        .await
        .map_err(ApiError::from)
}

/// An API error: HTTP status, a stable code and a human reason.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    reason: String,
    /// For a 403: the permission the principal lacks.
    missing_permission: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
            missing_permission: None,
        }
    }
}

impl From<authz::Forbidden> for ApiError {
    fn from(f: authz::Forbidden) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            reason: f.reason(),
            missing_permission: Some(f.missing_permission),
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
        let body = match self.missing_permission {
            Some(missing) => {
                json!({ "error": self.code, "reason": self.reason, "missing_permission": missing })
            }
            None => json!({ "error": self.code, "reason": self.reason }),
        };
        (self.status, Json(body)).into_response()
    }
}

/// Appends an audit entry as the request's principal (the bootstrap token's `admin-token`, a
/// personal token's `token:<name>`; [`crate::services::audit::record`]).
pub async fn audit(
    state: &AppState,
    action: &str,
    target: Option<&str>,
    detail: serde_json::Value,
) {
    let actor = crate::authz::current_actor();
    crate::services::audit::record(state, &actor, action, target, detail).await;
}

/// 404 for an unknown id.
pub fn not_found(what: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-found", what)
}
