//! Retention (issue 17, docs/retention.md): idle sessions' compact records read back among the
//! device's sessions, the investigation flag in the snapshot, and pruning in bounded batches.

use super::*;

const DAY: i64 = 86_400_000;

fn idle(device: &str, at: i64, reason: &str) -> MessageChanges {
    MessageChanges {
        device_id: device.into(),
        now: at,
        last_context: Some(Context::Maintenance),
        idle_session: Some(IdleSessionRow {
            device_id: device.into(),
            session_id: format!("{at:x}"),
            started_at: at,
            context: Context::Maintenance,
            reason: reason.into(),
            evidence: r#"{"mode":"Maintenance","alerts":[1201]}"#.into(),
        }),
        ..MessageChanges::default()
    }
}

pub(crate) async fn idle_sessions_and_pruning(store: &dyn Store) {
    store
        .create_user(&user("ur", "retention@contoso.com"))
        .await
        .unwrap();
    store
        .record_enrollment(&device("DR", "ur"), &certificate("0r", "DR", 10 * DAY))
        .await
        .unwrap();
    // Three idle sessions on two days, one of them with another decision; a full session
    // between them.
    // The first record twice (a replayed write): not a second session.
    for (at, reason) in [
        (10 * DAY + 5, "mode-parameter"),
        (10 * DAY + 5, "mode-parameter"),
        (11 * DAY + 7, "mode-parameter"),
        (11 * DAY + 9, "login-status-shows-the-enrolled-user"),
    ] {
        store.apply_message(&idle("DR", at, reason)).await.unwrap();
    }
    let mut full = session_row("sr1", "DR", 1);
    full.started_at = 11 * DAY + 8;
    full.ended_at = Some(11 * DAY + 8);
    full.outcome = Some("completed".into());
    full.core_state = None;
    store
        .apply_message(&MessageChanges {
            device_id: "DR".into(),
            now: 11 * DAY + 8,
            sessions: vec![SessionWrite::Insert(full)],
            messages: vec![MessageRow {
                session_row: "sr1".into(),
                seq: 0,
                direction: "device".into(),
                body: "<SyncML/>".into(),
                truncated: false,
                at: 11 * DAY + 8,
            }],
            ..MessageChanges::default()
        })
        .await
        .unwrap();

    let sessions = store.sessions_of_device("DR", 10).await.unwrap();
    let summary: Vec<(i64, bool, &str)> = sessions
        .iter()
        .map(|s| (s.started_at, s.messages_kept, s.reason.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (11 * DAY + 9, false, "login-status-shows-the-enrolled-user"),
            (11 * DAY + 8, true, "mode-parameter"),
            (11 * DAY + 7, false, "mode-parameter"),
            (10 * DAY + 5, false, "mode-parameter"),
        ],
        "idle records among the device's sessions, newest first"
    );
    assert_eq!(store.sessions_of_device("DR", 2).await.unwrap().len(), 2);
    let newest = &sessions[0];
    assert_eq!(newest.id, IdleSessionRow::id("DR", 11 * DAY + 9));
    assert_eq!(newest.context, Context::Maintenance);
    assert_eq!(newest.outcome.as_deref(), Some("completed"));
    assert_eq!(newest.evidence, r#"{"mode":"Maintenance","alerts":[1201]}"#);
    assert_eq!(
        store.session(&newest.id).await.unwrap().as_ref(),
        Some(newest),
        "an idle record is found by its id"
    );
    assert!(store.session_messages(&newest.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .session(&IdleSessionRow::id("DR", 11 * DAY + 10))
            .await
            .unwrap(),
        None
    );
    let snapshot = store
        .management_snapshot("DR", None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.device.last_context, Some(Context::Maintenance));
    assert_eq!(snapshot.device.last_session_at, Some(11 * DAY + 9));
    assert_eq!(snapshot.device.record_sessions_until, None);
    // Counted in the dashboard's chart with the full sessions.
    let counts = store.sessions_per_context(10 * DAY, DAY).await.unwrap();
    let maintenance_on_day_11: u64 = counts
        .iter()
        .filter(|c| c.bucket_start == 11 * DAY && c.context == Context::Maintenance)
        .map(|c| c.sessions)
        .sum();
    assert_eq!(maintenance_on_day_11, 2, "{counts:?}");

    // Under investigation: the snapshot says until when.
    assert!(store.set_recording("DR", Some(12 * DAY)).await.unwrap());
    assert!(!store.set_recording("nope", Some(12 * DAY)).await.unwrap());
    let snapshot = store
        .management_snapshot("DR", None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.device.record_sessions_until, Some(12 * DAY));
    assert_eq!(
        store
            .device("DR")
            .await
            .unwrap()
            .unwrap()
            .record_sessions_until,
        Some(12 * DAY),
        "the device row carries it"
    );
    assert!(store.set_recording("DR", None).await.unwrap());
    assert_eq!(
        store
            .device("DR")
            .await
            .unwrap()
            .unwrap()
            .record_sessions_until,
        None
    );

    // Pruning in batches of 1: what started before day 11 + 9 ms goes, one of each kind per
    // call; the full session's messages go with it.
    let before = 11 * DAY + 9;
    let mut total = Pruned::default();
    let mut calls = 0;
    loop {
        let p = store.prune_sessions(before, 1).await.unwrap();
        calls += 1;
        assert!(p.sessions <= 1 && p.idle_sessions <= 1, "bounded: {p:?}");
        total.sessions += p.sessions;
        total.messages += p.messages;
        total.idle_sessions += p.idle_sessions;
        if p == Pruned::default() {
            break;
        }
    }
    assert!(calls >= 3, "two idle records in batches of one");
    // The earlier chapters' ended sessions (all older) went too.
    assert_eq!(total.idle_sessions, 2, "{total:?}");
    assert!(total.sessions > 1 && total.messages > 1, "{total:?}");
    let left: Vec<i64> = store
        .sessions_of_device("DR", 10)
        .await
        .unwrap()
        .iter()
        .map(|s| s.started_at)
        .collect();
    assert_eq!(left, [11 * DAY + 9]);
    assert!(store.session_messages("sr1").await.unwrap().is_empty());
    // A session not ended is never pruned.
    let mut open = session_row("sr2", "DR", 1);
    open.started_at = DAY;
    store
        .apply_message(&MessageChanges {
            device_id: "DR".into(),
            now: DAY,
            sessions: vec![SessionWrite::Insert(open)],
            ..MessageChanges::default()
        })
        .await
        .unwrap();
    assert_eq!(
        store.prune_sessions(before, 100).await.unwrap(),
        Pruned::default()
    );
    assert!(store.session("sr2").await.unwrap().is_some());
}
