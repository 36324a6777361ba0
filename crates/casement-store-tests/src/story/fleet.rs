//! Chapters of the storage story: retirement, bulk queueing, the audit log.

use casement_store::*;

use super::*;

/// Retirement revokes certificates and cancels pending commands.
pub(crate) async fn retirement(store: &dyn Store) {
    store
        .enqueue_commands(&[command("c6", "D2", CommandClass::Inventory, 600)])
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
}

/// Bulk queueing: active devices of the platform only (D1 is retired, D2 is Windows 8.1), a
/// row and a new id per device, in order, with a push unless one is queued already.
pub(crate) async fn bulk(store: &dyn Store) {
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
    let bulk = |class: CommandClass, at: i64| BulkCommand {
        kind: CommandKind::Inventory,
        class,
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
                    vec![
                        bulk(CommandClass::Inventory, 1000),
                        bulk(CommandClass::Inventory, 1001),
                    ],
                ),
                (
                    Platform::Windows10,
                    vec![bulk(CommandClass::AppManagement, 1000)],
                ),
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
            by_platform: vec![(
                Platform::Windows10,
                vec![bulk(CommandClass::Inventory, 1002)],
            )],
            push: Some(("bulk".into(), 1002, 0)),
        })
        .await
        .unwrap();
    assert_eq!(by_user, [(Platform::Windows10, 0)]);
    store
        .enqueue_bulk(&BulkEnqueue {
            selection: DeviceSelection::User("u1".into()),
            by_platform: vec![(
                Platform::Windows10,
                vec![bulk(CommandClass::Inventory, 1003)],
            )],
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
}

/// Audit log.
pub(crate) async fn audit(store: &dyn Store) {
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
}
