//! wap-provisioningdoc compared with the MS-MDE 8.1 sample, the document a real Windows 10
//! accepted, and the renewal sample.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use casement_enroll::*;

use crate::support::{encoded_certificates, fixture_text, provisioning_lines};

fn cert(der: &[u8], thumb: &str) -> Certificate {
    Certificate::new(der.to_vec(), thumb.parse().unwrap()).unwrap()
}

fn dummy_auth() -> AppAuth {
    AppAuth {
        client_secret: "dummy".into(),
        client_nonce: "nonce".into(),
        server_name: "dummy".into(),
        server_secret: "dummy".into(),
        server_nonce: "nonce".into(),
    }
}

/// The inputs that reproduce `mde1/07` (MS-MDE §3.6).
pub fn win81_input() -> ProvisioningInput {
    ProvisioningInput {
        root_ca: cert(b"root-ca", "5BE128213D05DC6CB87A059469130FC6686992EF"),
        intermediate_cas: vec![cert(
            b"intermediate",
            "5DF7DE78255449CFEBD82CD626011982378F40F1",
        )],
        device_cert: cert(b"device", "B692158116B7B82EDA4600FF4145414933B0D5AB"),
        device_cert_subject_cn: "e4c6b893-07a7-4b24-878e-9d8602c3d289".into(),
        provider_id: "Contoso Management Service".parse().unwrap(),
        name: "BecMobile".into(),
        addr: "https://ContosoManagementService.com/MDMHandler"
            .parse()
            .unwrap(),
        server_list: Some("https://ContosoManagementService.com/MDMHandler".into()),
        ssp_hyperlink: Some("http://go.microsoft.com/fwlink/?LinkId=255310".into()),
        crl_check: Some(false),
        connection: ConnectionRetry::default(),
        app_auth: dummy_auth(),
        device_name: None,
        platform: PlatformProvisioning::Windows81(Windows81Provisioning {
            renewal_period: 363,
            oma_dm_retry: OmaDmRetry::default(),
            omadm_account_id: "037B1F0D3842015588E753CDE76EC724".into(),
        }),
    }
}

/// The inputs that reproduce `win10/06b` (Fleet's document a real Windows 10 accepted).
pub fn win10_input() -> ProvisioningInput {
    ProvisioningInput {
        root_ca: cert(b"root-ca", "D9A88E04AF18A4D399CEE62F2C71469C3AE1E675"),
        intermediate_cas: vec![],
        device_cert: cert(b"device", "8F2EBD13F3612D7C48C30E24CC73A88492613849"),
        device_cert_subject_cn: "B5B954E81FBCB94EB79BD08BE625F4EE".into(),
        provider_id: "DEMO MDM".parse().unwrap(),
        name: "FleetDM Demo Server - Windows".into(),
        addr: "https://windows.fleetdm.ngrok.io/ManagementServer/MDM.svc"
            .parse()
            .unwrap(),
        server_list: Some(
            "https://windows.fleetdm.ngrok.io/ManagementServer/ServerList.svc".into(),
        ),
        ssp_hyperlink: None,
        crl_check: None,
        connection: ConnectionRetry::default(),
        app_auth: dummy_auth(),
        device_name: Some("DESKTOP-28FGAI6".into()),
        platform: PlatformProvisioning::Windows10Plus(Windows10Provisioning {
            ent_dm_id: "B5B954E81FBCB94EB79BD08BE625F4EE".into(),
            poll: PollSchedule::default(),
            robo_renewal: None,
        }),
    }
}

#[test]
fn windows81_document_matches_the_spec_sample() {
    let doc = build_provisioning_doc(&win81_input()).unwrap();
    let ours = provisioning_lines(doc.as_str(), true);
    let mut theirs = provisioning_lines(&fixture_text("mde1/07-provisioningdoc-win81.xml"), true);
    // The one deliberate difference: this server speaks XML SyncML, the sample asks for WBXML.
    let wbxml = "P APPLICATION | DEFAULTENCODING | application/vnd.syncml.dm+wbxml | -";
    let position = theirs
        .iter()
        .position(|l| l == wbxml)
        .expect("sample has WBXML");
    theirs[position] = "P APPLICATION | DEFAULTENCODING | application/vnd.syncml.dm+xml | -".into();
    assert_eq!(ours, theirs);
    assert_eq!(
        encoded_certificates(doc.as_str()),
        vec![
            STANDARD.encode(b"root-ca"),
            STANDARD.encode(b"intermediate"),
            STANDARD.encode(b"device")
        ]
    );
    // The search criteria is XML-escaped once (`&amp;` on the wire, `&` after parsing).
    assert!(
        doc.as_str()
            .contains("Subject=CN%3de4c6b893-07a7-4b24-878e-9d8602c3d289&amp;Stores=MY%5CUser")
    );
}

#[test]
fn windows10_document_contains_everything_the_accepted_one_had() {
    let doc = build_provisioning_doc(&win10_input()).unwrap();
    let ours = provisioning_lines(doc.as_str(), true);
    let theirs = provisioning_lines(
        &fixture_text("win10/06b-provisioningdoc.server.decoded.xml"),
        true,
    );
    // Every characteristic and parm of the accepted document, in the same relative order.
    let mut cursor = ours.iter();
    for line in &theirs {
        assert!(
            cursor.any(|l| l == line),
            "missing or out of order: {line}\nours: {ours:#?}"
        );
    }
    // And exactly these additions.
    let extra: Vec<&String> = ours.iter().filter(|l| !theirs.contains(l)).collect();
    let expected = [
        "P APPLICATION | CONNRETRYFREQ | 6 | -",
        "P APPLICATION | INITIALBACKOFFTIME | 30000 | -",
        "P APPLICATION | MAXBACKOFFTIME | 120000 | -",
        "P APPLICATION | SSLCLIENTCERTSEARCHCRITERIA | Subject=CN%3dB5B954E81FBCB94EB79BD08BE625F4EE&Stores=MY%5CUser | -",
        "P DMClient/Provider/DEMO MDM/Poll | IntervalForFirstSetOfRetries | 15 | integer",
        "P DMClient/Provider/DEMO MDM/Poll | NumberOfSecondRetries | 5 | integer",
        "P DMClient/Provider/DEMO MDM/Poll | IntervalForSecondSetOfRetries | 3 | integer",
        "P DMClient/Provider/DEMO MDM/Poll | NumberOfRemainingScheduledRetries | 0 | integer",
        "P DMClient/Provider/DEMO MDM/Poll | IntervalForRemainingScheduledRetries | 1560 | integer",
        "P DMClient/Provider/DEMO MDM/Poll | PollOnLogin | true | boolean",
        "P DMClient/Provider/DEMO MDM | EntDMID | B5B954E81FBCB94EB79BD08BE625F4EE | string",
        "P DMClient/Provider/DEMO MDM | EntDeviceName | DESKTOP-28FGAI6 | string",
    ];
    assert_eq!(extra, expected.iter().collect::<Vec<_>>());
    assert_eq!(
        encoded_certificates(doc.as_str()),
        vec![STANDARD.encode(b"root-ca"), STANDARD.encode(b"device")]
    );
}

#[test]
fn windows10_robo_renewal_block() {
    let mut input = win10_input();
    input.platform = PlatformProvisioning::Windows10Plus(Windows10Provisioning {
        ent_dm_id: "X".into(),
        poll: PollSchedule::default(),
        robo_renewal: Some(RoboRenewal {
            renew_period_days: 60,
            retry_interval_days: 4,
        }),
    });
    let lines = provisioning_lines(build_provisioning_doc(&input).unwrap().as_str(), true);
    let start = lines
        .iter()
        .position(|l| l == "C CertificateStore/My/WSTEP/Renew")
        .unwrap();
    assert_eq!(
        lines[start + 1..start + 4],
        [
            "P CertificateStore/My/WSTEP/Renew | ROBOSupport | true | boolean",
            "P CertificateStore/My/WSTEP/Renew | RenewPeriod | 60 | integer",
            "P CertificateStore/My/WSTEP/Renew | RetryInterval | 4 | integer",
        ]
    );
}

#[test]
fn renewal_document_matches_the_spec_sample() {
    let device = cert(b"renewed", "B692158116B7B82EDA4600FF4145414933B0D5AB");
    let doc = build_renewal_provisioning_doc(&device);
    assert_eq!(
        provisioning_lines(doc.as_str(), true),
        provisioning_lines(&fixture_text("mde1/08-renewal-provisioningdoc.xml"), true)
    );
    assert_eq!(
        encoded_certificates(doc.as_str()),
        vec![STANDARD.encode(b"renewed")]
    );
}

#[test]
fn values_are_xml_escaped() {
    let mut input = win10_input();
    input.name = "A & B <\"MDM\">".into();
    input.device_name = Some("PC'1&<".into());
    let doc = build_provisioning_doc(&input).unwrap();
    let lines = provisioning_lines(doc.as_str(), true);
    assert!(lines.contains(&"P APPLICATION | NAME | A & B <\"MDM\"> | -".to_string()));
    assert!(
        lines.contains(
            &"P DMClient/Provider/DEMO MDM | EntDeviceName | PC'1&< | string".to_string()
        )
    );
}

#[test]
fn bad_server_values_are_refused() {
    assert!(matches!(
        "https://mdm.example/MDM.svc?mode=Machine&Platform=WoA".parse::<ManagementUrl>(),
        Err(EnrollError::InvalidConfig { field: "addr", .. })
    ));
    let mut input = win81_input();
    input.platform = PlatformProvisioning::Windows81(Windows81Provisioning {
        renewal_period: 363,
        oma_dm_retry: OmaDmRetry::default(),
        omadm_account_id: r"..\..\Run".into(),
    });
    assert!(matches!(
        build_provisioning_doc(&input),
        Err(EnrollError::InvalidConfig {
            field: "omadm_account_id",
            ..
        })
    ));
    assert!(
        Certificate::new(
            vec![],
            "5BE128213D05DC6CB87A059469130FC6686992EF".parse().unwrap()
        )
        .is_err()
    );
}
