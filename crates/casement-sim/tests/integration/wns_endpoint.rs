//! The simulator's WNS endpoint against the server's real WNS client (`casement-push`) over
//! HTTPS, and the push driver starting a device's Apps session against the real server.

use std::time::Duration;

use casement_push::{
    PushError, PushOutcome, Pusher, TokenError, WAKE_PAYLOAD, WnsClient, WnsConfig,
};
use casement_server::{RawConfig, Server};
use casement_sim::agent::{Agent, Event};
use casement_sim::transcript::Outcome;
use casement_sim::wns::{ChannelState, WnsEndpoint, WnsEndpointConfig, run_push_driver};
use casement_sim::{EnrollOptions, WindowsRelease, enroll};

const CLIENT_ID: &str = "ms-app://S-1-15-2-2972962901-2322836549-3722629029";
const SECRET: &str = "Vex8L9WOFZuj95euaLrvSH7XyoDhLJc7";
const DEVICE: &str = "6C4B1F0E2A3D4C5B";
const REFUSAL: &str = "Client credential flows against login.live.com are no longer supported. New clients should use login.microsoftonline.com instead";

async fn endpoint() -> WnsEndpoint {
    let mut config = WnsEndpointConfig::new(CLIENT_ID, SECRET);
    config.listen = "127.0.0.1:0".parse().unwrap();
    WnsEndpoint::start(config).await.unwrap()
}

fn client_with(endpoint: &WnsEndpoint, secret: &str) -> WnsClient {
    WnsClient::new(WnsConfig {
        token_url: endpoint.token_url(),
        allow_insecure_hosts: vec![endpoint.host_port().to_owned()],
        extra_root_certificates_pem: vec![endpoint.certificate_pem().to_owned()],
        ..WnsConfig::new(CLIENT_ID, secret)
    })
    .unwrap()
}

fn client(endpoint: &WnsEndpoint) -> WnsClient {
    client_with(endpoint, SECRET)
}

/// A reqwest client trusting the endpoint, for requests the WNS client would never send.
fn raw_http(endpoint: &WnsEndpoint) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(endpoint.certificate_pem().as_bytes()).unwrap(),
        ])
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_push_to_an_active_channel_is_received_and_announced() {
    let endpoint = endpoint().await;
    let wns = client(&endpoint);
    let mut rx = endpoint.subscribe();
    let uri = endpoint.channel_uri(DEVICE);
    assert_eq!(
        uri,
        format!("https://{}/wns/channel/{DEVICE}", endpoint.local_addr())
    );
    assert_eq!(uri, format!("{}/{DEVICE}", endpoint.channel_base()));

    let outcome = wns.push_with_ttl(&uri, WAKE_PAYLOAD, None).await.unwrap();
    let PushOutcome::Received {
        device_connection_status,
        diagnostics,
        ..
    } = &outcome
    else {
        panic!("{outcome:?}");
    };
    assert!(outcome.is_received());
    assert_eq!(
        *device_connection_status,
        Some(casement_push::DeviceConnectionStatus::Connected)
    );
    let msg_id = diagnostics.msg_id.clone().expect("X-WNS-Msg-ID");
    assert_eq!(msg_id.len(), 16);

    assert_eq!(rx.recv().await.as_deref(), Some(DEVICE));
    let pushes = endpoint.pushes(DEVICE);
    assert_eq!(pushes.len(), 1);
    let push = &pushes[0];
    assert_eq!((push.status, push.delivered), (200, true));
    assert_eq!(push.msg_id, msg_id);
    assert_eq!(push.payload, WAKE_PAYLOAD);
    assert_eq!(push.cache_policy.as_deref(), Some("cache"));
    assert!(push.request_for_status);
    assert_eq!(endpoint.tokens_issued(), 1);

    // The token is reused for the next push.
    assert!(wns.push(&uri, b"again").await.unwrap().is_received());
    assert_eq!(endpoint.tokens_issued(), 1);
    assert_eq!(rx.recv().await.as_deref(), Some(DEVICE));
    endpoint.shutdown().await;
    assert_eq!(rx.recv().await, None, "subscriptions end with the endpoint");
}

#[tokio::test]
async fn channel_states_give_the_documented_answers() {
    let endpoint = endpoint().await;
    let wns = client(&endpoint);
    let mut rx = endpoint.subscribe();
    let push = |device: &'static str| {
        let uri = endpoint.channel_uri(device);
        let wns = &wns;
        async move { wns.push(&uri, WAKE_PAYLOAD).await.unwrap() }
    };

    endpoint.revoke("revoked");
    assert!(matches!(
        push("revoked").await,
        PushOutcome::ChannelGone { expired: false, .. }
    ));
    endpoint.expire("expired");
    assert!(matches!(
        push("expired").await,
        PushOutcome::ChannelGone { expired: true, .. }
    ));
    endpoint.set_state(
        "throttled",
        ChannelState::Throttled {
            continue_after: Duration::from_secs(60),
        },
    );
    let o = push("throttled").await;
    assert!(
        matches!(
            o,
            PushOutcome::Throttled {
                http_status: 406,
                continue_after: Some(d),
                ..
            } if d == Duration::from_secs(60)
        ),
        "{o:?}"
    );
    endpoint.set_state("failing", ChannelState::Failing(503));
    assert!(matches!(
        push("failing").await,
        PushOutcome::ServerError { status: 503, .. }
    ));
    endpoint.set_state("failing", ChannelState::Failing(500));
    assert!(matches!(
        push("failing").await,
        PushOutcome::ServerError { status: 500, .. }
    ));
    endpoint.set_state("dropped", ChannelState::Dropped);
    assert!(matches!(push("dropped").await, PushOutcome::Dropped { .. }));

    // None of those reached the device; all were recorded with the answer given.
    assert!(rx.try_recv().is_err());
    assert_eq!(endpoint.pushes("revoked")[0].status, 404);
    assert_eq!(endpoint.pushes("expired")[0].status, 410);
    assert_eq!(endpoint.pushes("throttled")[0].status, 406);
    let failing: Vec<u16> = endpoint
        .pushes("failing")
        .iter()
        .map(|p| p.status)
        .collect();
    assert_eq!(failing, [503, 500]);
    assert!(!endpoint.pushes("dropped")[0].delivered);

    // The channel comes back once the device registered again.
    endpoint.set_state("expired", ChannelState::Active);
    assert!(push("expired").await.is_received());
    assert_eq!(rx.recv().await.as_deref(), Some("expired"));

    // Unknown devices follow the default state.
    assert_eq!(endpoint.state("never-seen"), ChannelState::Active);
    endpoint.set_default_state(ChannelState::Revoked);
    assert!(push("never-seen").await.is_channel_gone());
    assert!(push("expired").await.is_received());
    assert_eq!(endpoint.tokens_issued(), 1);
    endpoint.shutdown().await;
}

#[tokio::test]
async fn refused_tokens_and_wrong_credentials_are_token_errors() {
    let endpoint = endpoint().await;
    let uri = endpoint.channel_uri(DEVICE);

    endpoint.refuse_tokens(REFUSAL);
    let err = client(&endpoint)
        .push(&uri, WAKE_PAYLOAD)
        .await
        .unwrap_err();
    match &err {
        PushError::Token(TokenError::Rejected {
            status,
            error,
            description,
        }) => {
            assert_eq!(status, &400);
            assert_eq!(error, "invalid_request");
            assert_eq!(description.as_deref(), Some(REFUSAL));
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_transient());

    endpoint.accept_tokens();
    let err = client_with(&endpoint, "wrong secret")
        .push(&uri, WAKE_PAYLOAD)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PushError::Token(TokenError::Rejected { status: 400, error, .. }) if error == "invalid_client"),
        "{err:?}"
    );
    assert_eq!(endpoint.tokens_issued(), 0);
    assert!(endpoint.pushes(DEVICE).is_empty());

    // Accepted again: the right credentials get a token.
    assert!(
        client(&endpoint)
            .push(&uri, WAKE_PAYLOAD)
            .await
            .unwrap()
            .is_received()
    );
    assert_eq!(endpoint.tokens_issued(), 1);
    endpoint.shutdown().await;
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once() {
    let endpoint = endpoint().await;
    let wns = client(&endpoint);
    let uri = endpoint.channel_uri(DEVICE);
    assert!(wns.push(&uri, WAKE_PAYLOAD).await.unwrap().is_received());
    assert_eq!(endpoint.tokens_issued(), 1);

    // The client's cached token is no longer known: 401, a new token, the push again.
    endpoint.invalidate_tokens();
    assert!(wns.push(&uri, WAKE_PAYLOAD).await.unwrap().is_received());
    assert_eq!(endpoint.tokens_issued(), 2);
    // The 401 attempt is not recorded: only the two accepted pushes.
    assert_eq!(endpoint.pushes(DEVICE).len(), 2);
    endpoint.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let mut config = WnsEndpointConfig::new(CLIENT_ID, SECRET);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.token_lifetime = Duration::from_secs(1);
    let endpoint = WnsEndpoint::start(config).await.unwrap();
    let http = raw_http(&endpoint);
    let token: serde_json::Value = http
        .post(endpoint.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("scope", "notify.windows.com"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 1);
    let bearer = token["access_token"].as_str().unwrap().to_owned();
    let send = || {
        http.post(endpoint.channel_uri(DEVICE))
            .bearer_auth(&bearer)
            .header("Content-Type", "application/octet-stream")
            .header("X-WNS-Type", "wns/raw")
            .body("x")
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(send().await.unwrap().status(), 401);
    endpoint.shutdown().await;
}

#[tokio::test]
async fn oversized_payloads_are_refused_by_the_client_and_the_endpoint() {
    let endpoint = endpoint().await;
    let uri = endpoint.channel_uri(DEVICE);
    let big = vec![b'x'; 5001];
    let err = client(&endpoint).push(&uri, &big).await.unwrap_err();
    assert!(
        matches!(err, PushError::PayloadTooLarge { len: 5001 }),
        "{err:?}"
    );
    assert!(endpoint.pushes(DEVICE).is_empty());
    assert_eq!(endpoint.tokens_issued(), 0, "nothing was sent");

    // Sent anyway (not by the WNS client): 413; and the other malformed requests.
    let wns = client(&endpoint);
    let token = wns.access_token().await.unwrap();
    let http = raw_http(&endpoint);
    let request = |body: Vec<u8>, kind: &str, content_type: &str| {
        http.post(&uri)
            .bearer_auth(token.secret())
            .header("Content-Type", content_type)
            .header("X-WNS-Type", kind)
            .body(body)
            .send()
    };
    let r = request(big.clone(), "wns/raw", "application/octet-stream")
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.headers().contains_key("x-wns-error-description"));
    let max = request(vec![b'x'; 5000], "wns/raw", "application/octet-stream")
        .await
        .unwrap();
    assert_eq!(max.status(), 200);
    let toast = request(b"<toast/>".to_vec(), "wns/toast", "text/xml")
        .await
        .unwrap();
    assert_eq!(toast.status(), 400);
    let wrong_type = request(b"x".to_vec(), "wns/raw", "text/plain")
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 400);
    let no_auth = http
        .post(&uri)
        .header("Content-Type", "application/octet-stream")
        .header("X-WNS-Type", "wns/raw")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(no_auth.status(), 401);
    let get = http.get(&uri).send().await.unwrap();
    assert_eq!(get.status(), 405);
    let pushes = endpoint.pushes(DEVICE);
    assert_eq!(
        pushes.len(),
        1,
        "only the 5000-byte push reached the channel"
    );
    assert_eq!(pushes[0].payload.len(), 5000);
    endpoint.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_starts_the_devices_apps_session() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(RawConfig {
        data_dir: tmp.path().join("server"),
        listen: "127.0.0.1:0".into(),
        ..RawConfig::default()
    })
    .await
    .unwrap();
    let server_pem = server.tls_certificate_pem.clone();
    let admin_token = std::fs::read_to_string(&server.admin_token_path)
        .unwrap()
        .trim()
        .to_owned();
    let admin = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(server_pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let created = admin
        .post(format!("{}/api/v1/users", server.local_url()))
        .bearer_auth(&admin_token)
        .json(&serde_json::json!({ "upn": "ann@contoso.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let devices = tmp.path().join("devices");
    let mut options = EnrollOptions::new(
        format!("{}/EnrollmentServer/Discovery.svc", server.local_url()),
        "ann@contoso.com",
        "correct horse battery",
        WindowsRelease::Windows81,
    );
    options.server_tls_pem = Some(server_pem.clone());
    options.state_dir = Some(devices.join("ann"));
    let device = enroll(&options).await.expect("enrollment");

    let endpoint = endpoint().await;
    // The agent reports channel URIs of this endpoint.
    let mut agent = Agent::load(&devices.join("ann")).unwrap();
    agent.state_mut().wns_endpoint = endpoint.channel_base();
    agent.save(&devices.join("ann")).unwrap();

    let (tx, mut sessions) = tokio::sync::mpsc::unbounded_channel();
    // The driver's future is not `Send` (agent sessions are not): it runs on this task.
    let driver = run_push_driver(
        endpoint.subscribe(),
        devices.clone(),
        time::OffsetDateTime::now_utc,
        Some(server_pem),
        move |result| tx.send(result).unwrap(),
    );
    let pushes = async {
        let wns = client(&endpoint);
        let uri = endpoint.channel_uri(&device.device_id);
        assert!(wns.push(&uri, WAKE_PAYLOAD).await.unwrap().is_received());
        let entry = sessions.recv().await.unwrap().expect("a session");
        assert_eq!(entry.device_id, device.device_id);
        assert_eq!(entry.event, Event::Push);
        let session = entry.session.expect("the push starts a session");
        assert_eq!(session.mode, "Apps");
        assert_eq!(
            session.outcome,
            Outcome::Completed,
            "{:?}",
            session.http_errors
        );
        // The session was saved: the next one has the next SessionID.
        let agent = Agent::load(&devices.join("ann")).unwrap();
        assert_eq!(agent.state().next_session_id, 2);

        // A push for a device with no directory is reported, not fatal.
        assert!(
            wns.push(&endpoint.channel_uri("NOPE"), WAKE_PAYLOAD)
                .await
                .unwrap()
                .is_received()
        );
        let err = sessions.recv().await.unwrap().unwrap_err();
        assert!(err.to_string().contains("NOPE"), "{err}");

        endpoint.shutdown().await;
    };
    tokio::join!(driver, pushes);
    server.shutdown().await;
}

/// Issue 16: `casement sim wns` is a process; the shell changes its channels through the
/// control endpoint (token in `wns-simulator.json`), every push is observed (404s too), and a
/// revoked channel answers again once the device registers a new one.
#[tokio::test]
async fn the_control_endpoint_needs_its_token_and_a_new_channel_ends_a_revocation() {
    use casement_sim::wns::{ChannelWatch, ControlRequest, SimulatorInfo};
    let mut config = WnsEndpointConfig::new(CLIENT_ID, SECRET);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.control_token = Some("control-token".into());
    let endpoint = WnsEndpoint::start(config).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let info = SimulatorInfo::new(
        &endpoint,
        &tmp.path().join("wns"),
        CLIENT_ID,
        SECRET,
        "Casement.Sim_8wekyb3d8bbwe",
        "control-token",
    )
    .unwrap();
    info.write(&tmp.path().join("wns"), endpoint.certificate_pem())
        .unwrap();
    let read = SimulatorInfo::read(&tmp.path().join("wns")).unwrap();
    assert_eq!(read, info);
    assert_eq!(
        std::fs::read_to_string(&read.server.wns_trust_pem).unwrap(),
        endpoint.certificate_pem()
    );

    let http = raw_http(&endpoint);
    let control = |token: &'static str, body: serde_json::Value| {
        let request = http
            .post(info.control_url(DEVICE))
            .bearer_auth(token)
            .json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        control("wrong", serde_json::json!({"state": "revoked"})).await,
        401
    );
    assert_eq!(endpoint.state(DEVICE), ChannelState::Active);
    assert_eq!(
        control("control-token", serde_json::json!({"state": "gone"})).await,
        400
    );
    let revoked = serde_json::to_value(ControlRequest::Revoked).unwrap();
    assert_eq!(control("control-token", revoked).await, 200);
    assert_eq!(endpoint.state(DEVICE), ChannelState::Revoked);

    let mut observed = endpoint.observe();
    let wns = client(&endpoint);
    let outcome = wns
        .push(&endpoint.channel_uri(DEVICE), WAKE_PAYLOAD)
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        PushOutcome::ChannelGone { expired: false, .. }
    ));
    let seen = observed.recv().await.unwrap();
    assert_eq!(
        (seen.device_id.as_str(), seen.status, seen.delivered),
        (DEVICE, 404, false)
    );

    // The device's directory: a channel, then (push configuration ran again) a new one.
    let devices = tmp.path().join("devices");
    let dir = devices.join("pc");
    let device = fake_device(DEVICE);
    device.save(&dir).unwrap();
    let mut agent = Agent::new(device, time::OffsetDateTime::UNIX_EPOCH);
    agent.state_mut().tree.push = Some(push_node(&endpoint, time::OffsetDateTime::UNIX_EPOCH));
    agent.save(&dir).unwrap();
    let mut watch = ChannelWatch::new();
    assert!(
        watch.scan(&endpoint, &devices).is_empty(),
        "the first scan takes note"
    );
    assert!(
        watch.scan(&endpoint, &devices).is_empty(),
        "nothing changed"
    );
    let later = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
    agent.state_mut().tree.push = Some(push_node(&endpoint, later));
    agent.save(&dir).unwrap();
    assert_eq!(watch.scan(&endpoint, &devices), vec![DEVICE.to_owned()]);
    assert_eq!(endpoint.state(DEVICE), ChannelState::Active);
    endpoint.shutdown().await;
}

/// An enrolled device with fake PEM blocks (enough for save and load).
fn fake_device(id: &str) -> casement_sim::EnrolledDevice {
    let pem = |label: &str| format!("-----BEGIN {label}-----\nAA==\n-----END {label}-----\n");
    casement_sim::EnrolledDevice {
        device_id: id.into(),
        device_name: "DESKTOP-SIM0001".into(),
        platform: WindowsRelease::Windows10,
        upn: "ann@example.com".into(),
        auth_policy: "OnPremise".into(),
        enrollment_version: None,
        hardware: casement_sim::Hardware::random(WindowsRelease::Windows10, &mut rand::rng()),
        management_url: "https://mdm.test/ManagementServer/MDM.svc".into(),
        provider_id: "Casement".into(),
        certificate_thumbprint: "00".repeat(20),
        poll: None,
        enrolled_at: time::OffsetDateTime::UNIX_EPOCH,
        private_key_pem: pem("PRIVATE KEY"),
        certificate_pem: pem("CERTIFICATE"),
        ca_certificates_pem: pem("CERTIFICATE"),
    }
}

/// A Windows 10 DMClient channel on `endpoint`, created at `at`.
fn push_node(
    endpoint: &WnsEndpoint,
    at: time::OffsetDateTime,
) -> casement_sim::agent::tree::DmClientPush {
    casement_sim::agent::tree::DmClientPush {
        pfn: "Casement.Sim_8wekyb3d8bbwe".into(),
        channel: casement_sim::agent::tree::WnsChannel {
            uri: endpoint.channel_uri(DEVICE),
            created_at: at,
            expires_at: at + time::Duration::days(30),
            revoked: false,
        },
    }
}
