//! SOAP 1.2 + WS-Addressing plumbing shared by every enrollment message: namespaces and actions,
//! the hardened request parser (size, DTD, depth and node limits), the parsed header, and the
//! small XML writer every response builder uses.
//!
//! Transport: MS-MDE §2.1 says "SOAP 1.1", but every MDE/MDE2 sample, the WSDL binding
//! (`soap12:binding`) and every real Windows client use the SOAP **1.2** envelope namespace
//! `http://www.w3.org/2003/05/soap-envelope`; only that one is accepted and produced here.

mod writer;

use roxmltree::{Document, Node, ParsingOptions};

pub(crate) use writer::{XmlWriter, close_envelope, open_envelope};

use crate::error::{EnrollError, clip};

/// Namespace URIs used by the enrollment messages (MS-MDE §2.2.1, MS-MDE2 §2.2.1).
pub mod ns {
    /// SOAP 1.2 envelope.
    pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
    /// WS-Addressing 1.0.
    pub const WSA: &str = "http://www.w3.org/2005/08/addressing";
    /// WS-Security 1.0 secext (`wsse:`).
    pub const WSSE: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    /// WS-Security utility (`u:`).
    pub const WSU: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
    /// WS-Trust 1.3 (`wst:`).
    pub const WST: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
    /// Discovery service messages.
    pub const DISCOVERY: &str =
        "http://schemas.microsoft.com/windows/management/2012/01/enrollment";
    /// MS-XCEP enrollment policy (`xcep:`).
    pub const XCEP: &str = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy";
    /// MS-WSTEP enrollment extensions: DispositionMessage, RequestID, DeviceEnrollmentServiceError.
    pub const ENROLLMENT: &str = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment";
    /// AdditionalContext as real clients send it (MS-MDE2 §3.4.4.1.1.1.1).
    pub const AUTHORIZATION: &str = "http://schemas.xmlsoap.org/ws/2006/12/authorization";
    /// WCF diagnostics (`ActivityId` header).
    pub const DIAGNOSTICS: &str = "http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics";
    /// XML Schema instance (`xsi:nil`).
    pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
    /// XML Schema.
    pub const XSD: &str = "http://www.w3.org/2001/XMLSchema";
}

/// WS-Addressing actions of the enrollment operations (MS-MDE §3.1.4.1, §3.3.4.1, §3.4.4.1).
pub mod action {
    /// Discover request.
    pub const DISCOVER: &str = "http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/Discover";
    /// Discover response.
    pub const DISCOVER_RESPONSE: &str = "http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/DiscoverResponse";
    /// XCEP GetPolicies request.
    pub const GET_POLICIES: &str =
        "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPolicies";
    /// XCEP GetPolicies response.
    pub const GET_POLICIES_RESPONSE: &str = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPoliciesResponse";
    /// WSTEP RequestSecurityToken (also the on-behalf-of variant and renewal).
    pub const RST: &str = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep";
    /// WSTEP RequestSecurityTokenResponseCollection; MS-MDE2 §2.2.10 uses it for faults too.
    pub const RSTRC: &str =
        "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/wstep";
    /// Generic WS-Addressing SOAP fault action (used for Discovery and GetPolicies faults).
    pub const ADDRESSING_FAULT: &str = "http://www.w3.org/2005/08/addressing/soap/fault";
}

/// The HTTP `Content-Type` of every SOAP response of this crate (and of the requests Windows
/// sends). Responses must also carry a `Content-Length`: Windows refuses chunked enrollment
/// responses (windows-itpro-docs on-premise-authentication-device-enrollment.md).
pub const SOAP_CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

/// Limits applied to every request before and while parsing it.
///
/// Real requests are small: the largest seen (a Windows 10 RST with an RSA-2048 CSR and 18
/// context items) is 4.3 KB and 6 levels deep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum body size in bytes.
    pub max_bytes: usize,
    /// Maximum element nesting (the Envelope is level 1).
    pub max_depth: usize,
    /// Maximum number of XML nodes (elements, text, comments).
    pub max_nodes: u32,
    /// Maximum attributes (namespace declarations included) of one element.
    pub max_attributes_per_element: usize,
    /// Maximum attributes in the whole request.
    pub max_attributes: usize,
}

impl Default for Limits {
    /// 256 KiB, 32 levels, 20,000 nodes, 64 attributes per element and 2,000 in all (a real
    /// request has at most 8 on its Envelope and about 60 in all).
    fn default() -> Self {
        Limits {
            max_bytes: 256 * 1024,
            max_depth: 32,
            max_nodes: 20_000,
            max_attributes_per_element: 64,
            max_attributes: 2_000,
        }
    }
}

/// A WS-Addressing `MessageID` as sent by the client (trimmed, non-empty), echoed back in the
/// response's `a:RelatesTo`. Kept verbatim: Microsoft's own samples contain `urn:uuid: 7481…`
/// with a space, and the client matches what it sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId(String);

impl MessageId {
    /// Wraps a message id (used by tests and by servers answering unparseable requests).
    /// Returns `None` for an empty or over-long (> 1024 bytes) value.
    pub fn new(value: &str) -> Option<MessageId> {
        let value = value.trim();
        (!value.is_empty() && value.len() <= 1024).then(|| MessageId(value.to_owned()))
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The WS-Addressing header of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapHeader {
    /// `a:Action` (trimmed).
    pub action: String,
    /// `a:MessageID`.
    pub message_id: MessageId,
    /// `a:To` (trimmed), absent in some spec samples.
    pub to: Option<String>,
}

/// A finished SOAP response (UTF-8 XML), ready for the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapMessage(String);

impl SoapMessage {
    /// The `Content-Type` to send with it ([`SOAP_CONTENT_TYPE`]).
    pub fn content_type(&self) -> &'static str {
        SOAP_CONTENT_TYPE
    }

    /// The XML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The XML bytes (for the HTTP body; send them with a `Content-Length`).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Consumes the message into its XML text.
    pub fn into_string(self) -> String {
        self.0
    }

    pub(crate) fn from_xml(xml: String) -> SoapMessage {
        SoapMessage(xml)
    }
}

/// Headers of a response: what it relates to and the optional WCF `ActivityId` real servers add.
#[derive(Debug, Clone, Copy)]
pub struct ReplyTo<'a> {
    /// The request's `MessageID` (`a:RelatesTo`). `None` only when the request could not be parsed
    /// far enough to find it (then the header is omitted).
    pub relates_to: Option<&'a MessageId>,
    /// `ActivityId` / `CorrelationId` for server-side tracing; omitted when `None`.
    pub activity_id: Option<uuid::Uuid>,
}

impl<'a> ReplyTo<'a> {
    /// A reply to `request` without ActivityId.
    pub fn to(request: &'a MessageId) -> ReplyTo<'a> {
        ReplyTo {
            relates_to: Some(request),
            activity_id: None,
        }
    }

    /// Adds an `ActivityId` header (both CorrelationId and value, as Fleet and the spec do).
    pub fn with_activity_id(mut self, id: uuid::Uuid) -> ReplyTo<'a> {
        self.activity_id = Some(id);
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Request parsing (crate-internal)
// ---------------------------------------------------------------------------------------------

/// Checks the body against the limits and parses it with roxmltree (DTD refused).
pub(crate) fn parse_document<'i>(
    input: &'i [u8],
    limits: &Limits,
) -> Result<Document<'i>, EnrollError> {
    if input.len() > limits.max_bytes {
        return Err(EnrollError::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        });
    }
    reject_dtd(input)?;
    count_attributes(input, limits)?;
    let text = std::str::from_utf8(input).map_err(|e| EnrollError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: limits.max_nodes,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => EnrollError::DtdForbidden {
            found: "<!DOCTYPE",
            offset: 0,
        },
        roxmltree::Error::NodesLimitReached => EnrollError::TooManyNodes {
            limit: limits.max_nodes,
        },
        other => EnrollError::NotXml {
            detail: other.to_string(),
        },
    })?;
    check_depth(&doc, limits.max_depth)?;
    Ok(doc)
}

/// Counts attributes (each `=` inside a start tag, outside quoted values) in one linear pass and
/// refuses a request over [`Limits::max_attributes_per_element`] or [`Limits::max_attributes`].
/// Comments, CDATA sections and processing instructions are skipped. Malformed markup is left
/// to the parser.
fn count_attributes(input: &[u8], limits: &Limits) -> Result<(), EnrollError> {
    let mut total = 0usize;
    let mut i = 0usize;
    let skip_to = |from: usize, end: &[u8]| -> usize {
        input[from..]
            .windows(end.len())
            .position(|w| w == end)
            .map_or(input.len(), |p| from + p + end.len())
    };
    while let Some(p) = input[i..].iter().position(|&b| b == b'<') {
        let start = i + p;
        let rest = &input[start..];
        if rest.starts_with(b"<!--") {
            i = skip_to(start + 4, b"-->");
            continue;
        }
        if rest.starts_with(b"<![CDATA[") {
            i = skip_to(start + 9, b"]]>");
            continue;
        }
        if rest.starts_with(b"<?") {
            i = skip_to(start + 2, b"?>");
            continue;
        }
        // A start or end tag: attributes are the `=` outside quotes until `>`.
        let mut in_element = 0usize;
        let mut quote = None;
        let mut j = start + 1;
        while let Some(&b) = input.get(j) {
            match (quote, b) {
                (Some(q), b) if b == q => quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'') => quote = Some(b),
                (None, b'>') => break,
                (None, b'=') => {
                    in_element += 1;
                    total += 1;
                    if in_element > limits.max_attributes_per_element {
                        return Err(EnrollError::TooManyAttributes {
                            scope: "in one element",
                            limit: limits.max_attributes_per_element,
                            offset: j,
                        });
                    }
                    if total > limits.max_attributes {
                        return Err(EnrollError::TooManyAttributes {
                            scope: "in the request",
                            limit: limits.max_attributes,
                            offset: j,
                        });
                    }
                }
                (None, _) => {}
            }
            j += 1;
        }
        i = j.saturating_add(1).min(input.len());
    }
    Ok(())
}

/// Refuses DOCTYPE / ENTITY markup anywhere before parsing (cheap, and gives the offset).
fn reject_dtd(input: &[u8]) -> Result<(), EnrollError> {
    const NEEDLES: [&str; 2] = ["<!DOCTYPE", "<!ENTITY"];
    for (start, window) in input.windows(2).enumerate() {
        if window != b"<!" {
            continue;
        }
        for needle in NEEDLES {
            if let Some(candidate) = input.get(start..start + needle.len())
                && candidate.eq_ignore_ascii_case(needle.as_bytes())
            {
                return Err(EnrollError::DtdForbidden {
                    found: needle,
                    offset: start,
                });
            }
        }
    }
    Ok(())
}

fn check_depth(doc: &Document<'_>, max_depth: usize) -> Result<(), EnrollError> {
    // Node ids are assigned in document (pre-)order, so a parent's depth is known before its
    // children are visited. Depth 0 = the document root, 1 = the root element.
    let count = doc.descendants().count();
    let mut depth = vec![0usize; count];
    for node in doc.descendants() {
        let own = match node.parent() {
            Some(parent) => depth.get(parent.id().get_usize()).copied().unwrap_or(0) + 1,
            None => 0,
        };
        if own > max_depth {
            return Err(EnrollError::TooDeep { limit: max_depth });
        }
        if let Some(slot) = depth.get_mut(node.id().get_usize()) {
            *slot = own;
        }
    }
    Ok(())
}

/// The envelope of a parsed request: its WS-Addressing header, the `s:Header` element (for the
/// WS-Security header) and the single operation element inside `s:Body`.
pub(crate) struct Envelope<'a, 'i> {
    pub header: SoapHeader,
    pub header_node: Node<'a, 'i>,
    pub operation: Node<'a, 'i>,
}

impl<'a, 'i> Envelope<'a, 'i> {
    pub(crate) fn read(doc: &'a Document<'i>) -> Result<Envelope<'a, 'i>, EnrollError> {
        let root = doc.root_element();
        expect_element(root, ns::SOAP12, "Envelope", "s:Envelope")?;
        let header_node =
            child(root, ns::SOAP12, "Header").ok_or(EnrollError::Missing { path: "s:Header" })?;
        let body =
            child(root, ns::SOAP12, "Body").ok_or(EnrollError::Missing { path: "s:Body" })?;
        let operation = body
            .children()
            .find(|n| n.is_element())
            .ok_or(EnrollError::Missing { path: "s:Body/*" })?;
        let action = child(header_node, ns::WSA, "Action")
            .map(text_of)
            .filter(|a| !a.is_empty())
            .ok_or(EnrollError::Missing {
                path: "s:Header/a:Action",
            })?;
        let raw_id = child(header_node, ns::WSA, "MessageID")
            .map(text_of)
            .filter(|id| !id.is_empty())
            .ok_or(EnrollError::Missing {
                path: "s:Header/a:MessageID",
            })?;
        let message_id = MessageId::new(&raw_id).ok_or_else(|| EnrollError::BadValue {
            path: "s:Header/a:MessageID",
            value: clip(&raw_id),
        })?;
        let to = child(header_node, ns::WSA, "To")
            .map(text_of)
            .filter(|t| !t.is_empty());
        Ok(Envelope {
            header: SoapHeader {
                action,
                message_id,
                to,
            },
            header_node,
            operation,
        })
    }

    /// Fails unless the action is `expected`.
    pub(crate) fn expect_action(&self, expected: &'static str) -> Result<(), EnrollError> {
        if self.header.action == expected {
            return Ok(());
        }
        Err(EnrollError::WrongAction {
            expected,
            found: clip(&self.header.action),
        })
    }
}

/// Fails unless `node` is `{ns}local`; distinguishes a wrong namespace from a wrong name.
pub(crate) fn expect_element(
    node: Node<'_, '_>,
    namespace: &'static str,
    local: &'static str,
    path: &'static str,
) -> Result<(), EnrollError> {
    let name = node.tag_name();
    if name.name() != local {
        return Err(EnrollError::UnexpectedElement {
            expected: path,
            found: expanded_name(node),
        });
    }
    if name.namespace() != Some(namespace) {
        return Err(EnrollError::WrongNamespace {
            element: local,
            expected: namespace,
            found: name.namespace().unwrap_or_default().to_owned(),
        });
    }
    Ok(())
}

/// `{namespace}local` of an element, for error messages.
pub(crate) fn expanded_name(node: Node<'_, '_>) -> String {
    let name = node.tag_name();
    match name.namespace() {
        Some(ns) => clip(&format!("{{{ns}}}{}", name.name())),
        None => clip(name.name()),
    }
}

/// First child element `{namespace}local`.
pub(crate) fn child<'a, 'i>(
    node: Node<'a, 'i>,
    namespace: &str,
    local: &str,
) -> Option<Node<'a, 'i>> {
    node.children().find(|n| is(*n, namespace, local))
}

/// All child elements `{namespace}local`.
pub(crate) fn children<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    namespace: &'a str,
    local: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |n| is(*n, namespace, local))
}

/// Whether `node` is the element `{namespace}local`.
pub(crate) fn is(node: Node<'_, '_>, namespace: &str, local: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == local
        && node.tag_name().namespace() == Some(namespace)
}

/// The element's own text (its direct text children joined, comments skipped), trimmed.
/// Microsoft's samples pad values with newlines and indentation.
pub(crate) fn text_of(node: Node<'_, '_>) -> String {
    let mut out = String::new();
    for t in node.children().filter(|n| n.is_text()) {
        out.push_str(t.text().unwrap_or_default());
    }
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_owned()
    }
}

/// Whether the element carries `xsi:nil="true"`.
pub(crate) fn is_nil(node: Node<'_, '_>) -> bool {
    matches!(
        node.attribute((ns::XSI, "nil")).map(str::trim),
        Some("true" | "1")
    )
}

/// An attribute value looked up by local name, qualified (`wsse:Type`) or not (`Type`).
pub(crate) fn attr_any_ns<'a>(node: Node<'a, '_>, local: &str) -> Option<&'a str> {
    node.attributes()
        .find(|a| a.name() == local)
        .map(|a| a.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtd_is_refused_with_offset() {
        let err = parse_document(
            b"<?xml version=\"1.0\"?><!doctype x><x/>",
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            EnrollError::DtdForbidden {
                found: "<!DOCTYPE",
                offset: 21
            }
        );
    }

    #[test]
    fn depth_limit_counts_the_root_as_one() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert!(parse_document(b"<a><b><c/></b></a>", &limits).is_ok());
        assert_eq!(
            parse_document(b"<a><b><c><d/></c></b></a>", &limits).unwrap_err(),
            EnrollError::TooDeep { limit: 3 }
        );
    }

    #[test]
    fn text_is_trimmed_and_comments_skipped() {
        let doc = Document::parse("<a>\n  x<!-- c -->y \n</a>").unwrap();
        assert_eq!(text_of(doc.root_element()), "xy");
    }
}
