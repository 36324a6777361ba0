//! Small helpers shared by the modules: input decoding, thumbprints, serials, key files.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::{CaError, MAX_INPUT_LEN};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sha1::{Digest as _, Sha1};

/// Uppercase hex SHA-1 of `der`: the certificate "thumbprint" as Windows provisioning documents
/// name certificate-store entries (MS-MDE §3.6 `CertificateStore/Root/System/<thumb>`).
pub(crate) fn sha1_thumbprint(der: &[u8]) -> String {
    hex::encode_upper(Sha1::digest(der))
}

/// Accepts DER (first byte 0x30, a SEQUENCE) or text: base64 with any ASCII whitespace,
/// optionally inside PEM `-----BEGIN ...-----` / `-----END ...-----` lines. Padding is optional.
pub(crate) fn der_or_base64(input: &[u8]) -> Result<Vec<u8>, CaError> {
    check_len(input.len())?;
    if input.first() == Some(&0x30) {
        return Ok(input.to_vec());
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| CaError::BadEncoding("neither DER nor UTF-8 text".into()))?;
    base64_text(text)
}

/// Decodes base64 text as described for [`der_or_base64`].
pub(crate) fn base64_text(text: &str) -> Result<Vec<u8>, CaError> {
    check_len(text.len())?;
    let mut compact = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----") {
            continue; // PEM armour line
        }
        compact.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
    }
    if compact.is_empty() {
        return Err(CaError::BadEncoding("empty input".into()));
    }
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    LENIENT
        .decode(compact.as_bytes())
        .map_err(|e| CaError::BadEncoding(format!("base64: {e}")))
}

pub(crate) fn check_len(len: usize) -> Result<(), CaError> {
    if len > MAX_INPUT_LEN {
        return Err(CaError::InputTooLarge {
            len,
            limit: MAX_INPUT_LEN,
        });
    }
    Ok(())
}

/// A random positive serial of exactly 16 bytes (RFC 5280 §4.1.2.2: positive, at most 20
/// octets). The top bit is cleared (positive) and the next one set so the DER INTEGER is
/// always 16 octets long; 126 bits come from `rng`.
pub(crate) fn random_serial<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> [u8; 16] {
    let mut serial = [0u8; 16];
    rng.fill_bytes(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x40;
    serial
}

/// Writes a private key file that is never readable by anyone but the owner: the file is
/// created (never truncated or reused) with mode 0600 in the `open(2)` call itself, so there
/// is no window in which it exists with looser permissions. Refuses to overwrite.
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), CaError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| open_error(path, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|source| CaError::Io {
            path: path.to_owned(),
            source,
        })
}

/// Writes a public file (certificate), refusing to overwrite.
pub(crate) fn write_public_file(path: &Path, contents: &[u8]) -> Result<(), CaError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| open_error(path, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|source| CaError::Io {
            path: path.to_owned(),
            source,
        })
}

/// Reads a UTF-8 text file; a missing file becomes [`CaError::FileMissing`] naming `what`.
pub(crate) fn read_text(path: &Path, what: &'static str) -> Result<String, CaError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| match what {
            w if w.contains("key") => {
                CaError::CorruptKey(format!("{} is not text", path.display()))
            }
            _ => CaError::CorruptCertificate(format!("{} is not text", path.display())),
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(CaError::FileMissing {
            what,
            path: path.to_owned(),
        }),
        Err(source) => Err(CaError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

pub(crate) fn create_dir(dir: &Path) -> Result<(), CaError> {
    fs::create_dir_all(dir).map_err(|source| CaError::Io {
        path: dir.to_owned(),
        source,
    })
}

fn open_error(path: &Path, e: std::io::Error) -> CaError {
    if e.kind() == ErrorKind::AlreadyExists {
        CaError::FileExists {
            path: path.to_owned(),
        }
    } else {
        CaError::Io {
            path: path.to_owned(),
            source: e,
        }
    }
}

/// Parses one PEM certificate (first `CERTIFICATE` block) into DER.
pub(crate) fn certificate_pem_to_der(pem_text: &str) -> Result<Vec<u8>, CaError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem_text.as_bytes())
        .map_err(|e| CaError::CorruptCertificate(format!("PEM: {e}")))?;
    if pem.label != "CERTIFICATE" {
        return Err(CaError::CorruptCertificate(format!(
            "PEM label is {:?}, expected CERTIFICATE",
            pem.label
        )));
    }
    Ok(pem.contents)
}

/// PEM-encodes a certificate DER.
pub(crate) fn certificate_der_to_pem(der: &[u8]) -> String {
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    for chunk in b64.as_bytes().chunks(64) {
        // chunks of an ASCII string are ASCII
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn base64_accepts_pem_armour_whitespace_and_missing_padding() {
        let text = "-----BEGIN CERTIFICATE REQUEST-----\r\n  AAEC\r\nAw\n-----END CERTIFICATE REQUEST-----\n";
        assert_eq!(base64_text(text).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(base64_text("AAECAw==").unwrap(), vec![0, 1, 2, 3]);
        assert!(matches!(base64_text("AA$C"), Err(CaError::BadEncoding(_))));
        assert!(matches!(
            base64_text("-----BEGIN X-----\n-----END X-----"),
            Err(CaError::BadEncoding(_))
        ));
    }

    #[test]
    fn der_is_passed_through_and_text_is_decoded() {
        assert_eq!(der_or_base64(&[0x30, 0x00]).unwrap(), vec![0x30, 0x00]);
        assert_eq!(der_or_base64(b"MAA=").unwrap(), vec![0x30, 0x00]);
        assert!(matches!(
            der_or_base64(&[0xff, 0xfe]),
            Err(CaError::BadEncoding(_))
        ));
    }

    #[test]
    fn serials_are_positive_with_a_nonzero_first_byte() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let s = random_serial(&mut rng);
            assert!((0x40..0x80).contains(&s[0]), "{s:02x?}");
        }
    }

    #[test]
    fn thumbprints_are_uppercase_sha1_hex() {
        // SHA-1("abc"), FIPS 180-2 Appendix A.1
        assert_eq!(
            sha1_thumbprint(b"abc"),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
    }

    #[test]
    fn pem_round_trip_of_a_certificate_der() {
        let der: Vec<u8> = (0u8..200).collect();
        let pem = certificate_der_to_pem(&der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        assert_eq!(parsed.contents, der);
    }
}
