//! Management sessions over real HTTPS with client certificates: the context rule end to end,
//! and every refusal path. The context stories also run on a throwaway PostgreSQL.

mod common;

use casement_dm::device::Platform;
use casement_server::RawConfig;
use casement_store::NewCommand;
use casement_syncml::{Command, Data, ItemCommand, StatusCode};
use common::*;

const RESET: &str = "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22D1%22/Exec=ResetUserPassword";
const PUSH: &str = "./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22Casement%22/Exec=UpdateConfiguration";
const CAPTION: &str = "./cimv2/Win32_OperatingSystem/Win32_OperatingSystem.Name=%22W%22/Caption";

async fn queue(h: &Harness, device: &str, id: &str, class: &str, command: Command, secret: bool) {
    let new = NewCommand {
        id: id.into(),
        device_id: device.into(),
        kind: casement_dm::catalog::CommandKind::Raw,
        class: casement_dm::CommandClass::from_name(class).expect("a known class"),
        label: id.into(),
        payload: serde_json::to_string(&command).unwrap(),
        secret,
        created_at: casement_server::clock::now_ms(),
        expires_at: None,
        max_attempts: 3,
        created_by: "test".into(),
    };
    h.server.state.store.enqueue_commands(&[new]).await.unwrap();
}

fn exec(uri: &str, data: &str) -> Command {
    let mut c = ItemCommand::target(casement_syncml::CmdId(1), uri);
    c.items[0].data = Some(Data::text(data));
    Command::Exec(c)
}

async fn states(h: &Harness, device: &str) -> Vec<(String, String)> {
    let mut v: Vec<_> = h
        .server
        .state
        .store
        .commands_of_device(device, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.state.as_str().to_owned()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_machine_session_carries_only_what_machine_allows_and_maintenance_the_rest() {
    a_machine_session_carries_only_what_machine_allows_and_maintenance_the_rest_on(
        start(RawConfig::default()).await,
    )
    .await;
}

#[tokio::test]
async fn a_machine_session_carries_only_what_machine_allows_and_maintenance_the_rest_on_postgres() {
    let test =
        "a_machine_session_carries_only_what_machine_allows_and_maintenance_the_rest_on_postgres";
    if let Some(h) = start_on(Backend::Postgres, test, RawConfig::default()).await {
        a_machine_session_carries_only_what_machine_allows_and_maintenance_the_rest_on(h).await;
    }
}

async fn a_machine_session_carries_only_what_machine_allows_and_maintenance_the_rest_on(
    h: Harness,
) {
    let device = h.enroll("D1").await;
    h.as_windows81("D1").await;
    queue(
        &h,
        "D1",
        "a-push",
        "push-configuration",
        exec(PUSH, "ConfigString=Casement;PFN"),
        false,
    )
    .await;
    queue(
        &h,
        "D1",
        "b-reset",
        "password-reset",
        exec(RESET, "ConfigString=demio;S3cret!"),
        true,
    )
    .await;
    queue(
        &h,
        "D1",
        "c-inventory",
        "inventory",
        Command::Get(ItemCommand::target(casement_syncml::CmdId(1), CAPTION)),
        false,
    )
    .await;
    let mut tree = Tree::default();
    tree.nodes
        .insert(CAPTION.into(), "Microsoft Windows 8.1 Pro".into());

    session(
        &h,
        &device,
        Some("Machine"),
        1,
        Platform::Windows81,
        None,
        &mut tree,
    )
    .await;
    assert_eq!(
        states(&h, "D1").await,
        [
            ("a-push".into(), "pending".into()),
            ("b-reset".into(), "done".into()),
            ("c-inventory".into(), "done".into())
        ]
    );
    assert_eq!(tree.execs, [RESET]);
    let inventory = h
        .server
        .state
        .store
        .inventory_of_device("D1")
        .await
        .unwrap();
    assert_eq!(
        inventory[0].value.as_deref(),
        Some("Microsoft Windows 8.1 Pro")
    );

    let sessions = h
        .server
        .state
        .store
        .sessions_of_device("D1", 10)
        .await
        .unwrap();
    assert_eq!(
        (sessions[0].context.as_str(), sessions[0].outcome.as_deref()),
        ("Machine", Some("completed"))
    );
    let messages = h
        .server
        .state
        .store
        .session_messages(&sessions[0].id)
        .await
        .unwrap();
    assert!(
        messages.iter().all(|m| !m.body.contains("S3cret!")),
        "the password is redacted in the record"
    );
    assert!(messages.iter().any(|m| m.body.contains("(redacted)")));

    session(
        &h,
        &device,
        Some("Maintenance"),
        2,
        Platform::Windows81,
        None,
        &mut tree,
    )
    .await;
    assert_eq!(states(&h, "D1").await[0], ("a-push".into(), "done".into()));
    assert_eq!(tree.execs, [RESET, PUSH]);
    let device_row = h.server.state.store.device("D1").await.unwrap().unwrap();
    assert_eq!(
        device_row.last_context,
        Some(casement_dm::Context::Maintenance)
    );
    let metrics = h
        .http
        .get(format!("{}/metrics", h.server.local_url()))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("casement_commands_delivered_by_class_total{class=\"password-reset\",context=\"Machine\"} 1"), "{metrics}");
    assert!(metrics.contains("casement_commands_delivered_by_class_total{class=\"push-configuration\",context=\"Maintenance\"} 1"));
    assert!(
        metrics
            .contains("casement_sessions_ended_total{context=\"Machine\",outcome=\"completed\"} 1")
    );
    assert!(device_row.devinfo.unwrap().contains("Surface"));
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_failed_push_config_is_retried_in_a_later_maintenance_session() {
    a_failed_push_config_is_retried_in_a_later_maintenance_session_on(
        start(RawConfig::default()).await,
    )
    .await;
}

#[tokio::test]
async fn a_failed_push_config_is_retried_in_a_later_maintenance_session_on_postgres() {
    let test = "a_failed_push_config_is_retried_in_a_later_maintenance_session_on_postgres";
    if let Some(h) = start_on(Backend::Postgres, test, RawConfig::default()).await {
        a_failed_push_config_is_retried_in_a_later_maintenance_session_on(h).await;
    }
}

async fn a_failed_push_config_is_retried_in_a_later_maintenance_session_on(h: Harness) {
    let device = h.enroll("D2").await;
    queue(
        &h,
        "D2",
        "push",
        "push-configuration",
        exec(PUSH, "ConfigString=Casement;PFN"),
        false,
    )
    .await;
    let mut tree = Tree::default();
    tree.failing.insert(PUSH.into(), StatusCode::CommandFailed);
    session(
        &h,
        &device,
        Some("Maintenance"),
        1,
        Platform::Windows81,
        None,
        &mut tree,
    )
    .await;
    let row = h.server.state.store.command("push").await.unwrap().unwrap();
    assert_eq!(
        (row.state.as_str(), row.status_code, row.attempts),
        ("pending", Some(500), 1)
    );
    tree.failing.clear();
    session(
        &h,
        &device,
        Some("Maintenance"),
        2,
        Platform::Windows81,
        None,
        &mut tree,
    )
    .await;
    let row = h.server.state.store.command("push").await.unwrap().unwrap();
    assert_eq!((row.state.as_str(), row.attempts), ("done", 2));
    h.server.shutdown().await;
}

#[tokio::test]
async fn requests_without_a_good_certificate_are_refused() {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("D3").await;
    let url = format!(
        "{}/ManagementServer/MDM.svc?mode=Machine&Platform=WoA",
        h.server.local_url()
    );
    let body = "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>x</LocURI></Target><Source><LocURI>D3</LocURI></Source></SyncHdr><SyncBody><Alert><CmdID>2</CmdID><Data>1201</Data></Alert><Final/></SyncBody></SyncML>";

    // No certificate at all.
    let r = h.http.post(&url).body(body).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // A SyncHdr Source that is another device.
    let r = device
        .client
        .post(&url)
        .body(body.replace(">D3<", ">D-OTHER<"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Invalid SyncML gets the codec's offset and path.
    let r = device
        .client
        .post(&url)
        .body("<SyncML xmlns=\"SYNCML:SYNCML1.2\"><Bogus/></SyncML>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("/SyncML/Bogus"));

    // A certificate from another CA fails the TLS handshake or is refused.
    let foreign_ca = casement_ca::CertificateAuthority::generate(
        &Default::default(),
        time::OffsetDateTime::now_utc(),
        &mut rand::rng(),
    )
    .unwrap();
    let csr = casement_ca::windows_like_csr("D3", &mut rand::rng()).unwrap();
    let verified = casement_ca::VerifiedCsr::from_der(&csr.csr_der).unwrap();
    let foreign = foreign_ca
        .issue_device_certificate(
            &verified,
            "D3",
            time::OffsetDateTime::now_utc(),
            &mut rand::rng(),
        )
        .unwrap();
    let foreign_client = client(
        &h.server,
        Some(
            reqwest::Identity::from_pem(
                format!("{}{}", foreign.pem, csr.private_key_pem).as_bytes(),
            )
            .unwrap(),
        ),
    );
    // Refused in the handshake, or by the endpoint.
    if let Ok(r) = foreign_client.post(&url).body(body).send().await {
        assert!(r.status() == 401 || r.status() == 403, "{}", r.status());
    }

    // The right device works...
    assert_eq!(
        device
            .client
            .post(&url)
            .body(body)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // ...until it is retired.
    h.server
        .state
        .store
        .retire_device("D3", "test", casement_server::clock::now_ms())
        .await
        .unwrap();
    let r = device
        .client
        .post(&url)
        .body(body.replace("<SessionID>1<", "<SessionID>2<"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let metrics = h
        .http
        .get(format!("{}/metrics", h.server.local_url()))
        .bearer_auth(&h.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("casement_management_refusals_total{reason=\"no-certificate\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("reason=\"device-id-mismatch\""));
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_windows_10_login_status_decides_with_the_mode() {
    the_windows_10_login_status_decides_with_the_mode_on(start(RawConfig::default()).await).await;
}

#[tokio::test]
async fn the_windows_10_login_status_decides_with_the_mode_on_postgres() {
    let test = "the_windows_10_login_status_decides_with_the_mode_on_postgres";
    if let Some(h) = start_on(Backend::Postgres, test, RawConfig::default()).await {
        the_windows_10_login_status_decides_with_the_mode_on(h).await;
    }
}

async fn the_windows_10_login_status_decides_with_the_mode_on(h: Harness) {
    let device = h.enroll("D4").await;
    // A user-scoped setting: on Windows 10/11 it needs the enrolled user (Maintenance).
    queue(
        &h,
        "D4",
        "settings",
        "user-settings",
        Command::Replace({
            let mut c = ItemCommand::target(
                casement_syncml::CmdId(1),
                "./User/Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight",
            );
            c.items[0].data = Some(Data::text("0"));
            c
        }),
        false,
    )
    .await;
    let mut tree = Tree::default();
    session(
        &h,
        &device,
        Some("Maintenance"),
        1,
        Platform::Windows10,
        Some("others"),
        &mut tree,
    )
    .await;
    assert_eq!(
        states(&h, "D4").await[0].1,
        "pending",
        "no enrolled user: Machine"
    );
    session(
        &h,
        &device,
        None,
        2,
        Platform::Windows10,
        Some("user"),
        &mut tree,
    )
    .await;
    assert_eq!(
        states(&h, "D4").await[0].1,
        "done",
        "LoginStatus user proves Maintenance"
    );
    let sessions = h
        .server
        .state
        .store
        .sessions_of_device("D4", 10)
        .await
        .unwrap();
    assert_eq!(sessions[0].reason, "login-status-proves-user");
    assert_eq!(sessions[1].reason, "login-status-shows-no-enrolled-user");
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_api_queues_by_kind_says_what_pending_commands_wait_for_and_cancels() {
    let h = start(RawConfig {
        wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
        auto_push_config: false,
        ..RawConfig::default()
    })
    .await;
    h.enroll("D5").await;
    let (status, queued) = h
        .api_post(
            "/devices/D5/commands",
            serde_json::json!({ "kind": "push-config" }),
        )
        .await;
    assert_eq!(status, 201, "{queued}");
    let push_specs = queued["commands"].as_array().unwrap().len();
    assert_eq!(
        push_specs, 2,
        "Windows 10: set Push/PFN, then read ChannelURI and Status"
    );
    let push = &queued["commands"][0];
    assert_eq!(push["state"], "pending");
    assert_eq!(push["class"], "push-configuration");
    assert_eq!(
        push["waits_for"], "waits for the next session",
        "Windows 10/11: push configuration is device-scoped and goes in any session"
    );
    assert_eq!(
        push["waits_for_contexts"],
        serde_json::json!(["Machine", "Maintenance", "Apps"])
    );
    let (status, queued) = h
        .api_post(
            "/devices/D5/commands",
            serde_json::json!({ "kind": "inventory", "sets": ["devdetail"] }),
        )
        .await;
    assert_eq!(status, 201, "{queued}");
    assert_eq!(
        queued["commands"][0]["waits_for_contexts"],
        serde_json::json!(["Machine", "Maintenance", "Apps"])
    );
    let (status, refused) = h
        .api_post(
            "/devices/D5/commands",
            serde_json::json!({ "kind": "raw", "class": "settings", "syncml": "<Status/>" }),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    let (status, _) = h
        .api_post(
            "/devices/NOPE/commands",
            serde_json::json!({ "kind": "unenroll" }),
        )
        .await;
    assert_eq!(status, 404);

    let id = push["id"].as_str().unwrap();
    let (status, cancelled) = h
        .api_post(&format!("/commands/{id}/cancel"), serde_json::json!({}))
        .await;
    assert_eq!(
        (status, cancelled["state"].as_str()),
        (200, Some("cancelled"))
    );
    let (status, _) = h
        .api_post(&format!("/commands/{id}/cancel"), serde_json::json!({}))
        .await;
    assert_eq!(status, 409, "only a pending command can be cancelled");
    let listed = h.api_get("/devices/D5/commands").await;
    assert_eq!(listed["commands"].as_array().unwrap().len(), push_specs + 1);
    let audit = h.api_get("/audit").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["command.cancel", "command.queue", "command.queue"]
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_trusted_proxy_may_forward_the_certificate_and_nobody_else_may() {
    let h = start(RawConfig {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..RawConfig::default()
    })
    .await;
    let device = h.enroll("D6").await;
    let body = "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>x</LocURI></Target><Source><LocURI>D6</LocURI></Source></SyncHdr><SyncBody><Alert><CmdID>2</CmdID><Data>1201</Data></Alert><Final/></SyncBody></SyncML>";
    let url = format!(
        "{}/ManagementServer/MDM.svc?mode=Machine&Platform=WoA",
        h.server.local_url()
    );
    let escaped = percent_encoding::utf8_percent_encode(
        &device.certificate_pem,
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    // From 127.0.0.1 (configured as a proxy) without a TLS client certificate: the header counts.
    let r = h
        .http
        .post(&url)
        .header("x-client-cert", &escaped)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // A forged header naming a certificate we never issued is refused.
    let forged = casement_ca::TlsIdentity::generate_self_signed(
        &["D6"],
        time::OffsetDateTime::now_utc(),
        time::Duration::days(1),
        &mut rand::rng(),
    )
    .unwrap();
    let forged = percent_encoding::utf8_percent_encode(
        forged.certificate_pem(),
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let r = h
        .http
        .post(&url)
        .header("x-client-cert", forged)
        .body(body.replace("<SessionID>1<", "<SessionID>2<"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    h.server.shutdown().await;

    // The same header from an address that is not a configured proxy is ignored.
    let h = start(RawConfig::default()).await;
    let device = h.enroll("D7").await;
    let escaped = percent_encoding::utf8_percent_encode(
        &device.certificate_pem,
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let url = format!(
        "{}/ManagementServer/MDM.svc?mode=Machine&Platform=WoA",
        h.server.local_url()
    );
    let r = h
        .http
        .post(&url)
        .header("x-client-cert", escaped)
        .body(body.replace("D6", "D7"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_new_device_gets_push_configuration_queued_and_its_channel_tracked() {
    let h = start(RawConfig {
        wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
        ..RawConfig::default()
    })
    .await;
    let device = h.enroll("D8").await;
    let commands = h
        .server
        .state
        .store
        .commands_of_device("D8", 10)
        .await
        .unwrap();
    assert!(
        !commands.is_empty()
            && commands
                .iter()
                .all(|c| c.class == casement_dm::CommandClass::PushConfiguration
                    && c.created_by == "system"),
        "{commands:?}"
    );
    // The Windows 10 device reports its channel when the Maintenance session reads it back.
    let mut tree = Tree::default();
    tree.nodes.insert(
        "./Vendor/MSFT/DMClient/Provider/Casement/Push/ChannelURI".into(),
        "https://db5.notify.windows.com/?token=AwYAAAB".into(),
    );
    tree.nodes.insert(
        "./Vendor/MSFT/DMClient/Provider/Casement/Push/Status".into(),
        "0".into(),
    );
    session(
        &h,
        &device,
        Some("Maintenance"),
        1,
        Platform::Windows10,
        Some("user"),
        &mut tree,
    )
    .await;
    let view = h.api_get("/devices/D8").await;
    assert_eq!(view["push_channel"]["state"], "active", "{view}");
    assert_eq!(
        view["push_channel"]["host"], "db5.notify.windows.com",
        "the token is not shown"
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn regression_issue_4_the_users_unenroll_alert_retires_the_device_and_its_certificate_is_refused_after()
 {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("D9").await;
    queue(
        &h,
        "D9",
        "left-over",
        "inventory",
        Command::Get(ItemCommand::target(casement_syncml::CmdId(1), CAPTION)),
        false,
    )
    .await;
    let mut tree = Tree::default();
    common::session_with(
        &h,
        &device,
        Some("Maintenance"),
        1,
        Platform::Windows10,
        Some("user"),
        &mut tree,
        true,
    )
    .await;
    let view = h.api_get("/devices/D9").await;
    assert!(view["retired_at"].is_i64(), "{view}");
    assert!(view["retired_reason"].as_str().unwrap().contains("1226"));
    assert!(view["certificate"]["revoked_at"].is_i64());
    let audit = h.api_get("/audit").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "device.unenroll" && e["actor"] == "device:D9")
    );
    // Its certificate no longer opens a session.
    let body = "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>2</SessionID><MsgID>1</MsgID><Target><LocURI>x</LocURI></Target><Source><LocURI>D9</LocURI></Source></SyncHdr><SyncBody><Alert><CmdID>2</CmdID><Data>1201</Data></Alert><Final/></SyncBody></SyncML>";
    let r = device
        .client
        .post(format!(
            "{}/ManagementServer/MDM.svc?mode=Maintenance&Platform=WoA",
            h.server.local_url()
        ))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    h.server.shutdown().await;
}

/// `POST /api/v1/commands`: one request queued on every active device (copied by the database
/// where the SyncML is the same for all, built per device where it names the device), on a
/// user's devices, or on listed ids with the unknown ones reported; sessions then deliver it.
#[tokio::test]
async fn a_bulk_request_queues_on_every_selected_device_and_sessions_deliver_it() {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("B1").await;
    h.enroll("B2").await;
    // A Windows 8.1 device written directly: its password reset names its MDM_Client instance.
    let now = casement_server::clock::now_ms();
    h.server
        .state
        .store
        .record_enrollment(
            &casement_store::NewDevice {
                id: "B3".into(),
                platform: casement_store::Platform::Windows81,
                user_id: "u-demio".into(),
                upn: "demio".into(),
                user_sid: None,
                name: None,
                enrollment_context: Vec::new(),
                enrolled_at: now,
            },
            &casement_store::NewCertificate {
                serial_hex: "b3".into(),
                device_id: "B3".into(),
                thumbprint: "00".repeat(20),
                not_before: now,
                not_after: now + 1,
                pem: String::new(),
                issued_at: now,
            },
        )
        .await
        .unwrap();
    h.server
        .state
        .store
        .retire_device("B2", "test", now)
        .await
        .unwrap();

    let (status, body) = h
        .api_post(
            "/commands",
            serde_json::json!({ "devices": "all", "command": { "kind": "raw", "class": "inventory",
                "syncml": "<Get><CmdID>1</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>" } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["devices"].as_u64(), body["commands"].as_u64()),
        (Some(2), Some(2)),
        "{body}"
    );

    let (status, body) = h
        .api_post(
            "/commands",
            serde_json::json!({ "devices": { "user_id": "u-demio" }, "command": { "kind": "reset-password", "user": "demio", "password": "N3w pass!" } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // Windows 10/11 has no password reset of an existing user: that platform is refused.
    assert_eq!(body["devices"], 1, "{body}");
    assert_eq!(body["refused"][0]["platform"], "windows-10", "{body}");
    let b3 = h.api_get("/devices/B3/commands").await;
    let reset = b3["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "reset-password")
        .unwrap()
        .clone();
    assert!(
        reset["label"].as_str().unwrap().contains("demio"),
        "{reset}"
    );

    let (status, body) = h
        .api_post(
            "/commands",
            serde_json::json!({ "devices": { "ids": ["B1", "B2", "nope"] }, "command": { "kind": "unenroll" } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["devices"], 1);
    let refused: Vec<(&str, &str)> = body["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["device_id"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [("B2", "the device is retired"), ("nope", "unknown device")]
    );
    let (status, _) = h
        .api_post(
            "/commands",
            serde_json::json!({ "devices": "some", "command": { "kind": "unenroll" } }),
        )
        .await;
    assert_eq!(status, 400);

    // B1's next Maintenance session delivers the inventory Get and the unenroll.
    let mut tree = Tree::default();
    tree.nodes
        .insert("./DevDetail/SwV".into(), "10.0.19045".into());
    session(
        &h,
        &device,
        Some("Maintenance"),
        1,
        Platform::Windows10,
        Some("user"),
        &mut tree,
    )
    .await;
    let commands = h.api_get("/devices/B1/commands").await;
    let states: Vec<(&str, &str)> = commands["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["state"].as_str().unwrap()))
        .collect();
    assert!(states.iter().all(|(_, s)| *s == "done"), "{states:?}");
    assert_eq!(states.len(), 2, "{states:?}");
    let audit = h.api_get("/audit").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "command.queue-bulk"),
        "{audit}"
    );
}
