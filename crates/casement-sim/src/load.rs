//! What the load generators (`casement sim fleet`, `casement bench`) share: the package 1 a
//! simulated fleet device opens a session with, and a device tree that answers every command.
//! The session itself is driven by [`casement_dm::device::DeviceSession`] over whatever
//! transport the generator uses.

use std::collections::HashMap;
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
/// A value written (`Add`, `Replace`) is what a later `Get` of the node returns, until it is
/// deleted, so that a profile's read-back after its write verifies as on Windows.
#[derive(Debug, Default)]
pub struct FleetTree {
    /// Commands run (Get, Add, Replace, Delete, Exec).
    pub executed: AtomicU64,
    /// Values written, by node.
    written: HashMap<String, String>,
}

impl FleetTree {
    fn ran(&self) {
        self.executed.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&mut self, uri: &str, data: Option<&Data>) {
        self.written.insert(
            uri.to_owned(),
            data.map(|d| d.as_str().to_owned()).unwrap_or_default(),
        );
    }
}

impl DeviceTree for FleetTree {
    fn get(&mut self, uri: &str) -> Result<NodeValue, StatusCode> {
        self.ran();
        if let Some(value) = self.written.get(uri) {
            return Ok(NodeValue {
                format: "chr".into(),
                data: value.clone(),
            });
        }
        Ok(NodeValue {
            format: "chr".into(),
            data: format!("value of {}", uri.rsplit('/').next().unwrap_or(uri)),
        })
    }
    fn add(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        self.ran();
        self.write(uri, data);
        StatusCode::Ok
    }
    fn replace(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        self.ran();
        self.write(uri, data);
        StatusCode::Ok
    }
    fn delete(&mut self, uri: &str) -> StatusCode {
        self.ran();
        self.written.remove(uri);
        StatusCode::Ok
    }
    fn exec(&mut self, _: &str, _: Option<&Data>) -> StatusCode {
        self.ran();
        StatusCode::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_after_a_write_reads_the_value_written_until_it_is_deleted() {
        let mut tree = FleetTree::default();
        let uri = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
        assert_ne!(tree.get(uri).unwrap().data, "0");
        assert_eq!(tree.add(uri, Some(&Data::text("0"))), StatusCode::Ok);
        assert_eq!(tree.get(uri).unwrap().data, "0");
        assert_eq!(tree.replace(uri, Some(&Data::text("1"))), StatusCode::Ok);
        assert_eq!(tree.get(uri).unwrap().data, "1");
        assert_eq!(tree.delete(uri), StatusCode::Ok);
        assert_ne!(tree.get(uri).unwrap().data, "1");
        assert_eq!(tree.executed.load(Ordering::Relaxed), 7);
    }
}
