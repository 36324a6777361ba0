//! The STS pages compared with the MS-MDE §3.2 sample form (`mde1/09`).

use casement_enroll::*;
use roxmltree::Node;

use crate::support::{fixture_text, parse};

fn form_of<'a, 'i>(doc: &'a roxmltree::Document<'i>) -> Node<'a, 'i> {
    doc.descendants()
        .find(|n| n.has_tag_name("form"))
        .expect("a form")
}

fn input_named<'a, 'i>(form: Node<'a, 'i>, name: &str) -> Node<'a, 'i> {
    form.descendants()
        .find(|n| n.has_tag_name("input") && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("input {name}"))
}

#[test]
fn auto_post_page_matches_the_spec_form() {
    let appru = Appru::parse("ms-app://windows.immersivecontrolpanel").unwrap();
    let ours = auto_post_page(&appru, "token value");
    // The sample's `<!DOCTYPE>` is not even valid HTML; drop it and the comment to parse it.
    let sample = fixture_text("mde1/09-sts-html-form-response.html");
    let sample = &sample[sample.find("<html>").unwrap()..];
    let (our_doc, their_doc) = (parse(&ours), parse(sample));
    let (our_form, their_form) = (form_of(&our_doc), form_of(&their_doc));
    for attr in ["method", "action"] {
        assert_eq!(
            our_form.attribute(attr),
            their_form.attribute(attr),
            "{attr}"
        );
    }
    let (ours_in, theirs_in) = (
        input_named(our_form, "wresult"),
        input_named(their_form, "wresult"),
    );
    for attr in ["type", "value"] {
        assert_eq!(ours_in.attribute(attr), theirs_in.attribute(attr), "{attr}");
    }
    assert!(ours.contains("document.forms[0].submit()"));
    let title = |doc: &roxmltree::Document| {
        doc.descendants()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text())
            .map(str::to_owned)
    };
    assert_eq!(title(&our_doc), title(&their_doc));
}

#[test]
fn auto_post_page_escapes_the_token() {
    let appru = Appru::parse("ms-app://s-1-15-2-1").unwrap();
    let ours = auto_post_page(&appru, "\"/><script>alert(1)</script>&");
    assert!(!ours.contains("<script>alert"));
    let doc = parse(&ours);
    assert_eq!(
        input_named(form_of(&doc), "wresult").attribute("value"),
        Some("\"/><script>alert(1)</script>&")
    );
}

#[test]
fn sign_in_page_carries_appru_and_hint_and_escapes_everything() {
    let query = StsQuery::parse("appru=ms-app%3A%2F%2Fwindows.immersivecontrolpanel&login_hint=%22%3E%3Cb%3Ejohn%40contoso.com").unwrap();
    let page = sign_in_page(&SignInPage {
        form_action: "/EnrollmentServer/STS?x=1&y=2",
        appru: &query.appru,
        login_hint: query.login_hint.as_deref(),
        error: Some("Wrong <b>password</b> & try again"),
        service_name: "Casement & Co",
        csrf_token: Some("c'sr\"f"),
    });
    assert!(!page.contains("<b>"), "unescaped markup:\n{page}");
    let doc = parse(&page);
    let form = form_of(&doc);
    assert_eq!(form.attribute("method"), Some("post"));
    assert_eq!(
        form.attribute("action"),
        Some("/EnrollmentServer/STS?x=1&y=2")
    );
    assert_eq!(
        input_named(form, "appru").attribute("value"),
        Some("ms-app://windows.immersivecontrolpanel")
    );
    assert_eq!(input_named(form, "appru").attribute("type"), Some("hidden"));
    assert_eq!(
        input_named(form, "login_hint").attribute("value"),
        Some("\"><b>john@contoso.com")
    );
    assert_eq!(
        input_named(form, "username").attribute("value"),
        Some("\"><b>john@contoso.com")
    );
    assert_eq!(
        input_named(form, "password").attribute("type"),
        Some("password")
    );
    assert_eq!(
        input_named(form, "csrf").attribute("value"),
        Some("c'sr\"f")
    );
    let alert = doc
        .descendants()
        .find(|n| n.attribute("role") == Some("alert"))
        .unwrap();
    assert_eq!(alert.text(), Some("Wrong <b>password</b> & try again"));

    // What the page posts back parses into the same values.
    let form_body = "username=john%40contoso.com&password=pw&appru=ms-app%3A%2F%2Fwindows.immersivecontrolpanel&login_hint=john%40contoso.com";
    let posted = SignInForm::parse(form_body).unwrap();
    assert_eq!(posted.appru, query.appru);
    assert_eq!(posted.login_hint.as_deref(), Some("john@contoso.com"));
}

#[test]
fn open_redirects_are_refused() {
    for appru in [
        "https://evil.example/collect",
        "http://localhost/",
        "ms-appx://x",
        "//evil.example",
        "ms-app:/x",
    ] {
        assert_eq!(
            Appru::parse(appru).unwrap_err(),
            EnrollError::BadAppru {
                appru: appru.into()
            },
            "{appru}"
        );
    }
    assert!(matches!(
        SignInForm::parse("username=a&password=b&appru=https%3A%2F%2Fevil.example%2F"),
        Err(EnrollError::BadAppru { .. })
    ));
}

#[test]
fn token_survives_the_whole_federated_round_trip() {
    // STS issues a token → auto-post page → the client base64s the wresult into the
    // DeviceEnrollmentUserToken → our security header parser gets it back.
    let token = StsToken::from_random(*b"0123456789abcdef0123456789ABCDEF");
    let page = auto_post_page(
        &Appru::parse("ms-app://windows.immersivecontrolpanel").unwrap(),
        token.as_str(),
    );
    let doc = parse(&page);
    let wresult = input_named(form_of(&doc), "wresult")
        .attribute("value")
        .unwrap()
        .to_owned();
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(wresult)
    };
    let xml = fixture_text("win10/03-getpolicies-request-onpremise.xml");
    let start = xml.find("<wsse:UsernameToken").unwrap();
    let end = xml.find("</wsse:UsernameToken>").unwrap() + "</wsse:UsernameToken>".len();
    let xml = format!(
        "{}<wsse:BinarySecurityToken ValueType=\"{USER_TOKEN_VALUE_TYPE}\" EncodingType=\"{BASE64_ENCODING_TYPE}\">{b64}</wsse:BinarySecurityToken>{}",
        &xml[..start],
        &xml[end..]
    );
    let req = GetPoliciesRequest::parse(xml.as_bytes()).unwrap();
    let SecurityToken::Federated(federated) = req.security else {
        panic!()
    };
    let back = federated.sts_token().unwrap();
    assert_eq!(back, token);
    assert_eq!(back.id(), *b"0123456789abcdef0123456789ABCDEF");
}
