//! Configuration profiles (issue 14): profiles, groups, assignments, the rows each device ×
//! profile has, the one read a check-in makes, progress written with a message, counts.

use super::*;

fn profile(id: &str, name: &str, platforms: Vec<Platform>) -> ProfileRow {
    ProfileRow {
        id: id.into(),
        name: name.into(),
        description: String::new(),
        platforms,
        scope: "device".into(),
        settings: "[]".into(),
        source_syncml: None,
        revision: 1,
        created_at: 5_000,
        updated_at: 5_000,
    }
}

fn progress(
    profile_id: &str,
    revision: i64,
    status: &str,
    due_at: Option<i64>,
) -> ProfileProgressRow {
    ProfileProgressRow {
        profile_id: profile_id.into(),
        revision,
        status: status.into(),
        nodes: r#"[{"loc_uri":"./Vendor/MSFT/X","format":"int","removal":"delete","desired":"1","state":"verified","at":1}]"#.into(),
        due_at,
        drift_found: 0,
    }
}

pub(crate) async fn profiles(store: &dyn Store) {
    for (id, platform) in [
        ("PD1", Platform::Windows10),
        ("PD2", Platform::Windows10),
        ("PD3", Platform::Windows81),
    ] {
        let d = NewDevice {
            platform,
            ..device(id, "u1")
        };
        store
            .record_enrollment(&d, &certificate(&format!("ee{id}"), id, 5_000))
            .await
            .unwrap();
    }
    let mut p1 = profile("P1", "Camera off", vec![Platform::Windows10]);
    store.create_profile(&p1).await.unwrap();
    assert!(
        matches!(
            store
                .create_profile(&profile("P9", "camera OFF", vec![Platform::Windows10]))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "names are unique, case-insensitively"
    );
    assert_eq!(store.profile("camera off").await.unwrap(), Some(p1.clone()));
    assert_eq!(store.profile("P1").await.unwrap(), Some(p1.clone()));

    // Groups: the built-in one, a fixed list, a filter.
    let groups = store.list_groups().await.unwrap();
    assert_eq!(groups[0].id, ALL_DEVICES_GROUP);
    let fixed = GroupRow {
        id: "G1".into(),
        name: "Pilot".into(),
        description: String::new(),
        members: GroupMembers::Static {
            devices: vec!["PD2".into(), "PD3".into()],
        },
        created_at: 5_000,
    };
    store.create_group(&fixed).await.unwrap();
    assert_eq!(store.group("pilot").await.unwrap(), Some(fixed.clone()));
    let ids = store
        .group_device_ids(&fixed, Some(&[Platform::Windows10]))
        .await
        .unwrap();
    assert_eq!(ids, ["PD2"], "restricted to the profile's platforms");
    let all = store.group(ALL_DEVICES_GROUP).await.unwrap().unwrap();
    let all_ids = store
        .group_device_ids(&all, Some(&[Platform::Windows10]))
        .await
        .unwrap();
    assert!(all_ids.contains(&"PD1".to_owned()) && !all_ids.contains(&"PD3".to_owned()));
    assert!(matches!(
        store.delete_group(ALL_DEVICES_GROUP).await,
        Err(StoreError::Conflict(_))
    ));

    // Assignment: rows pending and due now; the check-in read finds them.
    store.add_assignment("P1", "G1", 6_000).await.unwrap();
    store.add_assignment("P1", "G1", 6_000).await.unwrap();
    assert_eq!(store.assignments_of("P1").await.unwrap(), ["G1"]);
    let done = store
        .set_profile_devices("P1", 1, &["PD1".into(), "PD2".into()], 6_000)
        .await
        .unwrap();
    assert_eq!(
        done,
        Reconciled {
            added: 2,
            removed: 0
        }
    );
    let due = store.due_profiles("PD1", 6_000).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].0.status.as_str(), due[0].0.assigned),
        ("pending", true)
    );
    assert_eq!(due[0].1.id, "P1");
    assert!(store.due_profiles("PD1", 5_999).await.unwrap().is_empty());
    // The management snapshot says when the next row is due, so a check-in reads the rows only
    // once one is.
    let snapshot = |id: &'static str| async move {
        store
            .management_snapshot(id, None, 10)
            .await
            .unwrap()
            .unwrap()
            .profiles_due_at
    };
    assert_eq!(snapshot("PD1").await, Some(6_000));
    assert_eq!(snapshot("PD3").await, None, "no profile rows");

    // Progress written with a message; settled rows are not read until due again.
    store
        .apply_message(&MessageChanges {
            device_id: "PD1".into(),
            now: 7_000,
            profiles: vec![ProfileProgressRow {
                drift_found: 1,
                ..progress("P1", 1, "verified", Some(9_000))
            }],
            ..MessageChanges::default()
        })
        .await
        .unwrap();
    assert!(store.due_profiles("PD1", 8_999).await.unwrap().is_empty());
    assert_eq!(snapshot("PD1").await, Some(9_000));
    let (row, _) = store.due_profiles("PD1", 9_000).await.unwrap().remove(0);
    assert_eq!(
        (row.status.as_str(), row.drift_count, row.last_drift_at),
        ("verified", 1, Some(7_000))
    );
    let counts = store.profile_status_counts_of("P1").await.unwrap();
    let mut counts: Vec<(String, u64)> = counts;
    counts.sort();
    assert_eq!(counts, [("pending".into(), 1), ("verified".into(), 1)]);
    assert!(store.profile_status_counts().await.unwrap().contains(&(
        "P1".into(),
        "verified".into(),
        1
    )));

    // A new revision: every row pending and due; a late progress of the old revision keeps
    // its nodes but not its status.
    p1.revision = 2;
    p1.updated_at = 10_000;
    store.update_profile(&p1).await.unwrap();
    store
        .apply_message(&MessageChanges {
            device_id: "PD1".into(),
            now: 10_001,
            profiles: vec![progress("P1", 1, "verified", Some(99_000))],
            ..MessageChanges::default()
        })
        .await
        .unwrap();
    let (row, _) = store.due_profiles("PD1", 10_001).await.unwrap().remove(0);
    assert_eq!((row.status.as_str(), row.revision), ("pending", 2));
    assert!(row.nodes.contains("verified"), "the nodes are kept");

    // Conflict candidates: other profiles with rows on the devices.
    store
        .create_profile(&profile("P2", "Camera on", vec![Platform::Windows10]))
        .await
        .unwrap();
    store
        .set_profile_devices("P2", 1, &["PD2".into()], 11_000)
        .await
        .unwrap();
    let others = store
        .profiles_on_devices(&["PD2".into()], "P1")
        .await
        .unwrap();
    assert_eq!(
        others.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["P2"]
    );
    assert!(
        store
            .profiles_on_devices(&["PD1".into()], "P1")
            .await
            .unwrap()
            .is_empty()
    );

    // Devices leaving: being removed, due now; back: pending again.
    let done = store
        .set_profile_devices("P1", 2, &["PD1".into()], 12_000)
        .await
        .unwrap();
    assert_eq!(
        done,
        Reconciled {
            added: 0,
            removed: 1
        }
    );
    let (rows, _): (Vec<_>, Vec<_>) = store
        .devices_of_profile("P1", Some("removing"), 10)
        .await
        .unwrap()
        .into_iter()
        .unzip();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].device_id.as_str(), rows[0].assigned),
        ("PD2", false)
    );
    store
        .add_device_profiles("PD2", &[("P1".into(), 2)], 13_000)
        .await
        .unwrap();
    let (row, _) = store
        .due_profiles("PD2", 13_000)
        .await
        .unwrap()
        .into_iter()
        .find(|(r, _)| r.profile_id == "P1")
        .unwrap();
    assert_eq!((row.status.as_str(), row.assigned), ("pending", true));

    // Deleting: assignments go, rows are being removed, the name is free again.
    assert_eq!(store.delete_profile("P1", 14_000).await.unwrap(), 2);
    assert_eq!(store.profile("P1").await.unwrap(), None);
    assert!(store.assignments_of("P1").await.unwrap().is_empty());
    let pd1 = store.profiles_of_device("PD1").await.unwrap();
    assert_eq!(pd1[0].0.status, "removing");
    store
        .create_profile(&profile("P3", "Camera off", vec![Platform::Windows10]))
        .await
        .unwrap();
    store.remove_assignment("P2", "G1").await.unwrap_err();
    store.delete_group("G1").await.unwrap();
    assert_eq!(store.group("G1").await.unwrap(), None);
}
