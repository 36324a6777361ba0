//! Arbitrary text into the Federated STS: the sign-in `GET` query (`appru`, `login_hint`), the
//! sign-in form `POST` body, the `appru` guard and the token format; then through the pages the
//! server renders from what was accepted.
//!
//! Besides "no panic", it asserts:
//! - names and values are percent-decoded exactly as URLs define it (`%` + two hex digits,
//!   `+` is a space; anything else is kept): the parsed values equal those of a reference decoder
//!   written here;
//! - an accepted `appru` is an `ms-app://` URI without whitespace, controls, quotes or angle
//!   brackets, at most 512 characters, and parses again to itself; an accepted query or form
//!   written back with a strict percent-encoder parses to the same value;
//! - the sign-in page, the auto-post page and the error page built from whatever was accepted or
//!   refused are well-formed XML, peer text adds no markup (one form, the expected inputs, no
//!   script but the page's own), and the hidden fields carry the values back exactly;
//! - the form's `Debug` never shows the password; an accepted token writes back to itself.

#![no_main]

use casement_enroll::sts::{self, Appru, SignInForm, SignInPage, StsQuery, StsToken};
use libfuzzer_sys::fuzz_target;
use roxmltree::{Document, ParsingOptions};

fn page(what: &str, html: &str, check: impl FnOnce(&Document<'_>)) {
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    match Document::parse_with_options(html, options) {
        Ok(doc) => check(&doc),
        Err(e) => panic!("{what} is not well-formed XML: {e}\n{html}"),
    }
}

fn elements<'a, 'i>(doc: &'a Document<'i>, name: &'a str) -> Vec<roxmltree::Node<'a, 'i>> {
    doc.descendants().filter(|n| n.has_tag_name(name)).collect()
}

/// What `html_escape` keeps: controls other than tab and newline, U+FFFE and U+FFFF go.
fn kept(c: &char) -> bool {
    (!c.is_control() || matches!(c, '\n' | '\t')) && !matches!(c, '\u{fffe}' | '\u{ffff}')
}

/// What an attribute value holds after `html_escape` and XML attribute-value normalisation:
/// what `html_escape` drops is gone, tab and newline read as spaces.
fn as_attribute(value: &str) -> String {
    value
        .chars()
        .filter(kept)
        .map(|c| if matches!(c, '\n' | '\t') { ' ' } else { c })
        .collect()
}

/// The URL form decoding (WHATWG `application/x-www-form-urlencoded` parsing): `+` is a space,
/// `%` followed by two ASCII hex digits is that byte, anything else is kept; then UTF-8, lossy.
fn reference_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// First value of `name` in a form/query string, decoded by the reference decoder.
fn reference_get(input: &str, name: &str) -> Option<String> {
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(k, _)| reference_decode(k) == name)
        .map(|(_, v)| reference_decode(v))
}

fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn check_appru(appru: &Appru) {
    let s = appru.as_str();
    assert!(
        s.len() > 9 && s[..9].eq_ignore_ascii_case("ms-app://"),
        "{s:?}"
    );
    assert!(s.chars().count() <= 512);
    assert!(
        !s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'<>\\`".contains(c)),
        "{s:?}"
    );
    assert_eq!(Appru::parse(s).as_ref(), Ok(appru));
}

fn sign_in(appru: &Appru, login_hint: Option<&str>, error: Option<&str>, csrf: Option<&str>) {
    let html = sts::sign_in_page(&SignInPage {
        form_action: "/EnrollmentServer/Sts",
        appru,
        login_hint,
        error,
        service_name: "Casement",
        csrf_token: csrf,
    });
    page("sign-in page", &html, |doc| {
        assert_eq!(elements(doc, "form").len(), 1, "{html}");
        assert!(elements(doc, "script").is_empty(), "{html}");
        assert!(elements(doc, "a").is_empty(), "{html}");
        let inputs = elements(doc, "input");
        let expected = 4 + usize::from(login_hint.is_some()) + usize::from(csrf.is_some());
        assert_eq!(inputs.len(), expected, "{html}");
        let hidden = |name: &str| {
            inputs
                .iter()
                .find(|n| {
                    n.attribute("name") == Some(name) && n.attribute("type") == Some("hidden")
                })
                .and_then(|n| n.attribute("value"))
                .map(str::to_owned)
        };
        assert_eq!(hidden("appru").as_deref(), Some(appru.as_str()));
        assert_eq!(hidden("login_hint"), login_hint.map(as_attribute));
        assert_eq!(hidden("csrf"), csrf.map(as_attribute));
        if let Some(error) = error {
            let shown = elements(doc, "p")
                .into_iter()
                .find(|n| n.attribute("class") == Some("error"))
                .map(|n| n.text().unwrap_or_default().to_owned());
            let expected: String = error.chars().filter(kept).collect();
            assert_eq!(shown.as_deref(), Some(expected.as_str()), "{html}");
        }
    });
}

/// The error page of the server (casement-server `services::enrollment::error_page`).
fn error_page(message: &str) {
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"/><title>Sign-in error</title></head><body><h1>Sign-in error</h1><p>{}</p></body></html>",
        sts::html_escape(message)
    );
    page("error page", &html, |doc| {
        assert_eq!(
            doc.descendants().filter(|n| n.is_element()).count(),
            7,
            "{html}"
        );
    });
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };

    match Appru::parse(input) {
        Ok(appru) => {
            check_appru(&appru);
            let html = sts::auto_post_page(&appru, input);
            page("auto-post page", &html, |doc| {
                let forms = elements(doc, "form");
                assert_eq!(forms.len(), 1);
                assert_eq!(forms[0].attribute("action"), Some(appru.as_str()));
                assert_eq!(elements(doc, "input").len(), 2, "{html}");
                assert_eq!(elements(doc, "script").len(), 1, "{html}");
            });
        }
        Err(e) => error_page(&e.to_string()),
    }

    match StsQuery::parse(input) {
        Ok(query) => {
            check_appru(&query.appru);
            assert_eq!(
                Some(query.appru.as_str().to_owned()),
                reference_get(input, "appru"),
                "appru is not decoded as URLs define it"
            );
            assert_eq!(
                query.login_hint,
                reference_get(input, "login_hint")
                    .map(|h| h.trim().to_owned())
                    .filter(|h| !h.is_empty()),
                "login_hint is not decoded as URLs define it"
            );
            if let Some(hint) = &query.login_hint {
                assert_eq!(hint.trim(), hint);
                assert!(!hint.is_empty());
            }
            let mut written = format!("appru={}", encode(query.appru.as_str()));
            if let Some(hint) = &query.login_hint {
                written.push_str(&format!("&login_hint={}", encode(hint)));
            }
            assert_eq!(StsQuery::parse(&written).as_ref(), Ok(&query), "{written}");
            sign_in(&query.appru, query.login_hint.as_deref(), None, None);
        }
        Err(e) => error_page(&e.to_string()),
    }

    match SignInForm::parse(input) {
        Ok(form) => {
            check_appru(&form.appru);
            assert_eq!(
                Some(form.password.clone()),
                reference_get(input, "password"),
                "password is not decoded as URLs define it"
            );
            assert_eq!(
                Some(form.username.clone()),
                reference_get(input, "username").map(|u| u.trim().to_owned()),
                "username is not decoded as URLs define it"
            );
            assert!(!form.username.is_empty() && form.username.trim() == form.username);
            let marked = SignInForm {
                password: "SECRET-MARKER".into(),
                ..form.clone()
            };
            assert!(
                !format!("{marked:?}").contains("SECRET-MARKER"),
                "Debug shows the password"
            );
            let mut written = format!(
                "username={}&password={}&appru={}",
                encode(&form.username),
                encode(&form.password),
                encode(form.appru.as_str())
            );
            if let Some(hint) = &form.login_hint {
                written.push_str(&format!("&login_hint={}", encode(hint)));
            }
            if let Some(csrf) = &form.csrf_token {
                written.push_str(&format!("&csrf={}", encode(csrf)));
            }
            assert_eq!(SignInForm::parse(&written).as_ref(), Ok(&form), "{written}");
            // Wrong password: the form is shown again with the user name as the hint.
            sign_in(
                &form.appru,
                Some(&form.username),
                Some("The user name or password is incorrect."),
                form.csrf_token.as_deref(),
            );
            sign_in(&form.appru, form.login_hint.as_deref(), Some(input), None);
        }
        Err(e) => error_page(&e.to_string()),
    }

    if let Ok(token) = StsToken::parse(input) {
        assert_eq!(token.as_str(), input);
        assert_eq!(StsToken::from_random(token.id()).as_str(), input);
    }
});
