//! Administrator accounts of the web console (the API itself keeps using the admin token).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use crate::services::admins::{CreateAdminError, create_admin};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct NewAdminBody {
    username: String,
    password: String,
    display_name: Option<String>,
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
    )
    .await
    .map_err(|e| match e {
        CreateAdminError::Invalid(reason) => {
            ApiError::new(StatusCode::BAD_REQUEST, "bad-request", reason)
        }
        CreateAdminError::Exists(_) => {
            ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
        }
        CreateAdminError::Store(e) => e.into(),
        CreateAdminError::Busy(e) => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", e.to_string())
        }
    })?;
    tracing::info!(username = %admin.username, "admin: console account created");
    super::audit(
        &state,
        "admin.create",
        Some(&admin.username),
        json!({ "id": admin.id }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!(admin))))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let admins = state.store.list_admins().await?;
    Ok(Json(json!({ "admins": admins })))
}
