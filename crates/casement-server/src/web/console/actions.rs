//! The console's device actions page (`/console/devices/{id}/actions`, issue 15 part 1): lock,
//! reboot (now or at a time) and wipe, where the administrator types the device's name to
//! confirm a wipe; the device's action commands with what each waits for (by the device's
//! platform); the wipe requests waiting for a second administrator, with approve and reject.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use casement_dm::catalog::{CommandRequest, WipeMethod, platform_name};
use casement_dm::{ContextPolicy, WaitsFor};
use casement_store::{ActionRequestState, CommandState, Device, Platform};
use maud::html;
use serde::Deserialize;

use super::devices::device_href;
use super::{console_page, csrf_field, time};
use crate::authz::{self, Permission};
use crate::services::actions::{self, Asked, DecideError};
use crate::services::commands::QueueError;
use crate::state::AppState;
use crate::web::auth::{self as web_auth, ConsoleSession};
use crate::web::page::{WebError, alert};
use crate::web::words;

/// The page's href for a device.
pub fn actions_href(id: &str) -> String {
    format!("{}/actions", device_href(id))
}

/// `GET /console/devices/{id}/actions`.
pub async fn show(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    page(&state, &session, &id, None, None).await
}

async fn page(
    state: &AppState,
    session: &ConsoleSession,
    id: &str,
    notice: Option<&str>,
    error: Option<(StatusCode, String)>,
) -> Result<Response, WebError> {
    let device = state
        .store
        .device(id)
        .await?
        .ok_or_else(|| WebError::not_found("device"))?;
    let policy = ContextPolicy::for_platform(device.platform);
    let commands: Vec<_> = state
        .store
        .commands_of_device(id, 200)
        .await?
        .into_iter()
        .filter(|c| c.class.is_device_action())
        .collect();
    let requests: Vec<_> = state
        .store
        .list_action_requests(500)
        .await?
        .into_iter()
        .filter(|r| r.device_id == device.id)
        .collect();
    let confirm_name = actions::confirmation_name(&device).to_owned();
    let windows_10 = device.platform == Platform::Windows10;
    let can = |p| authz::grants(session.admin.role, p);
    let approval = state.config.wipe_approval;
    let actor = session.actor();
    let status = error.as_ref().map(|(s, _)| *s);
    let body = html! {
        p { a href=(device_href(&device.id)) { "← " (words::device_name(&device)) } }
        h1 { "Device actions: " (words::device_name(&device)) }
        p.muted { (platform_name(device.platform)) " · " (platform_note(&device)) }
        (alert(error.as_ref().map(|(_, m)| m.as_str())))
        @if let Some(n) = notice { p.notice role="status" #action-notice { (n) } }
        @if device.retired_at.is_some() {
            p.error { "This device is retired: " (device.retired_reason.as_deref().unwrap_or("")) }
        } @else {
            div.grid {
                @if can(Permission::DeviceLock) {
                    form.card method="post" action=(actions_href(&device.id)) {
                        h3 { "Lock" }
                        (csrf_field(session))
                        input type="hidden" name="kind" value="lock";
                        p.muted { "Once queued, it " (WaitsFor { contexts: policy.contexts_for(casement_dm::CommandClass::Lock) }) "." }
                        p { button type="submit" { "Lock the device" } }
                    }
                }
                @if can(Permission::DeviceReboot) && windows_10 {
                    form.card method="post" action=(actions_href(&device.id)) {
                        h3 { "Reboot" }
                        (csrf_field(session))
                        input type="hidden" name="kind" value="reboot";
                        label for="reboot-at" { "At (ISO 8601, empty: now)" }
                        input #reboot-at type="text" name="at" placeholder="2026-12-07T02:00:00";
                        p { button type="submit" { "Reboot" } }
                    }
                }
                @if can(Permission::DeviceWipe) && windows_10 {
                    form.card #wipe-form method="post" action=(actions_href(&device.id)) {
                        h3 { "Wipe" }
                        (csrf_field(session))
                        input type="hidden" name="kind" value="wipe";
                        p { "Resets the PC and removes everything on it. The device is retired once it acknowledges the wipe." }
                        @if approval { p.muted { "A second administrator must approve the wipe before it is queued." } }
                        label for="wipe-method" { "Method" }
                        select #wipe-method name="method" {
                            @for m in WipeMethod::ALL {
                                option value=(m.node()) selected[m == WipeMethod::default()] { (m.node()) }
                            }
                        }
                        label for="wipe-confirm" { "Type " b.mono { (confirm_name) } " to confirm" }
                        input #wipe-confirm type="text" name="confirm" required autocomplete="off" spellcheck="false";
                        p { button.danger #wipe-submit type="submit" { @if approval { "Request the wipe" } @else { "Wipe the device" } } }
                    }
                }
            }
        }
        @if !requests.is_empty() {
            h2 #requests-h { "Wipe requests" }
            div.table-wrap { table #action-requests {
                thead { tr { th scope="col" { "Requested" } th scope="col" { "By" } th scope="col" { "State" } th scope="col" { "Decided by" } th scope="col" { "" } } }
                tbody { @for r in &requests { tr data-request-id=(r.id) data-state=(r.state.as_str()) {
                    td { (r.action) " · " (time(r.requested_at)) }
                    td { (r.requested_by) }
                    td { (r.state.as_str()) }
                    td { (r.decided_by.as_deref().unwrap_or("—")) }
                    td {
                        @if r.state == ActionRequestState::Pending && can(Permission::DeviceWipe) {
                            @if r.requested_by == actor {
                                span.muted { "waits for another administrator" }
                            } @else {
                                form.inline method="post" action=(format!("/console/action-requests/{}/approve", r.id)) {
                                    (csrf_field(session)) button.danger type="submit" { "Approve" }
                                }
                                " "
                                form.inline method="post" action=(format!("/console/action-requests/{}/reject", r.id)) {
                                    (csrf_field(session)) button type="submit" { "Reject" }
                                }
                            }
                        }
                    }
                } } }
            } }
        }
        h2 { "Actions queued" }
        @if commands.is_empty() { p { "None." } } @else {
            div.table-wrap { table #action-commands {
                thead { tr { th scope="col" { "Action" } th scope="col" { "State" } th scope="col" { "Queued" } } }
                tbody { @for c in &commands { tr data-command-id=(c.id) data-state=(c.state.as_str()) {
                    td { (c.label) }
                    td {
                        (c.state.as_str())
                        @if c.state == CommandState::Pending {
                            br; span.waits { (WaitsFor { contexts: policy.contexts_for(c.class) }) }
                        }
                        @if let Some(code) = c.status_code { br; span.muted { "status " (code) } }
                    }
                    td { (time(c.created_at)) " by " (c.created_by) }
                } } }
            } }
        }
    };
    let mut response = console_page(session, "Device actions", "/console/devices", body);
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    Ok(response)
}

fn platform_note(device: &Device) -> &'static str {
    match device.platform {
        Platform::Windows10 => {
            "wipe, reboot and lock go in the next session, with or without a user (the DM client runs as SYSTEM)"
        }
        Platform::Windows81 => {
            "only lock exists (MDM_Client.LockWorkstation), in a Maintenance session; the 8.1 WMI bridge has no wipe or reboot method"
        }
    }
}

/// `POST /console/devices/{id}/actions`: `kind` lock, reboot (`at`) or wipe (`method`,
/// `confirm`: the device's name typed again).
pub async fn create(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        kind: String,
        at: Option<String>,
        method: Option<String>,
        confirm: Option<String>,
    }
    let form: Form = web_auth::read_form(&state, request).await?;
    // The console's half of authz's `Need::CommandKind`: the kind decides the permission.
    authz::require(
        &state,
        &session.principal(),
        authz::command_permission(&form.kind),
        "POST /console/devices/{id}/actions",
    )
    .await?;
    let request = match form.kind.as_str() {
        "lock" => CommandRequest::Lock,
        "reboot" => CommandRequest::Reboot {
            at: form.at.filter(|a| !a.trim().is_empty()),
        },
        "wipe" => CommandRequest::Wipe {
            method: match form.method.as_deref() {
                None | Some("") => WipeMethod::default(),
                Some(m) => match WipeMethod::from_node(m) {
                    Some(m) => m,
                    None => return refuse(&state, &session, &id, "Unknown wipe method.").await,
                },
            },
            confirm: form.confirm,
            bulk: false,
        },
        other => {
            return refuse(
                &state,
                &session,
                &id,
                &format!("{other} is not a device action (lock, reboot, wipe)."),
            )
            .await;
        }
    };
    match actions::ask(&state, &session.actor(), &id, &request).await {
        Ok(Asked::Queued(rows)) => {
            let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
            page(
                &state,
                &session,
                &id,
                Some(&format!("Queued: {}.", labels.join(", "))),
                None,
            )
            .await
        }
        Ok(Asked::AwaitingApproval(_)) => {
            page(
                &state,
                &session,
                &id,
                Some("Wipe requested: it is queued when another administrator approves it."),
                None,
            )
            .await
        }
        Err(QueueError::UnknownDevice) => Err(WebError::not_found("device")),
        Err(QueueError::Store(e)) => Err(e.into()),
        Err(e) => refuse(&state, &session, &id, &e.to_string()).await,
    }
}

async fn refuse(
    state: &AppState,
    session: &ConsoleSession,
    id: &str,
    message: &str,
) -> Result<Response, WebError> {
    page(
        state,
        session,
        id,
        None,
        Some((StatusCode::UNPROCESSABLE_ENTITY, message.to_owned())),
    )
    .await
}

/// `POST /console/action-requests/{id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    decided(&state, &session, &id, true).await
}

/// `POST /console/action-requests/{id}/reject`.
pub async fn reject(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    decided(&state, &session, &id, false).await
}

async fn decided(
    state: &AppState,
    session: &ConsoleSession,
    id: &str,
    approve: bool,
) -> Result<Response, WebError> {
    let device = match state.store.action_request(id).await? {
        Some(r) => r.device_id,
        None => return Err(WebError::not_found("action request")),
    };
    match actions::decide(state, &session.actor(), id, approve).await {
        Ok(_) => Ok(Redirect::to(&format!("{}#requests-h", actions_href(&device))).into_response()),
        Err(DecideError::Unknown(_)) => Err(WebError::not_found("action request")),
        Err(DecideError::Store(e)) => Err(e.into()),
        Err(e) => refuse(state, session, &device, &e.to_string()).await,
    }
}
