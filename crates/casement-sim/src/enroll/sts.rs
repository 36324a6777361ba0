//! The Federated sign-in (MS-MDE §3.2) as the device's web authentication broker does it:
//! open `AuthenticationServiceUrl?appru=<ms-app://…>&login_hint=<UPN>`, fill the sign-in form,
//! submit it, and take the hidden `wresult` of the auto-posting form that targets `appru`.
//!
//! The HTML is read like a browser reads it, not as XML: a small tolerant tokenizer finds the
//! `<form>` elements and their `<input>`s (quoted, single-quoted, unquoted and bare attributes,
//! character references, comments, `<script>` bodies). Nothing here is specific to Casement's
//! own pages (`casement_enroll::sts`), which the tests use as one example.

mod html;

use crate::enroll::WindowsRelease;
use crate::http::{HttpRequest, Method, Transport, TransportError};

pub use html::{FormInput, HtmlForm, alert_texts, parse_forms};

/// The `appru` the Windows Settings app passes (MS-MDE §3.2 sample form, `ms-app://` +
/// the PC settings app id).
pub const APPRU: &str = "ms-app://windows.immersivecontrolpanel";

/// `Content-Type` of a submitted form.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// What went wrong while signing in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StsError {
    /// `AuthenticationServiceUrl` (or a form action) is not a usable URL.
    #[error("URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The request did not complete.
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// The sign-in page answered an error status.
    #[error("sign-in page {url} answered HTTP {status}{}", message_suffix(.message))]
    HttpStatus {
        /// The page.
        url: String,
        /// The status.
        status: u16,
        /// Error text shown on the page, if any.
        message: String,
    },
    /// The page has no form with a password field (and no token either).
    #[error("sign-in page {url} has no form with a password field")]
    NoSignInForm {
        /// The page.
        url: String,
    },
    /// After submitting, the sign-in form came back: the credentials were refused.
    #[error("sign-in refused (HTTP {status}){}", message_suffix(.message))]
    Refused {
        /// The status of the answer.
        status: u16,
        /// Error text shown on the page, if any.
        message: String,
    },
    /// After submitting, the answer has no form carrying `wresult`.
    #[error("the answer to the sign-in (HTTP {status}) carries no wresult form")]
    NoToken {
        /// The status of the answer.
        status: u16,
    },
    /// The `wresult` form does not post to `appru` (MS-MDE §3.2: `action="<appru>"`).
    #[error("the wresult form posts to {action:?}, not to appru {appru:?}")]
    WrongTarget {
        /// Where it posts.
        action: String,
        /// The appru we passed.
        appru: String,
    },
    /// `wresult` is empty.
    #[error("empty wresult")]
    EmptyToken,
}

/// Signs `upn` in at the STS and returns the `wresult` token.
///
/// Requests go out with a browser User-Agent ([`WindowsRelease::browser_user_agent`]) and follow
/// redirects. A page that already carries the `wresult` form (single sign-on) is accepted
/// without submitting credentials.
pub async fn sign_in<T: Transport>(
    transport: &T,
    platform: WindowsRelease,
    authentication_service_url: &str,
    upn: &str,
    password: &str,
) -> Result<String, StsError> {
    let url = sign_in_url(authentication_service_url, APPRU, upn)?;
    let page = transport
        .send(browser_request(HttpRequest::get(&url), platform))
        .await?;
    let html = String::from_utf8_lossy(&page.body);
    if page.status != 200 {
        return Err(StsError::HttpStatus {
            url,
            status: page.status,
            message: alert_texts(&html).join(" "),
        });
    }
    let forms = parse_forms(&html);
    if let Some(token) = find_token(&forms, APPRU)? {
        return Ok(token);
    }
    let form = forms
        .iter()
        .find(|f| f.has_password_field())
        .ok_or_else(|| StsError::NoSignInForm { url: url.clone() })?;
    let fields = form.fill_sign_in(upn, password);
    let target = resolve(&page.url, form.action.as_deref())?;
    let submit = match form.method {
        Method::Post => HttpRequest::post(
            &target,
            FORM_CONTENT_TYPE,
            form_urlencode(&fields).into_bytes(),
        ),
        Method::Get => HttpRequest::get(&with_query(&target, &form_urlencode(&fields))?),
    };
    let answer = transport.send(browser_request(submit, platform)).await?;
    let html = String::from_utf8_lossy(&answer.body);
    let forms = parse_forms(&html);
    if answer.status == 200
        && let Some(token) = find_token(&forms, APPRU)?
    {
        return Ok(token);
    }
    if forms.iter().any(HtmlForm::has_password_field) || (400..500).contains(&answer.status) {
        return Err(StsError::Refused {
            status: answer.status,
            message: alert_texts(&html).join(" "),
        });
    }
    Err(StsError::NoToken {
        status: answer.status,
    })
}

/// `<base>?appru=<appru>&login_hint=<upn>` with both values form-encoded
/// (`ms-app%3A%2F%2Fwindows.immersivecontrolpanel`), appended with `&` when the URL already has
/// a query.
pub fn sign_in_url(base: &str, appru: &str, login_hint: &str) -> Result<String, StsError> {
    let query = form_urlencode(&[
        ("appru".to_owned(), appru.to_owned()),
        ("login_hint".to_owned(), login_hint.to_owned()),
    ]);
    with_query(base, &query)
}

/// The token of the first form carrying a `wresult` input, after checking that the form posts
/// to `appru`; `None` when no form carries one.
pub fn find_token(forms: &[HtmlForm], appru: &str) -> Result<Option<String>, StsError> {
    let Some((form, input)) = forms
        .iter()
        .find_map(|f| f.input("wresult").map(|i| (f, i)))
    else {
        return Ok(None);
    };
    let action = form.action.as_deref().unwrap_or_default().trim();
    if !action.eq_ignore_ascii_case(appru) {
        return Err(StsError::WrongTarget {
            action: action.to_owned(),
            appru: appru.to_owned(),
        });
    }
    if input.value.is_empty() {
        return Err(StsError::EmptyToken);
    }
    Ok(Some(input.value.clone()))
}

/// `application/x-www-form-urlencoded` serialisation (WHATWG URL: `*-._` and alphanumerics
/// kept, space as `+`, everything else `%XX` of its UTF-8 bytes).
pub fn form_urlencode(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn browser_request(request: HttpRequest, platform: WindowsRelease) -> HttpRequest {
    request
        .header("User-Agent", platform.browser_user_agent())
        .header("Accept", "text/html, application/xhtml+xml, */*")
        .following_redirects()
}

fn message_suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// Resolves a form `action` against the page URL (absent or empty → the page itself).
fn resolve(page: &str, action: Option<&str>) -> Result<String, StsError> {
    let base = reqwest::Url::parse(page).map_err(|e| StsError::BadUrl {
        url: page.to_owned(),
        reason: e.to_string(),
    })?;
    let action = action.map(str::trim).filter(|a| !a.is_empty());
    let Some(action) = action else {
        return Ok(base.to_string());
    };
    base.join(action)
        .map(|u| u.to_string())
        .map_err(|e| StsError::BadUrl {
            url: action.to_owned(),
            reason: e.to_string(),
        })
}

/// Appends `query` to `url` (`?` or `&`), dropping any fragment.
fn with_query(url: &str, query: &str) -> Result<String, StsError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| StsError::BadUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(StsError::BadUrl {
            url: url.to_owned(),
            reason: "not an http(s) URL".into(),
        });
    }
    let mut out = parsed;
    out.set_fragment(None);
    let combined = match out.query().filter(|q| !q.is_empty()) {
        Some(existing) => format!("{existing}&{query}"),
        None => query.to_owned(),
    };
    out.set_query(Some(&combined));
    Ok(out.to_string())
}

fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use casement_enroll::sts::{Appru, SignInPage, auto_post_page, sign_in_page};

    fn appru() -> Appru {
        Appru::parse(APPRU).unwrap()
    }

    #[test]
    fn casement_sign_in_page_is_filled_like_a_browser() {
        let appru = appru();
        let html = sign_in_page(&SignInPage {
            form_action: "/EnrollmentServer/Sts",
            appru: &appru,
            login_hint: Some("ann@example.com"),
            error: None,
            service_name: "Casement",
            csrf_token: Some("c&1"),
        });
        let forms = parse_forms(&html);
        assert_eq!(forms.len(), 1);
        let form = &forms[0];
        assert_eq!(form.action.as_deref(), Some("/EnrollmentServer/Sts"));
        assert_eq!(form.method, Method::Post);
        assert!(form.has_password_field());
        let fields = form.fill_sign_in("ann@example.com", "p&ss word");
        let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("appru"), Some(APPRU));
        assert_eq!(get("login_hint"), Some("ann@example.com"));
        assert_eq!(get("csrf"), Some("c&1"));
        assert_eq!(get("username"), Some("ann@example.com"));
        assert_eq!(get("password"), Some("p&ss word"));
        // What the server's own form parser reads back from our submission.
        let posted = casement_enroll::sts::SignInForm::parse(&form_urlencode(&fields)).unwrap();
        assert_eq!(posted.username, "ann@example.com");
        assert_eq!(posted.password, "p&ss word");
        assert_eq!(posted.appru.as_str(), APPRU);
        assert_eq!(posted.csrf_token.as_deref(), Some("c&1"));
    }

    #[test]
    fn sign_in_page_error_text_is_found() {
        let appru = appru();
        let html = sign_in_page(&SignInPage {
            form_action: "/sts",
            appru: &appru,
            login_hint: None,
            error: Some("The user name or password is incorrect."),
            service_name: "Casement",
            csrf_token: None,
        });
        assert_eq!(
            alert_texts(&html),
            vec!["The user name or password is incorrect.".to_owned()]
        );
    }

    #[test]
    fn auto_post_page_yields_the_token() {
        let html = auto_post_page(&appru(), "cst1.tok&en\"<>");
        let forms = parse_forms(&html);
        assert_eq!(
            find_token(&forms, APPRU).unwrap().as_deref(),
            Some("cst1.tok&en\"<>")
        );
        // Posting anywhere but appru is refused.
        let evil = html.replace(APPRU, "https://evil.example/");
        assert!(matches!(
            find_token(&parse_forms(&evil), APPRU),
            Err(StsError::WrongTarget { .. })
        ));
        assert_eq!(find_token(&[], APPRU).unwrap(), None);
    }

    #[test]
    fn spec_sample_form_parses() {
        let sample = include_str!("../../testdata/mde1-09-sts-html-form-response.html");
        let forms = parse_forms(sample);
        assert_eq!(
            find_token(&forms, APPRU).unwrap().as_deref(),
            Some("token value")
        );
    }

    #[test]
    fn urls_are_built_and_resolved() {
        assert_eq!(
            sign_in_url(
                "https://h:8443/EnrollmentServer/Sts",
                APPRU,
                "ann@example.com"
            )
            .unwrap(),
            "https://h:8443/EnrollmentServer/Sts?appru=ms-app%3A%2F%2Fwindows.immersivecontrolpanel&login_hint=ann%40example.com"
        );
        assert_eq!(
            sign_in_url("https://h/sts?tenant=1#frag", APPRU, "a b").unwrap(),
            "https://h/sts?tenant=1&appru=ms-app%3A%2F%2Fwindows.immersivecontrolpanel&login_hint=a+b"
        );
        assert!(sign_in_url("ms-app://x", APPRU, "a").is_err());
        assert_eq!(
            resolve(
                "https://h:8443/EnrollmentServer/Sts?appru=x",
                Some("/EnrollmentServer/Sts")
            )
            .unwrap(),
            "https://h:8443/EnrollmentServer/Sts"
        );
        assert_eq!(
            resolve("https://h/a/b", Some("c")).unwrap(),
            "https://h/a/c"
        );
        assert_eq!(resolve("https://h/a?q", None).unwrap(), "https://h/a?q");
    }
}
