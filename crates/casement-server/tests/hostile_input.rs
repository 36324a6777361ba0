//! Issue 12 ("Hold up against hostile clients"), the input rows, and issue 11's package-1
//! device ID, over real HTTPS: enrollment XML with bounded work, package 1 stored only where
//! the server uses it, another device's ID recorded as a session warning.

mod common;

use casement_dm::device::{DeviceSession, Package1, Platform};
use casement_server::RawConfig;
use common::*;

const DISCOVER: &str = include_str!("../testdata/win10-01-discover-request.xml");

#[tokio::test]
async fn regression_issue_12_an_element_with_thousands_of_attributes_gets_a_fault() {
    let h = start(RawConfig::default()).await;
    let attributes: String = (0..27_000).map(|i| format!(" a{i}=\"\"")).collect();
    let start = DISCOVER.find("<s:Body>").unwrap() + "<s:Body>".len();
    let body = format!(
        "{}<x{attributes}/>{}",
        &DISCOVER[..start],
        &DISCOVER[start..]
    );
    assert!(body.len() < 256 * 1024);
    let response = h
        .http
        .post(format!(
            "{}/EnrollmentServer/Discovery.svc",
            h.server.local_url()
        ))
        .header("content-type", "application/soap+xml; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let fault = response.text().await.unwrap();
    assert!(fault.contains("s:MessageFormat"), "{fault}");
    assert!(
        fault.contains("more than 64 XML attributes in one element"),
        "{fault}"
    );
    // A normal discovery still works.
    let normal = h
        .http
        .post(format!(
            "{}/EnrollmentServer/Discovery.svc",
            h.server.local_url()
        ))
        .header("content-type", "application/soap+xml; charset=utf-8")
        .body(DISCOVER)
        .send()
        .await
        .unwrap();
    assert_eq!(normal.status(), 200);
    h.server.shutdown().await;
}

/// Runs one session whose package 1 replaces `devinfo`; returns when the server ends it.
async fn session_with_devinfo(h: &Harness, device: &Enrolled, devinfo: Vec<(String, String)>) {
    let url = format!(
        "{}/ManagementServer/MDM.svc?mode=Maintenance&Platform=WoA",
        h.server.local_url()
    );
    let package1 = Package1 {
        device_id: device.device_id.clone(),
        server_uri: format!(
            "https://localhost:{}/ManagementServer/MDM.svc",
            h.server.addr.port()
        ),
        session_id: "1".into(),
        platform: Platform::Windows10,
        login_status: Some("user".into()),
        push_triggered: false,
        devinfo,
        unenroll_request: false,
    };
    let (mut core, mut outgoing) = DeviceSession::start(package1);
    let mut tree = Tree::default();
    for _ in 0..20 {
        let response = device
            .client
            .post(&url)
            .header("content-type", casement_syncml::CONTENT_TYPE)
            .body(casement_syncml::to_string(&outgoing))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let reply = casement_syncml::parse(response.text().await.unwrap().as_bytes()).unwrap();
        match core.on_server_message(&reply, &mut tree) {
            Some(next) => outgoing = next,
            None => return,
        }
    }
    panic!("the session did not end");
}

#[tokio::test]
async fn regression_issue_12_package_1_keeps_only_what_the_server_uses() {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("PKG1").await;
    session_with_devinfo(
        &h,
        &device,
        vec![
            ("./DevInfo/DevId".into(), "PKG1".into()),
            ("./DevInfo/Man".into(), "Contoso".into()),
            ("./DevInfo/Mod".into(), "M".repeat(10_000)),
            ("./a".into(), "a".repeat(1_000_000)),
        ],
    )
    .await;
    let shown = h.api_get("/devices/PKG1").await;
    let devinfo = &shown["devinfo"];
    assert_eq!(devinfo["./DevInfo/Man"], "Contoso");
    assert!(devinfo.get("./a").is_none(), "an unused node is not stored");
    assert!(
        devinfo.get("./DevInfo/Mod").is_none(),
        "an oversized value is not stored"
    );
    let list = h.api_get("/devices").await.to_string();
    assert!(
        list.len() < 100_000,
        "the list is not inflated: {} bytes",
        list.len()
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn regression_issue_11_devid_mismatch_is_a_session_warning() {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("REAL-PC").await;
    session_with_devinfo(
        &h,
        &device,
        vec![
            ("./DevInfo/DevId".into(), "SOMEONE-ELSE".into()),
            ("./DevInfo/Mod".into(), "Surface".into()),
        ],
    )
    .await;
    let shown = h.api_get("/devices/REAL-PC").await;
    assert_eq!(shown["devinfo"]["./DevInfo/Mod"], "Surface");
    assert!(
        !shown.to_string().contains("SOMEONE-ELSE"),
        "not the device's identity: {shown}"
    );
    let sessions = h.api_get("/devices/REAL-PC/sessions").await;
    let id = sessions["sessions"][0]["id"].as_str().unwrap().to_owned();
    let session = h.api_get(&format!("/sessions/{id}")).await;
    let warnings = session["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{session}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.contains("SOMEONE-ELSE") && warning.contains("REAL-PC"),
        "{warning}"
    );
    h.server.shutdown().await;
}
