//! Chapter of the storage story: a profile's device rows follow the devices it applies to,
//! given as a list or as every device of its platforms (the built-in group of all devices).

use casement_store::*;

use super::*;

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

async fn row(store: &dyn Store, device: &str, profile: &str) -> Option<DeviceProfileRow> {
    store
        .profiles_of_device(device)
        .await
        .unwrap()
        .into_iter()
        .map(|(row, _)| row)
        .find(|r| r.profile_id == profile)
}

/// New rows pending, rows of devices no longer wanted removing, rows wanted again pending;
/// the counts say how many of each; the all-devices form matches the list of the group.
pub(crate) async fn reconcile(store: &dyn Store) {
    for (i, id) in ["PR0", "PR1", "PR2"].iter().enumerate() {
        let mut d = device(id, "u1");
        d.platform = Platform::Windows10;
        d.name = Some(format!("PR-{i}"));
        store
            .record_enrollment(&d, &certificate(&format!("7{i}"), id, 100))
            .await
            .unwrap();
    }
    let p = "profile-reconcile";
    store
        .create_profile(&ProfileRow {
            id: p.into(),
            name: "Reconcile".into(),
            description: String::new(),
            platforms: vec![Platform::Windows10],
            scope: "device".into(),
            settings: "[]".into(),
            source_syncml: None,
            revision: 1,
            created_at: 100,
            updated_at: 100,
        })
        .await
        .unwrap();
    let set = async |devices: &[&str], now: i64| {
        let r = store
            .set_profile_devices(p, 1, &ids(devices), now)
            .await
            .unwrap();
        (r.added, r.removed)
    };
    assert_eq!(set(&["PR0", "PR1"], 200).await, (2, 0));
    assert_eq!(set(&["PR0", "PR1"], 210).await, (0, 0), "nothing changes");
    assert_eq!(set(&["PR0", "PR2"], 220).await, (1, 1));
    let gone = row(store, "PR1", p).await.unwrap();
    assert!(!gone.assigned);
    assert_eq!((gone.status.as_str(), gone.due_at), ("removing", Some(220)));
    let new = row(store, "PR2", p).await.unwrap();
    assert!(new.assigned);
    assert_eq!((new.status.as_str(), new.due_at), ("pending", Some(220)));
    assert_eq!(set(&["PR0", "PR1", "PR2"], 230).await, (1, 0), "PR1 back");
    let back = row(store, "PR1", p).await.unwrap();
    assert!(back.assigned);
    assert_eq!((back.status.as_str(), back.due_at), ("pending", Some(230)));
    assert_eq!(
        row(store, "PR0", p).await.unwrap().due_at,
        Some(200),
        "a row still wanted is left as it was"
    );
    assert_eq!(set(&[], 240).await, (0, 3));

    // Every Windows 10/11 device not retired: what the group of all devices lists.
    let all = GroupRow {
        id: ALL_DEVICES_GROUP.into(),
        name: "All devices".into(),
        description: String::new(),
        members: GroupMembers::All,
        created_at: 0,
    };
    let listed = store
        .group_device_ids(&all, Some(&[Platform::Windows10]))
        .await
        .unwrap();
    assert!(listed.len() >= 3, "{listed:?}");
    let every = async |now: i64| {
        let r = store
            .set_profile_all_devices(p, 1, &[Platform::Windows10], now)
            .await
            .unwrap();
        (r.added, r.removed)
    };
    assert_eq!(every(250).await, (listed.len() as u64, 0));
    assert_eq!(every(260).await, (0, 0));
    assert_eq!(set(&["PR0"], 270).await, (0, listed.len() as u64 - 1));
    assert_eq!(every(280).await, (listed.len() as u64 - 1, 0));
    let rows = store.devices_of_profile(p, None, 10_000).await.unwrap();
    assert_eq!(rows.len(), listed.len());
    assert!(rows.iter().all(|(r, d)| {
        r.assigned && r.status == "pending" && d.platform == Platform::Windows10
    }));
}
