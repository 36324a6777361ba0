//! Request fixtures parse to the expected values; the malformed spec samples get precise errors.

use casement_enroll::*;

use crate::support::{fixture, fixture_text};

#[test]
fn win10_discover_request_parses() {
    let req = DiscoverRequest::parse(&fixture("win10/01-discover-request.xml")).unwrap();
    assert_eq!(req.header.action, action::DISCOVER);
    assert_eq!(
        req.header.message_id.as_str(),
        "urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478"
    );
    assert_eq!(
        req.header.to.as_deref(),
        Some("https://EnterpriseEnrollment.fleetdm.ngrok.io:443/EnrollmentServer/Discovery.svc")
    );
    assert_eq!(req.email_address.as_deref(), Some("demo@fleetdm.ngrok.io"));
    assert_eq!(
        req.protocol,
        DiscoverProtocol::Mde2(Mde2Discover {
            request_version: EnrollmentVersion::V4_0,
            device_type: Some(DeviceType::CimClientWindows),
            application_version: Some("10.0.19043.2364".into()),
            os_edition: Some(72),
            auth_policies: vec![AuthPolicy::OnPremise, AuthPolicy::Federated],
        })
    );
    assert_eq!(req.platform().unwrap(), Platform::Windows10);
}

#[test]
fn mde1_discover_request_parses_as_windows81() {
    let req = DiscoverRequest::parse(&fixture("mde1/01-discover-request.xml")).unwrap();
    assert_eq!(
        req.header.message_id.as_str(),
        "urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478"
    );
    assert_eq!(
        req.header.to.as_deref(),
        Some("https://manage.contoso.com:443/EnrollmentServer/Discovery.svc")
    );
    assert_eq!(req.email_address.as_deref(), Some("johndoe@contoso.com"));
    assert_eq!(req.protocol, DiscoverProtocol::Mde1);
    assert_eq!(req.platform().unwrap(), Platform::Windows81);
}

#[test]
fn itpro_discover_sample_is_read_leniently_and_refused_as_a_phone() {
    // Trailing-slash namespace, padded Action/To, "urn:uuid: " with a space, comments between
    // fields, DeviceType WindowsPhone.
    let req =
        DiscoverRequest::parse(&fixture("itpro/discover-request-trailing-slash-ns.xml")).unwrap();
    assert_eq!(
        req.header.message_id.as_str(),
        "urn:uuid: 748132ec-a575-4329-b01b-6171a9cf8478"
    );
    assert_eq!(
        req.header.to.as_deref(),
        Some("https://ENROLLTEST.CONTOSO.COM/EnrollmentServer/Discovery.svc")
    );
    let DiscoverProtocol::Mde2(v2) = &req.protocol else {
        panic!("expected MDE2")
    };
    assert_eq!(v2.request_version, EnrollmentVersion::V3_0);
    assert_eq!(v2.os_edition, Some(3));
    assert_eq!(v2.device_type, Some(DeviceType::WindowsPhone));
    assert_eq!(v2.auth_policies, vec![AuthPolicy::OnPremise]);
    let err = req.platform().unwrap_err();
    assert_eq!(
        err,
        EnrollError::UnsupportedDevice {
            device_type: "WindowsPhone".into()
        }
    );
    let fault = err.fault("trace-1");
    assert_eq!(fault.subcode, FaultSubcode::Authorization);
    assert_eq!(
        fault.detail.unwrap().error_type,
        FaultErrorType::DeviceNotSupported
    );
}

#[test]
fn win10_getpolicies_request_parses_with_username_token() {
    let req =
        GetPoliciesRequest::parse(&fixture("win10/03-getpolicies-request-onpremise.xml")).unwrap();
    assert_eq!(req.header.action, action::GET_POLICIES);
    assert_eq!(
        req.header.message_id.as_str(),
        "urn:uuid:72048B64-0F19-448F-8C2E-B4C661860AA0"
    );
    assert_eq!(
        req.header.to.as_deref(),
        Some("https://windows.fleetdm.ngrok.io/EnrollmentServer/Policy.svc")
    );
    let SecurityToken::UsernamePassword { username, password } = &req.security else {
        panic!("{:?}", req.security)
    };
    assert_eq!(username, "demio");
    assert_eq!(password.expose(), "demo");
    assert_eq!(req.security.username(), Some("demio"));
    assert!(
        !format!("{req:?}").contains("\"demo\""),
        "password leaks into Debug"
    );
}

#[test]
fn win10_rst_request_parses_fully() {
    let req = RstRequest::parse(&fixture("win10/05-rst-request-onpremise.xml")).unwrap();
    assert_eq!(
        req.header.message_id.as_str(),
        "urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749"
    );
    assert_eq!(
        req.header.to.as_deref(),
        Some("https://windows.fleetdm.ngrok.io/EnrollmentServer/Enrollment.svc")
    );
    assert_eq!(req.kind, RstKind::Standard);
    assert_eq!(req.token_type, TokenType::DeviceEnrollment);
    assert_eq!(req.request_type, RequestType::Issue);
    assert_eq!(
        req.certificate_request,
        CertificateRequest::Pkcs10(fixture("win10/05c-rst-csr.pkcs10.der"))
    );
    assert_eq!(req.certificate_request.der().len(), 722);
    assert_eq!(req.security.username(), Some("demio"));
    assert_eq!(req.claimed_user(), Some("demio"));
    assert_eq!(req.platform(), Platform::Windows10);

    let ctx = &req.context;
    assert_eq!(ctx.len(), 18);
    assert_eq!(ctx.device_id(), Some("B5B954E81FBCB94EB79BD08BE625F4EE"));
    assert_eq!(
        ctx.hw_dev_id(),
        Some("3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76")
    );
    assert_eq!(ctx.os_version(), Some("10.0.19043.2364"));
    assert_eq!(ctx.os_edition(), Some(72));
    assert_eq!(ctx.device_type(), Some(DeviceType::CimClientWindows));
    assert_eq!(ctx.device_name(), Some("DESKTOP-28FGAI6"));
    assert_eq!(ctx.enrollment_type(), Some("Full"));
    assert_eq!(ctx.application_version(), Some("10.0.19043.2364"));
    assert_eq!(ctx.get("Locale"), Some("en-US"));
    assert_eq!(
        ctx.get("uxinitiated"),
        Some("true"),
        "names are case-insensitive"
    );
    assert_eq!(ctx.get("NotInOobe"), Some("false"));
    assert_eq!(ctx.enrollment_on_behalf_of_user(), None);
    assert_eq!(
        ctx.macs(),
        vec![
            "00-0C-29-51-60-9D",
            "1A-77-20-52-41-53",
            "1A-77-20-52-41-53",
            "00-0C-29-51-60-A7",
            "18-14-20-52-41-53",
            "00-0C-29-51-60-93"
        ]
    );
    let first_three: Vec<(&str, &str)> = ctx.items().take(3).collect();
    assert_eq!(
        first_three,
        vec![
            ("UXInitiated", "true"),
            (
                "HWDevID",
                "3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0162FC3840D6703149870CE76"
            ),
            ("Locale", "en-US")
        ]
    );
}

#[test]
fn rst_with_wrapped_base64_and_federated_token() {
    // The win10 RST with the CSR wrapped at 64 columns and a federated user token instead of
    // the UsernameToken.
    let token = StsToken::from_random([0x5a; 32]);
    let original = fixture_text("win10/05-rst-request-onpremise.xml");
    let b64 = fixture_text("win10/05b-rst-csr.pkcs10.b64");
    let b64 = b64.trim();
    let wrapped: String = b64
        .as_bytes()
        .chunks(64)
        .map(|c| format!("\n        {}", std::str::from_utf8(c).unwrap()))
        .collect();
    let user_token = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(token.as_str())
    };
    let start = original.find("<wsse:UsernameToken").unwrap();
    let end = original.find("</wsse:UsernameToken>").unwrap() + "</wsse:UsernameToken>".len();
    let xml = format!(
        "{}<wsse:BinarySecurityToken ValueType=\"{USER_TOKEN_VALUE_TYPE}\" EncodingType=\"{BASE64_ENCODING_TYPE}\">\n{user_token}\n</wsse:BinarySecurityToken>{}",
        &original[..start],
        &original[end..]
    )
    .replace(b64, &wrapped);
    let req = RstRequest::parse(xml.as_bytes()).unwrap();
    assert_eq!(
        req.certificate_request.der(),
        fixture("win10/05c-rst-csr.pkcs10.der").as_slice()
    );
    let SecurityToken::Federated(federated) = &req.security else {
        panic!("{:?}", req.security)
    };
    assert_eq!(federated.sts_token().unwrap(), token);
    assert_eq!(req.claimed_user(), None);
}

const OBO_AND_RENEW_TEMPLATE: &str = r#"<s:Envelope xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512" xmlns:ac="AC_NS">
  <s:Header>
    <a:Action s:mustUnderstand="1">http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep</a:Action>
    <a:MessageID>urn:uuid:b5d1a601-5091-4a7d-b34b-5204c18b5919</a:MessageID>
    SECURITY
  </s:Header>
  <s:Body>
    <wst:BODY>
      <wst:TokenType>"TOKEN_TYPE"</wst:TokenType>
      <wst:RequestType>REQUEST_TYPE</wst:RequestType>
      <wsse:BinarySecurityToken ValueType="VALUE_TYPE" EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary">AQID</wsse:BinarySecurityToken>
      <ac:AdditionalContext>
        <ac:ContextItem Name="DeviceType"><ac:Value>CIMClient_Windows</ac:Value></ac:ContextItem>
        CONTEXT
      </ac:AdditionalContext>
    </wst:BODY>
  </s:Body>
</s:Envelope>"#;

#[test]
fn windows81_on_behalf_of_request() {
    // MS-MDE §3.4.4.1.1.2 shape, with the MS-MDE §2.2.1 `ac:` namespace and the spec's literal
    // quotes around TokenType.
    let security = format!(
        "<wsse:Security><wsse:BinarySecurityToken ValueType=\"{USER_TOKEN_VALUE_TYPE}\" EncodingType=\"{BASE64_ENCODING_TYPE}\">dG9rZW4=</wsse:BinarySecurityToken></wsse:Security>"
    );
    let xml = OBO_AND_RENEW_TEMPLATE
        .replace("AC_NS", "http://schemas.microsoft.com/windows/pki/2009/01/enrollment")
        .replace("SECURITY", &security)
        .replace("BODY", "RequestSecurityTokenOnBehalfOf")
        .replace("TOKEN_TYPE", TOKEN_TYPE_ON_BEHALF_OF)
        .replace("REQUEST_TYPE", REQUEST_TYPE_ISSUE)
        .replace("VALUE_TYPE", VALUE_TYPE_PKCS10)
        .replace(
            "CONTEXT",
            r#"<ac:ContextItem Name="EnrollmentOnBehalfOfUser"><ac:Value>jane@contoso.com</ac:Value></ac:ContextItem>
               <ac:ContextItem Name="ApplicationVersion"><ac:Value>8.0.0.0</ac:Value></ac:ContextItem>"#,
        );
    let req = RstRequest::parse(xml.as_bytes()).unwrap();
    assert_eq!(req.kind, RstKind::OnBehalfOf);
    assert_eq!(req.token_type, TokenType::DeviceEnrollmentOnBehalfOf);
    assert_eq!(
        req.certificate_request,
        CertificateRequest::Pkcs10(vec![1, 2, 3])
    );
    assert_eq!(
        req.context.enrollment_on_behalf_of_user(),
        Some("jane@contoso.com")
    );
    assert_eq!(req.claimed_user(), Some("jane@contoso.com"));
    assert_eq!(req.platform(), Platform::Windows81);
    let SecurityToken::Federated(token) = &req.security else {
        panic!()
    };
    assert_eq!(token.as_bytes(), b"token");
    assert!(matches!(
        token.sts_token(),
        Err(EnrollError::InvalidSecurity { .. })
    ));
}

#[test]
fn renewal_request_without_security_header() {
    let xml = OBO_AND_RENEW_TEMPLATE
        .replace("AC_NS", "http://schemas.xmlsoap.org/ws/2006/12/authorization")
        .replace("SECURITY", "")
        .replace("BODY", "RequestSecurityToken")
        .replace("TOKEN_TYPE", TOKEN_TYPE_DEVICE_ENROLLMENT)
        .replace("REQUEST_TYPE", REQUEST_TYPE_RENEW)
        .replace("VALUE_TYPE", VALUE_TYPE_PKCS7)
        .replace("CONTEXT", r#"<ac:ContextItem Name="OSVersion"><ac:Value>10.0.22621.1</ac:Value></ac:ContextItem>"#);
    let req = RstRequest::parse(xml.as_bytes()).unwrap();
    assert_eq!(req.request_type, RequestType::Renew);
    assert_eq!(
        req.certificate_request,
        CertificateRequest::Pkcs7(vec![1, 2, 3])
    );
    assert_eq!(req.security, SecurityToken::None);
    assert_eq!(req.platform(), Platform::Windows10);
    assert_eq!(req.claimed_user(), None);
}

#[test]
fn dispatcher_recognises_each_operation() {
    let discover = EnrollRequest::parse(&fixture("win10/01-discover-request.xml")).unwrap();
    assert!(matches!(discover, EnrollRequest::Discover(_)));
    assert_eq!(discover.fault_context(), FaultContext::Other);
    let policies =
        EnrollRequest::parse(&fixture("win10/03-getpolicies-request-onpremise.xml")).unwrap();
    assert!(matches!(policies, EnrollRequest::GetPolicies(_)));
    let rst = EnrollRequest::parse(&fixture("win10/05-rst-request-onpremise.xml")).unwrap();
    assert_eq!(
        rst.header().message_id.as_str(),
        "urn:uuid:0d5a1441-5891-453b-becf-a2e5f6ea3749"
    );
    assert_eq!(rst.fault_context(), FaultContext::RequestSecurityToken);
}

#[test]
fn malformed_spec_samples_get_precise_errors() {
    // docs/fixtures.md: mde1/03 declares xmlns:o but uses wsse:; mde1/04 has `<algorithmOIDReferencexsi:nil`;
    // mde1/05 uses undeclared prefixes (and unquoted attributes further down).
    let cases = [
        (
            "mde1/03-getpolicies-request.xml",
            "an unknown namespace prefix 'wsse' at 11:6",
        ),
        (
            "mde1/04-getpolicies-response.xml",
            "expected a whitespace not '=' at 17:46",
        ),
        (
            "mde1/05-rst-request.xml",
            "an unknown namespace prefix 'wsse' at 11:6",
        ),
    ];
    for (file, detail) in cases {
        let err = EnrollRequest::parse(&fixture(file)).unwrap_err();
        assert_eq!(
            err,
            EnrollError::NotXml {
                detail: detail.into()
            },
            "{file}"
        );
        assert_eq!(err.fault("t").subcode, FaultSubcode::MessageFormat);
    }
}

#[test]
fn mde1_rst_sample_once_repaired_parses() {
    // Declare the prefixes, quote the attributes and put a token in: then the MS-MDE §4.3.1 shape
    // (TokenType in literal quotes, `ac:` items) parses.
    let xml = fixture_text("mde1/05-rst-request.xml")
        .replace(
            "xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">",
            "xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" xmlns:wst=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\" xmlns:ac=\"http://schemas.xmlsoap.org/ws/2006/12/authorization\">",
        )
        .replace(
            "ValueType=http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentUserToken EncodingType=\"\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary\"\"",
            "ValueType=\"http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentUserToken\" EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary\"",
        )
        .replace("<!-- Token Removed -->", "dG9rZW4=")
        .replace("<!-- Token removed -->", "AQID");
    let req = RstRequest::parse(xml.as_bytes()).unwrap();
    assert_eq!(
        req.header.message_id.as_str(),
        "urn:uuid:b5d1a601-5091-4a7d-b34b-5204c18b5919"
    );
    assert_eq!(req.header.to, None);
    assert_eq!(req.token_type, TokenType::DeviceEnrollment);
    assert_eq!(
        req.certificate_request,
        CertificateRequest::Pkcs10(vec![1, 2, 3])
    );
    assert_eq!(
        req.context.items().collect::<Vec<_>>(),
        vec![("DeviceType", "CIMClient_Windows")]
    );
    assert_eq!(req.platform(), Platform::Windows81);
}
