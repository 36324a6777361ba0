//! Action requests (issue 15 part 1): a wipe waiting for a second administrator; decided once.

use super::*;

fn request(id: &str, at: i64) -> ActionRequest {
    ActionRequest {
        id: id.into(),
        device_id: "D1".into(),
        action: "wipe".into(),
        payload: r#"{"kind":"wipe","confirm":"PC-1"}"#.into(),
        requested_by: "admin:alice".into(),
        requested_at: at,
        decided_by: None,
        decided_at: None,
        state: ActionRequestState::Pending,
    }
}

pub(crate) async fn requests(store: &dyn Store) {
    store
        .create_action_request(&request("R1", 100))
        .await
        .unwrap();
    store
        .create_action_request(&request("R2", 200))
        .await
        .unwrap();
    assert!(
        store
            .create_action_request(&request("R1", 300))
            .await
            .is_err(),
        "an id once"
    );
    assert_eq!(
        store.action_request("R1").await.unwrap(),
        Some(request("R1", 100))
    );
    assert_eq!(store.action_request("nope").await.unwrap(), None);
    let listed: Vec<String> = store
        .list_action_requests(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, ["R2", "R1"], "newest first");
    assert_eq!(store.list_action_requests(1).await.unwrap().len(), 1);

    let approved = store
        .decide_action_request("R1", ActionRequestState::Approved, "admin:bob", 150)
        .await
        .unwrap();
    assert_eq!(
        (
            approved.state,
            approved.decided_by.as_deref(),
            approved.decided_at
        ),
        (ActionRequestState::Approved, Some("admin:bob"), Some(150))
    );
    assert!(
        matches!(
            store
                .decide_action_request("R1", ActionRequestState::Rejected, "admin:carol", 160)
                .await,
            Err(StoreError::Conflict(_))
        ),
        "decided once"
    );
    assert!(matches!(
        store
            .decide_action_request("nope", ActionRequestState::Rejected, "admin:bob", 160)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let rejected = store
        .decide_action_request("R2", ActionRequestState::Rejected, "admin:bob", 250)
        .await
        .unwrap();
    assert_eq!(rejected.state, ActionRequestState::Rejected);
    assert_eq!(
        store.action_request("R1").await.unwrap().unwrap().state,
        ActionRequestState::Approved
    );
}
