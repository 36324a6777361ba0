//! The admin REST API (`/api/v1`, JSON, `Authorization: Bearer <admin token>`).

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use casement_store::{Device, DeviceFilter, Platform, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::services::users::{CreateUserError, create_user};
use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/devices", get(list_devices))
        .route("/devices/{id}", get(get_device))
        .route("/users", get(list_users).post(post_user))
        .layer(middleware::from_fn_with_state(state, require_admin))
}

/// Refuses requests without the admin bearer token (compared in constant time).
async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(presented.trim().as_bytes(), state.admin_token.as_bytes()) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid admin bearer token is required",
        )
        .into_response();
    }
    next.run(request).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An API error: HTTP status, a stable code and a human reason.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    reason: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::new(StatusCode::NOT_FOUND, "not-found", what),
            StoreError::Conflict(what) => Self::new(StatusCode::CONFLICT, "conflict", what),
            other => {
                tracing::error!(error = %other, "admin API: storage failure");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "storage is unavailable",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": self.code, "reason": self.reason })),
        )
            .into_response()
    }
}

/// A device as the API shows it.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    id: String,
    platform: &'static str,
    name: Option<String>,
    enrolled_user: EnrolledUser,
    os_version: Option<String>,
    enrolled_at: i64,
    updated_at: i64,
    retired_at: Option<i64>,
    retired_reason: Option<String>,
    certificate: Option<CertificateView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enrollment_context: Option<Vec<(String, String)>>,
}

#[derive(Debug, Serialize)]
struct EnrolledUser {
    id: String,
    upn: String,
    sid: Option<String>,
}

#[derive(Debug, Serialize)]
struct CertificateView {
    serial: String,
    thumbprint: String,
    not_before: i64,
    not_after: i64,
    revoked_at: Option<i64>,
}

async fn view(state: &AppState, device: Device, detail: bool) -> Result<DeviceView, ApiError> {
    let certificate = state
        .store
        .certificates_of_device(&device.id)
        .await?
        .into_iter()
        .next()
        .map(|c| CertificateView {
            serial: c.serial_hex,
            thumbprint: c.thumbprint,
            not_before: c.not_before,
            not_after: c.not_after,
            revoked_at: c.revoked_at,
        });
    Ok(DeviceView {
        platform: device.platform.as_str(),
        os_version: device.context_value("OSVersion").map(str::to_owned),
        enrolled_user: EnrolledUser {
            id: device.user_id.clone(),
            upn: device.upn.clone(),
            sid: device.user_sid.clone(),
        },
        name: device.name.clone(),
        enrolled_at: device.enrolled_at,
        updated_at: device.updated_at,
        retired_at: device.retired_at,
        retired_reason: device.retired_reason.clone(),
        certificate,
        enrollment_context: detail.then(|| device.enrollment_context.clone()),
        id: device.id,
    })
}

#[derive(Debug, Deserialize)]
struct DeviceQuery {
    platform: Option<String>,
    user: Option<String>,
    include_retired: Option<bool>,
    after: Option<String>,
    limit: Option<u32>,
}

async fn list_devices(
    State(state): State<AppState>,
    Query(q): Query<DeviceQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let platform = match q.platform.as_deref() {
        None => None,
        Some(p) => Some(Platform::from_name(p).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                format!("platform must be windows-8.1 or windows-10, not {p:?}"),
            )
        })?),
    };
    let user_id = match q.user.as_deref() {
        None => None,
        Some(upn) => Some(
            state
                .store
                .user_by_upn(upn)
                .await?
                .map(|u| u.id)
                .unwrap_or_default(),
        ),
    };
    let filter = DeviceFilter {
        platform,
        user_id,
        include_retired: q.include_retired.unwrap_or(false),
        after_id: q.after,
        limit: q.limit,
    };
    let devices = state.store.list_devices(&filter).await?;
    let mut views = Vec::with_capacity(devices.len());
    for device in devices {
        views.push(view(&state, device, false).await?);
    }
    Ok(Json(json!({ "devices": views })))
}

async fn get_device(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DeviceView>, ApiError> {
    let device = state.store.device(&id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no device {id}"),
        )
    })?;
    Ok(Json(view(&state, device, true).await?))
}

#[derive(Debug, Deserialize)]
struct NewUserBody {
    upn: String,
    password: String,
    display_name: Option<String>,
}

async fn post_user(
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
    .await
    .map_err(|e| match e {
        CreateUserError::Invalid(reason) => {
            ApiError::new(StatusCode::BAD_REQUEST, "bad-request", reason)
        }
        CreateUserError::Exists(upn) => ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("a user with UPN {upn} exists already"),
        ),
        CreateUserError::Store(e) => e.into(),
    })?;
    tracing::info!(upn = %user.upn, "admin: user created");
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "id": user.id, "upn": user.upn, "display_name": user.display_name, "created_at": user.created_at }),
        ),
    ))
}

async fn list_users(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let users = state.store.list_users().await?;
    Ok(Json(json!({ "users": users })))
}
