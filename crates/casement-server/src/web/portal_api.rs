//! The portal's JSON API, for the portal's own script and for other front ends: authenticated by
//! the portal session cookie (not the admin token); a POST also needs the session's
//! `X-CSRF-Token` header (checked by the CSRF middleware before the handler runs).
//!
//! - `GET /api/v1/portal/installs`: the signed-in user's installs, newest first.
//! - `POST /api/v1/portal/installs` `{"device_id", "app_id"}`: install an app on one of the
//!   user's own active devices (another user's device is 404, like an unknown one).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::auth::PortalSession;
use super::portal::{PortalInstallError, my_installs, request_install};
use crate::state::AppState;

/// `GET /api/v1/portal/installs`.
pub async fn list(State(state): State<AppState>, session: PortalSession) -> Response {
    match my_installs(&state, &session.user.id).await {
        Ok(installs) => Json(json!({ "installs": installs })).into_response(),
        Err(e) => error(
            e.status(),
            "unavailable",
            "the server cannot read installs right now",
        ),
    }
}

/// The body of `POST /api/v1/portal/installs`.
#[derive(Debug, Deserialize)]
pub struct NewInstall {
    device_id: String,
    app_id: String,
}

/// `POST /api/v1/portal/installs`.
pub async fn create(
    State(state): State<AppState>,
    session: PortalSession,
    body: Result<Json<NewInstall>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad-request", &e.body_text()),
    };
    match request_install(&state, &session, &body.device_id, &body.app_id).await {
        Ok(install) => (StatusCode::CREATED, Json(install)).into_response(),
        Err(PortalInstallError::NotFound(what)) => {
            error(StatusCode::NOT_FOUND, "not-found", &format!("no {what}"))
        }
        Err(PortalInstallError::Refused(reason)) => {
            error(StatusCode::UNPROCESSABLE_ENTITY, "refused", &reason)
        }
        Err(PortalInstallError::Store(e)) => error(
            e.status(),
            "unavailable",
            "the server cannot request installs right now",
        ),
    }
}

fn error(status: StatusCode, code: &str, reason: &str) -> Response {
    (status, Json(json!({ "error": code, "reason": reason }))).into_response()
}
