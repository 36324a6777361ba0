//! What real Windows clients send that a naive server mishandles, over real HTTPS: a SyncHdr
//! Status with `MsgRef` 0 after a message the device could not process, one Status per Item,
//! and a package 1 whose `./DevInfo/DevId` names another device (issue 11).

mod common;

use casement_dm::device::{DeviceSession, Package1, Platform};
use casement_server::RawConfig;
use casement_store::NewCommand;
use casement_syncml::{CmdId, CmdKind, Command, ItemCommand, MsgId, Status, StatusCode, SyncMl};
use common::*;

const SWV: &str = "./DevDetail/SwV";
const MODEL: &str = "./DevInfo/Mod";
const NAME: &str = "./DevDetail/Ext/Microsoft/DeviceName";

async fn queue_get(h: &Harness, device: &str, id: &str, uris: &[&str]) {
    let mut get = ItemCommand::target(CmdId(1), uris[0]);
    for uri in &uris[1..] {
        get.items
            .push(ItemCommand::target(CmdId(1), *uri).items[0].clone());
    }
    let new = NewCommand {
        id: id.into(),
        device_id: device.into(),
        kind: casement_store::CommandKind::Inventory,
        class: casement_store::CommandClass::Inventory,
        label: format!("Get {}", uris.join(", ")),
        payload: serde_json::to_string(&Command::Get(get)).unwrap(),
        secret: false,
        created_at: casement_server::clock::now_ms(),
        expires_at: None,
        max_attempts: 5,
        created_by: "test".into(),
    };
    h.server.state.store.enqueue_commands(&[new]).await.unwrap();
}

fn package1(h: &Harness, device: &Enrolled, session_id: u32, dev_id: &str) -> Package1 {
    Package1 {
        device_id: device.device_id.clone(),
        server_uri: format!(
            "https://localhost:{}/ManagementServer/MDM.svc",
            h.server.addr.port()
        ),
        session_id: session_id.to_string(),
        platform: Platform::Windows10,
        login_status: Some("user".into()),
        push_triggered: false,
        devinfo: vec![
            ("./DevInfo/DevId".into(), dev_id.to_owned()),
            ("./DevInfo/Man".into(), "Contoso".into()),
        ],
        unenroll_request: false,
    }
}

async fn post(h: &Harness, device: &Enrolled, message: &SyncMl) -> (u16, String) {
    let response = device
        .client
        .post(format!(
            "{}/ManagementServer/MDM.svc?mode=Maintenance&Platform=WoA",
            h.server.local_url()
        ))
        .header("content-type", casement_syncml::CONTENT_TYPE)
        .body(casement_syncml::to_string(message))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Sends `first`, then answers every reply from `tree` until the server ends the session.
async fn run(
    h: &Harness,
    device: &Enrolled,
    mut core: DeviceSession,
    first: SyncMl,
    tree: &mut Tree,
) {
    let mut outgoing = first;
    loop {
        let (status, body) = post(h, device, &outgoing).await;
        assert_eq!(status, 200, "{body}");
        let reply = casement_syncml::parse(body.as_bytes()).unwrap();
        match core.on_server_message(&reply, tree) {
            Some(next) => outgoing = next,
            None => return,
        }
    }
}

async fn sessions(h: &Harness, device: &str) -> Vec<serde_json::Value> {
    let list = h.api_get(&format!("/devices/{device}/sessions")).await;
    list["sessions"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn regression_issue_11_a_msgref_0_synchdr_500_in_package_1_is_answered_and_the_command_sent_again()
 {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("D500").await;
    queue_get(&h, "D500", "inventory", &[SWV]).await;
    let mut tree = Tree::default();
    tree.nodes.insert(SWV.into(), "10.0.26100.1".into());

    // Session 1: the server sends the Get; the device cannot process that message and says
    // nothing more in this session.
    let (core, first) = DeviceSession::start(package1(&h, &device, 1, "D500"));
    drop(core);
    let (status, body) = post(&h, &device, &first).await;
    assert_eq!(status, 200);
    assert!(body.contains(SWV), "the Get went out: {body}");

    // Session 2: package 1 starts with the Status for the SyncHdr, MsgRef 0, 500.
    let (core, mut first) = DeviceSession::start(package1(&h, &device, 2, "D500"));
    first.body.commands.insert(
        0,
        Command::Status(Status {
            cmd_id: CmdId(1),
            msg_ref: MsgId(0),
            cmd_ref: 0,
            cmd: CmdKind::SyncHdr,
            target_refs: Vec::new(),
            source_refs: Vec::new(),
            cred: None,
            chal: None,
            code: StatusCode::CommandFailed,
            original_error: None,
            items: Vec::new(),
        }),
    );
    run(&h, &device, core, first, &mut tree).await;

    let command = h.api_get("/commands/inventory").await;
    assert_eq!(command["state"], "done", "{command}");
    assert_eq!(
        command["attempts"], 2,
        "the same command, sent again: {command}"
    );
    let all = sessions(&h, "D500").await;
    let newest = &all[0];
    assert_eq!(newest["session_id"], "2");
    let warnings = newest["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{newest}");
    assert!(
        warnings[0].as_str().unwrap().starts_with(
            "the device could not process the server's last message (status 500 command failed)"
        ),
        "{newest}"
    );
    assert_eq!(all[1]["outcome"], "abandoned");
}

#[tokio::test]
async fn regression_issue_11_one_status_per_item_keeps_every_item_that_was_read() {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("DITEMS").await;
    queue_get(&h, "DITEMS", "inventory", &[SWV, MODEL, NAME]).await;
    let mut tree = Tree::default();
    tree.nodes.insert(SWV.into(), "10.0.26100.1".into());
    tree.nodes.insert(NAME.into(), "WIN-LAB-7".into());
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

    let command = h.api_get("/commands/inventory").await;
    assert_eq!(command["state"], "done", "{command}");
    assert_eq!(
        command["summary"], "done: 2 of 3 items; ./DevInfo/Mod 404 not found",
        "{command}"
    );
    let read: Vec<&str> = command["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["loc_uri"].as_str().unwrap())
        .collect();
    assert_eq!(read, [SWV, NAME]);
    let inventory = h
        .server
        .state
        .store
        .inventory_of_device("DITEMS")
        .await
        .unwrap();
    assert!(
        inventory
            .iter()
            .any(|i| i.loc_uri == NAME && i.value.as_deref() == Some("WIN-LAB-7"))
    );
}

#[tokio::test]
async fn regression_issue_11_a_devid_naming_another_device_is_a_warning_not_its_identity() {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("DREAL").await;
    let (core, first) = DeviceSession::start(package1(&h, &device, 1, "SOMEONE-ELSE"));
    run(&h, &device, core, first, &mut Tree::default()).await;

    let newest = &sessions(&h, "DREAL").await[0];
    let warnings = newest["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{newest}");
    assert!(
        warnings[0].as_str().unwrap().contains("\"SOMEONE-ELSE\""),
        "{newest}"
    );
    let shown = h.api_get("/devices/DREAL").await.to_string();
    assert!(!shown.contains("SOMEONE-ELSE"), "{shown}");
    assert!(
        shown.contains("Contoso"),
        "the rest of DevInfo is kept: {shown}"
    );
}
