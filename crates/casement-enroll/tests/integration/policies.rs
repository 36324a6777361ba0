//! GetPoliciesResponse compared with the full windows-itpro-docs Windows 10 sample and with the
//! significant values of the (not well-formed) MS-MDE §4.2.2 sample.

use casement_enroll::*;

use crate::support::{SOAP, WSA, at, fixture, fixture_text, outline, parse, text};

const XCEP: &str = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy";

fn build(config: &PolicyConfig) -> (String, MessageId) {
    let request =
        GetPoliciesRequest::parse(&fixture("win10/03-getpolicies-request-onpremise.xml")).unwrap();
    let xml =
        build_get_policies_response(&ReplyTo::to(&request.header.message_id), config).into_string();
    (xml, request.header.message_id)
}

#[test]
fn response_matches_the_itpro_windows10_sample_field_by_field() {
    let config = PolicyConfig {
        common_name: "CEPUnitTest".into(),
        minimal_key_length: 2048,
        hash_algorithm: HashAlgorithm::Sha1Rsa,
        validity_period_seconds: 1_209_600,
        renewal_period_seconds: 172_800,
    };
    let (ours, id) = build(&config);
    let theirs = fixture_text("itpro/getpolicies-response.xml");
    let our_doc = parse(&ours);
    let their_doc = parse(&theirs);
    let our_body = at(
        &our_doc,
        &[
            (SOAP, "Envelope"),
            (SOAP, "Body"),
            (XCEP, "GetPoliciesResponse"),
        ],
    );
    let their_body = at(
        &their_doc,
        &[
            (SOAP, "Envelope"),
            (SOAP, "Body"),
            (XCEP, "GetPoliciesResponse"),
        ],
    );
    assert_eq!(outline(our_body, &[]), outline(their_body, &[]));
    let action = at(
        &our_doc,
        &[(SOAP, "Envelope"), (SOAP, "Header"), (WSA, "Action")],
    );
    assert_eq!(text(action), action::GET_POLICIES_RESPONSE);
    assert_eq!(
        text(action),
        text(at(
            &their_doc,
            &[(SOAP, "Envelope"), (SOAP, "Header"), (WSA, "Action")]
        ))
    );
    assert_eq!(
        text(at(
            &our_doc,
            &[(SOAP, "Envelope"), (SOAP, "Header"), (WSA, "RelatesTo")]
        )),
        id.as_str()
    );
}

#[test]
fn significant_values_of_the_mde1_sample_and_the_oid_reference() {
    let (ours, _) = build(&PolicyConfig::default());
    let doc = parse(&ours);
    let response = [
        (SOAP, "Envelope"),
        (SOAP, "Body"),
        (XCEP, "GetPoliciesResponse"),
    ];
    let attrs = [
        &response[..],
        &[
            (XCEP, "response"),
            (XCEP, "policies"),
            (XCEP, "policy"),
            (XCEP, "attributes"),
        ],
    ]
    .concat();
    let get = |tail: &[(&str, &str)]| text(at(&doc, &[&attrs[..], tail].concat()));
    // MS-MDE §3.3.4.1.1.2: policySchema MUST be 3; minimalKeyLength; the hash OID reference
    // MUST point at an oIDs/oID (group 1).
    assert_eq!(get(&[(XCEP, "policySchema")]), "3");
    assert_eq!(
        get(&[(XCEP, "privateKeyAttributes"), (XCEP, "minimalKeyLength")]),
        "2048"
    );
    let algorithm = at(
        &doc,
        &[
            &attrs[..],
            &[
                (XCEP, "privateKeyAttributes"),
                (XCEP, "algorithmOIDReference"),
            ],
        ]
        .concat(),
    );
    assert_eq!(
        algorithm.attribute(("http://www.w3.org/2001/XMLSchema-instance", "nil")),
        Some("true")
    );
    let reference = get(&[(XCEP, "hashAlgorithmOIDReference")]);
    let oid = at(
        &doc,
        &[&response[..], &[(XCEP, "oIDs"), (XCEP, "oID")]].concat(),
    );
    let oid_field = |name: &str| {
        text(
            oid.children()
                .find(|n| n.has_tag_name((XCEP, name)))
                .unwrap(),
        )
    };
    assert_eq!(oid_field("oIDReferenceID"), reference);
    assert_eq!(oid_field("group"), "1");
    assert_eq!(oid_field("value"), "1.3.14.3.2.29");
    assert_eq!(get(&[(XCEP, "commonName")]), "Casement");
    assert_eq!(
        get(&[
            (XCEP, "certificateValidity"),
            (XCEP, "validityPeriodSeconds")
        ]),
        "31536000"
    );
    // The MS-MDE sample's typo cannot appear: every element name is well-formed.
    assert!(!ours.contains("Referencexsi"));
}

#[test]
fn sha256_policy_references_the_nist_oid() {
    let (ours, _) = build(&PolicyConfig {
        hash_algorithm: HashAlgorithm::Sha256,
        ..PolicyConfig::default()
    });
    assert!(ours.contains("<value>2.16.840.1.101.3.4.2.1</value>"));
    assert!(ours.contains("<defaultName>szOID_NIST_sha256</defaultName>"));
}
