//! The simulated MDMAgent.exe against the real server over HTTPS: enrollment with the
//! simulator's client, commands queued through the admin API, sessions started by events, and
//! the commands' states as the server records them. Each story runs on the embedded SQLite and
//! on a throwaway PostgreSQL (skipped where PostgreSQL is not installed, required in CI).

use casement_server::{RawConfig, Server};
use casement_sim::agent::{Agent, Event, UserSession};
use casement_sim::transcript::{Outcome, SessionTranscript};
use casement_sim::{EnrollOptions, WindowsRelease, enroll};
use casement_store_tests::postgres::TempPostgres;
use serde_json::{Value, json};

pub(crate) const UPN: &str = "ann@contoso.com";
const PASSWORD: &str = "correct horse battery";
const PFN: &str = "Casement.MDM_8wekyb3d8bbwe";

pub(crate) struct Env {
    pub(crate) server: Server,
    pub(crate) http: reqwest::Client,
    pub(crate) token: String,
    pub(crate) dir: tempfile::TempDir,
    // Dropped last: stops the throwaway PostgreSQL server after the Casement server.
    _postgres: Option<TempPostgres>,
}

/// The database a story runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// Starts a server on `backend`; `None` when PostgreSQL is wanted but not installed (outside CI).
pub(crate) async fn start(backend: Backend, test: &str) -> Option<Env> {
    start_with(backend, test, RawConfig::default()).await
}

/// [`start`] with configuration of the test's own (data dir, listener and database are set here).
pub(crate) async fn start_with(backend: Backend, test: &str, raw: RawConfig) -> Option<Env> {
    let postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(casement_store_tests::postgres::start_or_skip(test)?),
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(RawConfig {
        data_dir: dir.path().join("server"),
        listen: "127.0.0.1:0".into(),
        wns_package_family_name: Some(PFN.into()),
        database: postgres.as_ref().map(|pg| pg.url.clone()),
        ..raw
    })
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(server.tls_certificate_pem.as_bytes()).unwrap(),
        ])
        .build()
        .unwrap();
    let token = std::fs::read_to_string(&server.admin_token_path)
        .unwrap()
        .trim()
        .to_owned();
    let env = Env {
        server,
        http,
        token,
        dir,
        _postgres: postgres,
    };
    let (status, body) = env
        .post("/users", json!({ "upn": UPN, "password": PASSWORD }))
        .await;
    assert_eq!(status, 201, "{body}");
    Some(env)
}

impl Env {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.local_url())
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(self.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    /// Enrolls a device of `platform` into `<tmp>/<name>` and loads its agent.
    pub(crate) async fn enroll(
        &self,
        name: &str,
        platform: WindowsRelease,
    ) -> (Agent, std::path::PathBuf) {
        let state_dir = self.dir.path().join(name);
        let mut options = EnrollOptions::new(
            self.url("/EnrollmentServer/Discovery.svc"),
            UPN,
            PASSWORD,
            platform,
        );
        options.server_tls_pem = Some(self.server.tls_certificate_pem.clone());
        options.state_dir = Some(state_dir.clone());
        enroll(&options).await.expect("enrollment");
        let mut agent = Agent::load(&state_dir).unwrap();
        agent.state_mut().server_tls_pem = Some(self.server.tls_certificate_pem.clone());
        (agent, state_dir)
    }

    /// Queues a command request; returns the ids of the commands it became.
    pub(crate) async fn queue(&self, device: &str, request: Value) -> Vec<String> {
        let (status, body) = self
            .post(&format!("/devices/{device}/commands"), request.clone())
            .await;
        assert_eq!(status, 201, "{request} → {body}");
        body["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `(state, status_code)` of each command of `ids`.
    pub(crate) async fn states(&self, device: &str, ids: &[String]) -> Vec<(String, Option<i64>)> {
        let all = self.get(&format!("/devices/{device}/commands")).await;
        ids.iter()
            .map(|id| {
                let c = all["commands"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["id"] == id.as_str())
                    .unwrap_or_else(|| panic!("command {id} not listed: {all}"));
                (
                    c["state"].as_str().unwrap().to_owned(),
                    c["status_code"].as_i64(),
                )
            })
            .collect()
    }
}

pub(crate) fn completed(entry: &SessionTranscript) -> &casement_sim::transcript::SessionRecord {
    let session = entry.session.as_ref().expect("a session");
    assert_eq!(
        session.outcome,
        Outcome::Completed,
        "{:?}\n{}",
        session.http_errors,
        session
            .messages
            .iter()
            .map(|m| m.syncml.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    session
}

fn done(code: i64) -> (String, Option<i64>) {
    ("done".to_owned(), Some(code))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows81_contexts_against_the_server() {
    if let Some(env) = start(Backend::Sqlite, "windows81_contexts_against_the_server").await {
        windows81_contexts_against_the_server_on(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows81_contexts_against_the_server_on_postgres() {
    if let Some(env) = start(
        Backend::Postgres,
        "windows81_contexts_against_the_server_on_postgres",
    )
    .await
    {
        windows81_contexts_against_the_server_on(env).await;
    }
}

async fn windows81_contexts_against_the_server_on(env: Env) {
    let (mut agent, dir) = env.enroll("w81", WindowsRelease::Windows81).await;
    let id = agent.device().device_id.clone();
    // The device's clock starts at its enrollment (now): every event is later.
    let t0 = agent.state().clock;
    let hours = |h| t0 + time::Duration::hours(h);

    let inventory = env
        .queue(
            &id,
            json!({ "kind": "inventory", "sets": ["os", "mdm-client", "devinfo"] }),
        )
        .await;
    let reset = env
        .queue(
            &id,
            json!({ "kind": "reset-password", "user": UPN, "password": "N3w pass!" }),
        )
        .await;
    let push = env.queue(&id, json!({ "kind": "push-config" })).await;
    let settings = env
        .queue(
            &id,
            json!({ "kind": "raw", "class": "settings", "syncml":
                "<Exec><CmdID>1</CmdID><Item><Target><LocURI>./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22/Exec=SetValues</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">chr</Format></Meta><Data>NamedValuesList=MinPasswordLength,8;</Data></Item></Exec>" }),
        )
        .await;
    let app = env
        .queue(
            &id,
            json!({ "kind": "app-install", "app": { "type": "app-install-job",
                "job_data": "<Job PackageFullName=\"Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe\"/>" } }),
        )
        .await;

    // Reboot: Machine. Inventory (with its follow-up) and the password reset; nothing else.
    let entry = agent.event(Event::Reboot, t0).await;
    assert_eq!(entry.user_after, UserSession::LoggedOff);
    let session = completed(&entry);
    assert_eq!(session.mode, "Machine");
    assert!(
        session.commands.iter().all(|c| c.status == 200),
        "{:?}",
        session.commands
    );
    assert!(session.commands.iter().any(|c| {
        c.uris
            .iter()
            .any(|u| u.contains("Win32_OperatingSystem.Name="))
    }));
    assert_eq!(env.states(&id, &reset).await, [done(200)]);
    assert!(
        env.states(&id, &inventory)
            .await
            .iter()
            .all(|s| s.0 == "done")
    );
    assert!(
        env.states(&id, &push)
            .await
            .iter()
            .all(|s| s.0 == "pending")
    );
    assert!(env.states(&id, &app).await.iter().all(|s| s.0 == "pending"));
    assert!(
        env.states(&id, &settings)
            .await
            .iter()
            .all(|s| s.0 == "pending")
    );
    // What the pending commands wait for, in the administrator's words.
    let listed = env.get(&format!("/devices/{id}/commands")).await;
    let waits = |cid: &str| {
        listed["commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == cid)
            .unwrap()["waits_for"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(waits(&push[0]), "waits for a Maintenance session");
    assert_eq!(waits(&settings[0]), "waits for a Maintenance session");
    assert_eq!(waits(&app[0]), "waits for a Maintenance or Apps session");
    let reset_seen = agent.state().tree.last_password_reset().unwrap();
    assert_eq!(reset_seen.password, "N3w pass!");

    // An interactive run: Maintenance, but UpdateConfiguration and CreateJob fail with 500.
    let entry = agent.event(Event::Interactive, hours(1)).await;
    let session = completed(&entry);
    assert_eq!(session.mode, "Maintenance");
    assert_eq!(entry.status_of("Exec=UpdateConfiguration"), Some(500));
    assert_eq!(entry.status_of("Exec=CreateJob"), Some(500));
    assert!(agent.channel().is_none());
    let push_states = env.states(&id, &push).await;
    assert_ne!(push_states[0], done(200), "{push_states:?}");

    // The enrolled user logs on: Maintenance, the push configuration goes through.
    let entry = agent.event(Event::Logon, hours(2)).await;
    completed(&entry);
    let push_states = env.states(&id, &push).await;
    assert_eq!(push_states[0], done(200), "{push_states:?} {entry:#?}");
    let channel = agent.channel().expect("a channel").uri.clone();
    assert!(
        channel.ends_with(&format!("/wns/channel/{id}")),
        "{channel}"
    );
    // The app install the interactive run failed (500) was retried in this session, and the
    // settings command went out with the rest of what Maintenance allows.
    assert_eq!(env.states(&id, &app).await[0], done(200));
    assert_eq!(env.states(&id, &settings).await, [done(200)]);

    // A push: Apps.
    let entry = agent.event(Event::Push, hours(3)).await;
    assert_eq!(completed(&entry).mode, "Apps");

    // Locked at night: Maintenance; logged off at night: Machine.
    agent.event(Event::Lock, hours(4)).await;
    let night1 = agent.next_maintenance(hours(4));
    let night = agent.event(Event::Nightly, night1).await;
    assert_eq!(completed(&night).mode, "Maintenance");
    agent
        .event(Event::Logoff, night1 + time::Duration::hours(6))
        .await;
    let night2 = agent.next_maintenance(night1 + time::Duration::hours(6));
    let runs = agent.advance(night2 + time::Duration::hours(1)).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(completed(&runs[0]).mode, "Machine");

    // Unenroll: delivered in Machine context, then the device stops syncing.
    let unenroll = env.queue(&id, json!({ "kind": "unenroll" })).await;
    let later = night2 + time::Duration::hours(7);
    let entry = agent.event(Event::Reboot, later).await;
    assert_eq!(entry.status_of("SendUnenrollRequest"), Some(200));
    assert!(agent.is_unenrolled());
    assert_eq!(env.states(&id, &unenroll).await, [done(200)]);
    let device = env.get(&format!("/devices/{id}")).await;
    assert!(
        device["retired_at"].is_i64(),
        "an acknowledged unenroll retires the device: {device}"
    );
    assert!(
        device["certificate"]["revoked_at"].is_i64(),
        "and revokes its certificate"
    );
    assert!(
        agent
            .event(Event::Logon, later + time::Duration::hours(1))
            .await
            .session
            .is_none()
    );

    agent.save(&dir).unwrap();
    // The server saw every context, as the simulator sent them.
    let sessions = env.get(&format!("/devices/{id}/sessions")).await;
    let mut contexts: Vec<String> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["context"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .collect();
    contexts.sort();
    contexts.dedup();
    assert_eq!(contexts, ["apps", "machine", "maintenance"], "{sessions}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows10_contexts_against_the_server() {
    if let Some(env) = start(Backend::Sqlite, "windows10_contexts_against_the_server").await {
        windows10_contexts_against_the_server_on(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows10_contexts_against_the_server_on_postgres() {
    if let Some(env) = start(
        Backend::Postgres,
        "windows10_contexts_against_the_server_on_postgres",
    )
    .await
    {
        windows10_contexts_against_the_server_on(env).await;
    }
}

async fn windows10_contexts_against_the_server_on(env: Env) {
    let (mut agent, _dir) = env.enroll("w10", WindowsRelease::Windows10).await;
    let id = agent.device().device_id.clone();
    let t0 = agent.state().clock;

    let inventory = env.queue(&id, json!({ "kind": "inventory" })).await;
    let push = env.queue(&id, json!({ "kind": "push-config" })).await;
    let app = env
        .queue(
            &id,
            json!({ "kind": "app-install", "app": { "type": "store",
                "package_family_name": "Contoso.Notes_8wekyb3d8bbwe", "product_id": "9WZDNCRFJ3Q2", "sku_id": "0010" } }),
        )
        .await;

    let entry = agent.event(Event::Reboot, t0).await;
    let session = completed(&entry);
    assert_eq!(
        (
            session.mode.as_str(),
            session.login_status.map(|l| l.as_str())
        ),
        ("Machine", Some("none"))
    );
    // Inventory in Machine context; the app inventory (app management) waits.
    let states = env.states(&id, &inventory).await;
    assert_eq!(states.last().unwrap().0, "pending", "{states:?}");
    assert!(
        states[..states.len() - 1].iter().all(|s| *s == done(200)),
        "{states:?}"
    );
    // Push configuration is device-scoped on Windows 10/11 (DMClient Push/*): any session
    // carries it, this Machine session included (docs/product.md §2).
    assert!(
        env.states(&id, &push).await.iter().all(|s| *s == done(200)),
        "{:?}",
        env.states(&id, &push).await
    );

    let entry = agent
        .event(Event::Logon, t0 + time::Duration::hours(1))
        .await;
    let session = completed(&entry);
    assert_eq!(session.login_status.map(|l| l.as_str()), Some("user"));
    assert!(
        env.states(&id, &push).await.iter().all(|s| *s == done(200)),
        "{:?}",
        session.commands
    );
    // Add and StoreInstall done; the Status check sent after them found the app installing
    // (the simulated install ends with the session), so it waits for a later session.
    let states = env.states(&id, &app).await;
    assert_eq!(states.len(), 3, "{states:?}");
    assert!(states[..2].iter().all(|s| *s == done(200)), "{states:?}");
    assert_eq!(states[2].0, "pending", "{states:?}");
    assert_eq!(agent.state().tree.apps.len(), 1);

    let entry = agent
        .event(Event::Push, t0 + time::Duration::hours(2))
        .await;
    let session = completed(&entry);
    assert_eq!(
        (session.mode.as_str(), session.alert),
        ("Maintenance", 1200)
    );
    // The next session's check reads AppInstallation Status 3 (installed).
    assert!(
        env.states(&id, &app).await.iter().all(|s| *s == done(200)),
        "{:?}",
        env.states(&id, &app).await
    );

    let unenroll = env.queue(&id, json!({ "kind": "unenroll" })).await;
    let entry = agent
        .event(Event::Logon, t0 + time::Duration::hours(3))
        .await;
    completed(&entry);
    assert!(agent.is_unenrolled());
    assert_eq!(env.states(&id, &unenroll).await, [done(200)]);
    let device = env.get(&format!("/devices/{id}")).await;
    assert!(
        device["retired_at"].is_i64(),
        "an acknowledged unenroll retires the device: {device}"
    );
    assert!(
        device["certificate"]["revoked_at"].is_i64(),
        "and revokes its certificate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_runs_over_https() {
    if let Some(env) = start(Backend::Sqlite, "a_scenario_runs_over_https").await {
        a_scenario_runs_over_https_on(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_runs_over_https_on_postgres() {
    if let Some(env) = start(Backend::Postgres, "a_scenario_runs_over_https_on_postgres").await {
        a_scenario_runs_over_https_on(env).await;
    }
}

async fn a_scenario_runs_over_https_on(env: Env) {
    let (ann, _) = env.enroll("ann", WindowsRelease::Windows81).await;
    env.enroll("bob", WindowsRelease::Windows11).await;
    let ann_id = ann.device().device_id.clone();
    let push = env.queue(&ann_id, json!({ "kind": "push-config" })).await;
    let transcript_path = env.dir.path().join("transcript.json");
    let options = casement_sim::scenario::ScenarioOptions {
        devices_dir: env.dir.path().to_owned(),
        transcript_path: Some(transcript_path.clone()),
        server_tls_pem: Some(env.server.tls_certificate_pem.clone()),
        ..Default::default()
    };
    let scenario = json!({
        "start": "2026-12-01T17:00:00Z",
        "events": [
            { "device": "ann", "event": "reboot" },
            { "device": "bob", "event": "logoff" },
            { "at": 600, "device": "ann", "event": "logon" },
            { "event": "wait", "until": "2026-12-02T03:00:00Z" },
            { "device": "ann", "event": "push" }
        ]
    });
    let transcript = casement_sim::scenario::run_scenario(scenario, &options)
        .await
        .unwrap();
    let rows: Vec<(String, String, Option<String>)> = transcript
        .sessions
        .iter()
        .map(|e| {
            (
                e.device.clone(),
                e.event.as_str().to_owned(),
                e.session.as_ref().map(|s| {
                    assert_eq!(s.outcome, Outcome::Completed, "{:?}", s.http_errors);
                    s.mode.clone()
                }),
            )
        })
        .collect();
    let row =
        |d: &str, e: &str, m: Option<&str>| (d.to_owned(), e.to_owned(), m.map(str::to_owned));
    assert_eq!(
        rows,
        [
            row("ann", "reboot", Some("Machine")),
            row("bob", "logoff", None),
            row("ann", "logon", Some("Maintenance")),
            row("ann", "nightly", Some("Maintenance")),
            row("bob", "nightly", Some("Machine")),
            row("ann", "push", Some("Apps")),
        ]
    );
    assert_eq!(env.states(&ann_id, &push).await[0], done(200));
    assert!(transcript_path.is_file());
    let saved = Agent::load(&env.dir.path().join("ann")).unwrap();
    assert!(saved.channel().is_some());
}

/// Issue 15 part 1 with the simulated agent: on Windows 11 lock, reboot and a wipe go in a
/// session without a user (Machine, LoginStatus none), the agent runs them, and the
/// acknowledged wipe retires the device; on Windows 8.1 wipe and reboot are refused with the
/// reason and the lock waits for a Maintenance session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_device_actions_with_the_simulated_agent() {
    let Some(env) = start(
        Backend::Sqlite,
        "issue_15_device_actions_with_the_simulated_agent",
    )
    .await
    else {
        return;
    };
    let (mut agent, _dir) = env.enroll("w11", WindowsRelease::Windows11).await;
    let id = agent.device().device_id.clone();
    let t0 = agent.state().clock;
    let device = env.get(&format!("/devices/{id}")).await;
    let name = device["name"].as_str().unwrap_or(&id).to_owned();
    let mut queued = Vec::new();
    for body in [
        json!({ "kind": "lock" }),
        json!({ "kind": "reboot" }),
        json!({ "kind": "wipe", "confirm": name }),
    ] {
        let (status, answer) = env.post(&format!("/devices/{id}/actions"), body).await;
        assert_eq!(status, 201, "{answer}");
        queued.push(answer["commands"][0]["id"].as_str().unwrap().to_owned());
    }
    let entry = agent.event(Event::Reboot, t0).await;
    let session = completed(&entry);
    assert_eq!(
        (
            session.mode.as_str(),
            session.login_status.map(|l| l.as_str())
        ),
        ("Machine", Some("none"))
    );
    assert_eq!(
        env.states(&id, &queued).await,
        [done(200), done(200), done(200)]
    );
    let executed: Vec<&str> = agent
        .state()
        .tree
        .executed
        .iter()
        .map(|e| e.uri.as_str())
        .collect();
    assert_eq!(
        executed,
        [
            "./Vendor/MSFT/RemoteLock/Lock",
            "./Vendor/MSFT/Reboot/RebootNow",
            "./Vendor/MSFT/RemoteWipe/doWipeProtected"
        ]
    );
    let device = env.get(&format!("/devices/{id}")).await;
    assert_eq!(
        device["retired_reason"], "wipe acknowledged — the PC is resetting",
        "{device}"
    );
    assert!(device["certificate"]["revoked_at"].is_i64(), "{device}");

    let (mut old, _dir81) = env.enroll("w81", WindowsRelease::Windows81).await;
    let id81 = old.device().device_id.clone();
    let device81 = env.get(&format!("/devices/{id81}")).await;
    let name81 = device81["name"].as_str().unwrap_or(&id81).to_owned();
    let (status, answer) = env
        .post(
            &format!("/devices/{id81}/actions"),
            json!({ "kind": "wipe", "confirm": name81 }),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer
            .to_string()
            .contains("the Windows 8.1 WMI bridge has no wipe method"),
        "{answer}"
    );
    let (status, answer) = env
        .post(
            &format!("/devices/{id81}/actions"),
            json!({ "kind": "lock" }),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        answer["commands"][0]["waits_for"],
        "waits for a Maintenance session"
    );
    let lock = vec![answer["commands"][0]["id"].as_str().unwrap().to_owned()];
    let t1 = old.state().clock;
    completed(&old.event(Event::Reboot, t1).await);
    assert_eq!(env.states(&id81, &lock).await[0].0, "pending");
    completed(
        &old.event(Event::Logon, t1 + time::Duration::minutes(5))
            .await,
    );
    assert_eq!(env.states(&id81, &lock).await, [done(200)]);
    assert!(
        old.state()
            .tree
            .executed
            .iter()
            .any(|e| e.uri.ends_with("/Exec=LockWorkstation")),
        "{:?}",
        old.state().tree.executed
    );
}
