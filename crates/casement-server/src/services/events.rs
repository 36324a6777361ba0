//! Events out (issue 15): what happened, for teams' chat, ticketing and SIEM. Each event is a
//! row of the event log (read with a cursor, `GET /api/v1/events`) and, in the same
//! transaction, a delivery queued for every webhook that wants its kind ([`super::webhooks`]).
//!
//! **When an event is written.** `device.enrolled` is written in the enrollment's own
//! transaction. A management message's device retired, commands failed and channel revoked
//! are written in the message's own transaction (`MessageChanges::events`, [`apply_message`]):
//! never lost to a crash after the change. An install that came to an end is derived from the
//! stored commands, so its event is appended right after the commit, with a dedupe key (a crash
//! in between loses that event, never the install's status). `signin.throttled` is a refusal,
//! not a change: it is appended when the refusal is decided.
//!
//! **Adding a kind** is one variant of [`EventKind`] (and its name); the webhook filter, the API
//! and the documents list [`EventKind::ALL`].

use casement_store::{CommandState, MessageChanges, NewEvent};
use serde_json::{Value, json};

use crate::state::AppState;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A device enrolled (or enrolled again after being retired).
    DeviceEnrolled,
    /// A device was retired (unenrolled): its certificates no longer work.
    DeviceRetired,
    /// A device acknowledged a wipe (it is retired too: `device.retired` follows).
    DeviceWiped,
    /// A command failed on the device (or ran out of attempts).
    CommandFailed,
    /// An app install was confirmed on the device.
    InstallDone,
    /// An app install failed.
    InstallFailed,
    /// A device's push channel was revoked or expired (WNS 404/410).
    ChannelRevoked,
    /// Sign-ins from an address or for an account were refused after too many failures.
    SigninThrottled,
    /// A configuration profile failed on a device (a node refused, or read back different).
    ProfileFailed,
    /// A drift check found a profile's setting changed on the device; it was re-applied.
    ProfileDrifted,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 10] = [
        Self::DeviceEnrolled,
        Self::DeviceRetired,
        Self::DeviceWiped,
        Self::CommandFailed,
        Self::InstallDone,
        Self::InstallFailed,
        Self::ChannelRevoked,
        Self::SigninThrottled,
        Self::ProfileFailed,
        Self::ProfileDrifted,
    ];

    /// The name in the API, webhooks and filters.
    pub const fn name(self) -> &'static str {
        match self {
            Self::DeviceEnrolled => "device.enrolled",
            Self::DeviceRetired => "device.retired",
            Self::DeviceWiped => "device.wiped",
            Self::CommandFailed => "command.failed",
            Self::InstallDone => "install.done",
            Self::InstallFailed => "install.failed",
            Self::ChannelRevoked => "channel.revoked",
            Self::SigninThrottled => "signin.throttled",
            Self::ProfileFailed => "profile.failed",
            Self::ProfileDrifted => "profile.drifted",
        }
    }

    /// From its name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Kind.
    pub kind: EventKind,
    /// The device, if any.
    pub device_id: Option<&'a str>,
    /// What else it is about.
    pub subject: Option<&'a str>,
    /// Details.
    pub data: Value,
    /// Recorded once per key.
    pub dedupe_key: Option<String>,
}

/// Appends an event (and queues its webhook deliveries). A storage failure is logged and never
/// fails what caused the event.
pub async fn record(state: &AppState, event: Event<'_>) {
    let new = new_event(state, event);
    if let Err(e) = state.store.append_event(&new).await {
        tracing::error!(error = %e, kind = %new.kind, "recording an event failed");
    }
}

fn new_event(state: &AppState, event: Event<'_>) -> NewEvent {
    NewEvent {
        id: uuid::Uuid::new_v4().to_string(),
        kind: event.kind.name().to_owned(),
        at: state.clock.now_ms(),
        device_id: event.device_id.map(str::to_owned),
        subject: event.subject.map(str::to_owned),
        data: event.data.to_string(),
        dedupe_key: event.dedupe_key,
    }
}

/// Applies a handled device message's changes together with the events they imply — the device
/// retired, its commands failed, the channel revoked — in the same transaction, so an event is
/// never lost to a crash after the change it reports. Installs that came to an end are derived
/// from the stored commands, so their events are recorded right after the commit (deduplicated;
/// a crash in between loses that event, not the install's status).
///
/// `app_commands_ended` are the app-management commands the message reported done or failed:
/// only those can end an install, so a message without any (nearly every session) costs no
/// further read.
pub async fn apply_message(
    state: &AppState,
    mut changes: MessageChanges,
    app_commands_ended: &[&str],
) -> Result<(), casement_store::StoreError> {
    changes.events = implied(state, &changes);
    state.store.apply_message(&changes).await?;
    if !app_commands_ended.is_empty() {
        installs_ended(state, &changes.device_id, app_commands_ended).await;
    }
    Ok(())
}

/// The events `changes` implies that need nothing but the changes themselves.
fn implied(state: &AppState, changes: &MessageChanges) -> Vec<NewEvent> {
    let device = changes.device_id.as_str();
    let mut events = Vec::new();
    if let Some(reason) = &changes.retire {
        if reason == casement_dm::server::WIPE_ACKNOWLEDGED {
            events.push(new_event(
                state,
                Event {
                    kind: EventKind::DeviceWiped,
                    device_id: Some(device),
                    subject: None,
                    data: json!({ "reason": reason }),
                    dedupe_key: Some(format!("device.wiped:{device}:{}", changes.now)),
                },
            ));
        }
        events.push(new_event(
            state,
            Event {
                kind: EventKind::DeviceRetired,
                device_id: Some(device),
                subject: None,
                data: json!({ "reason": reason }),
                dedupe_key: Some(format!("device.retired:{device}:{}", changes.now)),
            },
        ));
    }
    for p in &changes.profiles {
        let failed = p.status == casement_dm::profiles::work::ProfileStatus::Failed.as_str();
        for (kind, happened) in [
            (EventKind::ProfileFailed, failed),
            (EventKind::ProfileDrifted, p.drift_found > 0),
        ] {
            if happened {
                events.push(new_event(
                    state,
                    Event {
                        kind,
                        device_id: Some(device),
                        subject: Some(&p.profile_id),
                        data: json!({ "profile_id": p.profile_id, "revision": p.revision, "drifted_nodes": p.drift_found }),
                        dedupe_key: Some(format!(
                            "{}:{device}:{}:{}",
                            kind.name(),
                            p.profile_id,
                            changes.now
                        )),
                    },
                ));
            }
        }
    }
    for t in changes
        .commands
        .iter()
        .filter(|t| t.to == CommandState::Failed)
    {
        events.push(new_event(
            state,
            Event {
                kind: EventKind::CommandFailed,
                device_id: Some(device),
                subject: Some(&t.id),
                data: json!({
                    "command_id": t.id,
                    "status_code": t.status_code,
                    "original_error": t.original_error,
                }),
                dedupe_key: Some(format!("command.failed:{}", t.id)),
            },
        ));
    }
    if let Some(channel) = changes
        .channel
        .as_ref()
        .filter(|c| c.state == casement_store::ChannelState::Revoked)
    {
        events.push(new_event(
            state,
            Event {
                kind: EventKind::ChannelRevoked,
                device_id: Some(device),
                subject: None,
                data: json!({ "reason": channel.reason }),
                dedupe_key: Some(format!("channel.revoked:{device}:{}", channel.updated_at)),
            },
        ));
    }
    events
}

/// `install.done` / `install.failed` for each of the device's installs that one of the `ended`
/// commands belongs to and that has come to an end (once per install: the dedupe key). An
/// install's status derives from its own commands only, so no other install can have changed.
async fn installs_ended(state: &AppState, device: &str, ended: &[&str]) {
    let installs = match state.store.installs_of_device(device).await {
        Ok(installs) => installs,
        Err(e) => {
            tracing::error!(error = %e, device, "reading installs for events failed");
            return;
        }
    };
    let concerned = installs.into_iter().filter(|i| {
        let ids: Vec<String> = serde_json::from_str(&i.command_ids).unwrap_or_default();
        ids.iter().any(|id| ended.contains(&id.as_str()))
    });
    for install in concerned {
        let Ok(view) = crate::services::installs::view(state, install).await else {
            continue;
        };
        let kind = match view.status {
            "installed" => EventKind::InstallDone,
            "failed" => EventKind::InstallFailed,
            _ => continue,
        };
        record(
            state,
            Event {
                kind,
                device_id: Some(device),
                subject: Some(&view.id),
                data: json!({ "install_id": view.id, "app_id": view.app_id, "detail": view.detail }),
                dedupe_key: Some(format!("install.end:{}", view.id)),
            },
        )
        .await;
    }
}

/// The `device.enrolled` event, to be written in the enrollment's own transaction
/// (`EventStore::record_enrollment_with_event`).
pub fn device_enrolled(state: &AppState, device_id: &str, upn: &str, platform: &str) -> NewEvent {
    let now = state.clock.now_ms();
    NewEvent {
        id: uuid::Uuid::new_v4().to_string(),
        kind: EventKind::DeviceEnrolled.name().to_owned(),
        at: now,
        device_id: Some(device_id.to_owned()),
        subject: Some(upn.to_owned()),
        data: json!({ "user": upn, "platform": platform }).to_string(),
        dedupe_key: None,
    }
}

/// `signin.throttled`, once per throttled key per sign-in window.
pub async fn signin_throttled(state: &AppState, key: &str, retry_after_seconds: u64) {
    let window = state.clock.now_ms() / crate::services::signin::WINDOW_MS;
    record(
        state,
        Event {
            kind: EventKind::SigninThrottled,
            device_id: None,
            subject: Some(key),
            data: json!({ "key": key, "retry_after_seconds": retry_after_seconds }),
            dedupe_key: Some(format!("signin.throttled:{key}:{window}")),
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_unique_names_that_read_back() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
        }
        let mut names: Vec<_> = EventKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::ALL.len());
    }
}
