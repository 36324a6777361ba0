//! Synthetic devices for benchmarks look like a fleet to the store: listed, with their history,
//! and handled from a snapshot like any device. On SQLite and on a throwaway PostgreSQL.

use casement_store::*;
use casement_store_sql::{SeedSpec, SqlStore};

async fn seeded_devices_look_like_a_fleet(store: &SqlStore) {
    store
        .create_user(&NewUser {
            id: "u1".into(),
            upn: "seed@contoso.com".into(),
            display_name: "Seed".into(),
            password_hash: "$argon2id$x".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    let spec = |from, count| SeedSpec {
        prefix: "seed-".into(),
        from,
        count,
        user_id: "u1".into(),
        upn: "seed@contoso.com".into(),
        platform: Platform::Windows10,
        now: 1_000_000_000_000,
    };
    store.seed_devices(&spec(0, 500)).await.unwrap();
    store.seed_devices(&spec(500, 250)).await.unwrap();
    assert_eq!(store.count_devices().await.unwrap(), 750);
    let page = store
        .list_devices(&DeviceFilter {
            limit: Some(3),
            ..DeviceFilter::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = page.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["seed-00000000", "seed-00000001", "seed-00000002"]);
    let snapshot = store
        .management_snapshot("seed-00000749", None, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.pending.len(), 1);
    assert!(snapshot.active_session.is_none());
    assert_eq!(snapshot.device.platform, Platform::Windows10);
    assert_eq!(
        store
            .sessions_of_device("seed-00000749", 10)
            .await
            .unwrap()
            .len(),
        2
    );
    let session = &store.sessions_of_device("seed-00000000", 10).await.unwrap()[0];
    assert_eq!(store.session_messages(&session.id).await.unwrap().len(), 2);
    assert_eq!(
        store
            .commands_of_device("seed-00000000", 10)
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        store
            .inventory_of_device("seed-00000000")
            .await
            .unwrap()
            .len(),
        4
    );
    let certificate = store
        .certificate("seedseed-00000000")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(certificate.device_id, "seed-00000000");
}

#[tokio::test]
async fn seeded_devices_look_like_a_fleet_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = SqlStore::sqlite_url(&dir.path().join("seed.db"));
    seeded_devices_look_like_a_fleet(&SqlStore::connect(&url).await.unwrap()).await;
}

#[tokio::test]
async fn seeded_devices_look_like_a_fleet_on_postgres() {
    let Some(pg) = casement_store_tests::postgres::start_or_skip(
        "seeded_devices_look_like_a_fleet_on_postgres",
    ) else {
        return;
    };
    seeded_devices_look_like_a_fleet(&SqlStore::connect(&pg.url).await.unwrap()).await;
}
