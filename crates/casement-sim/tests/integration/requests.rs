//! Every request the simulator builds, read back by the server's own parsers
//! (casement-enroll), and compared with the real Windows 10 captures.

use casement_enroll::*;
use casement_sim::enroll::requests::{
    self, Credential, additional_context, discover, get_policies, request_security_token,
};
use casement_sim::{Hardware, WindowsRelease};
use uuid::Uuid;

use crate::support::fixture;

const TO: &str = "https://enroll.test/EnrollmentServer/Discovery.svc";

fn hardware(platform: WindowsRelease) -> Hardware {
    Hardware {
        hw_dev_id: "3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76".into(),
        macs: vec!["00-0C-29-51-60-9D".into(), "1A-77-20-52-41-53".into()],
        imei: None,
        os_version: platform.default_os_version().into(),
        os_edition: 48,
        locale: "en-US".into(),
    }
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

#[test]
fn windows81_discover_parses_as_mde1() {
    let r = discover(
        TO,
        id(1),
        "ann@example.com",
        WindowsRelease::Windows81,
        &hardware(WindowsRelease::Windows81),
    );
    assert_eq!(
        r.message_id,
        "urn:uuid:00000000-0000-0000-0000-000000000001"
    );
    let parsed = DiscoverRequest::parse(r.xml.as_bytes()).unwrap();
    assert_eq!(parsed.header.message_id.as_str(), r.message_id);
    assert_eq!(parsed.header.to.as_deref(), Some(TO));
    assert_eq!(parsed.email_address.as_deref(), Some("ann@example.com"));
    assert_eq!(parsed.protocol, DiscoverProtocol::Mde1);
    assert_eq!(
        parsed.platform().unwrap(),
        casement_enroll::Platform::Windows81
    );
    // Same element set as the MS-MDE sample.
    assert!(r.xml.contains("<RequestVersion></RequestVersion>"));
    assert!(!r.xml.contains("DeviceType"));
}

#[test]
fn windows10_and_11_discover_parse_as_mde2() {
    for (platform, version) in [
        (WindowsRelease::Windows10, "4.0"),
        (WindowsRelease::Windows11, "6.0"),
    ] {
        let hw = hardware(platform);
        let r = discover(TO, id(2), "ann@example.com", platform, &hw);
        let parsed = DiscoverRequest::parse(r.xml.as_bytes()).unwrap();
        assert_eq!(
            parsed.platform().unwrap(),
            casement_enroll::Platform::Windows10
        );
        let DiscoverProtocol::Mde2(v2) = &parsed.protocol else {
            panic!("not MDE2: {:?}", parsed.protocol)
        };
        assert_eq!(v2.request_version.to_string(), version);
        assert_eq!(v2.device_type, Some(DeviceType::CimClientWindows));
        assert_eq!(
            v2.application_version.as_deref(),
            Some(hw.os_version.as_str())
        );
        assert_eq!(v2.os_edition, Some(48));
        assert_eq!(
            v2.auth_policies,
            vec![AuthPolicy::OnPremise, AuthPolicy::Federated]
        );
    }
}

#[test]
fn windows10_discover_has_the_shape_of_the_real_one() {
    let mut hw = hardware(WindowsRelease::Windows10);
    hw.os_edition = 72;
    let ours = discover(
        "https://EnterpriseEnrollment.fleetdm.ngrok.io:443/EnrollmentServer/Discovery.svc",
        Uuid::parse_str("748132ec-a575-4329-b01b-6171a9cf8478").unwrap(),
        "demo@fleetdm.ngrok.io",
        WindowsRelease::Windows10,
        &hw,
    );
    assert_eq!(
        outline(&ours.xml),
        outline(&fixture("win10-01-discover-request.xml"))
    );
}

#[test]
fn windows81_discover_has_the_shape_of_the_spec_sample() {
    let ours = discover(
        "https://manage.contoso.com:443/EnrollmentServer/Discovery.svc",
        Uuid::parse_str("748132ec-a575-4329-b01b-6171a9cf8478").unwrap(),
        "johndoe@contoso.com",
        WindowsRelease::Windows81,
        &hardware(WindowsRelease::Windows81),
    );
    assert_eq!(
        outline(&ours.xml),
        outline(&fixture("mde1-01-discover-request.xml"))
    );
}

#[test]
fn get_policies_carries_either_credential() {
    let onprem = Credential::OnPremise {
        username: "ann@example.com".into(),
        password: " p<&>ss ".into(),
    };
    let r = get_policies("https://enroll.test/Policy.svc", id(3), &onprem);
    let parsed = GetPoliciesRequest::parse(r.xml.as_bytes()).unwrap();
    assert_eq!(parsed.header.message_id.as_str(), r.message_id);
    assert_eq!(
        parsed.header.to.as_deref(),
        Some("https://enroll.test/Policy.svc")
    );
    let SecurityToken::UsernamePassword { username, password } = &parsed.security else {
        panic!("{:?}", parsed.security)
    };
    assert_eq!(username, "ann@example.com");
    assert_eq!(password.expose(), " p<&>ss ");

    let token = sts::StsToken::from_random([9; 32]);
    let federated = Credential::Federated {
        token: token.as_str().into(),
    };
    let r = get_policies("https://enroll.test/Policy.svc", id(4), &federated);
    let parsed = GetPoliciesRequest::parse(r.xml.as_bytes()).unwrap();
    let SecurityToken::Federated(t) = &parsed.security else {
        panic!("{:?}", parsed.security)
    };
    assert_eq!(t.sts_token().unwrap(), token);
}

#[test]
fn get_policies_has_the_shape_of_the_real_one() {
    let ours = get_policies(
        "https://windows.fleetdm.ngrok.io/EnrollmentServer/Policy.svc",
        id(5),
        &Credential::OnPremise {
            username: "demio".into(),
            password: "demo".into(),
        },
    );
    assert_eq!(
        outline_masked(&ours.xml, &["MessageID"]),
        outline_masked(
            &fixture("win10-03-getpolicies-request-onpremise.xml"),
            &["MessageID"]
        )
    );
}

#[test]
fn rst_parses_with_csr_and_context_for_every_platform() {
    let csr = casement_ca::windows_like_csr("B5B954E81FBCB94EB79BD08BE625F4EE", &mut rand::rng())
        .unwrap();
    for platform in [
        WindowsRelease::Windows81,
        WindowsRelease::Windows10,
        WindowsRelease::Windows11,
    ] {
        let hw = hardware(platform);
        let context = additional_context(
            platform,
            "B5B954E81FBCB94EB79BD08BE625F4EE",
            "DESKTOP-28FGAI6",
            &hw,
            Some(EnrollmentVersion::V4_0),
        );
        let credential = Credential::Federated {
            token: sts::StsToken::from_random([1; 32]).as_str().into(),
        };
        let r = request_security_token(
            "https://enroll.test/Enrollment.svc",
            id(6),
            &credential,
            &csr.csr_der,
            &context,
        );
        let parsed = RstRequest::parse(r.xml.as_bytes()).unwrap();
        assert_eq!(parsed.header.message_id.as_str(), r.message_id);
        assert_eq!(parsed.kind, RstKind::Standard);
        assert_eq!(parsed.token_type, TokenType::DeviceEnrollment);
        assert_eq!(parsed.request_type, RequestType::Issue);
        assert_eq!(
            parsed.certificate_request,
            CertificateRequest::Pkcs10(csr.csr_der.clone())
        );
        assert_eq!(
            parsed
                .context
                .items()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect::<Vec<_>>(),
            context
        );
        assert_eq!(
            parsed.context.device_id(),
            Some("B5B954E81FBCB94EB79BD08BE625F4EE")
        );
        assert_eq!(
            parsed.context.device_type(),
            Some(DeviceType::CimClientWindows)
        );
        assert_eq!(parsed.context.device_name(), Some("DESKTOP-28FGAI6"));
        assert_eq!(parsed.platform(), platform.protocol(), "{platform:?}");
        assert!(matches!(parsed.security, SecurityToken::Federated(_)));
        // The server's CA accepts the CSR.
        let verified =
            casement_ca::VerifiedCsr::from_der(parsed.certificate_request.der()).unwrap();
        assert_eq!(
            verified.device_id_extension(),
            Some("B5B954E81FBCB94EB79BD08BE625F4EE")
        );
    }
}

#[test]
fn windows10_context_items_are_the_real_ones_in_order() {
    let real = fixture("win10-05-rst-request-onpremise.xml");
    let doc = roxmltree::Document::parse(&real).unwrap();
    let real_items: Vec<(String, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("ContextItem"))
        .map(|n| {
            let value = n
                .descendants()
                .find(|v| v.has_tag_name("Value"))
                .and_then(|v| v.text());
            (
                n.attribute("Name").unwrap().to_owned(),
                value.unwrap_or("").to_owned(),
            )
        })
        .collect();
    let hw = Hardware {
        hw_dev_id: "3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76".into(),
        macs: [
            "00-0C-29-51-60-9D",
            "1A-77-20-52-41-53",
            "1A-77-20-52-41-53",
            "00-0C-29-51-60-A7",
            "18-14-20-52-41-53",
            "00-0C-29-51-60-93",
        ]
        .map(String::from)
        .to_vec(),
        imei: None,
        os_version: "10.0.19043.2364".into(),
        os_edition: 72,
        locale: "en-US".into(),
    };
    let ours = additional_context(
        WindowsRelease::Windows10,
        "B5B954E81FBCB94EB79BD08BE625F4EE",
        "DESKTOP-28FGAI6",
        &hw,
        Some(EnrollmentVersion::V4_0),
    );
    assert_eq!(ours, real_items);
    // Windows 11 adds RequestVersion (the negotiated EnrollmentVersion).
    let w11 = additional_context(
        WindowsRelease::Windows11,
        "X",
        "N",
        &hw,
        Some(EnrollmentVersion::V4_0),
    );
    assert_eq!(
        w11.last(),
        Some(&("RequestVersion".to_owned(), "4.0".to_owned()))
    );
}

#[test]
fn rst_has_the_shape_of_the_real_one() {
    let real = fixture("win10-05-rst-request-onpremise.xml");
    let csr_b64 = {
        let doc = roxmltree::Document::parse(&real).unwrap();
        doc.descendants()
            .rfind(|n| n.has_tag_name("BinarySecurityToken"))
            .and_then(|n| n.text())
            .unwrap()
            .to_owned()
    };
    use base64::Engine as _;
    let csr_der = base64::engine::general_purpose::STANDARD
        .decode(&csr_b64)
        .unwrap();
    let parsed_real = RstRequest::parse(real.as_bytes()).unwrap();
    let context: Vec<(String, String)> = parsed_real
        .context
        .items()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    let ours = request_security_token(
        "https://windows.fleetdm.ngrok.io/EnrollmentServer/Enrollment.svc",
        id(7),
        &Credential::OnPremise {
            username: "demio".into(),
            password: "demo".into(),
        },
        &csr_der,
        &context,
    );
    assert_eq!(
        outline_masked(&ours.xml, &["MessageID"]),
        outline_masked(&real, &["MessageID"])
    );
}

#[test]
fn every_message_has_a_fresh_message_id_with_must_understand_headers() {
    let hw = hardware(WindowsRelease::Windows10);
    let a = discover(TO, Uuid::new_v4(), "a@b", WindowsRelease::Windows10, &hw);
    let b = discover(TO, Uuid::new_v4(), "a@b", WindowsRelease::Windows10, &hw);
    assert_ne!(a.message_id, b.message_id);
    assert!(a.message_id.starts_with("urn:uuid:"));
    let doc = roxmltree::Document::parse(&a.xml).unwrap();
    let s = "http://www.w3.org/2003/05/soap-envelope";
    for name in ["Action", "To"] {
        let node = doc
            .descendants()
            .find(|n| n.has_tag_name((ns::WSA, name)))
            .unwrap();
        assert_eq!(node.attribute((s, "mustUnderstand")), Some("1"), "{name}");
    }
    let reply = doc
        .descendants()
        .find(|n| n.has_tag_name((ns::WSA, "Address")))
        .unwrap();
    assert_eq!(reply.text(), Some(requests::ANONYMOUS));
}

/// `depth {ns}local [attrs] = text` per element (prefixes and whitespace do not matter).
fn outline(xml: &str) -> Vec<String> {
    outline_masked(xml, &[])
}

fn outline_masked(xml: &str, mask: &[&str]) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let mut lines = Vec::new();
    walk(doc.root_element(), 0, mask, &mut lines);
    lines
}

fn walk(node: roxmltree::Node<'_, '_>, depth: usize, mask: &[&str], out: &mut Vec<String>) {
    let mut attrs: Vec<String> = node
        .attributes()
        // u:Id of the UsernameToken is an opaque per-message id.
        .filter(|a| a.name() != "Id")
        .map(|a| {
            format!(
                "{{{}}}{}={}",
                a.namespace().unwrap_or(""),
                a.name(),
                a.value()
            )
        })
        .collect();
    attrs.sort();
    let name = node.tag_name();
    let text: String = node
        .children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    let text = if mask.contains(&name.name()) {
        "*".to_owned()
    } else {
        text.trim().to_owned()
    };
    out.push(format!(
        "{depth} {{{}}}{} [{}] = {text}",
        name.namespace().unwrap_or(""),
        name.name(),
        attrs.join(" ")
    ));
    for child in node.children().filter(|n| n.is_element()) {
        walk(child, depth + 1, mask, out);
    }
}
