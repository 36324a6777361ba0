//! App installs: an app from the catalog, on a device, as the platform's install commands and a
//! wake-up push; its status is derived from those commands and pushes: queued → pushed →
//! delivered → installed / failed (with the reason).

use casement_dm::catalog::{AppPayload, CommandRequest};
use casement_store::{CommandRow, CommandState, InstallRow, Platform, PushState, StoreError};
use serde::Serialize;

use crate::services::commands::{QueueError, queue};
use crate::state::AppState;

/// Why an install could not be requested.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// No such app.
    #[error("unknown app")]
    UnknownApp,
    /// The app has no payload for the device's platform.
    #[error("the app has no install payload for {0}")]
    NoPayload(&'static str),
    /// Queueing failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An install and where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct InstallView {
    /// Id.
    pub id: String,
    /// App id.
    pub app_id: String,
    /// Device.
    pub device_id: String,
    /// `queued`, `pushed`, `delivered`, `installed` or `failed`.
    pub status: &'static str,
    /// In words, for a person.
    pub detail: String,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub created_at: i64,
}

/// Requests an install of `app_id` on the device: queues the platform's install commands (which
/// enqueue a wake-up push) and records the request.
pub async fn request(
    state: &AppState,
    device_id: &str,
    app_id: &str,
    requested_by: &str,
) -> Result<InstallView, InstallError> {
    let app = state
        .store
        .app(app_id)
        .await?
        .ok_or(InstallError::UnknownApp)?;
    let device = state
        .store
        .device(device_id)
        .await?
        .ok_or(QueueError::UnknownDevice)?;
    let platform = device.platform.as_str();
    let payloads: serde_json::Value =
        serde_json::from_str(&app.payloads).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let payload: AppPayload = payloads
        .get(platform)
        .cloned()
        .and_then(|p| serde_json::from_value(p).ok())
        .ok_or(InstallError::NoPayload(match device.platform {
            Platform::Windows81 => "windows-8.1",
            Platform::Windows10 => "windows-10",
        }))?;
    let commands = queue(
        state,
        device_id,
        &CommandRequest::AppInstall { app: payload },
        None,
        requested_by,
    )
    .await?;
    let install = InstallRow {
        id: uuid::Uuid::new_v4().to_string(),
        app_id: app.id,
        device_id: device_id.to_owned(),
        command_ids: serde_json::to_string(
            &commands.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        )
        .unwrap_or_default(),
        requested_by: requested_by.to_owned(),
        created_at: state.clock.now_ms(),
    };
    state.store.create_install(&install).await?;
    view(state, install).await.map_err(InstallError::Store)
}

/// The install with its derived status.
pub async fn view(state: &AppState, install: InstallRow) -> Result<InstallView, StoreError> {
    let ids: Vec<String> = serde_json::from_str(&install.command_ids).unwrap_or_default();
    let mut commands = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(c) = state.store.command(id).await? {
            commands.push(c);
        }
    }
    // A push counts when it was queued for one of this install's commands, or later (a channel
    // that came back re-pushes waiting installs).
    let pushed = state
        .store
        .pushes_of_device(&install.device_id, 50)
        .await?
        .iter()
        .any(|p| {
            p.state == PushState::Sent
                && (ids.iter().any(|id| p.reason.ends_with(id.as_str()))
                    || p.created_at >= install.created_at)
        });
    let (status, detail) = derive(&commands, pushed);
    Ok(InstallView {
        id: install.id,
        app_id: install.app_id,
        device_id: install.device_id,
        status,
        detail,
        requested_by: install.requested_by,
        created_at: install.created_at,
    })
}

/// The install's status from its commands (the install commands, then the check that confirms
/// it, when the platform has one: see `casement_dm::catalog::judge_install_check`) and whether a
/// push reached WNS for it.
fn derive(commands: &[CommandRow], pushed: bool) -> (&'static str, String) {
    let (checks, installs): (Vec<&CommandRow>, Vec<&CommandRow>) =
        commands.iter().partition(|c| is_check(c));
    let ended = |c: &&&CommandRow| {
        matches!(
            c.state,
            CommandState::Failed | CommandState::Expired | CommandState::Cancelled
        )
    };
    if let Some(failed) = installs.iter().find(ended) {
        let why = match failed.status_code {
            Some(code) => format!(
                "the PC reported error {code} ({})",
                casement_syncml::StatusCode::from_code(code as u16).meaning()
            ),
            None => format!("the install command was {}", failed.state.as_str()),
        };
        return ("failed", why);
    }
    if let Some(check) = checks.iter().find(ended) {
        let why = check
            .original_error
            .clone()
            .unwrap_or_else(|| format!("the install check was {}", check.state.as_str()));
        let detail = if check.state == CommandState::Failed && check.attempts >= check.max_attempts
        {
            format!(
                "the PC did not confirm the installation after {} checks (last answer: {why})",
                check.attempts
            )
        } else {
            why
        };
        return ("failed", detail);
    }
    let installs_done =
        !installs.is_empty() && installs.iter().all(|c| c.state == CommandState::Done);
    if installs_done && checks.iter().all(|c| c.state == CommandState::Done) {
        let detail = checks
            .iter()
            .find_map(|c| confirmed(c))
            .unwrap_or_else(|| "the PC reported the installation done".to_owned());
        return ("installed", detail);
    }
    if installs_done {
        let detail = checks
            .iter()
            .find_map(|c| c.original_error.clone())
            .map(|why| format!("the PC is installing the app: {why}"))
            .unwrap_or_else(|| "the PC is installing the app".to_owned());
        return ("delivered", detail);
    }
    if installs
        .iter()
        .any(|c| matches!(c.state, CommandState::Sent | CommandState::Done))
    {
        return (
            "delivered",
            "the PC received the install and is working on it".to_owned(),
        );
    }
    if pushed {
        return (
            "pushed",
            "your PC was woken up and should start the installation shortly".to_owned(),
        );
    }
    ("queued", "waiting for your PC to come online".to_owned())
}

/// The LocURI the command's first item names.
fn target(command: &CommandRow) -> Option<String> {
    serde_json::from_str::<casement_syncml::Command>(&command.payload)
        .ok()
        .and_then(|c| {
            c.items()
                .first()
                .and_then(|i| i.loc_uri().map(str::to_owned))
        })
}

/// Whether the command is the Get that confirms an install.
fn is_check(command: &CommandRow) -> bool {
    target(command).is_some_and(|uri| casement_dm::catalog::is_install_check(&uri))
}

/// What a done check found, in words (judged again from the stored status and results).
fn confirmed(check: &CommandRow) -> Option<String> {
    let results: Vec<casement_dm::ResultItem> = check
        .results
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    let status = casement_syncml::StatusCode::from_code(u16::try_from(check.status_code?).ok()?);
    match casement_dm::catalog::judge_install_check(&target(check)?, status, &results)? {
        casement_dm::catalog::InstallProgress::Installed(why) => Some(why),
        _ => None,
    }
}
