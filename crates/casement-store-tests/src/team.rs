//! Team operations (issue 15): administrator roles, personal API tokens, the event log and its
//! cursor, webhooks and their delivery outbox. Runs last, on the same store.

use casement_store::*;

fn api_token(id: &str, hash: &str, role: Role) -> ApiToken {
    ApiToken {
        id: id.into(),
        name: format!("token {id}"),
        role,
        owner: "service:ci".into(),
        token_hash: hash.into(),
        created_by: "admin-token".into(),
        created_at: 100,
        expires_at: 10_000,
        revoked_at: None,
        last_used_at: None,
    }
}

fn new_event(id: &str, kind: &str, at: i64, dedupe: Option<&str>) -> NewEvent {
    NewEvent {
        id: id.into(),
        kind: kind.into(),
        at,
        device_id: Some("D1".into()),
        subject: None,
        data: "{\"n\":1}".into(),
        dedupe_key: dedupe.map(str::to_owned),
    }
}

pub async fn story(store: &dyn Store) {
    roles_and_tokens(store).await;
    events_and_webhooks(store).await;
    enrollment_with_its_event(store).await;
    message_with_its_events(store).await;
}

/// A management message's events are written in its transaction: with it, or not at all.
async fn message_with_its_events(store: &dyn Store) {
    let before = store.events_after(0, 10_000).await.unwrap().len();
    let mut event = new_event("msg-1", "device.retired", 9_500, Some("retired:T-PC"));
    event.device_id = Some("T-PC".into());
    store
        .apply_message(&MessageChanges {
            device_id: "T-PC".into(),
            now: 9_500,
            retire: Some("unenrolled".into()),
            events: vec![event.clone()],
            ..MessageChanges::default()
        })
        .await
        .unwrap();
    let events = store.events_after(0, 10_000).await.unwrap();
    assert_eq!(events.len(), before + 1);
    assert_eq!(events.last().unwrap().id, "msg-1");
    assert!(
        store
            .device("T-PC")
            .await
            .unwrap()
            .unwrap()
            .retired_at
            .is_some()
    );
    // A message whose checked write conflicts writes neither its change nor its events.
    let conflicting = MessageChanges {
        device_id: "T-PC".into(),
        now: 9_600,
        commands: vec![CommandTransition {
            id: "no-such-command".into(),
            from: CommandState::Pending,
            to: CommandState::Sent,
            status_code: None,
            original_error: None,
            results: None,
            count_attempt: true,
            retry: false,
        }],
        events: vec![new_event("msg-2", "command.failed", 9_600, None)],
        ..MessageChanges::default()
    };
    assert!(store.apply_message(&conflicting).await.is_err());
    let after = store.events_after(0, 10_000).await.unwrap();
    assert_eq!(after.len(), before + 1, "no event without its change");
}

/// An enrollment and its event are written together.
async fn enrollment_with_its_event(store: &dyn Store) {
    let user = store
        .create_user(&NewUser {
            id: "t-user".into(),
            upn: "team@contoso.com".into(),
            display_name: "Team".into(),
            password_hash: "$argon2id$x".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    let device = NewDevice {
        id: "T-PC".into(),
        platform: Platform::Windows10,
        user_id: user.id.clone(),
        upn: user.upn.clone(),
        user_sid: None,
        name: Some("T-PC".into()),
        enrollment_context: Vec::new(),
        enrolled_at: 8_000,
    };
    let certificate = NewCertificate {
        serial_hex: "7eab".into(),
        device_id: "T-PC".into(),
        thumbprint: "CD".repeat(20),
        not_before: 8_000,
        not_after: 9_000,
        pem: String::new(),
        issued_at: 8_000,
    };
    let before = store.events_after(0, 10_000).await.unwrap().len();
    let mut event = new_event("enr-1", "device.enrolled", 8_000, None);
    event.device_id = Some("T-PC".into());
    store
        .record_enrollment_with_event(&device, &certificate, &event)
        .await
        .unwrap();
    assert!(store.device("T-PC").await.unwrap().is_some());
    assert!(store.certificate("7eab").await.unwrap().is_some());
    let events = store.events_after(0, 10_000).await.unwrap();
    assert_eq!(events.len(), before + 1);
    let last = events.last().unwrap();
    assert_eq!(
        (last.id.as_str(), last.device_id.as_deref()),
        ("enr-1", Some("T-PC"))
    );
    // Neither without the other: an event id used already fails the enrollment too.
    let again = NewDevice {
        id: "T-PC-2".into(),
        ..device
    };
    let certificate = NewCertificate {
        serial_hex: "7eac".into(),
        device_id: "T-PC-2".into(),
        ..certificate
    };
    assert!(
        store
            .record_enrollment_with_event(&again, &certificate, &event)
            .await
            .is_err()
    );
    assert!(
        store.device("T-PC-2").await.unwrap().is_none(),
        "rolled back"
    );
}

async fn roles_and_tokens(store: &dyn Store) {
    let admin = store
        .create_admin(&NewAdmin {
            id: "t-admin".into(),
            username: "helper".into(),
            display_name: "Helper".into(),
            password_hash: "$argon2id$x".into(),
            role: Role::Helpdesk,
            created_at: 1,
        })
        .await
        .unwrap();
    assert_eq!(admin.role, Role::Helpdesk);
    store
        .set_admin_role("t-admin", Role::Auditor)
        .await
        .unwrap();
    let read = store.admin_by_id("t-admin").await.unwrap().unwrap();
    assert_eq!(read.role, Role::Auditor);
    assert!(matches!(
        store.set_admin_role("nobody", Role::Auditor).await,
        Err(StoreError::NotFound(_))
    ));

    store
        .create_api_token(&api_token("k1", "h1", Role::Operator))
        .await
        .unwrap();
    store
        .create_api_token(&api_token("k2", "h2", Role::Auditor))
        .await
        .unwrap();
    assert!(
        matches!(
            store
                .create_api_token(&api_token("k3", "h1", Role::Auditor))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "a hash is unique"
    );
    let found = store.api_token_by_hash("h1").await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), found.role), ("k1", Role::Operator));
    assert!(store.api_token_by_hash("nope").await.unwrap().is_none());
    assert_eq!(store.list_api_tokens().await.unwrap().len(), 2);

    store.touch_api_token("k1", 1_000, 60_000).await.unwrap();
    store.touch_api_token("k1", 1_500, 60_000).await.unwrap();
    let touched = store.api_token_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, Some(1_000), "at most once a minute");
    store.touch_api_token("k1", 61_000, 60_000).await.unwrap();
    let touched = store.api_token_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, Some(61_000));

    let revoked = store.revoke_api_token("k1", 2_000).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(2_000));
    let again = store.revoke_api_token("k1", 3_000).await.unwrap();
    assert_eq!(
        again.revoked_at,
        Some(2_000),
        "revoking twice keeps the first time"
    );
    assert!(matches!(
        store.revoke_api_token("nope", 1).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn events_and_webhooks(store: &dyn Store) {
    let hook = |id: &str, kinds: &[&str]| WebhookRow {
        id: id.into(),
        url: format!("https://hooks.example/{id}"),
        secret: "s".into(),
        kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
        created_by: "admin-token".into(),
        created_at: 100,
        deleted_at: None,
    };
    store.create_webhook(&hook("w-all", &[])).await.unwrap();
    store
        .create_webhook(&hook("w-failed", &["command.failed"]))
        .await
        .unwrap();
    let listed = store.list_webhooks().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].kinds, vec!["command.failed".to_owned()]);

    let first = store
        .append_event(&new_event(
            "e1",
            "device.enrolled",
            1_000,
            Some("enrolled:D1"),
        ))
        .await
        .unwrap()
        .expect("recorded");
    let second = store
        .append_event(&new_event("e2", "command.failed", 1_001, None))
        .await
        .unwrap()
        .expect("recorded");
    assert!(second > first, "numbered in order");
    let repeated = store
        .append_event(&new_event(
            "e3",
            "device.enrolled",
            1_002,
            Some("enrolled:D1"),
        ))
        .await
        .unwrap();
    assert_eq!(repeated, None, "a dedupe key is recorded once");
    for i in 0..5 {
        store
            .append_event(&new_event(
                &format!("p{i}"),
                "install.done",
                1_010 + i,
                None,
            ))
            .await
            .unwrap()
            .unwrap();
    }
    // Paging with the cursor sees every event once, in order.
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let page = store.events_after(cursor, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        cursor = page.last().unwrap().seq;
        seen.extend(page.into_iter().map(|e| e.id));
    }
    assert_eq!(seen, ["e1", "e2", "p0", "p1", "p2", "p3", "p4"]);
    let e2 = store.event(second).await.unwrap().unwrap();
    assert_eq!(
        (e2.kind.as_str(), e2.data.as_str()),
        ("command.failed", "{\"n\":1}")
    );

    // Deliveries: every event for w-all, only command.failed for w-failed.
    assert_eq!(
        store
            .deliveries_of_webhook("w-all", 100)
            .await
            .unwrap()
            .len(),
        7
    );
    let filtered = store.deliveries_of_webhook("w-failed", 100).await.unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0].event_seq, second);
    assert_eq!(filtered[0].state, DeliveryState::Queued);

    // Claimed with a lease: a second claimer gets nothing until it runs out.
    let claimed = store.claim_deliveries(2_000, 1_000, 100).await.unwrap();
    assert_eq!(claimed.len(), 8);
    assert!(
        claimed
            .iter()
            .all(|d| d.attempts == 1 && d.state == DeliveryState::Sending)
    );
    assert!(
        store
            .claim_deliveries(2_500, 1_000, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let target = filtered[0].id.clone();
    let attempt = |n: u32, status: Option<i64>| WebhookAttempt {
        delivery_id: target.clone(),
        webhook_id: "w-failed".into(),
        attempt: n,
        at: 2_100,
        status,
        error: status.map(|s| format!("HTTP {s}")),
    };
    store
        .finish_delivery(
            &target,
            &DeliveryResult::Retry { at: 5_000 },
            &attempt(1, Some(500)),
            2_100,
        )
        .await
        .unwrap();
    // The rest of the claim expires and is claimed again; the retried one waits for its time.
    let reclaimed = store.claim_deliveries(3_001, 1_000, 100).await.unwrap();
    assert_eq!(reclaimed.len(), 7, "expired leases come back");
    assert!(reclaimed.iter().all(|d| d.id != target && d.attempts == 2));
    for d in &reclaimed {
        let log = WebhookAttempt {
            delivery_id: d.id.clone(),
            webhook_id: d.webhook_id.clone(),
            attempt: d.attempts,
            at: 3_100,
            status: Some(200),
            error: None,
        };
        store
            .finish_delivery(&d.id, &DeliveryResult::Delivered, &log, 3_100)
            .await
            .unwrap();
    }
    let due = store.claim_deliveries(5_000, 1_000, 100).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id.as_str(), due[0].attempts), (target.as_str(), 2));
    store
        .finish_delivery(
            &target,
            &DeliveryResult::Delivered,
            &attempt(2, Some(204)),
            5_100,
        )
        .await
        .unwrap();
    let done = store.deliveries_of_webhook("w-failed", 10).await.unwrap();
    assert_eq!(done[0].state, DeliveryState::Delivered);
    assert_eq!(done[0].last_status, Some(204));
    let log = store.attempts_of_webhook("w-failed", 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().any(|a| a.attempt == 1 && a.status == Some(500)));

    // Deleting a webhook fails what it still had queued and stops new deliveries.
    store
        .append_event(&new_event("e8", "device.retired", 5_500, None))
        .await
        .unwrap()
        .unwrap();
    let queued = store.deliveries_of_webhook("w-all", 1).await.unwrap();
    assert_eq!(queued[0].state, DeliveryState::Queued);
    store.delete_webhook("w-all", 6_000).await.unwrap();
    assert!(matches!(
        store.delete_webhook("w-all", 6_001).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .append_event(&new_event("e9", "command.failed", 7_000, None))
        .await
        .unwrap()
        .unwrap();
    let after = store.deliveries_of_webhook("w-all", 100).await.unwrap();
    assert_eq!(after.len(), 8, "nothing new for a deleted webhook");
    assert_eq!(
        after[0].state,
        DeliveryState::Failed,
        "its queued delivery failed"
    );
    assert_eq!(store.list_webhooks().await.unwrap().len(), 1);
    assert!(
        store
            .webhook("w-all")
            .await
            .unwrap()
            .unwrap()
            .deleted_at
            .is_some()
    );
}
