//! casement-ca end to end: the real Windows CSR, issuance checked by openssl, persistence,
//! client-certificate verification and PKCS#7 renewal envelopes made by openssl.
//!
//! openssl is used as an independent oracle. If it is missing, tests that need it fail when
//! `CI=true` and are skipped with a note otherwise.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use casement_ca::{
    CA_CERT_FILE, CA_KEY_FILE, CaConfig, CaError, CertificateAuthority, Fault, TlsIdentity,
    VerifiedCsr, VerifiedPkcs7Csr, windows_like_csr,
};
use time::{Duration, OffsetDateTime};

const WIN10_CSR_DER: &[u8] = include_bytes!("../testdata/win10-csr.der");
const WIN10_CSR_B64: &str = include_str!("../testdata/win10-csr.b64");
const WIN10_CSR_TEXT: &str = include_str!("../testdata/win10-csr.openssl-text.txt");

// ------------------------------------------------------------------------------------------
// The real Windows request
// ------------------------------------------------------------------------------------------

#[test]
fn real_windows_csr_parses_and_its_signature_verifies() {
    let csr = VerifiedCsr::from_der(WIN10_CSR_DER).expect("real Windows CSR");
    assert_eq!(csr.signature_algorithm_oid(), "1.3.14.3.2.29"); // OIW sha1RSA
    assert_eq!(csr.key_description(), "RSA-2048");
    assert_eq!(
        csr.subject_common_name(),
        Some("562A7F9A-6CD8-40B0-9E7E-0DBDD8!B5B954E81FBCB94EB79BD08BE625F4EE")
    );
    assert_eq!(csr.der(), WIN10_CSR_DER);

    // The same request as the base64 text of the BinarySecurityToken, with CRLFs and spaces
    // added the way XML pretty-printers do.
    let wrapped: String = WIN10_CSR_B64
        .trim()
        .as_bytes()
        .chunks(76)
        .map(|c| format!("  {}\r\n", String::from_utf8_lossy(c)))
        .collect();
    assert_eq!(VerifiedCsr::from_base64(&wrapped).unwrap(), csr);
    assert_eq!(VerifiedCsr::parse(wrapped.as_bytes()).unwrap(), csr);
    assert_eq!(VerifiedCsr::parse(WIN10_CSR_DER).unwrap(), csr);
}

#[test]
fn device_id_extension_equals_what_openssl_shows() {
    // 05d (openssl req -text) prints the extension value on the line after its OID, with the
    // trailing NUL shown as '.'.
    let mut lines = WIN10_CSR_TEXT.lines();
    lines
        .by_ref()
        .find(|l| l.trim() == "1.3.6.1.4.1.311.66.1.0:")
        .expect("fixture shows the DeviceID extension");
    let shown = lines.next().unwrap().trim().trim_end_matches('.');
    assert_eq!(shown, "B5B954E81FBCB94EB79BD08BE625F4EE");

    let csr = VerifiedCsr::from_der(WIN10_CSR_DER).unwrap();
    assert_eq!(csr.device_id_extension(), Some(shown));
}

#[test]
fn csr_with_a_flipped_signature_byte_is_refused_with_the_signature_error() {
    let mut der = WIN10_CSR_DER.to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    assert!(matches!(
        VerifiedCsr::from_der(&der),
        Err(CaError::CsrSignatureInvalid)
    ));

    // A change in the signed part (one character of the subject CN) fails the same way.
    let pos = WIN10_CSR_DER.windows(4).position(|w| w == b"562A").unwrap();
    let mut der = WIN10_CSR_DER.to_vec();
    der[pos] = b'7';
    let err = VerifiedCsr::from_der(&der).unwrap_err();
    assert!(matches!(err, CaError::CsrSignatureInvalid), "{err:?}");
    assert_eq!(err.fault(), Fault::Peer);
}

#[test]
fn garbage_is_refused_with_specific_errors() {
    assert!(matches!(
        VerifiedCsr::parse(b"hello, world"),
        Err(CaError::BadEncoding(_))
    ));
    assert!(matches!(
        VerifiedCsr::parse(&[0xff, 0x00, 0x13, 0x37]),
        Err(CaError::BadEncoding(_))
    ));
    // valid base64 of garbage
    assert!(matches!(
        VerifiedCsr::from_base64("AAECAwQFBgcICQ=="),
        Err(CaError::MalformedCsr(_))
    ));
    // a SEQUENCE that is not a request
    assert!(matches!(
        VerifiedCsr::from_der(&[0x30, 0x03, 0x02, 0x01, 0x00]),
        Err(CaError::MalformedCsr(_))
    ));
    // trailing bytes after a good request
    let mut der = WIN10_CSR_DER.to_vec();
    der.push(0);
    assert!(matches!(
        VerifiedCsr::from_der(&der),
        Err(CaError::MalformedCsr(_))
    ));
    // a certificate is not a request
    let ca = new_ca();
    assert!(matches!(
        VerifiedCsr::from_der(ca.certificate_der()),
        Err(CaError::MalformedCsr(_))
    ));
}

#[test]
fn ec_p256_and_plain_requests_are_accepted_without_device_id() {
    let key = rcgen::KeyPair::generate().unwrap(); // P-256
    let params = rcgen::CertificateParams::new(vec![]).unwrap();
    let der = params.serialize_request(&key).unwrap().der().to_vec();
    let csr = VerifiedCsr::from_der(&der).unwrap();
    assert_eq!(csr.key_description(), "EC P-256");
    assert_eq!(csr.device_id_extension(), None);
    assert_eq!(csr.subject_common_name(), Some("rcgen self signed cert"));

    let ca = new_ca();
    let now = OffsetDateTime::now_utc();
    let issued = ca
        .issue_device_certificate(&csr, "ec-device", now, &mut rand::rng())
        .unwrap();
    let device = ca.verify_client_certificate(&issued.der, now).unwrap();
    assert_eq!(device.device_id(), "ec-device");
}

#[test]
fn rsa_1024_request_is_refused_as_weak() {
    let Some(openssl) = openssl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csr = dir.path().join("weak.der");
    run(Command::new(openssl)
        .args(["req", "-new", "-newkey", "rsa:1024", "-nodes"])
        .args([
            "-keyout",
            path(&dir.path().join("weak.key")),
            "-subj",
            "/CN=weak",
            "-outform",
            "DER",
            "-out",
            path(&csr),
        ]));
    let err = VerifiedCsr::from_der(&fs::read(csr).unwrap()).unwrap_err();
    assert!(matches!(err, CaError::UnacceptablePublicKey(_)), "{err:?}");
}

// ------------------------------------------------------------------------------------------
// Issuance, checked by openssl
// ------------------------------------------------------------------------------------------

#[test]
fn certificate_issued_from_the_real_csr_passes_openssl_verify_sslclient() {
    let ca = new_ca();
    let csr = VerifiedCsr::from_der(WIN10_CSR_DER).unwrap();
    let now = OffsetDateTime::now_utc();
    let device_id = csr.device_id_extension().unwrap().to_owned();
    let issued = ca
        .issue_device_certificate(&csr, &device_id, now, &mut rand::rng())
        .unwrap();

    assert_eq!(issued.device_id, device_id);
    assert_eq!(issued.serial_hex.len(), 32);
    assert!(
        issued
            .serial_hex
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    assert_eq!(issued.sha1_thumbprint.len(), 40);
    assert_eq!(issued.not_before, trunc(now - Duration::minutes(5)));
    assert_eq!(issued.not_after, trunc(now + Duration::days(365)));

    // Our own parameters, never the CSR's subject; the CSR's key.
    let (_, cert) = x509_parser::parse_x509_certificate(&issued.der).unwrap();
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap();
    assert_eq!(cn, device_id);
    assert_eq!(cert.subject().iter().count(), 1);
    assert_eq!(cert.public_key().raw, csr.public_key_der());
    assert!(
        cert.extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .client_auth
    );
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.digital_signature() && ku.key_encipherment() && !ku.key_cert_sign());
    assert!(cert.authority_key_identifier_present());

    let device = ca.verify_client_certificate(&issued.der, now).unwrap();
    assert_eq!(device.device_id(), device_id);
    assert_eq!(device.serial_hex(), issued.serial_hex);
    assert_eq!(device.sha1_thumbprint(), issued.sha1_thumbprint);

    let Some(openssl) = openssl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = dir.path().join("ca.pem");
    let cert_pem = dir.path().join("cert.pem");
    fs::write(&ca_pem, ca.certificate_pem()).unwrap();
    fs::write(&cert_pem, &issued.pem).unwrap();
    openssl_verify(openssl, &ca_pem, "sslclient", &cert_pem);

    let out = run(Command::new(openssl)
        .args(["x509", "-noout", "-fingerprint", "-sha1", "-serial", "-in"])
        .arg(&cert_pem));
    assert!(
        out.contains(&format!(
            "Fingerprint={}",
            colon_hex(&issued.sha1_thumbprint)
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("serial={}", issued.serial_hex)),
        "{out}"
    );

    let out = run(Command::new(openssl)
        .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
        .arg(&ca_pem));
    assert!(out.contains(&colon_hex(ca.sha1_thumbprint())), "{out}");
}

#[test]
fn device_certificates_are_clamped_to_the_ca_lifetime_and_ids_are_checked() {
    let now = OffsetDateTime::now_utc();
    let config = CaConfig {
        validity: Duration::days(30),
        ..CaConfig::default()
    };
    let ca = CertificateAuthority::generate(&config, now, &mut rand::rng()).unwrap();
    let csr = VerifiedCsr::from_der(WIN10_CSR_DER).unwrap();
    let issued = ca
        .issue_device_certificate(&csr, "dev", now, &mut rand::rng())
        .unwrap();
    assert_eq!(issued.not_after, ca.not_after());

    for bad in ["", " dev", "dev\0", "a\nb", &"x".repeat(65)] {
        let err = ca
            .issue_device_certificate(&csr, bad, now, &mut rand::rng())
            .unwrap_err();
        assert!(
            matches!(err, CaError::InvalidDeviceId(_)),
            "{bad:?}: {err:?}"
        );
        assert_eq!(err.fault(), Fault::Caller);
    }

    let later = now + Duration::days(31);
    assert!(matches!(
        ca.issue_device_certificate(&csr, "dev", later, &mut rand::rng()),
        Err(CaError::CaExpired { .. })
    ));

    let short = new_ca().with_device_validity(Duration::days(7)).unwrap();
    let issued = short
        .issue_device_certificate(&csr, "dev", now, &mut rand::rng())
        .unwrap();
    assert_eq!(issued.not_after, trunc(now + Duration::days(7)));
    assert!(matches!(
        new_ca().with_device_validity(Duration::ZERO),
        Err(CaError::InvalidValidity(_))
    ));
}

#[test]
fn serials_are_random_positive_and_sixteen_bytes() {
    let ca = new_ca();
    let csr = VerifiedCsr::from_der(WIN10_CSR_DER).unwrap();
    let now = OffsetDateTime::now_utc();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let issued = ca
            .issue_device_certificate(&csr, "dev", now, &mut rand::rng())
            .unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&issued.der).unwrap();
        let raw = cert.raw_serial();
        assert_eq!(raw.len(), 16);
        assert!(raw[0] < 0x80, "positive");
        assert!(seen.insert(issued.serial_hex));
    }
}

// ------------------------------------------------------------------------------------------
// CA persistence
// ------------------------------------------------------------------------------------------

#[test]
fn save_then_load_round_trip_signs_again_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("data");
    let config = CaConfig {
        common_name: "Casement Test CA".into(),
        organization: Some("Casement".into()),
        ..CaConfig::default()
    };
    let now = OffsetDateTime::now_utc();
    let ca = CertificateAuthority::generate(&config, now, &mut rand::rng()).unwrap();
    ca.save_dir(&ca_dir).unwrap();

    let key_mode = fs::metadata(ca_dir.join(CA_KEY_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600, "key file mode {key_mode:o}");
    let cert_mode = fs::metadata(ca_dir.join(CA_CERT_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        cert_mode & 0o077,
        cert_mode & 0o044,
        "cert is readable, not writable by others"
    );

    // Saving again never overwrites a key.
    assert!(matches!(
        ca.save_dir(&ca_dir),
        Err(CaError::FileExists { .. })
    ));

    let loaded = CertificateAuthority::load_dir(&ca_dir).unwrap();
    assert_eq!(loaded.certificate_der(), ca.certificate_der());
    assert_eq!(loaded.sha1_thumbprint(), ca.sha1_thumbprint());
    assert_eq!(loaded.not_after(), ca.not_after());

    let csr = VerifiedCsr::from_der(WIN10_CSR_DER).unwrap();
    let issued = loaded
        .issue_device_certificate(&csr, "after-restart", now, &mut rand::rng())
        .unwrap();
    assert_eq!(
        ca.verify_client_certificate(&issued.der, now)
            .unwrap()
            .device_id(),
        "after-restart"
    );
    // AKI of the new certificate equals the SKI of the (reloaded) CA.
    let (_, ca_cert) = x509_parser::parse_x509_certificate(ca.certificate_der()).unwrap();
    let (_, dev_cert) = x509_parser::parse_x509_certificate(&issued.der).unwrap();
    assert_eq!(ski(&ca_cert), aki(&dev_cert));

    let Some(openssl) = openssl() else { return };
    let cert_pem = dir.path().join("cert.pem");
    fs::write(&cert_pem, &issued.pem).unwrap();
    openssl_verify(openssl, &ca_dir.join(CA_CERT_FILE), "sslclient", &cert_pem);
    // openssl can read the key file and it is the CA's key.
    let key_pub = run(Command::new(openssl)
        .args(["pkey", "-pubout", "-in"])
        .arg(ca_dir.join(CA_KEY_FILE)));
    let cert_pub = run(Command::new(openssl)
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(ca_dir.join(CA_CERT_FILE)));
    assert_eq!(key_pub, cert_pub);
    let text = run(Command::new(openssl)
        .args(["x509", "-noout", "-text", "-in"])
        .arg(ca_dir.join(CA_CERT_FILE)));
    assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(text.contains("sha256WithRSAEncryption"), "{text}");
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
}

#[test]
fn loading_reports_missing_corrupt_and_mismatched_keys() {
    let dir = tempfile::tempdir().unwrap();
    let ca = new_ca();
    ca.save_dir(dir.path()).unwrap();
    let cert_path = dir.path().join(CA_CERT_FILE);
    let key_path = dir.path().join(CA_KEY_FILE);

    let missing = dir.path().join("nope.key");
    match CertificateAuthority::load_files(&cert_path, &missing) {
        Err(CaError::FileMissing { path, what }) => {
            assert_eq!(path, missing);
            assert_eq!(what, "CA private key");
        }
        other => panic!("{other:?}"),
    }

    let cert_pem = fs::read_to_string(&cert_path).unwrap();
    let key_pem = fs::read_to_string(&key_path).unwrap();
    let corrupt = key_pem.replace('A', "B");
    assert!(matches!(
        CertificateAuthority::from_pem(&cert_pem, &corrupt),
        Err(CaError::CorruptKey(_))
    ));
    assert!(matches!(
        CertificateAuthority::from_pem(&cert_pem, "not a key"),
        Err(CaError::CorruptKey(_))
    ));
    assert!(matches!(
        CertificateAuthority::from_pem("not a cert", &key_pem),
        Err(CaError::CorruptCertificate(_))
    ));

    let other = tempfile::tempdir().unwrap();
    new_ca().save_dir(other.path()).unwrap();
    let other_key = fs::read_to_string(other.path().join(CA_KEY_FILE)).unwrap();
    let err = CertificateAuthority::from_pem(&cert_pem, &other_key).unwrap_err();
    assert!(matches!(err, CaError::KeyMismatch), "{err:?}");
    assert_eq!(err.fault(), Fault::Operator);

    // A leaf certificate with its own key is not a CA.
    let tls = TlsIdentity::generate_self_signed(
        &["localhost"],
        OffsetDateTime::now_utc(),
        Duration::days(1),
        &mut rand::rng(),
    )
    .unwrap();
    assert!(matches!(
        CertificateAuthority::from_pem(tls.certificate_pem(), &tls.private_key_pem()),
        Err(CaError::NotACaCertificate(_))
    ));
}

#[test]
fn load_or_generate_creates_once_then_loads_and_refuses_half_a_ca() {
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let config = CaConfig::default();
    let (first, created) =
        CertificateAuthority::load_or_generate(dir.path(), &config, now, &mut rand::rng()).unwrap();
    assert!(created);
    let (second, created) =
        CertificateAuthority::load_or_generate(dir.path(), &config, now, &mut rand::rng()).unwrap();
    assert!(!created);
    assert_eq!(first.sha1_thumbprint(), second.sha1_thumbprint());

    fs::remove_file(dir.path().join(CA_KEY_FILE)).unwrap();
    assert!(matches!(
        CertificateAuthority::load_or_generate(dir.path(), &config, now, &mut rand::rng()),
        Err(CaError::FileMissing {
            what: "CA private key",
            ..
        })
    ));
}

// ------------------------------------------------------------------------------------------
// Client certificate verification
// ------------------------------------------------------------------------------------------

#[test]
fn certificate_from_another_ca_is_foreign() {
    let ours = new_ca();
    let theirs = new_ca(); // same default subject name, different key
    let csr = VerifiedCsr::from_der(WIN10_CSR_DER).unwrap();
    let now = OffsetDateTime::now_utc();
    let foreign = theirs
        .issue_device_certificate(&csr, "intruder", now, &mut rand::rng())
        .unwrap();
    let err = ours
        .verify_client_certificate(&foreign.der, now)
        .unwrap_err();
    assert!(matches!(err, CaError::ForeignCertificate), "{err:?}");

    let other_name = CertificateAuthority::generate(
        &CaConfig {
            common_name: "Someone Else CA".into(),
            ..CaConfig::default()
        },
        now,
        &mut rand::rng(),
    )
    .unwrap();
    let foreign = other_name
        .issue_device_certificate(&csr, "intruder", now, &mut rand::rng())
        .unwrap();
    assert!(matches!(
        ours.verify_client_certificate(&foreign.der, now),
        Err(CaError::ForeignCertificate)
    ));

    // A self-signed server certificate, and the CA certificate itself.
    let tls =
        TlsIdentity::generate_self_signed(&["localhost"], now, Duration::days(1), &mut rand::rng())
            .unwrap();
    assert!(matches!(
        ours.verify_client_certificate(tls.certificate_der(), now),
        Err(CaError::ForeignCertificate)
    ));
    assert!(matches!(
        ours.verify_client_certificate(ours.certificate_der(), now),
        Err(CaError::NotAClientCertificate)
    ));
    // A tampered certificate of ours.
    let good = ours
        .issue_device_certificate(&csr, "victim", now, &mut rand::rng())
        .unwrap();
    let mut tampered = good.der.clone();
    let pos = tampered.windows(6).position(|w| w == b"victim").unwrap();
    tampered[pos] = b'V';
    assert!(matches!(
        ours.verify_client_certificate(&tampered, now),
        Err(CaError::ForeignCertificate)
    ));
    assert!(matches!(
        ours.verify_client_certificate(b"garbage", now),
        Err(CaError::MalformedCertificate(_))
    ));
    assert!(matches!(
        ours.verify_client_certificate(&good.der[..good.der.len() - 1], now),
        Err(CaError::MalformedCertificate(_))
    ));
}

#[test]
fn expired_and_not_yet_valid_certificates_are_refused() {
    let ca = new_ca();
    let csr = VerifiedCsr::from_der(WIN10_CSR_DER).unwrap();
    let now = OffsetDateTime::now_utc();
    let old = ca
        .issue_device_certificate(&csr, "old", now - Duration::days(400), &mut rand::rng())
        .unwrap();
    match ca.verify_client_certificate(&old.der, now) {
        Err(CaError::CertificateExpired { not_after }) => assert_eq!(not_after, old.not_after),
        other => panic!("{other:?}"),
    }

    let fresh = ca
        .issue_device_certificate(&csr, "fresh", now, &mut rand::rng())
        .unwrap();
    assert!(matches!(
        ca.verify_client_certificate(&fresh.der, now - Duration::hours(1)),
        Err(CaError::CertificateNotYetValid { .. })
    ));
    // The 5-minute backdating tolerates a device clock slightly behind.
    assert!(
        ca.verify_client_certificate(&fresh.der, now - Duration::minutes(4))
            .is_ok()
    );
    assert!(
        ca.verify_client_certificate(&fresh.der, fresh.not_after)
            .is_ok()
    );
    assert!(matches!(
        ca.verify_client_certificate(&fresh.der, fresh.not_after + Duration::seconds(1)),
        Err(CaError::CertificateExpired { .. })
    ));
}

#[test]
fn a_certificate_the_tls_handshake_verified_is_still_checked_for_everything_but_the_signature() {
    let ca = new_ca();
    let csr = VerifiedCsr::from_der(WIN10_CSR_DER).unwrap();
    let now = OffsetDateTime::now_utc();
    let good = ca
        .issue_device_certificate(&csr, "D1", now, &mut rand::rng())
        .unwrap();
    let full = ca.verify_client_certificate(&good.der, now).unwrap();
    let accepted = ca
        .accept_tls_verified_client_certificate(&good.der, now)
        .unwrap();
    assert_eq!(
        (
            accepted.device_id(),
            accepted.serial_hex(),
            accepted.sha1_thumbprint()
        ),
        (full.device_id(), full.serial_hex(), full.sha1_thumbprint())
    );
    // Expiry is checked at `now`, not at the handshake; other issuers and CA certificates are
    // refused by name and usage even without the signature check.
    assert!(matches!(
        ca.accept_tls_verified_client_certificate(&good.der, good.not_after + Duration::seconds(1)),
        Err(CaError::CertificateExpired { .. })
    ));
    let other_name = CertificateAuthority::generate(
        &CaConfig {
            common_name: "Someone Else CA".into(),
            ..CaConfig::default()
        },
        now,
        &mut rand::rng(),
    )
    .unwrap();
    let foreign = other_name
        .issue_device_certificate(&csr, "intruder", now, &mut rand::rng())
        .unwrap();
    assert!(matches!(
        ca.accept_tls_verified_client_certificate(&foreign.der, now),
        Err(CaError::ForeignCertificate)
    ));
    assert!(matches!(
        ca.accept_tls_verified_client_certificate(ca.certificate_der(), now),
        Err(CaError::NotAClientCertificate)
    ));
    assert!(matches!(
        ca.accept_tls_verified_client_certificate(b"garbage", now),
        Err(CaError::MalformedCertificate(_))
    ));
}

// ------------------------------------------------------------------------------------------
// The simulator helper
// ------------------------------------------------------------------------------------------

#[test]
fn windows_like_csr_enrolls_and_authenticates() {
    let device_id = "4E1F2A3B4C5D6E7F8091A2B3C4D5E6F7";
    let made = windows_like_csr(device_id, &mut rand::rng()).unwrap();
    let csr = VerifiedCsr::from_der(&made.csr_der).unwrap();
    assert_eq!(csr.device_id_extension(), Some(device_id));
    let cn = csr.subject_common_name().unwrap();
    assert_eq!(format!("{cn}\0"), made.subject_common_name);
    let (prefix, id) = cn.split_once('!').unwrap();
    assert_eq!(prefix.len(), 30);
    assert_eq!(id, device_id);
    assert_eq!(csr.key_description(), "RSA-2048");

    let ca = new_ca();
    let now = OffsetDateTime::now_utc();
    let issued = ca
        .issue_device_certificate(&csr, device_id, now, &mut rand::rng())
        .unwrap();
    assert_eq!(
        ca.verify_client_certificate(&issued.der, now)
            .unwrap()
            .device_id(),
        device_id
    );
    // The returned key is the certified one.
    let key = rcgen::KeyPair::from_pem(&made.private_key_pem).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&issued.der).unwrap();
    assert_eq!(
        key.public_key_raw(),
        cert.public_key().subject_public_key.data.as_ref()
    );

    assert!(matches!(
        windows_like_csr("", &mut rand::rng()),
        Err(CaError::InvalidDeviceId(_))
    ));
}

// ------------------------------------------------------------------------------------------
// PKCS#7 / CMS renewal requests made by openssl
// ------------------------------------------------------------------------------------------

/// A device enrolled with our CA, its key and certificate on disk, and a new request to wrap.
struct Renewal {
    _dir: tempfile::TempDir,
    ca: CertificateAuthority,
    device_id: String,
    cert_pem: PathBuf,
    key_pem: PathBuf,
    inner_csr: PathBuf,
    inner_der: Vec<u8>,
}

fn enrolled_device(ca: CertificateAuthority) -> Renewal {
    let dir = tempfile::tempdir().unwrap();
    let device_id = "RENEW0123456789ABCDEF0123456789A".to_owned();
    let now = OffsetDateTime::now_utc();
    let enrolled = windows_like_csr(&device_id, &mut rand::rng()).unwrap();
    let csr = VerifiedCsr::from_der(&enrolled.csr_der).unwrap();
    let issued = ca
        .issue_device_certificate(&csr, &device_id, now, &mut rand::rng())
        .unwrap();
    let cert_pem = dir.path().join("device.pem");
    let key_pem = dir.path().join("device.key");
    fs::write(&cert_pem, &issued.pem).unwrap();
    fs::write(&key_pem, &enrolled.private_key_pem).unwrap();
    // The renewal request carries a new key.
    let renewal = windows_like_csr(&device_id, &mut rand::rng()).unwrap();
    let inner_csr = dir.path().join("renew.der");
    fs::write(&inner_csr, &renewal.csr_der).unwrap();
    Renewal {
        _dir: dir,
        ca,
        device_id,
        cert_pem,
        key_pem,
        inner_csr,
        inner_der: renewal.csr_der,
    }
}

fn cms_sign(openssl: &Path, r: &Renewal, extra: &[&str]) -> Vec<u8> {
    let out = r.inner_csr.with_extension(format!("p7{}", extra.len()));
    run(Command::new(openssl)
        .args(["cms", "-sign", "-binary", "-nodetach", "-outform", "DER"])
        .args(extra)
        .arg("-in")
        .arg(&r.inner_csr)
        .arg("-signer")
        .arg(&r.cert_pem)
        .arg("-inkey")
        .arg(&r.key_pem)
        .arg("-out")
        .arg(&out));
    fs::read(out).unwrap()
}

#[test]
fn pkcs7_wrapped_csr_from_openssl_cms_yields_the_inner_csr() {
    let Some(openssl) = openssl() else { return };
    let r = enrolled_device(new_ca());
    let now = OffsetDateTime::now_utc();
    let device_cert = x509_der(&fs::read_to_string(&r.cert_pem).unwrap());

    // Default: signed attributes, signer identified by issuer and serial.
    // -noattr: the signature covers the content directly.
    // -keyid: the signer is identified by subject key identifier.
    for extra in [
        &[][..],
        &["-noattr"][..],
        &["-keyid"][..],
        &["-md", "sha1"][..],
    ] {
        let p7 = cms_sign(openssl, &r, extra);
        let request =
            VerifiedPkcs7Csr::from_der(&p7).unwrap_or_else(|e| panic!("{extra:?}: {e:?}"));
        assert_eq!(request.csr().der(), r.inner_der.as_slice(), "{extra:?}");
        assert_eq!(
            request.csr().device_id_extension(),
            Some(r.device_id.as_str())
        );
        assert_eq!(
            request.signer_certificates(),
            std::slice::from_ref(&device_cert)
        );
        assert_eq!(request.certificates(), std::slice::from_ref(&device_cert));

        let b64 = base64_lines(&p7);
        assert_eq!(VerifiedPkcs7Csr::from_base64(&b64).unwrap(), request);

        let (renewal, device) = r.ca.verify_renewal_request(b64.as_bytes(), now).unwrap();
        assert_eq!(device.device_id(), r.device_id);
        assert_eq!(renewal.into_csr().der(), r.inner_der.as_slice());
    }
}

#[test]
fn pkcs7_with_altered_content_or_signature_is_refused() {
    let Some(openssl) = openssl() else { return };
    let r = enrolled_device(new_ca());
    for extra in [&[][..], &["-noattr"][..]] {
        let p7 = cms_sign(openssl, &r, extra);
        // One byte of the encapsulated request: the message digest (or, without signed
        // attributes, the signature) no longer matches.
        let pos = find(&p7, &r.inner_der[40..60]).unwrap();
        let mut altered = p7.clone();
        altered[pos] ^= 0x01;
        let err = VerifiedPkcs7Csr::from_der(&altered).unwrap_err();
        assert!(
            matches!(err, CaError::Pkcs7SignatureInvalid(_)),
            "{extra:?}: {err:?}"
        );

        // The last byte of the message is the end of the SignerInfo signature.
        let mut altered = p7.clone();
        let last = altered.len() - 1;
        altered[last] ^= 0x01;
        let err = VerifiedPkcs7Csr::from_der(&altered).unwrap_err();
        assert!(
            matches!(err, CaError::Pkcs7SignatureInvalid(_)),
            "{extra:?}: {err:?}"
        );
    }
    // Truncations never panic.
    let p7 = cms_sign(openssl, &r, &[]);
    for cut in [0, 1, 10, p7.len() / 3, p7.len() - 1] {
        assert!(VerifiedPkcs7Csr::from_der(&p7[..cut]).is_err());
    }
    assert!(matches!(
        VerifiedPkcs7Csr::parse(b"not base64!"),
        Err(CaError::BadEncoding(_))
    ));
}

#[test]
fn renewal_signed_by_a_foreign_certificate_is_refused() {
    let Some(openssl) = openssl() else { return };
    let r = enrolled_device(new_ca()); // enrolled with some other CA
    let p7 = cms_sign(openssl, &r, &[]);
    // The envelope itself is fine...
    assert!(VerifiedPkcs7Csr::from_der(&p7).is_ok());
    // ...but its signer is not one of our devices.
    let ours = new_ca();
    assert!(matches!(
        ours.verify_renewal_request(&p7, OffsetDateTime::now_utc()),
        Err(CaError::ForeignCertificate)
    ));
}

// ------------------------------------------------------------------------------------------
// TLS listener identity
// ------------------------------------------------------------------------------------------

#[test]
fn tls_identity_round_trips_with_a_0600_key_and_serves_localhost() {
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let (tls, created) = TlsIdentity::load_or_generate(
        dir.path(),
        casement_ca::DEFAULT_TLS_NAMES,
        now,
        &mut rand::rng(),
    )
    .unwrap();
    assert!(created);
    let key_path = dir.path().join(casement_ca::TLS_KEY_FILE);
    let cert_path = dir.path().join(casement_ca::TLS_CERT_FILE);
    let mode = fs::metadata(&key_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let loaded = TlsIdentity::load_files(&cert_path, &key_path).unwrap();
    assert_eq!(loaded.certificate_der(), tls.certificate_der());
    assert_eq!(loaded.private_key_pkcs8_der(), tls.private_key_pkcs8_der());
    assert!(!format!("{loaded:?}").contains("PRIVATE"));

    let (_, cert) = x509_parser::parse_x509_certificate(tls.certificate_der()).unwrap();
    assert_eq!(
        cert.public_key().algorithm.algorithm.to_id_string(),
        "1.2.840.10045.2.1"
    );
    assert!(
        cert.extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .server_auth
    );
    assert!(!cert.is_ca());

    assert!(matches!(
        TlsIdentity::generate_self_signed(&[], now, Duration::days(1), &mut rand::rng()),
        Err(CaError::InvalidName(_))
    ));
    assert!(matches!(
        TlsIdentity::generate_self_signed(&["bad name"], now, Duration::days(1), &mut rand::rng()),
        Err(CaError::InvalidName(_))
    ));

    let Some(openssl) = openssl() else { return };
    let text = run(Command::new(openssl)
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert_path));
    assert!(
        text.contains("DNS:localhost, IP Address:127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("prime256v1"), "{text}");
    openssl_verify(openssl, &cert_path, "sslserver", &cert_path);
    let key_pub = run(Command::new(openssl)
        .args(["pkey", "-pubout", "-in"])
        .arg(&key_path));
    let cert_pub = run(Command::new(openssl)
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(&cert_path));
    assert_eq!(key_pub, cert_pub);
}

// ------------------------------------------------------------------------------------------
// helpers
// ------------------------------------------------------------------------------------------

fn new_ca() -> CertificateAuthority {
    CertificateAuthority::generate(
        &CaConfig::default(),
        OffsetDateTime::now_utc(),
        &mut rand::rng(),
    )
    .unwrap()
}

/// openssl, or `None` with a note; with `CI=true` a missing openssl fails the test.
fn openssl() -> Option<&'static Path> {
    let path = Path::new("/usr/bin/openssl");
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("/usr/bin/openssl is required when CI=true");
    }
    eprintln!("NOTE: /usr/bin/openssl not found; skipping the openssl cross-check");
    None
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run openssl");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn openssl_verify(openssl: &Path, ca: &Path, purpose: &str, cert: &Path) {
    let out = run(Command::new(openssl)
        .arg("verify")
        .arg("-CAfile")
        .arg(ca)
        .args(["-purpose", purpose])
        .arg(cert));
    assert!(out.trim_end().ends_with(": OK"), "{out}");
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn trunc(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap()
}

fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":")
}

fn x509_der(pem: &str) -> Vec<u8> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    pem.contents
}

fn base64_lines(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    b64.as_bytes()
        .chunks(64)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn ski(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<u8> {
    use x509_parser::extensions::ParsedExtension;
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .expect("SKI")
}

fn aki(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<u8> {
    use x509_parser::extensions::ParsedExtension;
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(k) => {
                k.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
        .expect("AKI")
}

trait AkiPresent {
    fn authority_key_identifier_present(&self) -> bool;
}

impl AkiPresent for x509_parser::certificate::X509Certificate<'_> {
    fn authority_key_identifier_present(&self) -> bool {
        self.extensions()
            .iter()
            .any(|e| e.oid.to_id_string() == "2.5.29.35")
    }
}
