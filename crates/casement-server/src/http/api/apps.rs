//! The app catalog and installs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use casement_dm::catalog::AppPayload;
use casement_store::{AppRow, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, audit, not_found};
use crate::services::commands::QueueError;
use crate::services::installs::{self, InstallError};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct NewApp {
    name: String,
    version: String,
    /// Per platform (`windows-8.1`, `windows-10`): the catalog's install payload.
    payloads: serde_json::Map<String, serde_json::Value>,
}

pub async fn create(
    State(state): State<AppState>,
    body: Result<Json<NewApp>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Json(app) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))?;
    if app.name.trim().is_empty() || app.payloads.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "an app needs a name and at least one payload",
        ));
    }
    for (platform, payload) in &app.payloads {
        if platform != "windows-8.1" && platform != "windows-10" {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                format!("unknown platform {platform:?} (windows-8.1, windows-10)"),
            ));
        }
        serde_json::from_value::<AppPayload>(payload.clone()).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                format!("payload for {platform}: {e}"),
            )
        })?;
    }
    let row = AppRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: app.name.trim().to_owned(),
        version: app.version,
        payloads: serde_json::Value::Object(app.payloads).to_string(),
        created_at: state.clock.now_ms(),
    };
    state.store.create_app(&row).await?;
    audit(
        &state,
        "app.create",
        Some(&row.id),
        json!({ "name": row.name, "version": row.version }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(app_view(&row))))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let apps: Vec<_> = state
        .store
        .list_apps()
        .await?
        .iter()
        .map(app_view)
        .collect();
    Ok(Json(json!({ "apps": apps })))
}

fn app_view(a: &AppRow) -> serde_json::Value {
    json!({ "id": a.id, "name": a.name, "version": a.version, "payloads": serde_json::from_str::<serde_json::Value>(&a.payloads).unwrap_or_default(), "created_at": a.created_at })
}

#[derive(Debug, Deserialize)]
pub struct NewInstall {
    app_id: String,
}

pub async fn install(
    State(state): State<AppState>,
    Path(device_id): Path<String>,
    body: Result<Json<NewInstall>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<installs::InstallView>), ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", e.body_text()))?;
    let actor = crate::authz::current_actor();
    let view = installs::request(&state, &device_id, &body.app_id, &actor)
        .await
        .map_err(|e| match e {
            InstallError::UnknownApp => not_found(format!("no app {}", body.app_id)),
            InstallError::Queue(QueueError::UnknownDevice) => {
                not_found(format!("no device {device_id}"))
            }
            other => other.into(),
        })?;
    audit(
        &state,
        "install.request",
        Some(&device_id),
        json!({ "install": view.id, "app": view.app_id }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn list_installs(
    State(state): State<AppState>,
    Path(device_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state
        .store
        .device(&device_id)
        .await?
        .ok_or_else(|| not_found(format!("no device {device_id}")))?;
    let mut views = Vec::new();
    for install in state.store.installs_of_device(&device_id).await? {
        views.push(installs::view(&state, install).await?);
    }
    Ok(Json(json!({ "installs": views })))
}

pub async fn get_install(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<installs::InstallView>, ApiError> {
    let install = state
        .store
        .install(&id)
        .await?
        .ok_or_else(|| not_found(format!("no install {id}")))?;
    Ok(Json(
        installs::view(&state, install)
            .await
            .map_err(|e: StoreError| ApiError::from(e))?,
    ))
}
