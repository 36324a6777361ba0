//! The command queue: queue (by kind, built by the catalog for the device's platform), list
//! with what each pending command waits for, cancel.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use casement_dm::ContextPolicy;
use casement_dm::catalog::CommandRequest;
use casement_store::{CommandRow, CommandState, Platform, StoreError};
use serde::Serialize;
use serde_json::json;

use super::{ApiError, audit, not_found};
use crate::authz::Principal;
use crate::services::commands::{BulkDevices, QueueError, queue, queue_bulk};
use crate::state::AppState;

/// A command as the API shows it.
#[derive(Debug, Serialize)]
pub struct CommandView {
    id: String,
    device_id: String,
    kind: &'static str,
    class: &'static str,
    label: String,
    state: &'static str,
    /// For a pending command: the sessions it waits for, in words.
    waits_for: Option<String>,
    /// For a pending command: the contexts that may carry it.
    waits_for_contexts: Option<Vec<&'static str>>,
    status_code: Option<i64>,
    original_error: Option<String>,
    /// The state in words: `done: 4 of 5 items; ./DevInfo/Mod 404 not found`, `pending: waits
    /// for a Maintenance session`.
    summary: String,
    results: Option<serde_json::Value>,
    attempts: u32,
    max_attempts: u32,
    created_at: i64,
    updated_at: i64,
    expires_at: Option<i64>,
    created_by: String,
}

/// The API view of a stored command of a device of `platform` (what a pending command waits
/// for is that platform's policy table).
pub fn view(c: CommandRow, platform: Platform) -> CommandView {
    let contexts = (c.state == CommandState::Pending)
        .then(|| ContextPolicy::for_platform(platform).contexts_for(c.class));
    let waits_for = contexts.as_ref().map(|contexts| {
        casement_dm::WaitsFor {
            contexts: contexts.clone(),
        }
        .to_string()
    });
    let detail = waits_for
        .clone()
        .or_else(|| c.original_error.clone())
        .or_else(|| {
            c.status_code
                .filter(|code| !(200..300).contains(code))
                .and_then(|code| u16::try_from(code).ok())
                .map(|code| format!("status {}", casement_dm::server::in_words(code.into())))
        });
    CommandView {
        summary: match detail {
            Some(detail) => format!("{}: {detail}", c.state.as_str()),
            None => c.state.as_str().to_owned(),
        },
        waits_for,
        waits_for_contexts: contexts.map(|contexts| contexts.iter().map(|c| c.as_str()).collect()),
        results: c
            .results
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
        state: c.state.as_str(),
        id: c.id,
        device_id: c.device_id,
        kind: c.kind.as_str(),
        class: c.class.as_str(),
        label: c.label,
        status_code: c.status_code,
        original_error: c.original_error,
        attempts: c.attempts,
        max_attempts: c.max_attempts,
        created_at: c.created_at,
        updated_at: c.updated_at,
        expires_at: c.expires_at,
        created_by: c.created_by,
    }
}

pub async fn list(
    State(state): State<AppState>,
    Path(device_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let device = state
        .store
        .device(&device_id)
        .await?
        .ok_or_else(|| not_found(format!("no device {device_id}")))?;
    let commands: Vec<CommandView> = state
        .store
        .commands_of_device(&device_id, 1000)
        .await?
        .into_iter()
        .map(|c| view(c, device.platform))
        .collect();
    Ok(Json(json!({ "commands": commands })))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CommandView>, ApiError> {
    let command = state
        .store
        .command(&id)
        .await?
        .ok_or_else(|| not_found(format!("no command {id}")))?;
    let platform = platform_of(&state, &command.device_id).await?;
    Ok(Json(view(command, platform)))
}

/// Body of `POST /devices/{id}/commands`: the request of the catalog plus an optional expiry.
#[derive(Debug, serde::Deserialize)]
pub struct CreateBody {
    #[serde(flatten)]
    request: CommandRequest,
    /// Seconds from now after which it is no longer worth delivering.
    expires_in_seconds: Option<u64>,
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(device_id): Path<String>,
    body: Result<Json<CreateBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))?;
    super::require_kind(
        &state,
        &principal,
        &body.request,
        "POST /api/v1/devices/{id}/commands",
    )
    .await?;
    let rows = queue(
        &state,
        &device_id,
        &body.request,
        body.expires_in_seconds,
        "admin",
    )
    .await
    .map_err(|e| match e {
        QueueError::UnknownDevice => not_found(format!("no device {device_id}")),
        other => other.into(),
    })?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    audit(
        &state,
        "command.queue",
        Some(&device_id),
        json!({ "commands": ids, "kind": rows.first().map(|r| r.kind) }),
    )
    .await;
    let platform = platform_of(&state, &device_id).await?;
    let commands: Vec<CommandView> = rows.into_iter().map(|c| view(c, platform)).collect();
    Ok((StatusCode::CREATED, Json(json!({ "commands": commands }))))
}

/// The platform of a device (its commands' views need its policy table).
pub async fn platform_of(state: &AppState, device_id: &str) -> Result<Platform, ApiError> {
    Ok(state
        .store
        .device(device_id)
        .await?
        .ok_or_else(|| not_found(format!("no device {device_id}")))?
        .platform)
}

/// Body of `POST /commands`: a device selection and one command request for all of them.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    /// `"all"`, `{"user_id": …}` or `{"ids": [...]}`.
    devices: BulkDevices,
    /// What to queue, as for one device.
    command: CommandRequest,
    /// Seconds from now after which it is no longer worth delivering.
    expires_in_seconds: Option<u64>,
}

/// Queues one command request on many devices (docs/product.md §6: 100,000 devices in under a second).
pub async fn create_bulk(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<BulkBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))?;
    super::require_kind(&state, &principal, &body.command, "POST /api/v1/commands").await?;
    let started = std::time::Instant::now();
    let outcome = queue_bulk(
        &state,
        &body.devices,
        &body.command,
        body.expires_in_seconds,
        "admin",
    )
    .await?;
    let selection = match &body.devices {
        BulkDevices::Ids(ids) => json!({ "ids": ids.len() }),
        other => json!(other),
    };
    audit(
        &state,
        "command.queue-bulk",
        None,
        json!({ "devices": selection, "kind": serde_json::to_value(&body.command).ok().and_then(|v| v.get("kind").cloned()), "queued_devices": outcome.devices, "commands": outcome.commands }),
    )
    .await;
    let mut value = json!(outcome);
    value["elapsed_ms"] = json!(started.elapsed().as_millis() as u64);
    Ok((StatusCode::CREATED, Json(value)))
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CommandView>, ApiError> {
    let row = crate::services::commands::cancel(&state, &crate::authz::current_actor(), &id)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(reason) => {
                ApiError::new(StatusCode::CONFLICT, "not-pending", reason)
            }
            other => other.into(),
        })?;
    let platform = platform_of(&state, &row.device_id).await?;
    Ok(Json(view(row, platform)))
}
