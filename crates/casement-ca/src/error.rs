//! The one error type of this crate, grouped by who is at fault.

use std::path::PathBuf;

use time::OffsetDateTime;

/// Everything that can go wrong in `casement-ca`.
///
/// Variants are grouped by who is at fault; [`CaError::fault`] says which group a value
/// belongs to, so that a handler can pick its answer (SOAP fault / TLS refusal for the peer,
/// HTTP 500 and a log line for everything else) without matching every variant. Messages
/// never contain key material; for peer faults they may contain short parser diagnostics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    // ---------------------------------------------------------------------------------------
    // The peer's fault: bytes a device or client sent us.
    // ---------------------------------------------------------------------------------------
    /// The input is larger than [`crate::MAX_INPUT_LEN`]; refused before parsing.
    #[error("input too large: {len} bytes (limit {limit})")]
    InputTooLarge {
        /// Length of what was presented.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The input is neither DER nor (PEM-armoured) base64 of DER.
    #[error("input is neither DER nor base64: {0}")]
    BadEncoding(String),
    /// The bytes are not a PKCS#10 `CertificationRequest` (RFC 2986 §4).
    #[error("malformed PKCS#10 certificate request: {0}")]
    MalformedCsr(String),
    /// The CSR is signed with an algorithm we cannot verify (e.g. DSA, RSA-PSS with SHA-1).
    #[error("unsupported CSR signature algorithm {0}")]
    UnsupportedCsrSignatureAlgorithm(String),
    /// The CSR's signature does not verify with the public key it carries, so the requester
    /// has not proven possession of the private key (RFC 2986 §3, step 3).
    #[error("CSR signature does not verify")]
    CsrSignatureInvalid,
    /// The CSR's public key is of a type or size we refuse to certify (RSA below 2048 bits,
    /// DSA, unknown curves, ...).
    #[error("public key not acceptable: {0}")]
    UnacceptablePublicKey(String),
    /// The bytes are not a CMS `ContentInfo` holding an attached `SignedData` whose content is
    /// a PKCS#10 request (RFC 5652 §3, §5.1, §5.2).
    #[error("malformed PKCS#7/CMS SignedData: {0}")]
    MalformedPkcs7(String),
    /// A `SignerInfo` names a certificate that is not in the `SignedData`'s certificate set.
    #[error("PKCS#7 signer certificate not found in the message")]
    Pkcs7SignerNotFound,
    /// A `SignerInfo` uses a digest or signature algorithm we do not implement.
    #[error("unsupported PKCS#7 algorithm {0}")]
    UnsupportedPkcs7Algorithm(String),
    /// The CMS signature does not verify (RFC 5652 §5.6): the `message-digest` attribute does
    /// not match the content, the `content-type` attribute is missing or wrong, or the
    /// signature over the signed attributes (or content) fails with the signer's key.
    #[error("PKCS#7 signature does not verify: {0}")]
    Pkcs7SignatureInvalid(&'static str),
    /// A presented certificate is not a parseable X.509 v3 certificate.
    #[error("malformed certificate: {0}")]
    MalformedCertificate(String),
    /// A presented certificate was not issued by this CA (issuer name differs or the signature
    /// does not verify with the CA's key).
    #[error("certificate was not issued by this CA")]
    ForeignCertificate,
    /// A presented certificate is not valid yet at `now`.
    #[error("certificate not valid before {not_before}")]
    CertificateNotYetValid {
        /// The certificate's notBefore.
        not_before: OffsetDateTime,
    },
    /// A presented certificate has expired at `now`.
    #[error("certificate expired at {not_after}")]
    CertificateExpired {
        /// The certificate's notAfter.
        not_after: OffsetDateTime,
    },
    /// A presented certificate lacks the clientAuth extended key usage, or is a CA certificate.
    #[error("certificate is not a client-authentication certificate")]
    NotAClientCertificate,
    /// A presented certificate has no usable subject CN, so it names no device.
    #[error("certificate names no device (no UTF-8 subject CN)")]
    CertificateWithoutDeviceId,

    // ---------------------------------------------------------------------------------------
    // The caller's fault: arguments our own code passed in.
    // ---------------------------------------------------------------------------------------
    /// The device ID to put in a certificate is empty, longer than 64 characters
    /// (ub-common-name, RFC 5280 App. A) or contains control characters.
    #[error("invalid device id: {0}")]
    InvalidDeviceId(String),
    /// A validity duration is zero or negative, or would overflow the date range.
    #[error("invalid validity: {0}")]
    InvalidValidity(String),
    /// A name given for a certificate (CA common name, TLS DNS name) is not acceptable.
    #[error("invalid name: {0}")]
    InvalidName(String),

    // ---------------------------------------------------------------------------------------
    // The operator's fault: files and configuration.
    // ---------------------------------------------------------------------------------------
    /// A configured file does not exist.
    #[error("{what} not found at {path}")]
    FileMissing {
        /// What the file should hold ("CA private key", "CA certificate", ...).
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A file to be created already exists; we never overwrite keys.
    #[error("{path} already exists; refusing to overwrite it")]
    FileExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A private key (PEM) cannot be parsed, or is of an unsupported type.
    #[error("corrupt or unsupported private key ({0})")]
    CorruptKey(String),
    /// A certificate (PEM) configured for the CA or the TLS listener cannot be parsed.
    #[error("corrupt certificate ({0})")]
    CorruptCertificate(String),
    /// The private key does not belong to the certificate it was loaded with.
    #[error("the private key does not match the certificate's public key")]
    KeyMismatch,
    /// The configured CA certificate is not a CA (basicConstraints cA=FALSE or absent, or no
    /// keyCertSign key usage).
    #[error("the configured CA certificate is not a CA certificate: {0}")]
    NotACaCertificate(String),
    /// The CA certificate has expired; nothing can be issued until it is replaced.
    #[error("the CA certificate expired at {not_after}")]
    CaExpired {
        /// The CA certificate's notAfter.
        not_after: OffsetDateTime,
    },

    // ---------------------------------------------------------------------------------------
    // Nobody's fault we can name: the crypto backend failed.
    // ---------------------------------------------------------------------------------------
    /// Key generation or signing failed inside rcgen / aws-lc-rs.
    #[error("crypto backend error: {0}")]
    Crypto(String),
}

/// Who is responsible for a [`CaError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A device or client sent bad data; answer with a protocol-level refusal.
    Peer,
    /// Our own code passed a bad argument; a bug to fix.
    Caller,
    /// A file or setting the operator controls is wrong or missing.
    Operator,
    /// The crypto backend failed.
    Internal,
}

impl CaError {
    /// Which party is at fault for this error.
    pub fn fault(&self) -> Fault {
        use CaError::*;
        match self {
            InputTooLarge { .. }
            | BadEncoding(_)
            | MalformedCsr(_)
            | UnsupportedCsrSignatureAlgorithm(_)
            | CsrSignatureInvalid
            | UnacceptablePublicKey(_)
            | MalformedPkcs7(_)
            | Pkcs7SignerNotFound
            | UnsupportedPkcs7Algorithm(_)
            | Pkcs7SignatureInvalid(_)
            | MalformedCertificate(_)
            | ForeignCertificate
            | CertificateNotYetValid { .. }
            | CertificateExpired { .. }
            | NotAClientCertificate
            | CertificateWithoutDeviceId => Fault::Peer,
            InvalidDeviceId(_) | InvalidValidity(_) | InvalidName(_) => Fault::Caller,
            FileMissing { .. }
            | FileExists { .. }
            | Io { .. }
            | CorruptKey(_)
            | CorruptCertificate(_)
            | KeyMismatch
            | NotACaCertificate(_)
            | CaExpired { .. } => Fault::Operator,
            Crypto(_) => Fault::Internal,
        }
    }
}

pub(crate) fn crypto(e: rcgen::Error) -> CaError {
    CaError::Crypto(e.to_string())
}
