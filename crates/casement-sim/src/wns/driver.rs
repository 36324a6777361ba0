//! [`run_push_driver`]: delivered pushes → the devices' push-triggered sessions.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedReceiver;

use super::{ChannelState, WnsEndpoint};
use crate::agent::{Agent, AgentError, Event};
use crate::state::DEVICE_FILE;
use crate::transcript::SessionTranscript;

/// Why a delivered push started no session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// No directory under the devices directory holds that device.
    #[error("no device directory under {devices_dir} holds device {device_id}")]
    UnknownDevice {
        /// The device ID the push was for.
        device_id: String,
        /// Where it was looked for.
        devices_dir: PathBuf,
    },
    /// The devices directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The device's agent could not be loaded or saved.
    #[error("{dir}: {source}")]
    Agent {
        /// The device directory.
        dir: PathBuf,
        /// The error.
        #[source]
        source: AgentError,
    },
}

/// The state directory of `device_id` under `devices_dir`.
///
/// Lookup rule: `<devices_dir>/<device_id>` if its `device.json` names that device; otherwise
/// the subdirectories of `devices_dir` in name order, the first whose `device.json` has
/// `"device_id": "<device_id>"` (directories are usually named after the device, e.g.
/// `devices/ann`). Unreadable or foreign `device.json` files are skipped. Only one level is
/// searched.
pub fn find_device_dir(devices_dir: &Path, device_id: &str) -> Result<PathBuf, DriverError> {
    let holds = |dir: &Path| {
        fs::read(dir.join(DEVICE_FILE))
            .ok()
            .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
            .is_some_and(|v| v.get("device_id").and_then(|id| id.as_str()) == Some(device_id))
    };
    // A device ID with a path separator or `..` is not a directory name to try.
    if !device_id.is_empty()
        && !device_id.contains(['/', '\\'])
        && device_id != "."
        && device_id != ".."
    {
        let direct = devices_dir.join(device_id);
        if holds(&direct) {
            return Ok(direct);
        }
    }
    let io = |source| DriverError::Io {
        path: devices_dir.to_owned(),
        source,
    };
    let mut dirs = Vec::new();
    for entry in fs::read_dir(devices_dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    dirs.into_iter()
        .find(|d| holds(d))
        .ok_or_else(|| DriverError::UnknownDevice {
            device_id: device_id.to_owned(),
            devices_dir: devices_dir.to_owned(),
        })
}

/// Runs the push-triggered session of every delivered push, one at a time, until `pushes` ends
/// (the endpoint shut down): finds the device's directory ([`find_device_dir`]), loads its
/// [`Agent`], runs [`Event::Push`] at `now()`, saves `agent.json`, and hands the transcript (or
/// why there is none) to `on_session`.
///
/// `server_tls_pem`, if given, replaces the agent's
/// [`server_tls_pem`](crate::agent::AgentState::server_tls_pem) (and is saved with it); `None`
/// keeps what the device directory has.
///
/// ```no_run
/// # async fn run(endpoint: casement_sim::wns::WnsEndpoint) {
/// use casement_sim::wns::run_push_driver;
/// let pushes = endpoint.subscribe();
/// run_push_driver(pushes, "devices".into(), time::OffsetDateTime::now_utc, None, |result| {
///     match result {
///         Ok(entry) => println!("{}", serde_json::to_string(&entry).unwrap()),
///         Err(e) => eprintln!("push not handled: {e}"),
///     }
/// })
/// .await;
/// # }
/// ```
pub async fn run_push_driver<N, F>(
    mut pushes: UnboundedReceiver<String>,
    devices_dir: PathBuf,
    now: N,
    server_tls_pem: Option<String>,
    mut on_session: F,
) where
    N: Fn() -> OffsetDateTime,
    F: FnMut(Result<SessionTranscript, DriverError>),
{
    while let Some(device_id) = pushes.recv().await {
        let result = push_session(&devices_dir, &device_id, now(), server_tls_pem.as_deref()).await;
        on_session(result);
    }
}

async fn push_session(
    devices_dir: &Path,
    device_id: &str,
    now: OffsetDateTime,
    server_tls_pem: Option<&str>,
) -> Result<SessionTranscript, DriverError> {
    let dir = find_device_dir(devices_dir, device_id)?;
    let agent_error = |source| DriverError::Agent {
        dir: dir.clone(),
        source,
    };
    let mut agent = Agent::load(&dir).map_err(agent_error)?;
    if let Some(pem) = server_tls_pem {
        agent.state_mut().server_tls_pem = Some(pem.to_owned());
    }
    let entry = agent.event(Event::Push, now).await;
    agent.save(&dir).map_err(agent_error)?;
    Ok(entry)
}

/// Notices devices that register a new push channel and makes their revoked or expired channel
/// answer again.
///
/// Real WNS hands a device that registers again (the server's push configuration in a
/// Maintenance session) a new channel URI; the simulator's channel URIs are one per device, so
/// a new registration is told by the channel's creation time in the device's `agent.json`
/// changing. A channel made [`ChannelState::Revoked`](super::ChannelState::Revoked) or
/// [`Expired`](super::ChannelState::Expired) then becomes
/// [`Active`](super::ChannelState::Active); other states (throttled, failing, dropped) are the
/// WNS service's, not the channel's, and stay.
#[derive(Debug, Default)]
pub struct ChannelWatch {
    seen: HashMap<String, OffsetDateTime>,
}

impl ChannelWatch {
    /// A watch that has seen nothing yet (the first scan only takes note).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every device directory directly under `devices_dir` once; returns the devices
    /// whose channel it made active again.
    pub fn scan(&mut self, endpoint: &WnsEndpoint, devices_dir: &Path) -> Vec<String> {
        let mut restored = Vec::new();
        let Ok(entries) = fs::read_dir(devices_dir) else {
            return restored;
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            if !dir.join(DEVICE_FILE).is_file() {
                continue;
            }
            let Ok(agent) = Agent::load(&dir) else {
                continue;
            };
            let Some(created) = agent.channel().map(|c| c.created_at) else {
                continue;
            };
            let id = agent.device().device_id.clone();
            let before = self.seen.insert(id.clone(), created);
            let gone = matches!(
                endpoint.state(&id),
                ChannelState::Revoked | ChannelState::Expired
            );
            if before.is_some_and(|b| b != created) && gone {
                endpoint.set_state(&id, ChannelState::Active);
                restored.push(id);
            }
        }
        restored.sort();
        restored
    }
}
