//! Rows of the command queue, management sessions, inventory and the audit log.

use serde::{Deserialize, Serialize};

use crate::{ChannelState, CommandClass, CommandKind, Context, Device};

/// Where a queued command stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandState {
    /// Waiting for a session whose context allows it.
    Pending,
    /// Carried by a session; its status has not come back yet.
    Sent,
    /// The device reported success (2xx).
    Done,
    /// The device reported failure, or it ran out of attempts.
    Failed,
    /// Its expiry passed before it could be delivered.
    Expired,
    /// An administrator cancelled it while it was pending.
    Cancelled,
}

impl CommandState {
    /// Stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    /// From the stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Sent,
            Self::Done,
            Self::Failed,
            Self::Expired,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// A command to queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCommand {
    /// New id.
    pub id: String,
    /// The device.
    pub device_id: String,
    /// What the administrator asked for.
    pub kind: CommandKind,
    /// The command class, which decides the contexts that may carry it.
    pub class: CommandClass,
    /// What it does, in words.
    pub label: String,
    /// The SyncML command, serialized (JSON of `casement_syncml::Command`).
    pub payload: String,
    /// The payload holds a secret (a password): redact it when recording sessions.
    pub secret: bool,
    /// Queue time (also the queue order, ties broken by id).
    pub created_at: i64,
    /// Expiry, if any.
    pub expires_at: Option<i64>,
    /// Most deliveries before it is failed for good.
    pub max_attempts: u32,
    /// Who queued it (`admin`, `portal:<upn>`, `system`).
    pub created_by: String,
}

impl NewCommand {
    /// The row this command is once queued: pending, no attempts yet.
    pub fn into_pending_row(self) -> CommandRow {
        CommandRow {
            id: self.id,
            device_id: self.device_id,
            kind: self.kind,
            class: self.class,
            label: self.label,
            payload: self.payload,
            secret: self.secret,
            state: CommandState::Pending,
            status_code: None,
            original_error: None,
            results: None,
            attempts: 0,
            max_attempts: self.max_attempts,
            created_at: self.created_at,
            updated_at: self.created_at,
            expires_at: self.expires_at,
            created_by: self.created_by,
        }
    }
}

/// Which active (not retired) devices a bulk operation targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSelection {
    /// Every active device.
    All,
    /// The active devices enrolled by this user (id).
    User(String),
}

/// One command queued on many devices: each device gets its own row (new id, state pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkCommand {
    /// What the administrator asked for.
    pub kind: CommandKind,
    /// The command class.
    pub class: CommandClass,
    /// What it does, in words.
    pub label: String,
    /// The SyncML command, serialized; the same for every device.
    pub payload: String,
    /// The payload holds a secret.
    pub secret: bool,
    /// Queue time (commands of one request are a millisecond apart, to keep their order).
    pub created_at: i64,
    /// Expiry, if any.
    pub expires_at: Option<i64>,
    /// Most deliveries.
    pub max_attempts: u32,
    /// Who queued it.
    pub created_by: String,
}

/// A bulk queueing: per platform, the commands every selected device of that platform gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkEnqueue {
    /// The devices.
    pub selection: DeviceSelection,
    /// Per platform, the commands (platforms not listed get nothing).
    pub by_platform: Vec<(crate::Platform, Vec<BulkCommand>)>,
    /// Also queue a push to each of these devices (unless one is queued already): reason, now,
    /// and the least time after its last sent push (ms), as [`crate::PushStore::enqueue_push`].
    pub push: Option<(String, i64, i64)>,
}

/// A stored command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRow {
    /// Id.
    pub id: String,
    /// Device.
    pub device_id: String,
    /// What the administrator asked for.
    pub kind: CommandKind,
    /// Class.
    pub class: CommandClass,
    /// Label.
    pub label: String,
    /// Serialized SyncML command.
    pub payload: String,
    /// Holds a secret.
    pub secret: bool,
    /// State.
    pub state: CommandState,
    /// The device's status code, once reported.
    pub status_code: Option<i64>,
    /// `msft:originalerror`, when reported.
    pub original_error: Option<String>,
    /// Results (JSON array of result items), for Gets.
    pub results: Option<String>,
    /// Deliveries so far.
    pub attempts: u32,
    /// Most deliveries.
    pub max_attempts: u32,
    /// Queue time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Expiry.
    pub expires_at: Option<i64>,
    /// Who queued it.
    pub created_by: String,
}

/// A management session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// Our id.
    pub id: String,
    /// Device.
    pub device_id: String,
    /// The device's SyncML SessionID.
    pub session_id: String,
    /// The context the session ran in.
    pub context: Context,
    /// The rule that decided it.
    pub reason: String,
    /// The evidence (JSON: mode, LoginStatus, alerts, user agent).
    pub evidence: String,
    /// First message.
    pub started_at: i64,
    /// Last message.
    pub updated_at: i64,
    /// End, once ended.
    pub ended_at: Option<i64>,
    /// How it ended.
    pub outcome: Option<String>,
    /// The core's state (JSON) while active.
    pub core_state: Option<String>,
    /// Optimistic-concurrency version, bumped by every write.
    pub version: i64,
    /// Messages exchanged (both directions).
    pub message_count: i64,
    /// Commands delivered.
    pub commands_sent: i64,
    /// What the administrator should know about it, in words (the device could not process a
    /// message, package 1 named another device, …), in the order they arose.
    pub warnings: Vec<String>,
    /// False for an idle session's compact record ([`IdleSessionRow`]): its messages were not
    /// kept (docs/retention.md).
    pub messages_kept: bool,
}

/// The compact record an idle session leaves instead of a [`SessionRow`] and its messages: a
/// session that started and ended in one exchange, carried no command and raised no warning,
/// of a device not under investigation (docs/retention.md). Read back as a [`SessionRow`] with
/// `messages_kept: false` and the id [`IdleSessionRow::id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleSessionRow {
    /// Device.
    pub device_id: String,
    /// The device's SyncML SessionID.
    pub session_id: String,
    /// When (its only message).
    pub started_at: i64,
    /// The context it ran in.
    pub context: Context,
    /// The rule that decided it.
    pub reason: String,
    /// The evidence (JSON), stored once per distinct value.
    pub evidence: String,
}

impl IdleSessionRow {
    /// Prefix of an idle session's id.
    pub const ID_PREFIX: &'static str = "idle.";

    /// Its id as sessions are named in the API and console: `idle.<started_at>.<device id>`.
    pub fn id(device_id: &str, started_at: i64) -> String {
        format!("{}{started_at}.{device_id}", Self::ID_PREFIX)
    }

    /// The device and start time an idle session's id names (`None`: not such an id).
    pub fn parse_id(id: &str) -> Option<(&str, i64)> {
        let rest = id.strip_prefix(Self::ID_PREFIX)?;
        let (at, device) = rest.split_once('.')?;
        Some((device, at.parse().ok()?))
    }

    /// The id its evidence is stored under: 63 bits of an FNV-1a hash of context, reason and
    /// evidence — the same on every node, so a write never has to read it first.
    pub fn evidence_id(&self) -> i64 {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for part in [self.context.as_str(), &self.reason, &self.evidence] {
            for b in part.bytes().chain(std::iter::once(0)) {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
        }
        (hash >> 1) as i64
    }

    /// The day it belongs to (retention deletes whole days): days since the epoch, UTC.
    pub fn day(&self) -> i64 {
        self.started_at.div_euclid(86_400_000)
    }
}

/// One SyncML message of a session, secrets redacted, size-capped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    /// Session.
    pub session_row: String,
    /// Order within the session.
    pub seq: i64,
    /// `device` or `server`.
    pub direction: String,
    /// The XML.
    pub body: String,
    /// Cut at the cap.
    pub truncated: bool,
    /// When.
    pub at: i64,
}

/// A command carried by a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    /// Session.
    pub session_row: String,
    /// Command.
    pub command_id: String,
    /// Server MsgID that carried it.
    pub msg_id: i64,
    /// Its CmdID.
    pub cmd_id: i64,
}

/// The latest value of one node of a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryRow {
    /// Device.
    pub device_id: String,
    /// Node.
    pub loc_uri: String,
    /// Value.
    pub value: Option<String>,
    /// `Meta/Format`.
    pub format: Option<String>,
    /// When it was read.
    pub read_at: i64,
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Id.
    pub id: String,
    /// When.
    pub at: i64,
    /// Who (`admin-token`, `admin:<name>`, `portal:<upn>`, `device:<id>`, `system`).
    pub actor: String,
    /// What (`command.queue`, `command.cancel`, `user.create`, `device.retire`, …).
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// Details (JSON).
    pub detail: String,
}

/// A device's push channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRow {
    /// Device.
    pub device_id: String,
    /// Where the channel stands.
    pub state: ChannelState,
    /// Channel URI (kept; `None` leaves the stored one).
    pub uri: Option<String>,
    /// Expiry (unix ms).
    pub expires_at: Option<i64>,
    /// Reported status (`ChannelStatus` / `Push/Status`).
    pub status: Option<String>,
    /// Reported `LastError`.
    pub last_error: Option<String>,
    /// Why it is not usable, in words.
    pub reason: Option<String>,
    /// Last change.
    pub updated_at: i64,
}

/// A push in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRow {
    /// Id.
    pub id: String,
    /// Device.
    pub device_id: String,
    /// Why (e.g. `command:<id>` for an app install).
    pub reason: String,
    /// Where the push stands.
    pub state: PushState,
    /// Sends tried.
    pub attempts: u32,
    /// Not before.
    pub next_attempt_at: i64,
    /// The last WNS outcome, in words.
    pub last_outcome: Option<String>,
    /// Created.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// Where a push in the outbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PushState {
    /// Waiting for its time.
    Queued,
    /// Claimed by a node that is sending it.
    Sending,
    /// WNS accepted it (or dropped it).
    Sent,
    /// Given up.
    Failed,
}

impl PushState {
    /// Stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// From the stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Queued, Self::Sending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// How a claimed push ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushResult {
    /// WNS accepted it (or dropped it: nothing more to do).
    Sent,
    /// Try again at this time.
    Retry {
        /// When.
        at: i64,
    },
    /// Give up.
    Failed,
}

/// What handling one device message needs, read in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementSnapshot {
    /// The device.
    pub device: Device,
    /// Its session that has not ended, if any.
    pub active_session: Option<SessionRow>,
    /// Its pending commands in queue order (at most the limit asked for).
    pub pending: Vec<CommandRow>,
    /// Its push channel, if one was ever recorded.
    pub channel: Option<ChannelRow>,
    /// The certificate asked for, if it exists (possibly another device's).
    pub certificate: Option<crate::Certificate>,
    /// When the device's next configuration-profile row is due (`None`: none is): the
    /// profiles themselves are read ([`crate::ProfileStore::due_profiles`]) only once it has come.
    pub profiles_due_at: Option<i64>,
}

/// A session write, checked against the version read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionWrite {
    /// A new session (a device has at most one session not ended: a second is a conflict).
    Insert(SessionRow),
    /// An update of a session read at `expected_version`; its row carries the new version.
    Update {
        /// The new row.
        row: SessionRow,
        /// The version it was read at.
        expected_version: i64,
    },
}

/// A command's move from one state to another; applied only if it is still in `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTransition {
    /// Command.
    pub id: String,
    /// Expected state.
    pub from: CommandState,
    /// New state.
    pub to: CommandState,
    /// Device status code.
    pub status_code: Option<i64>,
    /// `msft:originalerror`.
    pub original_error: Option<String>,
    /// Results JSON.
    pub results: Option<String>,
    /// Count one more delivery.
    pub count_attempt: bool,
    /// A retry: when `to` is pending and the command has used all its attempts, it becomes
    /// failed instead.
    pub retry: bool,
}

/// Everything one handled device message changes, applied in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageChanges {
    /// The device.
    pub device_id: String,
    /// When.
    pub now: i64,
    /// Session inserts and updates (an abandoned session, then the new one).
    pub sessions: Vec<SessionWrite>,
    /// Commands to queue (applied before the transitions, which may already move them).
    pub enqueue: Vec<NewCommand>,
    /// Command state changes.
    pub commands: Vec<CommandTransition>,
    /// Commands carried by a reply.
    pub deliveries: Vec<DeliveryRow>,
    /// Messages to record.
    pub messages: Vec<MessageRow>,
    /// Inventory values read.
    pub inventory: Vec<InventoryRow>,
    /// DevInfo values from package 1 (JSON object).
    pub devinfo: Option<String>,
    /// The context of the session, recorded on the device with `now`.
    pub last_context: Option<Context>,
    /// Retire the device (revoke its certificates, cancel its pending commands) for this reason.
    pub retire: Option<String>,
    /// The device's push channel, written over the stored one (a `None` URI keeps the stored URI).
    pub channel: Option<ChannelRow>,
    /// Queue a push to the device (skipped when one is already queued): id, reason, and the
    /// least time after its last sent push (ms).
    pub push: Option<(String, String, i64)>,
    /// Audit entries.
    pub audit: Vec<AuditEntry>,
    /// Events the message implies, recorded in its transaction with their webhook deliveries
    /// (an event is never lost to a crash after the change it reports).
    pub events: Vec<crate::NewEvent>,
    /// Device × profile states the message moved (issue 14).
    pub profiles: Vec<crate::ProfileProgressRow>,
    /// An idle session's compact record (then `sessions` and `messages` are empty).
    pub idle_session: Option<IdleSessionRow>,
}

/// An app in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Install payloads per platform (JSON object: `windows-8.1`, `windows-10` → catalog payload).
    pub payloads: String,
    /// Created.
    pub created_at: i64,
}

/// An install request of an app on a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRow {
    /// Id.
    pub id: String,
    /// App.
    pub app_id: String,
    /// Device.
    pub device_id: String,
    /// The commands queued for it (JSON array of ids).
    pub command_ids: String,
    /// Who asked (`admin-token`, `portal:<upn>`).
    pub requested_by: String,
    /// When.
    pub created_at: i64,
}
