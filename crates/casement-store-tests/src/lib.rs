//! The storage story: one sequence of operations with the outcomes the trait contracts promise.
//! Every backend runs it (`tests/sqlite.rs` always; PostgreSQL where a server is available).

pub mod postgres;
mod web;

use casement_store::*;

fn user(id: &str, upn: &str) -> NewUser {
    NewUser {
        id: id.into(),
        upn: upn.into(),
        display_name: upn.into(),
        password_hash: "$argon2id$x".into(),
        created_at: 1,
    }
}

fn device(id: &str, user_id: &str) -> NewDevice {
    NewDevice {
        id: id.into(),
        platform: Platform::Windows81,
        user_id: user_id.into(),
        upn: "alice@contoso.com".into(),
        user_sid: None,
        name: Some("PC-1".into()),
        enrollment_context: vec![
            ("DeviceType".into(), "CIMClient_Windows".into()),
            ("MAC".into(), "a".into()),
            ("MAC".into(), "b".into()),
        ],
        enrolled_at: 10,
    }
}

fn certificate(serial: &str, device_id: &str, at: i64) -> NewCertificate {
    NewCertificate {
        serial_hex: serial.into(),
        device_id: device_id.into(),
        thumbprint: "AB".repeat(20),
        not_before: at,
        not_after: at + 1000,
        pem: "-----BEGIN CERTIFICATE-----".into(),
        issued_at: at,
    }
}

fn command(id: &str, device_id: &str, class: &str, at: i64) -> NewCommand {
    NewCommand {
        id: id.into(),
        device_id: device_id.into(),
        kind: "raw".into(),
        class: class.into(),
        label: id.into(),
        payload: "{}".into(),
        secret: false,
        created_at: at,
        expires_at: None,
        max_attempts: 2,
        created_by: "story".into(),
    }
}

fn session_row(id: &str, device_id: &str, version: i64) -> SessionRow {
    SessionRow {
        id: id.into(),
        device_id: device_id.into(),
        session_id: "1".into(),
        context: "Machine".into(),
        reason: "mode-parameter".into(),
        evidence: "{}".into(),
        started_at: 100,
        updated_at: 100,
        ended_at: None,
        outcome: None,
        core_state: Some("{}".into()),
        version,
        message_count: 0,
        commands_sent: 0,
        warnings: Vec::new(),
    }
}

fn transition(id: &str, from: CommandState, to: CommandState) -> CommandTransition {
    CommandTransition {
        id: id.into(),
        from,
        to,
        status_code: None,
        original_error: None,
        results: None,
        count_attempt: to == CommandState::Sent,
        retry: false,
    }
}

/// Runs the story against a fresh, empty store. Panics with the step that failed.
fn uuid_like(id: &str) -> bool {
    id.char_indices().all(|(i, c)| {
        if [8, 13, 18, 23].contains(&i) {
            c == '-'
        } else {
            c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
        }
    })
}

pub async fn story(store: &dyn Store) {
    // Users: case-insensitive UPNs, conflicts.
    store
        .create_user(&user("u1", "Alice@Contoso.com"))
        .await
        .expect("create user");
    assert!(
        matches!(
            store.create_user(&user("u2", "alice@contoso.com")).await,
            Err(StoreError::Conflict(_))
        ),
        "duplicate UPN"
    );
    assert_eq!(
        store
            .user_by_upn("ALICE@contoso.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        "u1"
    );
    assert!(store.user_by_id("nobody").await.unwrap().is_none());

    // STS tokens: peek does not consume, consume once, expired never.
    store.put_sts_token("t1", "u1", 1_000).await.unwrap();
    assert_eq!(
        store.sts_token_user("t1", 500).await.unwrap().as_deref(),
        Some("u1")
    );
    assert_eq!(
        store.consume_sts_token("t1", 500).await.unwrap().as_deref(),
        Some("u1")
    );
    assert_eq!(
        store.consume_sts_token("t1", 501).await.unwrap(),
        None,
        "single use"
    );
    store.put_sts_token("t2", "u1", 1_000).await.unwrap();
    assert_eq!(
        store.consume_sts_token("t2", 1_000).await.unwrap(),
        None,
        "expired"
    );

    // Devices and certificates.
    store
        .record_enrollment(&device("D1", "u1"), &certificate("01", "D1", 10))
        .await
        .unwrap();
    let d = store.device("D1").await.unwrap().unwrap();
    assert_eq!(
        (d.platform, d.user_id.as_str(), d.enrolled_at, d.retired_at),
        (Platform::Windows81, "u1", 10, None)
    );
    assert_eq!(
        d.enrollment_context
            .iter()
            .filter(|(k, _)| k == "MAC")
            .count(),
        2,
        "repeated context items kept"
    );
    assert_eq!(store.count_active_devices_of_user("u1").await.unwrap(), 1);
    store
        .record_renewal(&certificate("02", "D1", 20))
        .await
        .unwrap();
    assert_eq!(
        store.certificates_of_device("D1").await.unwrap()[0].serial_hex,
        "02",
        "newest first"
    );
    assert!(matches!(
        store.record_renewal(&certificate("03", "nope", 20)).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .record_enrollment(&device("D2", "u1"), &certificate("04", "D2", 30))
        .await
        .unwrap();
    let listed = store
        .list_devices(&DeviceFilter {
            limit: Some(1),
            ..DeviceFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let next = store
        .list_devices(&DeviceFilter {
            after_id: Some(listed[0].id.clone()),
            ..DeviceFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(next[0].id, "D2", "paging by id");

    // Commands: enqueue, order, cancel only while pending.
    store
        .enqueue_commands(&[
            command("c1", "D1", "inventory", 100),
            command("c2", "D1", "push-configuration", 101),
            command("c3", "D1", "settings", 102),
        ])
        .await
        .unwrap();
    assert!(
        store
            .enqueue_commands(&[command("c4", "unknown-device", "inventory", 1)])
            .await
            .is_err(),
        "unknown device"
    );
    assert!(
        store.command("c4").await.unwrap().is_none(),
        "all or nothing"
    );
    assert!(
        store
            .enqueue_commands(&[command("c5", "D1", "no-such-class", 1)])
            .await
            .is_err(),
        "class CHECK"
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

    // A session: snapshot, apply, version conflict, one open session per device.
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
    changes.last_context = Some("Machine".into());
    changes.devinfo = Some("{\"./DevInfo/Man\":\"Contoso\"}".into());
    store.apply_message(&changes).await.expect("first message");
    let snap = store
        .management_snapshot("D1", None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snap.active_session.as_ref().unwrap().version, 1);
    assert_eq!(snap.pending.len(), 1);
    assert_eq!(snap.device.last_context.as_deref(), Some("Machine"));
    assert_eq!(snap.device.last_session_at, Some(300));
    assert_eq!(store.command("c1").await.unwrap().unwrap().attempts, 1);

    // A second open session for the same device is a conflict, and nothing of it is applied.
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

    // The reply's statuses: done with results, inventory stored, the session ended.
    let mut done = MessageChanges {
        device_id: "D1".into(),
        now: 400,
        ..MessageChanges::default()
    };
    let mut ended = session_row("s1", "D1", 2);
    ended.ended_at = Some(400);
    ended.outcome = Some("completed".into());
    ended.core_state = None;
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
    assert_eq!(
        store.sessions_of_device("D1", 10).await.unwrap()[0]
            .outcome
            .as_deref(),
        Some("completed")
    );
    assert_eq!(store.session_messages("s1").await.unwrap().len(), 1);
    assert_eq!(
        store.session_deliveries("s1").await.unwrap()[0].command_id,
        "c1"
    );

    // The push channel: written over, a missing URI keeps the stored one.
    assert!(store.push_channel("D1").await.unwrap().is_none());
    let channel = |state: &str, uri: Option<&str>, at: i64| ChannelRow {
        device_id: "D1".into(),
        state: state.into(),
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
                "active",
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
                ..channel("revoked", None, 460)
            }),
            ..MessageChanges::default()
        })
        .await
        .unwrap();
    let ch = store.push_channel("D1").await.unwrap().unwrap();
    assert_eq!(
        (
            ch.state.as_str(),
            ch.uri.as_deref(),
            ch.reason.as_deref(),
            ch.updated_at
        ),
        (
            "revoked",
            Some("https://x.notify.windows.com/?token=1"),
            Some("WNS answered 410"),
            460
        )
    );

    // The push outbox: one queued push per device, claimed once per lease, retried, finished.
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

    // The app catalog and installs.
    let notes = AppRow {
        id: "app1".into(),
        name: "Notes".into(),
        version: "1.0".into(),
        payloads: "{}".into(),
        created_at: 1,
    };
    store.create_app(&notes).await.unwrap();
    assert!(matches!(
        store.create_app(&notes).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.list_apps().await.unwrap(),
        std::slice::from_ref(&notes)
    );
    let install = InstallRow {
        id: "i1".into(),
        app_id: "app1".into(),
        device_id: "D1".into(),
        command_ids: "[\"c2\"]".into(),
        requested_by: "admin-token".into(),
        created_at: 2,
    };
    store.create_install(&install).await.unwrap();
    assert_eq!(store.install("i1").await.unwrap(), Some(install.clone()));
    assert_eq!(store.installs_of_device("D1").await.unwrap(), [install]);
    assert!(
        store
            .create_install(&InstallRow {
                id: "i2".into(),
                app_id: "nope".into(),
                device_id: "D1".into(),
                command_ids: "[]".into(),
                requested_by: "x".into(),
                created_at: 3
            })
            .await
            .is_err(),
        "unknown app"
    );

    // Retries are bounded by max_attempts.
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

    // Retirement revokes certificates and cancels pending commands.
    store
        .enqueue_commands(&[command("c6", "D2", "inventory", 600)])
        .await
        .unwrap();
    let mut retire = MessageChanges {
        device_id: "D2".into(),
        now: 700,
        retire: Some("alert 1226".into()),
        ..MessageChanges::default()
    };
    retire.audit.push(AuditEntry {
        id: "a1".into(),
        at: 700,
        actor: "device:D2".into(),
        action: "device.unenroll".into(),
        target: Some("D2".into()),
        detail: "{}".into(),
    });
    store.apply_message(&retire).await.unwrap();
    let d2 = store.device("D2").await.unwrap().unwrap();
    assert_eq!(
        (d2.retired_at, d2.retired_reason.as_deref()),
        (Some(700), Some("alert 1226"))
    );
    assert!(
        store
            .certificate("04")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert_eq!(
        store.command("c6").await.unwrap().unwrap().state,
        CommandState::Cancelled
    );
    assert_eq!(store.count_active_devices_of_user("u1").await.unwrap(), 1);
    assert!(
        store
            .list_devices(&DeviceFilter::default())
            .await
            .unwrap()
            .iter()
            .all(|d| d.id != "D2"),
        "retired hidden by default"
    );
    store.retire_device("D1", "admin", 800).await.unwrap();
    assert!(matches!(
        store.retire_device("nope", "admin", 800).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .record_enrollment(&device("D2", "u1"), &certificate("05", "D2", 900))
        .await
        .unwrap();
    assert_eq!(
        store.device("D2").await.unwrap().unwrap().retired_at,
        None,
        "re-enrollment un-retires"
    );

    // Bulk queueing: active devices of the platform only (D1 is retired, D2 is Windows 8.1), a
    // row and a new id per device, in order, with a push unless one is queued already.
    store
        .record_enrollment(
            &NewDevice {
                platform: Platform::Windows10,
                ..device("D3", "u1")
            },
            &certificate("06", "D3", 950),
        )
        .await
        .unwrap();
    let bulk = |class: &str, at: i64| BulkCommand {
        kind: "inventory".into(),
        class: class.into(),
        label: format!("bulk {at}"),
        payload: "{}".into(),
        secret: false,
        created_at: at,
        expires_at: None,
        max_attempts: 3,
        created_by: "admin".into(),
    };
    let queued = store
        .enqueue_bulk(&BulkEnqueue {
            selection: DeviceSelection::All,
            by_platform: vec![
                (
                    Platform::Windows81,
                    vec![bulk("inventory", 1000), bulk("inventory", 1001)],
                ),
                (Platform::Windows10, vec![bulk("app-management", 1000)]),
            ],
            push: Some(("bulk".into(), 1000, 0)),
        })
        .await
        .unwrap();
    assert_eq!(
        queued,
        [(Platform::Windows81, 1), (Platform::Windows10, 1)],
        "D1 is retired"
    );
    let d2 = store
        .management_snapshot("D2", None, 10)
        .await
        .unwrap()
        .unwrap();
    let labels: Vec<&str> = d2.pending.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["bulk 1000", "bulk 1001"]);
    assert_ne!(d2.pending[0].id, d2.pending[1].id);
    let id = &d2.pending[0].id;
    assert!(
        id.len() == 36 && id.as_bytes()[14] == b'7' && uuid_like(id),
        "a time-ordered UUID (version 7): {id}"
    );
    assert_eq!(d2.pending[0].max_attempts, 3);
    let d3 = store
        .management_snapshot("D3", None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d3.pending.len(), 1);
    assert_ne!(d3.pending[0].id, d2.pending[0].id);
    assert!(
        store
            .management_snapshot("D1", None, 10)
            .await
            .unwrap()
            .unwrap()
            .pending
            .is_empty()
    );
    assert_eq!(store.pushes_of_device("D3", 10).await.unwrap().len(), 1);
    let by_user = store
        .enqueue_bulk(&BulkEnqueue {
            selection: DeviceSelection::User("nobody".into()),
            by_platform: vec![(Platform::Windows10, vec![bulk("inventory", 1002)])],
            push: Some(("bulk".into(), 1002, 0)),
        })
        .await
        .unwrap();
    assert_eq!(by_user, [(Platform::Windows10, 0)]);
    store
        .enqueue_bulk(&BulkEnqueue {
            selection: DeviceSelection::User("u1".into()),
            by_platform: vec![(Platform::Windows10, vec![bulk("inventory", 1003)])],
            push: Some(("bulk".into(), 1003, 0)),
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .management_snapshot("D3", None, 10)
            .await
            .unwrap()
            .unwrap()
            .pending
            .len(),
        2
    );
    assert_eq!(
        store.pushes_of_device("D3", 10).await.unwrap().len(),
        1,
        "one push queued is enough"
    );

    // Audit log.
    store
        .append_audit(&AuditEntry {
            id: "a2".into(),
            at: 900,
            actor: "admin-token".into(),
            action: "user.create".into(),
            target: None,
            detail: "{}".into(),
        })
        .await
        .unwrap();
    let log = store.audit_log(10).await.unwrap();
    assert_eq!(
        log.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["a2", "a1"],
        "newest first"
    );

    web::story(store).await;
}
