//! RSTRC compared with the response a real Windows 10 accepted and with the MS-MDE sample.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use casement_enroll::*;
use time::macros::datetime;

use crate::provisioning::{win10_input, win81_input};
use crate::support::{SOAP, at, fixture, fixture_text, outline, parse, text};

const WST: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512";
const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";

fn token_path() -> Vec<(&'static str, &'static str)> {
    vec![
        (SOAP, "Envelope"),
        (SOAP, "Body"),
        (WST, "RequestSecurityTokenResponseCollection"),
        (WST, "RequestSecurityTokenResponse"),
        (WST, "RequestedSecurityToken"),
        (WSSE, "BinarySecurityToken"),
    ]
}

#[test]
fn windows10_rstrc_matches_the_one_windows_accepted() {
    let request = RstRequest::parse(&fixture("win10/05-rst-request-onpremise.xml")).unwrap();
    assert_eq!(request.platform(), Platform::Windows10);
    let doc = build_provisioning_doc(&win10_input()).unwrap();
    let now = datetime!(2018-11-30 00:32:59.420 UTC);
    let ours = build_rstrc(
        &ReplyTo::to(&request.header.message_id),
        request.platform(),
        &doc,
        now,
    );
    let theirs = fixture_text("win10/06-rstrc-response.server.xml");
    let our_doc = parse(ours.as_str());
    let their_doc = parse(&theirs);
    // Identical structure, attributes and values, except the token (elided in the fixture) and
    // Expires (Fleet sent +30 days; we send +5 minutes like the windows-itpro-docs sample).
    let mask = ["BinarySecurityToken", "Expires"];
    assert_eq!(
        outline(our_doc.root_element(), &mask),
        outline(their_doc.root_element(), &mask)
    );
    let header = [
        (SOAP, "Envelope"),
        (SOAP, "Header"),
        (WSSE, "Security"),
        (crate_wsu(), "Timestamp"),
    ];
    let created = text(at(
        &our_doc,
        &[&header[..], &[(crate_wsu(), "Created")]].concat(),
    ));
    let expires = text(at(
        &our_doc,
        &[&header[..], &[(crate_wsu(), "Expires")]].concat(),
    ));
    assert_eq!(
        (created.as_str(), expires.as_str()),
        ("2018-11-30T00:32:59.420Z", "2018-11-30T00:37:59.420Z")
    );
    // The token decodes to exactly the provisioning document.
    let token = text(at(&our_doc, &token_path()));
    assert_eq!(STANDARD.decode(token).unwrap(), doc.as_str().as_bytes());
}

fn crate_wsu() -> &'static str {
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
}

#[test]
fn windows81_rstrc_matches_the_spec_sample() {
    // The MS-MDE §4.3.2 sample leaves wst:/wsse: undeclared and quotes the TokenType: repair both.
    let theirs = fixture_text("mde1/06-rstrc-response.xml")
        .replace(
            "xmlns:a=\"http://www.w3.org/2005/08/addressing\">",
            &format!("xmlns:a=\"http://www.w3.org/2005/08/addressing\" xmlns:wst=\"{WST}\" xmlns:wsse=\"{WSSE}\">"),
        )
        .replace("\"http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken\"", TOKEN_TYPE_DEVICE_ENROLLMENT);
    let doc = build_provisioning_doc(&win81_input()).unwrap();
    let id = MessageId::new("urn:uuid:b5d1a601-5091-4a7d-b34b-5204c18b5919").unwrap();
    let ours = build_rstrc(
        &ReplyTo::to(&id),
        Platform::Windows81,
        &doc,
        datetime!(2024-01-01 0:00 UTC),
    );
    let mask = ["BinarySecurityToken"];
    let mut ours_outline = outline(parse(ours.as_str()).root_element(), &mask);
    // The sample has no RelatesTo; every response of ours has one.
    let relates = ours_outline
        .iter()
        .position(|l| l.contains("}RelatesTo"))
        .unwrap();
    assert_eq!(
        ours_outline.remove(relates),
        "2 {http://www.w3.org/2005/08/addressing}RelatesTo [] = urn:uuid:b5d1a601-5091-4a7d-b34b-5204c18b5919"
    );
    assert_eq!(ours_outline, outline(parse(&theirs).root_element(), &mask));
    let our_doc = parse(ours.as_str());
    assert_eq!(
        STANDARD.decode(text(at(&our_doc, &token_path()))).unwrap(),
        doc.as_str().as_bytes()
    );
}
