//! The user directory.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::ApiError;
use crate::services::users::create_user;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct NewUserBody {
    upn: String,
    password: String,
    display_name: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    body: Result<Json<NewUserBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))?;
    let user = create_user(
        &state,
        &body.upn,
        &body.password,
        body.display_name.as_deref(),
    )
    .await?;
    tracing::info!(upn = %user.upn, "admin: user created");
    super::audit(
        &state,
        "user.create",
        Some(&user.upn),
        json!({ "id": user.id }),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "id": user.id, "upn": user.upn, "display_name": user.display_name, "created_at": user.created_at }),
        ),
    ))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let users = state.store.list_users().await?;
    Ok(Json(json!({ "users": users })))
}
