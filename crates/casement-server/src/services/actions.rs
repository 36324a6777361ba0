//! Device actions (issue 15 part 1): wipe, reboot and lock are queued like any command (the
//! catalog builds them per platform, the per-platform policy table decides the session), behind
//! the safeguards of a wipe:
//!
//! - a wipe names the device it wipes: `confirm` must be the device's name (its id when it has
//!   none), compared without regard to ASCII case, as Windows compares computer names;
//! - wiping more than one device at once (`POST /api/v1/commands`) needs `"bulk": true`;
//! - with `wipe_approval` on, a wipe is recorded as an action request and queued only when a
//!   *different* administrator or token approves it; request, approval or rejection and the
//!   outcome (`device.wiped`) are in the audit log.

use casement_dm::catalog::{CommandKind, CommandRequest};
use casement_store::{ActionRequest, ActionRequestState, CommandRow, Device, StoreError};
use serde_json::json;

use super::commands::{QueueError, enqueue_for};
use crate::state::AppState;

/// The name a wipe's `confirm` must repeat: the device's name, or its id when it has none.
pub fn confirmation_name(device: &Device) -> &str {
    device
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&device.id)
}

/// The safeguards of one device's request: a wipe must name the device, and is refused here
/// when it needs approval (it is requested with [`request`] instead).
pub fn guard(
    state: &AppState,
    device: &Device,
    request: &CommandRequest,
) -> Result<(), QueueError> {
    check_confirm(device, request)?;
    if matches!(request, CommandRequest::Wipe { .. }) && state.config.wipe_approval {
        return Err(QueueError::Refused(format!(
            "wipes need a second administrator's approval (wipe_approval is on): request it with \
             POST /api/v1/devices/{}/actions, then another administrator approves it",
            device.id
        )));
    }
    Ok(())
}

/// A wipe's `confirm` must be the device's name (or id).
pub fn check_confirm(device: &Device, request: &CommandRequest) -> Result<(), QueueError> {
    let CommandRequest::Wipe { confirm, .. } = request else {
        return Ok(());
    };
    let expected = confirmation_name(device);
    match confirm.as_deref().map(str::trim) {
        Some(given) if given.eq_ignore_ascii_case(expected) => Ok(()),
        Some(given) => Err(QueueError::Refused(format!(
            "a wipe names the device it wipes: \"confirm\" is {given:?} but this device is {expected:?}"
        ))),
        None => Err(QueueError::Refused(format!(
            "a wipe names the device it wipes: add \"confirm\": {expected:?} (the device's name, or its id when it has none)"
        ))),
    }
}

/// The safeguards of a bulk request: a wipe needs `"bulk": true`, and is refused altogether
/// when wipes need approval (each is requested and approved per device).
pub fn guard_bulk(state: &AppState, request: &CommandRequest) -> Result<(), QueueError> {
    let CommandRequest::Wipe { bulk, .. } = request else {
        return Ok(());
    };
    if !bulk {
        return Err(QueueError::Refused(
            "wiping more than one device at once needs an explicit \"bulk\": true in the command"
                .into(),
        ));
    }
    if state.config.wipe_approval {
        return Err(QueueError::Refused(
            "wipes need a second administrator's approval (wipe_approval is on): request each \
             device's wipe with POST /api/v1/devices/{id}/actions"
                .into(),
        ));
    }
    Ok(())
}

/// What asking for an action did.
#[derive(Debug)]
pub enum Asked {
    /// Queued: the commands.
    Queued(Vec<CommandRow>),
    /// Recorded, waiting for a second administrator.
    AwaitingApproval(ActionRequest),
}

/// Asks for a device action (`wipe`, `reboot`, `lock`) for `actor`: queued at once, or recorded
/// as a request when it is a wipe and wipes need approval. Audited either way.
pub async fn ask(
    state: &AppState,
    actor: &str,
    device_id: &str,
    request: &CommandRequest,
) -> Result<Asked, QueueError> {
    if !matches!(
        request.kind(),
        CommandKind::Wipe | CommandKind::Reboot | CommandKind::Lock
    ) {
        return Err(QueueError::Refused(format!(
            "{} is not a device action (wipe, reboot, lock); queue it with POST /api/v1/devices/{device_id}/commands",
            request.kind()
        )));
    }
    let device = state
        .store
        .device(device_id)
        .await?
        .ok_or(QueueError::UnknownDevice)?;
    if device.retired_at.is_some() {
        return Err(QueueError::Retired);
    }
    check_confirm(&device, request)?;
    let needs_approval =
        matches!(request, CommandRequest::Wipe { .. }) && state.config.wipe_approval;
    if !needs_approval {
        let rows = enqueue_for(state, &device, request, None, actor).await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        super::audit::record(
            state,
            actor,
            "device.action",
            Some(device_id),
            json!({ "kind": request.kind().as_str(), "commands": ids }),
        )
        .await;
        return Ok(Asked::Queued(rows));
    }
    // Refuse now what the catalog would refuse at approval (e.g. a wipe on Windows 8.1).
    casement_dm::catalog::build(
        request,
        &super::commands::catalog_context(state, device.platform, &device.id),
    )
    .map_err(|e| QueueError::Refused(e.to_string()))?;
    let record = ActionRequest {
        id: uuid::Uuid::new_v4().to_string(),
        device_id: device.id.clone(),
        action: request.kind().as_str().to_owned(),
        payload: serde_json::to_string(request).map_err(|e| QueueError::Refused(e.to_string()))?,
        requested_by: actor.to_owned(),
        requested_at: state.clock.now_ms(),
        decided_by: None,
        decided_at: None,
        state: ActionRequestState::Pending,
    };
    state.store.create_action_request(&record).await?;
    super::audit::record(
        state,
        actor,
        "action.request",
        Some(device_id),
        json!({ "request": record.id, "kind": record.action }),
    )
    .await;
    Ok(Asked::AwaitingApproval(record))
}

/// Why a decision was not taken.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No such request.
    #[error("no action request {0}")]
    Unknown(String),
    /// The one who asked cannot approve their own request.
    #[error(
        "the administrator who requested it ({0}) cannot approve it: a different administrator or token must"
    )]
    SameAdministrator(String),
    /// It was decided already.
    #[error("{0}")]
    Decided(String),
    /// Queueing the approved action failed (the device was retired meanwhile, …).
    #[error("approved, but not queued: {0}")]
    Queue(QueueError),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DecideError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::Unknown(what),
            StoreError::Conflict(why) => Self::Decided(why),
            other => Self::Store(other),
        }
    }
}

/// Approves (`approve`) or rejects a pending request for `actor`. Approval needs an actor other
/// than the requester and queues the action; rejection queues nothing. Audited.
pub async fn decide(
    state: &AppState,
    actor: &str,
    id: &str,
    approve: bool,
) -> Result<(ActionRequest, Vec<CommandRow>), DecideError> {
    let pending = state
        .store
        .action_request(id)
        .await?
        .ok_or_else(|| DecideError::Unknown(id.to_owned()))?;
    if approve && pending.requested_by == actor {
        super::audit::record(
            state,
            actor,
            "action.approve-refused",
            Some(&pending.device_id),
            json!({ "request": id, "reason": "the requester cannot approve their own request" }),
        )
        .await;
        return Err(DecideError::SameAdministrator(actor.to_owned()));
    }
    let to = if approve {
        ActionRequestState::Approved
    } else {
        ActionRequestState::Rejected
    };
    let decided = state
        .store
        .decide_action_request(id, to, actor, state.clock.now_ms())
        .await?;
    let mut rows = Vec::new();
    let mut failure = None;
    if approve {
        let request: Result<CommandRequest, _> = serde_json::from_str(&decided.payload);
        let queued = match request {
            Ok(request) => match state.store.device(&decided.device_id).await {
                Ok(Some(device)) if device.retired_at.is_none() => {
                    enqueue_for(state, &device, &request, None, &decided.requested_by).await
                }
                Ok(Some(_)) => Err(QueueError::Retired),
                Ok(None) => Err(QueueError::UnknownDevice),
                Err(e) => Err(QueueError::Store(e)),
            },
            Err(e) => Err(QueueError::Refused(format!(
                "stored request unreadable: {e}"
            ))),
        };
        match queued {
            Ok(queued) => rows = queued,
            Err(e) => failure = Some(e),
        }
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    super::audit::record(
        state,
        actor,
        if approve {
            "action.approve"
        } else {
            "action.reject"
        },
        Some(&decided.device_id),
        json!({
            "request": id,
            "kind": decided.action,
            "requested_by": decided.requested_by,
            "commands": ids,
            "error": failure.as_ref().map(ToString::to_string),
        }),
    )
    .await;
    match failure {
        Some(e) => Err(DecideError::Queue(e)),
        None => Ok((decided, rows)),
    }
}
