//! The enrolled user's Windows session, as MDMAgent.exe sees it when a scheduled task starts.
//!
//! ```text
//!              logon                     lock
//!  LoggedOff ─────────▶ Active ◀───────────────────▶ Locked
//!      ▲      ◀─────────  │       unlock                │
//!      │      logoff      │                             │
//!      └──────────────────┴──── logoff / reboot ────────┘
//! ```
//!
//! A reboot always ends the session (the user has not logged on again yet when the maintenance
//! task runs). Locking a logged-off session or unlocking one that is not locked changes nothing.

use serde::{Deserialize, Serialize};

/// The enrolled user's session on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserSession {
    /// No session of the enrolled user: MDMAgent.exe can only sync in Machine context and cannot
    /// impersonate the user.
    #[default]
    LoggedOff,
    /// The enrolled user is logged on and using the device.
    Active,
    /// The enrolled user is logged on but has locked the screen. For MDMAgent.exe this is as
    /// good as Active: the nightly run syncs in Maintenance (blog: "active" includes locked).
    Locked,
}

impl UserSession {
    /// Every state, for exhaustive tests.
    pub const ALL: [UserSession; 3] = [
        UserSession::LoggedOff,
        UserSession::Active,
        UserSession::Locked,
    ];

    /// Whether the enrolled user has a logon session (active or locked).
    pub const fn is_logged_on(self) -> bool {
        matches!(self, Self::Active | Self::Locked)
    }

    /// The state after the screen is locked (no change unless Active).
    pub const fn locked(self) -> Self {
        match self {
            Self::Active | Self::Locked => Self::Locked,
            Self::LoggedOff => Self::LoggedOff,
        }
    }

    /// The state after the screen is unlocked (no change unless Locked).
    pub const fn unlocked(self) -> Self {
        match self {
            Self::Active | Self::Locked => Self::Active,
            Self::LoggedOff => Self::LoggedOff,
        }
    }

    /// The name used in files and transcripts.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LoggedOff => "logged-off",
            Self::Active => "active",
            Self::Locked => "locked",
        }
    }
}

impl std::fmt::Display for UserSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_and_unlock_only_apply_to_a_logged_on_user() {
        assert_eq!(UserSession::Active.locked(), UserSession::Locked);
        assert_eq!(UserSession::Locked.unlocked(), UserSession::Active);
        assert_eq!(UserSession::LoggedOff.locked(), UserSession::LoggedOff);
        assert_eq!(UserSession::LoggedOff.unlocked(), UserSession::LoggedOff);
        assert_eq!(UserSession::Active.unlocked(), UserSession::Active);
        assert!(UserSession::Locked.is_logged_on());
        assert!(!UserSession::LoggedOff.is_logged_on());
    }
}
