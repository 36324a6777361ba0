//! The one error type of this crate, grouped by who is at fault.
//!
//! Every variant maps to an MS-MDE2 §2.2.10 SOAP fault through [`EnrollError::fault`], so the HTTP
//! layer never has to invent a fault code: peer errors become `MessageFormat` (or `InvalidSecurity`
//! for the WS-Security header), negotiation refusals become `DeviceNotSupported`-style details, and
//! errors that are our own fault become `InternalServiceFault` (their details are for the log, not
//! for the device).

use crate::fault::{Fault, FaultDetail, FaultErrorType, FaultSubcode};

/// Everything that can go wrong in this crate.
///
/// Messages are precise (element path, limit, position) so that a log line is enough to see what
/// the device sent. They never contain secrets (passwords, tokens, CSRs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    // ---------------------------------------------------------------------------------------
    // The peer's fault: hostile or malformed input.
    // ---------------------------------------------------------------------------------------
    /// The request body is larger than the configured limit (checked before anything else).
    #[error("request body is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Size of the body received.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The request carries a DOCTYPE or an entity declaration (XXE / billion-laughs vector).
    #[error("DOCTYPE and entity declarations are refused (found {found:?} at byte {offset})")]
    DtdForbidden {
        /// The markup found (`<!DOCTYPE` or `<!ENTITY`).
        found: &'static str,
        /// Byte offset in the body.
        offset: usize,
    },
    /// The request nests elements deeper than the limit.
    #[error("element nesting deeper than {limit} levels")]
    TooDeep {
        /// The limit in force.
        limit: usize,
    },
    /// The request has more XML nodes than the limit.
    #[error("more than {limit} XML nodes")]
    TooManyNodes {
        /// The limit in force.
        limit: u32,
    },
    /// An element, or the whole request, has more attributes than the limit (checked in one
    /// linear pass before parsing: checking duplicates costs the parser quadratic time).
    #[error("more than {limit} XML attributes {scope} (at byte {offset})")]
    TooManyAttributes {
        /// `"in one element"` or `"in the request"`.
        scope: &'static str,
        /// The limit in force.
        limit: usize,
        /// Where the attribute over the limit starts.
        offset: usize,
    },
    /// The body is not UTF-8 (the only encoding Windows sends: `charset=utf-8`).
    #[error("request body is not UTF-8 (invalid byte at {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The body is not well-formed (or not namespace-well-formed) XML.
    #[error("not well-formed XML: {detail}")]
    NotXml {
        /// The parser's message, with line and column.
        detail: String,
    },
    /// An element has the right local name but the wrong namespace, or the root is not a SOAP 1.2
    /// envelope.
    #[error("{element}: expected namespace {expected:?}, found {found:?}")]
    WrongNamespace {
        /// The element (local name) concerned.
        element: &'static str,
        /// The namespace URI we accept.
        expected: &'static str,
        /// The namespace URI found (empty if none).
        found: String,
    },
    /// The root element is not `Envelope`, or the body does not carry the expected operation.
    #[error("unexpected element {found:?} where {expected} was expected")]
    UnexpectedElement {
        /// What we expected (element path).
        expected: &'static str,
        /// `{namespace}local` of what we found.
        found: String,
    },
    /// A required element or attribute is missing.
    #[error("missing {path}")]
    Missing {
        /// Path of the missing element or attribute, e.g. `s:Header/a:MessageID`.
        path: &'static str,
    },
    /// The WS-Addressing Action does not name the operation this endpoint/parser handles.
    #[error("SOAP action {found:?} is not {expected:?}")]
    WrongAction {
        /// The action we expected (or a description of the set).
        expected: &'static str,
        /// The action found.
        found: String,
    },
    /// An element or attribute holds a value outside its enumeration or syntax.
    #[error("{path}: unexpected value {value:?}")]
    BadValue {
        /// Path of the element or attribute.
        path: &'static str,
        /// The offending value (truncated to 200 characters, never a secret).
        value: String,
    },
    /// Base64 content could not be decoded.
    #[error("{path}: invalid base64 ({detail})")]
    BadBase64 {
        /// Path of the element.
        path: &'static str,
        /// Decoder message.
        detail: String,
    },
    /// The WS-Security header is present but cannot be used (unknown token type, digest
    /// password, several tokens, empty token...). Maps to the `InvalidSecurity` subcode.
    #[error("WS-Security header: {reason}")]
    InvalidSecurity {
        /// What is wrong with it.
        reason: String,
    },

    // ---------------------------------------------------------------------------------------
    // Negotiation: the request is well-formed but asks for something this server will not do.
    // ---------------------------------------------------------------------------------------
    /// None of the authentication policies the client offers is allowed by the server.
    #[error(
        "no common authentication policy (client offers {offered:?}, server allows {allowed:?})"
    )]
    NoCommonAuthPolicy {
        /// Policies the client offered (known ones).
        offered: Vec<crate::AuthPolicy>,
        /// Policies the server allows.
        allowed: Vec<crate::AuthPolicy>,
    },
    /// The client is a platform this server does not manage (Windows Phone 8.x).
    #[error("device type {device_type:?} is not supported")]
    UnsupportedDevice {
        /// The DeviceType the client sent.
        device_type: String,
    },

    // ---------------------------------------------------------------------------------------
    // Our fault: configuration or caller errors (never the device's).
    // ---------------------------------------------------------------------------------------
    /// A server-side value (URL, provider ID, ...) given to a builder is invalid.
    #[error("invalid server configuration {field}: {reason}")]
    InvalidConfig {
        /// Which configuration field.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },

    // ---------------------------------------------------------------------------------------
    // STS (browser side).
    // ---------------------------------------------------------------------------------------
    /// The `appru` redirect target is not an `ms-app://` URI (open-redirect guard, MS-MDE §3.2).
    #[error("appru {appru:?} is not an ms-app:// URI")]
    BadAppru {
        /// The refused value (truncated).
        appru: String,
    },
}

impl EnrollError {
    /// Whether the error is the peer's (client's) fault, as opposed to this server's.
    pub fn is_peer_fault(&self) -> bool {
        !matches!(self, EnrollError::InvalidConfig { .. })
    }

    /// The MS-MDE2 §2.2.10 fault to send for this error.
    ///
    /// `trace_id` is the server's correlation id (it goes into the optional
    /// `DeviceEnrollmentServiceError/TraceId`, which Windows 10+ stores as `LastSoapErrorTraceId`).
    /// Errors that are our own fault get a generic reason; their detail belongs in the log.
    pub fn fault(&self, trace_id: &str) -> Fault {
        let reason = self.to_string();
        match self {
            EnrollError::InvalidSecurity { .. } => {
                Fault::new(FaultSubcode::InvalidSecurity, reason)
            }
            EnrollError::NoCommonAuthPolicy { .. } => {
                Fault::new(FaultSubcode::Authentication, reason)
            }
            // Intune answers the same way (s:Authorization + DeviceNotSupported); Windows 10+
            // reads the detail's ErrorType first and falls back to the subcode.
            EnrollError::UnsupportedDevice { .. } => {
                Fault::new(FaultSubcode::Authorization, reason.clone()).with_detail(
                    FaultDetail::new(FaultErrorType::DeviceNotSupported, reason, trace_id),
                )
            }
            EnrollError::InvalidConfig { .. } => Fault::new(
                FaultSubcode::InternalServiceFault,
                "The server hit an unexpected issue",
            ),
            _ => Fault::new(FaultSubcode::MessageFormat, reason),
        }
    }
}

/// Truncates a peer-supplied value for inclusion in an error message.
pub(crate) fn clip(value: &str) -> String {
    const MAX: usize = 200;
    if value.chars().count() <= MAX {
        return value.to_owned();
    }
    let mut out: String = value.chars().take(MAX).collect();
    out.push('…');
    out
}
