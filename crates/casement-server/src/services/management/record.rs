//! What a session leaves on record: its row, its messages (size-capped, secrets redacted).

use casement_dm::server::{Effect, SessionOutcome, Step};
use casement_store::*;
use casement_syncml::{Command, Data, SyncMl};
use serde_json::json;

use super::RequestFacts;

/// Largest message kept in the session record (longer ones are cut and marked truncated).
const RECORDED_MESSAGE_CAP: usize = 64 * 1024;

pub(super) fn new_session_row(
    device_id: &str,
    message: &SyncMl,
    step: &Step,
    facts: &RequestFacts,
    now: i64,
) -> SessionRow {
    let decision = step.effects.iter().find_map(|e| match e {
        Effect::SessionStarted { decision } => Some(decision.clone()),
        _ => None,
    });
    let (context, reason) =
        decision
            .as_ref()
            .map_or((Context::Machine, "missing".to_owned()), |d| {
                (
                    d.context,
                    serde_json::to_value(d.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                )
            });
    let alerts: Vec<u16> = message
        .body
        .commands
        .iter()
        .filter_map(|c| {
            if let Command::Alert(a) = c {
                Some(a.code.code())
            } else {
                None
            }
        })
        .collect();
    let evidence = json!({
        "mode": facts.mode,
        "platform": facts.platform,
        "user_agent": facts.user_agent,
        "alerts": alerts,
        "decision": decision,
    });
    SessionRow {
        id: uuid::Uuid::new_v4().to_string(),
        device_id: device_id.to_owned(),
        session_id: message.header.session_id.clone(),
        context,
        reason,
        evidence: evidence.to_string(),
        started_at: now,
        updated_at: now,
        ended_at: None,
        outcome: None,
        core_state: None,
        version: 0,
        message_count: 0,
        commands_sent: 0,
        warnings: Vec::new(),
        messages_kept: true,
    }
}

pub(super) fn outcome_name(o: &SessionOutcome) -> String {
    match o {
        SessionOutcome::Completed => "completed".into(),
        SessionOutcome::AbortedByDevice => "aborted-by-device".into(),
        SessionOutcome::Abandoned => "abandoned".into(),
        SessionOutcome::ProtocolError(reason) => format!("protocol-error: {reason}"),
    }
}

/// The reply as recorded: the Data of commands holding secrets replaced.
pub(super) fn redacted(reply: &SyncMl, secret_cmd_ids: &[u32]) -> String {
    if secret_cmd_ids.is_empty() {
        return casement_syncml::to_string(reply);
    }
    let mut copy = reply.clone();
    for command in &mut copy.body.commands {
        if secret_cmd_ids.contains(&command.cmd_id().0)
            && let Command::Exec(c) | Command::Add(c) | Command::Replace(c) = command
        {
            for item in &mut c.items {
                if item.data.is_some() {
                    item.data = Some(Data::text("(redacted)"));
                }
            }
        }
    }
    casement_syncml::to_string(&copy)
}

pub(super) fn record(
    session_row: &str,
    seq: i64,
    direction: &str,
    xml: &str,
    now: i64,
) -> MessageRow {
    let truncated = xml.len() > RECORDED_MESSAGE_CAP;
    let body = if truncated {
        xml[..xml.floor_char_boundary(RECORDED_MESSAGE_CAP)].to_owned()
    } else {
        xml.to_owned()
    };
    MessageRow {
        session_row: session_row.to_owned(),
        seq,
        direction: direction.to_owned(),
        body,
        truncated,
        at: now,
    }
}
