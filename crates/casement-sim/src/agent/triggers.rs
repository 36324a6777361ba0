//! What each event does to the user's session and which management session it starts: the
//! scheduled tasks of MDMAgent.exe (Windows 8.1) and their Windows 10/11 equivalent, as one table
//! ([`plan`]).
//!
//! Windows 8.1 (wsdevsol blog "Demystifying the operation modes of MDMAgent.exe", 2014):
//! `MDMMaintenanceTask` runs at reboot, at the enrolled user's logon and nightly at the maintenance
//! hour; `MDMAppInstallationTask` runs `MDMAgent.exe -App` when a WNS push arrives. Both run as
//! Local System and impersonate the enrolled user for user work; run by hand from a command
//! prompt, MDMAgent.exe cannot impersonate, so that work fails.
//!
//! | event | user after | Windows 8.1 `mode` | Windows 10/11 `mode` + LoginStatus | alert | user work |
//! |---|---|---|---|---|---|
//! | `reboot` | logged off | Machine | Machine + `none` | 1201 | fails (no user session) |
//! | `logon` | active | Maintenance | Maintenance + `user` | 1201 | impersonated |
//! | `logoff` | logged off | — | — | | |
//! | `lock` | locked (if logged on) | — | — | | |
//! | `unlock` | active (if locked) | — | — | | |
//! | `nightly`, user active/locked | unchanged | Maintenance | Maintenance + `user` | 1201 | impersonated |
//! | `nightly`, user logged off | unchanged | Machine | Machine + `none` | 1201 | fails (no user session) |
//! | `interactive`, user active/locked | unchanged | Maintenance | Maintenance + `user` | 1201 | fails (interactive run) |
//! | `interactive`, user logged off | unchanged | Maintenance | Maintenance + `others` | 1201 | fails (interactive run) |
//! | `push`, user active/locked | unchanged | Apps | Maintenance + `user` | 8.1: 1201, 10/11: 1200 | impersonated |
//! | `push`, user logged off | unchanged | Apps | Machine + `none` | 8.1: 1201, 10/11: 1200 | fails (no user session) |
//!
//! Choices where the record is silent (inferred, see the crate's report):
//! - an interactive run while the enrolled user is logged off is someone else at the console:
//!   Windows 10/11 say `others` (the server then treats the session as Machine);
//! - a Windows 8.1 push session starts with Alert 1201 (`mode=Apps` already says why it runs; no
//!   push-triggered capture exists, docs/protocol.md §6.11); Windows 10/11 say 1200
//!   (`Package1::push_triggered`);
//! - user work needs the enrolled user's logon session: in Machine context (or a push while the
//!   user is logged off) it fails like an interactive run.

use casement_dm::Context;
use serde::{Deserialize, Serialize};

use super::user::UserSession;
use crate::enroll::WindowsRelease;

/// Something that happens to the simulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// The machine restarts: the user is logged off, `MDMMaintenanceTask` runs (Machine).
    Reboot,
    /// The enrolled user logs on: `MDMMaintenanceTask` runs (Maintenance).
    Logon,
    /// The enrolled user logs off: no session.
    Logoff,
    /// The enrolled user locks the screen: no session.
    Lock,
    /// The enrolled user unlocks the screen: no session.
    Unlock,
    /// The nightly `MDMMaintenanceTask` run at the maintenance hour.
    Nightly,
    /// Someone runs `MDMAgent.exe` from a command prompt: Maintenance, no impersonation.
    Interactive,
    /// A WNS push arrived: `MDMAppInstallationTask` (`MDMAgent.exe -App`).
    Push,
}

impl Event {
    /// Every event, for exhaustive tests.
    pub const ALL: [Event; 8] = [
        Event::Reboot,
        Event::Logon,
        Event::Logoff,
        Event::Lock,
        Event::Unlock,
        Event::Nightly,
        Event::Interactive,
        Event::Push,
    ];

    /// The name used in scenarios and transcripts.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reboot => "reboot",
            Self::Logon => "logon",
            Self::Logoff => "logoff",
            Self::Lock => "lock",
            Self::Unlock => "unlock",
            Self::Nightly => "nightly",
            Self::Interactive => "interactive",
            Self::Push => "push",
        }
    }

    /// The event for its name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What started MDMAgent.exe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// `\Microsoft\Windows\EnterpriseMgmt\…\MDMMaintenanceTask` (reboot, logon, nightly).
    MaintenanceTask,
    /// `MDMAppInstallationTask`: `MDMAgent.exe -App` after a push.
    AppInstallationTask,
    /// `MDMAgent.exe` typed at a command prompt.
    CommandPrompt,
}

/// Whether the agent can act as the enrolled user in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserAccess {
    /// Local System impersonating the enrolled user's logon session: user work succeeds.
    Impersonated,
    /// The enrolled user has no logon session to impersonate: user work fails.
    NoUserSession,
    /// A manual run from a command prompt cannot impersonate (blog, "Manual operation"): user work
    /// fails.
    Interactive,
}

impl UserAccess {
    /// Whether user-scoped work (WNS channel, app install jobs, `./User/…`) can be done.
    pub const fn can_act_as_user(self) -> bool {
        matches!(self, Self::Impersonated)
    }
}

/// The LoginStatus client event Windows 10/11 put in package 1 (alert 1224,
/// `com.microsoft/MDM/LoginStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginAlert {
    /// The enrolled user is logged on.
    User,
    /// Another user is logged on.
    Others,
    /// Nobody is logged on.
    None,
}

impl LoginAlert {
    /// The alert's data on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Others => "others",
            Self::None => "none",
        }
    }
}

/// The management session an event starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPlan {
    /// What started the agent.
    pub task: Task,
    /// `?mode=` of every request of the session.
    pub mode: Context,
    /// Windows 10/11 only: the LoginStatus alert.
    pub login_status: Option<LoginAlert>,
    /// Package 1 starts with Alert 1200 (server-initiated: a push) instead of 1201.
    pub push_triggered: bool,
    /// Whether user work can be done.
    pub access: UserAccess,
}

/// What an event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The user's session afterwards.
    pub user_after: UserSession,
    /// The session started, if any.
    pub session: Option<SessionPlan>,
}

/// The table of the module documentation: what `event` does on a `platform` device whose
/// enrolled user is in state `user`. Pure; the nightly run's hour is checked by the caller.
pub fn plan(event: Event, user: UserSession, platform: WindowsRelease) -> Plan {
    let windows81 = platform == WindowsRelease::Windows81;
    let logged_on = user.is_logged_on();
    let user_after = match event {
        Event::Reboot | Event::Logoff => UserSession::LoggedOff,
        Event::Logon => UserSession::Active,
        Event::Lock => user.locked(),
        Event::Unlock => user.unlocked(),
        Event::Nightly | Event::Interactive | Event::Push => user,
    };
    // The user's state when the agent runs (after the event took effect).
    let on = user_after.is_logged_on();
    let session = match event {
        Event::Logoff | Event::Lock | Event::Unlock => None,
        Event::Reboot | Event::Logon | Event::Nightly => Some(SessionPlan {
            task: Task::MaintenanceTask,
            mode: if on {
                Context::Maintenance
            } else {
                Context::Machine
            },
            login_status: login(windows81, on),
            push_triggered: false,
            access: access(on),
        }),
        Event::Interactive => Some(SessionPlan {
            task: Task::CommandPrompt,
            mode: Context::Maintenance,
            login_status: (!windows81).then_some(if logged_on {
                LoginAlert::User
            } else {
                LoginAlert::Others
            }),
            push_triggered: false,
            access: UserAccess::Interactive,
        }),
        Event::Push => Some(SessionPlan {
            task: Task::AppInstallationTask,
            mode: match (windows81, on) {
                (true, _) => Context::Apps,
                (false, true) => Context::Maintenance,
                (false, false) => Context::Machine,
            },
            login_status: login(windows81, on),
            push_triggered: !windows81,
            access: access(on),
        }),
    };
    Plan {
        user_after,
        session,
    }
}

fn login(windows81: bool, logged_on: bool) -> Option<LoginAlert> {
    match (windows81, logged_on) {
        (true, _) => None,
        (false, true) => Some(LoginAlert::User),
        (false, false) => Some(LoginAlert::None),
    }
}

fn access(logged_on: bool) -> UserAccess {
    if logged_on {
        UserAccess::Impersonated
    } else {
        UserAccess::NoUserSession
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Context::{Apps, Machine, Maintenance};
    use UserSession::{Active, Locked, LoggedOff};

    type Row = (
        Event,
        UserSession,
        UserSession,
        Option<(Context, Option<LoginAlert>, bool, UserAccess)>,
    );

    /// Every event × user state × platform, written out.
    #[test]
    fn every_event_user_state_and_platform_maps_as_the_table_says() {
        use LoginAlert as L;
        use UserAccess::{Impersonated as Imp, Interactive as Int, NoUserSession as NoU};
        let windows81: Vec<Row> = vec![
            (
                Event::Reboot,
                LoggedOff,
                LoggedOff,
                Some((Machine, None, false, NoU)),
            ),
            (
                Event::Reboot,
                Active,
                LoggedOff,
                Some((Machine, None, false, NoU)),
            ),
            (
                Event::Reboot,
                Locked,
                LoggedOff,
                Some((Machine, None, false, NoU)),
            ),
            (
                Event::Logon,
                LoggedOff,
                Active,
                Some((Maintenance, None, false, Imp)),
            ),
            (
                Event::Logon,
                Active,
                Active,
                Some((Maintenance, None, false, Imp)),
            ),
            (
                Event::Logon,
                Locked,
                Active,
                Some((Maintenance, None, false, Imp)),
            ),
            (Event::Logoff, LoggedOff, LoggedOff, None),
            (Event::Logoff, Active, LoggedOff, None),
            (Event::Logoff, Locked, LoggedOff, None),
            (Event::Lock, LoggedOff, LoggedOff, None),
            (Event::Lock, Active, Locked, None),
            (Event::Lock, Locked, Locked, None),
            (Event::Unlock, LoggedOff, LoggedOff, None),
            (Event::Unlock, Active, Active, None),
            (Event::Unlock, Locked, Active, None),
            (
                Event::Nightly,
                LoggedOff,
                LoggedOff,
                Some((Machine, None, false, NoU)),
            ),
            (
                Event::Nightly,
                Active,
                Active,
                Some((Maintenance, None, false, Imp)),
            ),
            (
                Event::Nightly,
                Locked,
                Locked,
                Some((Maintenance, None, false, Imp)),
            ),
            (
                Event::Interactive,
                LoggedOff,
                LoggedOff,
                Some((Maintenance, None, false, Int)),
            ),
            (
                Event::Interactive,
                Active,
                Active,
                Some((Maintenance, None, false, Int)),
            ),
            (
                Event::Interactive,
                Locked,
                Locked,
                Some((Maintenance, None, false, Int)),
            ),
            (
                Event::Push,
                LoggedOff,
                LoggedOff,
                Some((Apps, None, false, NoU)),
            ),
            (Event::Push, Active, Active, Some((Apps, None, false, Imp))),
            (Event::Push, Locked, Locked, Some((Apps, None, false, Imp))),
        ];
        let windows10: Vec<Row> = vec![
            (
                Event::Reboot,
                LoggedOff,
                LoggedOff,
                Some((Machine, Some(L::None), false, NoU)),
            ),
            (
                Event::Reboot,
                Active,
                LoggedOff,
                Some((Machine, Some(L::None), false, NoU)),
            ),
            (
                Event::Reboot,
                Locked,
                LoggedOff,
                Some((Machine, Some(L::None), false, NoU)),
            ),
            (
                Event::Logon,
                LoggedOff,
                Active,
                Some((Maintenance, Some(L::User), false, Imp)),
            ),
            (
                Event::Logon,
                Active,
                Active,
                Some((Maintenance, Some(L::User), false, Imp)),
            ),
            (
                Event::Logon,
                Locked,
                Active,
                Some((Maintenance, Some(L::User), false, Imp)),
            ),
            (Event::Logoff, LoggedOff, LoggedOff, None),
            (Event::Logoff, Active, LoggedOff, None),
            (Event::Logoff, Locked, LoggedOff, None),
            (Event::Lock, LoggedOff, LoggedOff, None),
            (Event::Lock, Active, Locked, None),
            (Event::Lock, Locked, Locked, None),
            (Event::Unlock, LoggedOff, LoggedOff, None),
            (Event::Unlock, Active, Active, None),
            (Event::Unlock, Locked, Active, None),
            (
                Event::Nightly,
                LoggedOff,
                LoggedOff,
                Some((Machine, Some(L::None), false, NoU)),
            ),
            (
                Event::Nightly,
                Active,
                Active,
                Some((Maintenance, Some(L::User), false, Imp)),
            ),
            (
                Event::Nightly,
                Locked,
                Locked,
                Some((Maintenance, Some(L::User), false, Imp)),
            ),
            (
                Event::Interactive,
                LoggedOff,
                LoggedOff,
                Some((Maintenance, Some(L::Others), false, Int)),
            ),
            (
                Event::Interactive,
                Active,
                Active,
                Some((Maintenance, Some(L::User), false, Int)),
            ),
            (
                Event::Interactive,
                Locked,
                Locked,
                Some((Maintenance, Some(L::User), false, Int)),
            ),
            (
                Event::Push,
                LoggedOff,
                LoggedOff,
                Some((Machine, Some(L::None), true, NoU)),
            ),
            (
                Event::Push,
                Active,
                Active,
                Some((Maintenance, Some(L::User), true, Imp)),
            ),
            (
                Event::Push,
                Locked,
                Locked,
                Some((Maintenance, Some(L::User), true, Imp)),
            ),
        ];
        let expected_len = Event::ALL.len() * UserSession::ALL.len();
        assert_eq!(windows81.len(), expected_len);
        assert_eq!(windows10.len(), expected_len);
        for (platform, rows) in [
            (WindowsRelease::Windows81, &windows81),
            (WindowsRelease::Windows10, &windows10),
            (WindowsRelease::Windows11, &windows10),
        ] {
            for &(event, before, after, session) in rows {
                let got = plan(event, before, platform);
                let what = format!("{platform:?} {event} with the user {before}");
                assert_eq!(got.user_after, after, "{what}: user after");
                let got_session = got
                    .session
                    .map(|s| (s.mode, s.login_status, s.push_triggered, s.access));
                assert_eq!(got_session, session, "{what}: session");
            }
        }
    }

    #[test]
    fn tasks_name_what_started_the_agent() {
        let task = |e| {
            plan(e, Active, WindowsRelease::Windows81)
                .session
                .map(|s| s.task)
        };
        assert_eq!(task(Event::Reboot), Some(Task::MaintenanceTask));
        assert_eq!(task(Event::Logon), Some(Task::MaintenanceTask));
        assert_eq!(task(Event::Nightly), Some(Task::MaintenanceTask));
        assert_eq!(task(Event::Push), Some(Task::AppInstallationTask));
        assert_eq!(task(Event::Interactive), Some(Task::CommandPrompt));
        assert_eq!(task(Event::Lock), None);
    }

    #[test]
    fn event_names_round_trip() {
        for event in Event::ALL {
            assert_eq!(Event::from_name(event.as_str()), Some(event));
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(json, format!("\"{}\"", event.as_str()));
        }
        assert_eq!(Event::from_name("wait"), None);
    }
}
