//! Unit tests of the layering, the validation and the WNS simulator settings.

use super::*;

#[test]
fn defaults_validate_to_the_embedded_setup() {
    let config = RawConfig::default().validate().unwrap();
    assert_eq!(config.listen, "127.0.0.1:8443".parse().unwrap());
    assert_eq!(config.public_url, "https://localhost:8443");
    assert_eq!(
        config.management_url(),
        "https://localhost:8443/ManagementServer/MDM.svc"
    );
    assert!(
        config
            .database
            .starts_with("sqlite://casement-data/casement.db")
    );
}

#[test]
fn bad_values_are_refused_with_a_reason() {
    let bad = RawConfig {
        listen: "nowhere".into(),
        ..RawConfig::default()
    };
    assert!(bad.validate().unwrap_err().0.contains("listen"));
    let bad = RawConfig {
        auth_policies: vec!["Certificate".into()],
        ..RawConfig::default()
    };
    assert!(bad.validate().unwrap_err().0.contains("Certificate"));
    let bad = RawConfig {
        tls_cert: Some("a.pem".into()),
        ..RawConfig::default()
    };
    assert!(bad.validate().unwrap_err().0.contains("together"));
    let bad = RawConfig {
        public_url: Some("http://x".into()),
        ..RawConfig::default()
    };
    assert!(bad.validate().is_err());
}

#[test]
fn a_wns_simulator_directory_fills_the_wns_settings_not_given() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wns.pem"), "not read here").unwrap();
    let settings = serde_json::json!({
        "base_url": "https://127.0.0.1:9444",
        "server": {
            "wns_package_family_name": "Casement.Sim_8wekyb3d8bbwe",
            "wns_client_id": "ms-app://S-1-15-2-9",
            "wns_client_secret": "s",
            "wns_token_url": "https://127.0.0.1:9444/accesstoken.srf",
            "wns_local_hosts": ["127.0.0.1:9444"],
            "wns_trust_pem": "wns.pem"
        }
    });
    std::fs::write(dir.path().join(WNS_SIMULATOR_FILE), settings.to_string()).unwrap();
    let raw = RawConfig {
        wns_simulator: Some(dir.path().to_owned()),
        wns_package_family_name: Some("Contoso.Given_8wekyb3d8bbwe".into()),
        ..RawConfig::default()
    };
    let resolved = raw.with_wns_simulator().unwrap();
    assert_eq!(
        resolved.wns_package_family_name.as_deref(),
        Some("Contoso.Given_8wekyb3d8bbwe"),
        "a setting given wins"
    );
    assert_eq!(
        resolved.wns_client_id.as_deref(),
        Some("ms-app://S-1-15-2-9")
    );
    assert_eq!(resolved.wns_local_hosts, vec!["127.0.0.1:9444".to_owned()]);
    assert_eq!(resolved.wns_trust_pem, Some(dir.path().join("wns.pem")));
    let missing = RawConfig {
        wns_simulator: Some(dir.path().join("nowhere")),
        ..RawConfig::default()
    };
    assert!(
        missing
            .validate()
            .unwrap_err()
            .0
            .contains("casement sim wns")
    );
}

#[test]
fn file_then_flags_override_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("casement.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9443\"\nmax_devices_per_user = 2\n",
    )
    .unwrap();
    let raw = RawConfig::load(
        Some(&file),
        serde_json::json!({ "max_devices_per_user": 3 }),
    )
    .unwrap();
    assert_eq!(raw.listen, "127.0.0.1:9443");
    assert_eq!(raw.max_devices_per_user, 3);
    assert!(
        RawConfig::load(
            Some(&dir.path().join("missing.toml")),
            serde_json::json!({})
        )
        .is_err()
    );
}
