//! PKCS#10 certificate requests (RFC 2986), parsed as leniently as real Windows clients need.
//!
//! Real Windows 10 requests (fixture `testdata/win10-csr.der`, see `testdata/README.md`) are signed
//! under the OIW OID 1.3.14.3.2.29 (sha1WithRSA), carry a subject CN that is a PrintableString
//! containing '!' and a trailing NUL, and request the Microsoft extension
//! 1.3.6.1.4.1.311.66.1.0 (DeviceID, ASCII + NUL). Strict parsers refuse all three; x509-parser
//! accepts them, so it does the parsing and the signature check here.

use x509_parser::asn1_rs::Tag;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::error::X509Error;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{AttributeTypeAndValue, SubjectPublicKeyInfo};

use crate::CaError;
use crate::util;

/// Dotted form of Microsoft's DeviceID request extension (szOID_... 1.3.6.1.4.1.311.66.1.0), as
/// sent by Windows MDM enrollment clients (docs/protocol.md §1.5).
pub const OID_MS_DEVICE_ID: &str = "1.3.6.1.4.1.311.66.1.0";

/// Smallest RSA modulus we certify. Windows 8.1 and later generate 2048-bit keys.
pub const MIN_RSA_BITS: usize = 2048;

/// A PKCS#10 request whose self-signature has been verified (proof of possession of the key).
///
/// Only [`VerifiedCsr::from_der`] and friends build it, so holding one proves the check
/// happened; [`crate::CertificateAuthority::issue_device_certificate`] requires it. Every field
/// except the public key is *claimed by the peer* and must not be used as an identity without
/// checking it against what the enrollment session authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCsr {
    der: Vec<u8>,
    spki_der: Vec<u8>,
    key_description: String,
    signature_algorithm_oid: String,
    subject_common_name: Option<String>,
    device_id_extension: Option<String>,
}

impl VerifiedCsr {
    /// Parses and verifies a DER `CertificationRequest`.
    ///
    /// Errors: [`CaError::InputTooLarge`] over [`crate::MAX_INPUT_LEN`];
    /// [`CaError::MalformedCsr`] for anything that is not exactly one PKCS#10 structure
    /// (trailing bytes included); [`CaError::UnacceptablePublicKey`] for keys other than
    /// RSA 2048–8192 bits or EC P-256/P-384; [`CaError::UnsupportedCsrSignatureAlgorithm`] for
    /// signature algorithms aws-lc-rs cannot verify; [`CaError::CsrSignatureInvalid`] when the
    /// signature does not verify. Never panics.
    pub fn from_der(der: &[u8]) -> Result<Self, CaError> {
        util::check_len(der.len())?;
        let (rest, csr) = X509CertificationRequest::from_der(der)
            .map_err(|e| CaError::MalformedCsr(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CaError::MalformedCsr(format!(
                "{} trailing bytes after the request",
                rest.len()
            )));
        }
        let info = &csr.certification_request_info;
        let key_description = acceptable_key(&info.subject_pki)?;
        let signature_algorithm_oid = csr.signature_algorithm.algorithm.to_id_string();
        csr.verify_signature().map_err(|e| match e {
            X509Error::SignatureUnsupportedAlgorithm => {
                CaError::UnsupportedCsrSignatureAlgorithm(signature_algorithm_oid.clone())
            }
            _ => CaError::CsrSignatureInvalid,
        })?;

        let subject_common_name = info.subject.iter_common_name().next().map(lossy_text);
        let device_id_extension = device_id_extension(&csr);
        Ok(Self {
            der: der.to_vec(),
            spki_der: info.subject_pki.raw.to_vec(),
            key_description,
            signature_algorithm_oid,
            subject_common_name,
            device_id_extension,
        })
    }

    /// Like [`VerifiedCsr::from_der`] for base64 text as carried in a WS-Trust
    /// `BinarySecurityToken`: any ASCII whitespace (CR/LF included) is ignored, padding is
    /// optional, and PEM armour lines (`-----BEGIN CERTIFICATE REQUEST-----`) are skipped.
    /// Errors: [`CaError::BadEncoding`] when the text is not base64, then as `from_der`.
    pub fn from_base64(text: &str) -> Result<Self, CaError> {
        Self::from_der(&util::base64_text(text)?)
    }

    /// Accepts either DER (starts with a SEQUENCE tag, 0x30) or base64/PEM text.
    /// Errors as [`VerifiedCsr::from_base64`] / [`VerifiedCsr::from_der`].
    pub fn parse(input: &[u8]) -> Result<Self, CaError> {
        Self::from_der(&util::der_or_base64(input)?)
    }

    /// The request exactly as received (DER).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The requester's public key, DER `SubjectPublicKeyInfo`; this is what gets certified.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Human-readable key type and size, e.g. `"RSA-2048"` or `"EC P-256"`.
    pub fn key_description(&self) -> &str {
        &self.key_description
    }

    /// Dotted OID of the request's signature algorithm (e.g. `1.3.14.3.2.29` from Windows).
    pub fn signature_algorithm_oid(&self) -> &str {
        &self.signature_algorithm_oid
    }

    /// The first subject CN as text, decoded leniently: UTF8String/PrintableString/IA5String/
    /// TeletexString bytes as lossy UTF-8, BMPString as UTF-16BE, UniversalString as UTF-32BE;
    /// trailing NULs removed (Windows adds one). `None` if the subject has no CN. Peer-claimed.
    pub fn subject_common_name(&self) -> Option<&str> {
        self.subject_common_name.as_deref()
    }

    /// The value of the requested extension [`OID_MS_DEVICE_ID`] as text: the raw ASCII bytes
    /// (or the content of a DER string, if a client wraps it), with trailing NULs and
    /// surrounding whitespace removed. `None` when absent or empty. Peer-claimed.
    pub fn device_id_extension(&self) -> Option<&str> {
        self.device_id_extension.as_deref()
    }
}

/// DER bytes of OID 1.3.6.1.4.1.311.66.1.0 (X.690 §8.19).
const DEVICE_ID_OID_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x42, 0x01, 0x00];

/// Accepts RSA 2048..=8192 and EC P-256/P-384; describes the key.
fn acceptable_key(spki: &SubjectPublicKeyInfo<'_>) -> Result<String, CaError> {
    let alg = &spki.algorithm.algorithm;
    if *alg == OID_PKCS1_RSAENCRYPTION {
        let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
            return Err(CaError::UnacceptablePublicKey(
                "unparseable RSA public key".into(),
            ));
        };
        let bits = rsa.key_size();
        if !(MIN_RSA_BITS..=8192).contains(&bits) {
            return Err(CaError::UnacceptablePublicKey(format!(
                "RSA-{bits} (need {MIN_RSA_BITS}..=8192 bits)"
            )));
        }
        return Ok(format!("RSA-{bits}"));
    }
    if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) if c == OID_EC_P256 => Ok("EC P-256".into()),
            Some(c) if c == OID_NIST_EC_P384 => Ok("EC P-384".into()),
            Some(c) => Err(CaError::UnacceptablePublicKey(format!(
                "EC curve {}",
                c.to_id_string()
            ))),
            None => Err(CaError::UnacceptablePublicKey(
                "EC key without curve".into(),
            )),
        };
    }
    Err(CaError::UnacceptablePublicKey(format!(
        "key algorithm {}",
        alg.to_id_string()
    )))
}

/// Decodes a directory string leniently (see [`VerifiedCsr::subject_common_name`]).
pub(crate) fn lossy_text(attr: &AttributeTypeAndValue<'_>) -> String {
    let value = attr.attr_value();
    let bytes = value.data;
    let text = match value.tag() {
        Tag::BmpString => char::decode_utf16(
            bytes
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])),
        )
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect(),
        Tag::UniversalString => bytes
            .chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                char::from_u32(u32::from_be_bytes(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    };
    text.trim_end_matches('\0').to_owned()
}

fn device_id_extension(csr: &X509CertificationRequest<'_>) -> Option<String> {
    let ext = csr
        .certification_request_info
        .iter_attributes()
        .filter_map(|attr| match attr.parsed_attribute() {
            ParsedCriAttribute::ExtensionRequest(req) => Some(req),
            _ => None,
        })
        .flat_map(|req| req.extensions.iter())
        .find(|ext| ext.oid.as_bytes() == DEVICE_ID_OID_DER)?;
    let raw = unwrap_der_string(ext.value);
    let text = String::from_utf8_lossy(raw);
    // NULs and whitespace in any order at the end ("ID\0 " too), whitespace at the start.
    let text = text
        .trim_end_matches(|c: char| c == '\0' || c.is_whitespace())
        .trim_start();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Windows puts the ASCII bytes straight into extnValue. Should a client wrap them in a DER
/// OCTET STRING / UTF8String / PrintableString / IA5String spanning the whole value, take the
/// content instead. ASCII text never starts with these tag bytes followed by a matching length.
fn unwrap_der_string(value: &[u8]) -> &[u8] {
    match value {
        [tag, len, rest @ ..]
            if matches!(tag, 0x04 | 0x0c | 0x13 | 0x16) && usize::from(*len) == rest.len() =>
        {
            rest
        }
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18 (fuzz target `ca_csr`, mode 3: CN then DeviceID extnValue): a DeviceID of
    /// `<id>\0 ` (NUL, then a space) came out as `<id>\0`: the NULs were trimmed before the
    /// whitespace. Trailing NULs and whitespace now go in any order.
    #[test]
    fn regression_issue_18_device_id_trailing_nul_and_space() {
        let input =
            include_bytes!("../testdata/fuzz-regressions/ca_csr/device-id-nul-then-space.bin");
        // [mode 3][string tag index][n][n bytes of CN][extnValue]
        let n = usize::from(input[2]);
        let (cn, value) = input[3..].split_at(n);
        let mut params = rcgen::CertificateParams::default();
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, std::str::from_utf8(cn).unwrap());
        params.distinguished_name = dn;
        params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 311, 66, 1, 0],
            value.to_vec(),
        )];
        let key = rcgen::KeyPair::generate().unwrap();
        let der = params.serialize_request(&key).unwrap().der().to_vec();
        let csr = VerifiedCsr::from_der(&der).unwrap();
        assert_eq!(
            csr.device_id_extension(),
            Some("B5B954E81FBCB94EB79BD08BE625F4EE")
        );
        assert_eq!(csr.subject_common_name(), Some("A"));
    }

    #[test]
    fn unwraps_only_whole_der_strings() {
        assert_eq!(unwrap_der_string(b"\x04\x03abc"), b"abc");
        assert_eq!(unwrap_der_string(b"\x0c\x02ab"), b"ab");
        assert_eq!(unwrap_der_string(b"\x04\x05abc"), b"\x04\x05abc");
        assert_eq!(unwrap_der_string(b"B5B9\0"), b"B5B9\0");
        assert_eq!(unwrap_der_string(b""), b"");
    }

    #[test]
    fn empty_and_whitespace_inputs_are_refused() {
        assert!(matches!(
            VerifiedCsr::from_base64(" \r\n\t"),
            Err(CaError::BadEncoding(_))
        ));
        assert!(matches!(
            VerifiedCsr::parse(b""),
            Err(CaError::BadEncoding(_))
        ));
        assert!(matches!(
            VerifiedCsr::from_der(&[]),
            Err(CaError::MalformedCsr(_))
        ));
    }

    #[test]
    fn truncated_der_is_malformed_not_a_panic() {
        let der = include_bytes!("../testdata/win10-csr.der");
        for cut in [1, 2, 10, 100, der.len() / 2, der.len() - 1] {
            let r = VerifiedCsr::from_der(&der[..cut]);
            assert!(
                matches!(r, Err(CaError::MalformedCsr(_))),
                "cut {cut}: {r:?}"
            );
        }
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let big = vec![0x30u8; crate::MAX_INPUT_LEN + 1];
        assert!(matches!(
            VerifiedCsr::from_der(&big),
            Err(CaError::InputTooLarge { .. })
        ));
    }
}
