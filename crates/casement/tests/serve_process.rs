//! The real `casement serve` process: it starts in an administrator's shell (issue 12 row 8), the
//! README's `sim fleet` works past the per-user device limit (row 14), and a server killed
//! (SIGKILL) while sessions are in flight loses no command and sends none again once it is done.

mod support;

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use casement_dm::device::{DeviceSession, DeviceTree, NodeValue};
use casement_sim::load::package1;
use casement_sim::{AuthMode, EnrollOptions, EnrolledDevice, WindowsRelease};
use casement_syncml::{Data, StatusCode};
use serde_json::{Value, json};
use support::{Serve, free_port};

const USER: &str = "alice@contoso.com";
const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn regression_issue_12_serve_starts_with_the_admin_and_sim_variables_set() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        dir.path(),
        free_port(),
        &[
            ("CASEMENT_URL", "https://127.0.0.1:8443"),
            ("CASEMENT_ADMIN_TOKEN", "a-token-for-casement-admin"),
            ("CASEMENT_SIM_PASSWORD", "a password for casement sim"),
        ],
    )
    .await;
    let health = serve
        .http()
        .get(serve.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // The server's token is its own, not the admin tool's variable.
    assert_ne!(serve.token, "a-token-for-casement-admin");
}

#[tokio::test]
async fn regression_issue_12_the_readme_fleet_command_enrolls_past_the_per_user_limit() {
    let dir = tempfile::tempdir().unwrap();
    // The default per-user limit (5 devices).
    let serve = Serve::start(dir.path(), free_port(), &[]).await;
    serve
        .api(
            reqwest::Method::POST,
            "/users",
            Some(json!({ "upn": USER, "password": PASSWORD })),
        )
        .await;
    let output = Command::new(env!("CARGO_BIN_EXE_casement"))
        .current_dir(dir.path())
        .args([
            "sim",
            "fleet",
            "--url",
            &serve.url(""),
            "--ca-cert",
            "data/tls.pem",
        ])
        .args(["--user", USER, "--password", PASSWORD])
        .args([
            "--devices",
            "12",
            "--sessions",
            "1",
            "--concurrency",
            "4",
            "--json",
        ])
        .args(["--token", &serve.token])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["phases"][0]["ok"], 12, "{report}");
    assert_eq!(report["phases"][0]["errors"], 0, "{report}");
    let devices = serve.api(reqwest::Method::GET, "/devices", None).await;
    assert_eq!(devices["devices"].as_array().unwrap().len(), 12);
}

/// A device tree that records every URI the server asked it to read.
#[derive(Default)]
struct Recording {
    read: Vec<String>,
}

impl DeviceTree for Recording {
    fn get(&mut self, uri: &str) -> Result<NodeValue, StatusCode> {
        self.read.push(uri.to_owned());
        Ok(NodeValue {
            format: "chr".into(),
            data: "value".into(),
        })
    }
    fn add(&mut self, _: &str, _: Option<&Data>) -> StatusCode {
        StatusCode::Ok
    }
    fn replace(&mut self, _: &str, _: Option<&Data>) -> StatusCode {
        StatusCode::Ok
    }
    fn delete(&mut self, _: &str) -> StatusCode {
        StatusCode::Ok
    }
    fn exec(&mut self, _: &str, _: Option<&Data>) -> StatusCode {
        StatusCode::Ok
    }
}

/// What one device saw across sessions: every URI it was sent, in order, and the URIs whose
/// result the server acknowledged (the device's next message got an answer, so the server had
/// committed it: from then on the command is done and must never come again).
#[derive(Default, Debug)]
struct Seen {
    received: Vec<String>,
    acknowledged: HashSet<String>,
    sent_after_done: Vec<String>,
}

/// One session; stops at the first transport error (the server was killed). `posts` counts
/// answered messages across the fleet.
async fn session(
    client: &reqwest::Client,
    device: &EnrolledDevice,
    number: u32,
    seen: &mut Seen,
    posts: &AtomicU64,
) -> Result<(), String> {
    let url = format!("{}?mode=Maintenance&Platform=WoA", device.management_url);
    let (mut core, mut message) = DeviceSession::start(package1(device, number));
    let mut tree = Recording::default();
    let mut unacknowledged: Vec<String> = Vec::new();
    for _ in 0..32 {
        let response = client
            .post(&url)
            .header("content-type", casement_syncml::CONTENT_TYPE)
            .body(casement_syncml::to_string(&message))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != 200 {
            return Err(format!("HTTP {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        posts.fetch_add(1, Ordering::SeqCst);
        // This message carried the results of the previous reply's commands: acknowledged.
        seen.acknowledged.extend(unacknowledged.drain(..));
        let reply = casement_syncml::parse(&body).map_err(|e| e.to_string())?;
        let before = tree.read.len();
        let next = core.on_server_message(&reply, &mut tree);
        for uri in &tree.read[before..] {
            if seen.acknowledged.contains(uri) {
                seen.sent_after_done.push(uri.clone());
            }
            seen.received.push(uri.clone());
            unacknowledged.push(uri.clone());
        }
        match next {
            Some(m) => message = m,
            None => return Ok(()),
        }
    }
    Err("the session did not end".into())
}

/// A durability story kept in the suite: bounded (8 devices, 3 commands each, a few seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_session_loses_no_command_and_sends_none_again_once_done() {
    killed_mid_session(None).await;
}

/// The same story on PostgreSQL (issue 12: the durability run repeated on PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_session_on_postgres_loses_no_command_and_sends_none_again_once_done() {
    let test =
        "a_server_killed_mid_session_on_postgres_loses_no_command_and_sends_none_again_once_done";
    let Some(pg) = casement_store_tests::postgres::start_or_skip(test) else {
        return;
    };
    killed_mid_session(Some(pg.url.clone())).await;
    drop(pg);
}

/// Kills `casement serve` (SIGKILL) while every device is in a session, restarts it on the same
/// data (the data directory, and `database` when given), and checks that every command ends done
/// exactly once: none lost, none stuck, none sent again after the device reported it.
async fn killed_mid_session(database: Option<String>) {
    const DEVICES: usize = 8;
    const COMMANDS: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut env = vec![("CASEMENT_MAX_DEVICES_PER_USER", "100")];
    if let Some(url) = &database {
        env.push(("CASEMENT_DATABASE", url.as_str()));
    }
    let serve = Serve::start(dir.path(), port, &env).await;
    serve
        .api(
            reqwest::Method::POST,
            "/users",
            Some(json!({ "upn": USER, "password": PASSWORD })),
        )
        .await;
    let mut devices = Vec::new();
    for _ in 0..DEVICES {
        let mut options = EnrollOptions::new(
            serve.url("/EnrollmentServer/Discovery.svc"),
            USER,
            PASSWORD,
            WindowsRelease::Windows10,
        );
        options.auth = AuthMode::OnPremise;
        options.server_tls_pem = Some(serve.pem.clone());
        devices.push(casement_sim::enroll(&options).await.unwrap());
    }
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    for device in &devices {
        for c in 0..COMMANDS {
            let uri = format!("./DevDetail/Ext/Durable{c}");
            let syncml = format!(
                "<Get><CmdID>1</CmdID><Item><Target><LocURI>{uri}</LocURI></Target></Item></Get>"
            );
            serve
                .api(
                    reqwest::Method::POST,
                    &format!("/devices/{}/commands", device.device_id),
                    Some(json!({ "kind": "raw", "class": "inventory", "syncml": syncml })),
                )
                .await;
            expected
                .entry(device.device_id.clone())
                .or_default()
                .push(uri);
        }
    }
    let clients: Vec<reqwest::Client> = devices
        .iter()
        .map(|d| {
            d.management_client_with_timeout(Some(&serve.pem), Duration::from_secs(10))
                .unwrap()
        })
        .collect();
    let seen: Vec<Arc<tokio::sync::Mutex<Seen>>> = (0..DEVICES).map(|_| Arc::default()).collect();

    // Every device starts a session; the server is killed once a few messages were answered.
    let posts = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (i, device) in devices.iter().enumerate() {
        let (client, device, seen, posts) = (
            clients[i].clone(),
            device.clone(),
            seen[i].clone(),
            posts.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut seen = seen.lock().await;
            session(&client, &device, 1, &mut seen, &posts).await
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while posts.load(Ordering::SeqCst) < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    serve.kill();
    let mut interrupted = 0;
    for task in tasks {
        if task.await.unwrap().is_err() {
            interrupted += 1;
        }
    }
    eprintln!("sessions interrupted by the kill: {interrupted} of {DEVICES}");

    // Restarted on the same data: the devices come back until every command is final.
    let serve = Serve::start(dir.path(), port, &env).await;
    let quiet = AtomicU64::new(0);
    for round in 2..=6u32 {
        for (i, device) in devices.iter().enumerate() {
            let mut seen = seen[i].lock().await;
            session(&clients[i], device, round, &mut seen, &quiet)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}\n{}", device.device_id, serve.log()));
        }
    }
    for (i, device) in devices.iter().enumerate() {
        let seen = seen[i].lock().await;
        assert!(
            seen.sent_after_done.is_empty(),
            "{}: sent again after it was done: {:?}",
            device.device_id,
            seen.sent_after_done
        );
        let commands = serve
            .api(
                reqwest::Method::GET,
                &format!("/devices/{}/commands", device.device_id),
                None,
            )
            .await;
        let commands = commands["commands"].as_array().unwrap();
        assert_eq!(
            commands.len(),
            COMMANDS,
            "{}: no command lost",
            device.device_id
        );
        for c in commands {
            assert_eq!(c["state"], "done", "{}: {c}", device.device_id);
        }
        for uri in &expected[&device.device_id] {
            assert!(
                seen.received.contains(uri),
                "{}: {uri} was delivered",
                device.device_id
            );
        }
    }
}

/// `casement sim event --dir DIR change-setting NODE VALUE` (issue 14): a local administrator's
/// change, no session; the state keeps it and one JSON line says what changed.
#[tokio::test]
async fn sim_event_change_setting_changes_the_stored_value_without_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(dir.path(), free_port(), &[]).await;
    serve
        .api(
            reqwest::Method::POST,
            "/users",
            Some(json!({ "upn": USER, "password": PASSWORD })),
        )
        .await;
    let casement = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_casement"))
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    let url = serve.url("");
    let enroll = casement(&[
        "sim",
        "enroll",
        "--dir",
        "dev",
        "--url",
        &url,
        "--ca-cert",
        "data/tls.pem",
        "--user",
        USER,
        "--password",
        PASSWORD,
    ]);
    assert!(
        enroll.status.success(),
        "{}",
        String::from_utf8_lossy(&enroll.stderr)
    );
    let camera = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera";
    let change = |value: &str| {
        casement(&[
            "sim",
            "event",
            "--dir",
            "dev",
            "change-setting",
            camera,
            value,
        ])
    };
    let first = change("1");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = change("0");
    let line: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(line["event"], "change-setting");
    assert_eq!(line["node"], camera);
    assert_eq!(line["before"]["data"], "1");
    assert_eq!(line["after"], json!({ "format": "int", "data": "0" }));
    // Out of range for the policy: refused, nothing saved.
    let refused = change("5");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("500"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("dev/agent.json")).unwrap()).unwrap();
    assert_eq!(
        state["tree"]["settings"]["./Vendor/MSFT/Policy/Config/Camera/AllowCamera"]["data"],
        "0"
    );
    // A missing value is a usage error; other events take no extra arguments.
    assert!(
        !casement(&["sim", "event", "--dir", "dev", "change-setting", camera])
            .status
            .success()
    );
    assert!(
        !casement(&["sim", "event", "--dir", "dev", "logon", "extra"])
            .status
            .success()
    );
}
