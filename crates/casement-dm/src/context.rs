//! The operation contexts of a management session and the policy that says which command classes
//! each context may carry — the heart of Casement (docs/product.md §2).
//!
//! Windows 8.1's MDMAgent.exe syncs in three contexts and names the one it runs in with
//! `?mode=Machine|Maintenance|Apps` (wsdevsol blog "Demystifying the operation modes of
//! MDMAgent.exe", 2014; [MS-MDM] §2.1 lists Machine and Maintenance). In `Machine` the enrolled
//! user is not logged on, so nothing that impersonates the user may be sent: only inventory,
//! password reset and unenrollment. Push-channel configuration needs the user: `Maintenance` only.

use serde::{Deserialize, Serialize};

use crate::device::Platform;

/// The context a management session runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Context {
    /// System context, the enrolled user not logged on (after a reboot, or nightly with the user
    /// logged off). The most restrictive context.
    Machine,
    /// The enrolled user is logged on (active or locked): logon and nightly runs.
    Maintenance,
    /// Started by a WNS push to install an app (`MDMAgent.exe -App`).
    Apps,
}

impl Context {
    /// Every context, in table order.
    pub const ALL: [Context; 3] = [Context::Machine, Context::Maintenance, Context::Apps];

    /// The name used on the wire and shown to administrators.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Machine => "Machine",
            Self::Maintenance => "Maintenance",
            Self::Apps => "Apps",
        }
    }

    /// The context for its name (as [`Self::as_str`] writes it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a command does, as far as the context rule cares. A command's class is declared when it is
/// queued (for raw commands by the administrator); it is never guessed from its LocURI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommandClass {
    /// `Get` of `./DevInfo/*`, `./DevDetail/*`, WMI-bridge inventory classes, `MDM_Client` properties.
    Inventory,
    /// `MDM_Client…/Exec=ResetUserPassword`.
    PasswordReset,
    /// `MDM_Client…/Exec=SendUnenrollRequest`; Windows 10/11 DMClient `Unenroll`.
    Unenrollment,
    /// `MDM_WNSConfiguration…/Exec=UpdateConfiguration`, reading `MDM_WNSChannel`; DMClient `Push/*`.
    PushConfiguration,
    /// App install jobs and application inventory (`MDM_AppInstallJob`, `MDM_Application`,
    /// EnterpriseModernAppManagement, EnterpriseDesktopAppManagement).
    AppManagement,
    /// Everything else that configures the device: `MDM_EASPolicy`, `MDM_ConfigSetting`,
    /// device-scoped CSP policies (`./Device/…`, `./Vendor/…`), device profiles.
    Settings,
    /// Settings of the enrolled user: `./User/…` CSP nodes, user profiles (issue 14). On
    /// Windows 10/11 they need the enrolled user signed in: a Maintenance session.
    UserSettings,
    /// Wipe the device: Windows 10/11 RemoteWipe CSP `doWipe*` (issue 15 part 1). An
    /// acknowledged wipe retires the device.
    Wipe,
    /// Reboot the device: Windows 10/11 Reboot CSP `RebootNow`, `Schedule/Single`.
    Reboot,
    /// Lock the device: Windows 8.1 `MDM_Client.LockWorkstation`, Windows 10/11 RemoteLock CSP.
    Lock,
}

impl CommandClass {
    /// Every class, in table order.
    pub const ALL: [CommandClass; 10] = [
        CommandClass::Inventory,
        CommandClass::PasswordReset,
        CommandClass::Unenrollment,
        CommandClass::PushConfiguration,
        CommandClass::AppManagement,
        CommandClass::Settings,
        CommandClass::UserSettings,
        CommandClass::Wipe,
        CommandClass::Reboot,
        CommandClass::Lock,
    ];

    /// The name used in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Inventory => "inventory",
            Self::PasswordReset => "password-reset",
            Self::Unenrollment => "unenrollment",
            Self::PushConfiguration => "push-configuration",
            Self::AppManagement => "app-management",
            Self::Settings => "settings",
            Self::UserSettings => "user-settings",
            Self::Wipe => "wipe",
            Self::Reboot => "reboot",
            Self::Lock => "lock",
        }
    }

    /// True for the device actions (wipe, reboot, lock): device-scoped work of a class of its own
    /// (docs/product.md §2, "The table is per platform").
    pub const fn is_device_action(self) -> bool {
        matches!(self, Self::Wipe | Self::Reboot | Self::Lock)
    }

    /// True for the classes whose commands MDMAgent.exe runs impersonating the enrolled user on
    /// Windows 8.1 (WNS channel management, app install jobs): they fail in an interactive run,
    /// which cannot impersonate (docs/product.md §2), and are retried in a later session.
    pub const fn impersonates_user(self) -> bool {
        matches!(self, Self::PushConfiguration | Self::AppManagement)
    }

    /// The class for its API name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for CommandClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which command classes each context may carry: one table per platform, used by the session
/// core to select commands and by the UI to say what a pending command waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextPolicy {
    /// `allowed[class][context]`, indexed in [`CommandClass::ALL`] × [`Context::ALL`] order.
    allowed: [[bool; 3]; 10],
}

impl ContextPolicy {
    /// The Windows 8.1 table: MDMAgent.exe's rule (docs/product.md §2, from the MDMAgent.exe blog).
    /// Machine carries only inventory, password reset and unenrollment; the device actions are
    /// not among them (a lock needs the enrolled user's session to lock; wipe and reboot have no
    /// 8.1 method and are refused by the catalog, their row only says where they would go).
    ///
    /// | class | Machine | Maintenance | Apps |
    /// |---|---|---|---|
    /// | inventory | yes | yes | yes |
    /// | password reset | yes | yes | no |
    /// | unenrollment | yes | yes | no |
    /// | push configuration | no | yes | no |
    /// | app management | no | yes | yes |
    /// | settings and policies | no | yes | no |
    /// | user settings | no | yes | no |
    /// | wipe, reboot, lock | no | yes | no |
    pub const WINDOWS_81: ContextPolicy = ContextPolicy {
        allowed: [
            // Machine, Maintenance, Apps
            [true, true, true],   // inventory
            [true, true, false],  // password reset
            [true, true, false],  // unenrollment
            [false, true, false], // push configuration
            [false, true, true],  // app management
            [false, true, false], // settings
            [false, true, false], // user settings
            [false, true, false], // wipe
            [false, true, false], // reboot
            [false, true, false], // lock
        ],
    };

    /// The Windows 10/11 table. The DM client always runs as SYSTEM, so device-scoped work —
    /// device settings and profiles (`./Device/…`, `./Vendor/…`), push configuration (DMClient
    /// `Push/*`, a device node) and the device actions (RemoteWipe, Reboot, RemoteLock) — may go
    /// in any session, a session without a user included. User-scoped settings (`./User/…`) need
    /// the enrolled user: a `Maintenance` session, which on 10/11 means LoginStatus `user`
    /// (LoginStatus `others`/`none` makes the session Machine, [`crate::evidence`]). App
    /// management keeps the 8.1 row: an install's class does not yet say whether it targets
    /// `./User` or `./Device` (docs/product.md §2).
    ///
    /// | class | Machine | Maintenance | Apps |
    /// |---|---|---|---|
    /// | inventory | yes | yes | yes |
    /// | password reset | yes | yes | no |
    /// | unenrollment | yes | yes | no |
    /// | push configuration | yes | yes | yes |
    /// | app management | no | yes | yes |
    /// | settings and policies (device) | yes | yes | yes |
    /// | user settings | no | yes | no |
    /// | wipe, reboot, lock | yes | yes | yes |
    pub const WINDOWS_10: ContextPolicy = ContextPolicy {
        allowed: [
            // Machine, Maintenance, Apps
            [true, true, true],   // inventory
            [true, true, false],  // password reset
            [true, true, false],  // unenrollment
            [true, true, true],   // push configuration
            [false, true, true],  // app management
            [true, true, true],   // settings
            [false, true, false], // user settings
            [true, true, true],   // wipe
            [true, true, true],   // reboot
            [true, true, true],   // lock
        ],
    };

    /// The Windows 8.1 table, the strictest of the two; where the platform is known use
    /// [`Self::for_platform`].
    pub const WINDOWS: ContextPolicy = Self::WINDOWS_81;

    /// The table of a platform.
    pub const fn for_platform(platform: Platform) -> ContextPolicy {
        match platform {
            Platform::Windows81 => Self::WINDOWS_81,
            Platform::Windows10 => Self::WINDOWS_10,
        }
    }

    /// May a session in `context` carry a command of `class`?
    pub const fn allows(&self, class: CommandClass, context: Context) -> bool {
        self.allowed[class.index()][context.index()]
    }

    /// The contexts whose sessions may carry `class`, in table order.
    pub fn contexts_for(&self, class: CommandClass) -> Vec<Context> {
        Context::ALL
            .into_iter()
            .filter(|&c| self.allows(class, c))
            .collect()
    }

    /// What a command of `class` that the current `context` may not carry waits for; `None` when
    /// the context allows it.
    pub fn waits_for(&self, class: CommandClass, context: Context) -> Option<WaitsFor> {
        if self.allows(class, context) {
            return None;
        }
        Some(WaitsFor {
            contexts: self.contexts_for(class),
        })
    }
}

impl Default for ContextPolicy {
    fn default() -> Self {
        Self::WINDOWS
    }
}

/// The sessions a pending command waits for, shown to administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitsFor {
    /// The contexts that may carry it (never empty for the [`ContextPolicy::WINDOWS`] table).
    pub contexts: Vec<Context>,
}

impl std::fmt::Display for WaitsFor {
    /// "waits for a Maintenance session", "waits for a Maintenance or Apps session".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.contexts.iter().map(|c| c.as_str()).collect();
        if self.contexts.len() == Context::ALL.len() {
            return f.write_str("waits for the next session");
        }
        match names.as_slice() {
            [] => f.write_str("waits for a session no context allows"),
            [one] => write!(f, "waits for a {one} session"),
            [rest @ .., last] => write!(f, "waits for a {} or {last} session", rest.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CommandClass::*;
    use Context::*;

    /// Every class × context pair, written out so that a change to the table is a visible change here.
    #[test]
    fn the_windows_table_holds_for_every_class_and_context() {
        let expected = [
            (Inventory, Machine, true),
            (Inventory, Maintenance, true),
            (Inventory, Apps, true),
            (PasswordReset, Machine, true),
            (PasswordReset, Maintenance, true),
            (PasswordReset, Apps, false),
            (Unenrollment, Machine, true),
            (Unenrollment, Maintenance, true),
            (Unenrollment, Apps, false),
            (PushConfiguration, Machine, false),
            (PushConfiguration, Maintenance, true),
            (PushConfiguration, Apps, false),
            (AppManagement, Machine, false),
            (AppManagement, Maintenance, true),
            (AppManagement, Apps, true),
            (Settings, Machine, false),
            (Settings, Maintenance, true),
            (Settings, Apps, false),
            (UserSettings, Machine, false),
            (UserSettings, Maintenance, true),
            (UserSettings, Apps, false),
            (Wipe, Machine, false),
            (Wipe, Maintenance, true),
            (Wipe, Apps, false),
            (Reboot, Machine, false),
            (Reboot, Maintenance, true),
            (Reboot, Apps, false),
            (Lock, Machine, false),
            (Lock, Maintenance, true),
            (Lock, Apps, false),
        ];
        assert_eq!(expected.len(), CommandClass::ALL.len() * Context::ALL.len());
        for (class, context, allowed) in expected {
            assert_eq!(
                ContextPolicy::WINDOWS_81.allows(class, context),
                allowed,
                "{class} in {context}"
            );
        }
    }

    /// The Windows 10/11 table, every pair written out: device-scoped work (device settings,
    /// push configuration, the device actions) goes in any session, user settings need a
    /// Maintenance session, the rest keeps its 8.1 row.
    #[test]
    fn the_windows_10_table_holds_for_every_class_and_context() {
        let expected = [
            (Inventory, Machine, true),
            (Inventory, Maintenance, true),
            (Inventory, Apps, true),
            (PasswordReset, Machine, true),
            (PasswordReset, Maintenance, true),
            (PasswordReset, Apps, false),
            (Unenrollment, Machine, true),
            (Unenrollment, Maintenance, true),
            (Unenrollment, Apps, false),
            (PushConfiguration, Machine, true),
            (PushConfiguration, Maintenance, true),
            (PushConfiguration, Apps, true),
            (AppManagement, Machine, false),
            (AppManagement, Maintenance, true),
            (AppManagement, Apps, true),
            (Settings, Machine, true),
            (Settings, Maintenance, true),
            (Settings, Apps, true),
            (UserSettings, Machine, false),
            (UserSettings, Maintenance, true),
            (UserSettings, Apps, false),
            (Wipe, Machine, true),
            (Wipe, Maintenance, true),
            (Wipe, Apps, true),
            (Reboot, Machine, true),
            (Reboot, Maintenance, true),
            (Reboot, Apps, true),
            (Lock, Machine, true),
            (Lock, Maintenance, true),
            (Lock, Apps, true),
        ];
        assert_eq!(expected.len(), CommandClass::ALL.len() * Context::ALL.len());
        for (class, context, allowed) in expected {
            assert_eq!(
                ContextPolicy::WINDOWS_10.allows(class, context),
                allowed,
                "{class} in {context}"
            );
        }
        // What stays as on 8.1: work that may need the enrolled user.
        for class in [
            Inventory,
            PasswordReset,
            Unenrollment,
            AppManagement,
            UserSettings,
        ] {
            for context in Context::ALL {
                assert_eq!(
                    ContextPolicy::WINDOWS_10.allows(class, context),
                    ContextPolicy::WINDOWS_81.allows(class, context),
                    "{class} in {context}"
                );
            }
        }
    }

    #[test]
    fn the_policy_is_chosen_by_platform() {
        assert_eq!(
            ContextPolicy::for_platform(Platform::Windows81),
            ContextPolicy::WINDOWS_81
        );
        assert_eq!(
            ContextPolicy::for_platform(Platform::Windows10),
            ContextPolicy::WINDOWS_10
        );
        assert_eq!(ContextPolicy::WINDOWS_10.waits_for(Wipe, Machine), None);
        assert_eq!(
            ContextPolicy::WINDOWS_81
                .waits_for(Wipe, Machine)
                .unwrap()
                .to_string(),
            "waits for a Maintenance session"
        );
        assert_eq!(
            WaitsFor {
                contexts: ContextPolicy::WINDOWS_10.contexts_for(Lock)
            }
            .to_string(),
            "waits for the next session"
        );
    }

    #[test]
    fn machine_carries_only_inventory_password_reset_and_unenrollment() {
        let carried: Vec<_> = CommandClass::ALL
            .into_iter()
            .filter(|&c| ContextPolicy::WINDOWS.allows(c, Machine))
            .collect();
        assert_eq!(carried, [Inventory, PasswordReset, Unenrollment]);
    }

    #[test]
    fn push_configuration_is_carried_only_in_maintenance() {
        assert_eq!(
            ContextPolicy::WINDOWS.contexts_for(PushConfiguration),
            [Maintenance]
        );
    }

    #[test]
    fn every_class_has_some_context_that_carries_it() {
        for policy in [ContextPolicy::WINDOWS_81, ContextPolicy::WINDOWS_10] {
            for class in CommandClass::ALL {
                assert!(!policy.contexts_for(class).is_empty(), "{class}");
            }
        }
    }

    #[test]
    fn waits_for_names_the_contexts_in_words() {
        let policy = ContextPolicy::WINDOWS;
        assert_eq!(
            policy
                .waits_for(PushConfiguration, Machine)
                .unwrap()
                .to_string(),
            "waits for a Maintenance session"
        );
        assert_eq!(
            policy
                .waits_for(AppManagement, Machine)
                .unwrap()
                .to_string(),
            "waits for a Maintenance or Apps session"
        );
        assert_eq!(
            policy.waits_for(PasswordReset, Apps).unwrap().to_string(),
            "waits for a Machine or Maintenance session"
        );
        assert_eq!(policy.waits_for(Inventory, Apps), None);
        for class in CommandClass::ALL {
            for context in Context::ALL {
                assert_eq!(
                    policy.waits_for(class, context).is_none(),
                    policy.allows(class, context)
                );
            }
        }
    }

    #[test]
    fn class_names_round_trip() {
        for class in CommandClass::ALL {
            assert_eq!(CommandClass::from_name(class.as_str()), Some(class));
        }
        assert_eq!(CommandClass::from_name("guess"), None);
    }
}
