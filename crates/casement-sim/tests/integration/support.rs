//! Fixtures and an in-memory enrollment server built from the protocol crates
//! (casement-enroll builders, casement-ca issuance), with fault injection.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use casement_ca::{CaConfig, CertificateAuthority, VerifiedCsr};
use casement_enroll::sts::{Appru, SignInForm, SignInPage, StsQuery, auto_post_page, sign_in_page};
use casement_enroll::*;
use casement_sim::http::{HttpRequest, HttpResponse, Method, Transport, TransportError};

/// Text of `testdata/<name>`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub const BASE: &str = "https://enroll.test:8443";
pub const DISCOVERY: &str = "https://enroll.test:8443/EnrollmentServer/Discovery.svc";
pub const USER: &str = "ann@example.com";
pub const PASSWORD: &str = "correct horse";

/// One CA for the whole test binary (RSA key generation is slow in debug builds).
pub fn ca() -> &'static CertificateAuthority {
    static CA: OnceLock<CertificateAuthority> = OnceLock::new();
    CA.get_or_init(|| {
        CertificateAuthority::generate(
            &CaConfig::default(),
            time::OffsetDateTime::now_utc(),
            &mut rand::rng(),
        )
        .unwrap()
    })
}

/// A second, unrelated CA.
pub fn other_ca() -> &'static CertificateAuthority {
    static CA: OnceLock<CertificateAuthority> = OnceLock::new();
    CA.get_or_init(|| {
        CertificateAuthority::generate(
            &CaConfig::default(),
            time::OffsetDateTime::now_utc(),
            &mut rand::rng(),
        )
        .unwrap()
    })
}

/// How [`FakeServer::enrollment`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// As a correct server.
    Normal,
    /// Certifies a key that is not the one in the CSR.
    ForeignKey,
    /// Provisions another CA as Root than the one that signed the device certificate.
    ForeignRoot,
}

/// Rewrites a response in flight.
pub type Alteration = Box<dyn Fn(&HttpRequest, &mut HttpResponse) + Send + Sync>;

/// An enrollment server in memory: Discovery, STS, Policy and Enrollment endpoints.
pub struct FakeServer {
    /// Policies allowed, in preference order.
    pub allowed: Vec<AuthPolicy>,
    /// Every request received.
    pub requests: Mutex<Vec<HttpRequest>>,
    /// Tokens issued by the STS.
    tokens: Mutex<Vec<String>>,
    /// Applied to every response.
    pub alter: Mutex<Option<Alteration>>,
}

impl FakeServer {
    pub fn new(allowed: &[AuthPolicy]) -> Arc<FakeServer> {
        Arc::new(FakeServer {
            allowed: allowed.to_vec(),
            requests: Mutex::new(Vec::new()),
            tokens: Mutex::new(Vec::new()),
            alter: Mutex::new(None),
        })
    }

    pub fn set_alteration(&self, alter: Alteration) {
        *self.alter.lock().unwrap() = Some(alter);
    }

    /// The bodies of the POSTs to a path, as text.
    pub fn posted_to(&self, path: &str) -> Vec<HttpRequest> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == Method::Post && r.url.contains(path))
            .cloned()
            .collect()
    }

    fn handle(&self, request: &HttpRequest) -> HttpResponse {
        let url = reqwest::Url::parse(&request.url).unwrap();
        let body = &request.body;
        match (request.method, url.path()) {
            (Method::Get, "/EnrollmentServer/Discovery.svc") => respond(200, "text/html", ""),
            (Method::Post, "/EnrollmentServer/Discovery.svc") => self.discover(body),
            (Method::Get, "/EnrollmentServer/Sts") => {
                match StsQuery::parse(url.query().unwrap_or("")) {
                    Ok(q) => html(200, &page(&q.appru, q.login_hint.as_deref(), None)),
                    Err(e) => html(400, &format!("<p class=\"error\">{e}</p>")),
                }
            }
            (Method::Post, "/EnrollmentServer/Sts") => self.sign_in(body),
            (Method::Post, "/EnrollmentServer/Policy.svc") => self.policies(body),
            (Method::Post, "/EnrollmentServer/Enrollment.svc") => {
                self.enrollment(body, Variant::Normal)
            }
            _ => respond(404, "text/plain", "not found"),
        }
    }

    fn discover(&self, body: &[u8]) -> HttpResponse {
        let request = match DiscoverRequest::parse(body) {
            Ok(r) => r,
            Err(e) => return fault(None, FaultContext::Other, &e.fault("t")),
        };
        let config = DiscoveryConfig {
            enrollment_policy_service_url: format!("{BASE}/EnrollmentServer/Policy.svc"),
            enrollment_service_url: format!("{BASE}/EnrollmentServer/Enrollment.svc"),
            authentication_service_url: Some(format!("{BASE}/EnrollmentServer/Sts")),
            allowed_auth_policies: self.allowed.clone(),
            max_enrollment_version: EnrollmentVersion::V4_0,
        };
        let id = &request.header.message_id;
        match negotiate_discovery(&request, &config) {
            Ok(result) => soap(build_discover_response(&ReplyTo::to(id), &result)),
            Err(e) => fault(Some(id), FaultContext::Other, &e.fault("t")),
        }
    }

    fn sign_in(&self, body: &[u8]) -> HttpResponse {
        let form = match SignInForm::parse(std::str::from_utf8(body).unwrap()) {
            Ok(f) => f,
            Err(e) => return html(400, &format!("<p class=\"error\">{e}</p>")),
        };
        if form.username != USER || form.password != PASSWORD {
            let again = page(
                &form.appru,
                Some(&form.username),
                Some("The user name or password is incorrect."),
            );
            return html(401, &again);
        }
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        let token = sts::StsToken::from_random(bytes);
        self.tokens.lock().unwrap().push(token.as_str().to_owned());
        html(200, &auto_post_page(&form.appru, token.as_str()))
    }

    fn check(&self, security: &SecurityToken) -> Result<(), Fault> {
        let ok = match security {
            SecurityToken::Federated(token) => token
                .sts_token()
                .is_ok_and(|t| self.tokens.lock().unwrap().iter().any(|k| k == t.as_str())),
            SecurityToken::UsernamePassword { username, password } => {
                username == USER && password.expose() == PASSWORD
            }
            SecurityToken::None => false,
        };
        if ok {
            Ok(())
        } else {
            Err(Fault::new(
                FaultSubcode::Authentication,
                "User not recognized",
            ))
        }
    }

    fn policies(&self, body: &[u8]) -> HttpResponse {
        let request = match GetPoliciesRequest::parse(body) {
            Ok(r) => r,
            Err(e) => return fault(None, FaultContext::Other, &e.fault("t")),
        };
        let id = &request.header.message_id;
        if let Err(f) = self.check(&request.security) {
            return fault(Some(id), FaultContext::Other, &f);
        }
        soap(build_get_policies_response(
            &ReplyTo::to(id),
            &PolicyConfig::default(),
        ))
    }

    /// Answers an RST like [`FakeServer::send`], but with a broken certificate set.
    pub fn enrollment(&self, body: &[u8], variant: Variant) -> HttpResponse {
        let context = FaultContext::RequestSecurityToken;
        let request = match RstRequest::parse(body) {
            Ok(r) => r,
            Err(e) => return fault(None, context, &e.fault("t")),
        };
        let id = &request.header.message_id;
        if let Err(f) = self.check(&request.security) {
            return fault(Some(id), context, &f);
        }
        let now = time::OffsetDateTime::now_utc();
        let mut csr = VerifiedCsr::from_der(request.certificate_request.der()).unwrap();
        if variant == Variant::ForeignKey {
            let other = casement_ca::windows_like_csr("OTHER", &mut rand::rng()).unwrap();
            csr = VerifiedCsr::from_der(&other.csr_der).unwrap();
        }
        let root = if variant == Variant::ForeignRoot {
            other_ca()
        } else {
            ca()
        };
        let device_id = request
            .context
            .device_id()
            .or(csr.device_id_extension())
            .unwrap()
            .to_owned();
        let issued = ca()
            .issue_device_certificate(&csr, &device_id, now, &mut rand::rng())
            .unwrap();
        let cert = |der: &[u8], thumb: &str| {
            Certificate::new(der.to_vec(), thumb.parse().unwrap()).unwrap()
        };
        let platform = match request.platform() {
            Platform::Windows81 => PlatformProvisioning::Windows81(Windows81Provisioning {
                renewal_period: 363,
                oma_dm_retry: OmaDmRetry::default(),
                omadm_account_id: "037B1F0D3842015588E753CDE76EC724".into(),
            }),
            Platform::Windows10 => PlatformProvisioning::Windows10Plus(Windows10Provisioning {
                ent_dm_id: device_id.clone(),
                poll: PollSchedule::default(),
                robo_renewal: None,
            }),
        };
        let input = ProvisioningInput {
            root_ca: cert(root.certificate_der(), root.sha1_thumbprint()),
            intermediate_cas: vec![],
            device_cert: cert(&issued.der, &issued.sha1_thumbprint),
            device_cert_subject_cn: device_id.clone(),
            provider_id: "Casement".parse().unwrap(),
            name: "Casement test".into(),
            addr: format!("{BASE}/ManagementServer/MDM.svc").parse().unwrap(),
            server_list: None,
            ssp_hyperlink: None,
            crl_check: None,
            connection: ConnectionRetry::default(),
            app_auth: AppAuth {
                client_secret: "dummy".into(),
                client_nonce: "bm9uY2U=".into(),
                server_name: "dummy".into(),
                server_secret: "dummy".into(),
                server_nonce: "bm9uY2U=".into(),
            },
            device_name: request.context.device_name().map(str::to_owned),
            platform,
        };
        let doc = build_provisioning_doc(&input).unwrap();
        soap(build_rstrc(&ReplyTo::to(id), request.platform(), &doc, now))
    }
}

impl Transport for FakeServer {
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>> + Send {
        self.requests.lock().unwrap().push(request.clone());
        let mut response = self.handle(&request);
        if let Some(alter) = self.alter.lock().unwrap().as_ref() {
            alter(&request, &mut response);
        }
        async move { Ok(response) }
    }
}

/// Lets tests pass `&Arc<FakeServer>` where a transport is expected.
pub struct Shared(pub Arc<FakeServer>);

impl Transport for Shared {
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, TransportError>> + Send {
        self.0.send(request)
    }
}

fn page(appru: &Appru, hint: Option<&str>, error: Option<&str>) -> String {
    sign_in_page(&SignInPage {
        form_action: "/EnrollmentServer/Sts",
        appru,
        login_hint: hint,
        error,
        service_name: "Casement test",
        csrf_token: Some("csrf-1"),
    })
}

pub fn respond(status: u16, content_type: &str, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        url: String::new(),
        headers: vec![
            ("content-type".into(), content_type.into()),
            ("content-length".into(), body.len().to_string()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

fn html(status: u16, body: &str) -> HttpResponse {
    let mut r = respond(status, HTML_CONTENT_TYPE, body);
    r.url = format!("{BASE}/EnrollmentServer/Sts?appru=x");
    r
}

fn soap(message: SoapMessage) -> HttpResponse {
    respond(200, message.content_type(), message.as_str())
}

fn fault(id: Option<&MessageId>, context: FaultContext, f: &Fault) -> HttpResponse {
    let reply = ReplyTo {
        relates_to: id,
        activity_id: None,
    };
    let message = build_fault(&reply, context, f);
    respond(500, message.content_type(), message.as_str())
}
