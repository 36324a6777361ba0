//! Chapters of the storage story: the command queue and management sessions.

use casement_store::*;

use super::*;

/// Commands: enqueue, order, cancel only while pending.
pub(crate) async fn commands(store: &dyn Store) {
    store
        .enqueue_commands(&[
            command("c1", "D1", CommandClass::Inventory, 100),
            command("c2", "D1", CommandClass::PushConfiguration, 101),
            command("c3", "D1", CommandClass::Settings, 102),
        ])
        .await
        .unwrap();
    assert!(
        store
            .enqueue_commands(&[command("c4", "unknown-device", CommandClass::Inventory, 1)])
            .await
            .is_err(),
        "unknown device"
    );
    assert!(
        store.command("c4").await.unwrap().is_none(),
        "all or nothing"
    );
    let cancelled = store.cancel_command("c3", 200).await.unwrap();
    assert_eq!(cancelled.state, CommandState::Cancelled);
    assert!(matches!(
        store.cancel_command("c3", 201).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.cancel_command("zz", 201).await,
        Err(StoreError::NotFound(_))
    ));
}

/// A session: snapshot, apply, version conflict, one open session per device.
pub(crate) async fn sessions(store: &dyn Store) {
    let snap = store
        .management_snapshot("D1", None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        snap.pending
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["c1", "c2"],
        "queue order"
    );
    assert!(snap.active_session.is_none());
    let mut changes = MessageChanges {
        device_id: "D1".into(),
        now: 300,
        ..MessageChanges::default()
    };
    changes
        .sessions
        .push(SessionWrite::Insert(session_row("s1", "D1", 1)));
    changes
        .commands
        .push(transition("c1", CommandState::Pending, CommandState::Sent));
    changes.deliveries.push(DeliveryRow {
        session_row: "s1".into(),
        command_id: "c1".into(),
        msg_id: 1,
        cmd_id: 2,
    });
    changes.messages.push(MessageRow {
        session_row: "s1".into(),
        seq: 0,
        direction: "device".into(),
        body: "<SyncML/>".into(),
        truncated: false,
        at: 300,
    });
    changes.last_context = Some(Context::Machine);
    changes.devinfo = Some("{\"./DevInfo/Man\":\"Contoso\"}".into());
    store.apply_message(&changes).await.expect("first message");
    let snap = store
        .management_snapshot("D1", None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snap.active_session.as_ref().unwrap().version, 1);
    assert_eq!(snap.pending.len(), 1);
    assert_eq!(snap.device.last_context, Some(Context::Machine));
    assert_eq!(snap.device.last_session_at, Some(300));
    assert_eq!(store.command("c1").await.unwrap().unwrap().attempts, 1);
}

/// A second open session for the same device is a conflict, and nothing of it is applied.
pub(crate) async fn conflicts(store: &dyn Store) {
    let mut second = MessageChanges {
        device_id: "D1".into(),
        now: 301,
        ..MessageChanges::default()
    };
    second
        .sessions
        .push(SessionWrite::Insert(session_row("s2", "D1", 1)));
    second
        .commands
        .push(transition("c2", CommandState::Pending, CommandState::Sent));
    assert!(matches!(
        store.apply_message(&second).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.command("c2").await.unwrap().unwrap().state,
        CommandState::Pending,
        "rolled back"
    );

    // A stale version is a conflict; a command no longer in the expected state too.
    let mut stale = MessageChanges {
        device_id: "D1".into(),
        now: 302,
        ..MessageChanges::default()
    };
    stale.sessions.push(SessionWrite::Update {
        row: session_row("s1", "D1", 2),
        expected_version: 0,
    });
    assert!(matches!(
        store.apply_message(&stale).await,
        Err(StoreError::Conflict(_))
    ));
    let mut twice = MessageChanges {
        device_id: "D1".into(),
        now: 302,
        ..MessageChanges::default()
    };
    twice
        .commands
        .push(transition("c1", CommandState::Pending, CommandState::Sent));
    assert!(
        matches!(
            store.apply_message(&twice).await,
            Err(StoreError::Conflict(_))
        ),
        "never delivered twice"
    );
}

/// The reply's statuses: done with results, inventory stored, the session ended.
pub(crate) async fn statuses(store: &dyn Store) {
    let mut done = MessageChanges {
        device_id: "D1".into(),
        now: 400,
        ..MessageChanges::default()
    };
    let mut ended = session_row("s1", "D1", 2);
    ended.ended_at = Some(400);
    ended.outcome = Some("completed".into());
    ended.core_state = None;
    ended.warnings = vec!["the device could not process server message 1".into()];
    done.sessions.push(SessionWrite::Update {
        row: ended,
        expected_version: 1,
    });
    done.commands.push(CommandTransition {
        status_code: Some(200),
        results: Some("[]".into()),
        ..transition("c1", CommandState::Sent, CommandState::Done)
    });
    done.inventory.push(InventoryRow {
        device_id: "D1".into(),
        loc_uri: "./DevDetail/SwV".into(),
        value: Some("6.3".into()),
        format: Some("chr".into()),
        read_at: 400,
    });
    store.apply_message(&done).await.unwrap();
    let mut again = done.clone();
    again.sessions.clear();
    again.commands.clear();
    again.inventory[0].value = Some("6.3.9600".into());
    store.apply_message(&again).await.unwrap();
    assert_eq!(
        store.inventory_of_device("D1").await.unwrap()[0]
            .value
            .as_deref(),
        Some("6.3.9600"),
        "latest value per LocURI"
    );
    let c1 = store.command("c1").await.unwrap().unwrap();
    assert_eq!((c1.state, c1.status_code), (CommandState::Done, Some(200)));
    assert!(
        store
            .management_snapshot("D1", None, 10)
            .await
            .unwrap()
            .unwrap()
            .active_session
            .is_none()
    );
    let s1 = &store.sessions_of_device("D1", 10).await.unwrap()[0];
    assert_eq!(s1.outcome.as_deref(), Some("completed"));
    assert_eq!(
        s1.warnings,
        ["the device could not process server message 1"],
        "warnings kept in order"
    );
    assert!(
        store.session("s2").await.unwrap().is_none(),
        "the refused session was never stored"
    );
    assert_eq!(store.session_messages("s1").await.unwrap().len(), 1);
    assert_eq!(
        store.session_deliveries("s1").await.unwrap()[0].command_id,
        "c1"
    );
}

/// Retries are bounded by max_attempts.
pub(crate) async fn retries(store: &dyn Store) {
    let mut send = MessageChanges {
        device_id: "D1".into(),
        now: 500,
        ..MessageChanges::default()
    };
    send.commands
        .push(transition("c2", CommandState::Pending, CommandState::Sent));
    store.apply_message(&send).await.unwrap();
    let mut lost = MessageChanges {
        device_id: "D1".into(),
        now: 501,
        ..MessageChanges::default()
    };
    lost.commands.push(CommandTransition {
        retry: true,
        ..transition("c2", CommandState::Sent, CommandState::Pending)
    });
    store.apply_message(&lost).await.unwrap();
    assert_eq!(
        store.command("c2").await.unwrap().unwrap().state,
        CommandState::Pending,
        "1 of 2 attempts used"
    );
    store.apply_message(&send).await.unwrap();
    store.apply_message(&lost).await.unwrap();
    assert_eq!(
        store.command("c2").await.unwrap().unwrap().state,
        CommandState::Failed,
        "2 of 2 attempts used"
    );
}

/// The vocabulary at the storage edge: a command of every class and every kind the code knows is
/// stored and read back as the same values (on SQL, the classes are rows of the lookup table:
/// a class the enum gained without its migration fails here).
pub(crate) async fn every_class_and_kind(store: &dyn Store) {
    store
        .create_user(&user("uv", "vocabulary@contoso.com"))
        .await
        .unwrap();
    store
        .record_enrollment(&device("DV", "uv"), &certificate("0v", "DV", 900))
        .await
        .unwrap();
    let commands: Vec<NewCommand> = CommandClass::ALL
        .into_iter()
        .zip(CommandKind::ALL.into_iter().cycle())
        .enumerate()
        .map(|(i, (class, kind))| NewCommand {
            kind,
            ..command(&format!("v{i}"), "DV", class, 900 + i as i64)
        })
        .collect();
    store.enqueue_commands(&commands).await.unwrap();
    let stored = store.commands_of_device("DV", 100).await.unwrap();
    // Newest first.
    let stored: Vec<(CommandClass, CommandKind)> =
        stored.iter().rev().map(|c| (c.class, c.kind)).collect();
    let queued: Vec<(CommandClass, CommandKind)> =
        commands.iter().map(|c| (c.class, c.kind)).collect();
    assert_eq!(stored, queued, "classes and kinds read back as queued");
}
