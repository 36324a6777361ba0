//! The simulated MDMAgent.exe: a device's user session, scheduled tasks, management tree and
//! OMA-DM sessions (docs/product.md §5).
//!
//! An [`Agent`] is an enrolled device ([`EnrolledDevice`], `device.json`) plus its agent state
//! ([`AgentState`], `agent.json` in the same directory). Events ([`Event`]) change the enrolled
//! user's session and start the session the real scheduled task would start, with the `mode`
//! the blog describes ([`triggers`]); the session runs over HTTPS with the device's client
//! certificate ([`session`]) and is answered from the platform's tree ([`wmi`] for Windows 8.1,
//! [`csp`] for Windows 10/11).
//!
//! ```no_run
//! # async fn run() -> Result<(), casement_sim::agent::AgentError> {
//! use casement_sim::agent::{Agent, Event};
//! let dir = std::path::Path::new("devices/ann");
//! let mut agent = Agent::load(dir)?;
//! let now = time::OffsetDateTime::now_utc();
//! let entry = agent.event(Event::Logon, now).await;
//! println!("{}", serde_json::to_string_pretty(&entry).unwrap());
//! agent.save(dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! Simulation choices (each documented where it lives): app install jobs complete when the
//! session that started them ends; after a server-ordered unenrollment (`SendUnenrollRequest`,
//! DMClient `Unenroll`) the device stops syncing; Windows 10/11 renew the push channel when 15
//! days or fewer remain, as DMClient does.

pub mod clock;
pub mod csp;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod nodes;
pub mod session;
pub mod tree;
pub mod triggers;
pub mod user;
pub mod wmi;

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

pub use clock::{MaintenanceWindow, SimClock};
pub use tree::DeviceData;
pub use triggers::{Event, LoginAlert, Plan, SessionPlan, Task, UserAccess};
pub use user::UserSession;

use crate::http::{HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError};
use crate::state::{EnrolledDevice, StateError};
use crate::transcript::{Outcome, SessionTranscript};
use tree::WnsChannel;

/// `agent.json`, next to `device.json`.
pub const AGENT_FILE: &str = "agent.json";
/// Version of the `agent.json` format.
pub const AGENT_FORMAT: u32 = 1;
/// Port of the WNS-compatible endpoint the simulator will host (default channel URIs point
/// there).
pub const DEFAULT_WNS_PORT: u16 = 8444;
/// Windows 10/11 DMClient renews the channel when this little of its life remains
/// (ITPRO push-notification-windows-mdm.md).
pub const CHANNEL_RENEWAL: Duration = Duration::days(15);

/// The default WNS endpoint base URL: `https://127.0.0.1:8444/wns/channel`; channel URIs are
/// `<base>/<device id>`.
pub fn default_wns_endpoint() -> String {
    format!("https://127.0.0.1:{DEFAULT_WNS_PORT}/wns/channel")
}

/// Everything the agent keeps between events (`agent.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    /// [`AGENT_FORMAT`].
    pub format: u32,
    /// The enrolled user's session.
    pub user: UserSession,
    /// The enrolled user's SID (derived from the device ID).
    pub user_sid: String,
    /// The device's clock: the time of the last event (never goes back).
    #[serde(with = "time::serde::rfc3339")]
    pub clock: OffsetDateTime,
    /// The nightly maintenance hour and the local time offset.
    #[serde(default)]
    pub maintenance: MaintenanceWindow,
    /// The SessionID of the next session (decimal, incremented per session like Windows
    /// desktop; wraps to 1).
    pub next_session_id: u32,
    /// Last boot (`Win32_OperatingSystem.LastBootUpTime`).
    #[serde(with = "time::serde::rfc3339")]
    pub last_boot: OffsetDateTime,
    /// Last nightly run.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_nightly: Option<OffsetDateTime>,
    /// When the device unenrolled (it no longer syncs).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub unenrolled_at: Option<OffsetDateTime>,
    /// Base URL of channel URIs (the WNS-compatible endpoint).
    pub wns_endpoint: String,
    /// PEM of the server's TLS certificate to trust (`None`: the platform trust store).
    #[serde(default)]
    pub server_tls_pem: Option<String>,
    /// The accelerable clock the CLI uses to compute `now`, if any.
    #[serde(default)]
    pub sim_clock: Option<SimClock>,
    /// The management tree's contents.
    #[serde(default)]
    pub tree: DeviceData,
}

impl AgentState {
    /// The state right after enrollment: the user who enrolled is logged on, the machine booted
    /// an hour ago, SessionID 1 next.
    pub fn new(device: &EnrolledDevice, now: OffsetDateTime) -> Self {
        Self {
            format: AGENT_FORMAT,
            user: UserSession::Active,
            user_sid: nodes::user_sid_for(&device.device_id),
            clock: now,
            maintenance: MaintenanceWindow::default(),
            next_session_id: 1,
            last_boot: now - Duration::hours(1),
            last_nightly: None,
            unenrolled_at: None,
            wns_endpoint: default_wns_endpoint(),
            server_tls_pem: None,
            sim_clock: None,
            tree: DeviceData::default(),
        }
    }

    /// Takes the next SessionID.
    pub fn take_session_id(&mut self) -> u32 {
        let id = self.next_session_id.max(1);
        self.next_session_id = id.checked_add(1).unwrap_or(1);
        id
    }
}

/// The agent state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// `device.json` or its PEM files.
    #[error(transparent)]
    Device(#[from] StateError),
    /// A file operation on `agent.json` failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `agent.json` is not an agent state.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
}

/// A simulated MDMAgent.exe on one enrolled device.
#[derive(Debug)]
pub struct Agent {
    device: EnrolledDevice,
    state: AgentState,
    transport: Option<ReqwestTransport>,
}

impl Agent {
    /// A freshly enrolled device's agent (see [`AgentState::new`]).
    pub fn new(device: EnrolledDevice, now: OffsetDateTime) -> Self {
        let state = AgentState::new(&device, now);
        Self::with_state(device, state)
    }

    /// An agent with a given state.
    pub fn with_state(device: EnrolledDevice, state: AgentState) -> Self {
        Self {
            device,
            state,
            transport: None,
        }
    }

    /// Reads `device.json` (with its PEM files) and `agent.json` from `dir`; a directory without
    /// `agent.json` gets the state of a device just enrolled, its clock at the enrollment time.
    pub fn load(dir: &Path) -> Result<Self, AgentError> {
        let device = EnrolledDevice::load(dir)?;
        let path = dir.join(AGENT_FILE);
        let state = match fs::read(&path) {
            Ok(json) => {
                serde_json::from_slice(&json).map_err(|source| AgentError::Json { path, source })?
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                AgentState::new(&device, device.enrolled_at)
            }
            Err(source) => return Err(AgentError::Io { path, source }),
        };
        Ok(Self::with_state(device, state))
    }

    /// Writes `agent.json` into `dir` (atomically: a temporary file renamed into place). The
    /// enrollment files are not touched.
    pub fn save(&self, dir: &Path) -> Result<(), AgentError> {
        let path = dir.join(AGENT_FILE);
        let io = |source| AgentError::Io {
            path: path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(&self.state).map_err(|source| AgentError::Json {
            path: path.clone(),
            source,
        })?;
        fs::create_dir_all(dir).map_err(io)?;
        let tmp = dir.join(format!("{AGENT_FILE}.tmp"));
        let mut file = fs::File::create(&tmp).map_err(io)?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        drop(file);
        fs::rename(&tmp, &path).map_err(io)
    }

    /// The enrolled device.
    pub fn device(&self) -> &EnrolledDevice {
        &self.device
    }

    /// The agent state.
    pub fn state(&self) -> &AgentState {
        &self.state
    }

    /// The agent state, to change settings (maintenance hour, WNS endpoint, server PEM, …).
    pub fn state_mut(&mut self) -> &mut AgentState {
        self.transport = None;
        &mut self.state
    }

    /// What `event` would do now (pure; see [`triggers::plan`]).
    pub fn plan(&self, event: Event) -> Plan {
        triggers::plan(event, self.state.user, self.device.platform)
    }

    /// Moves the device's clock forward to `at` without running anything (earlier times are
    /// ignored: the clock never goes back).
    pub fn set_clock(&mut self, at: OffsetDateTime) {
        self.state.clock = self.state.clock.max(at);
    }

    /// The next start of the maintenance hour after `after`.
    pub fn next_maintenance(&self, after: OffsetDateTime) -> OffsetDateTime {
        self.state.maintenance.next_start(after)
    }

    /// Whether the device has unenrolled (it no longer syncs).
    pub fn is_unenrolled(&self) -> bool {
        self.state.unenrolled_at.is_some()
    }

    /// The device's push channel: Windows 8.1's first `MDM_WNSChannel`, Windows 10/11's
    /// DMClient channel.
    pub fn channel(&self) -> Option<&WnsChannel> {
        match &self.state.tree.push {
            Some(push) => Some(&push.channel),
            None => self
                .state
                .tree
                .wns
                .values()
                .find_map(|c| c.channel.as_ref()),
        }
    }

    /// Marks the push channel revoked (as WNS does; pushes to it then fail). Returns whether
    /// there was one.
    pub fn revoke_channel(&mut self) -> bool {
        let mut found = false;
        if let Some(push) = &mut self.state.tree.push {
            push.channel.revoked = true;
            found = true;
        }
        for config in self.state.tree.wns.values_mut() {
            if let Some(channel) = &mut config.channel {
                channel.revoked = true;
                found = true;
            }
        }
        found
    }

    /// A local administrator changes a setting on the device (no session runs): the value of the
    /// node `loc_uri` becomes `value`, as the next Get from the server will read it. This is how
    /// tests make drift. `loc_uri` is addressed as the server would: a CSP node (`./Device/…`,
    /// `./Vendor/…`, `./User/…`) on Windows 10/11, a WMI-bridge property
    /// (`./cimv2/<Class>/<Class>.<Key>=%22v%22/<Property>`) on Windows 8.1.
    ///
    /// The change goes through the tree as a Replace, so the node's rules hold: unknown nodes
    /// (404), read-only ones (405) and values the node refuses (400, 500) are errors, and a
    /// node that takes any value keeps the text's natural format. Simulation choice: the
    /// administrator acts in the enrolled user's own logon session, so `./User/…` nodes change
    /// whether or not the user is signed in.
    pub fn change_setting(&mut self, loc_uri: &str, value: &str) -> Result<SettingChange, String> {
        let env = tree::TreeEnv {
            device: &self.device,
            now: self.state.clock,
            access: UserAccess::Impersonated,
        };
        let mut tree = session::tree(env, &mut self.state);
        let before = tree.get(loc_uri).ok();
        let data = casement_syncml::Data::text(value);
        let status = tree.replace(loc_uri, Some(&data));
        if !status.is_success() {
            return Err(format!(
                "{loc_uri}: the device refuses the change (status {})",
                status.code()
            ));
        }
        let after = tree.get(loc_uri).ok();
        Ok(SettingChange {
            node: loc_uri.to_owned(),
            before,
            after,
        })
    }

    /// Handles `event` at `now` over HTTPS with the device's client certificate (trusting
    /// [`AgentState::server_tls_pem`]).
    pub async fn event(&mut self, event: Event, now: OffsetDateTime) -> SessionTranscript {
        match self.transport() {
            Ok(transport) => self.event_with(&transport, event, now).await,
            Err(message) => self.event_with(&Failing(message), event, now).await,
        }
    }

    /// Lets simulated time pass until `until` over HTTPS: the nightly task runs at every start
    /// of the maintenance hour on the way. Returns those runs.
    pub async fn advance(&mut self, until: OffsetDateTime) -> Vec<SessionTranscript> {
        match self.transport() {
            Ok(transport) => self.advance_with(&transport, until).await,
            Err(message) => self.advance_with(&Failing(message), until).await,
        }
    }

    /// [`Agent::advance`] through `transport`.
    pub async fn advance_with<T: Transport>(
        &mut self,
        transport: &T,
        until: OffsetDateTime,
    ) -> Vec<SessionTranscript> {
        let mut runs = Vec::new();
        for start in self
            .state
            .maintenance
            .starts_between(self.state.clock, until)
        {
            runs.push(self.event_with(transport, Event::Nightly, start).await);
        }
        self.state.clock = self.state.clock.max(until);
        runs
    }

    /// Handles `event` at `now` through `transport` (tests use an in-memory server; a load
    /// generator can share one). `now` earlier than the device's clock is taken as the clock.
    pub async fn event_with<T: Transport>(
        &mut self,
        transport: &T,
        event: Event,
        now: OffsetDateTime,
    ) -> SessionTranscript {
        let now = now.max(self.state.clock);
        self.state.clock = now;
        let before = self.state.user;
        let plan = self.plan(event);
        let mut entry = SessionTranscript {
            device: self.device.device_id.clone(),
            device_id: self.device.device_id.clone(),
            event,
            at: now,
            user_before: before,
            user_after: before,
            note: None,
            session: None,
        };
        if event == Event::Nightly && !self.state.maintenance.contains(now) {
            let next = self.next_maintenance(now);
            entry.note = Some(format!(
                "not the maintenance hour ({:02}:00 local): the nightly task runs next at {}",
                self.state.maintenance.hour,
                clock::rfc3339(next)
            ));
            return entry;
        }
        self.state.user = plan.user_after;
        entry.user_after = plan.user_after;
        if event == Event::Reboot {
            self.state.last_boot = now;
        }
        if event == Event::Nightly {
            self.state.last_nightly = Some(now);
        }
        let Some(session_plan) = plan.session else {
            if before == plan.user_after && matches!(event, Event::Lock | Event::Unlock) {
                entry.note = Some(format!("nothing to {event}: the user is {before}"));
            }
            return entry;
        };
        if self.is_unenrolled() {
            entry.note = Some("the device has unenrolled: MDMAgent.exe no longer syncs".into());
            return entry;
        }
        self.renew_push_channel(now);
        let mut record =
            session::run(transport, &self.device, &mut self.state, &session_plan, now).await;
        record.apps_installed = self.state.tree.finish_jobs(now);
        if self.state.tree.unenroll_requested.is_some() {
            self.state.unenrolled_at = Some(now);
            record.unenrolled = true;
        }
        if record.outcome != Outcome::Completed {
            entry.note =
                Some("the session failed; the real agent retries at its next trigger".into());
        }
        entry.session = Some(record);
        entry
    }

    /// Windows 10/11: DMClient renews the channel when 15 days or fewer remain.
    fn renew_push_channel(&mut self, now: OffsetDateTime) {
        if let Some(push) = &mut self.state.tree.push
            && !push.channel.revoked
            && push.channel.expires_at - now <= CHANNEL_RENEWAL
        {
            push.channel = wmi::methods::new_channel(push.channel.uri.clone(), now);
        }
    }

    /// The HTTPS transport, built once.
    fn transport(&mut self) -> Result<ReqwestTransport, String> {
        if let Some(t) = &self.transport {
            return Ok(t.clone());
        }
        let transport = self
            .device
            .management_transport(self.state.server_tls_pem.as_deref())
            .map_err(|e| format!("no HTTP client: {e}"))?;
        self.transport = Some(transport.clone());
        Ok(transport)
    }
}

/// What [`Agent::change_setting`] changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingChange {
    /// The node, as given.
    pub node: String,
    /// Its value before (`None`: unset, or a node that cannot be read such as a write-only one).
    pub before: Option<casement_dm::device::NodeValue>,
    /// Its value after (`None` for a node that cannot be read).
    pub after: Option<casement_dm::device::NodeValue>,
}

/// A transport that fails every request (the HTTP client could not be built).
#[derive(Debug)]
struct Failing(String);

impl Transport for Failing {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, TransportError> {
        Err(TransportError::Other(self.0.clone()))
    }
}

#[cfg(test)]
mod catalog_tests;
#[cfg(test)]
mod tests;
