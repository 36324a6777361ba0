//! OMA-DM management sessions: each device message is handled from a fresh storage snapshot by
//! the pure session core, and everything it changes is written in one transaction before the
//! reply goes out.
//!
//! Concurrency: messages of one device are serialized in this process (striped locks), and the
//! write is optimistic in storage (session version, expected command states), so that several
//! nodes on one database never interleave a device's messages or deliver a command twice: a
//! conflicting write is retried from a new snapshot.

use casement_ca::VerifiedDevice;
use casement_dm::channel::ChannelState;
use casement_dm::server::{
    self, ActiveSession, Effect, ServerConfig, SessionOutcome, Step, Verdict,
};
use casement_dm::{CommandClass, CommandRef, ModeParam, PendingCommand};
use casement_store::*;
use casement_syncml::{Command, Data, StatusCode, SyncMl};
use serde_json::json;

use crate::clock::now_ms;
use crate::state::AppState;

/// Largest message kept in the session record (longer ones are cut and marked truncated).
const RECORDED_MESSAGE_CAP: usize = 64 * 1024;
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
    let _serial = state.device_locks.stripe(device.device_id()).lock().await;
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
    let now = now_ms();
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
    let config = ServerConfig::default();
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
    let mut candidates = pending_for_core(&snapshot.pending)?;
    let mut enqueue = Vec::new();
    let (step, session_row) = match continuing {
        Some(row) => {
            let core: ActiveSession = serde_json::from_str(row.core_state.as_deref().unwrap_or(""))
                .map_err(|e| StoreError::Corrupt(format!("session {}: {e}", row.id)))?;
            // Inventory read in two steps (Windows 8.1 WMI classes: the instance list, then the
            // instances' properties): the second step goes out first, in this same session.
            enqueue = follow_ups(&core, message, device_id, now);
            let rows: Vec<CommandRow> = enqueue
                .iter()
                .cloned()
                .map(NewCommand::into_pending_row)
                .collect();
            let mut next = pending_for_core(&rows)?;
            next.append(&mut candidates);
            candidates = next;
            (
                core.on_message(now, message, &candidates, &config),
                row.clone(),
            )
        }
        None => {
            let decision = casement_dm::ContextDecision::decide(
                ModeParam::parse(facts.mode.as_deref()),
                casement_dm::Package1Facts::read(message),
            );
            if decision.context == casement_dm::Context::Maintenance {
                enqueue = channel_refresh(state, &snapshot, now);
                let rows: Vec<CommandRow> = enqueue
                    .iter()
                    .cloned()
                    .map(NewCommand::into_pending_row)
                    .collect();
                let mut next = pending_for_core(&rows)?;
                next.append(&mut candidates);
                candidates = next;
            }
            let step = server::start_decided(now, message, decision, &candidates, &config);
            let row = new_session_row(device_id, message, &step, facts, now);
            (step, row)
        }
    };
    let is_new = continuing.is_none();
    let mut changes = changes_for(
        &snapshot,
        &session_row,
        is_new,
        (message, body),
        &step,
        now,
        state.config.push_interval_ms,
    );
    changes.enqueue = enqueue;
    state.store.apply_message(&changes).await?;
    state.metrics.message(&session_row.context, &step.effects);
    for effect in &step.effects {
        if let Effect::CommandSent { command, .. } = effect
            && let Some(p) = candidates.iter().find(|p| &p.id == command)
        {
            state
                .metrics
                .delivered(p.class.as_str(), &session_row.context);
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
    state.store.apply_message(&changes).await
}

/// A command sent and not answered (or a push-config that failed) goes back to pending while it
/// has attempts left, and is failed once they are used up.
fn retry(id: &str, status: Option<(StatusCode, Option<String>)>) -> CommandTransition {
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
fn transition(
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

/// How old a channel report may get before a Maintenance session reads it again (Windows 10
/// renews its channel when 15 days remain; servers should query it regularly: windows-itpro-docs
/// push-notification-windows-mdm.md).
const CHANNEL_REFRESH_MS: i64 = 24 * 3_600_000;

/// Push configuration a Maintenance session should carry: all of it for a device that never had
/// a channel (enrolled before WNS was configured), the reads only for a channel not read for a
/// day; nothing when push configuration is already pending or WNS is not configured.
fn channel_refresh(state: &AppState, snapshot: &ManagementSnapshot, now: i64) -> Vec<NewCommand> {
    let (Some(wns), true) = (&state.config.wns, state.config.auto_push_config) else {
        return Vec::new();
    };
    if snapshot
        .pending
        .iter()
        .any(|c| c.class == CommandClass::PushConfiguration.as_str())
    {
        return Vec::new();
    }
    let reads_only = match &snapshot.channel {
        None => false,
        Some(c)
            if matches!(c.state.as_str(), "active" | "expiring" | "configuring")
                && now - c.updated_at > CHANNEL_REFRESH_MS =>
        {
            true
        }
        Some(_) => return Vec::new(),
    };
    let platform = match snapshot.device.platform {
        casement_store::Platform::Windows81 => casement_dm::device::Platform::Windows81,
        casement_store::Platform::Windows10 => casement_dm::device::Platform::Windows10,
    };
    let context = casement_dm::catalog::CatalogContext {
        platform,
        device_id: snapshot.device.id.clone(),
        provider_id: state.config.provider_id.clone(),
        wns: Some(wns.clone()),
    };
    let Ok(specs) =
        casement_dm::catalog::build(&casement_dm::catalog::CommandRequest::PushConfig, &context)
    else {
        return Vec::new();
    };
    specs
        .into_iter()
        // The first spec sets the configuration (8.1 UpdateConfiguration, 10/11 Push/PFN); the
        // rest read the channel back.
        .skip(usize::from(reads_only))
        .map(|spec| NewCommand {
            id: uuid::Uuid::new_v4().to_string(),
            device_id: snapshot.device.id.clone(),
            kind: "push-config".into(),
            class: spec.class.as_str().to_owned(),
            label: if reads_only {
                format!("{} (periodic re-read)", spec.label)
            } else {
                spec.label
            },
            payload: serde_json::to_string(&spec.command).unwrap_or_default(),
            secret: spec.secret,
            created_at: now,
            expires_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            created_by: "system".into(),
        })
        .collect()
}

/// The follow-up reads of inventory results this message carries (only results matched to an
/// inventory Get this session sent are followed).
fn follow_ups(
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
            for spec in casement_dm::catalog::follow_up(&result) {
                out.push(NewCommand {
                    id: uuid::Uuid::new_v4().to_string(),
                    device_id: device_id.to_owned(),
                    kind: "inventory".into(),
                    class: spec.class.as_str().to_owned(),
                    label: spec.label,
                    payload: serde_json::to_string(&spec.command).unwrap_or_default(),
                    secret: spec.secret,
                    created_at: now,
                    expires_at: None,
                    max_attempts: DEFAULT_MAX_ATTEMPTS,
                    created_by: "system".into(),
                });
            }
        }
    }
    out
}

fn pending_for_core(rows: &[CommandRow]) -> Result<Vec<PendingCommand>, StoreError> {
    rows.iter()
        .map(|r| {
            let command: Command = serde_json::from_str(&r.payload)
                .map_err(|e| StoreError::Corrupt(format!("command {}: {e}", r.id)))?;
            let class = CommandClass::from_name(&r.class).ok_or_else(|| {
                StoreError::Corrupt(format!("command {} class {:?}", r.id, r.class))
            })?;
            Ok(PendingCommand {
                id: CommandRef(r.id.clone()),
                class,
                command,
                expires_at: r.expires_at,
            })
        })
        .collect()
}

fn new_session_row(
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
            .map_or(("Machine".to_owned(), "missing".to_owned()), |d| {
                (
                    d.context.as_str().to_owned(),
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
    }
}

/// Translates the core's effects into one storage change set.
fn changes_for(
    snapshot: &ManagementSnapshot,
    row: &SessionRow,
    is_new: bool,
    (incoming, incoming_raw): (&SyncMl, &[u8]),
    step: &Step,
    now: i64,
    push_interval_ms: i64,
) -> MessageChanges {
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
            Effect::SessionStarted { .. } => changes.last_context = Some(row.context.clone()),
            Effect::DeviceInfo { items } => {
                let kept = super::package1::keep(items, &device_id);
                if !kept.warnings.is_empty() {
                    tracing::warn!(device = %device_id, warnings = ?kept.warnings, "package 1: values not stored");
                    session.warnings.extend(kept.warnings.iter().cloned());
                }
                if !kept.devinfo.is_empty() {
                    changes.devinfo = Some(serde_json::Value::Object(kept.devinfo).to_string());
                }
            }
            Effect::CommandSent {
                command,
                msg_id,
                cmd_id,
            } => {
                if by_id(&command.0).is_some_and(|c| c.secret) {
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
                changes.commands.push(transition(&command.0, *status, verdict, results));
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
            Effect::DeviceRetired { reason } => changes.retire = Some(reason.clone()),
            Effect::WakeDevice { why } => {
                // One push per message is enough; it is sent no sooner than the push interval.
                if changes.push.is_none() {
                    changes.push = Some((uuid::Uuid::new_v4().to_string(), why.clone(), push_interval_ms));
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

fn channel_row(
    device_id: &str,
    state: ChannelState,
    uri: Option<String>,
    reason: Option<String>,
    now: i64,
) -> ChannelRow {
    ChannelRow {
        device_id: device_id.to_owned(),
        state: state.as_str().to_owned(),
        uri,
        expires_at: None,
        status: None,
        last_error: None,
        reason,
        updated_at: now,
    }
}

fn outcome_name(o: &SessionOutcome) -> String {
    match o {
        SessionOutcome::Completed => "completed".into(),
        SessionOutcome::AbortedByDevice => "aborted-by-device".into(),
        SessionOutcome::Abandoned => "abandoned".into(),
        SessionOutcome::ProtocolError(reason) => format!("protocol-error: {reason}"),
    }
}

/// The reply as recorded: the Data of commands holding secrets replaced.
fn redacted(reply: &SyncMl, secret_cmd_ids: &[u32]) -> String {
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

fn record(session_row: &str, seq: i64, direction: &str, xml: &str, now: i64) -> MessageRow {
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
