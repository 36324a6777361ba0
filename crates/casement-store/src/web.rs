//! What the web portal and the administrators' console store and ask: administrator accounts,
//! signed-in browser sessions, failed sign-ins (for rate limiting), and the read-only queries the
//! pages need (a searchable, paged device list; sessions per context over time; a user's installs).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Device, InstallRow, Platform, Role, StoreResult};

/// An administrator account to create. `password_hash` is a PHC string (argon2id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAdmin {
    /// New id.
    pub id: String,
    /// Sign-in name (unique, compared case-insensitively).
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// PHC-format password hash.
    pub password_hash: String,
    /// What the account may do.
    pub role: Role,
    /// Creation time.
    pub created_at: i64,
}

/// A stored administrator account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admin {
    /// Id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// PHC-format password hash.
    #[serde(skip_serializing)]
    pub password_hash: String,
    /// What the account may do (accounts made before roles existed are administrators).
    pub role: Role,
    /// Creation time.
    pub created_at: i64,
}

/// Administrator accounts of the console (separate from the user directory and from the API's
/// admin token).
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Creates an account. A username that exists already (case-insensitively) is
    /// [`crate::StoreError::Conflict`].
    async fn create_admin(&self, admin: &NewAdmin) -> StoreResult<Admin>;
    /// The account with this username (case-insensitive), or `None`.
    async fn admin_by_username(&self, username: &str) -> StoreResult<Option<Admin>>;
    /// The account with this id, or `None`.
    async fn admin_by_id(&self, id: &str) -> StoreResult<Option<Admin>>;
    /// All accounts, by username.
    async fn list_admins(&self) -> StoreResult<Vec<Admin>>;
}

/// Who a browser session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebSessionKind {
    /// An end user of the portal (subject: a user id).
    Portal,
    /// An administrator of the console (subject: an admin id).
    Console,
}

impl WebSessionKind {
    /// Stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Portal => "portal",
            Self::Console => "console",
        }
    }

    /// From the stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "portal" => Some(Self::Portal),
            "console" => Some(Self::Console),
            _ => None,
        }
    }
}

/// A signed-in browser session. The cookie's value is never stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebSessionRow {
    /// SHA-256 (hex) of the cookie value.
    pub token_hash: String,
    /// Portal or console.
    pub kind: WebSessionKind,
    /// The user id (portal) or admin id (console).
    pub subject_id: String,
    /// The anti-forgery token every form and state-changing request of this session carries.
    pub csrf_token: String,
    /// Sign-in time.
    pub created_at: i64,
    /// After this the session is gone (absolute lifetime).
    pub expires_at: i64,
}

/// Browser sessions and failed sign-ins.
#[async_trait]
pub trait WebSessionStore: Send + Sync {
    /// Records a session. A token hash that exists already is [`crate::StoreError::Conflict`].
    async fn create_web_session(&self, session: &WebSessionRow) -> StoreResult<()>;
    /// The session with this token hash if it exists and has not expired at `now`; `None`
    /// otherwise (an expired session is never returned, even before it is purged).
    async fn web_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<WebSessionRow>>;
    /// Ends a session (sign-out). Unknown: no change.
    async fn delete_web_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Deletes sessions expired at `now` and failed sign-ins older than `failures_before`;
    /// returns how many sessions were deleted.
    async fn purge_web_sessions(&self, now: i64, failures_before: i64) -> StoreResult<u64>;
    /// Records a failed sign-in under `key` (e.g. `portal:alice@contoso.com`, `ip:127.0.0.1`).
    async fn record_login_failure(&self, key: &str, at: i64) -> StoreResult<()>;
    /// How many failed sign-ins `key` has at or after `since`.
    async fn login_failures_since(&self, key: &str, since: i64) -> StoreResult<u64>;
    /// Forgets the failed sign-ins of `key` (after a successful sign-in).
    async fn clear_login_failures(&self, key: &str) -> StoreResult<()>;
}

/// Which devices the console lists. Every field narrows the list; `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceQuery {
    /// Case-insensitive substring of the device ID, its name or its enrolled user's UPN.
    pub search: Option<String>,
    /// Only this platform.
    pub platform: Option<Platform>,
    /// Only devices whose last session ran in this context (`Machine`, `Maintenance`, `Apps`);
    /// `none` selects devices that never had a session.
    pub last_context: Option<String>,
    /// Only devices whose push channel is in this state; `unconfigured` includes devices with no
    /// channel recorded.
    pub channel_state: Option<String>,
    /// Only stale devices: no session at all, or the last one started before this time.
    pub stale_before: Option<i64>,
    /// Include retired devices.
    pub include_retired: bool,
    /// Keyset paging: only ids greater than this (the next page).
    pub after_id: Option<String>,
    /// Keyset paging: only ids smaller than this (the previous page); ignored with `after_id`.
    pub before_id: Option<String>,
    /// Page size (default 50, at most 500).
    pub limit: Option<u32>,
}

/// One row of the console's device list: the device and its channel state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceListRow {
    /// The device.
    pub device: Device,
    /// Its push channel's state (`None`: nothing recorded yet).
    pub channel_state: Option<crate::ChannelState>,
}

/// A page of devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePage {
    /// The devices of this page, ordered by id.
    pub rows: Vec<DeviceListRow>,
    /// How many devices match the query in all (every page).
    pub total: u64,
    /// Whether devices with a smaller id match (a previous page exists).
    pub has_before: bool,
    /// Whether devices with a greater id match (a next page exists).
    pub has_after: bool,
}

/// Sessions of one context started within one time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextCount {
    /// Start of the bucket (unix ms, a multiple of the bucket size).
    pub bucket_start: i64,
    /// The context.
    pub context: crate::Context,
    /// Sessions started.
    pub sessions: u64,
}

/// Active (not retired) devices counted for the dashboard, in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetCounts {
    /// Active devices.
    pub devices: u64,
    /// Of those, stale: no session, or none since the time asked about.
    pub stale: u64,
    /// Active devices per push channel state (`unconfigured` includes devices with no channel
    /// recorded), ordered by state name; states no device is in are absent.
    pub by_channel: Vec<(String, u64)>,
}

/// Read-only queries of the web pages.
#[async_trait]
pub trait BrowseStore: Send + Sync {
    /// A page of devices matching `query`, ordered by id, with the total count. Unknown filter
    /// values match nothing (they are not errors).
    async fn query_devices(&self, query: &DeviceQuery) -> StoreResult<DevicePage>;
    /// Active devices counted in all, stale (no session started at or after `stale_before`), and
    /// per channel state.
    async fn fleet_counts(&self, stale_before: i64) -> StoreResult<FleetCounts>;
    /// Sessions started at or after `since`, counted per context and per bucket of `bucket_ms`
    /// (buckets aligned to multiples of `bucket_ms` since the epoch), ordered by bucket then
    /// context. Empty buckets are not returned.
    async fn sessions_per_context(
        &self,
        since: i64,
        bucket_ms: i64,
    ) -> StoreResult<Vec<ContextCount>>;
    /// The installs on the devices of `user_id` (retired devices included), newest first, at
    /// most `limit`.
    async fn installs_of_user(&self, user_id: &str, limit: u32) -> StoreResult<Vec<InstallRow>>;
}
