//! Certificate renewal (MS-MDE §3.5): `RequestType …/Renew`, a PKCS#7-wrapped CSR signed with the
//! current certificate, authenticated by that certificate over TLS.

mod common;

use casement_server::RawConfig;
use common::*;

/// The real Windows 10 RST turned into a renewal: Renew, PKCS#7, no WS-Security header.
fn renewal_body(pkcs7_der: &[u8]) -> String {
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pkcs7_der);
    let start = RST.find("MIIC").unwrap();
    let end = RST[start..].find('<').unwrap() + start;
    let body = format!("{}{}{}", &RST[..start], b64, &RST[end..]);
    let header_start = body.find("<wsse:Security").unwrap();
    let header_end = body.find("</wsse:Security>").unwrap() + "</wsse:Security>".len();
    format!("{}{}", &body[..header_start], &body[header_end..])
        .replace("ws-trust/200512/Issue", "ws-trust/200512/Renew")
        .replace("enrollment#PKCS10", "enrollment#PKCS7")
}

/// `openssl cms -sign` of a new CSR with the device's current certificate and key.
fn signed_request(dir: &std::path::Path, device: &Enrolled) -> Option<Vec<u8>> {
    let csr = casement_ca::windows_like_csr_with_key(
        &device.device_id,
        &device.key_pem,
        &mut rand::rng(),
    )
    .unwrap();
    std::fs::write(dir.join("csr.der"), &csr.csr_der).unwrap();
    std::fs::write(dir.join("cert.pem"), &device.certificate_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &device.key_pem).unwrap();
    let status = std::process::Command::new("openssl")
        .args([
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-outform",
            "DER",
            "-in",
            "csr.der",
            "-signer",
            "cert.pem",
            "-inkey",
            "key.pem",
            "-out",
            "req.p7",
        ])
        .current_dir(dir)
        .status();
    match status {
        Ok(s) if s.success() => Some(std::fs::read(dir.join("req.p7")).unwrap()),
        other if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("openssl is required in CI: {other:?}")
        }
        other => {
            eprintln!("skipping: openssl unavailable ({other:?})");
            None
        }
    }
}

#[tokio::test]
async fn a_device_renews_its_certificate_with_the_current_one() {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("R1").await;
    let Some(pkcs7) = signed_request(h.dir.path(), &device) else {
        return;
    };
    let url = format!("{}/EnrollmentServer/Enrollment.svc", h.server.local_url());
    let post = |client: &reqwest::Client, body: String| {
        client
            .post(&url)
            .header("content-type", "application/soap+xml; charset=utf-8")
            .body(body)
            .send()
    };

    // Without the client certificate: refused.
    let r = post(&h.http, renewal_body(&pkcs7)).await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.text().await.unwrap().contains("s:Authentication"));

    // With it: a new certificate for the same device, in a renewal provisioning document.
    let before = h
        .server
        .state
        .store
        .certificates_of_device("R1")
        .await
        .unwrap();
    let r = post(&device.client, renewal_body(&pkcs7)).await.unwrap();
    assert_eq!(r.status(), 200);
    let xml = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let token = doc
        .descendants()
        .find(|n| n.tag_name().name() == "BinarySecurityToken")
        .and_then(|n| n.text())
        .unwrap();
    let provisioning = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, token.trim()).unwrap(),
    )
    .unwrap();
    assert!(provisioning.contains("EncodedCertificate"));
    assert!(
        !provisioning.contains("APPLICATION"),
        "a renewal carries only the certificate (MS-MDE §3.5)"
    );
    let after = h
        .server
        .state
        .store
        .certificates_of_device("R1")
        .await
        .unwrap();
    assert_eq!(after.len(), before.len() + 1);
    assert!(
        provisioning.contains(&after[0].thumbprint),
        "the new certificate is the one returned"
    );

    // A renewal signed by another device's certificate is refused.
    let other = h.enroll("R2").await;
    let Some(foreign) = signed_request(h.dir.path(), &other) else {
        return;
    };
    let r = post(&device.client, renewal_body(&foreign)).await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.text().await.unwrap().contains("s:Authorization"));
    h.server.shutdown().await;
}

/// Behind a reverse proxy (nginx, docs/nginx.md) the device's certificate arrives in the header
/// the proxy sets: a renewal authenticated that way works from a trusted proxy address, and the
/// same header from anyone else is ignored.
#[tokio::test]
async fn a_renewal_through_a_trusted_proxy_uses_the_forwarded_certificate() {
    let proxied = start(RawConfig {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..RawConfig::default()
    })
    .await;
    let device = proxied.enroll("R3").await;
    let Some(pkcs7) = signed_request(proxied.dir.path(), &device) else {
        return;
    };
    let escaped = percent_encoding::utf8_percent_encode(
        &device.certificate_pem,
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let renew = |h: &Harness| {
        h.http
            .post(format!(
                "{}/EnrollmentServer/Enrollment.svc",
                h.server.local_url()
            ))
            .header("content-type", "application/soap+xml; charset=utf-8")
            .header("x-client-cert", escaped.clone())
            .body(renewal_body(&pkcs7))
            .send()
    };
    let r = renew(&proxied).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(
        proxied
            .server
            .state
            .store
            .certificates_of_device("R3")
            .await
            .unwrap()
            .len(),
        2
    );

    // Not a trusted proxy: the header is ignored, so the renewal is unauthenticated.
    let direct = start(RawConfig::default()).await;
    let r = renew(&direct).await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(r.text().await.unwrap().contains("s:Authentication"));
}
