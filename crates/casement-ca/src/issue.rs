//! Issuing device certificates from verified requests.

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    SerialNumber, SubjectPublicKeyInfo,
};
use time::OffsetDateTime;

use crate::ca::validity_window;
use crate::error::crypto;
use crate::{CaError, CertificateAuthority, VerifiedCsr, util};

/// A device certificate as issued; everything the enrollment response and the device record
/// need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The certificate, PEM.
    pub pem: String,
    /// The serial number as uppercase hex of its (16) big-endian bytes.
    pub serial_hex: String,
    /// SHA-1 of `der`, uppercase hex (the `My/User/<thumbprint>` name in MS-MDE §3.6).
    pub sha1_thumbprint: String,
    /// Start of validity: `now - 5 min`.
    pub not_before: OffsetDateTime,
    /// End of validity: `now + device validity`, clamped to the CA's own notAfter.
    pub not_after: OffsetDateTime,
    /// The subject CN, exactly as passed in.
    pub device_id: String,
}

impl CertificateAuthority {
    /// Issues a client certificate for the key in `csr`, naming `device_id`.
    ///
    /// The certificate is built from our own parameters and copies nothing from the request
    /// but its public key: subject `CN=<device_id>` (UTF8String), basicConstraints cA=FALSE,
    /// keyUsage digitalSignature+keyEncipherment (critical), extendedKeyUsage clientAuth
    /// (RFC 5280 §4.2.1.12, id-kp 2), SKI and AKI, a 16-byte positive random serial drawn
    /// from `rng`, validity `now - 5 min` .. `now + device_validity` clamped to the CA's
    /// notAfter, signed with the CA key (SHA-256).
    ///
    /// `rng` must be a cryptographic RNG; in production pass `rand::rng()` (ThreadRng, a CSPRNG
    /// seeded from the OS) or `rand::rngs::OsRng.unwrap_err()`. No clock is read.
    ///
    /// Errors: [`CaError::InvalidDeviceId`] (empty, over 64 characters, control characters or
    /// surrounding whitespace), [`CaError::CaExpired`] when the CA certificate is no longer
    /// valid at `now`, [`CaError::UnacceptablePublicKey`] if rcgen cannot represent the key,
    /// [`CaError::Crypto`] if signing fails.
    pub fn issue_device_certificate<R: rand::CryptoRng + ?Sized>(
        &self,
        csr: &VerifiedCsr,
        device_id: &str,
        now: OffsetDateTime,
        rng: &mut R,
    ) -> Result<IssuedCertificate, CaError> {
        crate::ca::check_name(device_id).map_err(|_| {
            CaError::InvalidDeviceId(format!(
                "{device_id:?}: need 1 to 64 characters, no control characters or surrounding whitespace"
            ))
        })?;
        if now >= self.not_after {
            return Err(CaError::CaExpired {
                not_after: self.not_after,
            });
        }
        let (not_before, not_after) = validity_window(now, self.device_validity)?;
        let not_after = not_after.min(self.not_after);

        let public_key = SubjectPublicKeyInfo::from_der(csr.public_key_der())
            .map_err(|e| CaError::UnacceptablePublicKey(e.to_string()))?;
        let serial = util::random_serial(rng);

        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, device_id);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.not_before = not_before;
        params.not_after = not_after;

        let cert = params
            .signed_by(&public_key, &self.issuer)
            .map_err(crypto)?;
        let der = cert.der().to_vec();
        Ok(IssuedCertificate {
            pem: util::certificate_der_to_pem(&der),
            sha1_thumbprint: util::sha1_thumbprint(&der),
            serial_hex: hex::encode_upper(serial),
            der,
            // rcgen writes whole seconds; report what is in the certificate.
            not_before: not_before.replace_nanosecond(0).unwrap_or(not_before),
            not_after: not_after.replace_nanosecond(0).unwrap_or(not_after),
            device_id: device_id.to_owned(),
        })
    }
}
