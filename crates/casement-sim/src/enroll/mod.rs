//! The device side of enrollment: what a Windows 8.1 (MS-MDE) or Windows 10/11 (MS-MDE2)
//! device does from "Connect to work" to an installed client certificate.
//!
//! ```text
//!  GET  Discovery.svc ──200──▶ POST Discover ──▶ DiscoverResponse
//!                                                   │ AuthPolicy
//!                          ┌────────────────────────┴──────────────┐
//!                     Federated                               OnPremise
//!        GET  AuthenticationServiceUrl?appru&login_hint             │
//!        POST sign-in form ──▶ auto-post form (wresult)             │
//!                          └──────────── credential ───────────────┘
//!  POST GetPolicies (credential) ──▶ policySchema 3, key length
//!  key + CSR (casement_ca::windows_like_csr)
//!  POST RequestSecurityToken (credential, CSR, AdditionalContext) ──▶ RSTRC
//!  provisioning document: roots, device certificate (our key?), w7 ADDR, PROVIDER-ID
//!                                                   ▼
//!                                           EnrolledDevice
//! ```
//!
//! [`enroll`] runs it over HTTPS; [`enroll_with`] over any [`Transport`] (the integration tests
//! use an in-memory server). Requests: [`requests`]; response parsers: [`responses`]; the
//! sign-in pages: [`sts`].

mod device;
mod error;
pub mod requests;
pub mod responses;
pub mod sts;

use std::path::PathBuf;
use std::time::Duration;

use casement_enroll::{AuthPolicy, SOAP_CONTENT_TYPE};
use time::OffsetDateTime;
use uuid::Uuid;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::{FromDer, X509Certificate};

pub use device::{AuthMode, Hardware, WindowsRelease, random_device_id, random_device_name};
pub use error::{EnrollError, Step};

use crate::http::{DEFAULT_TIMEOUT, HttpRequest, ReqwestTransport, Transport};
use crate::state::{EnrolledDevice, der_to_pem};
use requests::{Credential, SoapRequest};
use responses::{ProvisioningDocument, ResponseError};

/// Everything [`enroll`] needs. `Debug` redacts the password.
#[derive(Clone)]
pub struct EnrollOptions {
    /// The discovery URL, e.g. `https://127.0.0.1:8443/EnrollmentServer/Discovery.svc`
    /// (a real device derives `https://EnterpriseEnrollment.<domain>/…` from the e-mail).
    pub discovery_url: String,
    /// The e-mail address / UPN the user types.
    pub upn: String,
    /// The user's password (OnPremise token or sign-in form).
    pub password: String,
    /// The Windows version.
    pub platform: WindowsRelease,
    /// The authentication to use or require.
    pub auth: AuthMode,
    /// The MDM device id (`DeviceID`, also in the CSR).
    pub device_id: String,
    /// The computer name (`DeviceName`).
    pub device_name: String,
    /// Hardware description.
    pub hardware: Hardware,
    /// PEM certificate(s) to trust for the server's TLS certificate (Casement's self-signed
    /// `tls.pem`); `None` uses the platform's trust store.
    pub server_tls_pem: Option<String>,
    /// Where [`enroll`] saves the enrolled device ([`EnrolledDevice::save`]); `None` saves
    /// nothing.
    pub state_dir: Option<PathBuf>,
    /// Timeout of each HTTP request.
    pub timeout: Duration,
    /// An RSA key (PEM) to sign the CSR with instead of generating one: for load tests, so that
    /// enrollment throughput measures the server, not key generation. `None`, as a real device.
    pub key_pem: Option<String>,
}

impl EnrollOptions {
    /// Options for a new random device of `platform` ([`random_device_id`],
    /// [`random_device_name`], [`Hardware::random`]), [`AuthMode::Any`], platform trust store,
    /// no state directory, [`DEFAULT_TIMEOUT`].
    pub fn new(
        discovery_url: impl Into<String>,
        upn: impl Into<String>,
        password: impl Into<String>,
        platform: WindowsRelease,
    ) -> EnrollOptions {
        let rng = &mut rand::rng();
        EnrollOptions {
            discovery_url: discovery_url.into(),
            upn: upn.into(),
            password: password.into(),
            platform,
            auth: AuthMode::Any,
            device_id: random_device_id(rng),
            device_name: random_device_name(platform, rng),
            hardware: Hardware::random(platform, rng),
            server_tls_pem: None,
            state_dir: None,
            timeout: DEFAULT_TIMEOUT,
            key_pem: None,
        }
    }
}

impl std::fmt::Debug for EnrollOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollOptions")
            .field("discovery_url", &self.discovery_url)
            .field("upn", &self.upn)
            .field("password", &"<redacted>")
            .field("platform", &self.platform)
            .field("auth", &self.auth)
            .field("device_id", &self.device_id)
            .field("device_name", &self.device_name)
            .field("hardware", &self.hardware)
            .field(
                "server_tls_pem",
                &self.server_tls_pem.as_ref().map(|_| "<pem>"),
            )
            .field("state_dir", &self.state_dir)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Enrolls a device over HTTPS and, when [`EnrollOptions::state_dir`] is set, saves it there.
pub async fn enroll(options: &EnrollOptions) -> Result<EnrolledDevice, EnrollError> {
    let transport = ReqwestTransport::new(options.server_tls_pem.as_deref(), options.timeout)?;
    let device = enroll_with(&transport, options).await?;
    if let Some(dir) = &options.state_dir {
        device.save(dir)?;
    }
    Ok(device)
}

/// Enrolls a device through `transport` (nothing is saved). See the module documentation for
/// the steps; each failure names its [`Step`].
pub async fn enroll_with<T: Transport>(
    transport: &T,
    options: &EnrollOptions,
) -> Result<EnrolledDevice, EnrollError> {
    check_options(options)?;
    let platform = options.platform;

    // 1. The endpoint exists (MS-MDE §1.3 step 3): 200, body ignored.
    let probe = HttpRequest::get(&options.discovery_url)
        .header("User-Agent", platform.user_agent())
        .header("Cache-Control", "no-cache")
        .header("Pragma", "no-cache");
    let probe = transport
        .send(probe)
        .await
        .map_err(|source| EnrollError::Transport {
            step: Step::DiscoveryProbe,
            source,
        })?;
    if probe.status != 200 {
        return Err(EnrollError::HttpStatus {
            step: Step::DiscoveryProbe,
            status: probe.status,
            url: options.discovery_url.clone(),
        });
    }

    // 2. Discover.
    let step = Step::Discover;
    let request = requests::discover(
        &options.discovery_url,
        Uuid::new_v4(),
        &options.upn,
        platform,
        &options.hardware,
    );
    let (status, xml) =
        post_soap(transport, step, &options.discovery_url, platform, &request).await?;
    let discovered = answer(
        step,
        status,
        &options.discovery_url,
        responses::parse_discover_response(&xml),
    )?;
    check_relates_to(step, discovered.relates_to.as_deref(), &request.message_id)?;
    let policy = accept_policy(options, discovered.auth_policy)?;

    // 3. The credential (Federated: the STS sign-in).
    let credential = match policy {
        AuthPolicy::Federated => {
            let url = discovered
                .authentication_service_url
                .as_deref()
                .ok_or_else(|| EnrollError::Response {
                    step,
                    status,
                    source: ResponseError::Missing(
                        "DiscoverResult/AuthenticationServiceUrl (required for Federated)",
                    ),
                })?;
            let token = sts::sign_in(transport, platform, url, &options.upn, &options.password);
            Credential::Federated {
                token: token.await?,
            }
        }
        _ => Credential::OnPremise {
            username: options.upn.clone(),
            password: options.password.clone(),
        },
    };

    // 4. GetPolicies.
    let step = Step::GetPolicies;
    let url = &discovered.enrollment_policy_service_url;
    let request = requests::get_policies(url, Uuid::new_v4(), &credential);
    let (status, xml) = post_soap(transport, step, url, platform, &request).await?;
    let policies = answer(
        step,
        status,
        url,
        responses::parse_get_policies_response(&xml),
    )?;
    check_relates_to(step, policies.relates_to.as_deref(), &request.message_id)?;
    if policies.policy_schema != 3 {
        return Err(EnrollError::Policy {
            reason: format!("policySchema is {}, MUST be 3", policies.policy_schema),
        });
    }
    if let Some(bits) = policies.minimal_key_length.filter(|b| *b > 2048) {
        return Err(EnrollError::Policy {
            reason: format!("minimalKeyLength {bits}: the simulator makes RSA-2048 keys"),
        });
    }

    // 5. Key, CSR and RequestSecurityToken.
    let step = Step::RequestSecurityToken;
    let csr = match &options.key_pem {
        Some(key) => {
            casement_ca::windows_like_csr_with_key(&options.device_id, key, &mut rand::rng())
        }
        None => casement_ca::windows_like_csr(&options.device_id, &mut rand::rng()),
    }
    .map_err(EnrollError::Csr)?;
    let context = requests::additional_context(
        platform,
        &options.device_id,
        &options.device_name,
        &options.hardware,
        discovered.enrollment_version,
    );
    let url = &discovered.enrollment_service_url;
    let request =
        requests::request_security_token(url, Uuid::new_v4(), &credential, &csr.csr_der, &context);
    let (status, xml) = post_soap(transport, step, url, platform, &request).await?;
    let rstrc = answer(step, status, url, responses::parse_rstrc(&xml))?;
    check_relates_to(step, rstrc.relates_to.as_deref(), &request.message_id)?;
    let doc = rstrc.provisioning;
    verify_certificates(&doc, &csr.csr_der)?;

    let ca_certificates_pem = doc
        .root_certificates
        .iter()
        .chain(&doc.intermediate_certificates)
        .map(|c| der_to_pem(&c.der))
        .collect();
    Ok(EnrolledDevice {
        device_id: options.device_id.clone(),
        device_name: options.device_name.clone(),
        platform,
        upn: options.upn.clone(),
        auth_policy: policy.as_str().to_owned(),
        enrollment_version: discovered.enrollment_version.map(|v| v.to_string()),
        hardware: options.hardware.clone(),
        management_url: doc.w7.addr.clone(),
        provider_id: doc.w7.provider_id.clone(),
        certificate_thumbprint: doc.device_certificate.thumbprint.to_ascii_uppercase(),
        poll: doc.dm_client.as_ref().map(|d| d.poll.clone()),
        enrolled_at: OffsetDateTime::now_utc(),
        private_key_pem: csr.private_key_pem,
        certificate_pem: der_to_pem(&doc.device_certificate.der),
        ca_certificates_pem,
    })
}

fn check_options(options: &EnrollOptions) -> Result<(), EnrollError> {
    let invalid = |field, reason: &str| {
        Err(EnrollError::InvalidOptions {
            field,
            reason: reason.to_owned(),
        })
    };
    match reqwest::Url::parse(&options.discovery_url) {
        Ok(url) if url.scheme() == "https" => {}
        Ok(_) => return invalid("discovery_url", "must be an https:// URL"),
        Err(e) => return invalid("discovery_url", &e.to_string()),
    }
    if options.upn.trim().is_empty() {
        return invalid("upn", "empty");
    }
    let id = &options.device_id;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return invalid(
            "device_id",
            "need 1 to 64 printable ASCII characters without spaces",
        );
    }
    if options.device_name.trim().is_empty() {
        return invalid("device_name", "empty");
    }
    if options.platform == WindowsRelease::Windows81 && options.auth == AuthMode::OnPremise {
        return invalid("auth", "Windows 8.1 (MS-MDE) only enrolls Federated");
    }
    Ok(())
}

/// POSTs a SOAP request; returns the status and the body once it is known to be a SOAP answer
/// sent with a Content-Length.
async fn post_soap<T: Transport>(
    transport: &T,
    step: Step,
    url: &str,
    platform: WindowsRelease,
    request: &SoapRequest,
) -> Result<(u16, String), EnrollError> {
    let http = HttpRequest::post(url, SOAP_CONTENT_TYPE, request.xml.clone().into_bytes())
        .header("User-Agent", platform.user_agent());
    let response = transport
        .send(http)
        .await
        .map_err(|source| EnrollError::Transport { step, source })?;
    if response.media_type().as_deref() != Some("application/soap+xml") {
        let body = String::from_utf8_lossy(&response.body);
        return Err(EnrollError::NotSoap {
            step,
            status: response.status,
            content_type: response.header("content-type").map(str::to_owned),
            body_start: body.chars().take(200).collect(),
        });
    }
    if !response.has_content_length() {
        return Err(EnrollError::Chunked { step });
    }
    let status = response.status;
    let text = String::from_utf8(response.body).map_err(|_| EnrollError::Response {
        step,
        status,
        source: ResponseError::NotXml("body is not UTF-8".into()),
    })?;
    Ok((status, text))
}

/// Turns a parse result into the step's result: a fault becomes [`EnrollError::Fault`]; a
/// parsed answer must come with HTTP 200.
fn answer<R>(
    step: Step,
    status: u16,
    url: &str,
    parsed: Result<R, ResponseError>,
) -> Result<R, EnrollError> {
    match parsed {
        Ok(_) if status != 200 => Err(EnrollError::HttpStatus {
            step,
            status,
            url: url.to_owned(),
        }),
        Ok(value) => Ok(value),
        Err(ResponseError::Fault(fault)) => Err(EnrollError::Fault { step, fault }),
        Err(source) => Err(EnrollError::Response {
            step,
            status,
            source,
        }),
    }
}

/// A missing `a:RelatesTo` is tolerated; a different one is an error.
fn check_relates_to(step: Step, found: Option<&str>, sent: &str) -> Result<(), EnrollError> {
    match found {
        Some(found) if found.trim() != sent => Err(EnrollError::RelatesTo {
            step,
            expected: sent.to_owned(),
            found: found.to_owned(),
        }),
        _ => Ok(()),
    }
}

fn accept_policy(options: &EnrollOptions, chosen: AuthPolicy) -> Result<AuthPolicy, EnrollError> {
    let refuse = |reason: &str| {
        Err(EnrollError::AuthPolicy {
            chosen,
            reason: reason.to_owned(),
        })
    };
    if options.platform == WindowsRelease::Windows81 && chosen != AuthPolicy::Federated {
        return refuse("Windows 8.1 (MS-MDE) only supports Federated");
    }
    match (options.auth, chosen) {
        (_, AuthPolicy::Certificate) => refuse("the simulator does not enroll with a certificate"),
        (AuthMode::Federated, AuthPolicy::OnPremise) => refuse("the options require Federated"),
        (AuthMode::OnPremise, AuthPolicy::Federated) => refuse("the options require OnPremise"),
        _ => Ok(chosen),
    }
}

/// The device certificate must certify our key, be signed by a provisioned root or
/// intermediate, and every CertificateStore node must be named by its SHA-1 thumbprint.
fn verify_certificates(doc: &ProvisioningDocument, csr_der: &[u8]) -> Result<(), EnrollError> {
    let fail = |reason: String| EnrollError::Certificate { reason };
    doc.verify_thumbprints().map_err(|e| fail(e.to_string()))?;
    let (_, device) = X509Certificate::from_der(&doc.device_certificate.der)
        .map_err(|e| fail(format!("device certificate is not X.509: {e}")))?;
    let (_, csr) = X509CertificationRequest::from_der(csr_der)
        .map_err(|e| fail(format!("our own CSR does not parse: {e}")))?;
    if device.public_key().raw != csr.certification_request_info.subject_pki.raw {
        return Err(fail(
            "the device certificate does not certify the key we generated".into(),
        ));
    }
    let issuers = doc
        .root_certificates
        .iter()
        .chain(&doc.intermediate_certificates);
    for issuer in issuers {
        let Ok((_, issuer)) = X509Certificate::from_der(&issuer.der) else {
            continue;
        };
        if issuer.subject().as_raw() == device.issuer().as_raw()
            && device.verify_signature(Some(issuer.public_key())).is_ok()
        {
            return Ok(());
        }
    }
    Err(fail(
        "the device certificate is not signed by a provisioned Root or CA certificate".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_and_debug_redacts_the_password() {
        let mut o = EnrollOptions::new(
            "https://127.0.0.1:8443/EnrollmentServer/Discovery.svc",
            "ann@example.com",
            "hunter2",
            WindowsRelease::Windows81,
        );
        assert!(!format!("{o:?}").contains("hunter2"));
        check_options(&o).unwrap();
        o.auth = AuthMode::OnPremise;
        assert!(matches!(
            check_options(&o),
            Err(EnrollError::InvalidOptions { field: "auth", .. })
        ));
        o.auth = AuthMode::Any;
        o.discovery_url = "http://x/".into();
        assert!(check_options(&o).is_err());
    }

    #[test]
    fn policy_acceptance() {
        let mut o = EnrollOptions::new("https://x/", "u@x", "p", WindowsRelease::Windows10);
        assert!(accept_policy(&o, AuthPolicy::OnPremise).is_ok());
        assert!(accept_policy(&o, AuthPolicy::Certificate).is_err());
        o.auth = AuthMode::Federated;
        assert!(accept_policy(&o, AuthPolicy::OnPremise).is_err());
        o.platform = WindowsRelease::Windows81;
        o.auth = AuthMode::Any;
        assert!(accept_policy(&o, AuthPolicy::OnPremise).is_err());
        assert!(accept_policy(&o, AuthPolicy::Federated).is_ok());
    }
}
