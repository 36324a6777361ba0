//! How a session's context is determined from what the device says: the `mode` query value and
//! package 1 (docs/product.md §2).
//!
//! Rules, in order:
//! 1. `mode` is read case-insensitively. `Apps` → Apps. `Machine` → Machine.
//! 2. `Maintenance` → Maintenance, except: a Windows 10/11 LoginStatus alert saying `others` or
//!    `none` shows the enrolled user is not the one logged on → Machine; and a device that says the
//!    session was push-triggered (Alert 1200, server-initiated management) → Apps.
//! 3. A missing or unknown `mode` → Machine, the most restrictive context, unless the LoginStatus
//!    alert says `user` (the enrolled user is logged on), which proves a Maintenance session. An
//!    unknown value never fails the sync; it is recorded in the evidence.

use casement_syncml::{AlertCode, Command, SyncMl};
use serde::{Deserialize, Serialize};

use crate::context::Context;

/// The alert type of the Windows 10/11 login-status client event (alert 1224).
pub const LOGIN_STATUS_TYPE: &str = "com.microsoft/MDM/LoginStatus";

/// The `mode` query parameter as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum ModeParam {
    /// No `mode` parameter.
    Missing,
    /// `mode=Machine` (any case).
    Machine,
    /// `mode=Maintenance` (any case).
    Maintenance,
    /// `mode=Apps` (any case).
    Apps,
    /// Any other value, kept as received (truncated to 64 characters).
    Unknown(String),
}

impl ModeParam {
    /// Reads the parameter's value (already percent-decoded), case-insensitively.
    pub fn parse(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return Self::Missing;
        };
        let trimmed = value.trim();
        if trimmed.eq_ignore_ascii_case("machine") {
            Self::Machine
        } else if trimmed.eq_ignore_ascii_case("maintenance") {
            Self::Maintenance
        } else if trimmed.eq_ignore_ascii_case("apps") {
            Self::Apps
        } else {
            Self::Unknown(value.chars().take(64).collect())
        }
    }
}

/// The Windows 10/11 LoginStatus alert's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum LoginStatus {
    /// The enrolled user is logged on.
    User,
    /// Another user is logged on.
    Others,
    /// Nobody is logged on.
    None,
    /// Any other value, kept as received.
    Unknown(String),
}

impl LoginStatus {
    fn parse(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "user" => Self::User,
            "others" => Self::Others,
            "none" => Self::None,
            _ => Self::Unknown(value.chars().take(64).collect()),
        }
    }
}

/// What package 1 says about the session, read from its alerts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Package1Facts {
    /// The LoginStatus alert's value, if the device sent one (Windows 8.1 does not, as far as the
    /// public record shows).
    pub login_status: Option<LoginStatus>,
    /// Alert 1200 (server-initiated management): the device says a push started this session.
    pub server_initiated: bool,
    /// Alert 1201 (client-initiated management).
    pub client_initiated: bool,
}

impl Package1Facts {
    /// Reads the facts from the top-level alerts of a package-1 message.
    pub fn read(message: &SyncMl) -> Self {
        let mut facts = Self::default();
        for command in &message.body.commands {
            let Command::Alert(alert) = command else {
                continue;
            };
            match alert.code {
                AlertCode::ServerInitiatedMgmt => facts.server_initiated = true,
                AlertCode::ClientInitiatedMgmt => facts.client_initiated = true,
                AlertCode::ClientEvent => {
                    for item in &alert.items {
                        let is_login = item.meta.as_ref().and_then(|m| m.type_value())
                            == Some(LOGIN_STATUS_TYPE);
                        if let (true, Some(data)) = (is_login, &item.data) {
                            facts.login_status = Some(LoginStatus::parse(data.as_str()));
                        }
                    }
                }
                _ => {}
            }
        }
        facts
    }
}

/// Which rule decided the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContextReason {
    /// `mode` named the context and nothing contradicted it.
    ModeParameter,
    /// `mode=Maintenance`, but LoginStatus `others`/`none`: the enrolled user is not logged on.
    LoginStatusShowsNoEnrolledUser,
    /// `mode=Maintenance` and Alert 1200: the device says a push started the session.
    PushTriggered,
    /// No usable `mode`, but LoginStatus `user` proves the enrolled user's session.
    LoginStatusProvesUser,
    /// No `mode` parameter and no proof of a user session: the most restrictive context.
    MissingModeDefaultsToMachine,
    /// An unknown `mode` value and no proof of a user session: the most restrictive context.
    UnknownModeDefaultsToMachine,
}

/// The context of a session and the evidence it was determined from; recorded with the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextDecision {
    /// The context.
    pub context: Context,
    /// The rule that decided it.
    pub reason: ContextReason,
    /// The `mode` parameter as received.
    pub mode: ModeParam,
    /// What package 1 said.
    pub facts: Package1Facts,
}

impl ContextDecision {
    /// Applies the rules in the module documentation.
    pub fn decide(mode: ModeParam, facts: Package1Facts) -> Self {
        use ContextReason::*;
        let user_proven = facts.login_status == Some(LoginStatus::User);
        let no_enrolled_user = matches!(
            facts.login_status,
            Some(LoginStatus::Others | LoginStatus::None)
        );
        let (context, reason) = match &mode {
            ModeParam::Apps => (Context::Apps, ModeParameter),
            ModeParam::Machine => (Context::Machine, ModeParameter),
            ModeParam::Maintenance if no_enrolled_user => {
                (Context::Machine, LoginStatusShowsNoEnrolledUser)
            }
            ModeParam::Maintenance if facts.server_initiated => (Context::Apps, PushTriggered),
            ModeParam::Maintenance => (Context::Maintenance, ModeParameter),
            ModeParam::Missing | ModeParam::Unknown(_) if user_proven => {
                (Context::Maintenance, LoginStatusProvesUser)
            }
            ModeParam::Missing => (Context::Machine, MissingModeDefaultsToMachine),
            ModeParam::Unknown(_) => (Context::Machine, UnknownModeDefaultsToMachine),
        };
        Self {
            context,
            reason,
            mode,
            facts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(login: Option<LoginStatus>, server_initiated: bool) -> Package1Facts {
        Package1Facts {
            login_status: login,
            server_initiated,
            client_initiated: !server_initiated,
        }
    }

    #[test]
    fn mode_is_read_case_insensitively() {
        assert_eq!(
            ModeParam::parse(Some("Maintenance")),
            ModeParam::Maintenance
        );
        assert_eq!(ModeParam::parse(Some("MACHINE")), ModeParam::Machine);
        assert_eq!(ModeParam::parse(Some("apps")), ModeParam::Apps);
        assert_eq!(
            ModeParam::parse(Some("Sleepy")),
            ModeParam::Unknown("Sleepy".into())
        );
        assert_eq!(ModeParam::parse(None), ModeParam::Missing);
    }

    #[test]
    fn the_windows_8_1_modes_decide_alone() {
        for (mode, context) in [
            (ModeParam::Machine, Context::Machine),
            (ModeParam::Maintenance, Context::Maintenance),
            (ModeParam::Apps, Context::Apps),
        ] {
            let d = ContextDecision::decide(mode, facts(None, false));
            assert_eq!(
                (d.context, d.reason),
                (context, ContextReason::ModeParameter)
            );
        }
    }

    #[test]
    fn missing_or_unknown_mode_is_machine_unless_login_status_proves_the_user() {
        let d = ContextDecision::decide(ModeParam::Missing, facts(None, false));
        assert_eq!(
            (d.context, d.reason),
            (
                Context::Machine,
                ContextReason::MissingModeDefaultsToMachine
            )
        );
        let d = ContextDecision::decide(
            ModeParam::Unknown("x".into()),
            facts(Some(LoginStatus::Others), false),
        );
        assert_eq!(
            (d.context, d.reason),
            (
                Context::Machine,
                ContextReason::UnknownModeDefaultsToMachine
            )
        );
        let d = ContextDecision::decide(
            ModeParam::Unknown("x".into()),
            facts(Some(LoginStatus::User), false),
        );
        assert_eq!(
            (d.context, d.reason),
            (Context::Maintenance, ContextReason::LoginStatusProvesUser)
        );
    }

    #[test]
    fn windows_10_login_status_without_the_enrolled_user_is_machine() {
        for login in [LoginStatus::Others, LoginStatus::None] {
            let d = ContextDecision::decide(ModeParam::Maintenance, facts(Some(login), false));
            assert_eq!(
                (d.context, d.reason),
                (
                    Context::Machine,
                    ContextReason::LoginStatusShowsNoEnrolledUser
                )
            );
        }
        let d = ContextDecision::decide(
            ModeParam::Maintenance,
            facts(Some(LoginStatus::User), false),
        );
        assert_eq!(d.context, Context::Maintenance);
    }

    #[test]
    fn a_push_triggered_session_counts_as_apps_only_when_the_device_says_so() {
        let d =
            ContextDecision::decide(ModeParam::Maintenance, facts(Some(LoginStatus::User), true));
        assert_eq!(
            (d.context, d.reason),
            (Context::Apps, ContextReason::PushTriggered)
        );
        let d = ContextDecision::decide(
            ModeParam::Maintenance,
            facts(Some(LoginStatus::User), false),
        );
        assert_eq!(d.context, Context::Maintenance);
    }

    #[test]
    fn the_real_windows_10_package_1_reads_login_status_user() {
        let xml = include_str!("../testdata/win10-07-session1-client-msg1.xml");
        let facts = Package1Facts::read(&casement_syncml::parse(xml.as_bytes()).unwrap());
        assert_eq!(facts.login_status, Some(LoginStatus::User));
        assert!(facts.client_initiated && !facts.server_initiated);
    }
}
