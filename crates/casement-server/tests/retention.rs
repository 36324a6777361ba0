//! Session retention over real HTTPS (issue 17, docs/retention.md): an idle session leaves a
//! compact record, a session that carried a command keeps its messages, and a device under
//! investigation keeps every session's messages.

mod common;

use casement_dm::device::Platform;
use casement_server::RawConfig;
use casement_store::{NewCommand, SessionRow};
use casement_syncml::{Command, ItemCommand};
use common::*;

async fn newest_session(h: &Harness, device: &str) -> SessionRow {
    h.server
        .state
        .store
        .sessions_of_device(device, 1)
        .await
        .unwrap()
        .remove(0)
}

async fn messages_of(h: &Harness, session: &SessionRow) -> Vec<casement_store::MessageRow> {
    h.server
        .state
        .store
        .session_messages(&session.id)
        .await
        .unwrap()
}

async fn maintenance(h: &Harness, device: &Enrolled, session_id: u32, tree: &mut Tree) {
    session(
        h,
        device,
        Some("Maintenance"),
        session_id,
        Platform::Windows81,
        None,
        tree,
    )
    .await;
}

async fn request(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = h
        .http
        .request(method, format!("{}/api/v1{path}", h.server.local_url()))
        .bearer_auth(&h.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn issue_17_idle_sessions_leave_a_compact_record_and_an_investigated_device_keeps_every_message()
 {
    let h = start(RawConfig::default()).await;
    let device = h.enroll("D1").await;
    h.as_windows81("D1").await;
    let mut tree = Tree::default();
    maintenance(&h, &device, 1, &mut tree).await;

    // An idle check-in: one exchange, nothing carried.
    maintenance(&h, &device, 2, &mut tree).await;
    let idle = newest_session(&h, "D1").await;
    assert_eq!(idle.session_id, "2");
    assert!(!idle.messages_kept, "{idle:?}");
    assert_eq!(
        (idle.context.as_str(), idle.outcome.as_deref()),
        ("Maintenance", Some("completed"))
    );
    let view = h.api_get(&format!("/sessions/{}", idle.id)).await;
    assert_eq!(view["messages_kept"], false);
    assert_eq!(view["messages"], serde_json::json!([]));
    assert_eq!(view["context"], "Maintenance");
    assert_eq!(
        view["evidence"]["mode"], "Maintenance",
        "the evidence is kept: {view}"
    );

    // A session that carries a command keeps both sides.
    h.server
        .state
        .store
        .enqueue_commands(&[NewCommand {
            id: "c-inventory".into(),
            device_id: "D1".into(),
            kind: casement_dm::catalog::CommandKind::Raw,
            class: casement_dm::CommandClass::Inventory,
            label: "Get DevDetail".into(),
            payload: serde_json::to_string(&Command::Get(ItemCommand::target(
                casement_syncml::CmdId(1),
                "./DevDetail/SwV",
            )))
            .unwrap(),
            secret: false,
            created_at: casement_server::clock::now_ms(),
            expires_at: None,
            max_attempts: 3,
            created_by: "test".into(),
        }])
        .await
        .unwrap();
    maintenance(&h, &device, 3, &mut tree).await;
    let carried = newest_session(&h, "D1").await;
    assert_eq!(
        (carried.session_id.as_str(), carried.commands_sent),
        ("3", 1)
    );
    assert!(carried.messages_kept);
    let messages = messages_of(&h, &carried).await;
    assert!(messages.len() >= 4, "{messages:?}");
    assert!(messages.iter().any(|m| m.body.contains("./DevDetail/SwV")));

    // Under investigation: an idle session keeps its messages too.
    let (status, body) = request(
        &h,
        reqwest::Method::PUT,
        "/devices/D1/recording",
        Some(serde_json::json!({ "hours": 0 })),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid-request"))
    );
    assert!(
        body["reason"].as_str().unwrap().contains("1 to 720"),
        "{body}"
    );
    let (status, _) = request(
        &h,
        reqwest::Method::PUT,
        "/devices/nope/recording",
        Some(serde_json::json!({ "hours": 1 })),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = request(
        &h,
        reqwest::Method::PUT,
        "/devices/D1/recording",
        Some(serde_json::json!({ "hours": 2 })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let until = body["record_sessions_until"].as_i64().unwrap();
    assert!(until > casement_server::clock::now_ms() + 3_600_000);
    assert_eq!(
        h.api_get("/devices/D1").await["record_sessions_until"],
        until
    );
    maintenance(&h, &device, 4, &mut tree).await;
    let recorded = newest_session(&h, "D1").await;
    assert_eq!(
        (recorded.session_id.as_str(), recorded.commands_sent),
        ("4", 0)
    );
    assert!(recorded.messages_kept);
    let messages = messages_of(&h, &recorded).await;
    assert_eq!(
        messages
            .iter()
            .map(|m| m.direction.as_str())
            .collect::<Vec<_>>(),
        ["device", "server"]
    );

    // The investigation ends: idle sessions are compact again.
    let (status, body) = request(&h, reqwest::Method::DELETE, "/devices/D1/recording", None).await;
    assert_eq!(
        (status, &body["record_sessions_until"]),
        (200, &serde_json::Value::Null)
    );
    assert!(
        h.api_get("/devices/D1")
            .await
            .get("record_sessions_until")
            .is_none(),
        "no longer shown"
    );
    maintenance(&h, &device, 5, &mut tree).await;
    let idle = newest_session(&h, "D1").await;
    assert_eq!(idle.session_id, "5");
    assert!(!idle.messages_kept);

    // All five are the device's sessions, newest first.
    let all = h.api_get("/devices/D1/sessions").await;
    let ids: Vec<(&str, bool)> = all["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["session_id"].as_str().unwrap(),
                s["messages_kept"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &ids[..4],
        [("5", false), ("4", true), ("3", true), ("2", false)]
    );
}
