//! What the device's management tree holds (serializable, kept in `agent.json`), the
//! environment a tree answers in, and Atomic snapshots. Node values, URIs and the shared
//! `./DevInfo` / `./DevDetail` nodes are in [`super::nodes`].
//!
//! The two trees ([`super::wmi::WmiTree`] for Windows 8.1, [`super::csp::CspTree`] for Windows
//! 10/11) borrow the agent's state for one session and answer the server's commands with the
//! status codes Windows gives: 404 unknown node, 405 operation not allowed on the node (read-only
//! property, Exec of something that is not a method, …), 418 Add of an existing node, 400 missing
//! or malformed data, and 500 (command failed) for user work that cannot impersonate the enrolled
//! user. Why 500 there: the node exists and the server may use it; what fails is the agent's call
//! to act as the user (Local System impersonating the user's logon session — impossible in a
//! command-prompt run or without a logon session), which surfaces as a failed WMI/CSP call, the
//! generic "command failed" of [MS-MDM]; 425 (permission denied) is the DM client's own ACL
//! check on a node, which does not apply (inferred: no capture of this failure exists).

use std::collections::BTreeMap;

use casement_dm::device::NodeValue;
use casement_syncml::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::AgentState;
use super::triggers::UserAccess;
use crate::state::EnrolledDevice;

/// The contents of the management tree that commands change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceData {
    /// Values the server wrote to settings nodes, by canonical URI (WMI-bridge properties of
    /// settings classes, CSP policies and other CSP settings).
    #[serde(default)]
    pub settings: BTreeMap<String, NodeValue>,
    /// Windows 8.1: `MDM_WNSConfiguration` instances by AppId, with their `MDM_WNSChannel`.
    #[serde(default)]
    pub wns: BTreeMap<String, WnsConfiguration>,
    /// Windows 10/11: DMClient `Provider/<id>/Push`.
    #[serde(default)]
    pub push: Option<DmClientPush>,
    /// App install jobs, oldest first.
    #[serde(default)]
    pub jobs: Vec<AppJob>,
    /// Installed apps.
    #[serde(default)]
    pub apps: Vec<InstalledApp>,
    /// Password resets (`MDM_Client.ResetUserPassword`), oldest first.
    #[serde(default)]
    pub password_resets: Vec<PasswordReset>,
    /// When the server asked the device to unenroll (`SendUnenrollRequest`, DMClient `Unenroll`).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub unenroll_requested: Option<OffsetDateTime>,
    /// Other methods run (LockWorkstation, RemoteWipe, Reboot, …), oldest first.
    #[serde(default)]
    pub executed: Vec<Executed>,
}

impl DeviceData {
    /// The most recent password reset.
    pub fn last_password_reset(&self) -> Option<&PasswordReset> {
        self.password_resets.last()
    }

    /// Completes the jobs that are running: their apps appear in the inventory. Called when
    /// the session that started them ends (the download and install happen after the sync).
    /// Returns how many completed.
    pub fn finish_jobs(&mut self, now: OffsetDateTime) -> usize {
        let mut done = 0;
        for job in &mut self.jobs {
            if job.state != JobState::InProgress {
                continue;
            }
            job.state = JobState::Completed;
            job.finished_at = Some(now);
            let app = InstalledApp::from_package(job.kind, job.scope, &job.package, now);
            self.apps.retain(|a| {
                !(a.kind == app.kind && a.family == app.family && a.scope == app.scope)
            });
            self.apps.push(app);
            done += 1;
        }
        done
    }
}

impl InstalledApp {
    /// The app a package name stands for: a package full name
    /// (`Name_Version_Arch_Resource_PublisherId`), a package family name (`Name_PublisherId`),
    /// or an MSI ProductID.
    pub fn from_package(kind: AppKind, scope: Scope, package: &str, now: OffsetDateTime) -> Self {
        let parts: Vec<&str> = package.split('_').collect();
        let (name, version, family, full_name) = match (kind, parts.as_slice()) {
            (AppKind::Msi, _) => (
                format!("Simulated MSI {package}"),
                "1.0.0".to_owned(),
                package.to_owned(),
                package.to_owned(),
            ),
            (_, [name, version, _arch, _res, publisher]) => (
                (*name).to_owned(),
                (*version).to_owned(),
                format!("{name}_{publisher}"),
                package.to_owned(),
            ),
            (_, [name, publisher]) => (
                (*name).to_owned(),
                "1.0.0.0".to_owned(),
                package.to_owned(),
                format!("{name}_1.0.0.0_x64__{publisher}"),
            ),
            _ => (
                package.to_owned(),
                "1.0.0.0".to_owned(),
                package.to_owned(),
                package.to_owned(),
            ),
        };
        let publisher = format!("CN={}", name.split('.').next().unwrap_or(&name));
        Self {
            kind,
            scope,
            family,
            full_name,
            name,
            version,
            publisher,
            installed_at: now,
        }
    }
}

/// A Windows 8.1 `MDM_WNSConfiguration` instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WnsConfiguration {
    /// `AppId` (the key).
    pub app_id: String,
    /// The WNS package family name from `UpdateConfiguration`'s ConfigString.
    pub pfn: String,
    /// When `UpdateConfiguration` last ran.
    #[serde(with = "time::serde::rfc3339")]
    pub configured_at: OffsetDateTime,
    /// The `MDM_WNSChannel` instance it created.
    pub channel: Option<WnsChannel>,
}

/// A push channel (Windows 8.1 `MDM_WNSChannel`; Windows 10/11 DMClient `Push/ChannelURI`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WnsChannel {
    /// The channel URI the server posts pushes to.
    pub uri: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it expires (WNS channels live 30 days).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Revoked by the WNS side (pushes to it are answered 410).
    #[serde(default)]
    pub revoked: bool,
}

/// Windows 10/11 DMClient push configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmClientPush {
    /// `Push/PFN`.
    pub pfn: String,
    /// The channel behind `Push/ChannelURI`.
    pub channel: WnsChannel,
}

/// Which kind of app install a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppKind {
    /// Windows 8.1 `MDM_AppInstallJob` (Store or sideloaded app).
    WmiJob,
    /// Windows 10/11 EnterpriseModernAppManagement (Store or hosted appx).
    Modern,
    /// Windows 10/11 EnterpriseDesktopAppManagement (MSI).
    Msi,
}

/// Whose an app or job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// The device (all users).
    Device,
    /// The enrolled user.
    User,
}

/// The state of an app install job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    /// Created, not run yet (a CSP node added, Exec not received).
    Created,
    /// Downloading and installing: the rest of the session that started it.
    InProgress,
    /// Installed: the app appears in the inventory.
    Completed,
    /// Failed.
    Failed,
}

/// An app install job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppJob {
    /// The job's id (8.1 `JobID`; the PFN or ProductID for CSP installs).
    pub id: String,
    /// Its kind.
    pub kind: AppKind,
    /// Device or user.
    pub scope: Scope,
    /// The package (8.1 PackageFullName, PFN, MSI ProductID).
    pub package: String,
    /// The job data as the server sent it.
    pub data: String,
    /// Its state.
    pub state: JobState,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it completed or failed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// An installed app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledApp {
    /// How it was installed.
    pub kind: AppKind,
    /// Device or user.
    pub scope: Scope,
    /// The package family name (MSI: the ProductID).
    pub family: String,
    /// The package full name (MSI: the ProductID).
    pub full_name: String,
    /// Display name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Publisher.
    pub publisher: String,
    /// When it was installed.
    #[serde(with = "time::serde::rfc3339")]
    pub installed_at: OffsetDateTime,
}

/// A password reset the server ordered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordReset {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The account (before `;` in the ConfigString).
    pub user: String,
    /// The new password (after `;`): a simulated device, so it is kept for tests to check.
    pub password: String,
}

/// A method run that leaves nothing else behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executed {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The node.
    pub uri: String,
    /// The data given.
    pub data: Option<String>,
}

/// What a tree answers with besides its contents.
#[derive(Debug, Clone, Copy)]
pub struct TreeEnv<'a> {
    /// The enrolled device.
    pub device: &'a EnrolledDevice,
    /// The simulated time.
    pub now: OffsetDateTime,
    /// Whether user work is possible in this run.
    pub access: UserAccess,
}

impl TreeEnv<'_> {
    /// `Err(500)` unless the agent can act as the enrolled user (see the module documentation).
    pub fn require_user(&self) -> Result<(), StatusCode> {
        if self.access.can_act_as_user() {
            Ok(())
        } else {
            Err(StatusCode::CommandFailed)
        }
    }
}

/// Atomic support shared by the trees: a copy of the state taken at `begin_atomic`, put back on
/// rollback.
#[derive(Debug, Default)]
pub struct Snapshot(Option<Box<AgentState>>);

impl Snapshot {
    /// Takes the copy (a nested Atomic keeps the outer one: [MS-MDM] forbids nesting and the
    /// session core answers it with 500 anyway).
    pub fn begin(&mut self, state: &AgentState) {
        if self.0.is_none() {
            self.0 = Some(Box::new(state.clone()));
        }
    }

    /// Drops the copy, or restores it when `commit` is false.
    pub fn end(&mut self, state: &mut AgentState, commit: bool) {
        if let Some(saved) = self.0.take()
            && !commit
        {
            *state = *saved;
        }
    }
}
