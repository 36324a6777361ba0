//! Team operations (issue 15): the roles accounts and tokens carry, personal API tokens, the
//! event log with its cursor, webhook endpoints and their durable delivery outbox.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{NewCertificate, NewDevice, StoreResult};

/// What an account or a token may do. The permissions each role grants are a table in the
/// server (`casement_server::authz`); storage only keeps the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Administrator,
    /// Commands, installs, apps, profiles, groups; no accounts, no tokens of others.
    Operator,
    /// Read, inventory, password reset, lock, reboot.
    Helpdesk,
    /// Read everything, change nothing.
    Auditor,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [
        Role::Administrator,
        Role::Operator,
        Role::Helpdesk,
        Role::Auditor,
    ];

    /// Stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "administrator",
            Self::Operator => "operator",
            Self::Helpdesk => "helpdesk",
            Self::Auditor => "auditor",
        }
    }

    /// From the stored or API name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// A personal API token as stored: never the token itself, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Id.
    pub id: String,
    /// A name for people ("ci deploy", "siem reader").
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Whose it is: an administrator account's username, or `service:<name>` for a service
    /// account.
    pub owner: String,
    /// SHA-256 (hex) of the token.
    #[serde(skip_serializing)]
    pub token_hash: String,
    /// Who created it (the audit actor).
    pub created_by: String,
    /// Created.
    pub created_at: i64,
    /// It stops working at this time.
    pub expires_at: i64,
    /// Revoked at, if it was.
    pub revoked_at: Option<i64>,
    /// Last request it authenticated (recorded at most once a minute).
    pub last_used_at: Option<i64>,
}

/// Personal API tokens.
#[async_trait]
pub trait ApiTokenStore: Send + Sync {
    /// Stores a token. A hash or id that exists already is [`crate::StoreError::Conflict`].
    async fn create_api_token(&self, token: &ApiToken) -> StoreResult<()>;
    /// The token whose hash this is, whatever its state (the caller checks expiry and
    /// revocation), or `None`.
    async fn api_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiToken>>;
    /// All tokens, newest first.
    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Revokes a token at `now`. Unknown: [`crate::StoreError::NotFound`]; already revoked: no
    /// change. Returns the token.
    async fn revoke_api_token(&self, id: &str, now: i64) -> StoreResult<ApiToken>;
    /// Records a use at `now` unless one was recorded after `now - min_interval_ms` (so a busy
    /// token does not write on every request).
    async fn touch_api_token(&self, id: &str, now: i64, min_interval_ms: i64) -> StoreResult<()>;
    /// Sets an administrator account's role. Unknown: [`crate::StoreError::NotFound`].
    async fn set_admin_role(&self, admin_id: &str, role: Role) -> StoreResult<()>;
}

/// An event to record (see [`EventStore::append_event`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Id (a UUID), the same in the pull API and in every webhook delivery.
    pub id: String,
    /// The kind's name (`device.enrolled`, `command.failed`, …).
    pub kind: String,
    /// When it happened.
    pub at: i64,
    /// The device it is about, if any.
    pub device_id: Option<String>,
    /// What else it is about (a command, an install, an account), if anything.
    pub subject: Option<String>,
    /// Details (JSON object).
    pub data: String,
    /// At most one event per key is recorded (a second append with the same key is no
    /// change), so recording "right after" a change can be repeated safely.
    pub dedupe_key: Option<String>,
}

/// A recorded event with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    /// Position in the log: strictly increasing in commit order (the cursor).
    pub seq: i64,
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// When.
    pub at: i64,
    /// Device.
    pub device_id: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Details (JSON object).
    pub data: String,
}

/// A webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRow {
    /// Id.
    pub id: String,
    /// `https://` URL the events are POSTed to.
    pub url: String,
    /// The HMAC-SHA256 key (kept as given: the server signs with it).
    #[serde(skip_serializing)]
    pub secret: String,
    /// The event kinds it gets; empty: every kind.
    pub kinds: Vec<String>,
    /// Who created it.
    pub created_by: String,
    /// Created.
    pub created_at: i64,
    /// Deleted at (deliveries stop; its log stays readable), if it was.
    pub deleted_at: Option<i64>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Due at `next_attempt_at`.
    Queued,
    /// Claimed by a sender until its lease runs out.
    Sending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up (attempts exhausted, or the endpoint was deleted or refused).
    Failed,
}

impl DeliveryState {
    /// Stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// From the stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Queued, Self::Sending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// Id.
    pub id: String,
    /// Endpoint.
    pub webhook_id: String,
    /// The event's place in the log.
    pub event_seq: i64,
    /// State.
    pub state: DeliveryState,
    /// Attempts made (counted when claimed).
    pub attempts: u32,
    /// When it is due (queued) or was last tried.
    pub next_attempt_at: i64,
    /// The last HTTP status the endpoint answered, if any.
    pub last_status: Option<i64>,
    /// The last failure in words, if any.
    pub last_error: Option<String>,
    /// Created.
    pub created_at: i64,
    /// Updated.
    pub updated_at: i64,
}

/// One attempt of a delivery, for the endpoint's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookAttempt {
    /// Delivery.
    pub delivery_id: String,
    /// Endpoint.
    pub webhook_id: String,
    /// 1 for the first.
    pub attempt: u32,
    /// When it ended.
    pub at: i64,
    /// HTTP status, if the endpoint answered.
    pub status: Option<i64>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// How a claimed delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// 2xx.
    Delivered,
    /// Try again at this time.
    Retry {
        /// When.
        at: i64,
    },
    /// Give up.
    Failed,
}

/// The event log, webhooks and their delivery outbox.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends an event and, in the same transaction, queues one delivery (due at `event.at`) for
    /// every webhook not deleted whose kinds include it. Events are numbered in commit order,
    /// so a reader paging with [`EventStore::events_after`] never skips one committed later
    /// with a smaller number. An event whose `dedupe_key` was recorded already is no change:
    /// returns `None`; otherwise its number.
    async fn append_event(&self, event: &NewEvent) -> StoreResult<Option<i64>>;
    /// Records an enrollment exactly as [`crate::DeviceStore::record_enrollment`] does and
    /// appends `event` (as [`EventStore::append_event`]) in the same transaction: both or
    /// neither.
    async fn record_enrollment_with_event(
        &self,
        device: &NewDevice,
        certificate: &NewCertificate,
        event: &NewEvent,
    ) -> StoreResult<()>;
    /// Events with a number greater than `after`, in order, at most `limit`.
    async fn events_after(&self, after: i64, limit: u32) -> StoreResult<Vec<EventRow>>;
    /// The event with this number, or `None`.
    async fn event(&self, seq: i64) -> StoreResult<Option<EventRow>>;
    /// Adds a webhook. A duplicate id is [`crate::StoreError::Conflict`].
    async fn create_webhook(&self, webhook: &WebhookRow) -> StoreResult<()>;
    /// The webhook (deleted ones too), or `None`.
    async fn webhook(&self, id: &str) -> StoreResult<Option<WebhookRow>>;
    /// Webhooks not deleted, oldest first.
    async fn list_webhooks(&self) -> StoreResult<Vec<WebhookRow>>;
    /// Deletes a webhook at `now`: its queued deliveries fail. Unknown or deleted already:
    /// [`crate::StoreError::NotFound`].
    async fn delete_webhook(&self, id: &str, now: i64) -> StoreResult<()>;
    /// Claims up to `limit` due deliveries (queued and due, or sending with a lease run out)
    /// until `now + lease_ms`, counting an attempt. Two callers never claim the same delivery
    /// while a lease runs.
    async fn claim_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>>;
    /// Records how a claimed delivery's attempt ended, and the attempt in the log, in one
    /// transaction. A delivery no longer `sending` (its lease ran out and another sender took
    /// it) is not changed; the attempt is logged all the same.
    async fn finish_delivery(
        &self,
        id: &str,
        result: &DeliveryResult,
        attempt: &WebhookAttempt,
        now: i64,
    ) -> StoreResult<()>;
    /// A webhook's deliveries, newest first, at most `limit`.
    async fn deliveries_of_webhook(
        &self,
        webhook_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>>;
    /// A webhook's attempts, newest first, at most `limit`.
    async fn attempts_of_webhook(
        &self,
        webhook_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<WebhookAttempt>>;
}
