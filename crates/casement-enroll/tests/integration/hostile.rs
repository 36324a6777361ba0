//! Hostile and wrong input is refused early with a precise error, never a panic.

use casement_enroll::*;

use crate::support::fixture_text;

fn discover_with_body(body: &str) -> String {
    let xml = fixture_text("win10/01-discover-request.xml");
    let start = xml.find("<s:Body>").unwrap() + "<s:Body>".len();
    let end = xml.find("</s:Body>").unwrap();
    format!("{}{body}{}", &xml[..start], &xml[end..])
}

#[test]
fn doctype_is_refused_before_parsing() {
    let xml = format!(
        "<!DOCTYPE x [<!ENTITY a \"b\">]>{}",
        fixture_text("win10/01-discover-request.xml")
    );
    assert_eq!(
        EnrollRequest::parse(xml.as_bytes()).unwrap_err(),
        EnrollError::DtdForbidden {
            found: "<!DOCTYPE",
            offset: 0
        }
    );
}

#[test]
fn billion_laughs_is_refused() {
    let xml = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#;
    assert_eq!(
        EnrollRequest::parse(xml.as_bytes()).unwrap_err(),
        EnrollError::DtdForbidden {
            found: "<!DOCTYPE",
            offset: 21
        }
    );
}

#[test]
fn entity_declaration_anywhere_is_refused() {
    let xml = discover_with_body("<!-- <!ENTITY x SYSTEM \"file:///etc/passwd\"> -->");
    let offset = xml.find("<!ENTITY").unwrap();
    assert_eq!(
        EnrollRequest::parse(xml.as_bytes()).unwrap_err(),
        EnrollError::DtdForbidden {
            found: "<!ENTITY",
            offset
        }
    );
}

#[test]
fn deep_nesting_is_refused() {
    let body = format!("{}{}", "<x>".repeat(100), "</x>".repeat(100));
    let xml = discover_with_body(&body);
    assert_eq!(
        EnrollRequest::parse(xml.as_bytes()).unwrap_err(),
        EnrollError::TooDeep { limit: 32 }
    );
    let limits = Limits {
        max_depth: 200,
        ..Limits::default()
    };
    // Within a higher limit the document parses, and then fails for what it is: no Discover.
    assert!(matches!(
        EnrollRequest::parse_with(xml.as_bytes(), &limits),
        Err(EnrollError::UnexpectedElement { .. })
    ));
}

#[test]
fn huge_input_is_refused_by_size() {
    let xml = discover_with_body(&" ".repeat(300 * 1024));
    assert_eq!(
        EnrollRequest::parse(xml.as_bytes()).unwrap_err(),
        EnrollError::TooLarge {
            size: xml.len(),
            limit: 256 * 1024
        }
    );
}

#[test]
fn too_many_nodes_is_refused() {
    let xml = discover_with_body(&"<x/>".repeat(25_000));
    assert_eq!(
        EnrollRequest::parse(xml.as_bytes()).unwrap_err(),
        EnrollError::TooManyNodes { limit: 20_000 }
    );
}

#[test]
fn soap11_envelope_is_a_wrong_namespace() {
    let xml = fixture_text("win10/01-discover-request.xml").replace(
        "http://www.w3.org/2003/05/soap-envelope",
        "http://schemas.xmlsoap.org/soap/envelope/",
    );
    assert_eq!(
        EnrollRequest::parse(xml.as_bytes()).unwrap_err(),
        EnrollError::WrongNamespace {
            element: "Envelope",
            expected: ns::SOAP12,
            found: "http://schemas.xmlsoap.org/soap/envelope/".into()
        }
    );
}

#[test]
fn discover_in_a_foreign_namespace_is_refused() {
    let xml = fixture_text("win10/01-discover-request.xml").replace(
        "http://schemas.microsoft.com/windows/management/2012/01/enrollment\"",
        "urn:evil\"",
    );
    assert_eq!(
        DiscoverRequest::parse(xml.as_bytes()).unwrap_err(),
        EnrollError::WrongNamespace {
            element: "Discover",
            expected: ns::DISCOVERY,
            found: "urn:evil".into()
        }
    );
}

#[test]
fn wrong_root_and_missing_parts() {
    assert_eq!(
        EnrollRequest::parse(b"<html/>").unwrap_err(),
        EnrollError::UnexpectedElement {
            expected: "s:Envelope",
            found: "html".into()
        }
    );
    let no_header =
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#;
    assert_eq!(
        EnrollRequest::parse(no_header.as_bytes()).unwrap_err(),
        EnrollError::Missing { path: "s:Header" }
    );
    let xml = fixture_text("win10/01-discover-request.xml");
    let no_id = xml.replace(
        "<a:MessageID>urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478</a:MessageID>",
        "<a:MessageID> </a:MessageID>",
    );
    assert_eq!(
        EnrollRequest::parse(no_id.as_bytes()).unwrap_err(),
        EnrollError::Missing {
            path: "s:Header/a:MessageID"
        }
    );
    let no_policies = xml
        .replace("<AuthPolicies>", "<X>")
        .replace("</AuthPolicies>", "</X>");
    assert_eq!(
        EnrollRequest::parse(no_policies.as_bytes()).unwrap_err(),
        EnrollError::Missing {
            path: "Discover/request/AuthPolicies"
        }
    );
}

#[test]
fn not_xml_and_not_utf8() {
    assert!(matches!(
        EnrollRequest::parse(b"hello"),
        Err(EnrollError::NotXml { .. })
    ));
    assert!(matches!(
        EnrollRequest::parse(b""),
        Err(EnrollError::NotXml { .. })
    ));
    assert_eq!(
        EnrollRequest::parse(b"<a>\xff\xfe</a>").unwrap_err(),
        EnrollError::NotUtf8 { offset: 3 }
    );
    assert!(matches!(
        EnrollRequest::parse(b"<a><b></a>"),
        Err(EnrollError::NotXml { .. })
    ));
}

#[test]
fn wrong_action_is_refused() {
    let policies = fixture_text("win10/03-getpolicies-request-onpremise.xml");
    assert_eq!(
        DiscoverRequest::parse(policies.as_bytes()).unwrap_err(),
        EnrollError::WrongAction {
            expected: action::DISCOVER,
            found: action::GET_POLICIES.into()
        }
    );
    let unknown = policies.replace(action::GET_POLICIES, "urn:x");
    assert_eq!(
        EnrollRequest::parse(unknown.as_bytes()).unwrap_err(),
        EnrollError::WrongAction {
            expected: "Discover, GetPolicies or RST/wstep",
            found: "urn:x".into()
        }
    );
}

#[test]
fn bad_values_in_rst_are_named() {
    let rst = fixture_text("win10/05-rst-request-onpremise.xml");
    let bad_type = rst.replace("200512/Issue", "200512/Cancel");
    assert_eq!(
        RstRequest::parse(bad_type.as_bytes()).unwrap_err(),
        EnrollError::BadValue {
            path: "wst:RequestType",
            value: "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Cancel".into()
        }
    );
    let bad_b64 = rst.replace("MIICzjCCAboCAQAw", "MIICzjCC!!!!AQAw");
    assert!(matches!(
        RstRequest::parse(bad_b64.as_bytes()).unwrap_err(),
        EnrollError::BadBase64 {
            path: "wst:RequestSecurityToken/wsse:BinarySecurityToken",
            ..
        }
    ));
    let bad_value_type = rst.replace("enrollment#PKCS10", "enrollment#X509");
    assert_eq!(
        RstRequest::parse(bad_value_type.as_bytes()).unwrap_err(),
        EnrollError::BadValue {
            path: "wsse:BinarySecurityToken/@ValueType",
            value: "http://schemas.microsoft.com/windows/pki/2009/01/enrollment#X509".into()
        }
    );
}

#[test]
fn unusable_security_headers_are_invalid_security() {
    let policies = fixture_text("win10/03-getpolicies-request-onpremise.xml");
    let digest = policies.replace("#PasswordText", "#PasswordDigest");
    let err = GetPoliciesRequest::parse(digest.as_bytes()).unwrap_err();
    assert!(
        matches!(&err, EnrollError::InvalidSecurity { reason } if reason.contains("PasswordDigest")),
        "{err}"
    );
    assert_eq!(err.fault("t").subcode, FaultSubcode::InvalidSecurity);

    let x509 = policies.replace(
        policies.get(policies.find("<wsse:UsernameToken").unwrap()..policies.find("</wsse:Security>").unwrap()).unwrap(),
        "<wsse:BinarySecurityToken ValueType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3\">AQID</wsse:BinarySecurityToken>",
    );
    assert!(matches!(
        GetPoliciesRequest::parse(x509.as_bytes()),
        Err(EnrollError::InvalidSecurity { .. })
    ));

    let no_user = policies.replace("<wsse:Username>demio</wsse:Username>", "");
    assert_eq!(
        GetPoliciesRequest::parse(no_user.as_bytes()).unwrap_err(),
        EnrollError::InvalidSecurity {
            reason: "UsernameToken without Username".into()
        }
    );
}

#[test]
fn garbage_never_panics() {
    // A cheap deterministic fuzz over truncations and byte flips of every request fixture.
    for name in [
        "win10/01-discover-request.xml",
        "win10/03-getpolicies-request-onpremise.xml",
        "win10/05-rst-request-onpremise.xml",
    ] {
        let original = crate::support::fixture(name);
        for cut in (0..original.len()).step_by(97) {
            let _ = EnrollRequest::parse(&original[..cut]);
        }
        let mut state: u32 = 0x2545_f491;
        for _ in 0..300 {
            let mut bytes = original.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = state as usize % bytes.len();
                bytes[i] = (state >> 8) as u8;
            }
            if let Err(e) = EnrollRequest::parse(&bytes) {
                let _ = e.fault("t");
            }
        }
    }
}

#[test]
fn overlong_message_id_is_a_bad_value() {
    let long = "x".repeat(2000);
    let xml = fixture_text("win10/01-discover-request.xml")
        .replace("urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478", &long);
    let err = EnrollRequest::parse(xml.as_bytes()).unwrap_err();
    let EnrollError::BadValue { path, value } = err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "s:Header/a:MessageID");
    assert_eq!(
        value.chars().count(),
        201,
        "clipped to 200 characters plus an ellipsis"
    );
}

/// Issue 12: one element with 27,000 attributes (254 KB) cost the parser 0.43 s (it checks
/// duplicates pairwise). Attributes are now counted in one linear pass before parsing.
#[test]
fn regression_issue_12_an_element_with_thousands_of_attributes_is_refused_before_parsing() {
    let attributes: String = (0..27_000).map(|i| format!(" a{i}=\"\"")).collect();
    let xml = discover_with_body(&format!("<x{attributes}/>"));
    assert!(
        xml.len() < 256 * 1024,
        "under the size limit: {}",
        xml.len()
    );
    assert!(matches!(
        EnrollRequest::parse(xml.as_bytes()).unwrap_err(),
        EnrollError::TooManyAttributes {
            scope: "in one element",
            limit: 64,
            ..
        }
    ));
    // Many elements with few attributes each: the total is bounded too.
    let spread: String = (0..1_000)
        .map(|i| format!("<x a{i}=\"1\" b=\"2\" c='3'/>"))
        .collect();
    let xml = discover_with_body(&spread);
    assert!(matches!(
        EnrollRequest::parse(xml.as_bytes()).unwrap_err(),
        EnrollError::TooManyAttributes {
            scope: "in the request",
            limit: 2_000,
            ..
        }
    ));
    // `=` in text, quoted values, comments and CDATA is not an attribute.
    let text = format!(
        "<x a=\"{}\"><!-- {} --><![CDATA[{}]]>{}</x>",
        "=".repeat(5_000),
        "=".repeat(5_000),
        "a=b ".repeat(5_000),
        "k=v ".repeat(5_000)
    );
    assert!(matches!(
        EnrollRequest::parse(discover_with_body(&text).as_bytes()),
        Err(EnrollError::UnexpectedElement { .. })
    ));
}
