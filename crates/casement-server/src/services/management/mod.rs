//! OMA-DM management sessions: each device message is handled from a fresh storage snapshot by
//! the pure session core, and everything it changes is written in one transaction before the
//! reply goes out.
//!
//! Concurrency: messages of one device are serialized in this process (striped locks), and the
//! write is optimistic in storage (session version, expected command states), so that several
//! nodes on one database never interleave a device's messages or deliver a command twice: a
//! conflicting write is retried from a new snapshot.

use casement_ca::VerifiedDevice;
use casement_dm::CommandClass;
use casement_dm::ModeParam;
use casement_dm::server::{self, ActiveSession, Effect, SessionOutcome, Verdict};
use casement_store::*;
use casement_syncml::SyncMl;

use crate::state::AppState;

mod changes;
mod queue;
mod record;

use changes::{changes_for, retry};
use queue::{core_config, pending_for_core};
use record::new_session_row;

/// Pending commands read per message (the reply budget is far smaller).
const PENDING_SNAPSHOT: u32 = 200;
/// Attempts at a conflicting write before giving up with 503.
const WRITE_ATTEMPTS: usize = 5;
/// Deliveries of a command before it is failed for good (lost replies, failed push-config).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// What the HTTP layer sends back.
#[derive(Debug)]
pub struct ManagementReply {
    /// HTTP status.
    pub status: u16,
    /// Body: SyncML on 200, a reason otherwise.
    pub body: String,
    /// True when the body is SyncML.
    pub syncml: bool,
}

impl ManagementReply {
    fn refuse(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            body: reason.into(),
            syncml: false,
        }
    }
}

/// What the request said besides its body.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// `mode` query value.
    pub mode: Option<String>,
    /// `Platform` query value.
    pub platform: Option<String>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
}

/// Striped per-device locks: bounded memory whatever the fleet size.
#[derive(Debug)]
pub struct DeviceLocks {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl Default for DeviceLocks {
    fn default() -> Self {
        Self {
            stripes: (0..1024).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

impl DeviceLocks {
    fn stripe(&self, device_id: &str) -> &tokio::sync::Mutex<()> {
        let hash = device_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        &self.stripes[(hash % self.stripes.len() as u64) as usize]
    }
}

/// Messages larger than this are parsed on a blocking thread (a real message is a few KiB).
const INLINE_PARSE_BYTES: usize = 64 * 1024;

/// Handles one SyncML message from a device whose certificate was verified.
pub async fn handle_message(
    state: &AppState,
    device: &VerifiedDevice,
    facts: &RequestFacts,
    body: &[u8],
) -> ManagementReply {
    let parsed = if body.len() <= INLINE_PARSE_BYTES {
        casement_syncml::parse(body)
    } else {
        // Up to 4 MiB: milliseconds of CPU, kept off the async workers.
        let owned = body.to_vec();
        match tokio::task::spawn_blocking(move || casement_syncml::parse(&owned)).await {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::error!(error = %e, "management: the parse did not finish");
                return ManagementReply::refuse(500, "internal error");
            }
        }
    };
    let message = match parsed {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(device = %device.device_id(), error = %e, "management: invalid SyncML");
            state.metrics.refusal("invalid-syncml");
            return ManagementReply::refuse(400, format!("invalid SyncML {e}"));
        }
    };
    if message.header.source.loc_uri != device.device_id() {
        tracing::warn!(device = %device.device_id(), claimed = %message.header.source.loc_uri, "management: device ID does not match the certificate");
        state.metrics.refusal("device-id-mismatch");
        return ManagementReply::refuse(
            403,
            "SyncHdr Source does not match the client certificate's device",
        );
    }
    let serial = device.serial_hex().to_lowercase();
    let _serial = state
        .services
        .device_locks
        .stripe(device.device_id())
        .lock()
        .await;
    for _ in 0..WRITE_ATTEMPTS {
        match handle_once(state, device, &serial, facts, &message, body).await {
            Ok(reply) => return reply,
            Err(StoreError::Conflict(what)) => {
                tracing::debug!(device = %device.device_id(), %what, "management: write conflict, retrying");
                continue;
            }
            Err(e) => return unavailable(state, &e),
        }
    }
    state.metrics.refusal("write-conflict");
    ManagementReply::refuse(
        503,
        "the device's session is being changed concurrently; retry",
    )
}

fn unavailable(state: &AppState, e: &StoreError) -> ManagementReply {
    tracing::error!(error = %e, "management: storage unavailable");
    state.metrics.refusal("storage-unavailable");
    ManagementReply::refuse(503, "storage unavailable; retry later")
}

async fn handle_once(
    state: &AppState,
    verified: &VerifiedDevice,
    serial: &str,
    facts: &RequestFacts,
    message: &SyncMl,
    body: &[u8],
) -> Result<ManagementReply, StoreError> {
    let now = state.clock.now_ms();
    let device_id = verified.device_id();
    // The device, its session, pending commands and the certificate it presented, in one read.
    let snapshot = state
        .store
        .management_snapshot(device_id, Some(serial), PENDING_SNAPSHOT)
        .await?;
    let certificate_ok = snapshot.as_ref().is_some_and(|s| {
        s.certificate
            .as_ref()
            .is_some_and(|c| c.revoked_at.is_none() && c.device_id == device_id)
    });
    let Some(snapshot) = snapshot.filter(|_| certificate_ok) else {
        tracing::warn!(device = %device_id, serial = %verified.serial_hex(), "management: revoked or unknown certificate");
        state.metrics.refusal("certificate-revoked");
        return Ok(ManagementReply::refuse(
            403,
            "the client certificate is revoked or unknown (device retired?)",
        ));
    };
    if snapshot.device.retired_at.is_some() {
        return Ok(ManagementReply::refuse(403, "the device is retired"));
    }
    let continuing = snapshot
        .active_session
        .as_ref()
        .filter(|s| s.session_id == message.header.session_id);
    if let (None, Some(stale)) = (continuing, &snapshot.active_session) {
        // A new session replaces one that never ended (lost reply, aborted run): its unanswered
        // commands go back to pending first, then the new session starts from a fresh snapshot.
        abandon(state, device_id, stale, now).await?;
        return Box::pin(handle_once(state, verified, serial, facts, message, body)).await;
    }
    let mut config = core_config(state, &snapshot, continuing.is_none());
    if continuing.is_none() && snapshot.profiles_due_at.is_some_and(|due| due <= now) {
        // The device's profiles that need work, at package 1 only, and only when the snapshot
        // says one is due: a device whose profiles are settled makes no second read.
        config.profiles = crate::services::profiles::work_for(state, &snapshot.device, now).await?;
    }
    let candidates = pending_for_core(&snapshot.pending)?;
    let (step, session_row) = match continuing {
        Some(row) => {
            let core: ActiveSession = serde_json::from_str(row.core_state.as_deref().unwrap_or(""))
                .map_err(|e| StoreError::Corrupt(format!("session {}: {e}", row.id)))?;
            (
                core.on_message(now, message, &candidates, &config),
                row.clone(),
            )
        }
        None => {
            let mode = ModeParam::parse(facts.mode.as_deref());
            let step = server::start(now, message, mode, &candidates, &config);
            let row = new_session_row(device_id, message, &step, facts, now);
            (step, row)
        }
    };
    let is_new = continuing.is_none();
    let changes = changes_for(
        &snapshot,
        &session_row,
        is_new,
        (message, body),
        &step,
        now,
        changes::Intervals {
            push_ms: state.config.push_interval_ms,
            profile_check_ms: state.config.profile_check_interval_ms,
        },
    );
    let app_commands_ended: Vec<&str> = step
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::CommandReported {
                command,
                class: CommandClass::AppManagement,
                verdict: Verdict::Done(_) | Verdict::Failed(_),
                ..
            } => Some(command.0.as_str()),
            _ => None,
        })
        .collect();
    crate::services::events::apply_message(state, changes, &app_commands_ended).await?;
    state.metrics.message(session_row.context, &step.effects);
    for effect in &step.effects {
        if let Effect::CommandSent { class, .. } = effect {
            state.metrics.delivered(*class, session_row.context);
        }
    }
    Ok(ManagementReply {
        status: 200,
        body: step.reply_xml,
        syncml: true,
    })
}

/// Ends a session that will get no further message.
async fn abandon(
    state: &AppState,
    device_id: &str,
    row: &SessionRow,
    now: i64,
) -> Result<(), StoreError> {
    let effects = match row
        .core_state
        .as_deref()
        .map(serde_json::from_str::<ActiveSession>)
    {
        Some(Ok(core)) => core.abandon(),
        _ => vec![Effect::SessionEnded {
            outcome: SessionOutcome::Abandoned,
        }],
    };
    let mut changes = MessageChanges {
        device_id: device_id.to_owned(),
        now,
        ..MessageChanges::default()
    };
    let mut ended = row.clone();
    ended.version += 1;
    ended.updated_at = now;
    ended.ended_at = Some(now);
    ended.outcome = Some("abandoned".into());
    ended.core_state = None;
    changes.sessions.push(SessionWrite::Update {
        row: ended,
        expected_version: row.version,
    });
    for effect in effects {
        if let Effect::CommandUnanswered { command } = effect {
            changes.commands.push(retry(&command.0, None));
        }
    }
    crate::services::events::apply_message(state, changes, &[]).await?;
    Ok(())
}
