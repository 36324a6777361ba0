//! What `casement sim wns --dir DIR` leaves in `DIR` for the server and the shell: the endpoint's
//! certificate ([`CERTIFICATE_FILE`]) and [`SimulatorInfo`] ([`SETTINGS_FILE`]), which holds
//! the server settings that point at the endpoint (read by `casement serve --wns-simulator DIR`),
//! the agents' channel base (read by `casement sim enroll --wns-simulator DIR`) and the control
//! token (read by `casement sim wns revoke …`). Both files are readable by their owner only.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ChannelState, WnsEndpoint};

/// `wns-simulator.json`: a [`SimulatorInfo`].
pub const SETTINGS_FILE: &str = "wns-simulator.json";
/// `wns.pem`: the endpoint's self-signed certificate, for the server to trust.
pub const CERTIFICATE_FILE: &str = "wns.pem";

/// Everything another process needs to use a running simulator endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulatorInfo {
    /// `https://<ip>:<port>`.
    pub base_url: String,
    /// The agents' `wns_endpoint` (`<base>/wns/channel`).
    pub channel_base: String,
    /// The bearer token of the control endpoint.
    pub control_token: String,
    /// The server settings that point its WNS client here (keys as in the server's
    /// configuration).
    pub server: ServerSettings,
}

/// The server's `wns_*` settings for the simulator endpoint: the server reads exactly these keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSettings {
    /// The package family name devices are configured with.
    pub wns_package_family_name: String,
    /// The client ID the token endpoint accepts.
    pub wns_client_id: String,
    /// The client secret the token endpoint accepts.
    pub wns_client_secret: String,
    /// `<base>/accesstoken.srf`.
    pub wns_token_url: String,
    /// `host:port` of the endpoint, allowed explicitly.
    pub wns_local_hosts: Vec<String>,
    /// The absolute path of [`CERTIFICATE_FILE`].
    pub wns_trust_pem: PathBuf,
}

impl SimulatorInfo {
    /// The description of `endpoint`, started with these credentials, whose files live in
    /// `dir` (made absolute, so that a server started elsewhere finds the certificate).
    pub fn new(
        endpoint: &WnsEndpoint,
        dir: &Path,
        client_id: &str,
        client_secret: &str,
        package_family_name: &str,
        control_token: &str,
    ) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        let dir = fs::canonicalize(dir)?;
        Ok(Self {
            base_url: endpoint.base_url().to_owned(),
            channel_base: endpoint.channel_base(),
            control_token: control_token.to_owned(),
            server: ServerSettings {
                wns_package_family_name: package_family_name.to_owned(),
                wns_client_id: client_id.to_owned(),
                wns_client_secret: client_secret.to_owned(),
                wns_token_url: endpoint.token_url(),
                wns_local_hosts: vec![endpoint.host_port().to_owned()],
                wns_trust_pem: dir.join(CERTIFICATE_FILE),
            },
        })
    }

    /// Writes the certificate, then the settings (each atomically, owner-only), into `dir`.
    /// The settings file appears last: once it exists, both are complete.
    pub fn write(&self, dir: &Path, certificate_pem: &str) -> std::io::Result<()> {
        fs::create_dir_all(dir)?;
        write_private(&dir.join(CERTIFICATE_FILE), certificate_pem.as_bytes())?;
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        write_private(&dir.join(SETTINGS_FILE), &json)
    }

    /// Reads `<dir>/wns-simulator.json`.
    pub fn read(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join(SETTINGS_FILE);
        let json = fs::read(&path).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "{}: {e} (is `casement sim wns --dir {}` running?)",
                    path.display(),
                    dir.display()
                ),
            )
        })?;
        serde_json::from_slice(&json).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// The URL that sets `device_id`'s channel state.
    pub fn control_url(&self, device_id: &str) -> String {
        format!("{}{}/{device_id}", self.base_url, super::CONTROL_PATH)
    }
}

/// The body of a control request: how a channel answers from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ControlRequest {
    /// 200 received: pushes are delivered (a device's channel before any control, and after
    /// it registers a new one).
    Active,
    /// 404: WNS revoked the channel.
    Revoked,
    /// 410: the channel expired.
    Expired,
    /// 200 dropped: accepted, never delivered.
    Dropped,
    /// 406 with `X-WNS-CONTINUE-AFTER`.
    Throttled {
        /// The delay announced, in seconds.
        seconds: u64,
    },
    /// WNS failing with this 5xx status.
    Failing {
        /// 500 or 503 (any 5xx).
        status: u16,
    },
}

impl ControlRequest {
    /// The [`ChannelState`] it sets.
    pub fn channel_state(self) -> ChannelState {
        match self {
            ControlRequest::Active => ChannelState::Active,
            ControlRequest::Revoked => ChannelState::Revoked,
            ControlRequest::Expired => ChannelState::Expired,
            ControlRequest::Dropped => ChannelState::Dropped,
            ControlRequest::Throttled { seconds } => ChannelState::Throttled {
                continue_after: Duration::from_secs(seconds),
            },
            ControlRequest::Failing { status } => ChannelState::Failing(status),
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)
}
