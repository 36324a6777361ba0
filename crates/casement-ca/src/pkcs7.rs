//! PKCS#7 / CMS `SignedData`-wrapped certificate requests, as sent for renewal
//! (MS-MDE §3.5: the `BinarySecurityToken` ValueType `...enrollment#PKCS7`; MS-WSTEP).
//!
//! What is checked (RFC 5652 §5.6), for every `SignerInfo`:
//! 1. the signer certificate named by `sid` (issuer+serial or subject key identifier) is in the
//!    `SignedData` certificate set;
//! 2. with signed attributes: exactly one `content-type` attribute equal to `eContentType`
//!    (§11.1) and exactly one `message-digest` attribute equal to the digest of the eContent
//!    octets under `digestAlgorithm` (§11.2, §5.4); the signature is then checked over the DER
//!    of the signed attributes with an explicit SET OF tag (§5.4);
//! 3. without signed attributes: the signature is checked over the eContent octets;
//! 4. the signature verifies with the signer certificate's public key (aws-lc-rs).
//!
//! Not checked here: that the signer certificate is valid, unexpired or issued by anyone in
//! particular; [`CertificateAuthority::verify_renewal_request`] adds that for our own CA.
//! Limits: the message must be DER (the der crate refuses BER indefinite lengths and
//! constructed OCTET STRINGs), and signed attributes are re-encoded in DER SET OF order before
//! the signature check, so a signer that signed a non-DER-sorted attribute set fails.
//! Supported algorithms: digests SHA-1/256/384/512; signatures RSA PKCS#1 v1.5 (keys of
//! 2048–8192 bits, with rsaEncryption or shaXWithRSAEncryption OIDs, including the OIW
//! sha1RSA OID) and ECDSA P-256/P-384 with SHA-256/384.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::attr::Attributes;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

use crate::{CaError, CertificateAuthority, VerifiedCsr, VerifiedDevice, util};

/// A PKCS#10 request taken out of a CMS `SignedData` whose signature(s) verified.
///
/// Built only by [`VerifiedPkcs7Csr::from_der`] and friends. The inner request has passed
/// the same checks as [`VerifiedCsr::from_der`] (its own self-signature included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPkcs7Csr {
    csr: VerifiedCsr,
    signer_certificates: Vec<Vec<u8>>,
    certificates: Vec<Vec<u8>>,
}

impl VerifiedPkcs7Csr {
    /// Parses a DER `ContentInfo` with attached `SignedData`, verifies every `SignerInfo` as
    /// described in the module documentation and parses the encapsulated PKCS#10 request.
    ///
    /// Errors: [`CaError::InputTooLarge`]; [`CaError::MalformedPkcs7`] when the structure is
    /// not an attached `SignedData` with at least one `SignerInfo`;
    /// [`CaError::Pkcs7SignerNotFound`]; [`CaError::UnsupportedPkcs7Algorithm`];
    /// [`CaError::Pkcs7SignatureInvalid`]; then every [`VerifiedCsr::from_der`] error for the
    /// inner request. Never panics.
    pub fn from_der(der: &[u8]) -> Result<Self, CaError> {
        util::check_len(der.len())?;
        let content_info = ContentInfo::from_der(der).map_err(malformed)?;
        if content_info.content_type != ID_SIGNED_DATA {
            return Err(CaError::MalformedPkcs7(format!(
                "content type {} is not signedData",
                content_info.content_type
            )));
        }
        let signed: SignedData = content_info.content.decode_as().map_err(malformed)?;
        let econtent = signed
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or_else(|| CaError::MalformedPkcs7("detached content (no eContent)".into()))?;
        let content: OctetString = econtent.decode_as().map_err(malformed)?;
        let content = content.as_bytes();

        let certs: Vec<&Certificate> = signed
            .certificates
            .iter()
            .flat_map(|set| set.0.iter())
            .filter_map(|choice| match choice {
                CertificateChoices::Certificate(cert) => Some(cert),
                CertificateChoices::Other(_) => None,
            })
            .collect();
        if signed.signer_infos.0.is_empty() {
            return Err(CaError::MalformedPkcs7("no SignerInfo".into()));
        }
        let mut signer_certificates = Vec::with_capacity(signed.signer_infos.0.len());
        for signer in signed.signer_infos.0.iter() {
            let cert = find_signer(&certs, &signer.sid).ok_or(CaError::Pkcs7SignerNotFound)?;
            verify_signer(
                signer,
                &signed.encap_content_info.econtent_type,
                content,
                cert,
            )?;
            signer_certificates.push(cert.to_der().map_err(malformed)?);
        }
        let certificates = certs
            .iter()
            .map(|c| c.to_der().map_err(malformed))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            csr: VerifiedCsr::from_der(content)?,
            signer_certificates,
            certificates,
        })
    }

    /// Like [`Self::from_der`] for base64 text (whitespace ignored, PEM armour skipped).
    pub fn from_base64(text: &str) -> Result<Self, CaError> {
        Self::from_der(&util::base64_text(text)?)
    }

    /// Accepts DER or base64/PEM text; see [`Self::from_der`].
    pub fn parse(input: &[u8]) -> Result<Self, CaError> {
        Self::from_der(&util::der_or_base64(input)?)
    }

    /// The encapsulated, verified PKCS#10 request.
    pub fn csr(&self) -> &VerifiedCsr {
        &self.csr
    }

    /// Takes the inner request.
    pub fn into_csr(self) -> VerifiedCsr {
        self.csr
    }

    /// DER of the certificate of each `SignerInfo`, in message order (at least one).
    pub fn signer_certificates(&self) -> &[Vec<u8>] {
        &self.signer_certificates
    }

    /// DER of every X.509 certificate carried in the `SignedData`.
    pub fn certificates(&self) -> &[Vec<u8>] {
        &self.certificates
    }
}

impl CertificateAuthority {
    /// A renewal request (MS-MDE §3.5): a PKCS#7 `SignedData` (DER or base64) whose signature
    /// verifies ([`VerifiedPkcs7Csr::parse`]) and whose first signer certificate is a valid
    /// client certificate of this CA at `now` ([`Self::verify_client_certificate`]).
    ///
    /// The caller should also compare the returned device with the TLS client certificate of
    /// the request and with its device records. Errors: those of both functions.
    pub fn verify_renewal_request(
        &self,
        input: &[u8],
        now: OffsetDateTime,
    ) -> Result<(VerifiedPkcs7Csr, VerifiedDevice), CaError> {
        let request = VerifiedPkcs7Csr::parse(input)?;
        let signer = request
            .signer_certificates
            .first()
            .ok_or(CaError::Pkcs7SignerNotFound)?;
        let device = self.verify_client_certificate(signer, now)?;
        Ok((request, device))
    }
}

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const OIW_SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.29");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const CURVE_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const CURVE_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_digest_oid(oid: &ObjectIdentifier) -> Result<Self, CaError> {
        match *oid {
            ID_SHA1 => Ok(Self::Sha1),
            ID_SHA256 => Ok(Self::Sha256),
            ID_SHA384 => Ok(Self::Sha384),
            ID_SHA512 => Ok(Self::Sha512),
            _ => Err(CaError::UnsupportedPkcs7Algorithm(format!("digest {oid}"))),
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => Sha1::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

fn malformed(e: der::Error) -> CaError {
    CaError::MalformedPkcs7(e.to_string())
}

fn find_signer<'a>(certs: &[&'a Certificate], sid: &SignerIdentifier) -> Option<&'a Certificate> {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => certs.iter().copied().find(|c| {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        }),
        SignerIdentifier::SubjectKeyIdentifier(ski) => certs
            .iter()
            .copied()
            .find(|c| subject_key_identifier(c).as_deref() == Some(ski.0.as_bytes())),
    }
}

fn subject_key_identifier(cert: &Certificate) -> Option<Vec<u8>> {
    let ext = cert
        .tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)?;
    let ski = OctetString::from_der(ext.extn_value.as_bytes()).ok()?;
    Some(ski.as_bytes().to_vec())
}

/// RFC 5652 §5.6 for one `SignerInfo`.
fn verify_signer(
    signer: &SignerInfo,
    econtent_type: &ObjectIdentifier,
    content: &[u8],
    cert: &Certificate,
) -> Result<(), CaError> {
    let hash = Hash::from_digest_oid(&signer.digest_alg.oid)?;
    let signed_message = match &signer.signed_attrs {
        Some(attrs) => {
            let content_type: ObjectIdentifier = single_attr(attrs, &ID_CONTENT_TYPE)
                .ok_or(CaError::Pkcs7SignatureInvalid(
                    "content-type attribute missing or repeated",
                ))?
                .decode_as()
                .map_err(|_| CaError::Pkcs7SignatureInvalid("content-type attribute malformed"))?;
            if content_type != *econtent_type {
                return Err(CaError::Pkcs7SignatureInvalid(
                    "content-type attribute differs from eContentType",
                ));
            }
            let digest: OctetString = single_attr(attrs, &ID_MESSAGE_DIGEST)
                .ok_or(CaError::Pkcs7SignatureInvalid(
                    "message-digest attribute missing or repeated",
                ))?
                .decode_as()
                .map_err(|_| {
                    CaError::Pkcs7SignatureInvalid("message-digest attribute malformed")
                })?;
            if digest.as_bytes() != hash.digest(content).as_slice() {
                return Err(CaError::Pkcs7SignatureInvalid(
                    "message-digest attribute does not match the content",
                ));
            }
            // §5.4: the signature covers the DER of SignedAttributes with an EXPLICIT SET OF
            // tag (0x31), not the [0] IMPLICIT tag it has inside SignerInfo.
            attrs.to_der().map_err(malformed)?
        }
        None => content.to_vec(),
    };
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let algorithm = verification_algorithm(&signer.signature_algorithm.oid, hash, spki)?;
    UnparsedPublicKey::new(algorithm, spki.subject_public_key.raw_bytes())
        .verify(&signed_message, signer.signature.as_bytes())
        .map_err(|_| {
            CaError::Pkcs7SignatureInvalid("signature does not verify with the signer's key")
        })
}

/// The one value of the one attribute `oid`, or `None` if absent, repeated or multi-valued
/// (RFC 5652 §5.3, §11.1, §11.2 require exactly one of each).
fn single_attr<'a>(attrs: &'a Attributes, oid: &ObjectIdentifier) -> Option<&'a der::Any> {
    let mut matching = attrs.iter().filter(|a| a.oid == *oid);
    let attr = matching.next()?;
    if matching.next().is_some() || attr.values.len() != 1 {
        return None;
    }
    attr.values.iter().next()
}

fn verification_algorithm(
    signature_oid: &ObjectIdentifier,
    digest: Hash,
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<&'static dyn VerificationAlgorithm, CaError> {
    let unsupported = || {
        CaError::UnsupportedPkcs7Algorithm(format!(
            "signature {signature_oid} with key {} and digest {digest:?}",
            spki.algorithm.oid
        ))
    };
    let rsa_hash = match *signature_oid {
        RSA_ENCRYPTION => Some(digest),
        SHA1_WITH_RSA | OIW_SHA1_WITH_RSA => Some(Hash::Sha1),
        SHA256_WITH_RSA => Some(Hash::Sha256),
        SHA384_WITH_RSA => Some(Hash::Sha384),
        SHA512_WITH_RSA => Some(Hash::Sha512),
        _ => None,
    };
    if let Some(hash) = rsa_hash {
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(unsupported());
        }
        return Ok(match hash {
            Hash::Sha1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Hash::Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Hash::Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Hash::Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        });
    }
    let ec_hash = match *signature_oid {
        ECDSA_WITH_SHA256 => Hash::Sha256,
        ECDSA_WITH_SHA384 => Hash::Sha384,
        _ => return Err(unsupported()),
    };
    if spki.algorithm.oid != EC_PUBLIC_KEY {
        return Err(unsupported());
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    match (curve, ec_hash) {
        (Some(CURVE_P256), Hash::Sha256) => Ok(&signature::ECDSA_P256_SHA256_ASN1),
        (Some(CURVE_P256), Hash::Sha384) => Ok(&signature::ECDSA_P256_SHA384_ASN1),
        (Some(CURVE_P384), Hash::Sha256) => Ok(&signature::ECDSA_P384_SHA256_ASN1),
        (Some(CURVE_P384), Hash::Sha384) => Ok(&signature::ECDSA_P384_SHA384_ASN1),
        _ => Err(unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_csr_is_not_pkcs7() {
        let der = include_bytes!("../testdata/win10-csr.der");
        assert!(matches!(
            VerifiedPkcs7Csr::from_der(der),
            Err(CaError::MalformedPkcs7(_))
        ));
    }

    #[test]
    fn unknown_digest_is_unsupported() {
        let oid = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5"); // MD5
        assert!(matches!(
            Hash::from_digest_oid(&oid),
            Err(CaError::UnsupportedPkcs7Algorithm(_))
        ));
    }

    #[test]
    fn digests_have_expected_lengths() {
        assert_eq!(Hash::Sha1.digest(b"x").len(), 20);
        assert_eq!(Hash::Sha256.digest(b"x").len(), 32);
        assert_eq!(Hash::Sha384.digest(b"x").len(), 48);
        assert_eq!(Hash::Sha512.digest(b"x").len(), 64);
    }
}
