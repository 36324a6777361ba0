//! Storage as the rest of Casement sees it: small role-named traits whose doc comments state the
//! contract, composed into [`Store`]. No driver is named here; each backend (SQLite, PostgreSQL)
//! implements the traits and passes the same story test.
//!
//! Times are unix milliseconds (`i64`). Ids are text.

mod actions;
mod error;
mod management;
mod profiles;
mod team;
mod types;
mod web;

pub use actions::*;
/// The typed vocabulary rows carry (defined by the session core, stored by name at the edge).
pub use casement_dm::catalog::CommandKind;
pub use casement_dm::channel::ChannelState;
pub use casement_dm::{CommandClass, Context};
pub use error::StoreError;
pub use management::*;
pub use profiles::*;
pub use team::*;
pub use types::*;
pub use web::*;

use async_trait::async_trait;

/// A result from storage.
pub type StoreResult<T> = Result<T, StoreError>;

/// The user directory (enrollment sign-in, the portal).
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user. A UPN that exists already (compared case-insensitively) is
    /// [`StoreError::Conflict`].
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    /// The user with this UPN (case-insensitive), or `None`.
    async fn user_by_upn(&self, upn: &str) -> StoreResult<Option<User>>;
    /// The user with this id, or `None`.
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>>;
    /// All users, ordered by UPN.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
}

/// Single-use sign-in tokens issued by the enrollment STS.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Records a token (by the hash of its value) for a user, valid until `expires_at`.
    async fn put_sts_token(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// The user of a token that exists, has not expired at `now` and was never consumed; the
    /// token stays usable.
    async fn sts_token_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<String>>;
    /// Consumes a token: returns its user if it exists, has not expired at `now` and was never
    /// consumed; marks it consumed in the same step, so a replay gets `None`.
    async fn consume_sts_token(&self, token_hash: &str, now: i64) -> StoreResult<Option<String>>;
}

/// Enrolled devices and the certificates issued to them.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Records an enrollment in one transaction: the device (created, or updated when the same
    /// device ID enrolls again — it is un-retired) and its new certificate.
    async fn record_enrollment(
        &self,
        device: &NewDevice,
        certificate: &NewCertificate,
    ) -> StoreResult<()>;
    /// Records a renewed certificate for an existing device. Unknown device: [`StoreError::NotFound`].
    async fn record_renewal(&self, certificate: &NewCertificate) -> StoreResult<()>;
    /// The device, or `None`.
    async fn device(&self, id: &str) -> StoreResult<Option<Device>>;
    /// Devices matching the filter, ordered by id, with paging.
    async fn list_devices(&self, filter: &DeviceFilter) -> StoreResult<Vec<Device>>;
    /// How many active (not retired) devices a user has enrolled.
    async fn count_active_devices_of_user(&self, user_id: &str) -> StoreResult<u64>;
    /// The certificate with this serial (lowercase hex), or `None`.
    async fn certificate(&self, serial_hex: &str) -> StoreResult<Option<Certificate>>;
    /// Certificates issued to a device, newest first.
    async fn certificates_of_device(&self, device_id: &str) -> StoreResult<Vec<Certificate>>;
    /// Retires a device and revokes all its certificates at `now`. Unknown device:
    /// [`StoreError::NotFound`]; already retired: no change.
    async fn retire_device(&self, id: &str, reason: &str, now: i64) -> StoreResult<()>;
}

/// The command queue.
#[async_trait]
pub trait CommandStore: Send + Sync {
    /// Queues commands in one transaction (all or none). An unknown device is
    /// [`StoreError::NotFound`].
    async fn enqueue_commands(&self, commands: &[NewCommand]) -> StoreResult<()>;
    /// The command, or `None`.
    async fn command(&self, id: &str) -> StoreResult<Option<CommandRow>>;
    /// A device's commands, newest first, at most `limit`.
    async fn commands_of_device(&self, device_id: &str, limit: u32)
    -> StoreResult<Vec<CommandRow>>;
    /// Queues, in one transaction, each platform's commands on every active device of that
    /// platform the selection matches (retired devices never get any); returns how many devices
    /// got them, per platform, in the order given. Sized for whole fleets: the database copies
    /// the commands itself, one statement per platform and command.
    async fn enqueue_bulk(&self, bulk: &BulkEnqueue) -> StoreResult<Vec<(Platform, u64)>>;
    /// Cancels a pending command. Unknown: [`StoreError::NotFound`]; not pending:
    /// [`StoreError::Conflict`] (a command already sent cannot be taken back).
    async fn cancel_command(&self, id: &str, now: i64) -> StoreResult<CommandRow>;
}

/// Management sessions: the snapshot a device message is handled from, and the atomic write of
/// everything it changed.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// The device, its session not yet ended, its push channel, the certificate with serial
    /// `certificate_serial` (lowercase hex) if asked for and it exists — whichever device it was
    /// issued to, for the caller to compare — and up to `pending_limit` pending commands in
    /// queue order. `None` for an unknown device. Read in one go: this is every management
    /// message's read.
    async fn management_snapshot(
        &self,
        device_id: &str,
        certificate_serial: Option<&str>,
        pending_limit: u32,
    ) -> StoreResult<Option<ManagementSnapshot>>;
    /// Applies all changes of one handled message in one transaction. If a session was changed
    /// since it was read (version), a second session would be active, or a command is no longer
    /// in the state expected, nothing is applied and the result is [`StoreError::Conflict`]: the
    /// caller handles the message again from a fresh snapshot.
    async fn apply_message(&self, changes: &MessageChanges) -> StoreResult<()>;
    /// A device's sessions, newest first.
    async fn sessions_of_device(&self, device_id: &str, limit: u32)
    -> StoreResult<Vec<SessionRow>>;
    /// A session, or `None`.
    async fn session(&self, id: &str) -> StoreResult<Option<SessionRow>>;
    /// A session's messages in order.
    async fn session_messages(&self, id: &str) -> StoreResult<Vec<MessageRow>>;
    /// The commands a session carried.
    async fn session_deliveries(&self, id: &str) -> StoreResult<Vec<DeliveryRow>>;
    /// A device's inventory, by LocURI.
    async fn inventory_of_device(&self, device_id: &str) -> StoreResult<Vec<InventoryRow>>;
    /// Puts a device under investigation until `until` (every session keeps its messages;
    /// [`Device::record_sessions_until`]), or ends it (`None`). False if there is no such device.
    async fn set_recording(&self, device_id: &str, until: Option<i64>) -> StoreResult<bool>;
    /// Deletes up to `batch` ended sessions that started before `before` (with their messages
    /// and deliveries) and up to `batch` idle-session records from before it, in one
    /// transaction: the retention sweep calls it until it returns fewer than asked.
    async fn prune_sessions(&self, before: i64, batch: u32) -> StoreResult<Pruned>;
}

/// What one [`SessionStore::prune_sessions`] call deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Sessions (their messages and deliveries went with them).
    pub sessions: u64,
    /// Their messages.
    pub messages: u64,
    /// Idle-session records.
    pub idle_sessions: u64,
}

/// Push channels.
#[async_trait]
pub trait ChannelStore: Send + Sync {
    /// The device's channel, or `None` when nothing was ever recorded.
    async fn push_channel(&self, device_id: &str) -> StoreResult<Option<ChannelRow>>;
}

/// The push outbox: durable, claimed with a lease, worked by any node.
#[async_trait]
pub trait PushStore: Send + Sync {
    /// Queues a push to a device, due at `now` (or `min_interval_ms` after its last sent push, if
    /// later: a rate limit per channel), unless one is already queued for it (one wake-up is
    /// enough): returns whether a push was added.
    async fn enqueue_push(
        &self,
        id: &str,
        device_id: &str,
        reason: &str,
        now: i64,
        min_interval_ms: i64,
    ) -> StoreResult<bool>;
    /// Claims up to `limit` due pushes (queued and due, or claimed by a sender whose lease ran
    /// out) until `now + lease_ms`, counting an attempt. Two callers never claim the same push
    /// while a lease runs.
    async fn claim_pushes(&self, now: i64, lease_ms: i64, limit: u32) -> StoreResult<Vec<PushRow>>;
    /// Records how a claimed push ended.
    async fn finish_push(
        &self,
        id: &str,
        result: &PushResult,
        outcome: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// A device's pushes, newest first.
    async fn pushes_of_device(&self, device_id: &str, limit: u32) -> StoreResult<Vec<PushRow>>;
}

/// The app catalog and install requests.
#[async_trait]
pub trait AppStore: Send + Sync {
    /// Adds an app. A duplicate id is [`StoreError::Conflict`].
    async fn create_app(&self, app: &AppRow) -> StoreResult<()>;
    /// The app, or `None`.
    async fn app(&self, id: &str) -> StoreResult<Option<AppRow>>;
    /// All apps by name.
    async fn list_apps(&self) -> StoreResult<Vec<AppRow>>;
    /// Records an install request (its commands are queued separately, before).
    async fn create_install(&self, install: &InstallRow) -> StoreResult<()>;
    /// The install, or `None`.
    async fn install(&self, id: &str) -> StoreResult<Option<InstallRow>>;
    /// A device's installs, newest first.
    async fn installs_of_device(&self, device_id: &str) -> StoreResult<Vec<InstallRow>>;
}

/// The audit log of administrative actions.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an entry.
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Entries newest first, at most `limit`.
    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>>;
}

/// Everything Casement stores.
pub trait Store:
    UserStore
    + TokenStore
    + DeviceStore
    + CommandStore
    + SessionStore
    + ChannelStore
    + PushStore
    + AppStore
    + AuditStore
    + AdminStore
    + WebSessionStore
    + BrowseStore
    + ApiTokenStore
    + EventStore
    + ActionRequestStore
    + ProfileStore
{
}

impl<T> Store for T where
    T: UserStore
        + TokenStore
        + DeviceStore
        + CommandStore
        + SessionStore
        + ChannelStore
        + PushStore
        + AppStore
        + AuditStore
        + AdminStore
        + WebSessionStore
        + BrowseStore
        + ApiTokenStore
        + EventStore
        + ActionRequestStore
        + ProfileStore
{
}
