//! The core's effects as one storage change set: the translation only, no decision (the
//! session core decided every outcome).

use casement_dm::channel::ChannelState;
use casement_dm::server::{Effect, SessionOutcome, Step, Verdict};
use casement_store::*;
use casement_syncml::{StatusCode, SyncMl};

use super::record::{outcome_name, record, redacted};
use crate::services::commands::Queueing;

/// The configured intervals the change set needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Intervals {
    /// Least time between two pushes to one device.
    pub(super) push_ms: i64,
    /// How often verified profile settings are read again for drift.
    pub(super) profile_check_ms: i64,
}

/// Translates the core's effects into one storage change set.
pub(super) fn changes_for(
    snapshot: &ManagementSnapshot,
    row: &SessionRow,
    is_new: bool,
    (incoming, incoming_raw): (&SyncMl, &[u8]),
    step: &Step,
    now: i64,
    intervals: Intervals,
) -> MessageChanges {
    let Intervals {
        push_ms: push_interval_ms,
        profile_check_ms: profile_check_interval_ms,
    } = intervals;
    let device_id = snapshot.device.id.clone();
    let mut changes = MessageChanges {
        device_id: device_id.clone(),
        now,
        ..MessageChanges::default()
    };
    let by_id = |id: &str| snapshot.pending.iter().find(|c| c.id == id);
    let mut session = row.clone();
    let mut secret_cmd_ids = Vec::new();
    let mut outcome = None;
    for effect in &step.effects {
        match effect {
            Effect::SessionStarted { .. } => changes.last_context = Some(row.context),
            Effect::DeviceInfo { items } => {
                let kept = crate::services::package1::keep(items, &device_id);
                if !kept.warnings.is_empty() {
                    tracing::warn!(device = %device_id, warnings = ?kept.warnings, "package 1: values not stored");
                    session.warnings.extend(kept.warnings.iter().cloned());
                }
                if !kept.devinfo.is_empty() {
                    // Written only when it changed: most check-ins report the same values.
                    let devinfo = serde_json::Value::Object(kept.devinfo).to_string();
                    if snapshot.device.devinfo.as_deref() != Some(devinfo.as_str()) {
                        changes.devinfo = Some(devinfo);
                    }
                }
            }
            Effect::CommandQueued {
                command,
                kind,
                spec,
            } => {
                let queueing = Queueing {
                    device_id: &device_id,
                    kind: *kind,
                    at: now,
                    expires_at: None,
                    created_by: "system",
                };
                match queueing.row(command.0.clone(), changes.enqueue.len(), spec.clone()) {
                    Ok(row) => changes.enqueue.push(row),
                    Err(e) => tracing::error!(device = %device_id, "command not queued: {e}"),
                }
            }
            Effect::CommandSent {
                command,
                msg_id,
                cmd_id,
                ..
            } => {
                let queued_secret = changes
                    .enqueue
                    .iter()
                    .any(|c| c.id == command.0 && c.secret);
                if queued_secret || by_id(&command.0).is_some_and(|c| c.secret) {
                    secret_cmd_ids.push(cmd_id.0);
                }
                session.commands_sent += 1;
                changes.commands.push(CommandTransition {
                    id: command.0.clone(),
                    from: CommandState::Pending,
                    to: CommandState::Sent,
                    status_code: None,
                    original_error: None,
                    results: None,
                    count_attempt: true,
                    retry: false,
                });
                changes.deliveries.push(DeliveryRow {
                    session_row: row.id.clone(),
                    command_id: command.0.clone(),
                    msg_id: i64::from(msg_id.0),
                    cmd_id: i64::from(cmd_id.0),
                });
            }
            Effect::CommandReported {
                command,
                verdict,
                status,
                results,
                ..
            } => {
                changes
                    .commands
                    .push(transition(&command.0, *status, verdict, results));
                for r in results {
                    changes.inventory.push(InventoryRow {
                        device_id: device_id.clone(),
                        loc_uri: r.loc_uri.clone(),
                        value: r.data.clone(),
                        format: r.format.clone(),
                        read_at: now,
                    });
                }
            }
            Effect::ProfileProgress {
                profile,
                revision,
                status,
                nodes,
                drift,
            } => match serde_json::to_string(nodes) {
                Ok(nodes_json) => {
                    let in_flight = nodes.iter().any(|n| n.command.is_some());
                    changes.profiles.push(ProfileProgressRow {
                        profile_id: profile.clone(),
                        revision: *revision,
                        status: status.as_str().to_owned(),
                        nodes: nodes_json,
                        due_at: crate::services::profiles::due_at(
                            *status,
                            in_flight,
                            now,
                            profile_check_interval_ms,
                        ),
                        drift_found: drift.len() as i64,
                    });
                }
                Err(e) => tracing::error!(device = %device_id, "profile progress not stored: {e}"),
            },
            Effect::ChannelObserved { channel } => {
                let report = channel.report.clone().unwrap_or_default();
                changes.channel = Some(ChannelRow {
                    uri: report.uri,
                    expires_at: report.expires_at,
                    status: report.status,
                    last_error: report.last_error,
                    ..channel_row(&device_id, channel.state, None, channel.reason.clone(), now)
                });
            }
            Effect::DeviceRetired { reason } => {
                changes.retire = Some(reason.clone());
                if reason == casement_dm::server::WIPE_ACKNOWLEDGED {
                    // The outcome of a wipe, next to its request and approval in the audit log.
                    changes.audit.push(AuditEntry {
                        id: uuid::Uuid::new_v4().to_string(),
                        at: now,
                        actor: format!("device:{device_id}"),
                        action: "device.wiped".into(),
                        target: Some(device_id.clone()),
                        detail: serde_json::json!({ "reason": reason }).to_string(),
                    });
                }
            }
            Effect::WakeDevice { why } => {
                // One push per message is enough; it is sent no sooner than the push interval.
                if changes.push.is_none() {
                    changes.push = Some((
                        uuid::Uuid::new_v4().to_string(),
                        why.clone(),
                        push_interval_ms,
                    ));
                }
            }
            Effect::CommandUnanswered { command } => changes.commands.push(retry(&command.0, None)),
            Effect::CommandExpired { command } => changes.commands.push(CommandTransition {
                id: command.0.clone(),
                from: CommandState::Pending,
                to: CommandState::Expired,
                status_code: None,
                original_error: None,
                results: None,
                count_attempt: false,
                retry: false,
            }),
            Effect::UnmatchedStatus {
                msg_ref,
                cmd_ref,
                cmd,
                code,
            } => {
                tracing::warn!(device = %device_id, msg_ref = msg_ref.0, cmd_ref, cmd = %cmd, code = code.code(), "management: status for a command never sent (not trusted)");
            }
            Effect::UnmatchedResults { msg_ref, cmd_ref } => {
                tracing::warn!(device = %device_id, msg_ref = ?msg_ref.map(|m| m.0), cmd_ref, "management: results for a command never sent (not stored)");
            }
            Effect::UnenrollmentRequested => {
                changes.retire = Some("the user disconnected the device (alert 1226)".into());
                changes.audit.push(AuditEntry {
                    id: uuid::Uuid::new_v4().to_string(),
                    at: now,
                    actor: format!("device:{device_id}"),
                    action: "device.unenroll".into(),
                    target: Some(device_id.clone()),
                    detail: "{}".into(),
                });
            }
            Effect::Alert {
                code,
                alert_type,
                data,
            } => {
                tracing::info!(device = %device_id, code, alert_type = ?alert_type, data = ?data, "management: alert")
            }
            Effect::Warning { warning } => {
                tracing::warn!(device = %device_id, %warning, "management: session warning");
                session.warnings.push(warning.to_string());
            }
            Effect::SessionEnded { outcome: o } => outcome = Some(o.clone()),
        }
    }
    // An idle session — one exchange, nothing carried, nothing to warn about, the device not
    // under investigation — leaves a compact record instead of its row and messages
    // (docs/retention.md).
    let under_investigation = snapshot
        .device
        .record_sessions_until
        .is_some_and(|until| until > now);
    let idle = is_new
        && matches!(outcome, Some(SessionOutcome::Completed))
        && session.commands_sent == 0
        && session.warnings.is_empty()
        && changes.commands.is_empty()
        && changes.enqueue.is_empty()
        && !under_investigation;
    if idle {
        changes.idle_session = Some(IdleSessionRow {
            device_id: device_id.clone(),
            session_id: session.session_id,
            started_at: session.started_at,
            context: session.context,
            reason: session.reason,
            evidence: session.evidence,
        });
        return changes;
    }
    let seq = session.message_count;
    changes.messages.push(record(
        &row.id,
        seq,
        "device",
        // As received (it parsed, so it is well-formed); re-serialized only if not UTF-8.
        &std::str::from_utf8(incoming_raw)
            .map(str::to_owned)
            .unwrap_or_else(|_| casement_syncml::to_string(incoming)),
        now,
    ));
    changes.messages.push(record(
        &row.id,
        seq + 1,
        "server",
        &redacted(&step.reply, &secret_cmd_ids),
        now,
    ));
    session.message_count += 2;
    session.updated_at = now;
    session.core_state = step
        .next
        .as_ref()
        .map(|s| serde_json::to_string(s).unwrap_or_default());
    if let Some(o) = outcome {
        session.ended_at = Some(now);
        session.outcome = Some(outcome_name(&o));
    }
    let expected = session.version;
    session.version += 1;
    changes.sessions.push(if is_new {
        SessionWrite::Insert(session)
    } else {
        SessionWrite::Update {
            row: session,
            expected_version: expected,
        }
    });
    changes
}

/// A command sent and not answered (or a push-config that failed) goes back to pending while it
/// has attempts left, and is failed once they are used up.
pub(super) fn retry(id: &str, status: Option<(StatusCode, Option<String>)>) -> CommandTransition {
    CommandTransition {
        id: id.to_owned(),
        from: CommandState::Sent,
        to: CommandState::Pending,
        status_code: status.as_ref().map(|(s, _)| i64::from(s.code())),
        original_error: status.and_then(|(_, e)| e),
        results: None,
        count_attempt: false,
        retry: true,
    }
}

/// A reported command's verdict as a command transition: done, failed, or back to pending
/// (bounded by the command's attempts). The verdict's reason is kept for the console.
pub(super) fn transition(
    id: &str,
    status: StatusCode,
    verdict: &Verdict,
    results: &[casement_dm::ResultItem],
) -> CommandTransition {
    let (to, why) = match verdict {
        Verdict::Retry(why) => return retry(id, Some((status, why.clone()))),
        Verdict::Done(why) => (CommandState::Done, why),
        Verdict::Failed(why) => (CommandState::Failed, why),
    };
    CommandTransition {
        id: id.to_owned(),
        from: CommandState::Sent,
        to,
        status_code: Some(i64::from(status.code())),
        original_error: why.clone(),
        results: (!results.is_empty()).then(|| serde_json::to_string(results).unwrap_or_default()),
        count_attempt: false,
        retry: false,
    }
}

pub(super) fn channel_row(
    device_id: &str,
    state: ChannelState,
    uri: Option<String>,
    reason: Option<String>,
    now: i64,
) -> ChannelRow {
    ChannelRow {
        device_id: device_id.to_owned(),
        state,
        uri,
        expires_at: None,
        status: None,
        last_error: None,
        reason,
        updated_at: now,
    }
}
