//! The SOAP requests of the enrollment client, shaped like the ones Windows sends.
//!
//! Shapes and sources (fixtures listed in `docs/fixtures.md`):
//! - Discover, Windows 8.1: MS-MDE §4.1.1 (`mde1-spec-win81/01`): `EmailAddress` and an empty
//!   `RequestVersion`, nothing else.
//! - Discover, Windows 10/11: the real Windows 10 19043 request (`win10-real-fleet-dump/01`):
//!   `RequestVersion`, `DeviceType`, `ApplicationVersion`, `OSEdition`, `AuthPolicies`
//!   (OnPremise, Federated).
//! - GetPolicies: the real Windows 10 request (`win10-real-fleet-dump/03`): nil `lastUpdate`,
//!   `preferredLanguage` and `requestFilter`; the credential in `wsse:Security`
//!   (UsernameToken for OnPremise, a `DeviceEnrollmentUserToken` BinarySecurityToken for
//!   Federated as MS-MDE §3.3 describes).
//! - RequestSecurityToken: the real Windows 10 request (`win10-real-fleet-dump/05`): the CSR
//!   as a `#PKCS10` BinarySecurityToken and `ac:AdditionalContext` in the
//!   `…/ws/2006/12/authorization` namespace.
//!
//! Every message gets the WS-Addressing header Windows sends: `a:Action` and `a:To` with
//! `s:mustUnderstand="1"`, `a:MessageID` `urn:uuid:<uuid>`, `a:ReplyTo` anonymous. The caller
//! supplies the UUID (fresh per message; tests pass fixed ones).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use casement_enroll::{
    AuthPolicy, BASE64_ENCODING_TYPE, EnrollmentVersion, PASSWORD_TEXT_TYPE, REQUEST_TYPE_ISSUE,
    TOKEN_TYPE_DEVICE_ENROLLMENT, USER_TOKEN_VALUE_TYPE, VALUE_TYPE_PKCS10, action, ns,
};
use uuid::Uuid;

use super::{Hardware, WindowsRelease};

/// `a:ReplyTo/a:Address` of every request.
pub const ANONYMOUS: &str = "http://www.w3.org/2005/08/addressing/anonymous";

/// The authentication policies a Windows 10/11 device offers in Discover, in its order.
pub const OFFERED_AUTH_POLICIES: [AuthPolicy; 2] = [AuthPolicy::OnPremise, AuthPolicy::Federated];

/// A request envelope and the MessageID the response must relate to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapRequest {
    /// `urn:uuid:<uuid>`.
    pub message_id: String,
    /// The envelope (UTF-8).
    pub xml: String,
}

/// The credential presented in the `wsse:Security` header of GetPolicies and
/// RequestSecurityToken. `Debug` redacts secrets.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// AuthPolicy Federated: the `wresult` token the sign-in page returned (sent base64 in a
    /// `DeviceEnrollmentUserToken`).
    Federated {
        /// The token as taken from the form (after HTML entity decoding, as a browser submits
        /// it).
        token: String,
    },
    /// AuthPolicy OnPremise: `wsse:UsernameToken` with a clear-text password.
    OnPremise {
        /// `wsse:Username` (the UPN the user typed).
        username: String,
        /// `wsse:Password` (`#PasswordText`).
        password: String,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Federated { .. } => f.write_str("Federated(<token>)"),
            Credential::OnPremise { username, .. } => {
                write!(f, "OnPremise({username:?}, <password>)")
            }
        }
    }
}

/// `Discover` to `to` for `email`.
///
/// Windows 8.1 sends the MS-MDE shape (no device information; MS-MDE §3.1.4.1.3.1 "The value
/// MUST be set to nil" for RequestVersion, sent as an empty element like the spec sample).
/// Windows 10/11 send the MS-MDE2 shape with [`WindowsRelease::request_version`],
/// `ApplicationVersion` = the OS build and the device's `OSEdition`, offering
/// [`OFFERED_AUTH_POLICIES`].
pub fn discover(
    to: &str,
    message_id: Uuid,
    email: &str,
    platform: WindowsRelease,
    hardware: &Hardware,
) -> SoapRequest {
    let (message_id, mut xml) = envelope_start(action::DISCOVER, to, message_id, "");
    xml.push_str("<s:Body>");
    xml.push_str(&format!("<Discover xmlns=\"{}\">", ns::DISCOVERY));
    xml.push_str(&format!("<request xmlns:i=\"{}\">", ns::XSI));
    element(&mut xml, "EmailAddress", email);
    match platform.request_version() {
        None => xml.push_str("<RequestVersion></RequestVersion>"),
        Some(version) => {
            element(&mut xml, "RequestVersion", &version.to_string());
            element(&mut xml, "DeviceType", "CIMClient_Windows");
            element(&mut xml, "ApplicationVersion", &hardware.os_version);
            element(&mut xml, "OSEdition", &hardware.os_edition.to_string());
            xml.push_str("<AuthPolicies>");
            for policy in OFFERED_AUTH_POLICIES {
                element(&mut xml, "AuthPolicy", policy.as_str());
            }
            xml.push_str("</AuthPolicies>");
        }
    }
    xml.push_str("</request></Discover></s:Body></s:Envelope>");
    SoapRequest { message_id, xml }
}

/// XCEP `GetPolicies` to `to` (the `EnrollmentPolicyServiceUrl`) presenting `credential`.
///
/// The body is the real Windows 10 one (lower-case `client`, every field nil). The MS-MDE §4.2.1
/// sample (Windows 8.1) shows `Client` with a `lastUpdate` of `0001-01-01T00:00:00`, but that
/// sample is not namespace-well-formed and the XCEP schema names the element `client`; the 8.1
/// body is therefore inferred to be the same.
pub fn get_policies(to: &str, message_id: Uuid, credential: &Credential) -> SoapRequest {
    let security = security_header(credential, message_id);
    let (message_id, mut xml) = envelope_start(action::GET_POLICIES, to, message_id, &security);
    xml.push_str(&format!(
        "<s:Body xmlns:xsi=\"{}\" xmlns:xsd=\"{}\">",
        ns::XSI,
        ns::XSD
    ));
    xml.push_str(&format!("<GetPolicies xmlns=\"{}\">", ns::XCEP));
    xml.push_str(
        "<client><lastUpdate xsi:nil=\"true\"/><preferredLanguage xsi:nil=\"true\"/></client>",
    );
    xml.push_str("<requestFilter xsi:nil=\"true\"/>");
    xml.push_str("</GetPolicies></s:Body></s:Envelope>");
    SoapRequest { message_id, xml }
}

/// WSTEP `RequestSecurityToken` (Issue) to `to` (the `EnrollmentServiceUrl`) with the DER
/// PKCS#10 `csr_der` and the `ac:AdditionalContext` items `context` (see
/// [`additional_context`]).
pub fn request_security_token(
    to: &str,
    message_id: Uuid,
    credential: &Credential,
    csr_der: &[u8],
    context: &[(String, String)],
) -> SoapRequest {
    let security = security_header(credential, message_id);
    let (message_id, mut xml) = envelope_start(action::RST, to, message_id, &security);
    xml.push_str("<s:Body><wst:RequestSecurityToken>");
    element(&mut xml, "wst:TokenType", TOKEN_TYPE_DEVICE_ENROLLMENT);
    element(&mut xml, "wst:RequestType", REQUEST_TYPE_ISSUE);
    xml.push_str(&format!(
        "<wsse:BinarySecurityToken ValueType=\"{VALUE_TYPE_PKCS10}\" EncodingType=\"{BASE64_ENCODING_TYPE}\">{}</wsse:BinarySecurityToken>",
        STANDARD.encode(csr_der)
    ));
    xml.push_str(&format!(
        "<ac:AdditionalContext xmlns=\"{}\">",
        ns::AUTHORIZATION
    ));
    for (name, value) in context {
        xml.push_str(&format!(
            "<ac:ContextItem Name=\"{}\"><ac:Value>{}</ac:Value></ac:ContextItem>",
            escape(name),
            escape(value)
        ));
    }
    xml.push_str("</ac:AdditionalContext></wst:RequestSecurityToken></s:Body></s:Envelope>");
    SoapRequest { message_id, xml }
}

/// The `ac:AdditionalContext` items of the RST, in the order the device sends them.
///
/// Windows 10/11 — known, from the real Windows 10 19043 request (`win10-real-fleet-dump/05`):
/// `UXInitiated`, `HWDevID`, `Locale`, `TargetedUserLoggedIn`, `OSEdition`, `DeviceName`, one
/// `MAC` per adapter, `DeviceID`, `EnrollmentType` = `Full`, `DeviceType`, `OSVersion`,
/// `ApplicationVersion`, `NotInOobe`. `IMEI` (MS-MDE2 §3.4.4.1.1.1.1) is added after the MACs
/// only for a device with a modem. `RequestVersion` = the negotiated EnrollmentVersion is
/// added for Windows 11 only: 19043 did not send it with EnrollmentVersion 4.0, a Windows 11
/// did (docs/protocol.md §1.7; MS-MDE2 lists it with the 5.0 items).
///
/// Windows 8.1 — known: `DeviceType` = `CIMClient_Windows` is the one item MS-MDE §3.4.4.1.1.1
/// requires (and the only one in its §4.3.1 sample). Inferred (no 8.1 capture exists):
/// `ApplicationVersion` and `OSVersion` = the 6.3.9600.x build, `DeviceID`, `HWDevID` and
/// `DeviceName`, which the 8.1 agent has (it reports DeviceID as `MDM_Client.DeviceClientID`)
/// and which let the server name the device; their major version 6 keeps the request
/// recognisable as Windows 8.1 (`RstRequest::platform`).
pub fn additional_context(
    platform: WindowsRelease,
    device_id: &str,
    device_name: &str,
    hardware: &Hardware,
    enrollment_version: Option<EnrollmentVersion>,
) -> Vec<(String, String)> {
    let mut items: Vec<(&str, String)> = Vec::new();
    if platform == WindowsRelease::Windows81 {
        items.push(("DeviceType", "CIMClient_Windows".into()));
        items.push(("ApplicationVersion", hardware.os_version.clone()));
        items.push(("OSVersion", hardware.os_version.clone()));
        items.push(("DeviceID", device_id.into()));
        items.push(("HWDevID", hardware.hw_dev_id.clone()));
        items.push(("DeviceName", device_name.into()));
    } else {
        items.push(("UXInitiated", "true".into()));
        items.push(("HWDevID", hardware.hw_dev_id.clone()));
        items.push(("Locale", hardware.locale.clone()));
        items.push(("TargetedUserLoggedIn", "true".into()));
        items.push(("OSEdition", hardware.os_edition.to_string()));
        items.push(("DeviceName", device_name.into()));
        for mac in &hardware.macs {
            items.push(("MAC", mac.clone()));
        }
        if let Some(imei) = &hardware.imei {
            items.push(("IMEI", imei.clone()));
        }
        items.push(("DeviceID", device_id.into()));
        items.push(("EnrollmentType", "Full".into()));
        items.push(("DeviceType", "CIMClient_Windows".into()));
        items.push(("OSVersion", hardware.os_version.clone()));
        items.push(("ApplicationVersion", hardware.os_version.clone()));
        items.push(("NotInOobe", "false".into()));
        if platform == WindowsRelease::Windows11 {
            let version = enrollment_version
                .or(platform.request_version())
                .unwrap_or(EnrollmentVersion::V4_0);
            items.push(("RequestVersion", version.to_string()));
        }
    }
    items
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// Opens the envelope and writes the header; returns the MessageID and the text so far.
/// `extra_header` is appended inside `s:Header` (the WS-Security block).
fn envelope_start(
    action: &str,
    to: &str,
    message_id: Uuid,
    extra_header: &str,
) -> (String, String) {
    let message_id = format!("urn:uuid:{}", message_id.hyphenated());
    let mut xml = String::with_capacity(4096);
    if extra_header.is_empty() {
        // Discover: only the two namespaces it uses, like `win10-real-fleet-dump/01`.
        xml.push_str(&format!(
            "<s:Envelope xmlns:a=\"{}\" xmlns:s=\"{}\">",
            ns::WSA,
            ns::SOAP12
        ));
    } else {
        // GetPolicies and RST declare the same six, like `win10-real-fleet-dump/03` and `/05`.
        xml.push_str(&format!(
            "<s:Envelope xmlns:s=\"{}\" xmlns:a=\"{}\" xmlns:u=\"{}\" xmlns:wsse=\"{}\" xmlns:wst=\"{}\" xmlns:ac=\"{}\">",
            ns::SOAP12,
            ns::WSA,
            ns::WSU,
            ns::WSSE,
            ns::WST,
            ns::AUTHORIZATION
        ));
    }
    xml.push_str("<s:Header>");
    xml.push_str(&format!(
        "<a:Action s:mustUnderstand=\"1\">{}</a:Action>",
        escape(action)
    ));
    element(&mut xml, "a:MessageID", &message_id);
    xml.push_str(&format!(
        "<a:ReplyTo><a:Address>{ANONYMOUS}</a:Address></a:ReplyTo>"
    ));
    xml.push_str(&format!(
        "<a:To s:mustUnderstand=\"1\">{}</a:To>",
        escape(to)
    ));
    xml.push_str(extra_header);
    xml.push_str("</s:Header>");
    (message_id, xml)
}

fn security_header(credential: &Credential, message_id: Uuid) -> String {
    match credential {
        Credential::Federated { token } => format!(
            "<wsse:Security s:mustUnderstand=\"1\"><wsse:BinarySecurityToken ValueType=\"{USER_TOKEN_VALUE_TYPE}\" EncodingType=\"{BASE64_ENCODING_TYPE}\">{}</wsse:BinarySecurityToken></wsse:Security>",
            STANDARD.encode(token.as_bytes())
        ),
        Credential::OnPremise { username, password } => format!(
            "<wsse:Security s:mustUnderstand=\"1\"><wsse:UsernameToken u:Id=\"uuid-{}-1\"><wsse:Username>{}</wsse:Username><wsse:Password wsse:Type=\"{PASSWORD_TEXT_TYPE}\">{}</wsse:Password></wsse:UsernameToken></wsse:Security>",
            message_id.hyphenated(),
            escape(username),
            escape(password)
        ),
    }
}

/// `<name>escaped text</name>`.
fn element(xml: &mut String, name: &str, text: &str) {
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
    xml.push_str(&escape(text));
    xml.push_str("</");
    xml.push_str(name);
    xml.push('>');
}

/// Escapes text for element content and double-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_drops_control_characters() {
        assert_eq!(escape("a<b>&\"c'\u{1}\n"), "a&lt;b&gt;&amp;&quot;c&apos;\n");
    }

    #[test]
    fn credential_debug_is_redacted() {
        let c = Credential::OnPremise {
            username: "u@x".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        let c = Credential::Federated {
            token: "cst1.secret".into(),
        };
        assert!(!format!("{c:?}").contains("secret"));
    }
}
