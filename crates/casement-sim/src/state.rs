//! An enrolled device and its state directory.
//!
//! Layout of the directory:
//! - `device.json`: everything but the PEM material ([`EnrolledDevice`] fields);
//! - `key.pem`: the device's private key (PKCS#8), mode 0600;
//! - `cert.pem`: the device's client certificate;
//! - `ca.pem`: the provisioned Root (and intermediate) CA certificates.
//!
//! Files are written to a temporary name and renamed into place, `device.json` last, so a
//! directory that has a `device.json` is complete.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::enroll::responses::PollSettings;
use crate::enroll::{Hardware, WindowsRelease};
use crate::http::{ClientError, DEFAULT_TIMEOUT, ReqwestTransport};

/// `device.json`.
pub const DEVICE_FILE: &str = "device.json";
/// `key.pem` (0600).
pub const KEY_FILE: &str = "key.pem";
/// `cert.pem`.
pub const CERT_FILE: &str = "cert.pem";
/// `ca.pem`.
pub const CA_FILE: &str = "ca.pem";

/// A device after a successful enrollment. `Debug` omits the private key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolledDevice {
    /// The MDM device id (sent as `DeviceID`; the server's certificate names it).
    pub device_id: String,
    /// The computer name.
    pub device_name: String,
    /// The Windows version.
    pub platform: WindowsRelease,
    /// The enrolled user's UPN.
    pub upn: String,
    /// The AuthPolicy used (`Federated` or `OnPremise`).
    pub auth_policy: String,
    /// The EnrollmentVersion the server answered (MS-MDE2), e.g. `4.0`.
    pub enrollment_version: Option<String>,
    /// Hardware description sent at enrollment.
    pub hardware: Hardware,
    /// The w7 `ADDR`: where management sessions POST (`?mode=…&Platform=WoA` appended).
    pub management_url: String,
    /// The w7 `PROVIDER-ID`.
    pub provider_id: String,
    /// SHA-1 thumbprint of the device certificate, upper-case hex.
    pub certificate_thumbprint: String,
    /// Windows 10/11: the DMClient poll schedule provisioned.
    pub poll: Option<PollSettings>,
    /// When the enrollment completed.
    #[serde(with = "time::serde::rfc3339")]
    pub enrolled_at: OffsetDateTime,
    /// The private key, PKCS#8 PEM (`key.pem`).
    #[serde(skip)]
    pub private_key_pem: String,
    /// The device certificate, PEM (`cert.pem`).
    #[serde(skip)]
    pub certificate_pem: String,
    /// The provisioned CA certificates, PEM (`ca.pem`).
    #[serde(skip)]
    pub ca_certificates_pem: String,
}

impl std::fmt::Debug for EnrolledDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolledDevice")
            .field("device_id", &self.device_id)
            .field("device_name", &self.device_name)
            .field("platform", &self.platform)
            .field("upn", &self.upn)
            .field("auth_policy", &self.auth_policy)
            .field("management_url", &self.management_url)
            .field("provider_id", &self.provider_id)
            .field("certificate_thumbprint", &self.certificate_thumbprint)
            .field("enrolled_at", &self.enrolled_at)
            .finish_non_exhaustive()
    }
}

/// The state directory could not be written or read, or holds something unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// `device.json` is not a device description.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
    /// A PEM file is empty or lacks its block.
    #[error("{path}: no {label} PEM block")]
    BadPem {
        /// The file.
        path: PathBuf,
        /// The block expected.
        label: &'static str,
    },
}

impl EnrolledDevice {
    /// Writes the state directory (created if needed; existing files are replaced).
    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
        write_file(&dir.join(KEY_FILE), self.private_key_pem.as_bytes(), 0o600)?;
        write_file(&dir.join(CERT_FILE), self.certificate_pem.as_bytes(), 0o644)?;
        write_file(
            &dir.join(CA_FILE),
            self.ca_certificates_pem.as_bytes(),
            0o644,
        )?;
        let json = serde_json::to_vec_pretty(self).map_err(|source| StateError::Json {
            path: dir.join(DEVICE_FILE),
            source,
        })?;
        write_file(&dir.join(DEVICE_FILE), &json, 0o644)
    }

    /// Reads a state directory written by [`EnrolledDevice::save`].
    pub fn load(dir: &Path) -> Result<EnrolledDevice, StateError> {
        let path = dir.join(DEVICE_FILE);
        let json = fs::read(&path).map_err(|source| io(&path, source))?;
        let mut device: EnrolledDevice =
            serde_json::from_slice(&json).map_err(|source| StateError::Json { path, source })?;
        device.private_key_pem = read_pem(&dir.join(KEY_FILE), "PRIVATE KEY")?;
        device.certificate_pem = read_pem(&dir.join(CERT_FILE), "CERTIFICATE")?;
        device.ca_certificates_pem = read_pem(&dir.join(CA_FILE), "CERTIFICATE")?;
        Ok(device)
    }

    /// Whether `dir` holds a saved device (`device.json` exists).
    pub fn exists(dir: &Path) -> bool {
        dir.join(DEVICE_FILE).is_file()
    }

    /// The device certificate followed by its private key, the PEM a TLS client identity is
    /// made of.
    pub fn identity_pem(&self) -> String {
        let mut pem = self.certificate_pem.clone();
        if !pem.ends_with('\n') {
            pem.push('\n');
        }
        pem.push_str(&self.private_key_pem);
        pem
    }

    /// An HTTPS client for management sessions: presents the device certificate (mutual TLS)
    /// and trusts `server_pem` (the server's TLS certificate), or the platform trust store when
    /// `None`. Redirects are not followed.
    pub fn management_client(
        &self,
        server_pem: Option<&str>,
    ) -> Result<reqwest::Client, ClientError> {
        self.management_client_with_timeout(server_pem, DEFAULT_TIMEOUT)
    }

    /// [`EnrolledDevice::management_client`] with an explicit per-request timeout.
    pub fn management_client_with_timeout(
        &self,
        server_pem: Option<&str>,
        timeout: Duration,
    ) -> Result<reqwest::Client, ClientError> {
        crate::http::client(server_pem, Some(&self.identity_pem()), timeout, false)
    }

    /// [`EnrolledDevice::management_client`] as a [`crate::http::Transport`].
    pub fn management_transport(
        &self,
        server_pem: Option<&str>,
    ) -> Result<ReqwestTransport, ClientError> {
        Ok(ReqwestTransport::from_client(
            self.management_client(server_pem)?,
        ))
    }
}

/// DER → `-----BEGIN CERTIFICATE-----` PEM with 64-character lines.
pub fn der_to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::with_capacity(b64.len() + 80);
    pem.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn io(path: &Path, source: std::io::Error) -> StateError {
    StateError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `path` atomically: a fresh temporary file created with `mode` (so a key is never
/// readable by others, even briefly), then renamed over `path`.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), StateError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(source) => return Err(io(&tmp, source)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|source| io(&tmp, source))?;
    // The umask may have removed bits; set exactly `mode`.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|source| io(&tmp, source))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|source| io(&tmp, source))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|source| io(path, source))
}

fn read_pem(path: &Path, label: &'static str) -> Result<String, StateError> {
    let text = fs::read_to_string(path).map_err(|source| io(path, source))?;
    if !text.contains(&format!("-----BEGIN {label}-----")) {
        return Err(StateError::BadPem {
            path: path.to_owned(),
            label,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_lines_are_64_characters() {
        let pem = der_to_pem(&[7u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
        let body: String = lines[1..lines.len() - 1].concat();
        assert_eq!(STANDARD.decode(body).unwrap(), vec![7u8; 100]);
    }
}
