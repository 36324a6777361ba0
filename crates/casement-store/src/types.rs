//! Rows exchanged with storage.

use serde::{Deserialize, Serialize};

/// A user to create. `password_hash` is a PHC string (argon2id); the store never sees passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    /// New id.
    pub id: String,
    /// User principal name, e.g. `alice@contoso.com`.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// PHC-format password hash.
    pub password_hash: String,
    /// Creation time.
    pub created_at: i64,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: String,
    /// UPN.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// PHC-format password hash.
    #[serde(skip_serializing)]
    pub password_hash: String,
    /// Creation time.
    pub created_at: i64,
}

/// The Windows generation a device enrolled as (the one type every crate shares).
pub use casement_platform::Platform;

/// A device enrolling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDevice {
    /// The device ID: the CN of its certificate, `./DevInfo/DevId`.
    pub id: String,
    /// Platform.
    pub platform: Platform,
    /// The enrolled user's id.
    pub user_id: String,
    /// The enrolled user's UPN.
    pub upn: String,
    /// The enrolled user's SID, when the device reported it.
    pub user_sid: Option<String>,
    /// The device's name (AdditionalContext `DeviceName`).
    pub name: Option<String>,
    /// AdditionalContext items as sent (`OSVersion`, `OSEdition`, `HWDevID`, `MAC`, …).
    pub enrollment_context: Vec<(String, String)>,
    /// Enrollment time.
    pub enrolled_at: i64,
}

/// A certificate issued to a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCertificate {
    /// Serial, lowercase hex.
    pub serial_hex: String,
    /// The device.
    pub device_id: String,
    /// SHA-1 thumbprint, uppercase hex.
    pub thumbprint: String,
    /// Validity start.
    pub not_before: i64,
    /// Validity end.
    pub not_after: i64,
    /// PEM.
    pub pem: String,
    /// Issue time.
    pub issued_at: i64,
}

/// A stored certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Serial, lowercase hex.
    pub serial_hex: String,
    /// The device.
    pub device_id: String,
    /// SHA-1 thumbprint, uppercase hex.
    pub thumbprint: String,
    /// Validity start.
    pub not_before: i64,
    /// Validity end.
    pub not_after: i64,
    /// Issue time.
    pub issued_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// A stored device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Device ID.
    pub id: String,
    /// Platform.
    pub platform: Platform,
    /// Enrolled user's id.
    pub user_id: String,
    /// Enrolled user's UPN.
    pub upn: String,
    /// Enrolled user's SID.
    pub user_sid: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// AdditionalContext items from enrollment.
    pub enrollment_context: Vec<(String, String)>,
    /// First enrollment.
    pub enrolled_at: i64,
    /// Last (re-)enrollment or renewal.
    pub updated_at: i64,
    /// When it was retired (unenrolled), if it was.
    pub retired_at: Option<i64>,
    /// Why it was retired.
    pub retired_reason: Option<String>,
    /// When its last management session started.
    pub last_session_at: Option<i64>,
    /// The context of its last management session.
    pub last_context: Option<casement_dm::Context>,
    /// DevInfo values from its last package 1 (JSON object), if any.
    pub devinfo: Option<String>,
    /// Until when every session of the device keeps its messages (a device under
    /// investigation; docs/retention.md), if it was ever put under investigation.
    pub record_sessions_until: Option<i64>,
}

impl Device {
    /// A value of the enrollment context, by name (first occurrence).
    pub fn context_value(&self, name: &str) -> Option<&str> {
        self.enrollment_context
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Which devices to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFilter {
    /// Only this platform.
    pub platform: Option<Platform>,
    /// Only this user's devices.
    pub user_id: Option<String>,
    /// Include retired devices.
    pub include_retired: bool,
    /// Only ids greater than this (paging).
    pub after_id: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}
