//! Sessions (context, how it was determined, the SyncML exchanged) and the audit log.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, not_found};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct Limit {
    limit: Option<u32>,
}

pub async fn list(
    State(state): State<AppState>,
    Path(device_id): Path<String>,
    Query(q): Query<Limit>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state
        .store
        .device(&device_id)
        .await?
        .ok_or_else(|| not_found(format!("no device {device_id}")))?;
    let sessions = state
        .store
        .sessions_of_device(&device_id, q.limit.unwrap_or(100))
        .await?;
    let views: Vec<_> = sessions.into_iter().map(summary).collect();
    Ok(Json(json!({ "sessions": views })))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let session = state
        .store
        .session(&id)
        .await?
        .ok_or_else(|| not_found(format!("no session {id}")))?;
    let messages = state.store.session_messages(&id).await?;
    let deliveries = state.store.session_deliveries(&id).await?;
    let mut view = summary(session);
    view["messages"] = json!(messages.iter().map(|m| json!({ "seq": m.seq, "direction": m.direction, "at": m.at, "truncated": m.truncated, "syncml": m.body })).collect::<Vec<_>>());
    view["commands"] = json!(
        deliveries
            .iter()
            .map(|d| json!({ "command_id": d.command_id, "msg_id": d.msg_id, "cmd_id": d.cmd_id }))
            .collect::<Vec<_>>()
    );
    Ok(Json(view))
}

fn summary(s: casement_store::SessionRow) -> serde_json::Value {
    json!({
        "id": s.id,
        "device_id": s.device_id,
        "session_id": s.session_id,
        "context": s.context.as_str(),
        "determined_by": s.reason,
        "evidence": serde_json::from_str::<serde_json::Value>(&s.evidence).unwrap_or_default(),
        "started_at": s.started_at,
        "updated_at": s.updated_at,
        "ended_at": s.ended_at,
        "outcome": s.outcome,
        "messages": s.message_count,
        "commands_delivered": s.commands_sent,
        "warnings": s.warnings,
        "messages_kept": s.messages_kept,
    })
}

pub async fn audit(
    State(state): State<AppState>,
    Query(q): Query<Limit>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let entries = state.store.audit_log(q.limit.unwrap_or(200)).await?;
    let views: Vec<_> = entries
        .into_iter()
        .map(|a| json!({ "id": a.id, "at": a.at, "actor": a.actor, "action": a.action, "target": a.target, "detail": serde_json::from_str::<serde_json::Value>(&a.detail).unwrap_or_default() }))
        .collect();
    Ok(Json(json!({ "entries": views })))
}
