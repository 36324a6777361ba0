//! Devices.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use casement_store::{Context, Device, DeviceFilter, Platform};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ApiError, not_found};
use crate::state::AppState;

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
    last_session: Option<LastSession>,
    push_channel: Option<ChannelView>,
    devinfo: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enrollment_context: Option<Vec<(String, String)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inventory: Option<Vec<InventoryView>>,
    /// Until when every session keeps its messages (a device under investigation), in the
    /// device's own view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    record_sessions_until: Option<i64>,
}

/// The push channel, with the URI's token left out (it is a credential to push to the device).
#[derive(Debug, Serialize)]
struct ChannelView {
    state: &'static str,
    host: Option<String>,
    expires_at: Option<i64>,
    status: Option<String>,
    reason: Option<String>,
    updated_at: i64,
}

#[derive(Debug, Serialize)]
struct LastSession {
    at: i64,
    context: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct InventoryView {
    loc_uri: String,
    value: Option<String>,
    format: Option<String>,
    read_at: i64,
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
    let inventory = if detail {
        let rows = state.store.inventory_of_device(&device.id).await?;
        Some(
            rows.into_iter()
                .map(|r| InventoryView {
                    loc_uri: r.loc_uri,
                    value: r.value,
                    format: r.format,
                    read_at: r.read_at,
                })
                .collect(),
        )
    } else {
        None
    };
    let record_sessions_until = device
        .record_sessions_until
        .filter(|until| detail && *until > state.clock.now_ms());
    let push_channel = state
        .store
        .push_channel(&device.id)
        .await?
        .map(|c| ChannelView {
            host: c
                .uri
                .as_deref()
                .and_then(|u| u.split("://").nth(1))
                .map(|rest| rest.split(['/', '?']).next().unwrap_or("").to_owned()),
            state: c.state.as_str(),
            expires_at: c.expires_at,
            status: c.status,
            reason: c.reason,
            updated_at: c.updated_at,
        });
    Ok(DeviceView {
        push_channel,
        last_session: device.last_session_at.map(|at| LastSession {
            at,
            context: device.last_context.map(Context::as_str),
        }),
        devinfo: device
            .devinfo
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok()),
        inventory,
        record_sessions_until,
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
pub struct DeviceQuery {
    platform: Option<String>,
    user: Option<String>,
    include_retired: Option<bool>,
    after: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
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

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DeviceView>, ApiError> {
    let device = state
        .store
        .device(&id)
        .await?
        .ok_or_else(|| not_found(format!("no device {id}")))?;
    Ok(Json(view(&state, device, true).await?))
}

/// `GET /devices.csv`: every device (retired ones too) as CSV.
pub async fn csv(State(state): State<AppState>) -> Result<axum::response::Response, ApiError> {
    let body = crate::services::reports::devices_csv(&state).await?;
    Ok(csv_response(body))
}

/// A CSV download.
pub fn csv_response(body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"devices.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct RecordingRequest {
    /// How long every session of the device keeps its messages, from now.
    hours: u32,
}

/// `PUT /devices/{id}/recording` `{"hours": N}`: the device is under investigation — every
/// session keeps its whole messages, idle ones too — for N hours (1 to 720).
pub async fn start_recording(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(request): Json<RecordingRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let max = crate::services::retention::MAX_RECORDING_HOURS;
    if !(1..=max).contains(&request.hours) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-request",
            format!("hours must be 1 to {max}, not {}", request.hours),
        ));
    }
    set_recording(&state, &id, Some(request.hours)).await
}

/// `DELETE /devices/{id}/recording`: the investigation ends; idle sessions leave compact
/// records again (docs/retention.md).
pub async fn stop_recording(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    set_recording(&state, &id, None).await
}

async fn set_recording(
    state: &AppState,
    id: &str,
    hours: Option<u32>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let actor = crate::authz::current_actor();
    let until = crate::services::retention::record_sessions(state, &actor, id, hours)
        .await?
        .ok_or_else(|| not_found(format!("no device {id}")))?;
    Ok(Json(
        serde_json::json!({ "device_id": id, "record_sessions_until": until }),
    ))
}
