//! What a device page's forms post: queue inventory, reset a password, unenroll, configure push,
//! install an app, cancel a pending command. Each is audited and redirects back to the page.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use casement_dm::catalog::CommandRequest;
use casement_store::StoreError;
use serde::Deserialize;
use serde_json::json;

use crate::services::commands::{QueueError, queue as queue_commands};
use crate::services::installs::{self, InstallError};
use crate::state::AppState;
use crate::web::audit;
use crate::web::auth::{self, ConsoleSession};
use crate::web::page::WebError;

use super::device::device_page;
use super::devices::device_href;

/// `POST /console/devices/{id}/commands`.
pub async fn queue(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        kind: String,
        set: Option<String>,
        user: Option<String>,
        password: Option<String>,
        confirm: Option<String>,
    }
    let form: Form = auth::read_form(&state, request).await?;
    // The console's half of authz's `Need::CommandKind`: the kind decides the permission.
    crate::authz::require(
        &state,
        &session.principal(),
        crate::authz::command_permission(&form.kind),
        "POST /console/devices/{id}/commands",
    )
    .await?;
    let request = match form.kind.as_str() {
        "inventory" => {
            let sets: Vec<&str> = form
                .set
                .as_deref()
                .filter(|s| !s.is_empty())
                .into_iter()
                .collect();
            json!({ "kind": "inventory", "sets": sets })
        }
        "reset-password" => json!({
            "kind": "reset-password",
            "user": form.user.as_deref().unwrap_or("").trim(),
            "password": form.password.as_deref().unwrap_or(""),
        }),
        "unenroll" if form.confirm.is_some() => json!({ "kind": "unenroll" }),
        "unenroll" => {
            return refuse(
                &state,
                &session,
                &id,
                "Tick the box to confirm the unenrollment.",
            )
            .await;
        }
        "push-config" => json!({ "kind": "push-config" }),
        _ => return Err(WebError::bad_request("Unknown action.")),
    };
    let request: CommandRequest = match serde_json::from_value(request) {
        Ok(r) => r,
        Err(e) => return refuse(&state, &session, &id, &format!("Not queued: {e}")).await,
    };
    match queue_commands(&state, &id, &request, None, &session.actor()).await {
        Ok(rows) => {
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            audit(
                &state,
                &session.actor(),
                "command.queue",
                Some(&id),
                json!({ "commands": ids, "kind": request.kind() }),
            )
            .await;
            Ok(Redirect::to(&format!("{}?done=queued#queue-h", device_href(&id))).into_response())
        }
        Err(QueueError::UnknownDevice) => Err(WebError::not_found("device with that ID")),
        Err(QueueError::Retired) => refuse(&state, &session, &id, "The device is retired.").await,
        Err(QueueError::Refused(reason)) => {
            refuse(&state, &session, &id, &format!("Not queued: {reason}")).await
        }
        Err(QueueError::Store(e)) => Err(e.into()),
    }
}

/// `POST /console/devices/{id}/recording`: keep every session's messages for 24 hours
/// (`action=start`), or stop (`action=stop`); docs/retention.md.
pub async fn recording(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        action: String,
    }
    let form: Form = auth::read_form(&state, request).await?;
    let (hours, done) = match form.action.as_str() {
        "start" => (Some(24), "recording"),
        "stop" => (None, "recording-stopped"),
        _ => return Err(WebError::bad_request("Unknown action.")),
    };
    match crate::services::retention::record_sessions(&state, &session.actor(), &id, hours).await? {
        Some(_) => Ok(
            Redirect::to(&format!("{}?done={done}#sessions-h", device_href(&id))).into_response(),
        ),
        None => Err(WebError::not_found("device with that ID")),
    }
}

/// `POST /console/devices/{id}/installs`.
pub async fn install(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    #[derive(Deserialize)]
    struct Form {
        app_id: String,
    }
    let form: Form = auth::read_form(&state, request).await?;
    match installs::request(&state, &id, &form.app_id, &session.actor()).await {
        Ok(view) => {
            audit(
                &state,
                &session.actor(),
                "install.request",
                Some(&id),
                json!({ "install": view.id, "app": view.app_id }),
            )
            .await;
            Ok(
                Redirect::to(&format!("{}?done=install#installs-h", device_href(&id)))
                    .into_response(),
            )
        }
        Err(InstallError::Queue(QueueError::UnknownDevice)) => {
            Err(WebError::not_found("device with that ID"))
        }
        Err(InstallError::UnknownApp) => {
            refuse(&state, &session, &id, "There is no such app.").await
        }
        Err(
            e @ (InstallError::NoPayload(_)
            | InstallError::Queue(QueueError::Refused(_) | QueueError::Retired)),
        ) => refuse(&state, &session, &id, &format!("Not installed: {e}.")).await,
        Err(InstallError::Queue(QueueError::Store(e)) | InstallError::Store(e)) => Err(e.into()),
    }
}

/// `POST /console/commands/{id}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    session: ConsoleSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    match crate::services::commands::cancel(&state, &session.actor(), &id).await {
        Ok(row) => Ok(Redirect::to(&format!(
            "{}?done=cancelled#queue-h",
            device_href(&row.device_id)
        ))
        .into_response()),
        Err(StoreError::NotFound(_)) => Err(WebError::not_found("command with that id")),
        Err(StoreError::Conflict(_)) => {
            let device = state
                .store
                .command(&id)
                .await?
                .map(|c| c.device_id)
                .unwrap_or_default();
            refuse(
                &state,
                &session,
                &device,
                "Only a pending command can be cancelled: this one was already sent.",
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The device page again, with why the action was refused (422).
async fn refuse(
    state: &AppState,
    session: &ConsoleSession,
    id: &str,
    message: &str,
) -> Result<Response, WebError> {
    device_page(
        state,
        session,
        id,
        None,
        Some((StatusCode::UNPROCESSABLE_ENTITY, message.to_owned())),
    )
    .await
}
