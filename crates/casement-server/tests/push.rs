//! The push worker against real storage: WNS's answers are scripted (it is an external service),
//! the channel comes from real management sessions of the device core.

mod common;

use std::sync::Mutex;

use casement_dm::device::Platform;
use casement_push::{PushError, PushOutcome, Pusher, WnsDiagnostics};
use casement_server::RawConfig;
use casement_server::services::push::run_once;
use common::*;

/// WNS as a script: each push takes the next answer; the URIs pushed to are recorded.
#[derive(Debug, Default)]
struct ScriptedWns {
    answers: Mutex<Vec<PushOutcome>>,
    pushed: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Pusher for ScriptedWns {
    async fn push(&self, channel_uri: &str, _payload: &[u8]) -> Result<PushOutcome, PushError> {
        self.pushed.lock().unwrap().push(channel_uri.to_owned());
        Ok(self.answers.lock().unwrap().remove(0))
    }
}

const CHANNEL_URI: &str = "./Vendor/MSFT/DMClient/Provider/Casement/Push/ChannelURI";
const PUSH_STATUS: &str = "./Vendor/MSFT/DMClient/Provider/Casement/Push/Status";

fn received() -> PushOutcome {
    PushOutcome::Received {
        status: None,
        device_connection_status: None,
        diagnostics: WnsDiagnostics::default(),
    }
}

async fn install(h: &Harness, device: &str) {
    let app = serde_json::json!({ "kind": "app-install", "app": { "type": "store", "package_family_name": "Contoso.Notes_8wekyb3d8bbwe", "product_id": "9WZDNCRFHVJL", "sku_id": "0016" } });
    let (status, body) = h
        .api_post(&format!("/devices/{device}/commands"), app)
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn channel(h: &Harness, device: &str) -> serde_json::Value {
    h.api_get(&format!("/devices/{device}")).await["push_channel"].clone()
}

#[tokio::test]
async fn installs_are_pushed_and_after_a_revoked_channel_the_next_maintenance_reconfigures_and_delivers()
 {
    let h = start(RawConfig {
        wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
        push_interval_seconds: 0,
        ..RawConfig::default()
    })
    .await;
    let device = h.enroll("P1").await;
    let mut tree = Tree::default();
    tree.nodes.insert(
        CHANNEL_URI.into(),
        "https://db5.notify.windows.com/?token=first".into(),
    );
    tree.nodes.insert(PUSH_STATUS.into(), "0".into());
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
    assert_eq!(channel(&h, "P1").await["state"], "active");

    let wns = ScriptedWns::default();
    // The user's install request wakes the device.
    install(&h, "P1").await;
    wns.answers.lock().unwrap().push(received());
    assert_eq!(run_once(&h.server.state, &wns).await.unwrap(), 1);
    assert_eq!(
        wns.pushed.lock().unwrap().as_slice(),
        ["https://db5.notify.windows.com/?token=first"]
    );
    let pushes = h
        .server
        .state
        .store
        .pushes_of_device("P1", 10)
        .await
        .unwrap();
    assert_eq!(
        (pushes[0].state.as_str(), pushes[0].last_outcome.as_deref()),
        ("sent", Some("received"))
    );

    // Another install, but WNS answers 410: the channel is revoked and push configuration queued.
    install(&h, "P1").await;
    wns.answers.lock().unwrap().push(PushOutcome::ChannelGone {
        expired: true,
        diagnostics: WnsDiagnostics::default(),
    });
    run_once(&h.server.state, &wns).await.unwrap();
    let ch = channel(&h, "P1").await;
    assert_eq!(ch["state"], "revoked", "{ch}");
    assert!(ch["reason"].as_str().unwrap().contains("410"));
    // Issue 15: the revocation is an event.
    let events = h.api_get("/events?limit=1000").await;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "channel.revoked" && e["device_id"] == "P1"),
        "{events}"
    );
    let commands = h
        .server
        .state
        .store
        .commands_of_device("P1", 100)
        .await
        .unwrap();
    assert!(
        commands.iter().any(
            |c| c.class == casement_store::CommandClass::PushConfiguration
                && c.state == casement_store::CommandState::Pending
        ),
        "push-config re-queued"
    );
    assert_eq!(
        run_once(&h.server.state, &wns).await.unwrap(),
        0,
        "nothing is pushed to a revoked channel"
    );

    // The next Maintenance session configures a new channel, and delivers the installs that were
    // waiting (Maintenance may carry app management), so no further push is needed.
    tree.nodes.insert(
        CHANNEL_URI.into(),
        "https://db5.notify.windows.com/?token=second".into(),
    );
    session(
        &h,
        &device,
        Some("Maintenance"),
        2,
        Platform::Windows10,
        Some("user"),
        &mut tree,
    )
    .await;
    assert_eq!(channel(&h, "P1").await["state"], "active");
    let commands = h
        .server
        .state
        .store
        .commands_of_device("P1", 100)
        .await
        .unwrap();
    assert!(
        commands
            .iter()
            .filter(|c| c.kind == casement_store::CommandKind::AppInstall)
            .all(|c| c.state != casement_store::CommandState::Pending),
        "{commands:?}"
    );
    assert_eq!(run_once(&h.server.state, &wns).await.unwrap(), 0);
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_channel_outside_the_wns_hosts_is_never_contacted() {
    let h = start(RawConfig {
        wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
        ..RawConfig::default()
    })
    .await;
    let device = h.enroll("P2").await;
    let mut tree = Tree::default();
    tree.nodes.insert(
        CHANNEL_URI.into(),
        "https://127.0.0.1:9/steal?token=x".into(),
    );
    tree.nodes.insert(PUSH_STATUS.into(), "0".into());
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
    install(&h, "P2").await;
    // The real client: its token URL is unreachable, so any request at all would fail differently.
    let mut config = casement_push::WnsConfig::new("ms-app://s-1-15-2-1", "secret");
    config.token_url = "https://127.0.0.1:9/token".into();
    let wns = casement_push::WnsClient::new(config).unwrap();
    run_once(&h.server.state, &wns).await.unwrap();
    let ch = channel(&h, "P2").await;
    assert_eq!(ch["state"], "failed");
    assert!(
        ch["reason"].as_str().unwrap().contains("never contacted"),
        "{ch}"
    );
    let pushes = h
        .server
        .state
        .store
        .pushes_of_device("P2", 10)
        .await
        .unwrap();
    assert_eq!(pushes[0].state, casement_store::PushState::Failed);
    h.server.shutdown().await;
}

#[tokio::test]
async fn an_install_from_the_catalog_moves_from_queued_to_installed() {
    let h = start(RawConfig {
        wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
        ..RawConfig::default()
    })
    .await;
    let device = h.enroll("P3").await;
    let app = serde_json::json!({ "name": "Contoso Notes", "version": "1.0", "payloads": { "windows-10": { "type": "store", "package_family_name": "Contoso.Notes_8wekyb3d8bbwe", "product_id": "9WZDNCRFHVJL", "sku_id": "0016" } } });
    let (status, app) = h.api_post("/apps", app).await;
    assert_eq!(status, 201, "{app}");
    let (status, bad) = h.api_post("/apps", serde_json::json!({ "name": "X", "version": "1", "payloads": { "windows-10": { "type": "nope" } } })).await;
    assert_eq!(status, 400, "{bad}");

    let (status, install) = h
        .api_post(
            "/devices/P3/installs",
            serde_json::json!({ "app_id": app["id"] }),
        )
        .await;
    assert_eq!(status, 201, "{install}");
    assert_eq!(install["status"], "queued");
    assert_eq!(install["detail"], "waiting for your PC to come online");
    let id = install["id"].as_str().unwrap().to_owned();

    // A Maintenance session delivers and the simulated tree accepts the install: installed.
    let mut tree = Tree::default();
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
    let install = h.api_get(&format!("/installs/{id}")).await;
    assert_eq!(install["status"], "installed", "{install}");
    // Issue 15: the confirmed install is an event, once.
    let events = h.api_get("/events?limit=1000").await;
    let done: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "install.done")
        .collect();
    assert_eq!(done.len(), 1, "{events}");
    assert_eq!(done[0]["subject"], id.as_str());
    assert_eq!(
        h.api_get("/devices/P3/installs").await["installs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, _) = h
        .api_post(
            "/devices/P3/installs",
            serde_json::json!({ "app_id": "nope" }),
        )
        .await;
    assert_eq!(status, 404);
    h.server.shutdown().await;
}

/// Issue 5: an install's status is confirmed by reading the device's install status afterwards,
/// not taken from the install command's 200 alone.
#[tokio::test]
async fn issue_5_an_install_is_confirmed_or_failed_by_reading_its_status_afterwards() {
    let h = start(RawConfig {
        wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
        ..RawConfig::default()
    })
    .await;
    let device = h.enroll("P6").await;
    let app = serde_json::json!({ "name": "Orca", "version": "1.0", "payloads": { "windows-10": { "type": "msi", "product_id": "{6F7CB29F-1319-4816-B345-0856916EB801}", "product_version": "1.0.0", "content_urls": ["https://dp.contoso.com/orca.msi"], "file_hash": "4525065777EF18B9444ABF71DD4B48E5F64F4F0E1E029995FB8DA441CDE4296E" } } });
    let (_, app) = h.api_post("/apps", app).await;
    let status_node = "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B6F7CB29F-1319-4816-B345-0856916EB801%7D/Status";
    let mut tree = Tree::default();
    let mut msg = 1;
    let mut run = async |tree: &mut Tree, status: &str| {
        tree.nodes.insert(status_node.into(), status.into());
        session(
            &h,
            &device,
            Some("Maintenance"),
            msg,
            Platform::Windows10,
            Some("user"),
            tree,
        )
        .await;
        msg += 1;
    };

    // Downloading (20): delivered, still installing, the check waits for a later session.
    let (_, install) = h
        .api_post(
            "/devices/P6/installs",
            serde_json::json!({ "app_id": app["id"] }),
        )
        .await;
    let path = format!("/installs/{}", install["id"].as_str().unwrap());
    run(&mut tree, "20").await;
    let seen = h.api_get(&path).await;
    assert_eq!(seen["status"], "delivered", "{seen}");
    assert!(
        seen["detail"].as_str().unwrap().contains("downloaded"),
        "{seen}"
    );
    // Enforcement completed (70): installed.
    run(&mut tree, "70").await;
    let seen = h.api_get(&path).await;
    assert_eq!(seen["status"], "installed", "{seen}");
    assert_eq!(seen["detail"], "the PC reports the MSI installed", "{seen}");

    // A second install whose enforcement fails (60): failed, with the reason in words.
    let (_, install) = h
        .api_post(
            "/devices/P6/installs",
            serde_json::json!({ "app_id": app["id"] }),
        )
        .await;
    let path = format!("/installs/{}", install["id"].as_str().unwrap());
    run(&mut tree, "60").await;
    let seen = h.api_get(&path).await;
    assert_eq!(seen["status"], "failed", "{seen}");
    assert_eq!(seen["detail"], "the installer failed on the PC", "{seen}");
    h.server.shutdown().await;
}

#[tokio::test]
async fn a_channel_not_read_for_a_day_is_read_again_in_the_next_session_without_reconfiguring() {
    let h = start(RawConfig {
        wns_package_family_name: Some("Contoso.MDM_8wekyb3d8bbwe".into()),
        ..RawConfig::default()
    })
    .await;
    let device = h.enroll("P4").await;
    let mut tree = Tree::default();
    tree.nodes.insert(
        CHANNEL_URI.into(),
        "https://db5.notify.windows.com/?token=first".into(),
    );
    tree.nodes.insert(PUSH_STATUS.into(), "0".into());
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
    const PFN: &str = "./Vendor/MSFT/DMClient/Provider/Casement/Push/PFN";
    assert!(
        tree.nodes.contains_key(PFN),
        "configured in the first session"
    );

    // Two days later, as far as the server knows.
    let two_days_ago = casement_server::clock::now_ms() - 2 * 86_400_000;
    let aged = casement_store::ChannelRow {
        device_id: "P4".into(),
        state: casement_store::ChannelState::Active,
        uri: None,
        expires_at: None,
        status: None,
        last_error: None,
        reason: None,
        updated_at: two_days_ago,
    };
    h.server
        .state
        .store
        .apply_message(&casement_store::MessageChanges {
            device_id: "P4".into(),
            now: two_days_ago,
            channel: Some(aged),
            ..Default::default()
        })
        .await
        .unwrap();
    tree.nodes.remove(PFN);
    tree.nodes.insert(
        CHANNEL_URI.into(),
        "https://db5.notify.windows.com/?token=renewed".into(),
    );

    // On Windows 10/11 push configuration is device-scoped (DMClient Push/*) and goes in any
    // session (docs/product.md §2): the next session reads, a Machine session included.
    session(
        &h,
        &device,
        Some("Machine"),
        2,
        Platform::Windows10,
        Some("none"),
        &mut tree,
    )
    .await;
    let channel = h
        .server
        .state
        .store
        .push_channel("P4")
        .await
        .unwrap()
        .unwrap();
    assert!(channel.updated_at > two_days_ago, "read again");
    assert_eq!(
        channel.uri.as_deref(),
        Some("https://db5.notify.windows.com/?token=renewed")
    );
    assert!(!tree.nodes.contains_key(PFN), "the PFN was not set again");
    h.server.shutdown().await;
}

/// WNS that accepts everything, slowly enough that two workers overlap; counts pushes per URI.
#[derive(Debug, Default)]
struct CountingWns {
    pushed: Mutex<std::collections::HashMap<String, u32>>,
}

#[async_trait::async_trait]
impl Pusher for CountingWns {
    async fn push(&self, channel_uri: &str, _payload: &[u8]) -> Result<PushOutcome, PushError> {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        *self
            .pushed
            .lock()
            .unwrap()
            .entry(channel_uri.to_owned())
            .or_default() += 1;
        Ok(received())
    }
}

/// Issue 5 (a push is sent once even when several nodes run): two push workers, each with its
/// own connection pool as on two nodes, work one PostgreSQL outbox at the same time; every push
/// is sent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_issue_5_two_workers_on_one_postgres_send_every_push_exactly_once() {
    let test = "regression_issue_5_two_workers_on_one_postgres_send_every_push_exactly_once";
    let Some(h) = start_on(Backend::Postgres, test, RawConfig::default()).await else {
        return;
    };
    const DEVICES: usize = 120;
    let store = &h.server.state.store;
    let now = casement_server::clock::now_ms();
    for i in 0..DEVICES {
        let id = format!("W{i:03}");
        store
            .record_enrollment(
                &casement_store::NewDevice {
                    id: id.clone(),
                    platform: casement_store::Platform::Windows10,
                    user_id: "u-demio".into(),
                    upn: "demio".into(),
                    user_sid: None,
                    name: None,
                    enrollment_context: Vec::new(),
                    enrolled_at: now,
                },
                &casement_store::NewCertificate {
                    serial_hex: format!("{i:08x}"),
                    device_id: id.clone(),
                    thumbprint: "00".repeat(20),
                    not_before: now,
                    not_after: now + 1,
                    pem: String::new(),
                    issued_at: now,
                },
            )
            .await
            .unwrap();
        store
            .apply_message(&casement_store::MessageChanges {
                device_id: id.clone(),
                now,
                channel: Some(casement_store::ChannelRow {
                    device_id: id.clone(),
                    state: casement_store::ChannelState::Active,
                    uri: Some(format!("https://db5.notify.windows.com/?token={id}")),
                    expires_at: Some(now + 86_400_000),
                    status: None,
                    last_error: None,
                    reason: None,
                    updated_at: now,
                }),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            store
                .enqueue_push(&format!("push-{id}"), &id, "test", now, 0)
                .await
                .unwrap()
        );
    }
    // The second node: same configuration and CA, its own pool on the same database.
    let url = h.postgres.as_ref().unwrap().url.clone();
    let other = casement_server::AppState {
        store: std::sync::Arc::new(casement_store_sql::SqlStore::connect(&url).await.unwrap()),
        ..h.server.state.clone()
    };
    let wns = std::sync::Arc::new(CountingWns::default());
    let total = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Each worker runs rounds until the two of them have handled every push (an empty round
    // while the other holds the rest is not the end).
    let worker = |state: casement_server::AppState| {
        let (wns, total) = (wns.clone(), total.clone());
        tokio::spawn(async move {
            let mut handled = 0;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while total.load(std::sync::atomic::Ordering::SeqCst) < DEVICES {
                assert!(std::time::Instant::now() < deadline, "pushes left unsent");
                let n = run_once(&state, wns.as_ref()).await.unwrap();
                handled += n;
                total.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                if n == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
            handled
        })
    };
    let (a, b) = (worker(h.server.state.clone()), worker(other));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    eprintln!("worker A sent {a}, worker B sent {b}");
    assert_eq!(a + b, DEVICES, "every push claimed once: {a} + {b}");
    let pushed = wns.pushed.lock().unwrap().clone();
    assert_eq!(pushed.len(), DEVICES);
    assert!(pushed.values().all(|&n| n == 1), "{pushed:?}");
    for i in 0..DEVICES {
        let rows = store
            .pushes_of_device(&format!("W{i:03}"), 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].state.as_str(), rows[0].attempts), ("sent", 1));
    }
}
