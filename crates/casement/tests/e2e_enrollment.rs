//! End to end over real HTTPS: the simulator enrolls like Windows 8.1 (Federated, following the
//! sign-in form), Windows 10 (OnPremise) and Windows 11, and the devices appear in the admin API.

use std::time::Duration;

use casement_server::{RawConfig, Server};
use casement_sim::enroll::requests::{self, Credential};
use casement_sim::enroll::sts;
use casement_sim::http::ReqwestTransport;
use casement_sim::{AuthMode, EnrollOptions, WindowsRelease, enroll};

struct Env {
    server: Server,
    http: reqwest::Client,
    token: String,
    _dir: tempfile::TempDir,
}

async fn start(raw: RawConfig) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(RawConfig {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".into(),
        ..raw
    })
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(server.tls_certificate_pem.as_bytes()).unwrap(),
        ])
        .build()
        .unwrap();
    let token = std::fs::read_to_string(&server.admin_token_path)
        .unwrap()
        .trim()
        .to_owned();
    let env = Env {
        server,
        http,
        token,
        _dir: dir,
    };
    let created = env
        .http
        .post(env.url("/api/v1/users"))
        .bearer_auth(&env.token)
        .json(&serde_json::json!({"upn": "alice@contoso.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    env
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.local_url())
    }

    fn options(&self, platform: WindowsRelease, auth: AuthMode) -> EnrollOptions {
        let mut o = EnrollOptions::new(
            self.url("/EnrollmentServer/Discovery.svc"),
            "alice@contoso.com",
            "correct horse battery",
            platform,
        );
        o.auth = auth;
        o.server_tls_pem = Some(self.server.tls_certificate_pem.clone());
        o
    }

    async fn devices(&self) -> serde_json::Value {
        self.http
            .get(self.url("/api/v1/devices"))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_simulator_enrolls_as_windows_8_1_10_and_11_and_the_devices_appear() {
    let env = start(RawConfig::default()).await;
    let win81 = enroll(&env.options(WindowsRelease::Windows81, AuthMode::Federated))
        .await
        .expect("Windows 8.1 enrolls through the sign-in page");
    let win10 = enroll(&env.options(WindowsRelease::Windows10, AuthMode::OnPremise))
        .await
        .expect("Windows 10 enrolls with OnPremise");
    let win11 = enroll(&env.options(WindowsRelease::Windows11, AuthMode::Any))
        .await
        .expect("Windows 11 enrolls");
    assert_eq!(
        win81.management_url,
        format!(
            "https://localhost:{}/ManagementServer/MDM.svc",
            env.server.addr.port()
        )
    );

    let devices = env.devices().await;
    let devices = devices["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 3);
    for (enrolled, platform) in [
        (&win81, "windows-8.1"),
        (&win10, "windows-10"),
        (&win11, "windows-10"),
    ] {
        let d = devices
            .iter()
            .find(|d| d["id"] == enrolled.device_id.as_str())
            .expect("listed");
        assert_eq!(d["platform"], platform);
        assert_eq!(d["enrolled_user"]["upn"], "alice@contoso.com");
        assert_eq!(d["name"], enrolled.device_name.as_str());
        assert_eq!(
            d["certificate"]["thumbprint"].as_str().unwrap(),
            enrolled.certificate_thumbprint.to_uppercase()
        );
    }
    env.server.shutdown().await;
}

#[tokio::test]
async fn windows_10_can_enroll_through_the_sign_in_page_when_federated_is_preferred() {
    let env = start(RawConfig {
        auth_policies: vec!["Federated".into(), "OnPremise".into()],
        ..RawConfig::default()
    })
    .await;
    let device = enroll(&env.options(WindowsRelease::Windows10, AuthMode::Federated))
        .await
        .expect("federated Windows 10");
    assert_eq!(device.auth_policy, "Federated");
    env.server.shutdown().await;
}

#[tokio::test]
async fn a_sign_in_token_is_single_use_and_wrong_passwords_are_refused() {
    let env = start(RawConfig::default()).await;
    let transport = ReqwestTransport::new(
        Some(&env.server.tls_certificate_pem),
        Duration::from_secs(10),
    )
    .unwrap();
    let sts_url = env.url("/EnrollmentServer/Sts");
    let wrong = sts::sign_in(
        &transport,
        WindowsRelease::Windows81,
        &sts_url,
        "alice@contoso.com",
        "wrong password",
    )
    .await;
    assert!(wrong.is_err(), "wrong password: no token");

    let token = sts::sign_in(
        &transport,
        WindowsRelease::Windows81,
        &sts_url,
        "alice@contoso.com",
        "correct horse battery",
    )
    .await
    .unwrap();
    let csr = casement_ca::windows_like_csr("AABBCC", &mut rand::rng()).unwrap();
    let hardware = casement_sim::Hardware::random(WindowsRelease::Windows81, &mut rand::rng());
    let context =
        requests::additional_context(WindowsRelease::Windows81, "AABBCC", "PC", &hardware, None);
    let credential = Credential::Federated { token };
    let rst = |id| {
        requests::request_security_token(
            &env.url("/EnrollmentServer/Enrollment.svc"),
            id,
            &credential,
            &csr.csr_der,
            &context,
        )
    };
    let post = |xml: String| {
        env.http
            .post(env.url("/EnrollmentServer/Enrollment.svc"))
            .header("content-type", "application/soap+xml; charset=utf-8")
            .body(xml)
            .send()
    };
    let first = post(rst(uuid::Uuid::new_v4()).xml).await.unwrap();
    assert_eq!(first.status(), 200);
    let replay = post(rst(uuid::Uuid::new_v4()).xml).await.unwrap();
    assert_eq!(replay.status(), 500);
    let body = replay.text().await.unwrap();
    assert!(
        body.contains("s:Authentication") && body.contains("already used"),
        "{body}"
    );
    env.server.shutdown().await;
}

#[tokio::test]
async fn an_expired_sign_in_token_is_refused() {
    let env = start(RawConfig {
        sts_token_seconds: 0,
        ..RawConfig::default()
    })
    .await;
    let error = enroll(&env.options(WindowsRelease::Windows81, AuthMode::Federated))
        .await
        .expect_err("the token expired at once");
    let fault = error.fault().expect("a SOAP fault");
    assert!(
        fault
            .subcode
            .as_deref()
            .unwrap_or_default()
            .contains("Authentication"),
        "{fault:?}"
    );
    env.server.shutdown().await;
}
