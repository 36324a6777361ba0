//! Chapters of the storage story: the app catalog and installs.

use casement_store::*;

/// The app catalog and installs.
pub(crate) async fn catalog_and_installs(store: &dyn Store) {
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
}
