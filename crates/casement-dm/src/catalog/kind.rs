//! The kinds of request an administrator can make (`POST /api/v1/devices/{id}/commands`,
//! docs/product.md §4): the `kind` of a [`super::CommandRequest`], kept on every queued command so
//! that the API and the console can say what was asked for. Stored by its name.

use serde::{Deserialize, Serialize};

/// What an administrator asked for; one per variant of [`super::CommandRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommandKind {
    /// Read inventory sets.
    Inventory,
    /// Set a user's password.
    ResetPassword,
    /// Unenroll the device.
    Unenroll,
    /// Configure the WNS push channel.
    PushConfig,
    /// Install an application.
    AppInstall,
    /// Wipe the device.
    Wipe,
    /// Reboot the device.
    Reboot,
    /// Lock the device.
    Lock,
    /// Commands written by hand.
    Raw,
    /// A configuration profile's write, read-back or removal, queued by the core (issue 14).
    Profile,
}

impl CommandKind {
    /// Every kind.
    pub const ALL: [CommandKind; 10] = [
        CommandKind::Inventory,
        CommandKind::ResetPassword,
        CommandKind::Unenroll,
        CommandKind::PushConfig,
        CommandKind::AppInstall,
        CommandKind::Wipe,
        CommandKind::Reboot,
        CommandKind::Lock,
        CommandKind::Raw,
        CommandKind::Profile,
    ];

    /// The name in the API and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Inventory => "inventory",
            Self::ResetPassword => "reset-password",
            Self::Unenroll => "unenroll",
            Self::PushConfig => "push-config",
            Self::AppInstall => "app-install",
            Self::Wipe => "wipe",
            Self::Reboot => "reboot",
            Self::Lock => "lock",
            Self::Raw => "raw",
            Self::Profile => "profile",
        }
    }

    /// The kind for its name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for CommandKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name_and_serde() {
        for kind in CommandKind::ALL {
            assert_eq!(CommandKind::from_name(kind.as_str()), Some(kind));
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.as_str());
        }
        assert_eq!(CommandKind::from_name("erase"), None);
    }
}
