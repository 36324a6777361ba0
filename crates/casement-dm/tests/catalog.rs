//! The command catalog from the outside: every kind on every platform, down to the LocURIs, Data,
//! Meta and class, and every built command through the codec and back.

use casement_dm::catalog::{
    self, AppPayload, AppScope, CatalogContext, CatalogError, CommandRequest, InventorySet,
    QueuedSpec, WnsIdentity,
};
use casement_dm::device::Platform;
use casement_dm::{CommandClass, ResultItem};
use casement_syncml::{
    CmdId, CmdKind, Command, Data, Fragment, Item, command_to_string, parse_fragment,
};
use proptest::prelude::*;

const DEVICE: &str = "B5B954E81FBCB94EB79BD08BE625F4EE";
const MDM_CLIENT: &str =
    "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22B5B954E81FBCB94EB79BD08BE625F4EE%22";

fn ctx(platform: Platform) -> CatalogContext {
    CatalogContext {
        platform,
        device_id: DEVICE.into(),
        provider_id: "Casement".into(),
        wns: Some(WnsIdentity {
            app_id: "Casement".into(),
            package_family_name: "Contoso.MDM_8wekyb3d8bbwe".into(),
        }),
    }
}

fn build(request: &CommandRequest, platform: Platform) -> Vec<QueuedSpec> {
    let specs = catalog::build(request, &ctx(platform))
        .unwrap_or_else(|e| panic!("{request:?} on {platform:?}: {e}"));
    for spec in &specs {
        assert_round_trips(&spec.command);
    }
    specs
}

/// The command written compactly reads back as the same value, and its CmdIDs are placeholders.
fn assert_round_trips(command: &Command) {
    let xml = command_to_string(command);
    match parse_fragment(xml.as_bytes()) {
        Ok(Fragment::Command(again)) => assert_eq!(&again, command, "{xml}"),
        other => panic!("{xml} read back as {other:?}"),
    }
    assert_eq!(command.cmd_id(), CmdId(1));
    if let Command::Atomic(c) | Command::Sequence(c) = command {
        c.commands.iter().for_each(assert_round_trips);
    }
}

/// What a test expects of one item: LocURI, Data, Meta Format and Type.
#[derive(Debug, PartialEq)]
struct Expect<'a> {
    uri: &'a str,
    data: Option<&'a str>,
    format: Option<&'a str>,
    r#type: Option<&'a str>,
}

fn get_item(uri: &str) -> Expect<'_> {
    Expect {
        uri,
        data: None,
        format: None,
        r#type: None,
    }
}

fn seen(item: &Item) -> Expect<'_> {
    let meta = item.meta.as_ref();
    Expect {
        uri: item.loc_uri().unwrap(),
        data: item.data.as_ref().map(|d| match d {
            Data::Text(s) | Data::Cdata(s) | Data::Xml(s) => s.as_str(),
        }),
        format: meta.and_then(|m| m.format_value()),
        r#type: meta.and_then(|m| m.type_value()),
    }
}

fn check(spec: &QueuedSpec, kind: CmdKind, class: CommandClass, label: &str, items: &[Expect<'_>]) {
    assert_eq!(spec.command.kind(), kind, "{}", spec.label);
    assert_eq!(spec.class, class, "{}", spec.label);
    assert_eq!(spec.label, label);
    let seen: Vec<_> = spec.command.items().iter().map(seen).collect();
    assert_eq!(seen, items, "{label}");
}

fn props(node: &str, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("{node}/{n}")).collect()
}

// ---- inventory ----

#[test]
fn inventory_defaults_on_windows_81() {
    let specs = build(
        &CommandRequest::Inventory { sets: vec![] },
        Platform::Windows81,
    );
    let labels: Vec<_> = specs.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Read Win32_OperatingSystem (instance list)",
            "Read Win32_ComputerSystem (instance list)",
            "Read Win32_BIOS (instance list)",
            "Read MDM_Client (DeviceName, UserSid, DomainSID, …)",
            "Read ./DevInfo (DevId, Man, Mod, …)",
            "Read ./DevDetail (DevTyp, OEM, FwV, …)",
            "Read the installed applications (MDM_Application instances; app management)",
        ]
    );
    let inv = CommandClass::Inventory;
    check(
        &specs[0],
        CmdKind::Get,
        inv,
        labels[0],
        &[get_item("./cimv2/Win32_OperatingSystem")],
    );
    check(
        &specs[1],
        CmdKind::Get,
        inv,
        labels[1],
        &[get_item("./cimv2/Win32_ComputerSystem")],
    );
    check(
        &specs[2],
        CmdKind::Get,
        inv,
        labels[2],
        &[get_item("./cimv2/Win32_BIOS")],
    );
    let client = props(
        MDM_CLIENT,
        &[
            "DeviceName",
            "UserSid",
            "DomainSID",
            "PlatformID",
            "ProcessorDescription",
            "Version",
        ],
    );
    let client: Vec<_> = client.iter().map(|u| get_item(u)).collect();
    check(&specs[3], CmdKind::Get, inv, labels[3], &client);
    let devinfo = props("./DevInfo", &["DevId", "Man", "Mod", "DmV", "Lang"]);
    let devinfo: Vec<_> = devinfo.iter().map(|u| get_item(u)).collect();
    check(&specs[4], CmdKind::Get, inv, labels[4], &devinfo);
    let devdetail = props(
        "./DevDetail",
        &["DevTyp", "OEM", "FwV", "SwV", "HwV", "LrgObj"],
    );
    let devdetail: Vec<_> = devdetail.iter().map(|u| get_item(u)).collect();
    check(&specs[5], CmdKind::Get, inv, labels[5], &devdetail);
    check(
        &specs[6],
        CmdKind::Get,
        CommandClass::AppManagement,
        labels[6],
        &[get_item("./cimv2/MDM_Application")],
    );
}

#[test]
fn inventory_defaults_on_windows_10() {
    let specs = build(
        &CommandRequest::Inventory { sets: vec![] },
        Platform::Windows10,
    );
    assert_eq!(specs.len(), 4);
    let inv = CommandClass::Inventory;
    let devinfo = props("./DevInfo", &["DevId", "Man", "Mod", "DmV", "Lang"]);
    let devinfo: Vec<_> = devinfo.iter().map(|u| get_item(u)).collect();
    check(
        &specs[0],
        CmdKind::Get,
        inv,
        "Read ./DevInfo (DevId, Man, Mod, …)",
        &devinfo,
    );
    let devdetail = props(
        "./DevDetail",
        &[
            "DevTyp",
            "OEM",
            "FwV",
            "SwV",
            "HwV",
            "LrgObj",
            "Ext/Microsoft/OSPlatform",
            "Ext/Microsoft/ProcessorArchitecture",
            "Ext/Microsoft/DeviceName",
            "Ext/Microsoft/LocalTime",
            "Ext/Microsoft/TotalRAM",
            "Ext/Microsoft/SMBIOSSerialNumber",
        ],
    );
    let devdetail: Vec<_> = devdetail.iter().map(|u| get_item(u)).collect();
    check(
        &specs[1],
        CmdKind::Get,
        inv,
        "Read ./DevDetail (DevTyp, OEM, FwV, …)",
        &devdetail,
    );
    let status = props(
        "./Vendor/MSFT/DeviceStatus",
        &[
            "OS/Edition",
            "OS/Mode",
            "Compliance/EncryptionCompliance",
            "SecureBootState",
            "DomainName",
            "Firewall/Status",
            "Antivirus/Status",
            "Antivirus/SignatureStatus",
            "UAC/Status",
        ],
    );
    let status: Vec<_> = status.iter().map(|u| get_item(u)).collect();
    check(
        &specs[2],
        CmdKind::Get,
        inv,
        "Read DeviceStatus (OS/Edition, OS/Mode, Compliance/EncryptionCompliance, …)",
        &status,
    );
    check(
        &specs[3],
        CmdKind::Get,
        CommandClass::AppManagement,
        "Read the installed applications (EnterpriseModernAppManagement AppStore, nonStore; app management)",
        &[
            get_item("./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/AppStore"),
            get_item("./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/nonStore"),
        ],
    );
}

#[test]
fn named_sets_are_read_in_the_order_given() {
    let request: CommandRequest =
        serde_json::from_str(r#"{"kind":"inventory","sets":["devdetail","os"]}"#).unwrap();
    let specs = build(&request, Platform::Windows81);
    let first: Vec<_> = specs
        .iter()
        .map(|s| s.command.items()[0].loc_uri().unwrap())
        .collect();
    assert_eq!(
        first,
        ["./DevDetail/DevTyp", "./cimv2/Win32_OperatingSystem"]
    );
}

#[test]
fn sets_of_the_other_platform_are_refused() {
    for (set, platform) in [
        (InventorySet::DeviceStatus, Platform::Windows81),
        (InventorySet::Os, Platform::Windows10),
        (InventorySet::MdmClient, Platform::Windows10),
    ] {
        let err = catalog::build(
            &CommandRequest::Inventory { sets: vec![set] },
            &ctx(platform),
        )
        .unwrap_err();
        assert_eq!(err, CatalogError::SetUnsupported { set, platform });
    }
    assert!(
        serde_json::from_str::<CommandRequest>(r#"{"kind":"inventory","sets":["nope"]}"#).is_err()
    );
    assert_eq!(
        catalog::lookup_set("device-status"),
        Some(InventorySet::DeviceStatus)
    );
}

#[test]
fn win32_sets_continue_with_the_listed_instance() {
    let cases = [
        (
            "./cimv2/Win32_ComputerSystem",
            r#"Win32_ComputerSystem.Name="PC-0042""#,
            "./cimv2/Win32_ComputerSystem/Win32_ComputerSystem.Name=%22PC-0042%22",
            "Read Win32_ComputerSystem (Manufacturer, Model, SystemType, …)",
            catalog::COMPUTER_SYSTEM_PROPERTIES,
        ),
        (
            "./cimv2/Win32_BIOS",
            r#"Win32_BIOS.Name="Default System BIOS",SoftwareElementID="Default System BIOS",SoftwareElementState=3,TargetOperatingSystem=0,Version="LENOVO - 1140""#,
            "./cimv2/Win32_BIOS/Win32_BIOS.Name=%22Default%20System%20BIOS%22,SoftwareElementID=%22Default%20System%20BIOS%22,SoftwareElementState=3,TargetOperatingSystem=0,Version=%22LENOVO%20-%201140%22",
            "Read Win32_BIOS (SerialNumber, SMBIOSBIOSVersion, Manufacturer, …)",
            catalog::BIOS_PROPERTIES,
        ),
    ];
    for (node, listed, instance, label, properties) in cases {
        let specs = catalog::follow_up(&ResultItem {
            loc_uri: node.into(),
            format: Some("node".into()),
            r#type: None,
            data: Some(listed.into()),
        });
        assert_eq!(specs.len(), 1);
        assert_round_trips(&specs[0].command);
        let uris = props(instance, properties);
        let uris: Vec<_> = uris.iter().map(|u| get_item(u)).collect();
        check(
            &specs[0],
            CmdKind::Get,
            CommandClass::Inventory,
            label,
            &uris,
        );
    }
}

// ---- password reset, unenrollment ----

#[test]
fn reset_password_on_windows_81() {
    let request = CommandRequest::ResetPassword {
        user: "alice@contoso.com".into(),
        password: "S3cret&<x>".into(),
    };
    let specs = build(&request, Platform::Windows81);
    assert_eq!(specs.len(), 1);
    assert!(specs[0].secret);
    let uri = format!("{MDM_CLIENT}/Exec=ResetUserPassword");
    check(
        &specs[0],
        CmdKind::Exec,
        CommandClass::PasswordReset,
        "Reset the password of alice@contoso.com",
        &[Expect {
            uri: &uri,
            data: Some("ConfigString=alice@contoso.com;S3cret&<x>"),
            format: Some("chr"),
            r#type: Some("text/plain"),
        }],
    );
    assert_eq!(
        command_to_string(&specs[0].command),
        format!(
            "<Exec><CmdID>1</CmdID><Item><Target><LocURI>{uri}</LocURI></Target><Meta>\
             <Format xmlns=\"syncml:metinf\">chr</Format><Type xmlns=\"syncml:metinf\">text/plain</Type>\
             </Meta><Data>ConfigString=alice@contoso.com;S3cret&amp;&lt;x&gt;</Data></Item></Exec>"
        )
    );
}

#[test]
fn reset_password_on_windows_10_is_refused_with_the_reason() {
    let request = CommandRequest::ResetPassword {
        user: "alice@contoso.com".into(),
        password: "x".into(),
    };
    let err = catalog::build(&request, &ctx(Platform::Windows10)).unwrap_err();
    let CatalogError::UnsupportedOnPlatform { platform, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*platform, Platform::Windows10);
    let message = err.to_string();
    assert!(message.contains("Accounts CSP"), "{message}");
    assert!(message.contains("NewPINValue"), "{message}");
}

#[test]
fn unenroll_on_both_platforms() {
    let specs = build(&CommandRequest::Unenroll, Platform::Windows81);
    let uri = format!("{MDM_CLIENT}/Exec=SendUnenrollRequest");
    let data = format!("DeviceClientID={DEVICE}");
    check(
        &specs[0],
        CmdKind::Exec,
        CommandClass::Unenrollment,
        "Unenroll the device (MDM_Client.SendUnenrollRequest)",
        &[Expect {
            uri: &uri,
            data: Some(&data),
            format: Some("chr"),
            r#type: Some("text/plain"),
        }],
    );
    let specs = build(&CommandRequest::Unenroll, Platform::Windows10);
    check(
        &specs[0],
        CmdKind::Exec,
        CommandClass::Unenrollment,
        "Unenroll the device (DMClient Unenroll)",
        &[Expect {
            uri: "./Vendor/MSFT/DMClient/Provider/Casement/Unenroll",
            data: Some("Casement"),
            format: Some("chr"),
            r#type: None,
        }],
    );
    assert!(specs.iter().all(|s| !s.secret));
}

// ---- push configuration ----

#[test]
fn push_config_on_windows_81() {
    let specs = build(&CommandRequest::PushConfig, Platform::Windows81);
    assert_eq!(specs.len(), 3);
    let push = CommandClass::PushConfiguration;
    let config = "./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22Casement%22";
    let exec_uri = format!("{config}/Exec=UpdateConfiguration");
    check(
        &specs[0],
        CmdKind::Exec,
        push,
        "Configure WNS push (MDM_WNSConfiguration.UpdateConfiguration, AppId Casement, PFN Contoso.MDM_8wekyb3d8bbwe)",
        &[Expect {
            uri: &exec_uri,
            data: Some("ConfigString=Casement;Contoso.MDM_8wekyb3d8bbwe"),
            format: Some("chr"),
            r#type: Some("text/plain"),
        }],
    );
    let status = format!("{config}/ConfigurationStatus");
    check(
        &specs[1],
        CmdKind::Get,
        push,
        "Read the WNS configuration status (MDM_WNSConfiguration.ConfigurationStatus)",
        &[get_item(&status)],
    );
    let channel = props(
        "./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22Casement%22",
        &["Channel", "ExpirationTime", "ChannelStatus", "LastError"],
    );
    let channel: Vec<_> = channel.iter().map(|u| get_item(u)).collect();
    check(
        &specs[2],
        CmdKind::Get,
        push,
        "Read the WNS channel (MDM_WNSChannel: Channel, ExpirationTime, ChannelStatus, LastError)",
        &channel,
    );
}

#[test]
fn push_config_on_windows_10() {
    let specs = build(&CommandRequest::PushConfig, Platform::Windows10);
    assert_eq!(specs.len(), 2);
    let push = CommandClass::PushConfiguration;
    assert_eq!(specs[0].class, push);
    assert_eq!(
        specs[0].label,
        "Set the push PFN to Contoso.MDM_8wekyb3d8bbwe (DMClient Push/PFN)"
    );
    let Command::Sequence(sequence) = &specs[0].command else {
        panic!("{:?}", specs[0].command)
    };
    let kinds: Vec<_> = sequence.commands.iter().map(Command::kind).collect();
    assert_eq!(kinds, [CmdKind::Add, CmdKind::Replace]);
    for command in &sequence.commands {
        let items: Vec<_> = command.items().iter().map(seen).collect();
        assert_eq!(
            items,
            [Expect {
                uri: "./Vendor/MSFT/DMClient/Provider/Casement/Push/PFN",
                data: Some("Contoso.MDM_8wekyb3d8bbwe"),
                format: Some("chr"),
                r#type: Some("text/plain"),
            }]
        );
    }
    check(
        &specs[1],
        CmdKind::Get,
        push,
        "Read the push channel (DMClient Push/ChannelURI, Push/Status)",
        &[
            get_item("./Vendor/MSFT/DMClient/Provider/Casement/Push/ChannelURI"),
            get_item("./Vendor/MSFT/DMClient/Provider/Casement/Push/Status"),
        ],
    );
}

#[test]
fn push_config_without_a_wns_identity_is_refused() {
    for platform in [Platform::Windows81, Platform::Windows10] {
        let mut c = ctx(platform);
        c.wns = None;
        let err = catalog::build(&CommandRequest::PushConfig, &c).unwrap_err();
        assert_eq!(err, CatalogError::MissingWnsConfig);
        assert!(err.to_string().contains("configure WNS first"));
    }
}

// ---- app install ----

#[test]
fn app_install_job_on_windows_81() {
    let request: CommandRequest = serde_json::from_str(
        r#"{"kind":"app-install","app":{"type":"app-install-job","job_data":"opaque;data","name":"Contoso Notes"}}"#,
    )
    .unwrap();
    let specs = build(&request, Platform::Windows81);
    check(
        &specs[0],
        CmdKind::Exec,
        CommandClass::AppManagement,
        "Install Contoso Notes (MDM_AppInstallJob.CreateJob)",
        &[Expect {
            uri: "./cimv2/MDM_AppInstallJob/Exec=CreateJob",
            data: Some("JobData=opaque;data"),
            format: Some("chr"),
            r#type: Some("text/plain"),
        }],
    );
}

#[test]
fn msi_install_on_windows_10() {
    let request = CommandRequest::AppInstall {
        app: AppPayload::Msi {
            product_id: "{6F7CB29F-1319-4816-B345-0856916EB801}".into(),
            product_version: "1.0.0".into(),
            content_urls: vec![
                "https://dp1.contoso.com/orca.msi".into(),
                "https://dp2.contoso.com/orca.msi".into(),
            ],
            file_hash: "4525065777EF18B9444ABF71DD4B48E5F64F4F0E1E029995FB8DA441CDE4296E".into(),
            command_line: "/quiet".into(),
            timeout_minutes: 5,
            retry_count: 3,
            retry_interval_minutes: 5,
            scope: AppScope::User,
            name: Some("Orca".into()),
        },
    };
    let specs = build(&request, Platform::Windows10);
    assert_eq!(specs.len(), 3);
    let node = "./User/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B6F7CB29F-1319-4816-B345-0856916EB801%7D/DownloadInstall";
    check(
        &specs[2],
        CmdKind::Get,
        CommandClass::AppManagement,
        "Confirm the install of Orca (MSI Status)",
        &[get_item(&node.replace("/DownloadInstall", "/Status"))],
    );
    check(
        &specs[0],
        CmdKind::Add,
        CommandClass::AppManagement,
        "Prepare the MSI install of {6F7CB29F-1319-4816-B345-0856916EB801} (DownloadInstall node)",
        &[get_item(node)],
    );
    let job = "<MsiInstallJob id=\"{6F7CB29F-1319-4816-B345-0856916EB801}\"><Product Version=\"1.0.0\">\
               <Download><ContentURLList><ContentURL>https://dp1.contoso.com/orca.msi</ContentURL>\
               <ContentURL>https://dp2.contoso.com/orca.msi</ContentURL></ContentURLList></Download>\
               <Validation><FileHash>4525065777EF18B9444ABF71DD4B48E5F64F4F0E1E029995FB8DA441CDE4296E</FileHash></Validation>\
               <Enforcement><CommandLine>/quiet</CommandLine><TimeOut>5</TimeOut><RetryCount>3</RetryCount>\
               <RetryInterval>5</RetryInterval></Enforcement></Product></MsiInstallJob>";
    check(
        &specs[1],
        CmdKind::Exec,
        CommandClass::AppManagement,
        "Install Orca (MSI {6F7CB29F-1319-4816-B345-0856916EB801} version 1.0.0, for the enrolled user)",
        &[Expect {
            uri: node,
            data: Some(job),
            format: Some("xml"),
            r#type: Some("text/plain"),
        }],
    );
    assert!(matches!(
        specs[1].command.items()[0].data,
        Some(Data::Xml(_))
    ));
    assert!(command_to_string(&specs[1].command).contains(&format!("<Data>{job}</Data>")));
}

#[test]
fn store_and_hosted_installs_on_windows_10() {
    let store = CommandRequest::AppInstall {
        app: AppPayload::Store {
            package_family_name: "Contoso.Notes_8wekyb3d8bbwe".into(),
            product_id: "9NBLGGH4R32N".into(),
            sku_id: "0010".into(),
            flags: 1,
            name: Some("Notes".into()),
        },
    };
    let specs = build(&store, Platform::Windows10);
    let node = "./User/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/Contoso.Notes_8wekyb3d8bbwe";
    check(
        &specs[0],
        CmdKind::Add,
        CommandClass::AppManagement,
        "Prepare the install of Contoso.Notes_8wekyb3d8bbwe (AppInstallation node)",
        &[get_item(node)],
    );
    let exec_uri = format!("{node}/StoreInstall");
    check(
        &specs[1],
        CmdKind::Exec,
        CommandClass::AppManagement,
        "Install Notes from the Microsoft Store (for the enrolled user)",
        &[Expect {
            uri: &exec_uri,
            data: Some(r#"<Application id="9NBLGGH4R32N" flags="1" skuid="0010"/>"#),
            format: Some("xml"),
            r#type: None,
        }],
    );
    assert_eq!(specs.len(), 3);
    check(
        &specs[2],
        CmdKind::Get,
        CommandClass::AppManagement,
        "Confirm the install of Notes (AppInstallation Status)",
        &[get_item(&format!("{node}/Status"))],
    );

    let hosted = CommandRequest::AppInstall {
        app: AppPayload::Hosted {
            package_family_name: "Contoso.Notes_8wekyb3d8bbwe".into(),
            package_uri: "https://apps.contoso.com/notes.msix".into(),
            dependencies: vec![],
            deployment_options: None,
            scope: AppScope::Device,
            name: None,
        },
    };
    let specs = build(&hosted, Platform::Windows10);
    let node = "./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/Contoso.Notes_8wekyb3d8bbwe";
    check(
        &specs[0],
        CmdKind::Add,
        CommandClass::AppManagement,
        "Prepare the install of Contoso.Notes_8wekyb3d8bbwe (AppInstallation node)",
        &[get_item(node)],
    );
    let exec_uri = format!("{node}/HostedInstall");
    check(
        &specs[1],
        CmdKind::Exec,
        CommandClass::AppManagement,
        "Install Contoso.Notes_8wekyb3d8bbwe from https://apps.contoso.com/notes.msix (for all users)",
        &[Expect {
            uri: &exec_uri,
            data: Some(r#"<Application PackageUri="https://apps.contoso.com/notes.msix"/>"#),
            format: Some("xml"),
            r#type: None,
        }],
    );
    assert_eq!(specs.len(), 3);
    check(
        &specs[2],
        CmdKind::Get,
        CommandClass::AppManagement,
        "Confirm the install of Contoso.Notes_8wekyb3d8bbwe (AppInstallation Status)",
        &[get_item(&format!("{node}/Status"))],
    );
}

// ---- raw ----

const ATOMIC: &str = r#"<Atomic>
  <CmdID>10</CmdID>
  <Replace>
    <CmdID>8</CmdID>
    <Item>
      <Target><LocURI>./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22UnEnrollOnCertExpiry%22/SettingValue</LocURI></Target>
      <Data>true</Data>
    </Item>
  </Replace>
  <Replace>
    <CmdID>9</CmdID>
    <Item>
      <Target><LocURI>./cimv2/MDM_Restrictions/MDM_Restrictions.Key=%221%22/DataRoamingEnabled</LocURI></Target>
      <Data>true</Data>
    </Item>
  </Replace>
</Atomic>"#;

fn raw(class: CommandClass, syncml: &str) -> Result<Vec<QueuedSpec>, CatalogError> {
    catalog::build(
        &CommandRequest::Raw {
            class,
            syncml: syncml.into(),
        },
        &ctx(Platform::Windows81),
    )
}

#[test]
fn raw_atomic_is_kept_whole_with_its_declared_class() {
    let specs = raw(CommandClass::Settings, ATOMIC).unwrap();
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].class, CommandClass::Settings);
    assert_round_trips(&specs[0].command);
    let Ok(Fragment::Command(Command::Atomic(mut expected))) = parse_fragment(ATOMIC.as_bytes())
    else {
        panic!("fixture")
    };
    expected.cmd_id = CmdId(1);
    expected
        .commands
        .iter_mut()
        .for_each(|c| c.set_cmd_id(CmdId(1)));
    assert_eq!(specs[0].command, Command::Atomic(expected));
}

#[test]
fn raw_garbage_is_refused_with_the_codec_offset() {
    let text =
        "<Get><CmdID>1</CmdID><Item><Target><LocURI>./A</LocURI></Target></Item><Bogus/></Get>";
    let err = raw(CommandClass::Settings, text).unwrap_err();
    let CatalogError::InvalidRaw(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.offset, text.find("<Bogus/>").unwrap());
    assert_eq!(
        err.to_string(),
        format!(
            "invalid raw SyncML at byte {} (/Get/Bogus): unexpected element <Bogus>",
            e.offset
        )
    );
    let err = raw(CommandClass::Settings, "<Get><CmdID>1</CmdID>").unwrap_err();
    assert!(
        err.to_string().starts_with("invalid raw SyncML at byte "),
        "{err}"
    );
    let err = raw(CommandClass::Settings, "not xml at all").unwrap_err();
    assert!(matches!(err, CatalogError::InvalidRaw(_)), "{err:?}");
}

#[test]
fn raw_status_is_refused() {
    let text = "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>2</CmdRef><Cmd>Get</Cmd><Data>200</Data></Status>";
    let err = raw(CommandClass::Settings, text).unwrap_err();
    assert!(matches!(err, CatalogError::RawRefused(_)));
    assert!(err.to_string().contains("<Status>"));
    assert_eq!(raw(CommandClass::Settings, ""), Err(CatalogError::EmptyRaw));
}

#[test]
fn raw_user_uri_needs_a_class_with_a_user() {
    let text = "<Replace><CmdID>1</CmdID><Item><Target><LocURI>./User/Vendor/MSFT/Policy/Config/Start/HideRecentlyAddedApps</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">int</Format></Meta><Data>1</Data></Item></Replace>";
    let err = raw(CommandClass::Inventory, text).unwrap_err();
    assert_eq!(
        err,
        CatalogError::UserScopedUri {
            class: CommandClass::Inventory,
            loc_uri: "./User/Vendor/MSFT/Policy/Config/Start/HideRecentlyAddedApps".into()
        }
    );
    assert!(err.to_string().contains("needs a user session"));
    let specs = raw(CommandClass::Settings, text).unwrap();
    assert_eq!(specs[0].class, CommandClass::Settings);
    assert_eq!(
        specs[0].label,
        "Raw Replace ./User/Vendor/MSFT/Policy/Config/Start/HideRecentlyAddedApps"
    );
    assert_round_trips(&specs[0].command);
}

// ---- every kind, every platform: classes and codec round trip ----

fn every_request() -> Vec<CommandRequest> {
    vec![
        CommandRequest::Inventory { sets: vec![] },
        CommandRequest::ResetPassword {
            user: "alice@contoso.com".into(),
            password: "p".into(),
        },
        CommandRequest::Unenroll,
        CommandRequest::PushConfig,
        CommandRequest::AppInstall {
            app: AppPayload::AppInstallJob {
                job_data: "x".into(),
                package_full_name: None,
                name: None,
            },
        },
        CommandRequest::AppInstall {
            app: AppPayload::Hosted {
                package_family_name: "P_x".into(),
                package_uri: "https://x/a.msix".into(),
                dependencies: vec!["https://x/fw.appx".into()],
                deployment_options: Some(1),
                scope: AppScope::User,
                name: None,
            },
        },
        CommandRequest::Raw {
            class: CommandClass::Settings,
            syncml: ATOMIC.into(),
        },
    ]
}

#[test]
fn every_built_command_has_placeholder_ids_and_survives_the_codec() {
    let mut built = 0;
    for platform in [Platform::Windows81, Platform::Windows10] {
        for request in every_request() {
            match catalog::build(&request, &ctx(platform)) {
                Ok(specs) => {
                    assert!(!specs.is_empty());
                    for spec in &specs {
                        assert_round_trips(&spec.command);
                        assert!(!spec.label.is_empty());
                        built += 1;
                    }
                }
                Err(CatalogError::UnsupportedOnPlatform { .. }) => {}
                Err(e) => panic!("{request:?} on {platform:?}: {e}"),
            }
        }
    }
    assert!(built >= 20, "{built}");
}

#[test]
fn only_password_resets_are_secret() {
    for platform in [Platform::Windows81, Platform::Windows10] {
        for request in every_request() {
            let Ok(specs) = catalog::build(&request, &ctx(platform)) else {
                continue;
            };
            for spec in specs {
                assert_eq!(
                    spec.secret,
                    spec.class == CommandClass::PasswordReset,
                    "{}",
                    spec.label
                );
            }
        }
    }
}

proptest! {
    /// Whatever a user and password hold (but control characters, refused), the Exec reads back
    /// as built and the label never holds the password.
    #[test]
    fn any_password_survives_the_codec(
        user in "[^;\\p{Cc}]{1,40}",
        password in "[^\\p{Cc}]{1,40}",
    ) {
        prop_assume!(!user.trim().is_empty() && !password.trim().is_empty());
        let request = CommandRequest::ResetPassword { user: user.clone(), password: password.clone() };
        let specs = catalog::build(&request, &ctx(Platform::Windows81)).unwrap();
        assert_round_trips(&specs[0].command);
        let data = format!("ConfigString={user};{password}");
        prop_assert_eq!(specs[0].command.items()[0].data.as_ref(), Some(&Data::text(data)));
        prop_assert!(specs[0].secret);
    }

    /// Any package URI and PFN: the nested XML is well formed and reads back as built.
    #[test]
    fn any_hosted_install_survives_the_codec(
        pfn in "[^\\p{Cc}]{1,30}",
        uri in "[^\\p{Cc}]{1,60}",
    ) {
        prop_assume!(!pfn.trim().is_empty() && !uri.trim().is_empty());
        let request = CommandRequest::AppInstall { app: AppPayload::Hosted {
            package_family_name: pfn,
            package_uri: uri,
            dependencies: vec![],
            deployment_options: None,
            scope: AppScope::User,
            name: None,
        }};
        for spec in catalog::build(&request, &ctx(Platform::Windows10)).unwrap() {
            assert_round_trips(&spec.command);
        }
    }
}
