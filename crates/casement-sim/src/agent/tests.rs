use casement_syncml::{AlertCode, Command};
use time::macros::datetime;

use super::fixtures::{self, FakeServer, NOW, exec_cmd, get_cmd};
use super::*;
use crate::enroll::WindowsRelease;
use crate::transcript::Outcome;

const ID: &str = "B5B954E81FBCB94EB79BD08BE625F4EE";
const CLIENT: &str =
    "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22B5B954E81FBCB94EB79BD08BE625F4EE%22";
const WNS: &str = "./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22Casement%22/Exec=UpdateConfiguration";

fn agent(platform: WindowsRelease) -> Agent {
    Agent::new(fixtures::device(platform), NOW)
}

fn alerts(message: &casement_syncml::SyncMl) -> Vec<(u16, Option<String>)> {
    message
        .body
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Alert(a) => Some((
                a.code.code(),
                a.items
                    .first()
                    .and_then(|i| i.data.as_ref())
                    .map(|d| d.as_str().to_owned()),
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_windows_10_logon_session_speaks_like_the_real_client() {
    let server = FakeServer::new(vec![vec![get_cmd("./DevDetail/SwV"), get_cmd("./Nope")]]);
    let mut agent = agent(WindowsRelease::Windows10);
    agent.state_mut().user = UserSession::LoggedOff;
    let entry = agent.event_with(&server, Event::Logon, NOW).await;
    assert_eq!(entry.user_before, UserSession::LoggedOff);
    assert_eq!(entry.user_after, UserSession::Active);
    let session = entry.session.as_ref().unwrap();
    assert_eq!(
        session.outcome,
        Outcome::Completed,
        "{:?}",
        session.http_errors
    );
    assert_eq!(session.mode, "Maintenance");
    assert_eq!(session.session_id, "1");
    assert_eq!(
        session
            .commands
            .iter()
            .map(|c| (c.cmd.as_str(), c.status))
            .collect::<Vec<_>>(),
        [("Get", 200), ("Get", 404)]
    );
    assert_eq!(
        session.messages.len(),
        4,
        "package 1, commands, answers, end"
    );

    let seen = server.messages();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].url,
        format!("{}?mode=Maintenance&Platform=WoA", fixtures::SERVER)
    );
    assert_eq!(
        seen[0].header("User-Agent"),
        Some("MSFT OMA DM Client/1.2.0.1")
    );
    assert_eq!(
        seen[0].header("Content-Type"),
        Some("application/vnd.syncml.dm+xml")
    );
    assert!(seen[0].header("Ms-Cv").is_some());
    let p1 = &seen[0].message;
    assert_eq!(p1.header.source.loc_uri, ID);
    assert_eq!(p1.header.target.loc_uri, fixtures::SERVER);
    assert_eq!(alerts(p1), [(1201, None), (1224, Some("user".into()))]);
    // The answer carries the Get's Results.
    let results = seen[1].message.body.commands.iter().any(|c| {
        matches!(c, Command::Results(r) if r.items[0].data.as_ref().unwrap().as_str() == "10.0.19043.2364")
    });
    assert!(results);

    let next = agent
        .event_with(&server, Event::Nightly, datetime!(2026-11-25 02:10 UTC))
        .await;
    assert_eq!(next.session.unwrap().session_id, "2");
}

#[tokio::test]
async fn windows_81_reboots_into_machine_without_login_status() {
    let server = FakeServer::new(vec![]);
    let mut agent = agent(WindowsRelease::Windows81);
    let entry = agent.event_with(&server, Event::Reboot, NOW).await;
    assert_eq!(entry.user_after, UserSession::LoggedOff);
    assert_eq!(agent.state().last_boot, NOW);
    let session = entry.session.unwrap();
    assert_eq!(
        (session.mode.as_str(), session.login_status),
        ("Machine", None)
    );
    let seen = server.messages();
    assert_eq!(
        seen[0].url,
        format!("{}?mode=Machine&Platform=WoA", fixtures::SERVER)
    );
    assert_eq!(seen[0].header("User-Agent"), Some("Enrollment"));
    assert_eq!(alerts(&seen[0].message), [(1201, None)]);
}

#[tokio::test]
async fn push_sessions_are_apps_on_windows_81_and_alert_1200_on_windows_10() {
    let server = FakeServer::new(vec![]);
    let mut w81 = agent(WindowsRelease::Windows81);
    let s = w81
        .event_with(&server, Event::Push, NOW)
        .await
        .session
        .unwrap();
    assert_eq!((s.mode.as_str(), s.alert), ("Apps", 1201));
    let mut w10 = agent(WindowsRelease::Windows11);
    let s = w10
        .event_with(&server, Event::Push, NOW)
        .await
        .session
        .unwrap();
    assert_eq!((s.mode.as_str(), s.alert), ("Maintenance", 1200));
    let seen = server.messages();
    assert_eq!(
        seen[0].url,
        format!("{}?mode=Apps&Platform=WoA", fixtures::SERVER)
    );
    assert_eq!(
        alerts(&seen[1].message),
        [
            (AlertCode::ServerInitiatedMgmt.code(), None),
            (1224, Some("user".into()))
        ]
    );
}

#[tokio::test]
async fn an_interactive_run_cannot_configure_wns_but_a_logon_session_can() {
    let config = "ConfigString=Casement;Casement.MDM_8wekyb3d8bbwe";
    let server = FakeServer::new(vec![
        vec![
            exec_cmd(WNS, Some(config)),
            exec_cmd(
                &format!("{CLIENT}/Exec=ResetUserPassword"),
                Some("ConfigString=ann@example.com;pw"),
            ),
        ],
        vec![exec_cmd(WNS, Some(config))],
    ]);
    let mut agent = agent(WindowsRelease::Windows81);
    let interactive = agent.event_with(&server, Event::Interactive, NOW).await;
    let s = interactive.session.as_ref().unwrap();
    assert_eq!(s.mode, "Maintenance");
    assert_eq!(s.access, UserAccess::Interactive);
    assert_eq!(interactive.status_of("UpdateConfiguration"), Some(500));
    assert_eq!(interactive.status_of("ResetUserPassword"), Some(200));
    assert!(agent.channel().is_none());

    let logon = agent.event_with(&server, Event::Logon, NOW).await;
    assert_eq!(logon.status_of("UpdateConfiguration"), Some(200));
    assert_eq!(
        agent.channel().unwrap().uri,
        format!("https://127.0.0.1:8444/wns/channel/{ID}")
    );
}

#[tokio::test]
async fn the_nightly_run_checks_the_hour_and_the_user() {
    let server = FakeServer::new(vec![]);
    let mut agent = agent(WindowsRelease::Windows10);
    let skipped = agent.event_with(&server, Event::Nightly, NOW).await;
    assert!(skipped.session.is_none());
    assert!(
        skipped
            .note
            .as_deref()
            .unwrap()
            .contains("2026-11-25T02:00:00Z"),
        "{skipped:?}"
    );

    agent.event_with(&server, Event::Lock, NOW).await;
    let locked = agent
        .event_with(&server, Event::Nightly, datetime!(2026-11-25 02:00 UTC))
        .await;
    let s = locked.session.unwrap();
    assert_eq!(
        (s.mode.as_str(), s.login_status),
        ("Maintenance", Some(LoginAlert::User))
    );

    agent
        .event_with(&server, Event::Logoff, datetime!(2026-11-25 08:00 UTC))
        .await;
    let off = agent
        .event_with(&server, Event::Nightly, datetime!(2026-11-26 02:30 UTC))
        .await;
    let s = off.session.unwrap();
    assert_eq!(
        (s.mode.as_str(), s.login_status),
        ("Machine", Some(LoginAlert::None))
    );
    assert_eq!(
        agent.state().last_nightly,
        Some(datetime!(2026-11-26 02:30 UTC))
    );
}

#[tokio::test]
async fn advancing_the_clock_runs_the_nightly_task_each_night() {
    let server = FakeServer::new(vec![]);
    let mut agent = agent(WindowsRelease::Windows81);
    agent.state_mut().maintenance.utc_offset_minutes = 60;
    let runs = agent
        .advance_with(&server, datetime!(2026-11-27 12:00 UTC))
        .await;
    let at: Vec<_> = runs.iter().map(|r| r.at).collect();
    assert_eq!(
        at,
        [
            datetime!(2026-11-25 01:00 UTC),
            datetime!(2026-11-26 01:00 UTC),
            datetime!(2026-11-27 01:00 UTC)
        ]
    );
    assert!(
        runs.iter()
            .all(|r| r.session.as_ref().unwrap().mode == "Maintenance")
    );
    assert_eq!(agent.state().clock, datetime!(2026-11-27 12:00 UTC));
}

#[tokio::test]
async fn http_errors_end_the_session_and_are_recorded() {
    let server = FakeServer::new(vec![]);
    *server.fail_with.lock().unwrap() = Some(503);
    let mut agent = agent(WindowsRelease::Windows10);
    let entry = agent.event_with(&server, Event::Logon, NOW).await;
    let s = entry.session.unwrap();
    assert_eq!(s.outcome, Outcome::HttpError);
    assert_eq!(s.http_errors[0].status, Some(503));
    assert_eq!(s.http_errors[0].message, "server error");
    assert!(entry.note.is_some());
}

#[tokio::test]
async fn a_missing_client_is_a_transport_error() {
    // The fixture's PEM is not a usable identity.
    let mut agent = agent(WindowsRelease::Windows10);
    let entry = agent.event(Event::Logon, NOW).await;
    let s = entry.session.unwrap();
    assert_eq!(s.outcome, Outcome::TransportError);
    assert!(
        s.http_errors[0].message.contains("no HTTP client"),
        "{:?}",
        s.http_errors
    );
}

#[tokio::test]
async fn after_unenrolling_the_device_stops_syncing() {
    let server = FakeServer::new(vec![vec![exec_cmd(
        &format!("{CLIENT}/Exec=SendUnenrollRequest"),
        Some(&format!("DeviceClientID={ID}")),
    )]]);
    let mut agent = agent(WindowsRelease::Windows81);
    let entry = agent.event_with(&server, Event::Reboot, NOW).await;
    assert_eq!(entry.status_of("SendUnenrollRequest"), Some(200));
    assert!(entry.session.unwrap().unenrolled);
    assert!(agent.is_unenrolled());
    let after = agent.event_with(&server, Event::Logon, NOW).await;
    assert!(after.session.is_none());
    assert_eq!(after.user_after, UserSession::Active);
    assert_eq!(server.messages().len(), 2);
}

#[tokio::test]
async fn an_app_job_completes_when_its_session_ends() {
    let server = FakeServer::new(vec![vec![exec_cmd(
        "./cimv2/MDM_AppInstallJob/Exec=CreateJob",
        Some("JobData=<Job PackageFullName=\"Contoso.Notes_1.2.0.0_x64__8wekyb3d8bbwe\"/>"),
    )]]);
    let mut agent = agent(WindowsRelease::Windows81);
    let entry = agent.event_with(&server, Event::Push, NOW).await;
    let s = entry.session.unwrap();
    assert_eq!(s.commands[0].status, 200);
    assert_eq!(s.apps_installed, 1);
    assert_eq!(
        agent.state().tree.apps[0].full_name,
        "Contoso.Notes_1.2.0.0_x64__8wekyb3d8bbwe"
    );
}

#[tokio::test]
async fn lock_and_unlock_only_change_the_user_session() {
    let server = FakeServer::new(vec![]);
    let mut agent = agent(WindowsRelease::Windows10);
    let lock = agent.event_with(&server, Event::Lock, NOW).await;
    assert_eq!(
        (lock.user_after, lock.session.is_none()),
        (UserSession::Locked, true)
    );
    agent.event_with(&server, Event::Logoff, NOW).await;
    let unlock = agent.event_with(&server, Event::Unlock, NOW).await;
    assert_eq!(unlock.user_after, UserSession::LoggedOff);
    assert!(unlock.note.unwrap().contains("nothing to unlock"));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn windows_10_renews_a_channel_that_is_about_to_expire() {
    let server = FakeServer::new(vec![]);
    let mut agent = agent(WindowsRelease::Windows10);
    agent.state_mut().tree.push = Some(tree::DmClientPush {
        pfn: "P_x".into(),
        channel: wmi::methods::new_channel("https://wns.test/c".into(), NOW - Duration::days(20)),
    });
    agent.event_with(&server, Event::Logon, NOW).await;
    assert_eq!(
        agent.channel().unwrap().expires_at,
        NOW + Duration::days(30)
    );
    assert!(agent.revoke_channel());
    assert!(agent.channel().unwrap().revoked);
}

#[test]
fn state_survives_save_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let device = fixtures::device(WindowsRelease::Windows81);
    device.save(dir.path()).unwrap();
    // Without agent.json: a freshly enrolled device, clock at enrollment.
    let fresh = Agent::load(dir.path()).unwrap();
    assert_eq!(fresh.state().clock, device.enrolled_at);
    assert_eq!(fresh.state().user, UserSession::Active);

    let mut agent = Agent::new(device, NOW);
    let state = agent.state_mut();
    state.user = UserSession::Locked;
    state.next_session_id = 41;
    state.maintenance.hour = 3;
    state.tree.unenroll_requested = Some(NOW);
    state.sim_clock = Some(SimClock::new(NOW, NOW, 60.0));
    agent.save(dir.path()).unwrap();
    let loaded = Agent::load(dir.path()).unwrap();
    assert_eq!(loaded.state(), agent.state());
    assert!(dir.path().join(AGENT_FILE).is_file());
    std::fs::write(dir.path().join(AGENT_FILE), "{").unwrap();
    assert!(matches!(
        Agent::load(dir.path()),
        Err(AgentError::Json { .. })
    ));
}

/// Reads a node through the platform's tree, as the server's Get would.
fn read(agent: &mut Agent, uri: &str) -> Result<(String, String), u16> {
    let device = agent.device().clone();
    let env = tree::TreeEnv {
        device: &device,
        now: NOW,
        access: UserAccess::Impersonated,
    };
    let mut tree = session::tree(env, agent.state_mut());
    fixtures::get(tree.as_mut(), uri)
}

#[test]
fn change_setting_then_get_returns_the_new_value() {
    let mut agent = agent(WindowsRelease::Windows10);
    let camera = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
    let change = agent.change_setting(camera, "1").unwrap();
    assert_eq!(change.before, None);
    assert_eq!(change.after.as_ref().map(|v| v.data.as_str()), Some("1"));
    let change = agent.change_setting(camera, "0").unwrap();
    assert_eq!(change.before.map(|v| v.data), Some("1".to_owned()));
    assert_eq!(read(&mut agent, camera), Ok(("int".into(), "0".into())));
    // A user policy changes while the user is logged off.
    agent.state_mut().user = UserSession::LoggedOff;
    let spotlight = "./User/Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight";
    agent.change_setting(spotlight, "0").unwrap();
    assert_eq!(read(&mut agent, spotlight), Ok(("int".into(), "0".into())));
    // An unknown policy and another CSP's node take any value.
    agent
        .change_setting("./Vendor/MSFT/Policy/Config/Start/HideSleep", "1")
        .unwrap();
    agent
        .change_setting("./Vendor/MSFT/BitLocker/RequireDeviceEncryption", "0")
        .unwrap();
    // A write-only node changes but cannot be read back.
    let password = "./Device/Vendor/MSFT/Accounts/Users/ann/Password";
    let change = agent.change_setting(password, "Local-1").unwrap();
    assert_eq!(change.after, None);
    assert_eq!(read(&mut agent, password), Err(405));
    // What the node refuses is an error and changes nothing.
    assert!(
        agent
            .change_setting(camera, "7")
            .unwrap_err()
            .contains("500")
    );
    assert!(agent.change_setting("./DevInfo/DevId", "x").is_err());
    assert!(agent.change_setting("./Vendor/MSFT/Nope/X", "x").is_err());
    assert_eq!(read(&mut agent, camera), Ok(("int".into(), "0".into())));
    // The change is in the agent state that is saved.
    let json = serde_json::to_string(agent.state()).unwrap();
    let state: AgentState = serde_json::from_str(&json).unwrap();
    let mut reloaded = Agent::with_state(agent.device().clone(), state);
    assert_eq!(read(&mut reloaded, camera), Ok(("int".into(), "0".into())));
}

#[test]
fn change_setting_on_windows_81_changes_wmi_properties() {
    let mut agent = agent(WindowsRelease::Windows81);
    let eas = "./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22/MinPasswordLength";
    agent.change_setting(eas, "4").unwrap();
    assert_eq!(read(&mut agent, eas), Ok(("int".into(), "4".into())));
    let setting =
        "./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22AccountId%22/SettingValue";
    agent.change_setting(setting, "local").unwrap();
    assert_eq!(
        read(&mut agent, setting),
        Ok(("chr".into(), "local".into()))
    );
    let hour =
        "./cimv2/MDM_SecurityStatus/MDM_SecurityStatus.Key=%221%22/MaintenanceScheduleStartHour";
    agent.change_setting(hour, "4").unwrap();
    assert_eq!(agent.state().maintenance.hour, 4);
    // Read-only properties cannot change.
    let firewall = "./cimv2/MDM_SecurityStatus/MDM_SecurityStatus.Key=%221%22/FirewallStatus";
    assert!(
        agent
            .change_setting(firewall, "1")
            .unwrap_err()
            .contains("405")
    );
}
