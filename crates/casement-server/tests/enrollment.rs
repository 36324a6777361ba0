//! Enrollment over real HTTPS against `Server::start`, with the real Windows 10 requests.

mod common;

use casement_server::RawConfig;
use common::Harness;
use roxmltree::Document;

const DISCOVER: &str = include_str!("../testdata/win10-01-discover-request.xml");
const POLICIES: &str = include_str!("../testdata/win10-03-getpolicies-request-onpremise.xml");
use common::RST;
const MDE1_DISCOVER: &str = include_str!("../testdata/mde1-01-discover-request.xml");
const SOAP: &str = "application/soap+xml; charset=utf-8";

async fn start(max_devices: u32) -> Harness {
    common::start(RawConfig {
        max_devices_per_user: max_devices,
        ..RawConfig::default()
    })
    .await
}

async fn post(h: &Harness, path: &str, body: &str) -> (u16, String, String) {
    let response = h
        .http
        .post(format!("{}{path}", h.server.local_url()))
        .header("content-type", SOAP)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        response.headers().get("content-length").is_some(),
        "never chunked"
    );
    (status, content_type, response.text().await.unwrap())
}

fn text<'a>(doc: &'a Document<'a>, name: &str) -> Option<&'a str> {
    doc.descendants()
        .find(|n| n.tag_name().name() == name)
        .and_then(|n| n.text())
        .map(str::trim)
}

fn fault_subcode(xml: &str) -> String {
    let doc = Document::parse(xml).unwrap();
    let subcode = doc
        .descendants()
        .find(|n| n.tag_name().name() == "Subcode")
        .expect("a SOAP fault");
    subcode
        .descendants()
        .find(|n| n.tag_name().name() == "Value")
        .and_then(|n| n.text())
        .unwrap()
        .trim()
        .to_owned()
}

#[tokio::test]
async fn the_real_windows_10_requests_enroll_a_device_that_the_api_shows() {
    let h = start(5).await;
    let probe = h
        .http
        .get(format!(
            "{}/EnrollmentServer/Discovery.svc",
            h.server.local_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 200);

    let (status, content_type, body) = post(&h, "/EnrollmentServer/Discovery.svc", DISCOVER).await;
    assert_eq!((status, content_type.as_str()), (200, SOAP));
    let doc = Document::parse(&body).unwrap();
    let accepted = Document::parse(include_str!(
        "../testdata/win10-02-discover-response.server.xml"
    ))
    .unwrap();
    for field in ["EnrollmentVersion", "AuthPolicy"] {
        assert_eq!(
            text(&doc, field),
            text(&accepted, field),
            "{field} as the real client accepted"
        );
    }
    let request_id = text(&Document::parse(DISCOVER).unwrap(), "MessageID")
        .unwrap()
        .to_owned();
    assert_eq!(text(&doc, "RelatesTo"), Some(request_id.as_str()));
    let base = format!("https://localhost:{}", h.server.addr.port());
    assert_eq!(
        text(&doc, "EnrollmentPolicyServiceUrl"),
        Some(format!("{base}/EnrollmentServer/Policy.svc").as_str())
    );
    assert_eq!(
        text(&doc, "EnrollmentServiceUrl"),
        Some(format!("{base}/EnrollmentServer/Enrollment.svc").as_str())
    );

    let (status, _, body) = post(&h, "/EnrollmentServer/Policy.svc", POLICIES).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        text(&Document::parse(&body).unwrap(), "policySchema"),
        Some("3")
    );

    let (status, _, body) = post(&h, "/EnrollmentServer/Enrollment.svc", RST).await;
    assert_eq!(status, 200, "{body}");
    let doc = Document::parse(&body).unwrap();
    let token = doc
        .descendants()
        .find(|n| n.tag_name().name() == "BinarySecurityToken")
        .and_then(|n| n.text())
        .unwrap();
    let provisioning = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, token.trim()).unwrap(),
    )
    .unwrap();
    assert!(
        provisioning.contains(&format!("{base}/ManagementServer/MDM.svc")),
        "ADDR is our management URL"
    );
    assert!(
        provisioning.contains("DMClient"),
        "Windows 10 gets the DMClient provider"
    );

    let devices = h.api_get("/devices").await;
    let device = &devices["devices"][0];
    assert_eq!(
        device["id"], "B5B954E81FBCB94EB79BD08BE625F4EE",
        "the DeviceID the client sent"
    );
    assert_eq!(device["platform"], "windows-10");
    assert_eq!(device["enrolled_user"]["upn"], "demio");
    assert_eq!(device["certificate"]["revoked_at"], serde_json::Value::Null);
    assert_eq!(
        device["certificate"]["thumbprint"].as_str().unwrap().len(),
        40
    );
    let detail = h.api_get("/devices/B5B954E81FBCB94EB79BD08BE625F4EE").await;
    assert_eq!(detail["os_version"], "10.0.19043.2364");
    assert!(
        detail["enrollment_context"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p[0] == "HWDevID")
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_windows_8_1_discovery_gets_federated_without_enrollment_version() {
    let h = start(5).await;
    let (status, _, body) = post(&h, "/EnrollmentServer/Discovery.svc", MDE1_DISCOVER).await;
    assert_eq!(status, 200, "{body}");
    let doc = Document::parse(&body).unwrap();
    assert_eq!(text(&doc, "AuthPolicy"), Some("Federated"));
    assert_eq!(text(&doc, "EnrollmentVersion"), None);
    let sts = format!(
        "https://localhost:{}/EnrollmentServer/Sts",
        h.server.addr.port()
    );
    assert_eq!(text(&doc, "AuthenticationServiceUrl"), Some(sts.as_str()));
    h.server.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_and_bad_requests_get_their_soap_faults() {
    let h = start(5).await;
    let wrong_password = POLICIES.replace(">demo</wsse:Password>", ">nope</wsse:Password>");
    let (status, content_type, body) =
        post(&h, "/EnrollmentServer/Policy.svc", &wrong_password).await;
    assert_eq!((status, content_type.as_str()), (500, SOAP));
    assert_eq!(fault_subcode(&body), "s:Authentication");
    let unknown_user = RST.replace(">demio</wsse:Username>", ">nobody</wsse:Username>");
    assert_eq!(
        fault_subcode(
            &post(&h, "/EnrollmentServer/Enrollment.svc", &unknown_user)
                .await
                .2
        ),
        "s:Authentication"
    );

    let (_, _, body) = post(&h, "/EnrollmentServer/Enrollment.svc", "<not-soap/>").await;
    assert_eq!(fault_subcode(&body), "s:MessageFormat");
    let doctype = format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{DISCOVER}");
    assert_eq!(
        fault_subcode(
            &post(&h, "/EnrollmentServer/Discovery.svc", &doctype)
                .await
                .2
        ),
        "s:MessageFormat"
    );

    let csr_start = RST.find("MIIC").expect("the CSR in the capture");
    let garbage = format!(
        "{}QUJD{}",
        &RST[..csr_start],
        &RST[RST[csr_start..].find('<').unwrap() + csr_start..]
    );
    assert_eq!(
        fault_subcode(
            &post(&h, "/EnrollmentServer/Enrollment.svc", &garbage)
                .await
                .2
        ),
        "s:CertificateRequest"
    );
    // Flip one character near the end of the base64 CSR: the signature no longer verifies.
    let end = RST[csr_start..].find('<').unwrap() + csr_start;
    let mut tampered = RST.to_owned();
    let at = end - 10;
    let flipped = if &RST[at..at + 1] == "A" { "B" } else { "A" };
    tampered.replace_range(at..at + 1, flipped);
    assert_eq!(
        fault_subcode(
            &post(&h, "/EnrollmentServer/Enrollment.svc", &tampered)
                .await
                .2
        ),
        "s:CertificateRequest"
    );

    assert_eq!(
        h.api_get("/devices").await["devices"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "nothing enrolled"
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_user_over_the_device_limit_gets_device_cap_reached() {
    let h = start(1).await;
    assert_eq!(
        post(&h, "/EnrollmentServer/Enrollment.svc", RST).await.0,
        200
    );
    assert_eq!(
        post(&h, "/EnrollmentServer/Enrollment.svc", RST).await.0,
        200,
        "the same device may enroll again"
    );
    let second = RST.replace(
        "B5B954E81FBCB94EB79BD08BE625F4EE",
        "0000000000000000000000000000BEEF",
    );
    let (status, _, body) = post(&h, "/EnrollmentServer/Enrollment.svc", &second).await;
    assert_eq!(status, 500);
    assert_eq!(fault_subcode(&body), "s:Authorization");
    assert!(body.contains("DeviceCapReached"), "{body}");
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_requires_the_token_and_creates_users() {
    let h = start(5).await;
    let url = format!("{}/api/v1/users", h.server.local_url());
    assert_eq!(h.http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        h.http
            .get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let created = h
        .http
        .post(&url)
        .bearer_auth(&h.token)
        .json(&serde_json::json!({"upn": "alice@contoso.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let again = h
        .http
        .post(&url)
        .bearer_auth(&h.token)
        .json(&serde_json::json!({"upn": "Alice@Contoso.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "UPNs compare case-insensitively");
    let weak = h
        .http
        .post(&url)
        .bearer_auth(&h.token)
        .json(&serde_json::json!({"upn": "bob@contoso.com", "password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), 400);
    let users = h.api_get("/users").await;
    assert!(
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["upn"] == "alice@contoso.com")
    );
    assert!(
        users["users"][0].get("password_hash").is_none(),
        "hashes are never shown"
    );
    h.server.shutdown().await;
}
