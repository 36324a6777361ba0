//! Test support: make certificate requests that look like a Windows MDM client's.
//!
//! Used by the device simulator and by tests. Not for production enrollment.

use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair, RsaKeySize};

use crate::CaError;
use crate::error::crypto;

/// A freshly generated key and a PKCS#10 request for it, shaped like a Windows 10 request.
#[derive(Clone, PartialEq, Eq)]
pub struct WindowsLikeCsr {
    /// The RSA-2048 private key, PKCS#8 PEM. Secret: the simulator keeps it as the device key.
    pub private_key_pem: String,
    /// The request, DER (base64 it for a WS-Trust `BinarySecurityToken`).
    pub csr_der: Vec<u8>,
    /// The subject CN put in the request (`<GUID prefix>!<device id>` plus a trailing NUL).
    pub subject_common_name: String,
}

impl std::fmt::Debug for WindowsLikeCsr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowsLikeCsr")
            .field("subject_common_name", &self.subject_common_name)
            .field("csr_der_len", &self.csr_der.len())
            .finish_non_exhaustive()
    }
}

/// Generates an RSA-2048 key (aws-lc-rs, OS RNG) and a SHA-256-signed PKCS#10 request whose
/// subject CN mimics Windows (`<first 30 characters of an uppercase GUID from rng>!<device_id>`
/// followed by a NUL) and which requests the extension 1.3.6.1.4.1.311.66.1.0 holding
/// `device_id` as ASCII plus a NUL, as in the real Windows 10 request in `testdata/`.
///
/// Differences from Windows, forced by rcgen: the CN is a UTF8String (Windows sends a
/// PrintableString containing '!', which rcgen refuses to encode) and the signature is
/// sha256WithRSAEncryption (Windows 10 19043 used the OIW sha1RSA OID).
///
/// Errors: [`CaError::InvalidDeviceId`] if `device_id` is empty or not printable ASCII;
/// [`CaError::Crypto`] if key generation or signing fails.
pub fn windows_like_csr<R: rand::RngCore + ?Sized>(
    device_id: &str,
    rng: &mut R,
) -> Result<WindowsLikeCsr, CaError> {
    let subject_common_name = windows_cn(device_id, rng)?;
    let key =
        KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048).map_err(crypto)?;
    csr_for_key(device_id, subject_common_name, key)
}

/// Like [`windows_like_csr`], but signs with an existing key (PEM, e.g. from a pool of keys
/// generated once): load generators use it so that a fleet's enrollment measures the server,
/// not RSA key generation in the simulator. A real device never shares its key.
pub fn windows_like_csr_with_key<R: rand::RngCore + ?Sized>(
    device_id: &str,
    key_pem: &str,
    rng: &mut R,
) -> Result<WindowsLikeCsr, CaError> {
    let subject_common_name = windows_cn(device_id, rng)?;
    let key = KeyPair::from_pem(key_pem).map_err(crypto)?;
    csr_for_key(device_id, subject_common_name, key)
}

/// The subject CN real Windows uses: a GUID prefix, `!`, the device ID and a NUL.
fn windows_cn<R: rand::RngCore + ?Sized>(device_id: &str, rng: &mut R) -> Result<String, CaError> {
    if device_id.is_empty() || !device_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CaError::InvalidDeviceId(format!(
            "{device_id:?}: need printable ASCII without spaces"
        )));
    }
    let mut guid = [0u8; 16];
    rng.fill_bytes(&mut guid);
    let guid = hex::encode_upper(guid);
    let guid = format!(
        "{}-{}-{}-{}-{}",
        &guid[0..8],
        &guid[8..12],
        &guid[12..16],
        &guid[16..20],
        &guid[20..32]
    );
    Ok(format!("{}!{device_id}\0", &guid[..30]))
}

fn csr_for_key(
    device_id: &str,
    subject_common_name: String,
    key: KeyPair,
) -> Result<WindowsLikeCsr, CaError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, subject_common_name.as_str());
    params.distinguished_name = dn;
    let mut device_id_value = device_id.as_bytes().to_vec();
    device_id_value.push(0);
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 311, 66, 1, 0],
        device_id_value,
    )];
    let csr = params.serialize_request(&key).map_err(crypto)?;
    Ok(WindowsLikeCsr {
        private_key_pem: key.serialize_pem(),
        csr_der: csr.der().to_vec(),
        subject_common_name,
    })
}
