//! The errors of the enrollment flow, grouped by who is at fault, each naming the [`Step`].

use casement_enroll::AuthPolicy;

use super::responses::{ResponseError, SoapFault};
use super::sts::StsError;
use crate::http::{ClientError, TransportError};
use crate::state::StateError;

/// The step of the flow an error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `GET` of the discovery URL.
    DiscoveryProbe,
    /// `POST` Discover.
    Discover,
    /// The STS sign-in (Federated).
    SignIn,
    /// `POST` GetPolicies.
    GetPolicies,
    /// `POST` RequestSecurityToken.
    RequestSecurityToken,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::DiscoveryProbe => "GET discovery",
            Step::Discover => "Discover",
            Step::SignIn => "sign-in",
            Step::GetPolicies => "GetPolicies",
            Step::RequestSecurityToken => "RequestSecurityToken",
        })
    }
}

/// Why an enrollment failed. Messages never contain the password or the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    // -------------------------------------------------------------------------------------
    // Ours: the options or the local machine.
    // -------------------------------------------------------------------------------------
    /// An option is unusable.
    #[error("invalid option {field}: {reason}")]
    InvalidOptions {
        /// Which option.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The HTTP client could not be built (bad trust PEM, …).
    #[error("{0}")]
    Client(#[from] ClientError),
    /// The key and CSR could not be generated.
    #[error("could not generate the device key and CSR: {0}")]
    Csr(#[source] casement_ca::CaError),
    /// The enrolled device could not be saved.
    #[error("{0}")]
    State(#[from] StateError),

    // -------------------------------------------------------------------------------------
    // The network.
    // -------------------------------------------------------------------------------------
    /// A request did not complete (connection, TLS, timeout).
    #[error("{step}: {source}")]
    Transport {
        /// Where.
        step: Step,
        /// What.
        #[source]
        source: TransportError,
    },

    // -------------------------------------------------------------------------------------
    // The server's answers.
    // -------------------------------------------------------------------------------------
    /// An HTTP status other than the one the protocol expects.
    #[error("{step}: HTTP {status} from {url}")]
    HttpStatus {
        /// Where.
        step: Step,
        /// The status received.
        status: u16,
        /// The URL requested.
        url: String,
    },
    /// The answer is not SOAP (`Content-Type` is not `application/soap+xml`).
    #[error(
        "{step}: expected a SOAP 1.2 answer (application/soap+xml), got HTTP {status} with Content-Type {content_type:?}: {body_start:?}"
    )]
    NotSoap {
        /// Where.
        step: Step,
        /// The status received.
        status: u16,
        /// The `Content-Type` received.
        content_type: Option<String>,
        /// The first 200 characters of the body.
        body_start: String,
    },
    /// The SOAP answer has no `Content-Length` (chunked), which Windows refuses.
    #[error(
        "{step}: the answer has no Content-Length (chunked transfer); Windows refuses chunked enrollment responses"
    )]
    Chunked {
        /// Where.
        step: Step,
    },
    /// The server answered a SOAP fault.
    #[error("{step}: SOAP fault {fault}")]
    Fault {
        /// Where.
        step: Step,
        /// The fault.
        fault: Box<SoapFault>,
    },
    /// The SOAP answer could not be used.
    #[error("{step}: invalid answer (HTTP {status}): {source}")]
    Response {
        /// Where.
        step: Step,
        /// The HTTP status.
        status: u16,
        /// What is wrong with it.
        #[source]
        source: ResponseError,
    },
    /// `a:RelatesTo` does not name the request.
    #[error("{step}: a:RelatesTo {found:?} does not match our MessageID {expected:?}")]
    RelatesTo {
        /// Where.
        step: Step,
        /// Our MessageID.
        expected: String,
        /// What came back.
        found: String,
    },
    /// Discovery chose an authentication policy this device cannot or was told not to use.
    #[error("Discover: the server chose AuthPolicy {chosen}, but {reason}")]
    AuthPolicy {
        /// The policy the server chose.
        chosen: AuthPolicy,
        /// Why it is not acceptable.
        reason: String,
    },
    /// The STS sign-in failed.
    #[error("sign-in: {0}")]
    SignIn(#[from] StsError),
    /// The certificate policy asks for something the device cannot do.
    #[error("GetPolicies: {reason}")]
    Policy {
        /// What.
        reason: String,
    },
    /// The provisioned certificates are not consistent (not our key, not issued by the
    /// provisioned root, wrong thumbprint).
    #[error("RequestSecurityToken: issued certificate: {reason}")]
    Certificate {
        /// What is wrong.
        reason: String,
    },
}

impl EnrollError {
    /// The SOAP fault, when the server answered one.
    pub fn fault(&self) -> Option<&SoapFault> {
        match self {
            EnrollError::Fault { fault, .. } => Some(fault),
            _ => None,
        }
    }
}
