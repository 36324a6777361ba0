//! The timeline's words: an event and its session, a push, a JSON value as text.

use casement_sim::agent::Task;
use casement_sim::transcript::{Outcome, SessionTranscript};
use casement_sim::wns::ReceivedPush;
use serde_json::Value;
use time::OffsetDateTime;

/// The event and the session it started, in words.
pub(super) fn describe(entry: &SessionTranscript) -> String {
    let Some(session) = &entry.session else {
        let user = format!(
            "{}: no session (the user is {})",
            entry.event, entry.user_after
        );
        return match &entry.note {
            Some(note) => format!("{user}; {note}"),
            None => user,
        };
    };
    let task = match session.task {
        Task::MaintenanceTask => "MDMMaintenanceTask",
        Task::AppInstallationTask => "MDMAgent.exe -App (MDMAppInstallationTask)",
        Task::CommandPrompt => "MDMAgent.exe from a command prompt",
    };
    let login = session
        .login_status
        .map(|l| format!(", LoginStatus {}", l.as_str()))
        .unwrap_or_default();
    let failed = if session.outcome == Outcome::Completed {
        String::new()
    } else {
        format!(" — the session failed ({:?})", session.outcome)
    };
    format!(
        "{} (user {}) → {task}: mode={}{login}, {} answered{failed}",
        entry.event,
        entry.user_after,
        session.mode,
        match session.commands.len() {
            1 => "1 command".to_owned(),
            n => format!("{n} commands"),
        }
    )
}

/// One line for a push-triggered session (`casement sim wns` prints it).
pub fn session_line(entry: &SessionTranscript) -> String {
    let now = OffsetDateTime::now_utc();
    let mut line = format!(
        "{:02}:{:02}:{:02} {} {}",
        now.hour(),
        now.minute(),
        now.second(),
        entry.device_id,
        describe(entry)
    );
    if let Some(session) = &entry.session {
        let answered: Vec<String> = session
            .commands
            .iter()
            .take(6)
            .map(|c| {
                let uri = c.uris.first().map(String::as_str).unwrap_or_default();
                let tail = uri.rsplit('/').next().unwrap_or(uri);
                format!("{} {tail} {}", c.cmd, c.status)
            })
            .collect();
        if !answered.is_empty() {
            line.push_str(&format!(" [{}]", answered.join(", ")));
        }
        if session.apps_installed > 0 {
            line.push_str(&format!("; {} app(s) installed", session.apps_installed));
        }
    }
    line
}

pub(super) fn push_text(push: &ReceivedPush) -> String {
    let answer = match push.status {
        200 if push.delivered => "200 received: MDMAppInstallationTask starts".to_owned(),
        404 => "404: the channel was revoked".to_owned(),
        410 => "410: the channel expired".to_owned(),
        s => format!("{s}"),
    };
    format!("the server pushes through WNS → {answer}")
}

pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
