//! Commands the core queues on its own, decided from what the session saw — never by the
//! service:
//! - the second step of a Windows 8.1 inventory read (the instances' properties once the class's
//!   instance list came back, [`crate::catalog::follow_up`]), sent in the same session;
//! - the push channel's upkeep at the start of a `Maintenance` session: all of push
//!   configuration for a device that never had a channel (enrolled before WNS was configured),
//!   the channel reads for a channel not read for [`ChannelUpkeep::refresh_after_ms`] (Windows 10
//!   renews its channel when 15 days remain; servers should query it regularly:
//!   windows-itpro-docs push-notification-windows-mdm.md, docs/protocol.md).
//!
//! The ids of these commands are UUID v5 names derived from what caused them (the command that
//! read the instance list; the device and the session's start), so the core stays free of I/O
//! and randomness, and a message handled twice (a write conflict retried) queues the same ids.

use serde::{Deserialize, Serialize};

use super::Effect;
use crate::catalog::{self, CatalogContext, CommandKind, CommandRequest, QueuedSpec};
use crate::channel::ChannelState;
use crate::command::{CommandRef, PendingCommand};
use crate::context::{CommandClass, Context, ContextPolicy};

/// The namespace of the ids the core gives the commands it queues.
const OWN_COMMANDS: uuid::Uuid = uuid::Uuid::from_u128(0x6a1f_3c2e_8b4d_4e0a_9c55_2d7e_41b3_c0de);

/// What the core needs to keep a device's push channel up (absent: WNS is not configured, or
/// the administrator turned automatic push configuration off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelUpkeep {
    /// The device and server, to build push configuration with.
    pub catalog: CatalogContext,
    /// The channel as stored: its state and when it last changed; `None` if none was ever
    /// recorded.
    pub channel: Option<(ChannelState, i64)>,
    /// How old a channel report may get before a `Maintenance` session reads it again.
    pub refresh_after_ms: i64,
}

/// A command the core queued, with the effect that records it.
pub(super) struct Queued {
    pub(super) pending: PendingCommand,
    pub(super) effect: Effect,
}

pub(super) fn queued(id: CommandRef, kind: CommandKind, spec: QueuedSpec) -> Queued {
    Queued {
        pending: PendingCommand {
            id: id.clone(),
            class: spec.class,
            command: spec.command.clone(),
            expires_at: None,
        },
        effect: Effect::CommandQueued {
            command: id,
            kind,
            spec,
        },
    }
}

fn own_id(name: &str) -> CommandRef {
    CommandRef(uuid::Uuid::new_v5(&OWN_COMMANDS, name.as_bytes()).to_string())
}

/// The second step of every inventory read reported in `effects`.
pub(super) fn inventory_follow_ups(effects: &[Effect]) -> Vec<Queued> {
    let mut out = Vec::new();
    for effect in effects {
        let Effect::CommandReported {
            command,
            class: CommandClass::Inventory,
            results,
            ..
        } = effect
        else {
            continue;
        };
        let specs = results.iter().flat_map(catalog::follow_up);
        for (n, spec) in specs.enumerate() {
            let id = own_id(&format!("follow-up/{}/{n}", command.0));
            out.push(queued(id, CommandKind::Inventory, spec));
        }
    }
    out
}

/// Push configuration a session starting in `context` should carry; nothing in a context the
/// device's table does not let carry it (Windows 8.1: only `Maintenance`, docs/product.md §2),
/// when push configuration is already pending, or when the channel is recent or being repaired
/// elsewhere.
pub(super) fn channel_upkeep(
    upkeep: Option<&ChannelUpkeep>,
    policy: &ContextPolicy,
    context: Context,
    pending: &[PendingCommand],
    device_id: &str,
    now: i64,
) -> Vec<Queued> {
    let Some(upkeep) = upkeep else {
        return Vec::new();
    };
    if !policy.allows(CommandClass::PushConfiguration, context)
        || pending
            .iter()
            .any(|p| p.class == CommandClass::PushConfiguration)
    {
        return Vec::new();
    }
    let reads_only = match upkeep.channel {
        None => false,
        Some((state, updated_at))
            if matches!(
                state,
                ChannelState::Active | ChannelState::Expiring | ChannelState::Configuring
            ) && now - updated_at > upkeep.refresh_after_ms =>
        {
            true
        }
        Some(_) => return Vec::new(),
    };
    let Ok(specs) = catalog::build(&CommandRequest::PushConfig, &upkeep.catalog) else {
        return Vec::new();
    };
    // The first spec sets the configuration (8.1 UpdateConfiguration, 10/11 Push/PFN); the rest
    // read the channel back.
    specs
        .into_iter()
        .skip(usize::from(reads_only))
        .enumerate()
        .map(|(n, mut spec)| {
            if reads_only {
                spec.label = format!("{} (periodic re-read)", spec.label);
            }
            let id = own_id(&format!("channel-upkeep/{device_id}/{now}/{n}"));
            queued(id, CommandKind::PushConfig, spec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Platform;

    const DAY: i64 = 24 * 3_600_000;
    const W81: ContextPolicy = ContextPolicy::WINDOWS_81;

    fn upkeep(channel: Option<(ChannelState, i64)>) -> ChannelUpkeep {
        ChannelUpkeep {
            catalog: crate::catalog::tests::ctx(Platform::Windows81),
            channel,
            refresh_after_ms: DAY,
        }
    }

    fn labels(queued: &[Queued]) -> Vec<String> {
        queued
            .iter()
            .map(|q| match &q.effect {
                Effect::CommandQueued { spec, kind, .. } => {
                    assert_eq!(*kind, CommandKind::PushConfig);
                    spec.label.clone()
                }
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_device_without_a_channel_gets_all_of_push_configuration_in_maintenance_only() {
        let u = upkeep(None);
        let all = channel_upkeep(Some(&u), &W81, Context::Maintenance, &[], "D1", 10 * DAY);
        assert!(all.len() >= 2, "configuration and reads");
        assert!(
            all.iter()
                .all(|q| q.pending.class == CommandClass::PushConfiguration)
        );
        for context in [Context::Machine, Context::Apps] {
            assert!(channel_upkeep(Some(&u), &W81, context, &[], "D1", 10 * DAY).is_empty());
        }
        assert!(channel_upkeep(None, &W81, Context::Maintenance, &[], "D1", 10 * DAY).is_empty());
    }

    #[test]
    fn a_stale_channel_is_read_again_a_recent_or_revoked_one_is_left_alone() {
        let now = 10 * DAY;
        let full = channel_upkeep(
            Some(&upkeep(None)),
            &W81,
            Context::Maintenance,
            &[],
            "D1",
            now,
        );
        let stale = upkeep(Some((ChannelState::Active, now - DAY - 1)));
        let reads = channel_upkeep(Some(&stale), &W81, Context::Maintenance, &[], "D1", now);
        assert_eq!(reads.len(), full.len() - 1, "the reads only");
        assert!(
            labels(&reads)
                .iter()
                .all(|l| l.ends_with("(periodic re-read)")),
            "{:?}",
            labels(&reads)
        );
        for channel in [
            (ChannelState::Active, now - DAY),
            (ChannelState::Revoked, now - 5 * DAY),
            (ChannelState::Failed, now - 5 * DAY),
        ] {
            let u = upkeep(Some(channel));
            assert!(
                channel_upkeep(Some(&u), &W81, Context::Maintenance, &[], "D1", now).is_empty(),
                "{channel:?}"
            );
        }
    }

    #[test]
    fn nothing_is_added_while_push_configuration_is_pending_and_ids_are_derived() {
        let u = upkeep(None);
        let first = channel_upkeep(Some(&u), &W81, Context::Maintenance, &[], "D1", 5);
        let pending = vec![first[0].pending.clone()];
        assert!(channel_upkeep(Some(&u), &W81, Context::Maintenance, &pending, "D1", 5).is_empty());
        let again = channel_upkeep(Some(&u), &W81, Context::Maintenance, &[], "D1", 5);
        let ids = |q: &[Queued]| q.iter().map(|q| q.pending.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&first),
            ids(&again),
            "the same message queues the same ids"
        );
        let other = channel_upkeep(Some(&u), &W81, Context::Maintenance, &[], "D2", 5);
        assert!(ids(&first).iter().all(|id| !ids(&other).contains(id)));
    }
}
