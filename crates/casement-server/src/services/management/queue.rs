//! What the session core is given besides the message: the device's queue as the core sees it,
//! and what it needs to keep the push channel up. The core decides what to do with them.

use casement_dm::server::{ChannelUpkeep, ServerConfig};
use casement_dm::{CommandRef, PendingCommand};
use casement_store::*;
use casement_syncml::Command;

use crate::services::commands::catalog_context;
use crate::state::AppState;

/// How old a channel report may get before a Maintenance session reads it again (Windows 10
/// renews its channel when 15 days remain; servers should query it regularly: windows-itpro-docs
/// push-notification-windows-mdm.md).
const CHANNEL_REFRESH_MS: i64 = 24 * 3_600_000;

/// The core's configuration for this device: its platform's policy table, the budget, and the channel's
/// upkeep when WNS is configured and automatic push configuration is on. The upkeep is decided
/// at package 1 only, so later messages of a session do not build it.
pub(super) fn core_config(
    state: &AppState,
    snapshot: &ManagementSnapshot,
    package1: bool,
) -> ServerConfig {
    let channel_upkeep = match (&state.config.wns, state.config.auto_push_config) {
        (Some(_), true) if package1 => Some(ChannelUpkeep {
            catalog: catalog_context(state, snapshot.device.platform, &snapshot.device.id),
            channel: snapshot.channel.as_ref().map(|c| (c.state, c.updated_at)),
            refresh_after_ms: CHANNEL_REFRESH_MS,
        }),
        _ => None,
    };
    ServerConfig {
        // The table of the device's platform (docs/product.md §2, "The table is per platform").
        policy: casement_dm::ContextPolicy::for_platform(snapshot.device.platform),
        channel_upkeep,
        ..ServerConfig::default()
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
