//! The app-install story over real HTTPS (docs/product.md §3 flows 5–6): the server's real WNS client
//! pushes through the simulator's WNS-compatible endpoint, the simulated Windows 8.1 device starts
//! its Apps session, and the install is tracked to "installed"; a revoked channel is marked,
//! re-configured in the next Maintenance session, and the waiting install delivered there.

use std::time::Duration;

use casement_server::{RawConfig, Server};
use casement_sim::agent::{Agent, Event};
use casement_sim::wns::{WnsEndpoint, WnsEndpointConfig};
use casement_sim::{AuthMode, EnrollOptions, WindowsRelease, enroll};
use serde_json::{Value, json};

struct Env {
    server: Server,
    wns: WnsEndpoint,
    http: reqwest::Client,
    token: String,
    dir: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
        Self::start_with(true).await
    }

    /// `push_worker`: give the server WNS credentials (so it pushes) or not (pushes stay queued).
    async fn start_with(push_worker: bool) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut listen = WnsEndpointConfig::new("ms-app://S-1-15-2-1234", "wns-secret");
        listen.listen = "127.0.0.1:0".parse().unwrap();
        let wns = WnsEndpoint::start(listen).await.unwrap();
        let trust = dir.path().join("wns.pem");
        std::fs::write(&trust, wns.certificate_pem()).unwrap();
        let raw = RawConfig {
            data_dir: dir.path().join("server"),
            listen: "127.0.0.1:0".into(),
            wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
            wns_client_id: push_worker.then(|| "ms-app://S-1-15-2-1234".into()),
            wns_client_secret: push_worker.then(|| "wns-secret".into()),
            wns_token_url: Some(wns.token_url()),
            wns_local_hosts: vec![wns.host_port().to_owned()],
            wns_trust_pem: Some(trust),
            // One push per second per channel, so that the confirmation push follows quickly.
            push_interval_seconds: 1,
            ..RawConfig::default()
        };
        let server = Server::start(raw).await.unwrap();
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
            wns,
            http,
            token,
            dir,
        };
        assert_eq!(
            env.post(
                "/users",
                json!({"upn": "alice@contoso.com", "password": "correct horse battery"})
            )
            .await
            .0,
            201
        );
        env
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1{path}", self.server.local_url()))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/api/v1{path}", self.server.local_url()))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn agent(&self) -> Agent {
        let mut options = EnrollOptions::new(
            format!("{}/EnrollmentServer/Discovery.svc", self.server.local_url()),
            "alice@contoso.com",
            "correct horse battery",
            WindowsRelease::Windows81,
        );
        options.auth = AuthMode::Federated;
        options.server_tls_pem = Some(self.server.tls_certificate_pem.clone());
        let device = enroll(&options).await.unwrap();
        let mut agent = Agent::new(device, time::OffsetDateTime::now_utc());
        agent.state_mut().wns_endpoint = self.wns.channel_base();
        agent.state_mut().server_tls_pem = Some(self.server.tls_certificate_pem.clone());
        agent
    }

    /// Waits (at most 30 s, however busy the machine) until `check` holds for the value at
    /// `path` (the push worker runs in the background).
    async fn wait_for(&self, path: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            let v = self.get(path).await;
            if check(&v) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{path} never reached the expected state: {}",
            self.get(path).await
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_is_pushed_started_in_an_apps_session_and_tracked_to_installed() {
    let env = Env::start().await;
    let mut agent = env.agent().await;
    let id = agent.device().device_id.clone();
    let mut pushes = env.wns.subscribe();

    // The enrolled user logs on: Maintenance carries the push configuration queued at enrollment.
    let now = time::OffsetDateTime::now_utc();
    agent.event(Event::Logon, now).await;
    let device = env.get(&format!("/devices/{id}")).await;
    assert_eq!(device["push_channel"]["state"], "active", "{device}");

    // Step 1: an app is picked for the device.
    let app = json!({ "name": "Contoso Notes", "version": "1.0", "payloads": { "windows-8.1": { "type": "app-install-job", "job_data": "<Job PackageFullName=\"Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe\"/>", "package_full_name": "Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe" } } });
    let (status, app) = env.post("/apps", app).await;
    assert_eq!(status, 201, "{app}");
    let (status, install) = env
        .post(
            &format!("/devices/{id}/installs"),
            json!({ "app_id": app["id"] }),
        )
        .await;
    assert_eq!(status, 201, "{install}");
    let install_path = format!("/installs/{}", install["id"].as_str().unwrap());

    // Steps 2–4: the server pushes through WNS to the device's channel.
    let pushed = tokio::time::timeout(Duration::from_secs(10), pushes.recv())
        .await
        .expect("a push within 10 s")
        .unwrap();
    assert_eq!(pushed, id);
    env.wait_for(&install_path, |v| v["status"] == "pushed")
        .await;

    // Step 5: the push starts MDMAgent -App: an Apps session delivers the install.
    let entry = agent
        .event(Event::Push, now + time::Duration::minutes(1))
        .await;
    assert_eq!(entry.session.as_ref().unwrap().mode, "Apps");
    assert_eq!(entry.status_of("Exec=CreateJob"), Some(200));
    // The job runs on after the session: the check sent with it finds the app not installed yet.
    let install = env.get(&install_path).await;
    assert_eq!(install["status"], "delivered", "{install}");
    assert!(
        install["detail"].as_str().unwrap().contains("installing"),
        "{install}"
    );
    let sessions = env.get(&format!("/devices/{id}/sessions")).await;
    assert_eq!(sessions["sessions"][0]["context"], "Apps");

    // The server wakes the device again; the next Apps session reads MDM_Application: installed.
    let pushed = tokio::time::timeout(Duration::from_secs(10), pushes.recv())
        .await
        .expect("a confirmation push within 10 s")
        .unwrap();
    assert_eq!(pushed, id);
    let entry = agent
        .event(Event::Push, now + time::Duration::minutes(2))
        .await;
    assert_eq!(entry.session.as_ref().unwrap().mode, "Apps");
    let install = env.get(&install_path).await;
    assert_eq!(install["status"], "installed", "{install}");
    assert!(
        install["detail"].as_str().unwrap().contains("1.0.0.0"),
        "the version read from MDM_Application: {install}"
    );
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_channel_is_reconfigured_in_the_next_maintenance_session() {
    let env = Env::start().await;
    let mut agent = env.agent().await;
    let id = agent.device().device_id.clone();
    let now = time::OffsetDateTime::now_utc();
    agent.event(Event::Logon, now).await;
    agent
        .event(Event::Logoff, now + time::Duration::minutes(1))
        .await;

    // WNS revoked the channel: the push is answered 404.
    env.wns.revoke(&id);
    let app = json!({ "name": "Contoso Notes", "version": "1.0", "payloads": { "windows-8.1": { "type": "app-install-job", "job_data": "<Job PackageFullName=\"Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe\"/>" } } });
    let (_, app) = env.post("/apps", app).await;
    let (_, install) = env
        .post(
            &format!("/devices/{id}/installs"),
            json!({ "app_id": app["id"] }),
        )
        .await;
    let install_path = format!("/installs/{}", install["id"].as_str().unwrap());
    let device = env
        .wait_for(&format!("/devices/{id}"), |d| {
            d["push_channel"]["state"] == "revoked"
        })
        .await;
    assert!(
        device["push_channel"]["reason"]
            .as_str()
            .unwrap()
            .contains("404"),
        "{device}"
    );
    let commands = env.get(&format!("/devices/{id}/commands")).await;
    assert!(
        commands["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["class"] == "push-configuration"
                && c["state"] == "pending"
                && c["waits_for"] == "waits for a Maintenance session")
    );
    assert_eq!(env.get(&install_path).await["status"], "queued");

    // A reboot (Machine) cannot carry either; the next logon (Maintenance) re-configures the
    // channel and delivers the waiting install.
    agent
        .event(Event::Reboot, now + time::Duration::minutes(2))
        .await;
    assert_eq!(env.get(&install_path).await["status"], "queued");
    env.wns
        .set_state(&id, casement_sim::wns::ChannelState::Active);
    agent
        .event(Event::Logon, now + time::Duration::minutes(3))
        .await;
    let device = env.get(&format!("/devices/{id}")).await;
    assert_eq!(device["push_channel"]["state"], "active", "{device}");
    assert_eq!(env.get(&install_path).await["status"], "installed");
    let _ = env.dir.path();
    env.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_queued_before_a_restart_is_sent_after_it() {
    // The first server has no WNS credentials: the push can only leave after the restart.
    let env = Env::start_with(false).await;
    let mut agent = env.agent().await;
    let id = agent.device().device_id.clone();
    agent
        .event(Event::Logon, time::OffsetDateTime::now_utc())
        .await;
    let app = json!({ "name": "Notes", "version": "1.0", "payloads": { "windows-8.1": { "type": "app-install-job", "job_data": "<Job PackageFullName=\"Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe\"/>" } } });
    let (_, app) = env.post("/apps", app).await;
    let Env {
        server,
        wns,
        http,
        token,
        dir,
    } = env;
    let url = format!("{}/api/v1/devices/{id}/installs", server.local_url());
    let r = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "app_id": app["id"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let config = server.config.clone();
    server.shutdown().await;
    let mut pushes = wns.subscribe();
    assert!(
        wns.pushes(&id).is_empty(),
        "nothing was pushed before the restart"
    );

    // The same data directory and database, a new process: the push is in the outbox.
    let raw = RawConfig {
        data_dir: config.data_dir.clone(),
        listen: "127.0.0.1:0".into(),
        wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
        wns_client_id: Some("ms-app://S-1-15-2-1234".into()),
        wns_client_secret: Some("wns-secret".into()),
        wns_token_url: Some(wns.token_url()),
        wns_local_hosts: vec![wns.host_port().to_owned()],
        wns_trust_pem: Some(dir.path().join("wns.pem")),
        ..RawConfig::default()
    };
    let restarted = Server::start(raw).await.unwrap();
    let pushed = tokio::time::timeout(Duration::from_secs(10), pushes.recv())
        .await
        .expect("the queued push is sent after the restart")
        .unwrap();
    assert_eq!(pushed, id);
    restarted.shutdown().await;
}

/// Measurement, not a check (run with `cargo test --release -p casement --test e2e_push --
/// --ignored --nocapture`): how many pushes per second the outbox worker sends to the
/// simulator's WNS endpoint over HTTPS, and how long an install takes from request to installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn measure_push_throughput_and_install_latency() {
    use casement_store::{
        ChannelRow, MessageChanges, NewCertificate, NewDevice, Platform as StorePlatform,
    };
    let env = Env::start_with(false).await;
    let store = &env.server.state.store;
    let user = store
        .user_by_upn("alice@contoso.com")
        .await
        .unwrap()
        .unwrap();
    let n = 500;
    let now = casement_server::clock::now_ms();
    for i in 0..n {
        let id = format!("PUSHBENCH{i:05}");
        let device = NewDevice {
            id: id.clone(),
            platform: StorePlatform::Windows81,
            user_id: user.id.clone(),
            upn: user.upn.clone(),
            user_sid: None,
            name: None,
            enrollment_context: vec![],
            enrolled_at: now,
        };
        let cert = NewCertificate {
            serial_hex: format!("{i:032x}"),
            device_id: id.clone(),
            thumbprint: "00".repeat(20),
            not_before: now,
            not_after: now + 1,
            pem: String::new(),
            issued_at: now,
        };
        store.record_enrollment(&device, &cert).await.unwrap();
        let channel = ChannelRow {
            device_id: id.clone(),
            state: casement_store::ChannelState::Active,
            uri: Some(env.wns.channel_uri(&id)),
            expires_at: None,
            status: None,
            last_error: None,
            reason: None,
            updated_at: now,
        };
        store
            .apply_message(&MessageChanges {
                device_id: id.clone(),
                now,
                channel: Some(channel),
                ..MessageChanges::default()
            })
            .await
            .unwrap();
        store
            .enqueue_push(&format!("p{i}"), &id, "bench", now, 0)
            .await
            .unwrap();
    }
    let mut config = casement_push::WnsConfig::new("ms-app://S-1-15-2-1234", "wns-secret");
    config.token_url = env.wns.token_url();
    config.allow_insecure_hosts = vec![env.wns.host_port().to_owned()];
    config.extra_root_certificates_pem = vec![env.wns.certificate_pem().to_owned()];
    let client = casement_push::WnsClient::new(config).unwrap();
    let started = std::time::Instant::now();
    let mut sent = 0;
    while sent < n {
        sent += casement_server::services::push::run_once(&env.server.state, &client)
            .await
            .unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "outbox: {n} pushes in {:.2} s = {:.0} pushes/s (claim, WNS token cached, HTTPS POST, record)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    env.server.shutdown().await;

    // Install request → installed, with the push worker on and the device answering the push at once.
    let env = Env::start().await;
    let mut agent = env.agent().await;
    let id = agent.device().device_id.clone();
    let mut pushes = env.wns.subscribe();
    agent
        .event(Event::Logon, time::OffsetDateTime::now_utc())
        .await;
    let app = json!({ "name": "Notes", "version": "1.0", "payloads": { "windows-8.1": { "type": "app-install-job", "job_data": "<Job PackageFullName=\"Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe\"/>" } } });
    let (_, app) = env.post("/apps", app).await;
    let started = std::time::Instant::now();
    let (_, install) = env
        .post(
            &format!("/devices/{id}/installs"),
            json!({ "app_id": app["id"] }),
        )
        .await;
    pushes.recv().await.unwrap();
    let pushed_after = started.elapsed();
    agent
        .event(Event::Push, time::OffsetDateTime::now_utc())
        .await;
    let status = env
        .get(&format!("/installs/{}", install["id"].as_str().unwrap()))
        .await;
    assert_eq!(status["status"], "installed");
    println!(
        "install: request → push received {:.0} ms; → installed {:.0} ms",
        pushed_after.as_secs_f64() * 1000.0,
        started.elapsed().as_secs_f64() * 1000.0
    );
    env.server.shutdown().await;
}
