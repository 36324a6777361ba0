//! Checking a presented client certificate against this CA.

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::{CaError, CertificateAuthority, util};

/// Proof that a client certificate was issued by this CA, is valid at the time checked and is
/// meant for client authentication.
///
/// Only [`CertificateAuthority::verify_client_certificate`] (and
/// [`CertificateAuthority::verify_renewal_request`]) can build one: the fields are private and
/// there is no constructor. The management endpoint takes it as an argument, so a session
/// cannot be served for an unverified certificate. It says nothing about revocation or
/// retirement; the caller still checks the device record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDevice {
    device_id: String,
    serial_hex: String,
    sha1_thumbprint: String,
    not_after: OffsetDateTime,
}

impl VerifiedDevice {
    /// The certificate's subject CN: the device ID this CA put there at issuance.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Serial number as uppercase hex of its big-endian bytes (as in
    /// [`crate::IssuedCertificate::serial_hex`]).
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// SHA-1 of the certificate DER, uppercase hex.
    pub fn sha1_thumbprint(&self) -> &str {
        &self.sha1_thumbprint
    }

    /// When the certificate expires.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
}

impl CertificateAuthority {
    /// Verifies that `der` is a certificate this CA issued and that it may authenticate a
    /// device at `now`.
    ///
    /// Checks, in order: size and DER structure (exactly one certificate, no trailing bytes) →
    /// [`CaError::MalformedCertificate`]; issuer name equals the CA's subject and the signature
    /// verifies with the CA's public key → else [`CaError::ForeignCertificate`]; `now` within
    /// notBefore..=notAfter (RFC 5280 §4.1.2.5) → [`CaError::CertificateNotYetValid`] /
    /// [`CaError::CertificateExpired`]; an extendedKeyUsage extension containing clientAuth
    /// and no basicConstraints cA=TRUE → [`CaError::NotAClientCertificate`]; a subject CN that
    /// is valid UTF-8 → [`CaError::CertificateWithoutDeviceId`]. Never panics on peer data.
    pub fn verify_client_certificate(
        &self,
        der: &[u8],
        now: OffsetDateTime,
    ) -> Result<VerifiedDevice, CaError> {
        self.check_client_certificate(der, now, true)
    }

    /// [`CertificateAuthority::verify_client_certificate`] for a certificate the TLS handshake
    /// has already verified against this CA (a rustls client verifier whose only root is this
    /// CA's certificate, as `casement-server`'s listener): every check but the signature, which
    /// the handshake verified (RFC 8446 §4.4.2.4, RFC 5280 §6.1), and at `now` rather than at
    /// the handshake. A certificate from anywhere else (a proxy's header) must go through
    /// `verify_client_certificate`.
    pub fn accept_tls_verified_client_certificate(
        &self,
        der: &[u8],
        now: OffsetDateTime,
    ) -> Result<VerifiedDevice, CaError> {
        self.check_client_certificate(der, now, false)
    }

    fn check_client_certificate(
        &self,
        der: &[u8],
        now: OffsetDateTime,
        verify_signature: bool,
    ) -> Result<VerifiedDevice, CaError> {
        util::check_len(der.len())?;
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| CaError::MalformedCertificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CaError::MalformedCertificate(format!(
                "{} trailing bytes after the certificate",
                rest.len()
            )));
        }

        if cert.issuer().as_raw() != self.subject_der.as_slice() {
            return Err(CaError::ForeignCertificate);
        }
        if verify_signature {
            let (_, ca_key) = SubjectPublicKeyInfo::from_der(&self.spki_der)
                .map_err(|e| CaError::CorruptCertificate(e.to_string()))?;
            cert.verify_signature(Some(&ca_key))
                .map_err(|_| CaError::ForeignCertificate)?;
        }

        let validity = cert.validity();
        let not_before = validity.not_before.to_datetime();
        let not_after = validity.not_after.to_datetime();
        if now < not_before {
            return Err(CaError::CertificateNotYetValid { not_before });
        }
        if now > not_after {
            return Err(CaError::CertificateExpired { not_after });
        }

        let client_auth =
            matches!(cert.extended_key_usage(), Ok(Some(eku)) if eku.value.client_auth);
        let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        if !client_auth || is_ca {
            return Err(CaError::NotAClientCertificate);
        }

        let device_id = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .filter(|cn| !cn.is_empty())
            .ok_or(CaError::CertificateWithoutDeviceId)?
            .to_owned();

        Ok(VerifiedDevice {
            device_id,
            serial_hex: hex::encode_upper(cert.raw_serial())
                .trim_start_matches("00")
                .to_owned(),
            sha1_thumbprint: util::sha1_thumbprint(der),
            not_after,
        })
    }
}
