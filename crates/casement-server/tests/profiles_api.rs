//! Issue 14 through the admin API (no sockets: the router, one request at a time): validation
//! with precise messages, profiles from a SyncML body, groups and their members, conflicts,
//! who may change what.

mod common;

use axum::http::StatusCode;
use casement_server::RawConfig;
use casement_store::Role;
use common::router_api as api;
use common::*;
use serde_json::json;

const CAMERA: &str = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";

#[tokio::test]
async fn issue_14_profiles_are_validated_with_a_precise_message() {
    let h = start(RawConfig::default()).await;
    let state = &h.server.state;
    let cases = [
        (
            json!({ "name": "Bad int", "platforms": ["windows-10"],
                    "settings": [{ "loc_uri": CAMERA, "format": "int", "value": "yes" }] }),
            "not an int",
        ),
        (
            json!({ "name": "User node", "platforms": ["windows-10"], "scope": "device",
                    "settings": [{ "loc_uri": "./User/Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight", "format": "int", "value": "0" }] }),
            "a ./User/ node in a device profile",
        ),
        (
            json!({ "name": "Out of range", "platforms": ["windows-10"],
                    "settings": [{ "loc_uri": CAMERA, "format": "int", "value": "7" }] }),
            "setting 1 (./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera)",
        ),
        (
            json!({ "name": "Bad xml", "platforms": ["windows-10"],
                    "settings": [{ "loc_uri": "./Vendor/MSFT/Foo/Bar", "format": "xml", "value": "<a><b></a>" }] }),
            "not well-formed XML",
        ),
        (
            json!({ "name": "Unknown variable", "platforms": ["windows-10"],
                    "settings": [{ "loc_uri": "./Vendor/MSFT/Foo/Bar", "format": "chr", "value": "$NOPE" }] }),
            "$NOPE",
        ),
        (
            json!({ "name": "Exec", "platforms": ["windows-10"],
                    "syncml": "<Exec><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/MSFT/Reboot/RebootNow</LocURI></Target></Item></Exec>" }),
            "Exec",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = api(
            state,
            "POST",
            "/api/v1/profiles",
            &h.token,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {answer}"
        );
        assert_eq!(answer["error"], "invalid-profile", "{answer}");
        let reason = answer["reason"].as_str().unwrap();
        assert!(
            reason.contains(expected),
            "{body}: {reason:?} should name {expected:?}"
        );
    }
    let (status, _) = api(state, "GET", "/api/v1/profiles", &h.token, None).await;
    assert_eq!(status, StatusCode::OK);
    h.server.shutdown().await;
}

#[tokio::test]
async fn issue_14_a_profile_from_a_syncml_body_groups_and_a_conflict_at_assignment() {
    let h = start(RawConfig::default()).await;
    h.enroll("PROF-1").await;
    h.enroll("PROF-2").await;
    let state = &h.server.state;
    let syncml = format!(
        "<Atomic><CmdID>1</CmdID><Replace><CmdID>2</CmdID><Item><Target><LocURI>{CAMERA}</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">int</Format></Meta><Data>0</Data></Item></Replace></Atomic>"
    );
    let (status, created) = api(
        state,
        "POST",
        "/api/v1/profiles",
        &h.token,
        Some(json!({ "name": "Camera off", "platforms": ["windows-10"], "syncml": syncml })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["settings"],
        json!([{ "loc_uri": CAMERA, "format": "int", "value": "0", "removal": "delete" }])
    );
    let (status, again) = api(
        state,
        "POST",
        "/api/v1/profiles",
        &h.token,
        Some(json!({ "name": "camera OFF", "platforms": ["windows-10"], "syncml": syncml })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "names are unique: {again}");

    // A fixed group of one device; a filter group on the enrolled user.
    let (status, pilot) = api(
        state,
        "POST",
        "/api/v1/groups",
        &h.token,
        Some(json!({ "name": "Pilot", "kind": "static", "devices": ["PROF-1"] })),
    )
    .await;
    assert_eq!(
        (status, pilot["devices"].as_u64()),
        (StatusCode::CREATED, Some(1)),
        "{pilot}"
    );
    let (status, demio) = api(
        state,
        "POST",
        "/api/v1/groups",
        &h.token,
        Some(json!({ "name": "Demio's devices", "kind": "filter", "filter": { "user": "DEMIO" } })),
    )
    .await;
    assert_eq!(
        (status, demio["devices"].as_u64()),
        (StatusCode::CREATED, Some(2)),
        "{demio}"
    );
    let (status, refused) = api(
        state,
        "DELETE",
        "/api/v1/groups/all-devices",
        &h.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

    let (status, assigned) = api(
        state,
        "POST",
        "/api/v1/profiles/Camera off/assignments"
            .replace(' ', "%20")
            .as_str(),
        &h.token,
        Some(json!({ "group": "Pilot" })),
    )
    .await;
    assert_eq!(
        (status, assigned["devices_added"].as_u64()),
        (StatusCode::CREATED, Some(1)),
        "{assigned}"
    );
    let id = created["id"].as_str().unwrap();
    let (_, devices) = api(
        state,
        "GET",
        &format!("/api/v1/profiles/{id}/devices"),
        &h.token,
        None,
    )
    .await;
    assert_eq!(devices["devices"][0]["device_id"], "PROF-1");
    assert_eq!(devices["devices"][0]["status"], "pending");
    assert_eq!(
        devices["devices"][0]["waits_for"], "waits for the device's next check-in",
        "{devices}"
    );
    let (status, _) = api(
        state,
        "GET",
        &format!("/api/v1/profiles/{id}/devices?status=bogus"),
        &h.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Another profile setting the camera on, assigned to the user's devices: PROF-1 is shared.
    let (_, on) = api(
        state,
        "POST",
        "/api/v1/profiles",
        &h.token,
        Some(json!({ "name": "Camera on", "platforms": ["windows-10"],
                     "settings": [{ "loc_uri": CAMERA, "format": "int", "value": "1" }] })),
    )
    .await;
    let on_id = on["id"].as_str().unwrap();
    let (status, conflict) = api(
        state,
        "POST",
        &format!("/api/v1/profiles/{on_id}/assignments"),
        &h.token,
        Some(json!({ "group": demio["id"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["error"], "profile-conflict");
    let reason = conflict["reason"].as_str().unwrap();
    assert!(
        reason.contains("\"Camera on\"")
            && reason.contains("\"Camera off\"")
            && reason.contains(CAMERA)
            && reason.contains("1 device"),
        "{reason}"
    );
    // The same value is no conflict.
    let (_, same) = api(
        state,
        "POST",
        "/api/v1/profiles",
        &h.token,
        Some(
            json!({ "name": "Camera off too", "platforms": ["windows-10"],
                     "settings": [{ "loc_uri": CAMERA, "format": "int", "value": "00" }] }),
        ),
    )
    .await;
    let (status, body) = api(
        state,
        "POST",
        &format!(
            "/api/v1/profiles/{}/assignments",
            same["id"].as_str().unwrap()
        ),
        &h.token,
        Some(json!({ "group": "all-devices" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The device's profiles.
    let (_, of_device) = api(
        state,
        "GET",
        "/api/v1/devices/PROF-1/profiles",
        &h.token,
        None,
    )
    .await;
    assert_eq!(
        of_device["profiles"].as_array().unwrap().len(),
        2,
        "{of_device}"
    );

    // A profile's command (queued by the core at a check-in) is not cancelled on its own: its
    // node waits for the answer.
    let queued = casement_store::NewCommand {
        id: "profile-command-1".into(),
        device_id: "PROF-1".into(),
        kind: casement_store::CommandKind::Profile,
        class: casement_store::CommandClass::Settings,
        label: "Profile \"Camera off\": add".into(),
        payload: "{}".into(),
        secret: false,
        created_at: 1,
        expires_at: None,
        max_attempts: 5,
        created_by: "system".into(),
    };
    state.store.enqueue_commands(&[queued]).await.unwrap();
    let (status, refused) = api(
        state,
        "POST",
        "/api/v1/commands/profile-command-1/cancel",
        &h.token,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("unassign the profile"),
        "{refused}"
    );
    h.server.shutdown().await;
}

#[tokio::test]
async fn issue_14_only_roles_with_the_permission_change_profiles_and_groups() {
    let h = start(RawConfig::default()).await;
    let state = &h.server.state;
    for (role, can) in [
        (Role::Operator, true),
        (Role::Helpdesk, false),
        (Role::Auditor, false),
    ] {
        let (_, token) = api(
            state,
            "POST",
            "/api/v1/tokens",
            &h.token,
            Some(json!({ "name": format!("{} t", role.as_str()), "role": role.as_str(), "service_account": "s" })),
        )
        .await;
        let token = token["token"].as_str().unwrap().to_owned();
        let (status, body) = api(
            state,
            "POST",
            "/api/v1/profiles",
            &token,
            Some(
                json!({ "name": format!("P {}", role.as_str()), "platforms": ["windows-10"],
                         "settings": [{ "loc_uri": CAMERA, "format": "int", "value": "0" }] }),
            ),
        )
        .await;
        if can {
            assert_eq!(status, StatusCode::CREATED, "{role:?}: {body}");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}: {body}");
            assert_eq!(body["missing_permission"], "profiles.manage");
        }
        let (status, _) = api(state, "GET", "/api/v1/profiles", &token, None).await;
        assert_eq!(status, StatusCode::OK, "{role:?} reads");
    }
    h.server.shutdown().await;
}
