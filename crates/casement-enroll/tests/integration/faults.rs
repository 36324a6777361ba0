//! Faults compared with the MS-MDE2 §2.2.10 samples (printed lower-case in the spec) and checked
//! for the exact casing the Windows client's XPath needs.

use casement_enroll::*;

use crate::support::{SOAP, WSA, at, fixture_text, outline, parse, text};

const E: &str = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment";

fn lower(lines: Vec<String>) -> Vec<String> {
    lines.into_iter().map(|l| l.to_lowercase()).collect()
}

fn compare_with_sample(fault: &Fault, sample: &str) -> String {
    let id = MessageId::new("urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749").unwrap();
    let activity: uuid::Uuid = "2493ee37-beeb-4cb9-833c-cadde9067645".parse().unwrap();
    let ours = build_fault(
        &ReplyTo::to(&id).with_activity_id(activity),
        FaultContext::RequestSecurityToken,
        fault,
    );
    // The sample doubles "urn:uuid:" in RelatesTo (a typo); ours echoes the MessageID.
    let theirs = fixture_text(sample).replace("urn:uuid:urn:uuid:", "urn:uuid:");
    assert_eq!(
        lower(outline(parse(ours.as_str()).root_element(), &[])),
        lower(outline(parse(&theirs).root_element(), &[]))
    );
    ours.into_string()
}

#[test]
fn authorization_fault_matches_the_spec_sample() {
    let fault = Fault::new(
        FaultSubcode::Authorization,
        "This User is not authorized to enroll",
    );
    let xml = compare_with_sample(&fault, "mde2/fault-authorization.xml");
    let doc = parse(&xml);
    let code = [
        (SOAP, "Envelope"),
        (SOAP, "Body"),
        (SOAP, "Fault"),
        (SOAP, "Code"),
    ];
    assert_eq!(
        text(at(&doc, &[&code[..], &[(SOAP, "Value")]].concat())),
        "s:Receiver"
    );
    assert_eq!(
        text(at(
            &doc,
            &[&code[..], &[(SOAP, "Subcode"), (SOAP, "Value")]].concat()
        )),
        "s:Authorization"
    );
    let reason = at(
        &doc,
        &[
            (SOAP, "Envelope"),
            (SOAP, "Body"),
            (SOAP, "Fault"),
            (SOAP, "Reason"),
            (SOAP, "Text"),
        ],
    );
    assert_eq!(
        reason.attribute(("http://www.w3.org/XML/1998/namespace", "lang")),
        Some("en-US")
    );
    assert_eq!(
        text(at(
            &doc,
            &[(SOAP, "Envelope"), (SOAP, "Header"), (WSA, "Action")]
        )),
        action::RSTRC
    );
}

#[test]
fn device_cap_fault_with_detail_matches_the_spec_sample() {
    let fault = Fault::new(FaultSubcode::Authorization, "device cap reached").with_detail(
        FaultDetail::new(
            FaultErrorType::DeviceCapReached,
            "device cap reached",
            "2493ee37-beeb-4cb9-833c-cadde9067645",
        ),
    );
    let xml = compare_with_sample(&fault, "mde2/fault-devicecapreached-detail.xml");
    // Exact casing: what `//s:Fault//s:Detail//e:DeviceEnrollmentServiceError//e:ErrorType` finds.
    let doc = parse(&xml);
    let detail = [
        (SOAP, "Envelope"),
        (SOAP, "Body"),
        (SOAP, "Fault"),
        (SOAP, "Detail"),
        (E, "DeviceEnrollmentServiceError"),
    ];
    assert_eq!(
        text(at(&doc, &[&detail[..], &[(E, "ErrorType")]].concat())),
        "DeviceCapReached"
    );
    assert_eq!(
        text(at(&doc, &[&detail[..], &[(E, "Message")]].concat())),
        "device cap reached"
    );
    assert_eq!(
        text(at(&doc, &[&detail[..], &[(E, "TraceId")]].concat())),
        "2493ee37-beeb-4cb9-833c-cadde9067645"
    );
}

#[test]
fn every_subcode_and_error_type_is_written() {
    let id = MessageId::new("urn:uuid:1").unwrap();
    let expected = [
        (FaultSubcode::MessageFormat, "s:MessageFormat", 0x8018_0001),
        (
            FaultSubcode::Authentication,
            "s:Authentication",
            0x8018_0002,
        ),
        (FaultSubcode::Authorization, "s:Authorization", 0x8018_0003),
        (
            FaultSubcode::CertificateRequest,
            "s:CertificateRequest",
            0x8018_0004,
        ),
        (
            FaultSubcode::EnrollmentServer,
            "s:EnrollmentServer",
            0x8018_0005,
        ),
        (
            FaultSubcode::InternalServiceFault,
            "s:InternalServiceFault",
            0x8018_0006,
        ),
        (
            FaultSubcode::InvalidSecurity,
            "a:InvalidSecurity",
            0x8018_0007,
        ),
    ];
    assert_eq!(FaultSubcode::ALL.len(), expected.len());
    for (subcode, qname, hresult) in expected {
        assert_eq!(subcode.hresult(), hresult);
        let xml = build_fault(
            &ReplyTo::to(&id),
            FaultContext::Other,
            &Fault::new(subcode, "r"),
        )
        .into_string();
        let doc = parse(&xml);
        let value = at(
            &doc,
            &[
                (SOAP, "Envelope"),
                (SOAP, "Body"),
                (SOAP, "Fault"),
                (SOAP, "Code"),
                (SOAP, "Subcode"),
                (SOAP, "Value"),
            ],
        );
        assert_eq!(text(value), qname);
        // The prefix in the QName value resolves to the right namespace.
        let (prefix, _) = qname.split_once(':').unwrap();
        let expected_ns = if prefix == "a" { WSA } else { SOAP };
        assert_eq!(value.lookup_namespace_uri(Some(prefix)), Some(expected_ns));
        assert_eq!(
            text(at(
                &doc,
                &[(SOAP, "Envelope"), (SOAP, "Header"), (WSA, "Action")]
            )),
            action::ADDRESSING_FAULT
        );
    }
    let types = [
        (
            FaultErrorType::DeviceCapReached,
            "DeviceCapReached",
            0x8018_0013,
        ),
        (
            FaultErrorType::DeviceNotSupported,
            "DeviceNotSupported",
            0x8018_0014,
        ),
        (FaultErrorType::NotSupported, "NotSupported", 0x8018_0015),
        (
            FaultErrorType::NotEligibleToRenew,
            "NotEligibleToRenew",
            0x8018_0016,
        ),
        (FaultErrorType::InMaintenance, "InMaintenance", 0x8018_0017),
        (FaultErrorType::UserLicense, "UserLicense", 0x8018_0018),
        (
            FaultErrorType::InvalidEnrollmentData,
            "InvalidEnrollmentData",
            0x8018_0019,
        ),
        (
            FaultErrorType::CustomServerError,
            "CustomServerError",
            0x8018_0032,
        ),
    ];
    for (error_type, name, hresult) in types {
        assert_eq!((error_type.as_str(), error_type.hresult()), (name, hresult));
    }
}

#[test]
fn fault_without_message_id_and_with_hostile_reason() {
    let reply = ReplyTo {
        relates_to: None,
        activity_id: None,
    };
    let err = EnrollRequest::parse(b"<not xml").unwrap_err();
    let fault = err.fault("trace");
    assert_eq!(fault.subcode, FaultSubcode::MessageFormat);
    let xml = build_fault(&reply, FaultContext::Other, &fault).into_string();
    assert!(!xml.contains("RelatesTo"));
    let evil = Fault::new(FaultSubcode::CertificateRequest, "</s:Text><x>&");
    let xml = build_fault(&reply, FaultContext::Other, &evil).into_string();
    let doc = parse(&xml);
    assert_eq!(
        text(at(
            &doc,
            &[
                (SOAP, "Envelope"),
                (SOAP, "Body"),
                (SOAP, "Fault"),
                (SOAP, "Reason"),
                (SOAP, "Text")
            ]
        )),
        "</s:Text><x>&"
    );
}

#[test]
fn our_own_errors_do_not_leak_details() {
    let err = "https://x/y?z".parse::<ManagementUrl>().unwrap_err();
    assert!(!err.is_peer_fault());
    let fault = err.fault("t");
    assert_eq!(fault.subcode, FaultSubcode::InternalServiceFault);
    assert_eq!(fault.reason, "The server hit an unexpected issue");
}
