//! Device actions (issue 15 part 1): `POST /devices/{id}/actions` (wipe, reboot, lock — queued
//! at once, or recorded as a request when wipes need a second administrator's approval) and the
//! requests: `GET /action-requests`, `POST /action-requests/{id}/approve|reject`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use casement_dm::catalog::CommandRequest;
use casement_store::ActionRequest;
use serde_json::json;

use super::commands::{CommandView, platform_of, view};
use super::{ApiError, not_found};
use crate::authz::Principal;
use crate::services::actions::{Asked, DecideError, ask, decide};
use crate::services::commands::QueueError;
use crate::state::AppState;

/// An action request as the API shows it.
fn request_view(r: &ActionRequest) -> serde_json::Value {
    json!({
        "id": r.id,
        "device_id": r.device_id,
        "action": r.action,
        "request": serde_json::from_str::<serde_json::Value>(&r.payload).ok(),
        "requested_by": r.requested_by,
        "requested_at": r.requested_at,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "state": r.state.as_str(),
    })
}

fn queue_error(device_id: &str, e: QueueError) -> ApiError {
    match e {
        QueueError::UnknownDevice => not_found(format!("no device {device_id}")),
        QueueError::Retired => ApiError::new(
            StatusCode::CONFLICT,
            "retired",
            format!("device {device_id} is retired"),
        ),
        QueueError::Refused(reason) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", reason)
        }
        QueueError::Store(e) => e.into(),
    }
}

/// `POST /devices/{id}/actions` with `{"kind": "wipe", "confirm": "<device name>", "method":
/// …}`, `{"kind": "reboot", "at": …}` or `{"kind": "lock"}`: 201 with the commands, or 202 with
/// the request when a wipe waits for approval.
pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(device_id): Path<String>,
    body: Result<Json<CommandRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Json(request) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))?;
    super::require_kind(
        &state,
        &principal,
        &request,
        "POST /api/v1/devices/{id}/actions",
    )
    .await?;
    let actor = crate::authz::current_actor();
    match ask(&state, &actor, &device_id, &request)
        .await
        .map_err(|e| queue_error(&device_id, e))?
    {
        Asked::Queued(rows) => {
            let platform = platform_of(&state, &device_id).await?;
            let commands: Vec<CommandView> = rows.into_iter().map(|c| view(c, platform)).collect();
            Ok((StatusCode::CREATED, Json(json!({ "commands": commands }))))
        }
        Asked::AwaitingApproval(r) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "request": request_view(&r),
                "summary": format!("{} requested: it is queued when a different administrator approves it (POST /api/v1/action-requests/{}/approve)", r.action, r.id),
            })),
        )),
    }
}

/// `GET /action-requests`: the latest requests, newest first.
pub async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let requests: Vec<_> = state
        .store
        .list_action_requests(500)
        .await?
        .iter()
        .map(request_view)
        .collect();
    Ok(Json(json!({ "requests": requests })))
}

async fn decided(
    state: AppState,
    id: String,
    approve: bool,
) -> Result<Json<serde_json::Value>, ApiError> {
    let actor = crate::authz::current_actor();
    let (request, rows) = decide(&state, &actor, &id, approve)
        .await
        .map_err(|e| match e {
            DecideError::Unknown(_) => not_found(format!("no action request {id}")),
            DecideError::SameAdministrator(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "same-administrator", e.to_string())
            }
            DecideError::Decided(_) => {
                ApiError::new(StatusCode::CONFLICT, "decided", e.to_string())
            }
            DecideError::Queue(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-queued",
                e.to_string(),
            ),
            DecideError::Store(e) => e.into(),
        })?;
    let platform = platform_of(&state, &request.device_id).await?;
    let commands: Vec<CommandView> = rows.into_iter().map(|c| view(c, platform)).collect();
    Ok(Json(
        json!({ "request": request_view(&request), "commands": commands }),
    ))
}

/// `POST /action-requests/{id}/approve`: a different administrator or token approves; the
/// action is queued.
pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    decided(state, id, true).await
}

/// `POST /action-requests/{id}/reject`: nothing is queued.
pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    decided(state, id, false).await
}
