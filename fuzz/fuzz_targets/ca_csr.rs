//! Arbitrary bytes into the CA's request parsers: the lenient PKCS#10 parser (OIW sha1RSA,
//! `!` and NUL in a PrintableString CN, the DeviceID extension) and the PKCS#7 renewal request.
//!
//! The first byte picks the mode (`seed.sh` writes it in front of every seed):
//!
//! - `0`: the rest is a PKCS#10 request, DER or base64/PEM text ([`VerifiedCsr::parse`]);
//! - `1`: the rest is a PKCS#7 renewal request, DER or text ([`VerifiedPkcs7Csr::parse`]);
//! - `2`: the rest is a PKCS#10 request whose body this target re-signs with a P-256 key it
//!   generates at start, after putting that key in place of the request's own: mutations of the
//!   subject and the attributes then get past the signature check, into the code that reads the
//!   CN and the DeviceID extension;
//! - `3`: `[string tag][n][n bytes of CN][DeviceID extension value…]`: the target writes a
//!   request with exactly that CN and DeviceID (as Windows does: a bare extnValue) and signs it.
//!
//! Besides "no panic", it asserts for every accepted request: it re-parses from its own DER, from
//! base64 and from PEM to the same value; its key is one the CA certifies; its CN has no trailing
//! NUL and its DeviceID is trimmed and non-empty; in modes 2 and 3 it carries our key and our
//! signature algorithm; in mode 3 its CN and DeviceID are what the parser documents for the bytes
//! put in (decoded by a reference written here). For an accepted PKCS#7: the inner request
//! re-parses to the same value, and every signer certificate is one of the carried certificates.

#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use casement_ca::{VerifiedCsr, VerifiedPkcs7Csr};
use libfuzzer_sys::fuzz_target;

/// AlgorithmIdentifier ecdsa-with-SHA256 (1.2.840.10045.4.3.2).
const ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
/// SPKI prefix of an uncompressed P-256 point (id-ecPublicKey, prime256v1, BIT STRING).
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

struct Signer {
    key: EcdsaKeyPair,
    spki: Vec<u8>,
    rng: SystemRandom,
}

fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        // A fresh key per process: the assertions compare with this process's key only.
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .expect("a P-256 key is generated");
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(key.public_key().as_ref());
        Signer {
            key,
            spki,
            rng: SystemRandom::new(),
        }
    })
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Splits one TLV off `input`: (tag, whole TLV, content, rest). Single-byte tags, definite
/// lengths of up to 4 bytes.
fn split_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    Some((tag, &input[..header + len], &rest[..len], &rest[len..]))
}

/// A signed CertificationRequest around `info` (the CRI content, without its SEQUENCE header).
fn signed_request(info: &[u8]) -> Vec<u8> {
    let s = signer();
    let cri = tlv(0x30, info);
    let signature = s.key.sign(&s.rng, &cri).expect("signing works");
    let mut bits = vec![0u8];
    bits.extend_from_slice(signature.as_ref());
    let mut body = cri;
    body.extend_from_slice(ECDSA_SHA256);
    body.extend_from_slice(&tlv(0x03, &bits));
    tlv(0x30, &body)
}

/// Mode 2: the request's version, subject and attributes, with our key, signed by us.
fn resign(der: &[u8]) -> Option<Vec<u8>> {
    let (0x30, _, outer, _) = split_tlv(der)? else {
        return None;
    };
    let (0x30, _, cri, _) = split_tlv(outer)? else {
        return None;
    };
    let (_, version, _, rest) = split_tlv(cri)?;
    let (_, subject, _, rest) = split_tlv(rest)?;
    let (_, _spki, _, attributes) = split_tlv(rest)?;
    let mut info = version.to_vec();
    info.extend_from_slice(subject);
    info.extend_from_slice(&signer().spki);
    info.extend_from_slice(attributes);
    Some(signed_request(&info))
}

/// The directory-string tags mode 3 writes the CN with.
const STRING_TAGS: [u8; 6] = [0x0c, 0x13, 0x16, 0x14, 0x1e, 0x1c];

/// Mode 3: a request with exactly this CN (string `tag`, `cn` bytes) and DeviceID value.
fn windows_shaped(tag: u8, cn: &[u8], device_id: &[u8]) -> Vec<u8> {
    let cn_oid = [0x06, 0x03, 0x55, 0x04, 0x03];
    let mut atv = cn_oid.to_vec();
    atv.extend_from_slice(&tlv(tag, cn));
    let name = tlv(0x30, &tlv(0x31, &tlv(0x30, &atv)));
    let mut extension = vec![
        0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x42, 0x01, 0x00,
    ];
    extension.extend_from_slice(&tlv(0x04, device_id));
    let extensions = tlv(0x30, &tlv(0x30, &extension));
    let mut attribute = vec![
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e,
    ];
    attribute.extend_from_slice(&tlv(0x31, &extensions));
    let attributes = tlv(0xa0, &tlv(0x30, &attribute));
    let mut info = vec![0x02, 0x01, 0x00];
    info.extend_from_slice(&name);
    info.extend_from_slice(&signer().spki);
    info.extend_from_slice(&attributes);
    signed_request(&info)
}

/// What `subject_common_name` documents for a CN of string `tag` holding `bytes`; `None` where
/// the documentation does not say (an odd-length BMPString, a UniversalString whose length is
/// not a multiple of 4).
fn reference_cn(tag: u8, bytes: &[u8]) -> Option<String> {
    let text: String = match tag {
        0x1e => {
            if bytes.len() % 2 != 0 {
                return None;
            }
            char::decode_utf16(bytes.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])))
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        0x1c => {
            if bytes.len() % 4 != 0 {
                return None;
            }
            bytes
                .chunks(4)
                .map(|c| {
                    char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .unwrap_or(char::REPLACEMENT_CHARACTER)
                })
                .collect()
        }
        _ => String::from_utf8_lossy(bytes).into_owned(),
    };
    Some(text.trim_end_matches('\0').to_owned())
}

/// What `device_id_extension` documents for this extnValue: the raw bytes (or a whole DER
/// OCTET/UTF8/Printable/IA5 string's content) as text, trailing NULs and surrounding whitespace
/// removed, `None` when nothing is left.
fn reference_device_id(value: &[u8]) -> Option<String> {
    let raw = match value {
        [tag, len, rest @ ..]
            if matches!(tag, 0x04 | 0x0c | 0x13 | 0x16) && usize::from(*len) == rest.len() =>
        {
            rest
        }
        _ => value,
    };
    let text = String::from_utf8_lossy(raw);
    let text = text
        .trim_end_matches(|c: char| c == '\0' || c.is_whitespace())
        .trim_start();
    (!text.is_empty()).then(|| text.to_owned())
}

fn check_csr(csr: &VerifiedCsr) {
    let der = csr.der();
    assert_eq!(VerifiedCsr::from_der(der).ok().as_ref(), Some(csr));
    assert_eq!(VerifiedCsr::parse(der).ok().as_ref(), Some(csr));
    let b64 = STANDARD.encode(der);
    assert_eq!(VerifiedCsr::from_base64(&b64).ok().as_ref(), Some(csr));
    let mut pem = String::from("-----BEGIN CERTIFICATE REQUEST-----\r\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push_str("\r\n");
    }
    pem.push_str("-----END CERTIFICATE REQUEST-----\r\n");
    assert_eq!(VerifiedCsr::parse(pem.as_bytes()).ok().as_ref(), Some(csr));

    let key = csr.key_description();
    let rsa_ok = key
        .strip_prefix("RSA-")
        .and_then(|bits| bits.parse::<usize>().ok())
        .is_some_and(|bits| (2048..=8192).contains(&bits));
    assert!(rsa_ok || key == "EC P-256" || key == "EC P-384", "{key}");
    assert!(!csr.public_key_der().is_empty());
    if let Some(cn) = csr.subject_common_name() {
        assert!(!cn.ends_with('\0'), "{cn:?}");
    }
    if let Some(id) = csr.device_id_extension() {
        assert!(!id.is_empty(), "empty DeviceID");
        assert_eq!(id.trim(), id, "DeviceID not trimmed");
        assert!(!id.ends_with('\0'), "DeviceID {id:?} ends with a NUL");
    }
}

fn check_ours(csr: &VerifiedCsr) {
    assert_eq!(csr.public_key_der(), signer().spki.as_slice());
    assert_eq!(csr.key_description(), "EC P-256");
    assert_eq!(csr.signature_algorithm_oid(), "1.2.840.10045.4.3.2");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(csr) = VerifiedCsr::parse(rest) {
                check_csr(&csr);
            }
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(csr) = VerifiedCsr::from_base64(text) {
                    check_csr(&csr);
                }
            }
        }
        1 => {
            if let Ok(p7) = VerifiedPkcs7Csr::parse(rest) {
                check_csr(p7.csr());
                assert!(!p7.signer_certificates().is_empty());
                for signer in p7.signer_certificates() {
                    assert!(
                        p7.certificates().contains(signer),
                        "a signer certificate is not among the carried certificates"
                    );
                }
                if rest.first() == Some(&0x30) {
                    assert_eq!(
                        VerifiedPkcs7Csr::from_base64(&STANDARD.encode(rest))
                            .ok()
                            .as_ref(),
                        Some(&p7)
                    );
                }
            }
        }
        2 => {
            let Some(der) = resign(rest) else {
                return;
            };
            if let Ok(csr) = VerifiedCsr::from_der(&der) {
                check_csr(&csr);
                check_ours(&csr);
            }
        }
        _ => {
            let [tag, n, rest @ ..] = rest else {
                return;
            };
            let tag = STRING_TAGS[usize::from(*tag) % STRING_TAGS.len()];
            let n = usize::from(*n).min(rest.len());
            let (cn, device_id) = rest.split_at(n);
            let der = windows_shaped(tag, cn, device_id);
            match VerifiedCsr::from_der(&der) {
                Ok(csr) => {
                    check_csr(&csr);
                    check_ours(&csr);
                    if let Some(expected) = reference_cn(tag, cn) {
                        assert_eq!(
                            csr.subject_common_name(),
                            Some(expected.as_str()),
                            "CN of tag {tag:#04x} bytes {cn:02x?}"
                        );
                    }
                    assert_eq!(
                        csr.device_id_extension(),
                        reference_device_id(device_id).as_deref(),
                        "DeviceID of extnValue {device_id:02x?}"
                    );
                }
                Err(e) => {
                    // A UTF8String, PrintableString or IA5String of printable ASCII is what
                    // Windows sends (with '!' and a NUL): it must always be accepted.
                    let plain = cn
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || b"!-\0".contains(b));
                    assert!(
                        !(plain && matches!(tag, 0x0c | 0x13 | 0x16)),
                        "a Windows-shaped request is refused: {e:?} (tag {tag:#04x}, CN {cn:02x?})"
                    );
                }
            }
        }
    }
});
