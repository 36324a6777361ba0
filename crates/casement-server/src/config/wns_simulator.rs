//! Reading a running WNS simulator's settings (`casement sim wns --dir DIR`) into the raw
//! settings: [`WNS_SIMULATOR_FILE`] and [`RawConfig::with_wns_simulator`].
//!
//! Contract: only `wns_*` settings not given otherwise are filled (a client id and secret only
//! when neither is given); the simulator's `host:port` is added to `wns_local_hosts`; a missing
//! or unreadable file is a [`ConfigError`] naming the command to start.

use std::path::PathBuf;

use serde::Deserialize;

use super::raw::RawConfig;
use super::resolved::ConfigError;

impl RawConfig {
    /// Fills the `wns_*` settings not given from `<wns_simulator>/wns-simulator.json` (the
    /// `server` object, written by `casement sim wns`); adds its `host:port` to
    /// `wns_local_hosts`.
    pub(super) fn with_wns_simulator(mut self) -> Result<Self, ConfigError> {
        let Some(dir) = self.wns_simulator.clone() else {
            return Ok(self);
        };
        let path = dir.join(WNS_SIMULATOR_FILE);
        let json = std::fs::read(&path).map_err(|e| {
            ConfigError(format!(
                "wns_simulator: {}: {e} (start `casement sim wns --dir {}` first)",
                path.display(),
                dir.display()
            ))
        })?;
        let file: WnsSimulatorFile = serde_json::from_slice(&json)
            .map_err(|e| ConfigError(format!("wns_simulator: {}: {e}", path.display())))?;
        let sim = file.server;
        self.wns_package_family_name
            .get_or_insert(sim.wns_package_family_name);
        if self.wns_client_id.is_none() && self.wns_client_secret.is_none() {
            self.wns_client_id = Some(sim.wns_client_id);
            self.wns_client_secret = Some(sim.wns_client_secret);
        }
        self.wns_token_url.get_or_insert(sim.wns_token_url);
        for host in sim.wns_local_hosts {
            if !self.wns_local_hosts.contains(&host) {
                self.wns_local_hosts.push(host);
            }
        }
        let trust = if sim.wns_trust_pem.is_absolute() {
            sim.wns_trust_pem
        } else {
            dir.join(sim.wns_trust_pem)
        };
        self.wns_trust_pem.get_or_insert(trust);
        Ok(self)
    }
}

/// The file `casement sim wns --dir DIR` writes into `DIR`.
pub const WNS_SIMULATOR_FILE: &str = "wns-simulator.json";

/// What the server reads of [`WNS_SIMULATOR_FILE`] (other keys are the simulator's own).
#[derive(Debug, Deserialize)]
struct WnsSimulatorFile {
    server: WnsSimulatorSettings,
}

/// Settings named as in [`RawConfig`].
#[derive(Debug, Deserialize)]
struct WnsSimulatorSettings {
    wns_package_family_name: String,
    wns_client_id: String,
    wns_client_secret: String,
    wns_token_url: String,
    wns_local_hosts: Vec<String>,
    wns_trust_pem: PathBuf,
}
