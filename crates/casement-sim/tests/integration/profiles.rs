//! Configuration profiles end to end (issue 14): profiles and groups through the admin API,
//! simulated Windows 8.1, 10 and 11 PCs over HTTPS, each device × profile's status as the server
//! reports it. Each story runs on the embedded SQLite and on a throwaway PostgreSQL (skipped
//! where PostgreSQL is not installed, required in CI).

use casement_server::RawConfig;
use casement_sim::WindowsRelease;
use casement_sim::agent::{Agent, Event};
use serde_json::{Value, json};

use super::agent_server::{Backend, Env, completed, start_with};

const CAMERA: &str = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
const SPOTLIGHT: &str = "./User/Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight";
const HIBERNATE: &str = "./Device/Vendor/MSFT/Policy/Config/Power/AllowHibernate";
const PASSWORD_NODE: &str = "./Device/Vendor/MSFT/Accounts/Users/casement/Password";
const RETRY_NODE: &str = "./Vendor/MSFT/CertificateStore/My/WSTEP/Renew/RetryAfterExpiryInterval";
const EAS_MIN_LENGTH: &str = "./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22/MinPasswordLength";
const CONFIG_SETTING: &str = "./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22UnEnrollOnCertExpiry%22/SettingValue";

impl Env {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a profile; returns its id.
    async fn profile(&self, body: Value) -> String {
        let (status, created) = self.post("/profiles", body.clone()).await;
        assert_eq!(status, 201, "{body} → {created}");
        created["id"].as_str().unwrap().to_owned()
    }

    /// Assigns `profile` to `group`; returns the answer.
    async fn assign(&self, profile: &str, group: &str) -> (u16, Value) {
        self.post(
            &format!("/profiles/{profile}/assignments"),
            json!({ "group": group }),
        )
        .await
    }

    /// The device's row of `profile`: (status, waits_for, the answer).
    async fn device_profile(&self, device: &str, profile: &str) -> (String, Option<String>, Value) {
        let all = self.get(&format!("/devices/{device}/profiles")).await;
        let row = all["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["profile_id"] == profile)
            .unwrap_or_else(|| panic!("profile {profile} not on {device}: {all}"))
            .clone();
        (
            row["status"].as_str().unwrap().to_owned(),
            row["waits_for"].as_str().map(str::to_owned),
            row,
        )
    }
}

async fn env(backend: Backend, test: &str) -> Option<Env> {
    start_with(
        backend,
        test,
        RawConfig {
            profile_check_interval_seconds: 1,
            ..RawConfig::default()
        },
    )
    .await
}

async fn run(agent: &mut Agent, event: Event, hours: i64) {
    let at = agent.state().clock + time::Duration::hours(hours);
    let entry = agent.event(event, at).await;
    completed(&entry);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_profiles_are_applied_verified_and_wait_for_the_session_that_can_carry_them() {
    if let Some(env) = env(Backend::Sqlite, "issue_14_profiles_sqlite").await {
        profiles_story(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_profiles_are_applied_verified_and_wait_for_the_session_that_can_carry_them_on_postgres()
 {
    if let Some(env) = env(
        Backend::Postgres,
        "issue_14_profiles_are_applied_verified_and_wait_for_the_session_that_can_carry_them_on_postgres",
    )
    .await
    {
        profiles_story(env).await;
    }
}

async fn profiles_story(env: Env) {
    let (mut w11, _) = env.enroll("w11", WindowsRelease::Windows11).await;
    let (mut w10, _) = env.enroll("w10", WindowsRelease::Windows10).await;
    let (mut w81, _) = env.enroll("w81", WindowsRelease::Windows81).await;
    let w11_id = w11.device().device_id.clone();
    let w10_id = w10.device().device_id.clone();
    let w81_id = w81.device().device_id.clone();

    let camera = env
        .profile(json!({
            "name": "Camera off", "platforms": ["windows-10"], "scope": "device",
            "settings": [{ "loc_uri": CAMERA, "format": "int", "value": "0" }]
        }))
        .await;
    let spotlight = env
        .profile(json!({
            "name": "No Spotlight", "platforms": ["windows-10"], "scope": "user",
            "settings": [{ "loc_uri": SPOTLIGHT, "format": "int", "value": "0" }]
        }))
        .await;
    let legacy = env
        .profile(json!({
            "name": "Unenroll on expiry", "platforms": ["windows-8.1"], "scope": "device",
            "settings": [
                { "loc_uri": CONFIG_SETTING, "format": "chr", "value": "true", "removal": "leave" },
                { "loc_uri": EAS_MIN_LENGTH, "format": "int", "value": "8", "removal": { "restore": "4" } }
            ]
        }))
        .await;
    for p in [&camera, &spotlight, &legacy] {
        let (status, body) = env.assign(p, "all-devices").await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, _, _) = env.device_profile(&w11_id, &camera).await;
    assert_eq!(status, "pending");

    // Windows 11 after a reboot: nobody signed in (LoginStatus none, Machine). The device
    // profile is written and read back; the user profile waits for the user.
    run(&mut w11, Event::Reboot, 0).await;
    let (status, _, row) = env.device_profile(&w11_id, &camera).await;
    assert_eq!(status, "verified", "{row}");
    assert_eq!(row["nodes"][0]["state"], "verified");
    let (status, waits, row) = env.device_profile(&w11_id, &spotlight).await;
    assert_eq!(status, "pending", "{row}");
    let waits = waits.unwrap();
    assert!(
        waits.starts_with("waits for ann@contoso.com to sign in on "),
        "{waits}"
    );

    // The user signs in: the user profile goes in that Maintenance session, verified.
    run(&mut w11, Event::Logon, 1).await;
    let (status, _, row) = env.device_profile(&w11_id, &spotlight).await;
    assert_eq!(status, "verified", "{row}");

    // Windows 8.1 in Machine: the profile waits for a Maintenance session.
    run(&mut w81, Event::Reboot, 0).await;
    let (status, waits, row) = env.device_profile(&w81_id, &legacy).await;
    assert_eq!(status, "pending", "{row}");
    assert_eq!(waits.as_deref(), Some("waits for a Maintenance session"));
    run(&mut w81, Event::Logon, 1).await;
    let (status, _, row) = env.device_profile(&w81_id, &legacy).await;
    assert_eq!(status, "verified", "{row}");
    let sent: Vec<String> = env.get(&format!("/devices/{w81_id}/commands")).await["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        sent.iter()
            .any(|l| l.contains("MDM_EASPolicy.SetValues MinPasswordLength")),
        "an MDM_EASPolicy property is set with the class's SetValues: {sent:?}"
    );

    // Windows 10 as Windows 11: the device profile in a session without a user.
    run(&mut w10, Event::Reboot, 0).await;
    let (status, _, row) = env.device_profile(&w10_id, &camera).await;
    assert_eq!(status, "verified", "{row}");

    // The list says it in numbers and words.
    let list = env.get("/profiles").await;
    let camera_row = list["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == camera.as_str())
        .unwrap();
    assert_eq!(camera_row["counts"]["verified"], 2, "{camera_row}");
    assert_eq!(camera_row["summary"], "2 verified");

    // A second profile setting the camera node to another value is refused at assignment.
    let other = env
        .profile(json!({
            "name": "Camera on", "platforms": ["windows-10"],
            "settings": [{ "loc_uri": CAMERA, "format": "int", "value": "1" }]
        }))
        .await;
    let (status, body) = env.assign(&other, "all-devices").await;
    assert_eq!(status, 409, "{body}");
    let reason = body["reason"].as_str().unwrap();
    assert!(
        reason.contains("\"Camera on\"")
            && reason.contains("\"Camera off\"")
            && reason.contains(CAMERA),
        "{reason}"
    );

    // A local administrator turns the camera back on: the next drift check (every second in this
    // test) reads it, re-applies the profile's value and counts the drift.
    w11.change_setting(CAMERA, "1").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    run(&mut w11, Event::Reboot, 2).await;
    let (status, _, row) = env.device_profile(&w11_id, &camera).await;
    assert_eq!(status, "verified", "{row}");
    assert_eq!(row["drift_count"], 1, "{row}");
    assert!(row["last_drift_at"].is_i64(), "{row}");
    let value = w11
        .state()
        .tree
        .settings
        .iter()
        .find(|(k, _)| k.ends_with("Camera/AllowCamera"))
        .map(|(_, v)| format!("{v:?}"));
    assert!(value.is_some_and(|v| v.contains('0')), "re-applied");
    let events = env.get("/events").await;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "profile.drifted" && e["device_id"] == w11_id.as_str()),
        "{events}"
    );

    // A value the device refuses (AllowHibernate is 0 or 1; our definitions do not know the
    // node, the device does): failed, with the node and the device's code in words.
    let hibernate = env
        .profile(json!({
            "name": "Hibernate", "platforms": ["windows-10"],
            "settings": [{ "loc_uri": HIBERNATE, "format": "int", "value": "2" }]
        }))
        .await;
    // A write-only node (Accounts CSP Password: no Get): applied, never falsely "verified".
    let password = env
        .profile(json!({
            "name": "Local account", "platforms": ["windows-10"],
            "settings": [{ "loc_uri": PASSWORD_NODE, "format": "chr", "value": "$DEVICE_ID-Secret1", "removal": "leave" }]
        }))
        .await;
    // A node whose CSP refuses Delete (CertificateStore renewal retry interval).
    let retry = env
        .profile(json!({
            "name": "Renewal retry", "platforms": ["windows-10"],
            "settings": [{ "loc_uri": RETRY_NODE, "format": "int", "value": "5" }]
        }))
        .await;
    for p in [&hibernate, &password, &retry] {
        let (status, body) = env.assign(p, "all-devices").await;
        assert_eq!(status, 201, "{body}");
    }
    run(&mut w11, Event::Reboot, 3).await;
    let (status, _, row) = env.device_profile(&w11_id, &hibernate).await;
    assert_eq!(status, "failed", "{row}");
    assert_eq!(row["nodes"][0]["loc_uri"], HIBERNATE);
    assert_eq!(row["nodes"][0]["code"], 500, "{row}");
    assert_eq!(
        row["nodes"][0]["detail"], "the device answered 500 command failed",
        "{row}"
    );
    let (status, _, row) = env.device_profile(&w11_id, &password).await;
    assert_eq!(status, "applied-not-readable", "{row}");
    assert_eq!(row["status_words"], "applied (not readable)");
    let stored = w11
        .state()
        .tree
        .settings
        .iter()
        .find(|(k, _)| k.ends_with("Users/casement/Password"))
        .map(|(_, v)| format!("{v:?}"))
        .unwrap();
    assert!(
        stored.contains(&format!("{w11_id}-Secret1")),
        "$DEVICE_ID expanded per device: {stored}"
    );

    // A new revision of the profile: the device gets only what changed, read back again.
    let (status, body) = env
        .send(
            reqwest::Method::PUT,
            &format!("/profiles/{retry}"),
            Some(json!({
                "name": "Renewal retry", "platforms": ["windows-10"],
                "settings": [{ "loc_uri": RETRY_NODE, "format": "int", "value": "7" }]
            })),
        )
        .await;
    assert_eq!(
        (status, body["revision"].as_i64()),
        (200, Some(2)),
        "{body}"
    );
    assert_eq!(env.device_profile(&w11_id, &retry).await.0, "pending");
    run(&mut w11, Event::Reboot, 3).await;
    let (status, _, row) = env.device_profile(&w11_id, &retry).await;
    assert_eq!(
        (status.as_str(), row["revision"].as_i64()),
        ("verified", Some(2)),
        "{row}"
    );
    assert_eq!(row["nodes"][0]["desired"], "7");
    let (status, _, row) = env.device_profile(&w11_id, &retry).await;
    assert_eq!(status, "verified", "{row}");
    let (status, body) = env
        .send(
            reqwest::Method::DELETE,
            &format!("/profiles/{retry}/assignments/all-devices"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    run(&mut w11, Event::Reboot, 4).await;
    let (status, _, row) = env.device_profile(&w11_id, &retry).await;
    assert_eq!(status, "left-on-device", "{row}");
    assert_eq!(row["status_words"], "left on device");
    assert_eq!(row["nodes"][0]["code"], 405, "{row}");

    // Unassigning removes the setting (Delete) at the next session.
    let (status, body) = env
        .send(
            reqwest::Method::DELETE,
            &format!("/profiles/{camera}/assignments/all-devices"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(env.device_profile(&w11_id, &camera).await.0, "removing");
    run(&mut w11, Event::Reboot, 5).await;
    let (status, _, row) = env.device_profile(&w11_id, &camera).await;
    assert_eq!(status, "removed", "{row}");
    assert!(
        !w11.state()
            .tree
            .settings
            .keys()
            .any(|k| k.ends_with("Camera/AllowCamera")),
        "{:?}",
        w11.state().tree.settings.keys().collect::<Vec<_>>()
    );
}
