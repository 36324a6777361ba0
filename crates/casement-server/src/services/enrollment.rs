//! Enrollment: discovery, the Federated sign-in (our STS), XCEP GetPolicies and WSTEP
//! RequestSecurityToken, for Windows 8.1 (MS-MDE) and Windows 10/11 (MS-MDE2).
//!
//! Every outcome is a SOAP message: a response, or an MS-MDE2 fault (never an HTTP 500 with a
//! stack). Internal failures are logged with a trace id and answered `InternalServiceFault`.

use casement_ca::{CaError, VerifiedDevice};
use casement_enroll::sts::{self, Appru, SignInForm, SignInPage, StsQuery, StsToken};
use casement_enroll::*;
use casement_store::{NewCertificate, NewDevice, Platform as StorePlatform, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::to_ms;
use crate::paths;
use crate::services::signin::SignInError;
use crate::services::users::authenticate;
use crate::state::AppState;

/// A SOAP reply and whether it is a fault (faults go out with HTTP 500, as SOAP 1.2 binds
/// `Receiver` faults, which is the code MS-MDE2 faults carry).
#[derive(Debug)]
pub struct SoapReply {
    /// The envelope.
    pub message: SoapMessage,
    /// True for a fault.
    pub is_fault: bool,
}

/// An HTML page from the STS with the HTTP status to send.
#[derive(Debug)]
pub struct StsPage {
    /// 200, 400 (bad query) or 401 (wrong credentials).
    pub status: u16,
    /// The page.
    pub html: String,
}

/// Handles a POST to the discovery endpoint.
pub async fn discover(state: &AppState, body: &[u8]) -> SoapReply {
    let request = match parse_off_runtime(body, DiscoverRequest::parse).await {
        Ok(r) => r,
        Err(e) => return peer_fault(None, FaultContext::Other, &e),
    };
    let config = DiscoveryConfig {
        enrollment_policy_service_url: state.config.url(paths::POLICY),
        enrollment_service_url: state.config.url(paths::ENROLLMENT),
        authentication_service_url: Some(state.config.url(paths::STS)),
        allowed_auth_policies: state.config.auth_policies.clone(),
        max_enrollment_version: EnrollmentVersion::V4_0,
    };
    let reply = ReplyTo::to(&request.header.message_id);
    match negotiate_discovery(&request, &config) {
        Ok(result) => {
            tracing::info!(email = request.email_address.as_deref().unwrap_or(""), platform = ?result.platform, policy = ?result.auth_policy, "discovery");
            SoapReply {
                message: build_discover_response(&reply, &result),
                is_fault: false,
            }
        }
        Err(e) => peer_fault(Some(&request.header.message_id), FaultContext::Other, &e),
    }
}

/// Handles XCEP GetPolicies: the credential must be good; the token is not consumed yet (the
/// RequestSecurityToken that follows presents it again).
///
/// `address` is the client's sign-in throttle key (`services::signin::address_key`).
pub async fn get_policies(state: &AppState, body: &[u8], address: &str) -> SoapReply {
    let request = match parse_off_runtime(body, GetPoliciesRequest::parse).await {
        Ok(r) => r,
        Err(e) => return peer_fault(None, FaultContext::Other, &e),
    };
    let id = &request.header.message_id;
    match authenticate_token(state, &request.security, false, address).await {
        Ok(_) => {}
        Err(failure) => return failure.reply(id, FaultContext::Other),
    }
    let config = PolicyConfig {
        validity_period_seconds: u64::from(state.config.device_cert_days) * 86_400,
        ..PolicyConfig::default()
    };
    SoapReply {
        message: build_get_policies_response(&ReplyTo::to(id), &config),
        is_fault: false,
    }
}

/// Handles WSTEP RequestSecurityToken: a new enrollment (Issue) or a renewal (Renew, with the
/// device's current certificate as the TLS client certificate).
pub async fn request_security_token(
    state: &AppState,
    body: &[u8],
    client_cert: Option<&[u8]>,
    address: &str,
) -> SoapReply {
    let request = match parse_off_runtime(body, RstRequest::parse).await {
        Ok(r) => r,
        Err(e) => return peer_fault(None, FaultContext::RequestSecurityToken, &e),
    };
    let id = request.header.message_id.clone();
    let result = match request.request_type {
        RequestType::Issue => issue(state, &request, address).await,
        RequestType::Renew => renew(state, &request, client_cert).await,
    };
    match result {
        Ok(message) => SoapReply {
            message,
            is_fault: false,
        },
        Err(failure) => failure.reply(&id, FaultContext::RequestSecurityToken),
    }
}

/// The sign-in page (`GET AuthenticationServiceUrl?appru=…&login_hint=…`).
pub fn sign_in(state: &AppState, query: &str) -> StsPage {
    match StsQuery::parse(query) {
        Ok(q) => StsPage {
            status: 200,
            html: sign_in_form(state, &q.appru, q.login_hint.as_deref(), None),
        },
        Err(e) => StsPage {
            status: 400,
            html: error_page(&e.to_string()),
        },
    }
}

/// The sign-in form's POST: on success the auto-posting form that hands `wresult` (a
/// single-use token bound to the user) back to the enrollment client (MS-MDE §3.2).
pub async fn sign_in_submit(state: &AppState, body: &str, address: &str) -> StsPage {
    let form = match SignInForm::parse(body) {
        Ok(f) => f,
        Err(e) => {
            return StsPage {
                status: 400,
                html: error_page(&e.to_string()),
            };
        }
    };
    let user = match authenticate(state, &form.username, &form.password, address).await {
        Ok(Some(user)) => user,
        Err(SignInError::Throttled {
            retry_after_seconds,
        }) => {
            let message = format!(
                "Too many failed sign-ins. Wait {retry_after_seconds} seconds, then try again."
            );
            let html = sign_in_form(state, &form.appru, Some(&form.username), Some(&message));
            return StsPage { status: 429, html };
        }
        Err(SignInError::Busy(_)) => {
            let message = "The server is busy. Try again in a few seconds.";
            let html = sign_in_form(state, &form.appru, Some(&form.username), Some(message));
            return StsPage { status: 429, html };
        }
        Ok(None) => {
            tracing::warn!(upn = %form.username, "STS sign-in refused: wrong user name or password");
            let html = sign_in_form(
                state,
                &form.appru,
                Some(&form.username),
                Some("The user name or password is incorrect."),
            );
            return StsPage { status: 401, html };
        }
        Err(e) => {
            tracing::error!(error = %e, "STS sign-in: storage unavailable");
            return StsPage {
                status: 503,
                html: error_page("The service is unavailable; try again later."),
            };
        }
    };
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = StsToken::from_random(bytes);
    let expires_at = state.clock.now_ms() + i64::from(state.config.sts_token_seconds) * 1000;
    if let Err(e) = state
        .store
        .put_sts_token(&token_hash(&token), &user.id, expires_at)
        .await
    {
        tracing::error!(error = %e, "STS: could not store token");
        return StsPage {
            status: 503,
            html: error_page("The service is unavailable; try again later."),
        };
    }
    tracing::info!(upn = %user.upn, "STS sign-in: token issued");
    StsPage {
        status: 200,
        html: sts::auto_post_page(&form.appru, token.as_str()),
    }
}

async fn issue(
    state: &AppState,
    request: &RstRequest,
    address: &str,
) -> Result<SoapMessage, Failure> {
    let user = authenticate_token(state, &request.security, true, address).await?;
    let user = match (request.kind, request.context.enrollment_on_behalf_of_user()) {
        (RstKind::OnBehalfOf, Some(upn)) => state
            .store
            .user_by_upn(upn)
            .await
            .map_err(Failure::internal)?
            .ok_or_else(|| {
                Failure::new(
                    FaultSubcode::Authorization,
                    "the user enrolled on behalf of is unknown",
                )
            })?,
        _ => user,
    };
    let platform = request.platform();
    let csr = match &request.certificate_request {
        CertificateRequest::Pkcs10(der) => {
            casement_ca::VerifiedCsr::from_der(der).map_err(Failure::ca)?
        }
        CertificateRequest::Pkcs7(_) => {
            return Err(Failure::new(
                FaultSubcode::CertificateRequest,
                "a new enrollment carries a PKCS#10 request",
            ));
        }
    };
    let device_id = device_id_for(request, &csr)?;
    let existing = state
        .store
        .device(&device_id)
        .await
        .map_err(Failure::internal)?;
    let re_enrollment = existing
        .as_ref()
        .is_some_and(|d| d.retired_at.is_none() && d.user_id == user.id);
    if !re_enrollment {
        let count = state
            .store
            .count_active_devices_of_user(&user.id)
            .await
            .map_err(Failure::internal)?;
        if count >= u64::from(state.config.max_devices_per_user) {
            tracing::warn!(upn = %user.upn, count, "enrollment refused: device limit");
            let detail = FaultDetail::new(
                FaultErrorType::DeviceCapReached,
                format!(
                    "{} has enrolled the most devices allowed ({})",
                    user.upn, state.config.max_devices_per_user
                ),
                uuid::Uuid::new_v4().to_string(),
            );
            return Err(Failure {
                fault: Fault::new(FaultSubcode::Authorization, "device limit reached")
                    .with_detail(detail),
            });
        }
    }
    if existing
        .as_ref()
        .is_some_and(|d| d.retired_at.is_none() && d.user_id != user.id)
    {
        return Err(Failure::new(
            FaultSubcode::Authorization,
            "this device is enrolled by another user",
        ));
    }
    let now = state.clock.now_utc();
    let issued = state
        .ca
        .issue_device_certificate(&csr, &device_id, now, &mut rand::rng())
        .map_err(Failure::ca)?;
    let doc = provisioning_doc(state, platform, &issued, request.context.device_name())?;
    let store_platform = match platform {
        casement_enroll::Platform::Windows81 => StorePlatform::Windows81,
        casement_enroll::Platform::Windows10Plus => StorePlatform::Windows10,
    };
    let device = NewDevice {
        id: device_id.clone(),
        platform: store_platform,
        user_id: user.id.clone(),
        upn: user.upn.clone(),
        user_sid: request.context.get("UserSID").map(str::to_owned),
        name: request.context.device_name().map(str::to_owned),
        enrollment_context: request
            .context
            .items()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        enrolled_at: to_ms(now),
    };
    // The device.enrolled event is written in the enrollment's own transaction.
    let event = crate::services::events::device_enrolled(
        state,
        &device_id,
        &user.upn,
        store_platform.as_str(),
    );
    state
        .store
        .record_enrollment_with_event(&device, &new_certificate(&issued, to_ms(now)), &event)
        .await
        .map_err(Failure::internal)?;
    tracing::info!(device = %device_id, upn = %user.upn, platform = store_platform.as_str(), serial = %issued.serial_hex, "device enrolled");
    let new_device = existing.as_ref().is_none_or(|d| d.retired_at.is_some());
    if new_device && state.config.auto_push_config && state.config.wns.is_some() {
        // A new device gets its push channel configured in its first Maintenance session.
        if let Err(e) = crate::services::commands::queue(
            state,
            &device_id,
            &casement_dm::catalog::CommandRequest::PushConfig,
            None,
            "system",
        )
        .await
        {
            tracing::warn!(device = %device_id, error = %e, "could not queue push configuration for a new device");
        }
    }
    Ok(build_rstrc(
        &ReplyTo::to(&request.header.message_id),
        platform,
        &doc,
        now,
    ))
}

async fn renew(
    state: &AppState,
    request: &RstRequest,
    client_cert: Option<&[u8]>,
) -> Result<SoapMessage, Failure> {
    let now = state.clock.now_utc();
    let Some(cert) = client_cert else {
        return Err(Failure::new(
            FaultSubcode::Authentication,
            "renewal needs the device's current certificate as TLS client certificate",
        ));
    };
    let tls_device = state.ca.verify_client_certificate(cert, now).map_err(|_| {
        Failure::new(
            FaultSubcode::Authentication,
            "the client certificate is not one this server issued, or has expired",
        )
    })?;
    check_active_certificate(state, &tls_device).await?;
    let csr = match &request.certificate_request {
        CertificateRequest::Pkcs7(der) => {
            let (wrapped, signer) = state
                .ca
                .verify_renewal_request(der, now)
                .map_err(Failure::ca)?;
            if signer.device_id() != tls_device.device_id() {
                return Err(Failure::new(
                    FaultSubcode::Authorization,
                    "the renewal request is signed by another device",
                ));
            }
            wrapped.into_csr()
        }
        CertificateRequest::Pkcs10(der) => {
            casement_ca::VerifiedCsr::from_der(der).map_err(Failure::ca)?
        }
    };
    let issued = state
        .ca
        .issue_device_certificate(&csr, tls_device.device_id(), now, &mut rand::rng())
        .map_err(Failure::ca)?;
    state
        .store
        .record_renewal(&new_certificate(&issued, to_ms(now)))
        .await
        .map_err(|e| match e {
            casement_store::StoreError::NotFound(_) => Failure {
                fault: Fault::new(FaultSubcode::Authorization, "device not enrolled").with_detail(
                    FaultDetail::new(
                        FaultErrorType::NotEligibleToRenew,
                        "the device is not enrolled",
                        uuid::Uuid::new_v4().to_string(),
                    ),
                ),
            },
            other => Failure::internal(other),
        })?;
    let cert = certificate(&issued.der, &issued.sha1_thumbprint)?;
    let doc = build_renewal_provisioning_doc(&cert);
    let platform = request.platform();
    tracing::info!(device = %tls_device.device_id(), serial = %issued.serial_hex, "certificate renewed");
    Ok(build_rstrc(
        &ReplyTo::to(&request.header.message_id),
        platform,
        &doc,
        now,
    ))
}

/// The certificate must be recorded, not revoked, and its device not retired.
async fn check_active_certificate(
    state: &AppState,
    device: &VerifiedDevice,
) -> Result<(), Failure> {
    let stored = state
        .store
        .certificate(&device.serial_hex().to_lowercase())
        .await
        .map_err(Failure::internal)?;
    match stored {
        Some(c) if c.revoked_at.is_none() && c.device_id == device.device_id() => Ok(()),
        _ => Err(Failure::new(
            FaultSubcode::Authorization,
            "the certificate is revoked or unknown",
        )),
    }
}

/// Authenticates the credential of a GetPolicies or RST request. A Federated token is checked
/// and, when `consume`, used up (it is single-use: replays are refused).
async fn authenticate_token(
    state: &AppState,
    security: &SecurityToken,
    consume: bool,
    address: &str,
) -> Result<User, Failure> {
    match security {
        SecurityToken::UsernamePassword { username, password } => {
            if !state.config.auth_policies.contains(&AuthPolicy::OnPremise) {
                return Err(Failure::new(
                    FaultSubcode::Authentication,
                    "OnPremise authentication is not offered",
                ));
            }
            match authenticate(state, username, password.expose(), address).await {
                Ok(Some(user)) => Ok(user),
                Err(SignInError::Throttled { .. }) => Err(Failure::new(
                    FaultSubcode::Authentication,
                    "too many failed sign-ins for this account or from this address; try again later",
                )),
                Err(SignInError::Busy(_)) => Err(Failure::new(
                    FaultSubcode::EnrollmentServer,
                    "the server is busy; try again in a few seconds",
                )),
                Err(e) => Err(Failure::internal(e)),
                Ok(None) => {
                    tracing::warn!(upn = %username, "enrollment refused: wrong user name or password");
                    Err(Failure::new(
                        FaultSubcode::Authentication,
                        "the user name or password is incorrect",
                    ))
                }
            }
        }
        SecurityToken::Federated(token) => {
            let token = token.sts_token().map_err(|_| {
                Failure::new(
                    FaultSubcode::Authentication,
                    "the sign-in token is not one this server issued",
                )
            })?;
            let hash = token_hash(&token);
            let now = state.clock.now_ms();
            let user_id = if consume {
                state.store.consume_sts_token(&hash, now).await
            } else {
                state.store.sts_token_user(&hash, now).await
            }
            .map_err(Failure::internal)?;
            let Some(user_id) = user_id else {
                tracing::warn!("enrollment refused: unknown, expired or used sign-in token");
                return Err(Failure::new(
                    FaultSubcode::Authentication,
                    "the sign-in token is unknown, expired or already used",
                ));
            };
            state
                .store
                .user_by_id(&user_id)
                .await
                .map_err(Failure::internal)?
                .ok_or_else(|| {
                    Failure::new(
                        FaultSubcode::Authentication,
                        "the signed-in user no longer exists",
                    )
                })
        }
        SecurityToken::None => Err(Failure::new(FaultSubcode::Authentication, "no credentials")),
    }
}

/// The device ID: the DeviceID context item (Windows 10/11), else the CSR's Microsoft DeviceID
/// extension, else a new random one (Windows 8.1 sends neither, as far as the public record
/// shows). Only characters Windows uses in device IDs are accepted.
fn device_id_for(request: &RstRequest, csr: &casement_ca::VerifiedCsr) -> Result<String, Failure> {
    let claimed = request
        .context
        .device_id()
        .or(csr.device_id_extension())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match claimed {
        Some(id)
            if id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '{' | '}' | '_')) =>
        {
            Ok(id.to_owned())
        }
        Some(id) => Err(Failure {
            fault: Fault::new(
                FaultSubcode::MessageFormat,
                format!(
                    "device ID {:?} is not acceptable",
                    id.chars().take(80).collect::<String>()
                ),
            )
            .with_detail(FaultDetail::new(
                FaultErrorType::InvalidEnrollmentData,
                "bad DeviceID",
                uuid::Uuid::new_v4().to_string(),
            )),
        }),
        None => {
            let mut bytes = [0u8; 16];
            rand::rng().fill_bytes(&mut bytes);
            Ok(hex::encode_upper(bytes))
        }
    }
}

fn provisioning_doc(
    state: &AppState,
    platform: casement_enroll::Platform,
    issued: &casement_ca::IssuedCertificate,
    device_name: Option<&str>,
) -> Result<ProvisioningDoc, Failure> {
    let root = certificate(state.ca.certificate_der(), state.ca.sha1_thumbprint())?;
    let device_cert = certificate(&issued.der, &issued.sha1_thumbprint)?;
    let provider_id = state
        .config
        .provider_id
        .parse::<ProviderId>()
        .map_err(Failure::internal)?;
    let addr = state
        .config
        .management_url()
        .parse::<ManagementUrl>()
        .map_err(Failure::internal)?;
    let mut secret = [0u8; 16];
    rand::rng().fill_bytes(&mut secret);
    let platform = match platform {
        casement_enroll::Platform::Windows81 => {
            PlatformProvisioning::Windows81(Windows81Provisioning {
                renewal_period: 363,
                oma_dm_retry: OmaDmRetry::default(),
                omadm_account_id: state.config.provider_id.clone(),
            })
        }
        casement_enroll::Platform::Windows10Plus => {
            PlatformProvisioning::Windows10Plus(Windows10Provisioning {
                ent_dm_id: issued.device_id.clone(),
                poll: PollSchedule::default(),
                robo_renewal: None,
            })
        }
    };
    let input = ProvisioningInput {
        root_ca: root,
        intermediate_cas: Vec::new(),
        device_cert,
        device_cert_subject_cn: issued.device_id.clone(),
        provider_id,
        name: state.config.provider_id.clone(),
        addr,
        server_list: None,
        ssp_hyperlink: None,
        crl_check: None,
        connection: ConnectionRetry::default(),
        // Application-level digest credentials: w7 requires both levels (MS-MDE2 §2.2.9.5);
        // devices authenticate with their TLS client certificate, so these are random.
        app_auth: AppAuth {
            client_secret: hex::encode(secret),
            client_nonce: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                secret,
            ),
            server_name: state.config.provider_id.clone(),
            server_secret: hex::encode(secret.iter().rev().copied().collect::<Vec<u8>>()),
            server_nonce: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                secret.iter().rev().copied().collect::<Vec<u8>>(),
            ),
        },
        device_name: device_name.map(str::to_owned),
        platform,
    };
    build_provisioning_doc(&input).map_err(Failure::internal)
}

fn certificate(der: &[u8], thumbprint_hex: &str) -> Result<casement_enroll::Certificate, Failure> {
    let thumbprint = thumbprint_hex
        .parse::<Thumbprint>()
        .map_err(Failure::internal)?;
    casement_enroll::Certificate::new(der.to_vec(), thumbprint).map_err(Failure::internal)
}

fn new_certificate(issued: &casement_ca::IssuedCertificate, now: i64) -> NewCertificate {
    NewCertificate {
        serial_hex: issued.serial_hex.to_lowercase(),
        device_id: issued.device_id.clone(),
        thumbprint: issued.sha1_thumbprint.clone(),
        not_before: to_ms(issued.not_before),
        not_after: to_ms(issued.not_after),
        pem: issued.pem.clone(),
        issued_at: now,
    }
}

/// SHA-256 of a token's text: the store never holds usable tokens.
fn token_hash(token: &StsToken) -> String {
    hex::encode(Sha256::digest(token.as_str().as_bytes()))
}

fn sign_in_form(
    state: &AppState,
    appru: &Appru,
    login_hint: Option<&str>,
    error: Option<&str>,
) -> String {
    sts::sign_in_page(&SignInPage {
        form_action: paths::STS,
        appru,
        login_hint,
        error,
        service_name: &state.config.provider_id,
        csrf_token: None,
    })
}

fn error_page(message: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign-in error</title></head><body><h1>Sign-in error</h1><p>{}</p></body></html>",
        sts::html_escape(message)
    )
}

/// A refusal on its way to becoming a SOAP fault.
#[derive(Debug)]
struct Failure {
    fault: Fault,
}

impl Failure {
    fn new(subcode: FaultSubcode, reason: impl Into<String>) -> Self {
        Self {
            fault: Fault::new(subcode, reason),
        }
    }

    /// Our own failure: logged with a trace id, answered without detail.
    fn internal(e: impl std::fmt::Display) -> Self {
        let trace = uuid::Uuid::new_v4().to_string();
        tracing::error!(trace_id = %trace, error = %e, "enrollment: internal failure");
        Self {
            fault: Fault::new(
                FaultSubcode::InternalServiceFault,
                format!("internal error (trace id {trace})"),
            ),
        }
    }

    /// A CA refusal: the peer's CSR or certificate is at fault, or we are.
    fn ca(e: CaError) -> Self {
        match e.fault() {
            casement_ca::Fault::Peer => Self::new(FaultSubcode::CertificateRequest, e.to_string()),
            _ => Self::internal(e),
        }
    }

    fn reply(self, relates_to: &MessageId, context: FaultContext) -> SoapReply {
        SoapReply {
            message: build_fault(&ReplyTo::to(relates_to), context, &self.fault),
            is_fault: true,
        }
    }
}

/// A fault for a request that failed to parse (the peer's fault, logged).
fn peer_fault(relates_to: Option<&MessageId>, context: FaultContext, e: &EnrollError) -> SoapReply {
    tracing::warn!(error = %e, "enrollment request refused");
    let reply = ReplyTo {
        relates_to,
        activity_id: None,
    };
    SoapReply {
        message: build_fault(&reply, context, &e.fault("")),
        is_fault: true,
    }
}

/// Requests larger than this are parsed on a blocking thread, not on the async workers (a real
/// request is under 5 KB and parses in microseconds; the parser's limit is 256 KiB).
const INLINE_PARSE_BYTES: usize = 16 * 1024;

/// Parses an enrollment request, off the async workers when it is large.
async fn parse_off_runtime<T: Send + 'static>(
    body: &[u8],
    parse: fn(&[u8]) -> Result<T, EnrollError>,
) -> Result<T, EnrollError> {
    if body.len() <= INLINE_PARSE_BYTES {
        return parse(body);
    }
    let owned = body.to_vec();
    tokio::task::spawn_blocking(move || parse(&owned))
        .await
        .unwrap_or_else(|e| {
            Err(EnrollError::NotXml {
                detail: format!("the parse did not finish: {e}"),
            })
        })
}
