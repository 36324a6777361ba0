//! Chapters of the storage story: the push channel and the push outbox.

use casement_store::*;

/// The push channel: written over, a missing URI keeps the stored one.
pub(crate) async fn channel(store: &dyn Store) {
    assert!(store.push_channel("D1").await.unwrap().is_none());
    let channel = |state: ChannelState, uri: Option<&str>, at: i64| ChannelRow {
        device_id: "D1".into(),
        state,
        uri: uri.map(str::to_owned),
        expires_at: None,
        status: None,
        last_error: None,
        reason: None,
        updated_at: at,
    };
    store
        .apply_message(&MessageChanges {
            device_id: "D1".into(),
            now: 450,
            channel: Some(channel(
                ChannelState::Active,
                Some("https://x.notify.windows.com/?token=1"),
                450,
            )),
            ..MessageChanges::default()
        })
        .await
        .unwrap();
    store
        .apply_message(&MessageChanges {
            device_id: "D1".into(),
            now: 460,
            channel: Some(ChannelRow {
                reason: Some("WNS answered 410".into()),
                ..channel(ChannelState::Revoked, None, 460)
            }),
            ..MessageChanges::default()
        })
        .await
        .unwrap();
    let ch = store.push_channel("D1").await.unwrap().unwrap();
    assert_eq!(
        (
            ch.state,
            ch.uri.as_deref(),
            ch.reason.as_deref(),
            ch.updated_at
        ),
        (
            ChannelState::Revoked,
            Some("https://x.notify.windows.com/?token=1"),
            Some("WNS answered 410"),
            460
        )
    );
}

/// The push outbox: one queued push per device, claimed once per lease, retried, finished.
pub(crate) async fn outbox(store: &dyn Store) {
    assert!(
        store
            .enqueue_push("p1", "D1", "command:c2", 470, 10_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .enqueue_push("p2", "D1", "command:c3", 471, 10_000)
            .await
            .unwrap(),
        "one wake-up is enough"
    );
    let claimed = store.claim_pushes(480, 1_000, 10).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|p| (p.id.as_str(), p.attempts))
            .collect::<Vec<_>>(),
        [("p1", 1)]
    );
    assert!(
        store.claim_pushes(490, 1_000, 10).await.unwrap().is_empty(),
        "claimed under lease"
    );
    assert_eq!(
        store.claim_pushes(1_481, 1_000, 10).await.unwrap().len(),
        1,
        "an expired lease is claimed again"
    );
    store
        .finish_push("p1", &PushResult::Retry { at: 5_000 }, "WNS 503", 1_500)
        .await
        .unwrap();
    assert!(
        store
            .claim_pushes(4_999, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "not before the retry time"
    );
    let again = store.claim_pushes(5_000, 1_000, 10).await.unwrap();
    assert_eq!(again[0].attempts, 3);
    store
        .finish_push("p1", &PushResult::Sent, "received", 5_001)
        .await
        .unwrap();
    let pushes = store.pushes_of_device("D1", 10).await.unwrap();
    assert_eq!(
        (pushes[0].state.as_str(), pushes[0].last_outcome.as_deref()),
        ("sent", Some("received"))
    );
    assert!(
        store
            .enqueue_push("p3", "D1", "command:c3", 5_002, 10_000)
            .await
            .unwrap(),
        "a new push once the last one is done"
    );
    assert!(
        store
            .claim_pushes(5_003, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "rate limited: not due right after a sent push"
    );
    assert_eq!(
        store
            .claim_pushes(5_001 + 10_000, 1_000, 10)
            .await
            .unwrap()
            .len(),
        1,
        "due once the interval has passed"
    );
}
