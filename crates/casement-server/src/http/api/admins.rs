//! Administrator accounts of the web console and their roles.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use crate::services::admins::create_admin;
use crate::state::AppState;
use casement_store::Role;

#[derive(Debug, Deserialize)]
pub struct NewAdminBody {
    username: String,
    password: String,
    display_name: Option<String>,
    /// Default `administrator` (as every account was before roles).
    role: Option<Role>,
}

pub async fn create(
    State(state): State<AppState>,
    body: Result<Json<NewAdminBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))?;
    let admin = create_admin(
        &state,
        &body.username,
        &body.password,
        body.display_name.as_deref(),
        body.role.unwrap_or(Role::Administrator),
    )
    .await?;
    tracing::info!(username = %admin.username, "admin: console account created");
    super::audit(
        &state,
        "admin.create",
        Some(&admin.username),
        json!({ "id": admin.id, "role": admin.role.as_str() }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!(admin))))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let admins = state.store.list_admins().await?;
    Ok(Json(json!({ "admins": admins })))
}

#[derive(Debug, Deserialize)]
pub struct RoleBody {
    role: Role,
}

/// `POST /admins/{id}/role` with `{"role": …}`.
pub async fn set_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<RoleBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))?;
    let admin = crate::services::admins::set_role(&state, &id, body.role).await?;
    super::audit(
        &state,
        "admin.role",
        Some(&id),
        json!({ "role": body.role.as_str() }),
    )
    .await;
    Ok(Json(json!(admin)))
}
