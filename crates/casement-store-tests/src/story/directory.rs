//! Chapters of the storage story: the user directory, STS tokens, devices and certificates.

use casement_store::*;

use super::*;

/// Users: case-insensitive UPNs, conflicts.
pub(crate) async fn users(store: &dyn Store) {
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
}

/// STS tokens: peek does not consume, consume once, expired never.
pub(crate) async fn sts_tokens(store: &dyn Store) {
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
}

/// Devices and certificates.
pub(crate) async fn devices_and_certificates(store: &dyn Store) {
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
}
