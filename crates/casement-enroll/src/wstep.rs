//! Certificate enrollment (MS-WSTEP profile of MS-MDE §3.4–3.5 / MS-MDE2 §3.4): the
//! `RequestSecurityToken` request (issue, renewal, on-behalf-of) and the
//! `RequestSecurityTokenResponseCollection` carrying the provisioning document.

mod context;

use roxmltree::Node;
use time::OffsetDateTime;

pub use context::AdditionalContext;

use crate::error::{EnrollError, clip};
use crate::platform::{Platform, dotted_major};
use crate::provisioning::ProvisioningDoc;
use crate::security::{BASE64_ENCODING_TYPE, SecurityToken, decode_base64, read_security, squash};
use crate::soap::{
    self, Envelope, Limits, ReplyTo, SoapHeader, SoapMessage, XmlWriter, action, child, ns, text_of,
};

/// `wst:TokenType` of an ordinary enrollment (and of the response).
pub const TOKEN_TYPE_DEVICE_ENROLLMENT: &str =
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken";
/// `wst:TokenType` of an on-behalf-of enrollment (MS-MDE §3.4.4.1.1.2).
pub const TOKEN_TYPE_ON_BEHALF_OF: &str = "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentOnBehalfOfToken";
/// `wst:RequestType` Issue.
pub const REQUEST_TYPE_ISSUE: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue";
/// `wst:RequestType` Renew (MS-MDE §3.5.4.1.1.1).
pub const REQUEST_TYPE_RENEW: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Renew";
/// BinarySecurityToken ValueType of a PKCS#10 CSR.
pub const VALUE_TYPE_PKCS10: &str =
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10";
/// BinarySecurityToken ValueType of a PKCS#7 renewal request.
pub const VALUE_TYPE_PKCS7: &str =
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS7";
/// BinarySecurityToken ValueType of the provisioning document in the response.
pub const VALUE_TYPE_PROVISION_DOC: &str = "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc";

/// Lifetime of the `u:Timestamp` in the response (Created + 5 minutes, as in the
/// windows-itpro-docs sample).
pub const TIMESTAMP_LIFETIME: time::Duration = time::Duration::minutes(5);

/// A parsed `RequestSecurityToken` (or `RequestSecurityTokenOnBehalfOf`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RstRequest {
    /// WS-Addressing header.
    pub header: SoapHeader,
    /// The credential; [`SecurityToken::None`] for a renewal over client-certificate TLS.
    pub security: SecurityToken,
    /// Ordinary or on-behalf-of request.
    pub kind: RstKind,
    /// `wst:TokenType`.
    pub token_type: TokenType,
    /// `wst:RequestType`.
    pub request_type: RequestType,
    /// The decoded `wsse:BinarySecurityToken` of the body: the CSR (or the PKCS#7 renewal
    /// request), to hand to the CA unchanged.
    pub certificate_request: CertificateRequest,
    /// `ac:AdditionalContext`.
    pub context: AdditionalContext,
}

/// Which body element carried the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RstKind {
    /// `wst:RequestSecurityToken`.
    Standard,
    /// `wst:RequestSecurityTokenOnBehalfOf`: an administrator enrolls the machine for the user
    /// named by the `EnrollmentOnBehalfOfUser` context item (Windows 8.1 with KB 2909569,
    /// MS-MDE §3.4.4.1.1.2).
    OnBehalfOf,
}

/// `wst:TokenType` of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// `…/DeviceEnrollmentToken`.
    DeviceEnrollment,
    /// `…/DeviceEnrollmentOnBehalfOfToken`.
    DeviceEnrollmentOnBehalfOf,
}

/// `wst:RequestType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    /// First enrollment.
    Issue,
    /// Certificate renewal (the client authenticates with its current certificate over TLS).
    Renew,
}

/// The certificate request carried in the body.
#[derive(Clone, PartialEq, Eq)]
pub enum CertificateRequest {
    /// DER PKCS#10 CSR (`…#PKCS10`).
    Pkcs10(Vec<u8>),
    /// DER PKCS#7/CMS renewal request (`…#PKCS7`).
    Pkcs7(Vec<u8>),
}

impl CertificateRequest {
    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        match self {
            CertificateRequest::Pkcs10(der) | CertificateRequest::Pkcs7(der) => der,
        }
    }
}

impl std::fmt::Debug for CertificateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertificateRequest::Pkcs10(der) => write!(f, "Pkcs10(<{} bytes>)", der.len()),
            CertificateRequest::Pkcs7(der) => write!(f, "Pkcs7(<{} bytes>)", der.len()),
        }
    }
}

impl RstRequest {
    /// Parses an RST with the default [`Limits`].
    pub fn parse(body: &[u8]) -> Result<RstRequest, EnrollError> {
        RstRequest::parse_with(body, &Limits::default())
    }

    /// Parses an RST with explicit limits.
    pub fn parse_with(body: &[u8], limits: &Limits) -> Result<RstRequest, EnrollError> {
        let doc = soap::parse_document(body, limits)?;
        let env = Envelope::read(&doc)?;
        env.expect_action(action::RST)?;
        RstRequest::from_envelope(&env)
    }

    pub(crate) fn from_envelope(env: &Envelope<'_, '_>) -> Result<RstRequest, EnrollError> {
        let rst = env.operation;
        let (kind, local) = match rst.tag_name().name() {
            "RequestSecurityToken" => (RstKind::Standard, "RequestSecurityToken"),
            "RequestSecurityTokenOnBehalfOf" => {
                (RstKind::OnBehalfOf, "RequestSecurityTokenOnBehalfOf")
            }
            _ => {
                return Err(EnrollError::UnexpectedElement {
                    expected: "s:Body/wst:RequestSecurityToken",
                    found: soap::expanded_name(rst),
                });
            }
        };
        soap::expect_element(rst, ns::WST, local, "s:Body/wst:RequestSecurityToken")?;
        let token_type = match required_text(
            rst,
            ns::WST,
            "TokenType",
            "wst:RequestSecurityToken/wst:TokenType",
        )?
        .as_str()
        {
            TOKEN_TYPE_DEVICE_ENROLLMENT => TokenType::DeviceEnrollment,
            TOKEN_TYPE_ON_BEHALF_OF => TokenType::DeviceEnrollmentOnBehalfOf,
            other => {
                return Err(EnrollError::BadValue {
                    path: "wst:TokenType",
                    value: clip(other),
                });
            }
        };
        let request_type = match required_text(
            rst,
            ns::WST,
            "RequestType",
            "wst:RequestSecurityToken/wst:RequestType",
        )?
        .as_str()
        {
            REQUEST_TYPE_ISSUE => RequestType::Issue,
            REQUEST_TYPE_RENEW => RequestType::Renew,
            other => {
                return Err(EnrollError::BadValue {
                    path: "wst:RequestType",
                    value: clip(other),
                });
            }
        };
        let certificate_request = read_certificate_request(rst)?;
        let context = read_context(rst)?;
        let security = read_security(env.header_node)?;
        Ok(RstRequest {
            header: env.header.clone(),
            security,
            kind,
            token_type,
            request_type,
            certificate_request,
            context,
        })
    }

    /// The platform the request comes from.
    ///
    /// Rule: Windows 10/11 when the context has an `OSVersion` or `ApplicationVersion` whose
    /// major number is 10 or more (every MS-MDE2 client sends both, e.g. `10.0.19043.2364`);
    /// otherwise Windows 8.1, whose MS-MDE RST carries only `DeviceType` (MS-MDE §3.4.4.1.1.1)
    /// or, on behalf of a user, `ApplicationVersion` `8.0.0.0` (§3.4.4.1.1.2). The CSR is not
    /// used: its format on 8.1 was never observed.
    pub fn platform(&self) -> Platform {
        let modern = [
            self.context.os_version(),
            self.context.application_version(),
        ]
        .into_iter()
        .flatten()
        .filter_map(dotted_major)
        .any(|major| major >= 10);
        if modern {
            Platform::Windows10
        } else {
            Platform::Windows81
        }
    }

    /// The user the device enrolls for, when the request itself names one: the
    /// `EnrollmentOnBehalfOfUser` UPN, else the OnPremise user name. `None` for a federated
    /// token (look the token up) and for a renewal (the certificate names the device).
    pub fn claimed_user(&self) -> Option<&str> {
        if self.kind == RstKind::OnBehalfOf
            && let Some(upn) = self.context.enrollment_on_behalf_of_user()
        {
            return Some(upn);
        }
        self.security.username()
    }
}

/// Builds the `RequestSecurityTokenResponseCollection` carrying `doc`, base64-encoded in a
/// `BinarySecurityToken` of ValueType `…/DeviceEnrollmentProvisionDoc`.
///
/// Shapes:
/// - Windows 10/11: as the server response a real Windows 10 accepted (`win10/06`) and the
///   windows-itpro-docs sample: `o:Security/u:Timestamp` header (Created = `now`, Expires =
///   `now` + [`TIMESTAMP_LIFETIME`]), `TokenType` directly under the RSTR, an empty
///   `DispositionMessage`, `RequestedSecurityToken/BinarySecurityToken`, `RequestID` 0.
/// - Windows 8.1: as MS-MDE §3.4.4.1.1.3 requires: `TokenType` is a child of
///   `RequestedSecurityToken`; no WS-Security header (the MS-MDE sample has none and it is
///   `mustUnderstand`).
///
/// `now` is the server's clock, passed in (this crate reads no clock).
pub fn build_rstrc(
    reply: &ReplyTo<'_>,
    platform: Platform,
    doc: &ProvisioningDoc,
    now: OffsetDateTime,
) -> SoapMessage {
    let mut w = XmlWriter::new();
    let modern = platform == Platform::Windows10;
    soap::open_envelope(&mut w, action::RSTRC, reply, modern, |w| {
        if modern {
            w.open(
                "o:Security",
                &[("xmlns:o", ns::WSSE), ("s:mustUnderstand", "1")],
            );
            w.open("u:Timestamp", &[("u:Id", "_0")]);
            w.element("u:Created", &[], &timestamp(now));
            w.element("u:Expires", &[], &timestamp(now + TIMESTAMP_LIFETIME));
            w.close("u:Timestamp");
            w.close("o:Security");
        }
    });
    w.open("s:Body", &[]);
    w.open(
        "RequestSecurityTokenResponseCollection",
        &[("xmlns", ns::WST)],
    );
    w.open("RequestSecurityTokenResponse", &[]);
    if modern {
        w.element("TokenType", &[], TOKEN_TYPE_DEVICE_ENROLLMENT);
        w.empty("DispositionMessage", &[("xmlns", ns::ENROLLMENT)]);
    }
    w.open("RequestedSecurityToken", &[]);
    if !modern {
        w.element("TokenType", &[], TOKEN_TYPE_DEVICE_ENROLLMENT);
    }
    w.element(
        "BinarySecurityToken",
        &[
            ("xmlns", ns::WSSE),
            ("ValueType", VALUE_TYPE_PROVISION_DOC),
            ("EncodingType", BASE64_ENCODING_TYPE),
        ],
        &doc.to_base64(),
    );
    w.close("RequestedSecurityToken");
    if modern {
        w.element("RequestID", &[("xmlns", ns::ENROLLMENT)], "0");
    }
    w.close("RequestSecurityTokenResponse");
    w.close("RequestSecurityTokenResponseCollection");
    w.close("s:Body");
    soap::close_envelope(&mut w);
    SoapMessage::from_xml(w.finish())
}

/// `2018-11-30T00:32:59.420Z` (UTC, milliseconds).
pub(crate) fn timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Text of a required child, trimmed; literal surrounding quotes (as in the MS-MDE §4.3 samples,
/// `"http://…DeviceEnrollmentToken"`) and inner whitespace from PDF wrapping are removed.
fn required_text(
    parent: Node<'_, '_>,
    namespace: &str,
    local: &str,
    path: &'static str,
) -> Result<String, EnrollError> {
    let node = child(parent, namespace, local).ok_or(EnrollError::Missing { path })?;
    let value = squash(&text_of(node));
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_owned)
        .unwrap_or(value);
    if value.is_empty() {
        return Err(EnrollError::Missing { path });
    }
    Ok(value)
}

fn read_certificate_request(rst: Node<'_, '_>) -> Result<CertificateRequest, EnrollError> {
    const PATH: &str = "wst:RequestSecurityToken/wsse:BinarySecurityToken";
    let token =
        child(rst, ns::WSSE, "BinarySecurityToken").ok_or(EnrollError::Missing { path: PATH })?;
    let value_type = token
        .attribute("ValueType")
        .map(squash)
        .ok_or(EnrollError::Missing {
            path: "wsse:BinarySecurityToken/@ValueType",
        })?;
    let der = decode_base64(PATH, &text_of(token))?;
    if der.is_empty() {
        return Err(EnrollError::Missing { path: PATH });
    }
    match value_type.as_str() {
        VALUE_TYPE_PKCS10 => Ok(CertificateRequest::Pkcs10(der)),
        VALUE_TYPE_PKCS7 => Ok(CertificateRequest::Pkcs7(der)),
        other => Err(EnrollError::BadValue {
            path: "wsse:BinarySecurityToken/@ValueType",
            value: clip(other),
        }),
    }
}

/// `ac:AdditionalContext` in the namespace real clients use, or in the MS-MDE §2.2.1 `ac:`
/// namespace; optional (an RST without it gets an empty context).
fn read_context(rst: Node<'_, '_>) -> Result<AdditionalContext, EnrollError> {
    let Some((context, namespace)) = [ns::AUTHORIZATION, ns::ENROLLMENT]
        .into_iter()
        .find_map(|namespace| child(rst, namespace, "AdditionalContext").map(|n| (n, namespace)))
    else {
        return Ok(AdditionalContext::default());
    };
    let mut items = Vec::new();
    for item in soap::children(context, namespace, "ContextItem") {
        let name = item
            .attribute("Name")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or(EnrollError::Missing {
                path: "ac:ContextItem/@Name",
            })?;
        let value = child(item, namespace, "Value")
            .map(text_of)
            .unwrap_or_default();
        items.push((name.to_owned(), value));
    }
    Ok(AdditionalContext { items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_is_utc_with_milliseconds() {
        let at = time::macros::datetime!(2018-11-30 01:32:59.420 +01:00);
        assert_eq!(timestamp(at), "2018-11-30T00:32:59.420Z");
        assert_eq!(
            timestamp(at + TIMESTAMP_LIFETIME),
            "2018-11-30T00:37:59.420Z"
        );
    }

    #[test]
    fn platform_rule() {
        let with = |pairs: &[(&str, &str)]| AdditionalContext::from_pairs(pairs.iter().copied());
        let rst = |context| RstRequest {
            header: SoapHeader {
                action: action::RST.into(),
                message_id: soap::MessageId::new("m").unwrap(),
                to: None,
            },
            security: SecurityToken::None,
            kind: RstKind::Standard,
            token_type: TokenType::DeviceEnrollment,
            request_type: RequestType::Issue,
            certificate_request: CertificateRequest::Pkcs10(vec![1]),
            context,
        };
        assert_eq!(
            rst(with(&[("DeviceType", "CIMClient_Windows")])).platform(),
            Platform::Windows81
        );
        assert_eq!(
            rst(with(&[("ApplicationVersion", "8.0.0.0")])).platform(),
            Platform::Windows81
        );
        assert_eq!(
            rst(with(&[("OSVersion", "6.3.9600")])).platform(),
            Platform::Windows81
        );
        assert_eq!(
            rst(with(&[("OSVersion", "10.0.22621.1")])).platform(),
            Platform::Windows10
        );
        assert_eq!(
            rst(with(&[("applicationversion", "10.0.19043.2364")])).platform(),
            Platform::Windows10
        );
    }
}
