//! Parsers of the server's enrollment answers, namespace-aware (roxmltree, DTDs refused), as
//! strict as a Windows client about names and namespaces and tolerant about layout
//! (whitespace, prefixes, element order inside a parent).
//!
//! - [`parse_discover_response`] → [`DiscoverResponse`] (AuthPolicy, EnrollmentVersion, URLs);
//! - [`parse_get_policies_response`] → [`GetPoliciesResponse`] (policySchema, key length, hash);
//! - [`parse_rstrc`] → [`RstrcResponse`] carrying the decoded [`ProvisioningDocument`];
//! - any of them, given a SOAP fault, fails with [`ResponseError::Fault`] ([`SoapFault`]).

mod provisioning;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use casement_enroll::{
    AuthPolicy, EnrollmentVersion, FaultErrorType, FaultSubcode, TOKEN_TYPE_DEVICE_ENROLLMENT,
    VALUE_TYPE_PROVISION_DOC, action, ns,
};
use roxmltree::{Document, Node, ParsingOptions};

pub use provisioning::{
    AppAuth, DeviceStore, DmClientProvider, PollSettings, ProvisioningDocument, RegistryValue,
    StoredCertificate, W7Application, parse_provisioning_doc,
};

/// A parsed `DiscoverResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverResponse {
    /// `a:RelatesTo`, when the server sent one.
    pub relates_to: Option<String>,
    /// `AuthPolicy`.
    pub auth_policy: AuthPolicy,
    /// `EnrollmentVersion` (MS-MDE2 only; absent for Windows 8.1).
    pub enrollment_version: Option<EnrollmentVersion>,
    /// `AuthenticationServiceUrl` (the STS; Federated only).
    pub authentication_service_url: Option<String>,
    /// `EnrollmentPolicyServiceUrl` (XCEP).
    pub enrollment_policy_service_url: String,
    /// `EnrollmentServiceUrl` (WSTEP).
    pub enrollment_service_url: String,
}

/// The parts of a `GetPoliciesResponse` the client evaluates (MS-MDE §3.3.4.1.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetPoliciesResponse {
    /// `a:RelatesTo`, when the server sent one.
    pub relates_to: Option<String>,
    /// `policies/policy/attributes/policySchema` (MUST be 3).
    pub policy_schema: u32,
    /// `privateKeyAttributes/minimalKeyLength` (bits), when not nil.
    pub minimal_key_length: Option<u32>,
    /// The OID `hashAlgorithmOIDReference` points to in `oIDs` (e.g. `1.3.14.3.2.29`), when both
    /// are present.
    pub hash_algorithm_oid: Option<String>,
}

/// A parsed `RequestSecurityTokenResponseCollection`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RstrcResponse {
    /// `a:RelatesTo`, when the server sent one.
    pub relates_to: Option<String>,
    /// The decoded provisioning document.
    pub provisioning: ProvisioningDocument,
}

/// A SOAP 1.2 fault (MS-MDE2 §2.2.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    /// `s:Code/s:Value` as sent (`s:Receiver`).
    pub code: String,
    /// `s:Code/s:Subcode/s:Value` as sent (`s:Authentication`, `a:InvalidSecurity`, …).
    pub subcode: Option<String>,
    /// `s:Reason/s:Text`.
    pub reason: String,
    /// `s:Detail/DeviceEnrollmentServiceError`, when present.
    pub detail: Option<ServiceError>,
}

/// `DeviceEnrollmentServiceError` of a fault's detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// `ErrorType` as sent (`DeviceCapReached`, …).
    pub error_type: String,
    /// `Message`.
    pub message: String,
    /// `TraceId`.
    pub trace_id: String,
}

impl SoapFault {
    /// The subcode as a known MS-MDE2 subcode (matched on the local part of the QName).
    pub fn known_subcode(&self) -> Option<FaultSubcode> {
        let local = local_part(self.subcode.as_deref()?);
        FaultSubcode::ALL
            .into_iter()
            .find(|s| local_part(s.qname()) == local)
    }

    /// The detail's ErrorType as a known MS-MDE2 error type.
    pub fn known_error_type(&self) -> Option<FaultErrorType> {
        let sent = self.detail.as_ref()?.error_type.as_str();
        ERROR_TYPES.into_iter().find(|t| t.as_str() == sent)
    }

    /// The HRESULT Windows would report: the detail's ErrorType first, else the subcode
    /// (the order the client reads them in).
    pub fn hresult(&self) -> Option<u32> {
        self.known_error_type()
            .map(FaultErrorType::hresult)
            .or_else(|| self.known_subcode().map(FaultSubcode::hresult))
    }
}

impl std::fmt::Display for SoapFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.subcode.as_deref().unwrap_or(&self.code))?;
        if let Some(hresult) = self.hresult() {
            write!(f, " (0x{hresult:08X})")?;
        }
        write!(f, ": {}", self.reason)?;
        if let Some(detail) = &self.detail {
            write!(
                f,
                " [{}: {}; trace id {}]",
                detail.error_type, detail.message, detail.trace_id
            )?;
        }
        Ok(())
    }
}

/// Why a response could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The server answered with a SOAP fault.
    #[error("SOAP fault: {0}")]
    Fault(Box<SoapFault>),
    /// The body is not (namespace-)well-formed XML, or carries a DTD.
    #[error("not well-formed XML: {0}")]
    NotXml(String),
    /// The root is not a SOAP 1.2 `Envelope`.
    #[error("not a SOAP 1.2 envelope (root element {found})")]
    NotSoap12 {
        /// `{namespace}local` of the root.
        found: String,
    },
    /// The WS-Addressing Action names another operation.
    #[error("a:Action {found:?} is not {expected:?}")]
    WrongAction {
        /// The action expected.
        expected: &'static str,
        /// The action received.
        found: String,
    },
    /// An element is not the one expected at that place.
    #[error("expected {expected}, found {found}")]
    UnexpectedElement {
        /// Path of what was expected.
        expected: &'static str,
        /// `{namespace}local` of what was found.
        found: String,
    },
    /// A required element or value is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A value is outside what the protocol allows.
    #[error("{path}: unexpected value {value:?}")]
    BadValue {
        /// Where.
        path: &'static str,
        /// What (truncated).
        value: String,
    },
    /// Base64 content could not be decoded.
    #[error("{path}: invalid base64")]
    BadBase64 {
        /// Where.
        path: &'static str,
    },
}

/// Parses a `DiscoverResponse` (or the fault answering a Discover).
pub fn parse_discover_response(xml: &str) -> Result<DiscoverResponse, ResponseError> {
    let doc = parse_xml(xml)?;
    let env = read_envelope(&doc)?;
    env.expect_action(action::DISCOVER_RESPONSE)?;
    let response = expect(
        env.operation,
        ns::DISCOVERY,
        "DiscoverResponse",
        "s:Body/DiscoverResponse",
    )?;
    let result = required_child(
        response,
        ns::DISCOVERY,
        "DiscoverResult",
        "DiscoverResponse/DiscoverResult",
    )?;
    let field = |name: &str| optional_text(result, ns::DISCOVERY, name);
    let policy = field("AuthPolicy").ok_or(ResponseError::Missing("DiscoverResult/AuthPolicy"))?;
    let auth_policy = AuthPolicy::parse(&policy).ok_or_else(|| bad("AuthPolicy", &policy))?;
    let enrollment_version = field("EnrollmentVersion")
        .map(|v| v.parse().map_err(|_| bad("EnrollmentVersion", &v)))
        .transpose()?;
    let url =
        |name: &'static str, path: &'static str| field(name).ok_or(ResponseError::Missing(path));
    Ok(DiscoverResponse {
        relates_to: env.relates_to,
        auth_policy,
        enrollment_version,
        authentication_service_url: field("AuthenticationServiceUrl"),
        enrollment_policy_service_url: url(
            "EnrollmentPolicyServiceUrl",
            "DiscoverResult/EnrollmentPolicyServiceUrl",
        )?,
        enrollment_service_url: url(
            "EnrollmentServiceUrl",
            "DiscoverResult/EnrollmentServiceUrl",
        )?,
    })
}

/// Parses a `GetPoliciesResponse` (or the fault answering GetPolicies).
pub fn parse_get_policies_response(xml: &str) -> Result<GetPoliciesResponse, ResponseError> {
    let doc = parse_xml(xml)?;
    let env = read_envelope(&doc)?;
    env.expect_action(action::GET_POLICIES_RESPONSE)?;
    let x = ns::XCEP;
    let root = expect(
        env.operation,
        x,
        "GetPoliciesResponse",
        "s:Body/GetPoliciesResponse",
    )?;
    let response = required_child(root, x, "response", "GetPoliciesResponse/response")?;
    let policies = required_child(response, x, "policies", "response/policies")?;
    let policy = required_child(policies, x, "policy", "policies/policy")?;
    let attributes = required_child(policy, x, "attributes", "policy/attributes")?;
    let schema = optional_text(attributes, x, "policySchema")
        .ok_or(ResponseError::Missing("attributes/policySchema"))?;
    let policy_schema = schema
        .parse()
        .map_err(|_| bad("attributes/policySchema", &schema))?;
    let minimal_key_length = child(attributes, x, "privateKeyAttributes")
        .and_then(|keys| optional_text(keys, x, "minimalKeyLength"))
        .map(|v| {
            v.parse()
                .map_err(|_| bad("privateKeyAttributes/minimalKeyLength", &v))
        })
        .transpose()?;
    let hash_algorithm_oid =
        optional_text(attributes, x, "hashAlgorithmOIDReference").and_then(|reference| {
            let oids = child(root, x, "oIDs")?;
            children(oids, x, "oID")
                .find(|oid| optional_text(*oid, x, "oIDReferenceID").as_deref() == Some(&reference))
                .and_then(|oid| optional_text(oid, x, "value"))
        });
    Ok(GetPoliciesResponse {
        relates_to: env.relates_to,
        policy_schema,
        minimal_key_length,
        hash_algorithm_oid,
    })
}

/// Parses a `RequestSecurityTokenResponseCollection`, decodes its
/// `DeviceEnrollmentProvisionDoc` token and parses the provisioning document.
///
/// Accepts `TokenType` under the RSTR (Windows 10 shape) or under `RequestedSecurityToken`
/// (MS-MDE shape); when present it must be `…/DeviceEnrollmentToken`.
pub fn parse_rstrc(xml: &str) -> Result<RstrcResponse, ResponseError> {
    let doc = parse_xml(xml)?;
    let env = read_envelope(&doc)?;
    env.expect_action(action::RSTRC)?;
    let collection = expect(
        env.operation,
        ns::WST,
        "RequestSecurityTokenResponseCollection",
        "s:Body/wst:RequestSecurityTokenResponseCollection",
    )?;
    let rstr = required_child(
        collection,
        ns::WST,
        "RequestSecurityTokenResponse",
        "wst:RequestSecurityTokenResponse",
    )?;
    let requested = required_child(
        rstr,
        ns::WST,
        "RequestedSecurityToken",
        "wst:RequestedSecurityToken",
    )?;
    for holder in [rstr, requested] {
        if let Some(token_type) = optional_text(holder, ns::WST, "TokenType")
            && squash(&token_type) != TOKEN_TYPE_DEVICE_ENROLLMENT
        {
            return Err(bad("wst:TokenType", &token_type));
        }
    }
    let token = required_child(
        requested,
        ns::WSSE,
        "BinarySecurityToken",
        "wst:RequestedSecurityToken/wsse:BinarySecurityToken",
    )?;
    let value_type = token.attribute("ValueType").map(squash).unwrap_or_default();
    if value_type != VALUE_TYPE_PROVISION_DOC {
        return Err(bad("wsse:BinarySecurityToken/@ValueType", &value_type));
    }
    let bytes = decode_base64("wsse:BinarySecurityToken", &text_of(token))?;
    let text = String::from_utf8(bytes).map_err(|_| ResponseError::BadValue {
        path: "provisioning document",
        value: "not UTF-8".into(),
    })?;
    Ok(RstrcResponse {
        relates_to: env.relates_to,
        provisioning: parse_provisioning_doc(&text)?,
    })
}

/// Parses a SOAP fault envelope. Errors when the body is not a fault.
pub fn parse_fault(xml: &str) -> Result<SoapFault, ResponseError> {
    let doc = parse_xml(xml)?;
    match read_envelope(&doc) {
        Err(ResponseError::Fault(fault)) => Ok(*fault),
        Err(other) => Err(other),
        Ok(env) => Err(ResponseError::UnexpectedElement {
            expected: "s:Body/s:Fault",
            found: expanded_name(env.operation),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Envelope and XML helpers
// ---------------------------------------------------------------------------------------------

/// Every `DeviceEnrollmentServiceError/ErrorType` of MS-MDE2 §2.2.10.
const ERROR_TYPES: [FaultErrorType; 8] = [
    FaultErrorType::DeviceCapReached,
    FaultErrorType::DeviceNotSupported,
    FaultErrorType::NotSupported,
    FaultErrorType::NotEligibleToRenew,
    FaultErrorType::InMaintenance,
    FaultErrorType::UserLicense,
    FaultErrorType::InvalidEnrollmentData,
    FaultErrorType::CustomServerError,
];

/// The parts of an envelope every parser needs.
struct Envelope<'a, 'i> {
    action: Option<String>,
    relates_to: Option<String>,
    /// The first element child of `s:Body`.
    operation: Node<'a, 'i>,
}

impl Envelope<'_, '_> {
    /// The Action, when present, must be `expected` (a missing Action is tolerated).
    fn expect_action(&self, expected: &'static str) -> Result<(), ResponseError> {
        match &self.action {
            Some(found) if squash(found) != expected => Err(ResponseError::WrongAction {
                expected,
                found: clip(found),
            }),
            _ => Ok(()),
        }
    }
}

pub(crate) fn parse_xml(xml: &str) -> Result<Document<'_>, ResponseError> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 200_000,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(xml, options).map_err(|e| ResponseError::NotXml(e.to_string()))
}

/// Reads `s:Envelope/{s:Header, s:Body}`; a `s:Fault` body becomes [`ResponseError::Fault`].
fn read_envelope<'a, 'i>(doc: &'a Document<'i>) -> Result<Envelope<'a, 'i>, ResponseError> {
    let root = doc.root_element();
    if !is(root, ns::SOAP12, "Envelope") {
        return Err(ResponseError::NotSoap12 {
            found: expanded_name(root),
        });
    }
    let header = child(root, ns::SOAP12, "Header");
    let body = required_child(root, ns::SOAP12, "Body", "s:Envelope/s:Body")?;
    let operation = body
        .children()
        .find(Node::is_element)
        .ok_or(ResponseError::Missing("s:Body/*"))?;
    if is(operation, ns::SOAP12, "Fault") {
        return Err(ResponseError::Fault(Box::new(read_fault(operation))));
    }
    let header_text = |name| header.and_then(|h| optional_text(h, ns::WSA, name));
    Ok(Envelope {
        action: header_text("Action"),
        relates_to: header_text("RelatesTo"),
        operation,
    })
}

fn read_fault(fault: Node<'_, '_>) -> SoapFault {
    let s = ns::SOAP12;
    let code = child(fault, s, "Code");
    let subcode = code
        .and_then(|c| child(c, s, "Subcode"))
        .and_then(|c| optional_text(c, s, "Value"));
    let detail = child(fault, s, "Detail")
        .and_then(|d| child(d, ns::ENROLLMENT, "DeviceEnrollmentServiceError"))
        .map(|e| {
            let field = |name| optional_text(e, ns::ENROLLMENT, name).unwrap_or_default();
            ServiceError {
                error_type: field("ErrorType"),
                message: field("Message"),
                trace_id: field("TraceId"),
            }
        });
    SoapFault {
        code: code
            .and_then(|c| optional_text(c, s, "Value"))
            .unwrap_or_default(),
        subcode,
        reason: child(fault, s, "Reason")
            .and_then(|r| optional_text(r, s, "Text"))
            .unwrap_or_default(),
        detail,
    }
}

fn expect<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &str,
    local: &str,
    path: &'static str,
) -> Result<Node<'a, 'i>, ResponseError> {
    if is(node, namespace, local) {
        Ok(node)
    } else {
        Err(ResponseError::UnexpectedElement {
            expected: path,
            found: expanded_name(node),
        })
    }
}

pub(crate) fn is(node: Node<'_, '_>, namespace: &str, local: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == local
        && node.tag_name().namespace() == Some(namespace)
}

pub(crate) fn child<'a, 'i>(
    parent: Node<'a, 'i>,
    namespace: &str,
    local: &str,
) -> Option<Node<'a, 'i>> {
    parent.children().find(|n| is(*n, namespace, local))
}

fn children<'a, 'i: 'a>(
    parent: Node<'a, 'i>,
    namespace: &'a str,
    local: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    parent.children().filter(move |n| is(*n, namespace, local))
}

fn required_child<'a, 'i>(
    parent: Node<'a, 'i>,
    namespace: &str,
    local: &str,
    path: &'static str,
) -> Result<Node<'a, 'i>, ResponseError> {
    child(parent, namespace, local).ok_or(ResponseError::Missing(path))
}

/// The trimmed text of a child; `None` when absent, `xsi:nil`, or empty.
fn optional_text(parent: Node<'_, '_>, namespace: &str, local: &str) -> Option<String> {
    let node = child(parent, namespace, local)?;
    if node.attribute((ns::XSI, "nil")) == Some("true") {
        return None;
    }
    Some(text_of(node)).filter(|t| !t.is_empty())
}

/// Concatenated text children, trimmed.
pub(crate) fn text_of(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

pub(crate) fn expanded_name(node: Node<'_, '_>) -> String {
    match node.tag_name().namespace() {
        Some(namespace) => format!("{{{namespace}}}{}", node.tag_name().name()),
        None => node.tag_name().name().to_owned(),
    }
}

/// Decodes base64 that may contain whitespace (line-wrapped by some servers).
pub(crate) fn decode_base64(path: &'static str, text: &str) -> Result<Vec<u8>, ResponseError> {
    STANDARD
        .decode(squash(text))
        .map_err(|_| ResponseError::BadBase64 { path })
}

/// Removes all whitespace.
fn squash(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace()).collect()
}

fn local_part(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname).trim()
}

pub(crate) fn bad(path: &'static str, value: &str) -> ResponseError {
    ResponseError::BadValue {
        path,
        value: clip(value),
    }
}

fn clip(value: &str) -> String {
    const MAX: usize = 200;
    if value.chars().count() <= MAX {
        return value.to_owned();
    }
    let mut out: String = value.chars().take(MAX).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtd_and_other_envelopes_are_refused() {
        assert!(matches!(
            parse_discover_response("<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"),
            Err(ResponseError::NotXml(_))
        ));
        let soap11 = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#;
        assert!(matches!(
            parse_discover_response(soap11),
            Err(ResponseError::NotSoap12 { .. })
        ));
    }

    #[test]
    fn fault_display_names_subcode_hresult_and_detail() {
        let fault = SoapFault {
            code: "s:Receiver".into(),
            subcode: Some("s:Authorization".into()),
            reason: "no".into(),
            detail: Some(ServiceError {
                error_type: "DeviceCapReached".into(),
                message: "too many".into(),
                trace_id: "t1".into(),
            }),
        };
        assert_eq!(fault.known_subcode(), Some(FaultSubcode::Authorization));
        assert_eq!(
            fault.known_error_type(),
            Some(FaultErrorType::DeviceCapReached)
        );
        assert_eq!(
            fault.to_string(),
            "s:Authorization (0x80180013): no [DeviceCapReached: too many; trace id t1]"
        );
    }
}
