//! Events out: the event log with a cursor, webhooks and their delivery logs.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use casement_store::WebhookRow;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, not_found};
use crate::authz::Principal;
use crate::services::webhooks::{self, NewWebhook, WebhookError};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// The `next` of the previous page (absent: from the start).
    after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u32>,
}

/// `GET /events?after=<cursor>&limit=N`: `{"events": […], "next": cursor}`. `next` is the cursor
/// to ask with next time (the same one when there was nothing new).
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    let after = match q.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => a.parse::<i64>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                format!("after {a:?} is not a cursor this API gave"),
            )
        })?,
        None => 0,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let events = state.store.events_after(after, limit).await?;
    let next = events.last().map_or(after, |e| e.seq);
    let events: Vec<Value> = events.iter().map(webhooks::event_json).collect();
    Ok(Json(json!({ "events": events, "next": next.to_string() })))
}

fn webhook_json(w: &WebhookRow) -> Value {
    json!({
        "id": w.id,
        "url": w.url,
        "kinds": w.kinds,
        "created_by": w.created_by,
        "created_at": w.created_at,
    })
}

pub async fn list_webhooks(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let hooks: Vec<Value> = state
        .store
        .list_webhooks()
        .await?
        .iter()
        .map(webhook_json)
        .collect();
    Ok(Json(json!({ "webhooks": hooks })))
}

pub async fn create_webhook(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<NewWebhook>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))?;
    let (hook, secret) = webhooks::create(&state, &principal.actor(), &body)
        .await
        .map_err(|e| match e {
            WebhookError::Invalid(reason) => {
                ApiError::new(StatusCode::BAD_REQUEST, "bad-request", reason)
            }
            WebhookError::Store(e) => e.into(),
        })?;
    let mut value = webhook_json(&hook);
    value["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(value)))
}

pub async fn delete_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_webhook(&id, state.clock.now_ms())
        .await?;
    super::audit(&state, "webhook.delete", Some(&id), json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /webhooks/{id}/deliveries`: each delivery's state and the log of attempts.
pub async fn deliveries(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .webhook(&id)
        .await?
        .ok_or_else(|| not_found(format!("no webhook {id}")))?;
    let deliveries = state.store.deliveries_of_webhook(&id, 200).await?;
    let attempts = state.store.attempts_of_webhook(&id, 1000).await?;
    let mut out = Vec::with_capacity(deliveries.len());
    for d in &deliveries {
        let event = state.store.event(d.event_seq).await?;
        out.push(json!({
            "id": d.id,
            "event_id": event.as_ref().map(|e| e.id.clone()),
            "kind": event.as_ref().map(|e| e.kind.clone()),
            "state": d.state.as_str(),
            "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at,
            "last_status": d.last_status,
            "last_error": d.last_error,
            "created_at": d.created_at,
            "updated_at": d.updated_at,
            "log": attempts.iter().filter(|a| a.delivery_id == d.id).map(|a| json!({
                "attempt": a.attempt, "at": a.at, "status": a.status, "error": a.error,
            })).collect::<Vec<_>>(),
        }));
    }
    Ok(Json(json!({ "deliveries": out })))
}
