//! Storage as the rest of Casement sees it: small role-named traits whose doc comments state the
//! contract, composed into [`Store`]. No driver is named here; each backend (SQLite, PostgreSQL)
//! implements the traits and passes the same story test.
//!
//! Times are unix milliseconds (`i64`). Ids are text.

mod error;
mod types;

pub use error::StoreError;
pub use types::*;

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

/// Everything Casement stores.
pub trait Store: UserStore + TokenStore + DeviceStore {}

impl<T: UserStore + TokenStore + DeviceStore> Store for T {}
