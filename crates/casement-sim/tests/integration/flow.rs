//! The whole enrollment flow against the in-memory server, with faults injected.

use std::sync::Arc;

use casement_enroll::{AuthPolicy, DiscoverRequest, FaultSubcode, GetPoliciesRequest, RstRequest};
use casement_sim::enroll::sts::StsError;
use casement_sim::http::{HttpRequest, HttpResponse, Method};
use casement_sim::{
    AuthMode, EnrollError, EnrollOptions, EnrolledDevice, Step, WindowsRelease, enroll, enroll_with,
};

use crate::support::{DISCOVERY, FakeServer, PASSWORD, Shared, USER, Variant, ca, respond};

fn options(platform: WindowsRelease) -> EnrollOptions {
    EnrollOptions::new(DISCOVERY, USER, PASSWORD, platform)
}

async fn run(
    server: &Arc<FakeServer>,
    options: &EnrollOptions,
) -> Result<EnrolledDevice, EnrollError> {
    enroll_with(&Shared(server.clone()), options).await
}

#[tokio::test]
async fn windows81_enrolls_federated_through_the_sign_in_page() {
    let server = FakeServer::new(&[AuthPolicy::OnPremise, AuthPolicy::Federated]);
    let options = options(WindowsRelease::Windows81);
    let device = run(&server, &options).await.unwrap();
    assert_eq!(device.platform, WindowsRelease::Windows81);
    assert_eq!(device.auth_policy, "Federated");
    assert_eq!(device.enrollment_version, None);
    assert_eq!(device.device_id, options.device_id);
    assert_eq!(device.upn, USER);
    assert_eq!(
        device.management_url,
        "https://enroll.test:8443/ManagementServer/MDM.svc"
    );
    assert_eq!(device.provider_id, "Casement");
    assert!(device.poll.is_none());
    assert!(
        device
            .private_key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(
        device
            .certificate_pem
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(
        device.ca_certificates_pem,
        ca().certificate_pem().replace("\r\n", "\n")
    );
    // The CA accepts the certificate the device will present, and it names the device.
    let der = pem_der(&device.certificate_pem);
    let verified = ca()
        .verify_client_certificate(&der, time::OffsetDateTime::now_utc())
        .unwrap();
    assert_eq!(verified.device_id(), options.device_id);
    assert_eq!(verified.sha1_thumbprint(), device.certificate_thumbprint);

    // What went over the wire: the probe, Discover, the STS page and form, GetPolicies, RST.
    let requests = server.requests.lock().unwrap().clone();
    let summary: Vec<(Method, String)> = requests
        .iter()
        .map(|r| {
            (
                r.method,
                reqwest::Url::parse(&r.url).unwrap().path().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Method::Get, "/EnrollmentServer/Discovery.svc"),
            (Method::Post, "/EnrollmentServer/Discovery.svc"),
            (Method::Get, "/EnrollmentServer/Sts"),
            (Method::Post, "/EnrollmentServer/Sts"),
            (Method::Post, "/EnrollmentServer/Policy.svc"),
            (Method::Post, "/EnrollmentServer/Enrollment.svc"),
        ]
        .map(|(m, p)| (m, p.to_owned()))
    );
    assert!(requests[2].url.contains(
        "appru=ms-app%3A%2F%2Fwindows.immersivecontrolpanel&login_hint=ann%40example.com"
    ));
    for soap in [&requests[1], &requests[4], &requests[5]] {
        assert_eq!(
            soap.header_value("content-type"),
            Some("application/soap+xml; charset=utf-8")
        );
        assert_eq!(
            soap.header_value("user-agent"),
            Some("Windows Enrollment Client")
        );
    }
    assert!(
        requests[2]
            .header_value("user-agent")
            .unwrap()
            .starts_with("Mozilla/5.0")
    );
    let discover = DiscoverRequest::parse(&requests[1].body).unwrap();
    assert_eq!(
        discover.platform().unwrap(),
        casement_enroll::Platform::Windows81
    );
    let rst = RstRequest::parse(&requests[5].body).unwrap();
    assert_eq!(rst.platform(), casement_enroll::Platform::Windows81);
}

#[tokio::test]
async fn windows10_enrolls_onpremise() {
    let server = FakeServer::new(&[AuthPolicy::OnPremise, AuthPolicy::Federated]);
    let device = run(&server, &options(WindowsRelease::Windows10))
        .await
        .unwrap();
    assert_eq!(device.auth_policy, "OnPremise");
    assert_eq!(device.enrollment_version.as_deref(), Some("4.0"));
    assert_eq!(
        device.poll.as_ref().unwrap().number_of_first_retries,
        Some(8)
    );
    assert!(server.posted_to("/EnrollmentServer/Sts").is_empty());
    let policies = &server.posted_to("/Policy.svc")[0];
    assert_eq!(policies.header_value("user-agent"), Some("ENROLLClient"));
    let parsed = GetPoliciesRequest::parse(&policies.body).unwrap();
    assert_eq!(parsed.security.username(), Some(USER));
}

#[tokio::test]
async fn windows10_and_11_enroll_federated_when_the_server_prefers_it() {
    for platform in [WindowsRelease::Windows10, WindowsRelease::Windows11] {
        let server = FakeServer::new(&[AuthPolicy::Federated, AuthPolicy::OnPremise]);
        let mut o = options(platform);
        o.auth = AuthMode::Federated;
        let device = run(&server, &o).await.unwrap();
        assert_eq!(device.auth_policy, "Federated");
        let rst = RstRequest::parse(&server.posted_to("/Enrollment.svc")[0].body).unwrap();
        assert_eq!(rst.platform(), casement_enroll::Platform::Windows10);
        assert_eq!(
            rst.context.get("RequestVersion").is_some(),
            platform == WindowsRelease::Windows11
        );
    }
}

#[tokio::test]
async fn required_auth_mode_is_enforced() {
    let server = FakeServer::new(&[AuthPolicy::OnPremise]);
    let mut o = options(WindowsRelease::Windows10);
    o.auth = AuthMode::Federated;
    let err = run(&server, &o).await.unwrap_err();
    assert!(
        matches!(
            err,
            EnrollError::AuthPolicy {
                chosen: AuthPolicy::OnPremise,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn windows81_against_an_onpremise_only_server_gets_a_fault() {
    let server = FakeServer::new(&[AuthPolicy::OnPremise]);
    let err = run(&server, &options(WindowsRelease::Windows81))
        .await
        .unwrap_err();
    let EnrollError::Fault { step, fault } = &err else {
        panic!("{err}")
    };
    assert_eq!(*step, Step::Discover);
    assert_eq!(fault.known_subcode(), Some(FaultSubcode::Authentication));
}

#[tokio::test]
async fn wrong_password_is_reported_by_the_sign_in_page_and_as_a_fault() {
    let server = FakeServer::new(&[AuthPolicy::Federated]);
    let mut o = options(WindowsRelease::Windows81);
    o.password = "wrong".into();
    let err = run(&server, &o).await.unwrap_err();
    let EnrollError::SignIn(StsError::Refused { status, message }) = &err else {
        panic!("{err}")
    };
    assert_eq!(*status, 401);
    assert_eq!(message, "The user name or password is incorrect.");
    assert!(!err.to_string().contains("wrong"));

    let server = FakeServer::new(&[AuthPolicy::OnPremise]);
    let mut o = options(WindowsRelease::Windows10);
    o.password = "wrong".into();
    let err = run(&server, &o).await.unwrap_err();
    let fault = err.fault().unwrap_or_else(|| panic!("{err}"));
    assert_eq!(fault.known_subcode(), Some(FaultSubcode::Authentication));
    assert!(matches!(
        err,
        EnrollError::Fault {
            step: Step::GetPolicies,
            ..
        }
    ));
}

fn alter(
    server: &FakeServer,
    path: &'static str,
    f: impl Fn(&mut HttpResponse) + Send + Sync + 'static,
) {
    server.set_alteration(Box::new(
        move |request: &HttpRequest, response: &mut HttpResponse| {
            if request.method == Method::Post && request.url.ends_with(path) {
                f(response);
            }
        },
    ));
}

#[tokio::test]
async fn a_response_that_is_not_soap_is_reported() {
    let server = FakeServer::new(&[AuthPolicy::OnPremise]);
    alter(&server, "/Policy.svc", |r| {
        *r = respond(200, "text/html; charset=utf-8", "<html>oops</html>");
    });
    let err = run(&server, &options(WindowsRelease::Windows10))
        .await
        .unwrap_err();
    let EnrollError::NotSoap {
        step,
        status,
        content_type,
        body_start,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*step, Step::GetPolicies);
    assert_eq!(*status, 200);
    assert_eq!(content_type.as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(body_start, "<html>oops</html>");
}

#[tokio::test]
async fn a_chunked_response_is_reported() {
    let server = FakeServer::new(&[AuthPolicy::OnPremise]);
    alter(&server, "/Discovery.svc", |r| {
        r.headers.retain(|(n, _)| n != "content-length");
        r.headers
            .push(("transfer-encoding".into(), "chunked".into()));
    });
    let err = run(&server, &options(WindowsRelease::Windows10))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EnrollError::Chunked {
                step: Step::Discover
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_response_to_another_message_is_reported() {
    let server = FakeServer::new(&[AuthPolicy::OnPremise]);
    alter(&server, "/Enrollment.svc", |r| {
        let body = String::from_utf8(r.body.clone()).unwrap();
        let start = body.find("<a:RelatesTo>").unwrap() + "<a:RelatesTo>".len();
        let end = body.find("</a:RelatesTo>").unwrap();
        let body = format!("{}urn:uuid:other{}", &body[..start], &body[end..]);
        *r = respond(200, "application/soap+xml; charset=utf-8", &body);
    });
    let err = run(&server, &options(WindowsRelease::Windows10))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EnrollError::RelatesTo { step: Step::RequestSecurityToken, found, .. } if found == "urn:uuid:other"),
        "{err}"
    );
}

#[tokio::test]
async fn inconsistent_certificates_are_refused() {
    for (variant, expected) in [
        (Variant::ForeignKey, "does not certify the key we generated"),
        (Variant::ForeignRoot, "not signed by a provisioned Root"),
    ] {
        let server = FakeServer::new(&[AuthPolicy::OnPremise]);
        let twin = FakeServer::new(&[AuthPolicy::OnPremise]);
        server.set_alteration(Box::new(
            move |request: &HttpRequest, response: &mut HttpResponse| {
                if request.url.ends_with("/Enrollment.svc") {
                    *response = twin.enrollment(&request.body, variant);
                }
            },
        ));
        let err = run(&server, &options(WindowsRelease::Windows10))
            .await
            .unwrap_err();
        let EnrollError::Certificate { reason } = &err else {
            panic!("{err}")
        };
        assert!(reason.contains(expected), "{reason}");
    }
}

#[tokio::test]
async fn a_probe_that_is_not_200_stops_enrollment() {
    let server = FakeServer::new(&[AuthPolicy::OnPremise]);
    server.set_alteration(Box::new(|request, response| {
        if request.method == Method::Get {
            *response = respond(404, "text/plain", "no");
        }
    }));
    let err = run(&server, &options(WindowsRelease::Windows10))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EnrollError::HttpStatus {
                step: Step::DiscoveryProbe,
                status: 404,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(server.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn state_directory_round_trip_and_management_client() {
    let server = FakeServer::new(&[AuthPolicy::OnPremise]);
    let device = run(&server, &options(WindowsRelease::Windows10))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("device-1");
    device.save(&state).unwrap();
    // Saving again replaces the files.
    device.save(&state).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    for file in ["device.json", "key.pem", "cert.pem", "ca.pem"] {
        assert!(state.join(file).is_file(), "{file}");
    }
    let json = std::fs::read_to_string(state.join("device.json")).unwrap();
    assert!(
        !json.contains("PRIVATE KEY"),
        "the key stays out of device.json"
    );
    assert!(EnrolledDevice::exists(&state));
    let loaded = EnrolledDevice::load(&state).unwrap();
    assert_eq!(loaded, device);

    let tls = casement_ca::TlsIdentity::generate_self_signed(
        &["localhost"],
        time::OffsetDateTime::now_utc(),
        casement_ca::DEFAULT_TLS_VALIDITY,
        &mut rand::rng(),
    )
    .unwrap();
    loaded
        .management_client(Some(tls.certificate_pem()))
        .unwrap();
    loaded.management_client(None).unwrap();
    assert!(loaded.management_client(Some("not a certificate")).is_err());
}

#[test]
fn enroll_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let o = options(WindowsRelease::Windows10);
    let real = enroll(&o);
    assert_send(&real);
    let server = FakeServer::new(&[AuthPolicy::OnPremise]);
    let shared = Shared(server);
    let in_memory = enroll_with(&shared, &o);
    assert_send(&in_memory);
}

#[tokio::test]
async fn enroll_saves_into_the_state_directory_only_on_success() {
    // No server listens on this port: the real transport fails at the probe, nothing is saved.
    let dir = tempfile::tempdir().unwrap();
    let mut o = EnrollOptions::new(
        "https://127.0.0.1:9/EnrollmentServer/Discovery.svc",
        USER,
        PASSWORD,
        WindowsRelease::Windows10,
    );
    o.state_dir = Some(dir.path().join("d"));
    o.timeout = std::time::Duration::from_secs(5);
    let err = enroll(&o).await.unwrap_err();
    assert!(
        matches!(
            err,
            EnrollError::Transport {
                step: Step::DiscoveryProbe,
                ..
            }
        ),
        "{err}"
    );
    assert!(!EnrolledDevice::exists(&dir.path().join("d")));
}

fn pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}
