//! Issue 14 in the console, through the router (no sockets): the profile form answers with the
//! validation's precise message, assigning a conflicting profile shows the 409 reason naming
//! both profiles and the node, the profile's page and the device's profiles say each device's
//! status and what it waits for, groups are created and the built-in one is kept, and a role
//! without `profiles.manage` / `groups.manage` gets the 403 page.

mod common;

use axum::body::Body;
use axum::http::StatusCode;
use casement_dm::profiles::validate::validate_profile;
use casement_dm::profiles::{Format, ProfileScope, Removal, Setting};
use casement_server::{AppState, RawConfig};
use casement_store::{NewCertificate, NewDevice, Platform, Role};
use common::*;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

const CAMERA: &str = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
const SPOTLIGHT: &str = "./User/Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight";

use common::oneshot as call;

/// A console session of one role: its cookie and CSRF token.
struct Console {
    cookie: String,
    csrf: String,
}

impl Console {
    /// Signs in a new account of `role`.
    async fn of(state: &AppState, role: Role) -> Console {
        let admin = state
            .store
            .create_admin(&casement_store::NewAdmin {
                id: format!("a-{}", role.as_str()),
                username: format!("{}-admin", role.as_str()),
                display_name: role.as_str().into(),
                password_hash: "$argon2id$unused".into(),
                role,
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
        let cookie = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        let token = cookie.split_once('=').unwrap().1;
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
        Console { cookie, csrf }
    }

    async fn get(&self, state: &AppState, path: &str) -> (StatusCode, String, String) {
        call(state, "GET", path, &[("cookie", &self.cookie)], None).await
    }

    async fn post(
        &self,
        state: &AppState,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let encode = |v: &str| utf8_percent_encode(v, NON_ALPHANUMERIC).to_string();
        let mut form = format!("csrf={}", encode(&self.csrf));
        for (k, v) in fields {
            form.push_str(&format!("&{k}={}", encode(v)));
        }
        let headers = [
            ("cookie", self.cookie.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ];
        call(state, "POST", path, &headers, Some(Body::from(form))).await
    }
}

/// The admin API with the bootstrap token.
async fn api(state: &AppState, token: &str, method: &str, path: &str, body: Value) -> Value {
    let (status, answer) =
        router_api(state, method, &format!("/api/v1{path}"), token, Some(body)).await;
    assert!(status.is_success(), "{method} {path}: {status} {answer}");
    answer
}

/// Text as the page writes it (maud escapes `&`, `<`, `>` and `"`).
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A Windows 10 device enrolled straight into the store, for alice.
async fn seed_device(h: &Harness, id: &str, name: &str) {
    let state = &h.server.state;
    api(
        state,
        &h.token,
        "POST",
        "/users",
        json!({ "upn": "alice@contoso.com", "password": "correct horse battery" }),
    )
    .await;
    let user = state
        .store
        .user_by_upn("alice@contoso.com")
        .await
        .unwrap()
        .unwrap();
    let now = casement_server::clock::now_ms();
    state
        .store
        .record_enrollment(
            &NewDevice {
                id: id.into(),
                platform: Platform::Windows10,
                user_id: user.id,
                upn: user.upn,
                user_sid: None,
                name: Some(name.into()),
                enrollment_context: vec![("OSVersion".into(), "10.0.22631.2861".into())],
                enrolled_at: now,
            },
            &NewCertificate {
                serial_hex: format!("{:x}", rand::random::<u64>()),
                device_id: id.into(),
                thumbprint: "AB".repeat(20),
                not_before: now,
                not_after: now + 86_400_000,
                pem: String::new(),
                issued_at: now,
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn issue_14_the_profile_form_shows_the_validations_precise_message_and_creates_a_valid_one() {
    let h = start(RawConfig::default()).await;
    let state = h.server.state.clone();
    let admin = Console::of(&state, Role::Administrator).await;

    // The message the validation gives for this setting, word for word.
    let bad = Setting {
        loc_uri: CAMERA.into(),
        format: Format::Int,
        r#type: None,
        value: "off".into(),
        removal: Removal::Delete,
    };
    let expected = validate_profile(
        "Camera off",
        &[Platform::Windows10],
        ProfileScope::Device,
        &[bad],
    )
    .unwrap_err()
    .message();
    assert!(expected.contains("setting 1 (") && expected.contains(CAMERA));
    let fields = [
        ("name", "Camera off"),
        ("platform_windows_10", "on"),
        ("scope", "device"),
        ("loc_uri", CAMERA),
        ("format", "int"),
        ("value", "off"),
    ];
    let (status, _, page) = admin.post(&state, "/console/profiles", &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains(&format!("Not created: {}.", escaped(&expected))),
        "{expected}\n{page}"
    );
    assert!(
        page.contains("value=\"Camera off\""),
        "the form is filled in again"
    );
    assert!(state.store.list_profiles().await.unwrap().is_empty());

    // No platform, and both a SyncML body and a setting: the service's words again.
    let (status, _, page) = admin
        .post(
            &state,
            "/console/profiles",
            &[
                ("name", "Camera off"),
                ("scope", "device"),
                ("loc_uri", CAMERA),
                ("format", "int"),
                ("value", "0"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("the profile targets no platform: give windows-10, windows-8.1 or both"),
        "{page}"
    );
    let syncml = format!(
        "<Replace><CmdID>1</CmdID><Item><Target><LocURI>{CAMERA}</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">int</Format></Meta><Data>0</Data></Item></Replace>"
    );
    let mut both = fields.to_vec();
    both[5] = ("value", "0");
    both.push(("syncml", &syncml));
    let (status, _, page) = admin.post(&state, "/console/profiles", &both).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("give settings or a SyncML body, not both"),
        "{page}"
    );

    // A valid one from the SyncML body: its page, then the list with its summary.
    let (status, location, page) = admin
        .post(
            &state,
            "/console/profiles",
            &[
                ("name", "Camera off"),
                ("description", "No camera in the labs"),
                ("platform_windows_10", "on"),
                ("scope", "device"),
                ("format", "int"),
                ("syncml", &syncml),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert!(
        location.starts_with("/console/profiles/") && location.ends_with("?done=profile"),
        "{location}"
    );
    let (status, _, page) = admin.get(&state, &location).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Profile: Camera off") && page.contains(CAMERA));
    assert!(page.contains("Not assigned: on no device."), "{page}");
    let (_, _, list) = admin.get(&state, "/console/profiles").await;
    assert!(
        list.contains("Camera off")
            && list.contains("not assigned")
            && list.contains("on no device"),
        "{list}"
    );
    // The same name again: 409 with the reason.
    let (status, _, page) = admin
        .post(
            &state,
            "/console/profiles",
            &[
                ("name", "camera OFF"),
                ("platform_windows_10", "on"),
                ("scope", "device"),
                ("syncml", &syncml),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("exists already"), "{page}");
    h.server.shutdown().await;
}

#[tokio::test]
async fn issue_14_assigning_a_conflicting_profile_shows_the_409_reason_and_the_pages_say_what_devices_wait_for()
 {
    let h = start(RawConfig::default()).await;
    let state = h.server.state.clone();
    seed_device(&h, "W11-LAB-1", "Lab PC 1").await;
    let admin = Console::of(&state, Role::Administrator).await;
    let profile = |name: &str, scope: &str, node: &str, value: &str| {
        json!({ "name": name, "platforms": ["windows-10"], "scope": scope,
                "settings": [{ "loc_uri": node, "format": "int", "value": value }] })
    };
    let off = api(
        &state,
        &h.token,
        "POST",
        "/profiles",
        profile("Camera off", "device", CAMERA, "0"),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let on = api(
        &state,
        &h.token,
        "POST",
        "/profiles",
        profile("Camera on", "device", CAMERA, "1"),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let spotlight = api(
        &state,
        &h.token,
        "POST",
        "/profiles",
        profile("No Spotlight", "user", SPOTLIGHT, "0"),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Assigned through the console: back to its page, which lists the group and the device.
    let (status, location, page) = admin
        .post(
            &state,
            &format!("/console/profiles/{off}/assignments"),
            &[("group", "all-devices")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(
        location,
        format!("/console/profiles/{off}?done=assigned#groups-h")
    );
    let (_, _, page) = admin.get(&state, &format!("/console/profiles/{off}")).await;
    assert!(page.contains("data-group-id=\"all-devices\""), "{page}");
    assert!(
        page.contains("data-device-id=\"W11-LAB-1\" data-status=\"pending\""),
        "{page}"
    );
    assert!(
        page.contains("1 pending — wait for the next check-in"),
        "{page}"
    );

    // The second camera profile conflicts: 409, the reason names both and the node.
    let (status, _, page) = admin
        .post(
            &state,
            &format!("/console/profiles/{on}/assignments"),
            &[("group", "all-devices")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    let reason = escaped(&format!(
        "Not assigned: profiles \"Camera on\" and \"Camera off\" set {CAMERA} to different values (\"1\" and \"0\") on 1 device(s) they share."
    ));
    assert!(page.contains(&reason), "{reason}\n{page}");
    assert!(state.store.assignments_of(&on).await.unwrap().is_empty());

    // The user profile: the device's profiles say it waits for alice to sign in.
    let (status, _, _) = admin
        .post(
            &state,
            &format!("/console/profiles/{spotlight}/assignments"),
            &[("group", "all-devices")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, page) = admin
        .get(&state, "/console/devices/W11-LAB-1/profiles")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Profiles on Lab PC 1"), "{page}");
    assert!(
        page.contains("waits for alice@contoso.com to sign in on Lab PC 1"),
        "{page}"
    );
    let (_, _, device) = admin.get(&state, "/console/devices/W11-LAB-1").await;
    assert!(
        device.contains("id=\"device-profiles-link\"") && device.contains("No Spotlight"),
        "{device}"
    );

    // The status filter; an unknown status is a 400.
    let (_, _, failed) = admin
        .get(&state, &format!("/console/profiles/{off}?status=failed"))
        .await;
    assert!(failed.contains("No device in that status."), "{failed}");
    let (status, _, _) = admin
        .get(&state, &format!("/console/profiles/{off}?status=bogus"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Unassigned, then deleted (confirmed).
    let (status, _, _) = admin
        .post(
            &state,
            &format!("/console/profiles/{off}/unassign"),
            &[("group", "all-devices")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(state.store.assignments_of(&off).await.unwrap().is_empty());
    let (status, _, page) = admin
        .post(&state, &format!("/console/profiles/{off}/delete"), &[])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let (status, location, _) = admin
        .post(
            &state,
            &format!("/console/profiles/{off}/delete"),
            &[("confirm", "on")],
        )
        .await;
    assert_eq!(
        (status, location.as_str()),
        (
            StatusCode::SEE_OTHER,
            "/console/profiles?done=profile-deleted"
        )
    );
    assert!(state.store.profile(&off).await.unwrap().is_none());
    h.server.shutdown().await;
}

#[tokio::test]
async fn issue_14_groups_are_created_listed_and_deleted_but_not_the_built_in_one() {
    let h = start(RawConfig::default()).await;
    let state = h.server.state.clone();
    seed_device(&h, "W11-LAB-2", "Lab PC 2").await;
    let admin = Console::of(&state, Role::Administrator).await;
    let (status, location, page) = admin
        .post(
            &state,
            "/console/groups",
            &[
                ("name", "Alice's PCs"),
                ("kind", "filter"),
                ("platform", "windows-10"),
                ("user", "alice@contoso.com"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(location, "/console/groups?done=group");
    let (status, _, _) = admin
        .post(
            &state,
            "/console/groups",
            &[
                ("name", "Lab"),
                ("kind", "static"),
                ("devices", "W11-LAB-2\r\nNOT-ENROLLED\r\n"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // A filter with no field: the service's reason.
    let (status, _, page) = admin
        .post(
            &state,
            "/console/groups",
            &[("name", "Empty"), ("kind", "filter")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("a filter group needs at least one of platform, os_version, model, user"),
        "{page}"
    );
    let (_, _, list) = admin.get(&state, "/console/groups").await;
    assert!(
        list.contains("platform Windows 10/11 and user alice@contoso.com"),
        "{list}"
    );
    assert!(list.contains("2 listed: "), "{list}");
    assert!(
        !list.contains("/console/groups/all-devices/delete"),
        "no delete button for the built-in group"
    );
    let (status, _, page) = admin
        .post(&state, "/console/groups/all-devices/delete", &[])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("cannot be deleted"), "{page}");
    let lab = state.store.group("Lab").await.unwrap().unwrap();
    let (status, location, _) = admin
        .post(&state, &format!("/console/groups/{}/delete", lab.id), &[])
        .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/console/groups?done=group-deleted")
    );
    assert!(state.store.group("Lab").await.unwrap().is_none());
    h.server.shutdown().await;
}

#[tokio::test]
async fn issue_14_a_role_without_profiles_manage_reads_the_pages_and_gets_the_403_page_for_the_forms()
 {
    let h = start(RawConfig::default()).await;
    let state = h.server.state.clone();
    let helpdesk = Console::of(&state, Role::Helpdesk).await;
    let (status, _, page) = helpdesk.get(&state, "/console/profiles").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        !page.contains("id=\"create-profile\""),
        "no form it may not use"
    );
    let (status, _, page) = helpdesk
        .post(
            &state,
            "/console/profiles",
            &[("name", "x"), ("scope", "device")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("helpdesk role") && page.contains("Missing permission: profiles.manage"),
        "{page}"
    );
    let (status, _, page) = helpdesk
        .post(
            &state,
            "/console/profiles/anything/assignments",
            &[("group", "all-devices")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("profiles.manage"), "{page}");
    let (status, _, page) = helpdesk.get(&state, "/console/groups").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("id=\"create-group\""));
    let (status, _, page) = helpdesk
        .post(
            &state,
            "/console/groups",
            &[("name", "x"), ("kind", "filter")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Missing permission: groups.manage"), "{page}");
    h.server.shutdown().await;
}
