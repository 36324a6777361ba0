//! The WS-Security header of GetPolicies and RequestSecurityToken: which credential the client
//! presents.
//!
//! - Federated (MS-MDE §3.3, §3.4; MS-MDE2 same): `wsse:BinarySecurityToken` with ValueType
//!   `…/DeviceEnrollmentUserToken`, the base64 of the opaque token our STS returned in `wresult`.
//! - OnPremise (MS-MDE2; windows-itpro-docs on-premise-authentication-device-enrollment.md, and the
//!   real Windows 10 capture `win10/03`): `wsse:UsernameToken` with `wsse:Username` and
//!   `wsse:Password` of type `…#PasswordText` (the type attribute is sent qualified, `wsse:Type`).
//! - No header: certificate renewal, where the client authenticates with its existing certificate
//!   over TLS (MS-MDE §3.5.4.1.1.1).

use roxmltree::Node;

use crate::error::{EnrollError, clip};
use crate::soap::{attr_any_ns, child, children, is, ns, text_of};
use crate::sts::StsToken;

/// ValueType of the federated user token (MS-MDE §3.3).
pub const USER_TOKEN_VALUE_TYPE: &str = "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentUserToken";
/// EncodingType of every BinarySecurityToken in these messages.
pub const BASE64_ENCODING_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary";
/// `wsse:Password` type for a clear-text password (the only one Windows sends).
pub const PASSWORD_TEXT_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";

/// The credential a GetPolicies or RST request presents in its `wsse:Security` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityToken {
    /// No `wsse:Security` header (renewal over client-certificate TLS). The caller must have
    /// verified the TLS client certificate.
    None,
    /// AuthPolicy Federated: the token our STS issued, base64-decoded from the
    /// `DeviceEnrollmentUserToken`.
    Federated(FederatedToken),
    /// AuthPolicy OnPremise: user name and clear-text password.
    UsernamePassword {
        /// `wsse:Username` (trimmed), typically the UPN the user typed.
        username: String,
        /// `wsse:Password` (not trimmed: spaces can be part of a password).
        password: Password,
    },
}

impl SecurityToken {
    /// The user name the device claims, when the credential names one (OnPremise). For a
    /// federated token the user is whoever our STS issued the token to: look it up by
    /// [`FederatedToken::sts_token`].
    pub fn username(&self) -> Option<&str> {
        match self {
            SecurityToken::UsernamePassword { username, .. } => Some(username),
            _ => None,
        }
    }
}

/// The decoded content of a `DeviceEnrollmentUserToken` (opaque bytes). Debug output is
/// redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct FederatedToken(Vec<u8>);

impl FederatedToken {
    /// The raw token bytes (what the STS put in `wresult`).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The token as one of our STS tokens.
    ///
    /// MS-MDE §3.2 says the string "is HTML encoded before it is base64 encoded"; the five XML
    /// entities and numeric references are therefore decoded first (a no-op for our tokens,
    /// whose alphabet needs no escaping).
    pub fn sts_token(&self) -> Result<StsToken, EnrollError> {
        let text = std::str::from_utf8(&self.0).map_err(|_| EnrollError::InvalidSecurity {
            reason: "user token is not UTF-8".into(),
        })?;
        StsToken::parse(&html_unescape(text.trim()))
    }
}

impl std::fmt::Debug for FederatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FederatedToken(<{} bytes>)", self.0.len())
    }
}

/// A clear-text password. Debug output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The password.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Reads the `wsse:Security` header child of `s:Header`.
pub(crate) fn read_security(header: Node<'_, '_>) -> Result<SecurityToken, EnrollError> {
    let mut headers = children(header, ns::WSSE, "Security");
    let Some(security) = headers.next() else {
        return Ok(SecurityToken::None);
    };
    if headers.next().is_some() {
        return Err(invalid("more than one wsse:Security header"));
    }
    let mut tokens = security
        .children()
        .filter(|n| is(*n, ns::WSSE, "BinarySecurityToken") || is(*n, ns::WSSE, "UsernameToken"));
    let Some(token) = tokens.next() else {
        // A Timestamp alone (or nothing) carries no credential.
        return Ok(SecurityToken::None);
    };
    if tokens.next().is_some() {
        return Err(invalid("more than one credential in wsse:Security"));
    }
    if token.tag_name().name() == "UsernameToken" {
        return read_username_token(token);
    }
    let value_type = token.attribute("ValueType").map(squash).unwrap_or_default();
    if value_type != USER_TOKEN_VALUE_TYPE {
        return Err(invalid(&format!(
            "unsupported BinarySecurityToken ValueType {:?}",
            clip(&value_type)
        )));
    }
    let bytes = decode_base64("wsse:Security/wsse:BinarySecurityToken", &text_of(token))
        .map_err(|_| invalid("user token is not base64"))?;
    if bytes.is_empty() {
        return Err(invalid("empty user token"));
    }
    Ok(SecurityToken::Federated(FederatedToken(bytes)))
}

fn read_username_token(token: Node<'_, '_>) -> Result<SecurityToken, EnrollError> {
    let username = child(token, ns::WSSE, "Username")
        .map(text_of)
        .unwrap_or_default();
    if username.is_empty() {
        return Err(invalid("UsernameToken without Username"));
    }
    let password = child(token, ns::WSSE, "Password")
        .ok_or_else(|| invalid("UsernameToken without Password"))?;
    // WSS UsernameToken profile: the Type attribute defaults to PasswordText.
    let kind = attr_any_ns(password, "Type")
        .map(squash)
        .unwrap_or_else(|| PASSWORD_TEXT_TYPE.to_owned());
    if kind != PASSWORD_TEXT_TYPE {
        return Err(invalid(&format!(
            "unsupported password type {:?}",
            clip(&kind)
        )));
    }
    let value: String = password
        .children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    // Pretty-printed samples put the value on its own line: a value containing a line break is
    // layout and gets trimmed; otherwise the value is kept exactly (spaces can be significant).
    let value = if value.contains(['\r', '\n']) {
        value.trim()
    } else {
        value.as_str()
    };
    Ok(SecurityToken::UsernamePassword {
        username,
        password: Password(value.to_owned()),
    })
}

fn invalid(reason: &str) -> EnrollError {
    EnrollError::InvalidSecurity {
        reason: reason.to_owned(),
    }
}

/// Removes every whitespace character (PDF-wrapped URIs in the spec samples contain some).
pub(crate) fn squash(value: &str) -> String {
    value.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Decodes base64 that may contain line breaks or spaces (pretty-printed or wrapped by the client);
/// padding is optional.
pub(crate) fn decode_base64(path: &'static str, text: &str) -> Result<Vec<u8>, EnrollError> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact = squash(text);
    LENIENT
        .decode(compact.as_bytes())
        .map_err(|e| EnrollError::BadBase64 {
            path,
            detail: e.to_string(),
        })
}

/// Decodes `&amp; &lt; &gt; &quot; &apos;` and numeric character references; anything else is
/// kept as is.
pub(crate) fn html_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let Some(semi) = tail.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => numeric_reference(entity),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn numeric_reference(entity: &str) -> Option<char> {
    let digits = entity.strip_prefix('#')?;
    let code = match digits.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    char::from_u32(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_unescape_handles_known_and_unknown_entities() {
        assert_eq!(
            html_unescape("a&amp;b&#x27;c&#39;&lt;&nbsp;&"),
            "a&b'c'<&nbsp;&"
        );
    }

    #[test]
    fn base64_tolerates_whitespace_and_missing_padding() {
        assert_eq!(decode_base64("x", " TWFu\r\n ZA ").unwrap(), b"Mand");
        assert!(matches!(
            decode_base64("x", "@@@"),
            Err(EnrollError::BadBase64 { path: "x", .. })
        ));
    }

    #[test]
    fn password_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", Password("hunter2".into())),
            "Password(<redacted>)"
        );
    }
}
