//! Beyond one machine (issue 7): two `casement serve` processes on one PostgreSQL behind nginx,
//! which terminates TLS, verifies device certificates against Casement's CA and forwards them
//! (the documented `docs/nginx/casement.conf`). A fleet enrolls and checks in through nginx, so
//! its requests — messages of one session included — are spread over both nodes; commands are
//! queued through one node and checked through the other. Every command is delivered exactly
//! once, every session completes. Skipped where PostgreSQL or nginx is not installed; required
//! with CI=true.

use std::collections::HashMap;
use std::path::PathBuf;

use casement_bench::client::{ConnectionMode, DeviceConnection, TlsVersion, tls_config};
use casement_bench::cluster::{Cluster, ClusterSpec, Database};
use casement_bench::fleet::{self, FleetDevice};
use casement_dm::device::DeviceSession;
use casement_sim::WindowsRelease;
use casement_sim::load::{FleetTree, package1};
use serde_json::{Value, json};

const USER: &str = "ann@contoso.com";
const PASSWORD: &str = "multi node password";
const DEVICES: usize = 12;

fn prerequisites(test: &str) -> bool {
    let missing: Vec<&str> = [
        (!casement_store_tests::postgres::installed()).then_some("PostgreSQL"),
        casement_bench::nginx::find_nginx()
            .is_none()
            .then_some("nginx"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {missing:?} required in CI");
    }
    eprintln!("skipping {test}: {missing:?} not installed");
    false
}

struct Admin {
    http: reqwest::Client,
    token: String,
}

impl Admin {
    async fn post(&self, base: &str, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{base}/api/v1{path}"))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status.as_u16(), 201, "{path}: {body}");
        body
    }

    async fn get(&self, base: &str, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{base}{path}"))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        let text = response.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

/// Management messages node `base` handled, from its metrics.
async fn management_requests(admin: &Admin, base: &str) -> u64 {
    let metrics = admin.get(base, "/metrics").await;
    metrics
        .as_str()
        .unwrap_or_default()
        .lines()
        .find(|l| {
            l.starts_with("casement_http_request_duration_seconds_count{route=\"management\"}")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn others_of(devices: usize) -> u64 {
    devices as u64 - 1
}

fn raw_get(node: &str) -> Value {
    json!({ "kind": "raw", "class": "inventory", "syncml":
        format!("<Get><CmdID>1</CmdID><Item><Target><LocURI>./DevDetail/Ext/{node}</LocURI></Target></Item></Get>") })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_behind_nginx_deliver_every_command_exactly_once() {
    if !prerequisites("two_nodes_behind_nginx_deliver_every_command_exactly_once") {
        return;
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cluster = Cluster::start(ClusterSpec {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_casement")),
        nodes: 2,
        database: Database::Postgres,
        nginx: true,
        nginx_workers: 1,
        env: Vec::new(),
        postgres_durability: casement_store_tests::postgres::Durability::Scratch,
    })
    .await
    .unwrap();
    let (node_a, node_b) = (cluster.node_url(0), cluster.node_url(1));
    let admin = Admin {
        http: cluster.admin_client().unwrap(),
        token: cluster.admin_token.clone(),
    };
    admin
        .post(
            &node_a,
            "/users",
            json!({ "upn": USER, "password": PASSWORD }),
        )
        .await;

    // The fleet enrolls through nginx (the enrollment flow's requests reach both nodes).
    let (devices, enrollment) = fleet::enroll(
        &cluster.entry_url(),
        &cluster.tls_pem,
        USER,
        PASSWORD,
        WindowsRelease::Windows10,
        DEVICES,
        4,
    )
    .await
    .unwrap();
    assert!(enrollment.errors.is_empty(), "{:?}", enrollment.errors);
    let ids: Vec<String> = devices.iter().map(|d| d.device_id.clone()).collect();

    // Commands queued through node A: two for every device in bulk, one more per device.
    for node in ["A1", "A2"] {
        let queued = admin
            .post(
                &node_a,
                "/commands",
                json!({ "devices": "all", "command": raw_get(node) }),
            )
            .await;
        assert_eq!(queued["devices"], DEVICES as u64, "{queued}");
    }
    for id in &ids {
        admin
            .post(&node_a, &format!("/devices/{id}/commands"), raw_get("A3"))
            .await;
    }

    // One device's session is split by hand: package 1 to node A, the next message to node B,
    // each over its own mutual-TLS connection to that node.
    let split = devices[0].clone();
    let connection = |node: usize| {
        let addr = cluster.node_addrs()[node];
        DeviceConnection::new(
            tls_config(
                &cluster.tls_pem,
                Some((&split.certificate_pem, &split.private_key_pem)),
                ConnectionMode::KeepAlive,
                TlsVersion::Tls12,
            )
            .unwrap(),
            addr,
            &format!("localhost:{}", addr.port()),
            ConnectionMode::KeepAlive,
        )
    };
    let mut connections = [connection(0), connection(1)];
    let path = "/ManagementServer/MDM.svc?mode=Maintenance&Platform=WoA";
    let (mut core, mut message) = DeviceSession::start(package1(&split, 1));
    let mut tree = FleetTree::default();
    let mut messages = 0;
    loop {
        let (status, body) = connections[messages % 2]
            .request(
                hyper::Method::POST,
                path,
                Some(casement_syncml::CONTENT_TYPE),
                casement_syncml::to_string(&message).into_bytes(),
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        messages += 1;
        let reply = casement_syncml::parse(&body).unwrap();
        match core.on_server_message(&reply, &mut tree) {
            Some(next) => message = next,
            None => break,
        }
    }
    assert_eq!(messages, 2, "package 1 on node A, the statuses on node B");
    assert_eq!(tree.executed.load(std::sync::atomic::Ordering::Relaxed), 3);

    // The rest of the fleet checks in through nginx, twice (the second session finds nothing).
    let mut fleet: Vec<FleetDevice> = fleet::connect(
        devices[1..].to_vec(),
        &cluster.tls_pem,
        cluster.entry,
        ConnectionMode::KeepAlive,
        TlsVersion::Tls12,
    )
    .unwrap();
    let progress =
        casement_bench::progress::Progress::start("sessions".into(), 2 * others_of(DEVICES));
    for _ in 0..2 {
        let round = fleet::round(
            &mut fleet,
            &fleet::Work::Session {
                mode: "Maintenance".into(),
            },
            4,
            &progress,
        )
        .await;
        assert!(round.errors.is_empty(), "{:?}", round.errors);
        assert_eq!(round.latencies.len(), DEVICES - 1, "no session lost");
    }
    progress.finish();
    for device in &fleet {
        assert_eq!(
            device.commands_run, 3,
            "{} ran each command once",
            device.device.device_id
        );
    }

    // Both nodes handled management messages.
    let (a, b) = (
        management_requests(&admin, &node_a).await,
        management_requests(&admin, &node_b).await,
    );
    assert!(a > 0 && b > 0, "node A {a}, node B {b}");
    // The split session's two messages; two per session delivering commands, one per idle one.
    let others = DEVICES as u64 - 1;
    assert_eq!(a + b, 2 + 2 * others + others, "A {a} + B {b}");

    // Checked through node B: every command done once, every session completed, each command
    // carried by exactly one session.
    for id in &ids {
        let commands = admin
            .get(&node_b, &format!("/api/v1/devices/{id}/commands"))
            .await;
        let commands = commands["commands"].as_array().unwrap();
        assert_eq!(commands.len(), 3, "{id}");
        for c in commands {
            assert_eq!(
                (
                    c["state"].as_str(),
                    c["status_code"].as_i64(),
                    c["attempts"].as_u64()
                ),
                (Some("done"), Some(200), Some(1)),
                "{c}"
            );
        }
        let sessions = admin
            .get(&node_b, &format!("/api/v1/devices/{id}/sessions"))
            .await;
        let sessions = sessions["sessions"].as_array().unwrap();
        let expected = if *id == split.device_id { 1 } else { 2 };
        assert_eq!(sessions.len(), expected, "{id}: {sessions:?}");
        let mut carried: HashMap<String, usize> = HashMap::new();
        for s in sessions {
            assert_eq!(s["outcome"], "completed", "{s}");
            let detail = admin
                .get(
                    &node_b,
                    &format!("/api/v1/sessions/{}", s["id"].as_str().unwrap()),
                )
                .await;
            for d in detail["commands"].as_array().unwrap() {
                *carried
                    .entry(d["command_id"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        assert_eq!(carried.len(), 3, "{id}: {carried:?}");
        assert!(carried.values().all(|&n| n == 1), "{id}: {carried:?}");
    }

    // Through nginx, a client without a certificate cannot pass one off in the header nginx
    // forwards: nginx replaces it, and the node sees no certificate.
    let forged = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cluster.tls_pem.as_bytes()).unwrap()])
        .build()
        .unwrap()
        .post(format!(
            "{}/ManagementServer/MDM.svc?mode=Maintenance",
            cluster.entry_url()
        ))
        .header("content-type", casement_syncml::CONTENT_TYPE)
        .header(
            "x-client-cert",
            percent_encoding::utf8_percent_encode(
                &split.certificate_pem,
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string(),
        )
        .body(casement_syncml::to_string(
            &DeviceSession::start(package1(&split, 9)).1,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401, "{}", forged.text().await.unwrap());
    assert!(
        !cluster
            .nginx_errors()
            .unwrap_or_default()
            .contains("[emerg]"),
        "{:?}",
        cluster.nginx_errors()
    );
}
