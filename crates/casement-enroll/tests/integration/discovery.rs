//! DiscoverResponse built from the fixtures' requests, compared with the spec sample and with
//! the response a real Windows 10 accepted.

use casement_enroll::*;

use crate::support::{SOAP, WSA, at, fixture, outline, parse, text};

const DIAG: &str = "http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics";
const DISC: &str = "http://schemas.microsoft.com/windows/management/2012/01/enrollment";

fn result_children(xml: &str) -> Vec<(String, String)> {
    let doc = parse(xml);
    let result = at(
        &doc,
        &[
            (SOAP, "Envelope"),
            (SOAP, "Body"),
            (DISC, "DiscoverResponse"),
            (DISC, "DiscoverResult"),
        ],
    );
    result
        .children()
        .filter(|n| n.is_element())
        .map(|n| {
            assert_eq!(n.tag_name().namespace(), Some(DISC));
            (n.tag_name().name().to_owned(), text(n))
        })
        .collect()
}

fn header_values(xml: &str) -> (String, String, String) {
    let doc = parse(xml);
    let action = at(
        &doc,
        &[(SOAP, "Envelope"), (SOAP, "Header"), (WSA, "Action")],
    );
    assert_eq!(action.attribute((SOAP, "mustUnderstand")), Some("1"));
    let relates = text(at(
        &doc,
        &[(SOAP, "Envelope"), (SOAP, "Header"), (WSA, "RelatesTo")],
    ));
    let activity = text(at(
        &doc,
        &[(SOAP, "Envelope"), (SOAP, "Header"), (DIAG, "ActivityId")],
    ));
    (text(action), relates, activity)
}

#[test]
fn windows10_response_matches_the_one_windows_accepted() {
    let request = DiscoverRequest::parse(&fixture("win10/01-discover-request.xml")).unwrap();
    let config = DiscoveryConfig {
        enrollment_policy_service_url:
            "https://windows.fleetdm.ngrok.io/EnrollmentServer/Policy.svc".into(),
        enrollment_service_url: "https://windows.fleetdm.ngrok.io/EnrollmentServer/Enrollment.svc"
            .into(),
        authentication_service_url: None,
        allowed_auth_policies: vec![AuthPolicy::OnPremise],
        max_enrollment_version: EnrollmentVersion::V4_0,
    };
    let result = negotiate_discovery(&request, &config).unwrap();
    let activity: uuid::Uuid = "8c6060c4-3d78-4d73-ae17-e8bce88426ee".parse().unwrap();
    let reply = ReplyTo::to(&request.header.message_id).with_activity_id(activity);
    let ours = build_discover_response(&reply, &result);
    assert_eq!(ours.content_type(), "application/soap+xml; charset=utf-8");

    let theirs = String::from_utf8(fixture("win10/02-discover-response.server.xml")).unwrap();
    assert_eq!(result_children(ours.as_str()), result_children(&theirs));
    assert_eq!(header_values(ours.as_str()), header_values(&theirs));
    // Whole-document structure, prefixes aside.
    assert_eq!(
        outline(parse(ours.as_str()).root_element(), &[]),
        outline(parse(&theirs).root_element(), &[])
    );
}

#[test]
fn windows10_version_is_capped_by_the_server() {
    let request = DiscoverRequest::parse(&fixture("win10/01-discover-request.xml")).unwrap();
    let config = DiscoveryConfig {
        enrollment_policy_service_url: "https://e.example/p".into(),
        enrollment_service_url: "https://e.example/e".into(),
        authentication_service_url: Some("https://e.example/sts".into()),
        allowed_auth_policies: vec![AuthPolicy::Federated, AuthPolicy::OnPremise],
        max_enrollment_version: EnrollmentVersion::V3_0,
    };
    let result = negotiate_discovery(&request, &config).unwrap();
    let xml = build_discover_response(&ReplyTo::to(&request.header.message_id), &result);
    assert_eq!(
        result_children(xml.as_str()),
        vec![
            ("AuthPolicy".into(), "Federated".into()),
            ("EnrollmentVersion".into(), "3.0".into()),
            (
                "AuthenticationServiceUrl".into(),
                "https://e.example/sts".into()
            ),
            (
                "EnrollmentPolicyServiceUrl".into(),
                "https://e.example/p".into()
            ),
            ("EnrollmentServiceUrl".into(), "https://e.example/e".into()),
        ]
    );
    assert!(
        !xml.as_str().contains("ActivityId"),
        "no ActivityId unless asked"
    );
}

#[test]
fn windows81_response_matches_the_spec_sample() {
    let request = DiscoverRequest::parse(&fixture("mde1/01-discover-request.xml")).unwrap();
    let config = DiscoveryConfig {
        enrollment_policy_service_url:
            "https://manage.contoso.com/DeviceEnrollment/WinDeviceEnrollmentService.svc".into(),
        enrollment_service_url:
            "https://manage.contoso.com/DeviceEnrollment/WinDeviceEnrollmentService.svc".into(),
        authentication_service_url: Some(
            "https://portal.manage.contoso.com/LoginRedirect.aspx".into(),
        ),
        // Even a server preferring OnPremise answers Federated to Windows 8.1.
        allowed_auth_policies: vec![AuthPolicy::OnPremise, AuthPolicy::Federated],
        max_enrollment_version: EnrollmentVersion::V4_0,
    };
    let result = negotiate_discovery(&request, &config).unwrap();
    assert_eq!(result.enrollment_version, None);
    let activity: uuid::Uuid = "a4067bc9-ce15-446b-a3f7-5ea1006256f5".parse().unwrap();
    let ours = build_discover_response(
        &ReplyTo::to(&request.header.message_id).with_activity_id(activity),
        &result,
    );
    let theirs = String::from_utf8(fixture("mde1/02-discover-response.xml")).unwrap();
    // Same elements in the same (xsd:sequence) order, no EnrollmentVersion.
    assert_eq!(result_children(ours.as_str()), result_children(&theirs));
    assert_eq!(header_values(ours.as_str()), header_values(&theirs));
    // The spec's CorrelationId differs from its ActivityId; ours repeats the id in both.
    let doc = parse(ours.as_str());
    let activity_node = at(
        &doc,
        &[(SOAP, "Envelope"), (SOAP, "Header"), (DIAG, "ActivityId")],
    );
    assert_eq!(
        activity_node.attribute("CorrelationId"),
        Some("a4067bc9-ce15-446b-a3f7-5ea1006256f5")
    );
}

#[test]
fn windows81_without_federated_is_refused() {
    let request = DiscoverRequest::parse(&fixture("mde1/01-discover-request.xml")).unwrap();
    let config = DiscoveryConfig {
        enrollment_policy_service_url: "https://e.example/p".into(),
        enrollment_service_url: "https://e.example/e".into(),
        authentication_service_url: None,
        allowed_auth_policies: vec![AuthPolicy::OnPremise],
        max_enrollment_version: EnrollmentVersion::V4_0,
    };
    let err = negotiate_discovery(&request, &config).unwrap_err();
    assert_eq!(
        err,
        EnrollError::NoCommonAuthPolicy {
            offered: vec![AuthPolicy::Federated],
            allowed: vec![AuthPolicy::OnPremise]
        }
    );
    assert_eq!(err.fault("t").subcode, FaultSubcode::Authentication);
}

#[test]
fn relates_to_is_escaped_verbatim() {
    let id = MessageId::new("urn:uuid:<x>&\"").unwrap();
    let result = DiscoverResult {
        platform: Platform::Windows10,
        auth_policy: AuthPolicy::OnPremise,
        enrollment_version: Some(EnrollmentVersion::V4_0),
        authentication_service_url: None,
        enrollment_policy_service_url: "https://e.example/p?a=1&b=2".into(),
        enrollment_service_url: "https://e.example/e".into(),
    };
    let xml = build_discover_response(&ReplyTo::to(&id), &result);
    let doc = parse(xml.as_str());
    assert_eq!(
        text(at(
            &doc,
            &[(SOAP, "Envelope"), (SOAP, "Header"), (WSA, "RelatesTo")]
        )),
        "urn:uuid:<x>&\""
    );
    assert_eq!(
        result_children(xml.as_str())[2].1,
        "https://e.example/p?a=1&b=2"
    );
}
