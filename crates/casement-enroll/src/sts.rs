//! The Federated security token service (MS-MDE §3.2) as pure functions: the query and form
//! parsers, the sign-in page, the auto-posting `wresult` page, the `appru` guard and the token
//! format.
//!
//! Flow: the enrollment client opens `AuthenticationServiceUrl?appru=<ms-app://…>&login_hint=<UPN>`
//! in its web authentication broker; the STS authenticates the user and answers an HTML form that
//! posts hidden field `wresult` (the token) to `appru`; the client base64-encodes that token into
//! the `DeviceEnrollmentUserToken` of GetPolicies and RequestSecurityToken. The token is opaque
//! to the client. Issuing and verifying tokens needs storage (they are single-use and expire), so
//! it is not done here: [`StsToken`] only fixes their format.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{EnrollError, clip};

/// `Content-Type` of the STS pages.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// A validated `appru`: the `ms-app://` URI the STS form posts back to.
///
/// Only `ms-app://` is accepted (MS-MDE §3.2: "`<appid>` is of the form `ms-app://string`"); any other
/// scheme would make the STS an open redirect that posts a user's token to an attacker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appru(String);

impl Appru {
    /// Parses an `appru` (already percent-decoded). Refuses other schemes, an empty app id,
    /// more than 512 characters, whitespace, control characters, noncharacters (U+FDD0–U+FDEF,
    /// U+xFFFE, U+xFFFF: no IRI may hold them, RFC 3987 `ucschar`) and `" ' < > \ `` ` ``.
    pub fn parse(value: &str) -> Result<Appru, EnrollError> {
        let bad = || EnrollError::BadAppru { appru: clip(value) };
        let scheme_ok = value
            .get(..9)
            .is_some_and(|s| s.eq_ignore_ascii_case("ms-app://"));
        if !scheme_ok || value.len() <= 9 || value.chars().count() > 512 {
            return Err(bad());
        }
        if value.chars().any(|c| {
            c.is_whitespace() || c.is_control() || is_noncharacter(c) || "\"'<>\\`".contains(c)
        }) {
            return Err(bad());
        }
        Ok(Appru(value.to_owned()))
    }

    /// The URI.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The query of the STS `GET` (`appru`, `login_hint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsQuery {
    /// Where to post the token.
    pub appru: Appru,
    /// The UPN the user typed in the enrollment client (a hint; may be absent).
    pub login_hint: Option<String>,
}

impl StsQuery {
    /// Parses a URL query string (without `?`), percent-decoding names and values.
    pub fn parse(query: &str) -> Result<StsQuery, EnrollError> {
        let pairs = form_pairs(query);
        let appru = pairs
            .iter()
            .find(|(k, _)| k == "appru")
            .map(|(_, v)| v.as_str());
        let appru = Appru::parse(appru.ok_or(EnrollError::Missing { path: "?appru" })?)?;
        let login_hint = pairs
            .iter()
            .find(|(k, _)| k == "login_hint")
            .map(|(_, v)| v.trim().to_owned())
            .filter(|h| !h.is_empty());
        Ok(StsQuery { appru, login_hint })
    }
}

/// The fields the sign-in form posts back (`application/x-www-form-urlencoded`).
#[derive(Clone, PartialEq, Eq)]
pub struct SignInForm {
    /// `username` (trimmed).
    pub username: String,
    /// `password` (as typed).
    pub password: String,
    /// `appru`, carried through.
    pub appru: Appru,
    /// `login_hint`, carried through.
    pub login_hint: Option<String>,
    /// `csrf`, if the page carried one.
    pub csrf_token: Option<String>,
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("appru", &self.appru)
            .field("login_hint", &self.login_hint)
            .finish_non_exhaustive()
    }
}

impl SignInForm {
    /// Parses the form body.
    pub fn parse(body: &str) -> Result<SignInForm, EnrollError> {
        let pairs = form_pairs(body);
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let username = get("username")
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        let username = username.ok_or(EnrollError::Missing {
            path: "form username",
        })?;
        let password = get("password").ok_or(EnrollError::Missing {
            path: "form password",
        })?;
        let appru =
            Appru::parse(&get("appru").ok_or(EnrollError::Missing { path: "form appru" })?)?;
        let login_hint = get("login_hint")
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty());
        let csrf_token = get("csrf").filter(|c| !c.is_empty());
        Ok(SignInForm {
            username,
            password,
            appru,
            login_hint,
            csrf_token,
        })
    }
}

/// What the sign-in page shows and carries.
#[derive(Debug, Clone, Copy)]
pub struct SignInPage<'a> {
    /// Where the form posts (our STS URL).
    pub form_action: &'a str,
    /// Carried through as a hidden field.
    pub appru: &'a Appru,
    /// Pre-fills the user name and is carried through.
    pub login_hint: Option<&'a str>,
    /// An error to show (e.g. "Wrong user name or password."), escaped.
    pub error: Option<&'a str>,
    /// The service name in the title and heading.
    pub service_name: &'a str,
    /// Optional anti-CSRF value, posted back as `csrf`.
    pub csrf_token: Option<&'a str>,
}

/// Renders the sign-in form page. Every interpolated value is HTML-escaped; the markup is also
/// well-formed XML (the tests parse it).
pub fn sign_in_page(page: &SignInPage<'_>) -> String {
    let name = html_escape(page.service_name);
    let mut out = String::with_capacity(2048);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    out.push_str(&format!(
        "<title>{name}: sign in</title>\n</head>\n<body>\n<h1>{name}</h1>\n"
    ));
    if let Some(error) = page.error {
        out.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n",
            html_escape(error)
        ));
    }
    out.push_str(&format!(
        "<form method=\"post\" action=\"{}\">\n",
        html_escape(page.form_action)
    ));
    out.push_str(&hidden("appru", page.appru.as_str()));
    if let Some(hint) = page.login_hint {
        out.push_str(&hidden("login_hint", hint));
    }
    if let Some(csrf) = page.csrf_token {
        out.push_str(&hidden("csrf", csrf));
    }
    let user = html_escape(page.login_hint.unwrap_or(""));
    out.push_str(&format!(
        "<p><label for=\"username\">User name</label> <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" value=\"{user}\" required=\"required\"/></p>\n"
    ));
    out.push_str("<p><label for=\"password\">Password</label> <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required=\"required\"/></p>\n");
    out.push_str("<p><input type=\"submit\" value=\"Sign in\"/></p>\n</form>\n</body>\n</html>\n");
    out
}

/// Renders the auto-posting page of MS-MDE §3.2: a form `method="post" action="<appru>"` with the
/// hidden input `wresult`, submitted on load (and by a button when scripts are off).
pub fn auto_post_page(appru: &Appru, wresult: &str) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\"/>\n<title>Working...</title>\n",
    );
    out.push_str("<script>\nfunction formSubmit() { document.forms[0].submit(); }\nwindow.onload = formSubmit;\n</script>\n");
    out.push_str("</head>\n<body>\n");
    out.push_str(&format!(
        "<form method=\"post\" action=\"{}\">\n",
        html_escape(appru.as_str())
    ));
    out.push_str(&format!(
        "<p><input type=\"hidden\" name=\"wresult\" value=\"{}\"/></p>\n",
        html_escape(wresult)
    ));
    out.push_str("<input type=\"submit\"/>\n</form>\n</body>\n</html>\n");
    out
}

/// The format of the tokens our STS issues: `cst1.` followed by the unpadded base64url of 32
/// random bytes (the id under which the server stores user, expiry and "used" flag).
///
/// The alphabet needs no HTML, URL or XML escaping, so the MS-MDE "HTML-encoded before base64"
/// step is a no-op for it. Randomness comes from the caller.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StsToken(String);

impl StsToken {
    /// Prefix of the current format.
    pub const PREFIX: &'static str = "cst1.";

    /// A token from 32 random bytes supplied by the caller (use a CSPRNG).
    pub fn from_random(bytes: [u8; 32]) -> StsToken {
        StsToken(format!(
            "{}{}",
            StsToken::PREFIX,
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// Parses a token string. The error is [`EnrollError::InvalidSecurity`], since tokens arrive
    /// in the WS-Security header.
    pub fn parse(value: &str) -> Result<StsToken, EnrollError> {
        let bad = || EnrollError::InvalidSecurity {
            reason: "user token is not a token of this server".into(),
        };
        let body = value.strip_prefix(StsToken::PREFIX).ok_or_else(bad)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
        if bytes.len() != 32 {
            return Err(bad());
        }
        Ok(StsToken(value.to_owned()))
    }

    /// The 32 id bytes (the storage key; store a hash of them if the store may leak).
    pub fn id(&self) -> [u8; 32] {
        let mut id = [0u8; 32];
        if let Some(body) = self.0.strip_prefix(StsToken::PREFIX)
            && let Ok(bytes) = URL_SAFE_NO_PAD.decode(body)
            && bytes.len() == 32
        {
            id.copy_from_slice(&bytes);
        }
        id
    }

    /// The token text (the `wresult` value).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for StsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StsToken(<redacted>)")
    }
}

/// Unicode noncharacters: U+FDD0–U+FDEF and the last two code points of every plane.
fn is_noncharacter(c: char) -> bool {
    let c = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&c) || c & 0xFFFE == 0xFFFE
}

/// HTML-escapes text for element content and double- or single-quoted attributes. Control
/// characters other than tab and newline, and U+FFFE/U+FFFF (not characters in XML 1.0), are
/// dropped, so the pages stay well-formed XML whatever the peer sent.
pub fn html_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\"/>\n",
        html_escape(name),
        html_escape(value)
    )
}

/// Splits `a=b&c=d`, decoding `+` and `%XX` (invalid escapes are kept literally, invalid UTF-8
/// is replaced).
fn form_pairs(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                // Two hex digits exactly: `u8::from_str_radix` alone also takes a sign ("%+c").
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(decoded) => {
                        out.push(decoded);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18 (fuzz target `sts_form`): `appru=ms-app://` + U+FFFF was accepted, and the
    /// sign-in and auto-post pages then carried a character XML 1.0 does not allow.
    #[test]
    fn regression_issue_18_noncharacters_stay_out_of_the_sts_pages() {
        let query = include_str!("../testdata/fuzz-regressions/sts_form/appru-noncharacter.txt");
        assert!(matches!(
            StsQuery::parse(query),
            Err(EnrollError::BadAppru { .. })
        ));
        for bad in [
            "ms-app://a\u{fffe}",
            "ms-app://a\u{fdd0}",
            "ms-app://a\u{10ffff}",
        ] {
            assert!(Appru::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Appru::parse("ms-app://S-1-15-2-1\u{e9}").is_ok());
        // Peer text elsewhere (login_hint, error messages) is escaped without them.
        let appru = Appru::parse("ms-app://windows.immersivecontrolpanel").unwrap();
        let html = sign_in_page(&SignInPage {
            form_action: "/sts",
            appru: &appru,
            login_hint: Some("a\u{ffff}b\u{fffe}c"),
            error: Some("\u{ffff}"),
            service_name: "Casement",
            csrf_token: None,
        });
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        let doc = roxmltree::Document::parse_with_options(&html, options).unwrap();
        let hint = doc
            .descendants()
            .find(|n| n.attribute("name") == Some("login_hint"))
            .and_then(|n| n.attribute("value"));
        assert_eq!(hint, Some("abc"));
    }

    /// Issue 18 (fuzz target `sts_form`): `%+c` decoded to U+000C, because
    /// `u8::from_str_radix` takes a sign; a `%` not followed by two hex digits is kept.
    #[test]
    fn regression_issue_18_percent_needs_two_hex_digits() {
        let query = include_str!("../testdata/fuzz-regressions/sts_form/percent-plus-sign.txt");
        let q = StsQuery::parse(query).unwrap();
        assert_eq!(q.login_hint.as_deref(), Some("% c"));
        assert_eq!(percent_decode("%-1%+F%2B%4"), "%-1% F+%4");
    }

    #[test]
    fn appru_guard() {
        assert!(Appru::parse("ms-app://windows.immersivecontrolpanel").is_ok());
        assert!(Appru::parse("MS-APP://S-1-15-2-1").is_ok());
        for bad in [
            "https://evil.example/",
            "ms-app://",
            "javascript:alert(1)",
            "ms-app://a\"><script>",
            "ms-app://a b",
            "",
        ] {
            assert!(
                matches!(Appru::parse(bad), Err(EnrollError::BadAppru { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn query_is_percent_decoded() {
        let q = StsQuery::parse(
            "appru=ms-app%3A%2F%2Fwindows.immersivecontrolpanel&login_hint=john%40contoso.com",
        )
        .unwrap();
        assert_eq!(q.appru.as_str(), "ms-app://windows.immersivecontrolpanel");
        assert_eq!(q.login_hint.as_deref(), Some("john@contoso.com"));
        assert!(matches!(
            StsQuery::parse("login_hint=x"),
            Err(EnrollError::Missing { .. })
        ));
        assert!(matches!(
            StsQuery::parse("appru=https%3A%2F%2Fevil"),
            Err(EnrollError::BadAppru { .. })
        ));
    }

    #[test]
    fn form_parses_and_redacts() {
        let f = SignInForm::parse(
            "username=+bob%40x.org+&password=p%26ss+w&appru=ms-app%3A%2F%2Fa&csrf=c1",
        )
        .unwrap();
        assert_eq!(
            (
                f.username.as_str(),
                f.password.as_str(),
                f.csrf_token.as_deref()
            ),
            ("bob@x.org", "p&ss w", Some("c1"))
        );
        assert!(!format!("{f:?}").contains("p&ss"));
    }

    #[test]
    fn token_round_trip() {
        let t = StsToken::from_random([7; 32]);
        assert!(t.as_str().starts_with("cst1."));
        assert_eq!(StsToken::parse(t.as_str()).unwrap().id(), [7; 32]);
        assert!(StsToken::parse("cst1.AAAA").is_err());
        assert!(StsToken::parse("other").is_err());
    }
}
