//! A self-signed ECDSA P-256 certificate and key for the HTTPS listener.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::ca::validity_window;
use crate::error::crypto;
use crate::{CaError, util};

/// File name of the TLS certificate inside a data directory.
pub const TLS_CERT_FILE: &str = "tls.pem";
/// File name of the TLS private key inside a data directory (mode 0600).
pub const TLS_KEY_FILE: &str = "tls.key";
/// Names a default TLS certificate is made for.
pub const DEFAULT_TLS_NAMES: &[&str] = &["localhost", "127.0.0.1"];
/// Default lifetime of a self-signed TLS certificate: 825 days (the longest many TLS clients
/// accept for a server certificate).
pub const DEFAULT_TLS_VALIDITY: Duration = Duration::days(825);

/// A TLS server certificate chain (one self-signed or operator-supplied certificate) and its
/// private key. `Debug` never prints the key.
pub struct TlsIdentity {
    cert_der: Vec<u8>,
    cert_pem: String,
    key: KeyPair,
}

impl TlsIdentity {
    /// Generates an ECDSA P-256 key (aws-lc-rs, OS RNG) and a self-signed SHA-256 certificate
    /// for `names`: each name that parses as an IP address becomes an IP SAN, every other one a
    /// DNS SAN; the first name is also the subject CN. basicConstraints cA=FALSE, keyUsage
    /// digitalSignature, extendedKeyUsage serverAuth, a 16-byte serial from `rng`, valid from
    /// `now - 5 min` for `validity`.
    ///
    /// Errors: [`CaError::InvalidName`] for an empty list or a name that is not a valid DNS
    /// name (IA5) or IP; [`CaError::InvalidValidity`]; [`CaError::Crypto`].
    pub fn generate_self_signed<R: rand::CryptoRng + ?Sized>(
        names: &[&str],
        now: OffsetDateTime,
        validity: Duration,
        rng: &mut R,
    ) -> Result<Self, CaError> {
        let first = names
            .first()
            .ok_or_else(|| CaError::InvalidName("no DNS name or IP given".into()))?;
        crate::ca::check_name(first)?;
        let (not_before, not_after) = validity_window(now, validity)?;
        let sans = names
            .iter()
            .map(|name| match name.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) if !name.is_empty() && !name.contains(char::is_whitespace) => (*name)
                    .try_into()
                    .map(SanType::DnsName)
                    .map_err(|e| CaError::InvalidName(format!("{name:?}: {e}"))),
                Err(_) => Err(CaError::InvalidName(format!("{name:?} is not a DNS name"))),
            })
            .collect::<Result<Vec<_>, _>>()?;

        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(crypto)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, *first);
        params.distinguished_name = dn;
        params.subject_alt_names = sans;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.serial_number = Some(SerialNumber::from_slice(&util::random_serial(rng)));
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params.self_signed(&key).map_err(crypto)?;
        let cert_der = cert.der().to_vec();
        Ok(Self {
            cert_pem: util::certificate_der_to_pem(&cert_der),
            cert_der,
            key,
        })
    }

    /// Loads a certificate (first `CERTIFICATE` PEM block) and its private key (PKCS#8,
    /// PKCS#1 or SEC1 PEM). Errors: [`CaError::CorruptCertificate`], [`CaError::CorruptKey`],
    /// [`CaError::KeyMismatch`].
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CaError> {
        let cert_der = util::certificate_pem_to_der(cert_pem)?;
        let key = KeyPair::from_pem(key_pem).map_err(|e| CaError::CorruptKey(e.to_string()))?;
        let (_, cert) = X509Certificate::from_der(&cert_der)
            .map_err(|e| CaError::CorruptCertificate(e.to_string()))?;
        if key.public_key_raw() != cert.public_key().subject_public_key.data.as_ref() {
            return Err(CaError::KeyMismatch);
        }
        drop(cert);
        Ok(Self {
            cert_pem: util::certificate_der_to_pem(&cert_der),
            cert_der,
            key,
        })
    }

    /// Loads from two files; a missing one is [`CaError::FileMissing`]; else as
    /// [`Self::from_pem`].
    pub fn load_files(cert_path: &Path, key_path: &Path) -> Result<Self, CaError> {
        let cert_pem = util::read_text(cert_path, "TLS certificate")?;
        let key_pem = util::read_text(key_path, "TLS private key")?;
        Self::from_pem(&cert_pem, &key_pem)
    }

    /// Writes the key (mode 0600, created exclusively) then the certificate (0644); refuses to
    /// overwrite ([`CaError::FileExists`]). Parent directories must exist.
    pub fn save_files(&self, cert_path: &Path, key_path: &Path) -> Result<(), CaError> {
        if cert_path.exists() {
            return Err(CaError::FileExists {
                path: cert_path.to_owned(),
            });
        }
        util::write_private_file(key_path, self.private_key_pem().as_bytes())?;
        util::write_public_file(cert_path, self.cert_pem.as_bytes())
    }

    /// Loads `dir/tls.pem` + `dir/tls.key` if both exist; generates and saves a self-signed
    /// identity for `names` (valid [`DEFAULT_TLS_VALIDITY`]) if neither does, returning `true`
    /// then. Exactly one existing file is [`CaError::FileMissing`] for the other.
    pub fn load_or_generate<R: rand::CryptoRng + ?Sized>(
        dir: &Path,
        names: &[&str],
        now: OffsetDateTime,
        rng: &mut R,
    ) -> Result<(Self, bool), CaError> {
        let cert_path = dir.join(TLS_CERT_FILE);
        let key_path = dir.join(TLS_KEY_FILE);
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => Ok((Self::load_files(&cert_path, &key_path)?, false)),
            (false, false) => {
                let identity = Self::generate_self_signed(names, now, DEFAULT_TLS_VALIDITY, rng)?;
                util::create_dir(dir)?;
                identity.save_files(&cert_path, &key_path)?;
                Ok((identity, true))
            }
            (true, false) => Err(CaError::FileMissing {
                what: "TLS private key",
                path: key_path,
            }),
            (false, true) => Err(CaError::FileMissing {
                what: "TLS certificate",
                path: cert_path,
            }),
        }
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate, PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The private key, PKCS#8 DER (for rustls `PrivateKeyDer::Pkcs8`). Secret.
    pub fn private_key_pkcs8_der(&self) -> &[u8] {
        self.key.serialized_der()
    }

    /// The private key, PKCS#8 PEM. Secret.
    pub fn private_key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// SHA-1 of the certificate DER, uppercase hex.
    pub fn sha1_thumbprint(&self) -> String {
        util::sha1_thumbprint(&self.cert_der)
    }
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("sha1_thumbprint", &self.sha1_thumbprint())
            .finish_non_exhaustive()
    }
}
