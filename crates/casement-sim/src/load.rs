//! What the load generators (`casement sim fleet`, `casement bench`) share: the package 1 a
//! simulated fleet device opens a session with, and a device tree that answers every command.
//! The session itself is driven by [`casement_dm::device::DeviceSession`] over whatever
//! transport the generator uses.

use std::sync::atomic::{AtomicU64, Ordering};

use casement_dm::device::{DeviceTree, NodeValue, Package1, Platform};
use casement_syncml::{Data, StatusCode};

use crate::EnrolledDevice;

/// Package 1 of session number `session` of a fleet device: a scheduled session (Alert 1201)
/// with the user logged on (Windows 10/11 LoginStatus `user`), and the DevInfo Windows sends.
pub fn package1(device: &EnrolledDevice, session: u32) -> Package1 {
    let platform = device.platform.protocol();
    Package1 {
        device_id: device.device_id.clone(),
        server_uri: device.management_url.clone(),
        session_id: session.to_string(),
        platform,
        login_status: (platform == Platform::Windows10).then(|| "user".to_owned()),
        push_triggered: false,
        devinfo: vec![
            ("./DevInfo/DevId".into(), device.device_id.clone()),
            ("./DevInfo/Man".into(), "Contoso".into()),
            ("./DevInfo/Mod".into(), "Simulated".into()),
            ("./DevInfo/DmV".into(), "1.3".into()),
            ("./DevInfo/Lang".into(), "en-US".into()),
        ],
        unenroll_request: false,
    }
}

/// A device tree that answers reads with plausible values and accepts every change, counting
/// the commands it ran (so a load test can tell how often the server delivered something).
#[derive(Debug, Default)]
pub struct FleetTree {
    /// Commands run (Get, Add, Replace, Delete, Exec).
    pub executed: AtomicU64,
}

impl FleetTree {
    fn ran(&self) {
        self.executed.fetch_add(1, Ordering::Relaxed);
    }
}

impl DeviceTree for FleetTree {
    fn get(&mut self, uri: &str) -> Result<NodeValue, StatusCode> {
        self.ran();
        Ok(NodeValue {
            format: "chr".into(),
            data: format!("value of {}", uri.rsplit('/').next().unwrap_or(uri)),
        })
    }
    fn add(&mut self, _: &str, _: Option<&Data>) -> StatusCode {
        self.ran();
        StatusCode::Ok
    }
    fn replace(&mut self, _: &str, _: Option<&Data>) -> StatusCode {
        self.ran();
        StatusCode::Ok
    }
    fn delete(&mut self, _: &str) -> StatusCode {
        self.ran();
        StatusCode::Ok
    }
    fn exec(&mut self, _: &str, _: Option<&Data>) -> StatusCode {
        self.ran();
        StatusCode::Ok
    }
}
