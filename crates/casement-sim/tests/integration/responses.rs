//! The simulator's response parsers read what the server's builders (casement-enroll) produce,
//! and the responses real Windows clients accepted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use casement_enroll::*;
use casement_sim::enroll::responses::{
    DeviceStore, PollSettings, ResponseError, parse_discover_response, parse_fault,
    parse_get_policies_response, parse_provisioning_doc, parse_rstrc,
};
use time::macros::datetime;

use crate::support::{ca, fixture};

fn message_id() -> MessageId {
    MessageId::new("urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749").unwrap()
}

fn discover_result(platform: Platform, policy: AuthPolicy) -> DiscoverResult {
    DiscoverResult {
        platform,
        auth_policy: policy,
        enrollment_version: (platform == Platform::Windows10).then_some(EnrollmentVersion::V4_0),
        authentication_service_url: (policy == AuthPolicy::Federated)
            .then(|| "https://e.test/EnrollmentServer/Sts".to_owned()),
        enrollment_policy_service_url: "https://e.test/EnrollmentServer/Policy.svc".into(),
        enrollment_service_url: "https://e.test/EnrollmentServer/Enrollment.svc".into(),
    }
}

#[test]
fn discover_responses_built_by_the_server_parse() {
    let id = message_id();
    for (platform, policy) in [
        (Platform::Windows81, AuthPolicy::Federated),
        (Platform::Windows10, AuthPolicy::OnPremise),
        (Platform::Windows10, AuthPolicy::Federated),
    ] {
        let result = discover_result(platform, policy);
        let reply = ReplyTo::to(&id).with_activity_id(uuid::Uuid::new_v4());
        let xml = build_discover_response(&reply, &result);
        let parsed = parse_discover_response(xml.as_str()).unwrap();
        assert_eq!(parsed.relates_to.as_deref(), Some(id.as_str()));
        assert_eq!(parsed.auth_policy, result.auth_policy);
        assert_eq!(parsed.enrollment_version, result.enrollment_version);
        assert_eq!(
            parsed.authentication_service_url,
            result.authentication_service_url
        );
        assert_eq!(
            parsed.enrollment_policy_service_url,
            result.enrollment_policy_service_url
        );
        assert_eq!(parsed.enrollment_service_url, result.enrollment_service_url);
    }
}

#[test]
fn discover_responses_from_the_fixtures_parse() {
    let real = parse_discover_response(&fixture("win10-02-discover-response.server.xml")).unwrap();
    assert_eq!(real.auth_policy, AuthPolicy::OnPremise);
    assert_eq!(real.enrollment_version, Some(EnrollmentVersion::V4_0));
    assert_eq!(real.authentication_service_url, None);
    assert_eq!(
        real.enrollment_service_url,
        "https://windows.fleetdm.ngrok.io/EnrollmentServer/Enrollment.svc"
    );
    let spec = parse_discover_response(&fixture("mde1-02-discover-response.xml")).unwrap();
    assert_eq!(spec.auth_policy, AuthPolicy::Federated);
    assert_eq!(spec.enrollment_version, None);
    assert_eq!(
        spec.authentication_service_url.as_deref(),
        Some("https://portal.manage.contoso.com/LoginRedirect.aspx")
    );
}

#[test]
fn get_policies_response_built_by_the_server_parses() {
    let id = message_id();
    let config = PolicyConfig::default();
    let xml = build_get_policies_response(&ReplyTo::to(&id), &config);
    let parsed = parse_get_policies_response(xml.as_str()).unwrap();
    assert_eq!(parsed.relates_to.as_deref(), Some(id.as_str()));
    assert_eq!(parsed.policy_schema, 3);
    assert_eq!(parsed.minimal_key_length, Some(config.minimal_key_length));
    assert_eq!(
        parsed.hash_algorithm_oid.as_deref(),
        Some(config.hash_algorithm.oid())
    );
}

#[test]
fn wrong_response_to_an_operation_is_reported() {
    let id = message_id();
    let xml = build_get_policies_response(&ReplyTo::to(&id), &PolicyConfig::default());
    assert!(matches!(
        parse_discover_response(xml.as_str()),
        Err(ResponseError::WrongAction { .. })
    ));
    assert!(matches!(
        parse_rstrc(xml.as_str()),
        Err(ResponseError::WrongAction { .. })
    ));
}

/// A provisioning input with real certificates from the test CA.
fn input(platform: Platform) -> (ProvisioningInput, Vec<u8>) {
    let csr = casement_ca::windows_like_csr("B5B954E81FBCB94EB79BD08BE625F4EE", &mut rand::rng())
        .unwrap();
    let verified = casement_ca::VerifiedCsr::from_der(&csr.csr_der).unwrap();
    let issued = ca()
        .issue_device_certificate(
            &verified,
            "B5B954E81FBCB94EB79BD08BE625F4EE",
            time::OffsetDateTime::now_utc(),
            &mut rand::rng(),
        )
        .unwrap();
    let cert =
        |der: &[u8], thumb: &str| Certificate::new(der.to_vec(), thumb.parse().unwrap()).unwrap();
    let platform = match platform {
        Platform::Windows81 => PlatformProvisioning::Windows81(Windows81Provisioning {
            renewal_period: 363,
            oma_dm_retry: OmaDmRetry::default(),
            omadm_account_id: "037B1F0D3842015588E753CDE76EC724".into(),
        }),
        Platform::Windows10 => PlatformProvisioning::Windows10Plus(Windows10Provisioning {
            ent_dm_id: "B5B954E81FBCB94EB79BD08BE625F4EE".into(),
            poll: PollSchedule::default(),
            robo_renewal: None,
        }),
    };
    let input = ProvisioningInput {
        root_ca: cert(ca().certificate_der(), ca().sha1_thumbprint()),
        intermediate_cas: vec![],
        device_cert: cert(&issued.der, &issued.sha1_thumbprint),
        device_cert_subject_cn: "B5B954E81FBCB94EB79BD08BE625F4EE".into(),
        provider_id: "Casement MDM".parse().unwrap(),
        name: "Casement".into(),
        addr: "https://e.test/ManagementServer/MDM.svc".parse().unwrap(),
        server_list: None,
        ssp_hyperlink: None,
        crl_check: Some(false),
        connection: ConnectionRetry::default(),
        app_auth: AppAuth {
            client_secret: "cs".into(),
            client_nonce: "Y24=".into(),
            server_name: "sn".into(),
            server_secret: "ss".into(),
            server_nonce: "c24=".into(),
        },
        device_name: Some("DESKTOP-28FGAI6".into()),
        platform,
    };
    (input, issued.der)
}

#[test]
fn windows10_rstrc_built_by_the_server_parses() {
    let id = message_id();
    let (input, device_der) = input(Platform::Windows10);
    let doc = build_provisioning_doc(&input).unwrap();
    let xml = build_rstrc(
        &ReplyTo::to(&id),
        Platform::Windows10,
        &doc,
        datetime!(2026-01-02 03:04:05 UTC),
    );
    let parsed = parse_rstrc(xml.as_str()).unwrap();
    assert_eq!(parsed.relates_to.as_deref(), Some(id.as_str()));
    let p = parsed.provisioning;
    assert_eq!(p.xml, doc.as_str());
    assert_eq!(p.root_certificates.len(), 1);
    assert_eq!(p.root_certificates[0].der, ca().certificate_der());
    assert_eq!(p.root_certificates[0].thumbprint, ca().sha1_thumbprint());
    assert_eq!(p.device_certificate.der, device_der);
    assert_eq!(p.device_store, DeviceStore::User);
    p.verify_thumbprints().unwrap();
    assert_eq!(p.w7.addr, "https://e.test/ManagementServer/MDM.svc");
    assert_eq!(p.w7.provider_id, "Casement MDM");
    assert_eq!(p.w7.name.as_deref(), Some("Casement"));
    assert_eq!(
        p.w7.default_encoding.as_deref(),
        Some("application/vnd.syncml.dm+xml")
    );
    assert_eq!(
        p.w7.ssl_client_cert_search_criteria.as_deref(),
        Some("Subject=CN%3dB5B954E81FBCB94EB79BD08BE625F4EE&Stores=MY%5CUser")
    );
    assert_eq!(p.w7.parameter("ROLE"), Some(W7_ROLE));
    let levels: Vec<&str> = p.w7.app_auth.iter().map(|a| a.level.as_str()).collect();
    assert_eq!(levels, ["CLIENT", "APPSRV"]);
    assert_eq!(p.w7.app_auth[1].name.as_deref(), Some("sn"));
    let dm = p.dm_client.expect("DMClient");
    assert_eq!(dm.provider_id, "Casement MDM");
    assert_eq!(
        dm.ent_dm_id.as_deref(),
        Some("B5B954E81FBCB94EB79BD08BE625F4EE")
    );
    assert_eq!(dm.ent_device_name.as_deref(), Some("DESKTOP-28FGAI6"));
    let defaults = PollSchedule::default();
    assert_eq!(
        dm.poll,
        PollSettings {
            number_of_first_retries: Some(defaults.number_of_first_retries),
            interval_for_first_set_of_retries: Some(defaults.interval_for_first_set_of_retries),
            number_of_second_retries: Some(defaults.number_of_second_retries),
            interval_for_second_set_of_retries: Some(defaults.interval_for_second_set_of_retries),
            number_of_remaining_scheduled_retries: Some(
                defaults.number_of_remaining_scheduled_retries
            ),
            interval_for_remaining_scheduled_retries: Some(
                defaults.interval_for_remaining_scheduled_retries
            ),
            poll_on_login: Some(defaults.poll_on_login),
            all_users_poll_on_first_login: None,
        }
    );
    assert!(p.registry.is_empty());
}

#[test]
fn windows81_rstrc_built_by_the_server_parses() {
    let id = message_id();
    let (input, device_der) = input(Platform::Windows81);
    let doc = build_provisioning_doc(&input).unwrap();
    let xml = build_rstrc(
        &ReplyTo::to(&id),
        Platform::Windows81,
        &doc,
        datetime!(2026-01-02 03:04:05 UTC),
    );
    let p = parse_rstrc(xml.as_str()).unwrap().provisioning;
    assert_eq!(p.device_certificate.der, device_der);
    assert_eq!(p.device_store, DeviceStore::User);
    p.verify_thumbprints().unwrap();
    assert_eq!(p.w7.addr, "https://e.test/ManagementServer/MDM.svc");
    assert!(p.dm_client.is_none());
    let retry: Vec<(&str, Option<&str>)> = p
        .registry
        .iter()
        .filter(|r| r.key == r"HKLM\Security\MachineEnrollment\OmaDmRetry")
        .map(|r| (r.name.as_str(), r.value.as_deref()))
        .collect();
    assert_eq!(retry[0], ("NumRetries", Some("8")));
    assert_eq!(retry.len(), 6);
    let hash = p
        .registry
        .iter()
        .find(|r| r.name == "SslClientCertHash")
        .unwrap();
    assert_eq!(
        hash.value.as_deref(),
        Some(p.device_certificate.thumbprint.as_str())
    );
}

/// The spec's and Fleet's documents, with their elided certificates replaced by valid base64.
fn with_placeholder_certificates(xml: &str) -> String {
    let mut out = String::new();
    let mut rest = xml;
    let marker = "name=\"EncodedCertificate\" value=\"";
    while let Some(at) = rest.find(marker) {
        let start = at + marker.len();
        out.push_str(&rest[..start]);
        out.push_str(&STANDARD.encode(b"certificate"));
        let end = rest[start..].find('"').unwrap() + start;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn provisioning_documents_windows_accepted_parse() {
    let fleet =
        with_placeholder_certificates(&fixture("win10-06b-provisioningdoc.server.decoded.xml"));
    let p = parse_provisioning_doc(&fleet).unwrap();
    assert_eq!(
        p.root_certificates[0].thumbprint,
        "D9A88E04AF18A4D399CEE62F2C71469C3AE1E675"
    );
    assert_eq!(
        p.device_certificate.thumbprint,
        "8F2EBD13F3612D7C48C30E24CC73A88492613849"
    );
    assert_eq!(p.device_certificate.der, b"certificate");
    assert_eq!(p.w7.provider_id, "DEMO MDM");
    assert_eq!(
        p.w7.addr,
        "https://windows.fleetdm.ngrok.io/ManagementServer/MDM.svc"
    );
    assert_eq!(p.dm_client.unwrap().poll.number_of_first_retries, Some(8));

    let spec = with_placeholder_certificates(&fixture("mde1-07-provisioningdoc-win81.xml"));
    let p = parse_provisioning_doc(&spec).unwrap();
    assert_eq!(p.root_certificates.len(), 1);
    assert_eq!(
        p.intermediate_certificates[0].thumbprint,
        "5DF7DE78255449CFEBD82CD626011982378F40F1"
    );
    assert_eq!(
        p.device_certificate.thumbprint,
        "B692158116B7B82EDA4600FF4145414933B0D5AB"
    );
    assert_eq!(p.w7.addr, "https://ContosoManagementService.com/MDMHandler");
    assert_eq!(p.w7.provider_id, "Contoso Management Service");
    assert_eq!(p.registry.len(), 13);
}

#[test]
fn faults_built_by_the_server_are_typed() {
    let id = message_id();
    let fault = Fault::new(FaultSubcode::Authorization, "device cap reached").with_detail(
        FaultDetail::new(
            FaultErrorType::DeviceCapReached,
            "ann@example.com has enrolled 5 devices",
            "trace-42",
        ),
    );
    for context in [FaultContext::RequestSecurityToken, FaultContext::Other] {
        let xml = build_fault(&ReplyTo::to(&id), context, &fault);
        let parsed = parse_fault(xml.as_str()).unwrap();
        assert_eq!(parsed.code, "s:Receiver");
        assert_eq!(parsed.subcode.as_deref(), Some("s:Authorization"));
        assert_eq!(parsed.known_subcode(), Some(FaultSubcode::Authorization));
        assert_eq!(parsed.reason, "device cap reached");
        let detail = parsed.detail.as_ref().unwrap();
        assert_eq!(detail.error_type, "DeviceCapReached");
        assert_eq!(detail.message, "ann@example.com has enrolled 5 devices");
        assert_eq!(detail.trace_id, "trace-42");
        assert_eq!(
            parsed.known_error_type(),
            Some(FaultErrorType::DeviceCapReached)
        );
        assert_eq!(parsed.hresult(), Some(0x8018_0013));
        // Every response parser reports it as a fault.
        let as_rstrc = parse_rstrc(xml.as_str()).unwrap_err();
        assert_eq!(as_rstrc, ResponseError::Fault(Box::new(parsed)));
    }
    for subcode in FaultSubcode::ALL {
        let xml = build_fault(
            &ReplyTo::to(&id),
            FaultContext::Other,
            &Fault::new(subcode, "r"),
        );
        let parsed = parse_fault(xml.as_str()).unwrap();
        assert_eq!(parsed.known_subcode(), Some(subcode));
        assert_eq!(parsed.hresult(), Some(subcode.hresult()));
        assert!(parsed.detail.is_none());
        assert!(matches!(
            parse_discover_response(xml.as_str()),
            Err(ResponseError::Fault(_))
        ));
    }
}
