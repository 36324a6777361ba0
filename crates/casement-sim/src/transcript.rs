//! What the simulator records of each event and management session, as JSON.
//!
//! One [`SessionTranscript`] per event (the events that start no session are recorded too, with
//! a note), gathered in a [`Transcript`] with a summary. Every SyncML message is kept verbatim,
//! both directions, with the commands the device answered and the status codes it gave.

use std::collections::BTreeMap;
use std::path::Path;

use casement_syncml::{Command, SyncMl};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::agent::triggers::{Event, LoginAlert, Task, UserAccess};
use crate::agent::user::UserSession;

/// One event on one device, and the session it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTranscript {
    /// The device's name in the scenario (its device ID outside scenarios).
    pub device: String,
    /// The MDM device ID.
    pub device_id: String,
    /// The event.
    pub event: Event,
    /// Simulated time of the event.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The enrolled user's session before the event.
    pub user_before: UserSession,
    /// … and after it.
    pub user_after: UserSession,
    /// Why no session ran, or anything else worth knowing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The management session, if the event started one.
    pub session: Option<SessionRecord>,
}

impl SessionTranscript {
    /// The status code the device gave the first command whose LocURI contains `needle`.
    pub fn status_of(&self, needle: &str) -> Option<u16> {
        self.session.as_ref().and_then(|s| {
            s.commands
                .iter()
                .find(|c| c.uris.iter().any(|u| u.contains(needle)))
                .map(|c| c.status)
        })
    }
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The server ended it with a status-only message.
    Completed,
    /// The server answered with an HTTP status other than 200 (the real agent retries later).
    HttpError,
    /// No HTTP answer (connection, TLS, timeout) or no HTTP client.
    TransportError,
    /// The server's body is not SyncML the device accepts.
    InvalidReply,
    /// The server kept sending commands past the simulator's message limit.
    TooManyMessages,
}

/// One management session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// What started MDMAgent.exe.
    pub task: Task,
    /// `mode` as sent (`Machine`, `Maintenance`, `Apps`).
    pub mode: String,
    /// The URL posted to.
    pub url: String,
    /// `User-Agent`.
    pub user_agent: String,
    /// Windows 10/11 LoginStatus alert.
    pub login_status: Option<LoginAlert>,
    /// Package 1's session alert: 1201 (client-initiated) or 1200 (push).
    pub alert: u16,
    /// Whether user work could be done.
    pub access: UserAccess,
    /// SessionID.
    pub session_id: String,
    /// Simulated time the session started.
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    /// Real time it took, in milliseconds.
    pub duration_ms: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// Every message, in order.
    pub messages: Vec<MessageRecord>,
    /// Every server command the device answered, with its status.
    pub commands: Vec<CommandRecord>,
    /// HTTP errors (non-200 answers, transport failures, invalid bodies).
    pub http_errors: Vec<HttpFailure>,
    /// App installs that completed when the session ended.
    #[serde(default)]
    pub apps_installed: usize,
    /// The device unenrolled at the end of this session and will not sync again.
    #[serde(default)]
    pub unenrolled: bool,
}

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Device → server.
    ToServer,
    /// Server → device.
    FromServer,
}

/// One SyncML message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Who sent it.
    pub direction: Direction,
    /// Its MsgID.
    pub msg_id: u32,
    /// The XML.
    pub syncml: String,
}

/// A server command and the device's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// The server message that carried it.
    pub msg_ref: u32,
    /// Its CmdID.
    pub cmd_id: u32,
    /// `Get`, `Exec`, …
    pub cmd: String,
    /// The LocURIs of its items.
    pub uris: Vec<String>,
    /// The status the device answered.
    pub status: u16,
}

/// A request that got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpFailure {
    /// The MsgID of the device's message.
    pub msg_id: u32,
    /// The HTTP status, if there was an answer.
    pub status: Option<u16>,
    /// What went wrong (the body's start for HTTP errors).
    pub message: String,
}

/// The commands of `server` answered by the Status commands of `reply`.
pub fn answered(server: &SyncMl, reply: &SyncMl) -> Vec<CommandRecord> {
    let mut all = Vec::new();
    flatten(&server.body.commands, &mut all);
    reply
        .body
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Status(s) if s.cmd_ref != 0 && s.msg_ref == server.header.msg_id => Some(s),
            _ => None,
        })
        .map(|s| {
            let command = all.iter().find(|c| c.cmd_id().0 == s.cmd_ref);
            CommandRecord {
                msg_ref: s.msg_ref.0,
                cmd_id: s.cmd_ref,
                cmd: s.cmd.as_str().to_owned(),
                uris: command
                    .map(|c| {
                        c.items()
                            .iter()
                            .filter_map(|i| i.loc_uri().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                status: s.code.code(),
            }
        })
        .collect()
}

fn flatten<'a>(commands: &'a [Command], out: &mut Vec<&'a Command>) {
    for c in commands {
        out.push(c);
        if let Command::Atomic(inner) | Command::Sequence(inner) = c {
            flatten(&inner.commands, out);
        }
    }
}

/// Every event of a run, with a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// The scenario file, if the run came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Simulated start of the run.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Simulated end of the run.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// Counts.
    pub summary: Summary,
    /// Every event, in order.
    pub sessions: Vec<SessionTranscript>,
    /// Settings changed by a local administrator (`change-setting` steps), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setting_changes: Vec<SettingChangeEntry>,
}

/// A `change-setting` step of a scenario: what a local administrator changed, or why the device
/// refused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingChangeEntry {
    /// The device's name in the scenario.
    pub device: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The node.
    pub node: String,
    /// The value asked for.
    pub value: String,
    /// The value before (unset or unreadable: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<casement_dm::device::NodeValue>,
    /// The value after (unreadable: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<casement_dm::device::NodeValue>,
    /// Why the device refused the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Counts over a transcript.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Events recorded.
    pub events: usize,
    /// Sessions run.
    pub sessions: usize,
    /// Sessions per mode.
    pub sessions_by_mode: BTreeMap<String, usize>,
    /// Sessions per outcome.
    pub outcomes: BTreeMap<String, usize>,
    /// Server commands answered.
    pub commands: usize,
    /// Commands per status code.
    pub commands_by_status: BTreeMap<u16, usize>,
}

impl Transcript {
    /// An empty transcript starting at `started_at`.
    pub fn new(started_at: OffsetDateTime) -> Self {
        Self {
            scenario: None,
            started_at,
            finished_at: started_at,
            summary: Summary::default(),
            sessions: Vec::new(),
            setting_changes: Vec::new(),
        }
    }

    /// Adds an event and updates the summary.
    pub fn push(&mut self, entry: SessionTranscript) {
        self.finished_at = self.finished_at.max(entry.at);
        let summary = &mut self.summary;
        summary.events += 1;
        if let Some(session) = &entry.session {
            summary.sessions += 1;
            *summary
                .sessions_by_mode
                .entry(session.mode.clone())
                .or_default() += 1;
            let outcome = serde_json::to_value(session.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            *summary.outcomes.entry(outcome).or_default() += 1;
            for command in &session.commands {
                summary.commands += 1;
                *summary
                    .commands_by_status
                    .entry(command.status)
                    .or_default() += 1;
            }
        }
        self.sessions.push(entry);
    }

    /// Writes the transcript as pretty JSON.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, json)
    }
}
