//! The Windows MDM enrollment protocol core of Casement: MS-MDE (Windows 8.1) and MS-MDE2
//! (Windows 10/11).
//!
//! Pure protocol code: no I/O, no clock (time is a parameter), no randomness (random values
//! such as token ids and activity ids are parameters). The HTTP layer:
//!
//! 1. `GET /EnrollmentServer/Discovery.svc` → 200, empty body.
//! 2. `POST` Discovery → [`DiscoverRequest::parse`] → [`negotiate_discovery`] →
//!    [`build_discover_response`].
//! 3. Federated only: the STS pages of [`sts`] ([`StsQuery`], [`sign_in_page`],
//!    [`SignInForm`], [`auto_post_page`]).
//! 4. GetPolicies → [`GetPoliciesRequest::parse`] → check [`SecurityToken`] →
//!    [`build_get_policies_response`].
//! 5. RequestSecurityToken → [`RstRequest::parse`] → check the credential, hand
//!    [`RstRequest::certificate_request`] to the CA → [`build_provisioning_doc`] (or
//!    [`build_renewal_provisioning_doc`]) → [`build_rstrc`].
//!
//! Any error becomes a SOAP fault with [`EnrollError::fault`] + [`build_fault`]. Every response
//! is a [`SoapMessage`] whose [`SoapMessage::content_type`] is [`SOAP_CONTENT_TYPE`]; send it
//! with a `Content-Length` (Windows refuses chunked enrollment responses).
//! [`EnrollRequest::parse`] dispatches on the WS-Addressing Action when policy and enrollment
//! share one URL.
//!
//! ```
//! use casement_enroll::*;
//!
//! let body = include_bytes!("../testdata/win10/01-discover-request.xml");
//! let request = DiscoverRequest::parse(body)?;
//! let config = DiscoveryConfig {
//!     enrollment_policy_service_url: "https://mdm.example/EnrollmentServer/Policy.svc".into(),
//!     enrollment_service_url: "https://mdm.example/EnrollmentServer/Enrollment.svc".into(),
//!     authentication_service_url: None,
//!     allowed_auth_policies: vec![AuthPolicy::OnPremise],
//!     max_enrollment_version: EnrollmentVersion::V4_0,
//! };
//! let reply = match negotiate_discovery(&request, &config) {
//!     Ok(result) => build_discover_response(&ReplyTo::to(&request.header.message_id), &result),
//!     Err(e) => build_fault(&ReplyTo::to(&request.header.message_id), FaultContext::Other, &e.fault("trace-id")),
//! };
//! assert_eq!(reply.content_type(), "application/soap+xml; charset=utf-8");
//! assert!(reply.as_str().contains("<EnrollmentVersion>4.0</EnrollmentVersion>"));
//! # Ok::<(), EnrollError>(())
//! ```

mod discovery;
mod error;
mod fault;
mod platform;
mod policies;
mod provisioning;
mod security;
mod soap;
pub mod sts;
mod wstep;

pub use discovery::{
    DiscoverProtocol, DiscoverRequest, DiscoverResult, DiscoveryConfig, Mde2Discover,
    build_discover_response, negotiate_discovery,
};
pub use error::EnrollError;
pub use fault::{Fault, FaultContext, FaultDetail, FaultErrorType, FaultSubcode, build_fault};
pub use platform::{AuthPolicy, DeviceType, EnrollmentVersion, Platform};
pub use policies::{GetPoliciesRequest, HashAlgorithm, PolicyConfig, build_get_policies_response};
pub use provisioning::{
    AppAuth, Certificate, ConnectionRetry, DEFAULT_ENCODING, ManagementUrl, OmaDmRetry,
    PlatformProvisioning, PollSchedule, ProviderId, ProvisioningDoc, ProvisioningInput,
    RoboRenewal, Thumbprint, W7_ROLE, Windows10Provisioning, Windows81Provisioning,
    build_provisioning_doc, build_renewal_provisioning_doc,
};
pub use security::{
    BASE64_ENCODING_TYPE, FederatedToken, PASSWORD_TEXT_TYPE, Password, SecurityToken,
    USER_TOKEN_VALUE_TYPE,
};
pub use soap::{
    Limits, MessageId, ReplyTo, SOAP_CONTENT_TYPE, SoapHeader, SoapMessage, action, ns,
};
pub use sts::{
    Appru, HTML_CONTENT_TYPE, SignInForm, SignInPage, StsQuery, StsToken, auto_post_page,
    sign_in_page,
};
pub use wstep::{
    AdditionalContext, CertificateRequest, REQUEST_TYPE_ISSUE, REQUEST_TYPE_RENEW, RequestType,
    RstKind, RstRequest, TIMESTAMP_LIFETIME, TOKEN_TYPE_DEVICE_ENROLLMENT, TOKEN_TYPE_ON_BEHALF_OF,
    TokenType, VALUE_TYPE_PKCS7, VALUE_TYPE_PKCS10, VALUE_TYPE_PROVISION_DOC, build_rstrc,
};

/// Any enrollment request, recognised by its WS-Addressing Action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollRequest {
    /// `…/IDiscoveryService/Discover`.
    Discover(DiscoverRequest),
    /// `…/IPolicy/GetPolicies`.
    GetPolicies(GetPoliciesRequest),
    /// `…/RST/wstep`.
    RequestSecurityToken(RstRequest),
}

impl EnrollRequest {
    /// Parses any enrollment request with the default [`Limits`].
    pub fn parse(body: &[u8]) -> Result<EnrollRequest, EnrollError> {
        EnrollRequest::parse_with(body, &Limits::default())
    }

    /// Parses any enrollment request; an unknown Action is [`EnrollError::WrongAction`].
    pub fn parse_with(body: &[u8], limits: &Limits) -> Result<EnrollRequest, EnrollError> {
        let doc = soap::parse_document(body, limits)?;
        let env = soap::Envelope::read(&doc)?;
        match env.header.action.as_str() {
            action::DISCOVER => DiscoverRequest::from_envelope(&env).map(EnrollRequest::Discover),
            action::GET_POLICIES => {
                GetPoliciesRequest::from_envelope(&env).map(EnrollRequest::GetPolicies)
            }
            action::RST => RstRequest::from_envelope(&env).map(EnrollRequest::RequestSecurityToken),
            other => Err(EnrollError::WrongAction {
                expected: "Discover, GetPolicies or RST/wstep",
                found: error::clip(other),
            }),
        }
    }

    /// The request's header (MessageID for the reply).
    pub fn header(&self) -> &SoapHeader {
        match self {
            EnrollRequest::Discover(r) => &r.header,
            EnrollRequest::GetPolicies(r) => &r.header,
            EnrollRequest::RequestSecurityToken(r) => &r.header,
        }
    }

    /// The fault context of a reply to this request.
    pub fn fault_context(&self) -> FaultContext {
        match self {
            EnrollRequest::RequestSecurityToken(_) => FaultContext::RequestSecurityToken,
            _ => FaultContext::Other,
        }
    }
}
