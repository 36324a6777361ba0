//! The storage story on the embedded SQLite backend.

#[tokio::test]
async fn the_story_holds_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = casement_store_sql::SqlStore::sqlite_url(&dir.path().join("story.db"));
    let store = casement_store_sql::SqlStore::connect(&url).await.unwrap();
    casement_store_tests::story(&store).await;
}

/// SQLite commits management messages in groups: many at once each land exactly once, and a
/// message that conflicts (a second active session, a command no longer pending) is refused
/// alone — everything else it would have written is undone, the rest of its group committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_messages_commit_together_and_conflicts_stay_alone() {
    use casement_store::*;
    let dir = tempfile::tempdir().unwrap();
    let url = casement_store_sql::SqlStore::sqlite_url(&dir.path().join("group.db"));
    let store = casement_store_sql::SqlStore::connect(&url).await.unwrap();
    store
        .create_user(&NewUser {
            id: "u1".into(),
            upn: "u1@contoso.com".into(),
            display_name: "U1".into(),
            password_hash: "$argon2id$x".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    const DEVICES: usize = 40;
    for i in 0..DEVICES {
        let id = format!("G{i:02}");
        store
            .record_enrollment(
                &NewDevice {
                    id: id.clone(),
                    platform: Platform::Windows10,
                    user_id: "u1".into(),
                    upn: "u1@contoso.com".into(),
                    user_sid: None,
                    name: None,
                    enrollment_context: Vec::new(),
                    enrolled_at: 1,
                },
                &NewCertificate {
                    serial_hex: format!("{i:02x}"),
                    device_id: id.clone(),
                    thumbprint: "00".repeat(20),
                    not_before: 1,
                    not_after: 2,
                    pem: String::new(),
                    issued_at: 1,
                },
            )
            .await
            .unwrap();
    }
    let session = |id: &str, row: &str| SessionRow {
        id: row.into(),
        device_id: id.into(),
        session_id: "1".into(),
        context: Context::Machine,
        reason: "mode-parameter".into(),
        evidence: "{}".into(),
        started_at: 10,
        updated_at: 10,
        ended_at: None,
        outcome: None,
        core_state: Some("{}".into()),
        version: 1,
        message_count: 2,
        commands_sent: 0,
        warnings: Vec::new(),
        messages_kept: true,
    };
    let message = |id: &str, row: &str| MessageChanges {
        device_id: id.into(),
        now: 10,
        sessions: vec![SessionWrite::Insert(session(id, row))],
        messages: vec![MessageRow {
            session_row: row.into(),
            seq: 0,
            direction: "device".into(),
            body: "<SyncML/>".into(),
            truncated: false,
            at: 10,
        }],
        last_context: Some(Context::Machine),
        ..MessageChanges::default()
    };
    let mut tasks = Vec::new();
    for i in 0..DEVICES {
        let id = format!("G{i:02}");
        let mut changes = vec![
            message(&id, &format!("{id}-a")),
            message(&id, &format!("{id}-b")),
        ];
        if i % 4 == 0 {
            // Two checked writes, the second failing: its session must not stay.
            let mut second = message(&id, &format!("{id}-b"));
            second.commands.push(CommandTransition {
                id: "no-such-command".into(),
                from: CommandState::Pending,
                to: CommandState::Sent,
                status_code: None,
                original_error: None,
                results: None,
                count_attempt: true,
                retry: false,
            });
            changes[1] = second;
        }
        for c in changes {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                (c.device_id.clone(), store.apply_message(&c).await)
            }));
        }
    }
    let mut applied = std::collections::HashMap::<String, usize>::new();
    for task in tasks {
        let (device, result) = task.await.unwrap();
        match result {
            Ok(()) => *applied.entry(device).or_default() += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{device}: {e}"),
        }
    }
    for i in 0..DEVICES {
        let id = format!("G{i:02}");
        assert!(
            applied.get(&id).copied().unwrap_or(0) >= 1,
            "{id}: one of two applied"
        );
        let sessions = store.sessions_of_device(&id, 10).await.unwrap();
        assert_eq!(
            sessions.len(),
            1,
            "{id}: one active session, the other refused: {sessions:?}"
        );
        assert_eq!(
            store.session_messages(&sessions[0].id).await.unwrap().len(),
            1
        );
        assert_eq!(
            store.device(&id).await.unwrap().unwrap().last_context,
            Some(Context::Machine)
        );
    }
    assert_eq!(applied.values().sum::<usize>(), DEVICES, "{applied:?}");
}
