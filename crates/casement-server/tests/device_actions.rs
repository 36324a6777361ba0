//! Device actions over real HTTPS (issue 15 part 1): wipe, reboot and lock through the API, the
//! wipe's safeguards (confirmation, bulk flag, a second administrator's approval), delivery by
//! the per-platform policy table, and retirement after an acknowledged wipe.

mod common;

use casement_dm::device::Platform;
use casement_server::RawConfig;
use common::*;
use serde_json::json;

/// The `DeviceName` of the enrollment request the harness replays.
const NAME: &str = "DESKTOP-28FGAI6";

async fn commands(h: &Harness, device: &str) -> Vec<serde_json::Value> {
    h.api_get(&format!("/devices/{device}/commands")).await["commands"]
        .as_array()
        .unwrap()
        .clone()
}

async fn audit_actions(h: &Harness) -> Vec<String> {
    h.api_get("/audit").await["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A Windows 8.1 device written directly (no session needed: the API answers from its platform).
async fn record_81(h: &Harness, id: &str) {
    let now = casement_server::clock::now_ms();
    h.server
        .state
        .store
        .record_enrollment(
            &casement_store::NewDevice {
                id: id.into(),
                platform: casement_store::Platform::Windows81,
                user_id: "u-demio".into(),
                upn: "demio".into(),
                user_sid: None,
                name: None,
                enrollment_context: Vec::new(),
                enrolled_at: now,
            },
            &casement_store::NewCertificate {
                serial_hex: format!("{id}-serial"),
                device_id: id.into(),
                thumbprint: "00".repeat(20),
                not_before: now,
                not_after: now + 1,
                pem: String::new(),
                issued_at: now,
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn issue_15_a_wipe_on_windows_11_is_delivered_without_a_user_and_retires_the_device() {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("W1").await;

    // The safeguard: a wipe names the device it wipes, on both doors.
    for body in [
        json!({ "kind": "wipe" }),
        json!({ "kind": "wipe", "confirm": "SOME-OTHER-PC" }),
    ] {
        let (status, answer) = h.api_post("/devices/W1/actions", body.clone()).await;
        assert_eq!(status, 422, "{answer}");
        assert!(
            answer
                .to_string()
                .contains("a wipe names the device it wipes"),
            "{answer}"
        );
        let (status, answer) = h.api_post("/devices/W1/commands", body).await;
        assert_eq!(status, 422, "{answer}");
    }
    assert!(commands(&h, "W1").await.is_empty(), "nothing was queued");

    let (status, answer) = h
        .api_post(
            "/devices/W1/actions",
            json!({ "kind": "wipe", "confirm": NAME.to_lowercase() }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let command = &answer["commands"][0];
    assert_eq!(command["class"], "wipe");
    assert_eq!(command["kind"], "wipe");
    assert_eq!(command["state"], "pending");
    assert_eq!(
        command["waits_for"], "waits for the next session",
        "Windows 10/11 carries a wipe in any session: {command}"
    );

    // A session without a user: Machine, LoginStatus none.
    let mut tree = Tree::default();
    session(
        &h,
        &device,
        Some("Machine"),
        1,
        Platform::Windows10,
        Some("none"),
        &mut tree,
    )
    .await;
    assert_eq!(
        tree.execs,
        ["./Device/Vendor/MSFT/RemoteWipe/doWipeProtected"],
        "the wipe was delivered in the Machine session"
    );
    let listed = commands(&h, "W1").await;
    assert_eq!(listed[0]["state"], "done", "{listed:?}");

    let view = h.api_get("/devices/W1").await;
    assert!(view["retired_at"].is_i64(), "{view}");
    assert_eq!(
        view["retired_reason"], "wipe acknowledged — the PC is resetting",
        "{view}"
    );
    assert!(view["certificate"]["revoked_at"].is_i64(), "{view}");
    let events = h.api_get("/events").await;
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"device.wiped"), "{kinds:?}");
    assert!(kinds.contains(&"device.retired"), "{kinds:?}");
    let audit = audit_actions(&h).await;
    assert!(audit.iter().any(|a| a == "device.action"), "{audit:?}");
    assert!(audit.iter().any(|a| a == "device.wiped"), "{audit:?}");

    // Its certificate no longer opens a session.
    let body = "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>2</SessionID><MsgID>1</MsgID><Target><LocURI>x</LocURI></Target><Source><LocURI>W1</LocURI></Source></SyncHdr><SyncBody><Alert><CmdID>2</CmdID><Data>1201</Data></Alert><Final/></SyncBody></SyncML>";
    let refused = device
        .client
        .post(format!(
            "{}/ManagementServer/MDM.svc?mode=Machine&Platform=WoA",
            h.server.local_url()
        ))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    // And nothing more is queued for it.
    let (status, _) = h
        .api_post("/devices/W1/actions", json!({ "kind": "lock" }))
        .await;
    assert_eq!(status, 409);
    h.server.shutdown().await;
}

#[tokio::test]
async fn issue_15_on_windows_81_wipe_and_reboot_are_refused_with_the_reason_and_lock_waits_for_maintenance()
 {
    let h = start(RawConfig::default()).await;
    record_81(&h, "E1").await;
    // Without a name, the confirmation is the device's id.
    let (status, answer) = h
        .api_post(
            "/devices/E1/actions",
            json!({ "kind": "wipe", "confirm": "E1" }),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer.to_string().contains(
            "wipe is not supported on Windows 8.1: the Windows 8.1 WMI bridge has no wipe method"
        ),
        "{answer}"
    );
    let (status, answer) = h
        .api_post("/devices/E1/actions", json!({ "kind": "reboot" }))
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer
            .to_string()
            .contains("reboot is not supported on Windows 8.1"),
        "{answer}"
    );
    let (status, answer) = h
        .api_post("/devices/E1/actions", json!({ "kind": "lock" }))
        .await;
    assert_eq!(status, 201, "{answer}");
    let command = &answer["commands"][0];
    assert_eq!(command["class"], "lock");
    assert_eq!(command["waits_for"], "waits for a Maintenance session");
    assert_eq!(
        command["label"],
        "Lock the device (MDM_Client.LockWorkstation)"
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn issue_15_a_bulk_wipe_needs_the_bulk_flag() {
    let h = start(RawConfig::default()).await;
    h.enroll("W2").await;
    h.enroll("W3").await;
    let devices = json!({ "ids": ["W2", "W3"] });
    let (status, answer) = h
        .api_post(
            "/commands",
            json!({ "devices": devices, "command": { "kind": "wipe" } }),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer.to_string().contains("\\\"bulk\\\": true"),
        "{answer}"
    );
    let (status, _) = h
        .api_post(
            "/commands",
            json!({ "devices": "all", "command": { "kind": "wipe", "bulk": false } }),
        )
        .await;
    assert_eq!(status, 422);
    assert!(commands(&h, "W2").await.is_empty());

    let (status, answer) = h
        .api_post(
            "/commands",
            json!({ "devices": devices, "command": { "kind": "wipe", "bulk": true } }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["devices"], 2, "{answer}");
    for id in ["W2", "W3"] {
        let listed = commands(&h, id).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["class"], "wipe");
    }
    h.server.shutdown().await;
}

#[tokio::test]
async fn issue_15_a_wipe_waits_for_a_second_administrators_approval() {
    let h = start(RawConfig {
        wipe_approval: true,
        ..RawConfig::default()
    })
    .await;
    h.enroll("W4").await;
    // A second administrator: a personal token.
    let (status, created) = h
        .api_post(
            "/tokens",
            json!({ "name": "second", "role": "administrator" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let second = created["token"].as_str().unwrap().to_owned();
    let as_second = |method: reqwest::Method, path: &str| {
        h.http
            .request(method, format!("{}/api/v1{path}", h.server.local_url()))
            .bearer_auth(&second)
    };

    // Queued directly, a wipe is refused while approval is on.
    let (status, answer) = h
        .api_post(
            "/devices/W4/commands",
            json!({ "kind": "wipe", "confirm": NAME }),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer.to_string().contains("approval"), "{answer}");

    // Requested: recorded, nothing queued.
    let (status, answer) = h
        .api_post(
            "/devices/W4/actions",
            json!({ "kind": "wipe", "confirm": NAME }),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    let request = answer["request"]["id"].as_str().unwrap().to_owned();
    assert_eq!(answer["request"]["state"], "pending");
    assert!(commands(&h, "W4").await.is_empty());

    // The requester cannot approve their own request.
    let (status, answer) = h
        .api_post(&format!("/action-requests/{request}/approve"), json!({}))
        .await;
    assert_eq!(status, 403, "{answer}");
    assert!(commands(&h, "W4").await.is_empty());

    // A different administrator approves: the wipe is queued.
    let approved = as_second(
        reqwest::Method::POST,
        &format!("/action-requests/{request}/approve"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(approved.status(), 200);
    let approved: serde_json::Value = approved.json().await.unwrap();
    assert_eq!(approved["request"]["state"], "approved", "{approved}");
    assert_eq!(approved["commands"][0]["class"], "wipe", "{approved}");
    assert_eq!(commands(&h, "W4").await.len(), 1);
    // Decided once only.
    let again = as_second(
        reqwest::Method::POST,
        &format!("/action-requests/{request}/reject"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(again.status(), 409);

    // A rejected request queues nothing.
    let (status, answer) = h
        .api_post(
            "/devices/W4/actions",
            json!({ "kind": "wipe", "confirm": NAME, "method": "doWipe" }),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    let rejected_id = answer["request"]["id"].as_str().unwrap().to_owned();
    let rejected = as_second(
        reqwest::Method::POST,
        &format!("/action-requests/{rejected_id}/reject"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(rejected.status(), 200);
    assert_eq!(
        commands(&h, "W4").await.len(),
        1,
        "still only the approved one"
    );

    let listed = h.api_get("/action-requests").await;
    let states: Vec<&str> = listed["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.len(), 2, "{listed}");
    assert!(states.contains(&"approved") && states.contains(&"rejected"));
    let audit = audit_actions(&h).await;
    for action in [
        "action.request",
        "action.approve-refused",
        "action.approve",
        "action.reject",
    ] {
        assert!(audit.iter().any(|a| a == action), "{action}: {audit:?}");
    }
    // Reboot and lock need no approval.
    let (status, _) = h
        .api_post("/devices/W4/actions", json!({ "kind": "lock" }))
        .await;
    assert_eq!(status, 201);
    h.server.shutdown().await;
}

#[tokio::test]
async fn issue_15_reboot_and_lock_on_windows_10_are_done_in_a_session_without_a_user() {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("W5").await;
    for body in [
        json!({ "kind": "reboot" }),
        json!({ "kind": "reboot", "at": "2026-12-07T02:00:00" }),
        json!({ "kind": "lock" }),
    ] {
        let (status, answer) = h.api_post("/devices/W5/actions", body).await;
        assert_eq!(status, 201, "{answer}");
    }
    let (status, answer) = h
        .api_post(
            "/devices/W5/actions",
            json!({ "kind": "reboot", "at": "tomorrow" }),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let (status, _) = h
        .api_post("/devices/W5/actions", json!({ "kind": "inventory" }))
        .await;
    assert_eq!(status, 422, "not a device action");

    let mut tree = Tree::default();
    session(
        &h,
        &device,
        Some("Machine"),
        1,
        Platform::Windows10,
        Some("none"),
        &mut tree,
    )
    .await;
    assert_eq!(
        tree.execs,
        [
            "./Device/Vendor/MSFT/Reboot/RebootNow",
            "./Device/Vendor/MSFT/RemoteLock/Lock"
        ]
    );
    assert_eq!(
        tree.nodes
            .get("./Device/Vendor/MSFT/Reboot/Schedule/Single")
            .map(String::as_str),
        Some("2026-12-07T02:00:00")
    );
    for c in commands(&h, "W5").await {
        assert_eq!(c["state"], "done", "{c}");
    }
    let view = h.api_get("/devices/W5").await;
    assert!(
        view["retired_at"].is_null(),
        "reboot and lock do not retire"
    );
    h.server.shutdown().await;
}

/// A console session for a new administrator: the cookie pair and the CSRF token.
async fn console_admin(state: &casement_server::AppState, name: &str) -> (String, String) {
    let admin = state
        .store
        .create_admin(&casement_store::NewAdmin {
            id: format!("a-{name}"),
            username: name.into(),
            display_name: name.into(),
            password_hash: "$argon2id$unused".into(),
            role: casement_store::Role::Administrator,
            created_at: 1,
        })
        .await
        .unwrap();
    let set = casement_server::web::auth::sign_in(
        state,
        casement_store::WebSessionKind::Console,
        &admin.id,
    )
    .await
    .unwrap();
    let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
    let token = pair.split_once('=').unwrap().1;
    let csrf = state
        .store
        .web_session(
            &casement_server::web::auth::token_hash(token),
            casement_server::clock::now_ms(),
        )
        .await
        .unwrap()
        .expect("the session just made")
        .csrf_token;
    (pair, csrf)
}

async fn console_call(
    state: &casement_server::AppState,
    method: &str,
    path: &str,
    session: &(String, String),
    form: Option<&str>,
) -> (u16, String) {
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", session.0.as_str())
        .header("x-csrf-token", session.1.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form.map(|f| axum::body::Body::from(f.to_owned()))
                .unwrap_or_else(axum::body::Body::empty),
        )
        .unwrap();
    let response = casement_server::http::app(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The console's device actions page: the administrator types the device's name to confirm a
/// wipe; with approval on, another administrator approves it from the same page.
#[tokio::test]
async fn issue_15_the_console_wipe_needs_the_typed_name_and_a_second_administrator() {
    let h = start(RawConfig {
        wipe_approval: true,
        ..RawConfig::default()
    })
    .await;
    h.enroll("W6").await;
    let state = h.server.state.clone();
    let alice = console_admin(&state, "alice").await;
    let bob = console_admin(&state, "bob").await;

    let (status, device_page) =
        console_call(&state, "GET", "/console/devices/W6", &alice, None).await;
    assert_eq!(status, 200);
    assert!(
        device_page.contains("/console/devices/W6/actions"),
        "the link"
    );
    let (status, page) =
        console_call(&state, "GET", "/console/devices/W6/actions", &alice, None).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("wipe-confirm") && page.contains(NAME),
        "{page}"
    );

    let (status, page) = console_call(
        &state,
        "POST",
        "/console/devices/W6/actions",
        &alice,
        Some("kind=wipe&method=doWipeProtected&confirm=WRONG-PC"),
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("a wipe names the device it wipes"), "{page}");

    let (status, page) = console_call(
        &state,
        "POST",
        "/console/devices/W6/actions",
        &alice,
        Some(&format!("kind=wipe&method=doWipeProtected&confirm={NAME}")),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Wipe requested"), "{page}");
    assert!(page.contains("waits for another administrator"), "{page}");
    let request = state.store.list_action_requests(10).await.unwrap()[0]
        .id
        .clone();
    // Alice cannot approve her own request; Bob can.
    let (status, _) = console_call(
        &state,
        "POST",
        &format!("/console/action-requests/{request}/approve"),
        &alice,
        Some("x=1"),
    )
    .await;
    assert_eq!(status, 422);
    assert!(commands(&h, "W6").await.is_empty());
    let (status, _) = console_call(
        &state,
        "POST",
        &format!("/console/action-requests/{request}/approve"),
        &bob,
        Some("x=1"),
    )
    .await;
    assert_eq!(status, 303);
    let listed = commands(&h, "W6").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["class"], "wipe");
    assert_eq!(listed[0]["created_by"], "admin:alice");
    let (_, page) = console_call(&state, "GET", "/console/devices/W6/actions", &bob, None).await;
    assert!(
        page.contains("Wipe the device (RemoteWipe doWipeProtected)"),
        "{page}"
    );
    assert!(page.contains("waits for the next session"), "{page}");
    h.server.shutdown().await;
}
