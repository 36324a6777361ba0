//! What a message may carry besides the device's queue: the push channel's periodic re-read, the
//! second step of Windows 8.1 inventory; and the queue's rows as the core sees them.

use casement_dm::catalog::CommandKind;
use casement_dm::server::ActiveSession;
use casement_dm::{CommandClass, CommandRef, PendingCommand};
use casement_store::*;
use casement_syncml::{Command, SyncMl};

use crate::services::commands::Queueing;
use crate::state::AppState;

/// How old a channel report may get before a Maintenance session reads it again (Windows 10
/// renews its channel when 15 days remain; servers should query it regularly: windows-itpro-docs
/// push-notification-windows-mdm.md).
const CHANNEL_REFRESH_MS: i64 = 24 * 3_600_000;

/// Push configuration a Maintenance session should carry: all of it for a device that never had
/// a channel (enrolled before WNS was configured), the reads only for a channel not read for a
/// day; nothing when push configuration is already pending or WNS is not configured.
pub(super) fn channel_refresh(
    state: &AppState,
    snapshot: &ManagementSnapshot,
    now: i64,
) -> Vec<NewCommand> {
    let (Some(wns), true) = (&state.config.wns, state.config.auto_push_config) else {
        return Vec::new();
    };
    if snapshot
        .pending
        .iter()
        .any(|c| c.class == CommandClass::PushConfiguration)
    {
        return Vec::new();
    }
    let reads_only = match &snapshot.channel {
        None => false,
        Some(c)
            if matches!(
                c.state,
                ChannelState::Active | ChannelState::Expiring | ChannelState::Configuring
            ) && now - c.updated_at > CHANNEL_REFRESH_MS =>
        {
            true
        }
        Some(_) => return Vec::new(),
    };
    let context = casement_dm::catalog::CatalogContext {
        platform: snapshot.device.platform,
        device_id: snapshot.device.id.clone(),
        provider_id: state.config.provider_id.clone(),
        wns: Some(wns.clone()),
    };
    let Ok(specs) =
        casement_dm::catalog::build(&casement_dm::catalog::CommandRequest::PushConfig, &context)
    else {
        return Vec::new();
    };
    // The first spec sets the configuration (8.1 UpdateConfiguration, 10/11 Push/PFN); the rest
    // read the channel back.
    let specs = specs
        .into_iter()
        .skip(usize::from(reads_only))
        .map(|mut spec| {
            if reads_only {
                spec.label = format!("{} (periodic re-read)", spec.label);
            }
            spec
        })
        .collect();
    system_queueing(&snapshot.device.id, CommandKind::PushConfig, now).rows_or_none(specs)
}

/// The follow-up reads of inventory results this message carries (only results matched to an
/// inventory Get this session sent are followed).
pub(super) fn follow_ups(
    core: &ActiveSession,
    message: &SyncMl,
    device_id: &str,
    now: i64,
) -> Vec<NewCommand> {
    let mut out = Vec::new();
    for command in &message.body.commands {
        let Command::Results(results) = command else {
            continue;
        };
        let msg_ref = results.msg_ref.unwrap_or(core.last_server_msg);
        let matched = core.in_flight.iter().any(|f| {
            f.msg_id == msg_ref
                && f.cmd_id.0 == results.cmd_ref
                && f.class == CommandClass::Inventory
        });
        if !matched {
            continue;
        }
        for item in &results.items {
            let Some(result) = casement_dm::ResultItem::from_item(item, results.meta.as_ref())
            else {
                continue;
            };
            let specs = casement_dm::catalog::follow_up(&result);
            out.extend(system_queueing(device_id, CommandKind::Inventory, now).rows_or_none(specs));
        }
    }
    out
}

/// Commands the server queues for itself.
fn system_queueing(device_id: &str, kind: CommandKind, now: i64) -> Queueing<'_> {
    Queueing {
        device_id,
        kind,
        at: now,
        expires_at: None,
        created_by: "system",
    }
}

impl Queueing<'_> {
    /// The rows, or none (logged) if the specs cannot be serialized: the session goes on without
    /// what the server would have added.
    fn rows_or_none(&self, specs: Vec<casement_dm::catalog::QueuedSpec>) -> Vec<NewCommand> {
        self.rows(specs).unwrap_or_else(|e| {
            tracing::error!(device = self.device_id, "commands not queued: {e}");
            Vec::new()
        })
    }
}

pub(super) fn pending_for_core(rows: &[CommandRow]) -> Result<Vec<PendingCommand>, StoreError> {
    rows.iter()
        .map(|r| {
            let command: Command = serde_json::from_str(&r.payload)
                .map_err(|e| StoreError::Corrupt(format!("command {}: {e}", r.id)))?;
            Ok(PendingCommand {
                id: CommandRef(r.id.clone()),
                class: r.class,
                command,
                expires_at: r.expires_at,
            })
        })
        .collect()
}
