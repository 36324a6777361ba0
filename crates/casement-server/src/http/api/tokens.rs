//! Personal API tokens: list, create (the value is in this answer only), revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use casement_store::ApiToken;
use serde_json::{Value, json};

use super::ApiError;
use crate::authz::Principal;
use crate::services::tokens::{self, NewToken, TokenError};
use crate::state::AppState;

/// A token as the API shows it (never its value or hash).
pub fn token_json(t: &ApiToken, now: i64) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "role": t.role.as_str(),
        "owner": t.owner,
        "created_by": t.created_by,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "revoked_at": t.revoked_at,
        "last_used_at": t.last_used_at,
        "status": tokens::status(t, now),
    })
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let now = state.clock.now_ms();
    let list: Vec<Value> = state
        .store
        .list_api_tokens()
        .await?
        .iter()
        .map(|t| token_json(t, now))
        .collect();
    Ok(Json(json!({ "tokens": list })))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))?;
    let created = tokens::create(&state, &principal, &body)
        .await
        .map_err(|e| match e {
            TokenError::Invalid(reason) => {
                ApiError::new(StatusCode::BAD_REQUEST, "bad-request", reason)
            }
            TokenError::Store(e) => e.into(),
        })?;
    let mut value = token_json(&created.token, state.clock.now_ms());
    value["token"] = json!(created.secret);
    Ok((StatusCode::CREATED, Json(value)))
}

pub async fn revoke(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let token = tokens::revoke(&state, &principal, &id).await?;
    Ok(Json(token_json(&token, state.clock.now_ms())))
}
