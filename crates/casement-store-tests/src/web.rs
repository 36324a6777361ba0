//! The web part of the story: administrator accounts, browser sessions, failed sign-ins, the
//! console's device query, sessions per context, a user's installs. Runs after the main story,
//! on the same store, with its own users and devices (ids prefixed `w`).

use casement_store::*;

fn admin(id: &str, username: &str) -> NewAdmin {
    NewAdmin {
        id: id.into(),
        username: username.into(),
        display_name: username.into(),
        password_hash: "$argon2id$x".into(),
        role: Role::Administrator,
        created_at: 1,
    }
}

fn web_session(hash: &str, kind: WebSessionKind, subject: &str, expires_at: i64) -> WebSessionRow {
    WebSessionRow {
        token_hash: hash.into(),
        kind,
        subject_id: subject.into(),
        csrf_token: format!("csrf-{hash}"),
        created_at: 1_000,
        expires_at,
    }
}

async fn enroll(store: &dyn Store, id: &str, user: &NewUser, name: &str, platform: Platform) {
    let device = NewDevice {
        id: id.into(),
        platform,
        user_id: user.id.clone(),
        upn: user.upn.clone(),
        user_sid: None,
        name: Some(name.into()),
        enrollment_context: vec![],
        enrolled_at: 10,
    };
    let certificate = NewCertificate {
        serial_hex: format!("ce{}", id.to_lowercase()),
        device_id: id.into(),
        thumbprint: "CD".repeat(20),
        not_before: 10,
        not_after: 10_000,
        pem: String::new(),
        issued_at: 10,
    };
    store
        .record_enrollment(&device, &certificate)
        .await
        .expect("enroll");
}

/// A session of `device` in `context` started at `at`, ended at once.
async fn session(store: &dyn Store, id: &str, device: &str, context: Context, at: i64) {
    let mut changes = MessageChanges {
        device_id: device.into(),
        now: at,
        last_context: Some(context),
        ..MessageChanges::default()
    };
    changes.sessions.push(SessionWrite::Insert(SessionRow {
        id: id.into(),
        device_id: device.into(),
        session_id: "1".into(),
        context,
        reason: "mode-parameter".into(),
        evidence: "{}".into(),
        started_at: at,
        updated_at: at,
        ended_at: Some(at),
        outcome: Some("completed".into()),
        core_state: None,
        version: 1,
        message_count: 2,
        commands_sent: 0,
        warnings: Vec::new(),
        messages_kept: true,
    }));
    store.apply_message(&changes).await.expect("session");
}

fn ids(page: &DevicePage) -> Vec<&str> {
    page.rows.iter().map(|r| r.device.id.as_str()).collect()
}

/// Runs the web story. Panics with the step that failed.
pub async fn story(store: &dyn Store) {
    // Administrator accounts: case-insensitive names, conflicts, unknown ids.
    store
        .create_admin(&admin("a1", "Root"))
        .await
        .expect("create admin");
    assert!(
        matches!(
            store.create_admin(&admin("a2", "root")).await,
            Err(StoreError::Conflict(_))
        ),
        "duplicate admin name"
    );
    assert_eq!(
        store.admin_by_username("ROOT").await.unwrap().unwrap().id,
        "a1"
    );
    assert!(store.admin_by_id("nobody").await.unwrap().is_none());
    store.create_admin(&admin("a3", "helpdesk")).await.unwrap();
    assert_eq!(
        store
            .list_admins()
            .await
            .unwrap()
            .iter()
            .map(|a| a.username.as_str())
            .collect::<Vec<_>>(),
        ["helpdesk", "Root"],
        "by name"
    );

    // Browser sessions: found until they expire, deleted on sign-out, purged when expired.
    store
        .create_web_session(&web_session("h1", WebSessionKind::Console, "a1", 5_000))
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_web_session(&web_session("h1", WebSessionKind::Portal, "u1", 5_000))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let found = store.web_session("h1", 4_999).await.unwrap().unwrap();
    assert_eq!(
        (
            found.kind,
            found.subject_id.as_str(),
            found.csrf_token.as_str()
        ),
        (WebSessionKind::Console, "a1", "csrf-h1")
    );
    assert!(
        store.web_session("h1", 5_000).await.unwrap().is_none(),
        "expired"
    );
    assert!(store.web_session("nope", 1).await.unwrap().is_none());
    store
        .create_web_session(&web_session("h2", WebSessionKind::Portal, "u1", 9_000))
        .await
        .unwrap();
    store.delete_web_session("h2").await.unwrap();
    assert!(
        store.web_session("h2", 1).await.unwrap().is_none(),
        "signed out"
    );
    store.delete_web_session("h2").await.unwrap();
    assert_eq!(
        store.purge_web_sessions(6_000, 0).await.unwrap(),
        1,
        "h1 expired"
    );

    // Failed sign-ins: counted per key since a time, cleared, purged.
    for at in [100, 200, 300] {
        store.record_login_failure("portal:eve", at).await.unwrap();
    }
    store
        .record_login_failure("ip:10.0.0.1", 300)
        .await
        .unwrap();
    assert_eq!(
        store.login_failures_since("portal:eve", 0).await.unwrap(),
        3
    );
    assert_eq!(
        store.login_failures_since("portal:eve", 200).await.unwrap(),
        2
    );
    store.clear_login_failures("portal:eve").await.unwrap();
    assert_eq!(
        store.login_failures_since("portal:eve", 0).await.unwrap(),
        0
    );
    store.purge_web_sessions(6_000, 301).await.unwrap();
    assert_eq!(
        store.login_failures_since("ip:10.0.0.1", 0).await.unwrap(),
        0,
        "old failures purged"
    );

    // The console's device query: search, filters, keyset pages both ways, totals.
    let wendy = NewUser {
        id: "wu1".into(),
        upn: "wendy@fabrikam.com".into(),
        display_name: "Wendy".into(),
        password_hash: "$argon2id$x".into(),
        created_at: 1,
    };
    let walt = NewUser {
        id: "wu2".into(),
        upn: "walt@fabrikam.com".into(),
        display_name: "Walt".into(),
        password_hash: "$argon2id$x".into(),
        created_at: 1,
    };
    store.create_user(&wendy).await.unwrap();
    store.create_user(&walt).await.unwrap();
    for i in 1..=5 {
        enroll(
            store,
            &format!("W{i}"),
            &wendy,
            &format!("Laptop_{i}"),
            Platform::Windows81,
        )
        .await;
    }
    enroll(store, "W6", &walt, "Desk 100%", Platform::Windows10).await;
    session(store, "ws1", "W1", Context::Maintenance, 1_000_000).await;
    session(store, "ws2", "W2", Context::Machine, 1_000_000 + 3_600_000).await;
    session(
        store,
        "ws3",
        "W2",
        Context::Maintenance,
        1_000_000 + 3_600_000 + 5,
    )
    .await;
    session(store, "ws4", "W6", Context::Apps, 50).await;
    store
        .apply_message(&MessageChanges {
            device_id: "W1".into(),
            now: 1_000_001,
            channel: Some(ChannelRow {
                device_id: "W1".into(),
                state: ChannelState::Active,
                uri: None,
                expires_at: None,
                status: None,
                last_error: None,
                reason: None,
                updated_at: 1_000_001,
            }),
            ..MessageChanges::default()
        })
        .await
        .unwrap();

    let query = |f: fn(&mut DeviceQuery)| {
        let mut q = DeviceQuery {
            search: Some("w".into()),
            ..DeviceQuery::default()
        };
        f(&mut q);
        q
    };
    let all = store.query_devices(&query(|_| {})).await.unwrap();
    assert_eq!(ids(&all), ["W1", "W2", "W3", "W4", "W5", "W6"]);
    assert_eq!(
        (all.total, all.has_before, all.has_after),
        (6, false, false)
    );
    let by_upn = store
        .query_devices(&DeviceQuery {
            search: Some("WALT@".into()),
            ..DeviceQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&by_upn), ["W6"], "search by UPN, case-insensitive");
    let literal = store
        .query_devices(&DeviceQuery {
            search: Some("100%".into()),
            ..DeviceQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&literal), ["W6"], "% is literal");
    let underscore = store
        .query_devices(&DeviceQuery {
            search: Some("p_".into()),
            ..DeviceQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(underscore.total, 5, "_ is literal: Laptop_N only");
    let win10 = store
        .query_devices(&query(|q| q.platform = Some(Platform::Windows10)))
        .await
        .unwrap();
    assert_eq!(ids(&win10), ["W6"]);
    let maintenance = store
        .query_devices(&query(|q| q.last_context = Some("Maintenance".into())))
        .await
        .unwrap();
    assert_eq!(ids(&maintenance), ["W1", "W2"], "last session's context");
    let never = store
        .query_devices(&query(|q| q.last_context = Some("none".into())))
        .await
        .unwrap();
    assert_eq!(ids(&never), ["W3", "W4", "W5"]);
    let active = store
        .query_devices(&query(|q| q.channel_state = Some("active".into())))
        .await
        .unwrap();
    assert_eq!(ids(&active), ["W1"]);
    let unconfigured = store
        .query_devices(&query(|q| q.channel_state = Some("unconfigured".into())))
        .await
        .unwrap();
    assert_eq!(unconfigured.total, 5, "no channel counts as unconfigured");
    let stale = store
        .query_devices(&query(|q| q.stale_before = Some(2_000_000)))
        .await
        .unwrap();
    assert_eq!(
        ids(&stale),
        ["W1", "W3", "W4", "W5", "W6"],
        "never synced or not since"
    );
    let unknown = store
        .query_devices(&query(|q| q.channel_state = Some("sideways".into())))
        .await
        .unwrap();
    assert_eq!((unknown.total, unknown.rows.len()), (0, 0));

    let page1 = store
        .query_devices(&query(|q| q.limit = Some(2)))
        .await
        .unwrap();
    assert_eq!(ids(&page1), ["W1", "W2"]);
    assert_eq!(
        (page1.total, page1.has_before, page1.has_after),
        (6, false, true)
    );
    let page2 = store
        .query_devices(&DeviceQuery {
            after_id: Some("W2".into()),
            ..query(|q| q.limit = Some(2))
        })
        .await
        .unwrap();
    assert_eq!(ids(&page2), ["W3", "W4"]);
    assert_eq!((page2.has_before, page2.has_after), (true, true));
    let back = store
        .query_devices(&DeviceQuery {
            before_id: Some("W3".into()),
            ..query(|q| q.limit = Some(2))
        })
        .await
        .unwrap();
    assert_eq!(ids(&back), ["W1", "W2"], "previous page, in order");
    assert_eq!((back.has_before, back.has_after), (false, true));
    let last = store
        .query_devices(&DeviceQuery {
            after_id: Some("W4".into()),
            ..query(|q| q.limit = Some(2))
        })
        .await
        .unwrap();
    assert_eq!(ids(&last), ["W5", "W6"]);
    assert_eq!((last.has_before, last.has_after), (true, false));

    store.retire_device("W5", "admin", 2_000_000).await.unwrap();
    assert_eq!(store.query_devices(&query(|_| {})).await.unwrap().total, 5);
    assert_eq!(
        store
            .query_devices(&query(|q| q.include_retired = true))
            .await
            .unwrap()
            .total,
        6
    );

    // The dashboard's counts of active devices (W5 retired; D2 and D3 of the main story are
    // active, neither with a session or a channel).
    let counts = store.fleet_counts(2_000_000).await.unwrap();
    assert_eq!(counts.devices, 7);
    assert_eq!(counts.stale, 6, "all but W2 (last session at 4.6M)");
    assert_eq!(
        counts.by_channel,
        [("active".to_owned(), 1), ("unconfigured".to_owned(), 6)]
    );

    // Sessions per context, per hour, since a time.
    let hour = 3_600_000;
    let counts = store.sessions_per_context(1_000_000, hour).await.unwrap();
    assert_eq!(
        counts
            .iter()
            .map(|c| (c.bucket_start, c.context.as_str(), c.sessions))
            .collect::<Vec<_>>(),
        [
            (0, "Maintenance", 1),
            (hour, "Machine", 1),
            (hour, "Maintenance", 1)
        ],
        "the Apps session at 50 is before `since`"
    );

    // A user's installs: only those on their devices, newest first.
    store
        .create_app(&AppRow {
            id: "wapp".into(),
            name: "Paint".into(),
            version: "1".into(),
            payloads: "{}".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    for (id, device, at) in [("wi1", "W1", 10), ("wi2", "W6", 20), ("wi3", "W2", 30)] {
        store
            .create_install(&InstallRow {
                id: id.into(),
                app_id: "wapp".into(),
                device_id: device.into(),
                command_ids: "[]".into(),
                requested_by: "portal:x".into(),
                created_at: at,
            })
            .await
            .unwrap();
    }
    let mine = store.installs_of_user("wu1", 10).await.unwrap();
    assert_eq!(
        mine.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["wi3", "wi1"]
    );
    assert!(
        store
            .installs_of_user("nobody", 10)
            .await
            .unwrap()
            .is_empty()
    );
}
