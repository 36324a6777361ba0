//! Queueing commands: the catalog turns a request into SyncML for the device's platform; the
//! queue stores them, in order, for sessions whose context allows them.

use casement_dm::catalog::{self, CatalogContext, CommandRequest};
use casement_dm::device::Platform as DmPlatform;
use casement_store::{CommandRow, NewCommand, Platform, StoreError};

use crate::clock::now_ms;
use crate::services::management::DEFAULT_MAX_ATTEMPTS;
use crate::state::AppState;

/// Why nothing was queued.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No such device.
    #[error("unknown device")]
    UnknownDevice,
    /// The device is retired.
    #[error("the device is retired")]
    Retired,
    /// The catalog refused the request (unsupported on the platform, invalid raw SyncML, …).
    #[error("{0}")]
    Refused(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Queues what `request` builds for the device; returns the stored commands in queue order.
/// Commands queued together keep their order (their queue times are a millisecond apart).
pub async fn queue(
    state: &AppState,
    device_id: &str,
    request: &CommandRequest,
    expires_in_seconds: Option<u64>,
    created_by: &str,
) -> Result<Vec<CommandRow>, QueueError> {
    let device = state
        .store
        .device(device_id)
        .await?
        .ok_or(QueueError::UnknownDevice)?;
    if device.retired_at.is_some() {
        return Err(QueueError::Retired);
    }
    let platform = match device.platform {
        Platform::Windows81 => DmPlatform::Windows81,
        Platform::Windows10 => DmPlatform::Windows10,
    };
    let context = CatalogContext {
        platform,
        device_id: device.id.clone(),
        provider_id: state.config.provider_id.clone(),
        wns: state.config.wns.clone(),
    };
    let specs =
        catalog::build(request, &context).map_err(|e| QueueError::Refused(e.to_string()))?;
    let kind = serde_json::to_value(request)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "raw".into());
    let now = now_ms();
    let expires_at = expires_in_seconds
        .map(|s| now + i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX / 2));
    let mut commands = Vec::with_capacity(specs.len());
    for (i, spec) in specs.into_iter().enumerate() {
        commands.push(NewCommand {
            id: uuid::Uuid::new_v4().to_string(),
            device_id: device.id.clone(),
            kind: kind.clone(),
            class: spec.class.as_str().to_owned(),
            label: spec.label,
            payload: serde_json::to_string(&spec.command)
                .map_err(|e| QueueError::Refused(e.to_string()))?,
            secret: spec.secret,
            created_at: now + i as i64,
            expires_at,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            created_by: created_by.to_owned(),
        });
    }
    state.store.enqueue_commands(&commands).await?;
    if matches!(request, CommandRequest::AppInstall { .. }) {
        // Wake the device so that it comes back in an Apps session (PRODUCT §3 flow 5); if no
        // push gets through, the next session whose context allows it delivers the install.
        if let Some(first) = commands.first() {
            state
                .store
                .enqueue_push(
                    &uuid::Uuid::new_v4().to_string(),
                    &device.id,
                    &format!("command:{}", first.id),
                    now,
                    state.config.push_interval_ms,
                )
                .await?;
        }
    }
    Ok(commands
        .into_iter()
        .map(NewCommand::into_pending_row)
        .collect())
}
