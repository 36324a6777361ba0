//! Arbitrary bytes into the enrollment SOAP parsers (Discovery, GetPolicies, RequestSecurityToken
//! and their WS-Security headers), then through the response builders the server would use.
//!
//! Besides "no panic", it asserts:
//! - what the dispatcher [`EnrollRequest::parse`] accepts, the specific parser of that operation
//!   accepts with the same value, and the two others refuse;
//! - every refusal becomes a fault envelope that is well-formed XML (with and without a
//!   RelatesTo), and its error message stays short (peer text in it is clipped);
//! - every accepted request yields a response (DiscoverResponse or fault, GetPoliciesResponse,
//!   RSTRC with a provisioning document built from the request's own DeviceID and DeviceName)
//!   that is well-formed XML, relates to the request's MessageID exactly, and whose
//!   provisioning document decodes back and is itself well-formed XML;
//! - a federated token that reads as one of our STS tokens writes back to the same token.
//!
//! Inputs larger than the parser's 256 KiB limit are refused before parsing; the fuzzer's
//! `-max_len` keeps them smaller anyway. A slow input shows up as a libFuzzer `-timeout`.

#![no_main]

use base64::Engine as _;
use casement_enroll::*;
use libfuzzer_sys::fuzz_target;
use roxmltree::Document;

/// Longest error message any refusal may produce (peer values are clipped to 200 characters).
const MAX_ERROR_MESSAGE: usize = 4096;

fn well_formed<'a>(what: &str, xml: &'a str) -> Document<'a> {
    match Document::parse(xml) {
        Ok(doc) => doc,
        Err(e) => panic!("{what} is not well-formed XML: {e}\n{xml}"),
    }
}

fn relates_to(doc: &Document<'_>) -> Option<String> {
    doc.descendants()
        .find(|n| n.has_tag_name((ns::WSA, "RelatesTo")))
        .map(|n| n.text().unwrap_or_default().to_owned())
}

fn check_reply(what: &str, message: &SoapMessage, id: Option<&MessageId>) {
    assert_eq!(message.content_type(), SOAP_CONTENT_TYPE);
    let doc = well_formed(what, message.as_str());
    let root = doc.root_element();
    assert!(
        root.has_tag_name((ns::SOAP12, "Envelope")),
        "{what}: root is not a SOAP 1.2 envelope"
    );
    assert_eq!(
        relates_to(&doc).as_deref(),
        id.map(MessageId::as_str),
        "{what}: RelatesTo does not echo the request's MessageID"
    );
}

fn check_refusal(error: &EnrollError, id: Option<&MessageId>) {
    let text = error.to_string();
    assert!(
        text.len() <= MAX_ERROR_MESSAGE,
        "error message of {} bytes: {error:?}",
        text.len()
    );
    let fault = error.fault("00000000-0000-0000-0000-000000000000");
    // The two fault contexts differ only in the Action.
    let context = if text.len() % 2 == 0 {
        FaultContext::Other
    } else {
        FaultContext::RequestSecurityToken
    };
    let reply = ReplyTo {
        relates_to: id,
        activity_id: None,
    };
    check_reply("fault", &build_fault(&reply, context, &fault), id);
}

fn discovery_config(policies: Vec<AuthPolicy>) -> DiscoveryConfig {
    DiscoveryConfig {
        enrollment_policy_service_url: "https://mdm.example/EnrollmentServer/Policy.svc".into(),
        enrollment_service_url: "https://mdm.example/EnrollmentServer/Enrollment.svc".into(),
        authentication_service_url: Some("https://mdm.example/EnrollmentServer/Sts".into()),
        allowed_auth_policies: policies,
        max_enrollment_version: EnrollmentVersion::V4_0,
    }
}

fn discover(request: &DiscoverRequest) {
    let id = &request.header.message_id;
    let _ = request.platform();
    for policies in [
        vec![AuthPolicy::OnPremise],
        vec![AuthPolicy::Federated, AuthPolicy::OnPremise],
    ] {
        match negotiate_discovery(request, &discovery_config(policies)) {
            Ok(result) => {
                let reply = ReplyTo::to(id).with_activity_id(uuid::Uuid::nil());
                check_reply(
                    "DiscoverResponse",
                    &build_discover_response(&reply, &result),
                    Some(id),
                );
            }
            Err(e) => check_refusal(&e, Some(id)),
        }
    }
}

fn security(token: &SecurityToken) {
    let _ = token.username();
    if let SecurityToken::Federated(federated) = token {
        assert!(!federated.as_bytes().is_empty());
        if let Ok(sts) = federated.sts_token() {
            let again = StsToken::parse(sts.as_str()).expect("an STS token must parse again");
            assert_eq!(again.id(), sts.id());
        }
    }
}

fn certificate(der: &[u8]) -> Certificate {
    let thumb = Thumbprint::from_bytes([0x5b; 20]);
    Certificate::new(der.to_vec(), thumb).expect("non-empty DER")
}

fn rst(request: &RstRequest) {
    let id = &request.header.message_id;
    security(&request.security);
    let platform = request.platform();
    let _ = request.claimed_user();
    let context = &request.context;
    assert_eq!(context.items().count(), context.len());
    let _ = (
        context.hw_dev_id(),
        context.os_version(),
        context.os_edition(),
        context.device_type(),
        context.application_version(),
        context.enrollment_type(),
        context.enrollment_on_behalf_of_user(),
        context.macs(),
    );

    // The provisioning document carries the device's own claims: its DeviceID (as the
    // certificate CN and EntDMID) and its DeviceName.
    let device_id = context
        .device_id()
        .unwrap_or("B5B954E81FBCB94EB79BD08BE625F4EE");
    let device_name = context.device_name().map(str::to_owned);
    let platform_settings = match platform {
        Platform::Windows81 => PlatformProvisioning::Windows81(Windows81Provisioning {
            renewal_period: 363,
            oma_dm_retry: OmaDmRetry::default(),
            omadm_account_id: "Casement".into(),
        }),
        _ => PlatformProvisioning::Windows10Plus(Windows10Provisioning {
            ent_dm_id: device_id.to_owned(),
            poll: PollSchedule::default(),
            robo_renewal: None,
        }),
    };
    let input = ProvisioningInput {
        root_ca: certificate(b"root-ca"),
        intermediate_cas: Vec::new(),
        device_cert: certificate(b"device"),
        device_cert_subject_cn: device_id.to_owned(),
        provider_id: "Casement".parse().expect("fixed provider id"),
        name: "Casement".into(),
        addr: "https://mdm.example/ManagementServer/MDM.svc"
            .parse()
            .expect("fixed URL"),
        server_list: None,
        ssp_hyperlink: None,
        crl_check: None,
        connection: ConnectionRetry::default(),
        app_auth: AppAuth {
            client_secret: "c".into(),
            client_nonce: "AAAA".into(),
            server_name: "s".into(),
            server_secret: "s".into(),
            server_nonce: "AAAA".into(),
        },
        device_name: device_name.clone(),
        platform: platform_settings,
    };
    let doc = match build_provisioning_doc(&input) {
        Ok(doc) => doc,
        Err(e) => return check_refusal(&e, Some(id)),
    };
    let parsed = well_formed("provisioning document", doc.as_str());
    if let Some(name) = &device_name {
        let found = parsed
            .descendants()
            .filter(|n| n.is_element())
            .any(|n| n.attribute("value") == Some(name.as_str()));
        // The 8.1 and 10 documents carry the name as a parm value, verbatim.
        assert!(
            found,
            "DeviceName {name:?} is not in the provisioning document"
        );
    }
    let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("fixed time");
    let rstrc = build_rstrc(&ReplyTo::to(id), platform, &doc, now);
    check_reply("RSTRC", &rstrc, Some(id));
    let xml = well_formed("RSTRC", rstrc.as_str());
    let carried = xml
        .descendants()
        .find(|n| n.has_tag_name((ns::WSSE, "BinarySecurityToken")))
        .and_then(|n| n.text())
        .expect("the RSTRC carries the provisioning document");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(carried)
        .expect("the provisioning document is base64");
    assert_eq!(decoded, doc.as_str().as_bytes());
}

fuzz_target!(|data: &[u8]| {
    match EnrollRequest::parse(data) {
        Ok(EnrollRequest::Discover(request)) => {
            assert_eq!(DiscoverRequest::parse(data).ok().as_ref(), Some(&request));
            assert!(GetPoliciesRequest::parse(data).is_err() && RstRequest::parse(data).is_err());
            discover(&request);
        }
        Ok(EnrollRequest::GetPolicies(request)) => {
            assert_eq!(
                GetPoliciesRequest::parse(data).ok().as_ref(),
                Some(&request)
            );
            assert!(DiscoverRequest::parse(data).is_err() && RstRequest::parse(data).is_err());
            security(&request.security);
            let id = &request.header.message_id;
            check_reply(
                "GetPoliciesResponse",
                &build_get_policies_response(&ReplyTo::to(id), &PolicyConfig::default()),
                Some(id),
            );
        }
        Ok(EnrollRequest::RequestSecurityToken(request)) => {
            assert_eq!(RstRequest::parse(data).ok().as_ref(), Some(&request));
            assert!(
                DiscoverRequest::parse(data).is_err() && GetPoliciesRequest::parse(data).is_err()
            );
            rst(&request);
        }
        Err(e) => check_refusal(&e, None),
    }
});
