//! Unit tests of the app-install builders and the payload's JSON shape.

use casement_syncml::{Command, Data, MetInf, Meta};

use super::payload::quiet;
use super::*;
use crate::catalog::CatalogError;
use crate::catalog::tests::ctx;
use crate::context::CommandClass;
use crate::device::Platform;

const GUID: &str = "{1803A630-3C38-4D2B-9B9A-0CB37243539C}";
const HASH: &str = "134D8F1F7C3C036DC3DCDA9F97515C8C7951DB154B73365C9C22962BD23E3EB3";

fn msi_payload() -> AppPayload {
    AppPayload::Msi {
        product_id: "1803a630-3c38-4d2b-9b9a-0cb37243539c".into(),
        product_version: "1.0.0".into(),
        content_urls: vec!["https://dp.contoso.com/app.msi?a=1&b=2".into()],
        file_hash: HASH.to_ascii_lowercase(),
        command_line: quiet(),
        timeout_minutes: 5,
        retry_count: 3,
        retry_interval_minutes: 5,
        scope: AppScope::Device,
        name: Some("Contoso Agent".into()),
    }
}

#[test]
fn windows81_job_is_one_create_job_exec() {
    let app = AppPayload::AppInstallJob {
        job_data: "<Job/>".into(),
        package_full_name: None,
        name: Some("Contoso".into()),
    };
    let specs = build(&app, &ctx(Platform::Windows81)).unwrap();
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].class, CommandClass::AppManagement);
    assert_eq!(
        specs[0].label,
        "Install Contoso (MDM_AppInstallJob.CreateJob)"
    );
    let item = &specs[0].command.items()[0];
    assert_eq!(
        item.loc_uri(),
        Some("./cimv2/MDM_AppInstallJob/Exec=CreateJob")
    );
    assert_eq!(item.data, Some(Data::text("JobData=<Job/>")));
}

#[test]
fn windows81_job_with_a_package_name_is_confirmed_by_mdm_application() {
    let app = AppPayload::AppInstallJob {
        job_data: "<Job/>".into(),
        package_full_name: Some("Contoso.Notes_2.1.0.0_x64__8wekyb3d8bbwe".into()),
        name: Some("Notes".into()),
    };
    let specs = build(&app, &ctx(Platform::Windows81)).unwrap();
    assert_eq!(specs.len(), 2);
    assert!(matches!(specs[1].command, Command::Get(_)));
    assert_eq!(
        specs[1].command.items()[0].loc_uri(),
        Some(
            "./cimv2/MDM_Application/MDM_Application.PackageFullName=%22Contoso.Notes_2.1.0.0_x64__8wekyb3d8bbwe%22/PackageVersion"
        )
    );
    assert_eq!(
        specs[1].label,
        "Confirm the install of Notes (MDM_Application)"
    );
}

#[test]
fn msi_is_add_then_exec_with_the_nested_job() {
    let specs = build(&msi_payload(), &ctx(Platform::Windows10)).unwrap();
    assert_eq!(specs.len(), 3, "Add, Exec, then the Status check");
    let uri = "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B1803A630-3C38-4D2B-9B9A-0CB37243539C%7D/DownloadInstall";
    assert!(matches!(specs[2].command, Command::Get(_)));
    assert_eq!(
        specs[2].command.items()[0].loc_uri(),
        Some(uri.replace("/DownloadInstall", "/Status").as_str())
    );
    assert!(matches!(specs[0].command, Command::Add(_)));
    assert_eq!(specs[0].command.items()[0].loc_uri(), Some(uri));
    assert_eq!(specs[0].command.items()[0].data, None);
    let Command::Exec(exec) = &specs[1].command else {
        panic!("not an Exec")
    };
    let item = &exec.items[0];
    assert_eq!(item.loc_uri(), Some(uri));
    assert_eq!(
        item.meta,
        Some(Meta::format("xml").with(MetInf::Type, "text/plain"))
    );
    assert_eq!(
        item.data,
        Some(Data::Xml(format!(
            "<MsiInstallJob id=\"{GUID}\"><Product Version=\"1.0.0\"><Download><ContentURLList>\
             <ContentURL>https://dp.contoso.com/app.msi?a=1&amp;b=2</ContentURL></ContentURLList>\
             </Download><Validation><FileHash>{HASH}</FileHash></Validation><Enforcement>\
             <CommandLine>/quiet</CommandLine><TimeOut>5</TimeOut><RetryCount>3</RetryCount>\
             <RetryInterval>5</RetryInterval></Enforcement></Product></MsiInstallJob>"
        )))
    );
    assert_eq!(
        specs[1].label,
        format!("Install Contoso Agent (MSI {GUID} version 1.0.0, for all users)")
    );
}

#[test]
fn store_install_is_for_the_user() {
    let app = AppPayload::Store {
        package_family_name: "Contoso.App_8wekyb3d8bbwe".into(),
        product_id: "9WZDNCRFJ3PZ".into(),
        sku_id: "0016".into(),
        flags: 0,
        name: None,
    };
    let specs = build(&app, &ctx(Platform::Windows10)).unwrap();
    assert_eq!(
        specs[0].command.items()[0].loc_uri(),
        Some(
            "./User/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/Contoso.App_8wekyb3d8bbwe"
        )
    );
    let item = &specs[1].command.items()[0];
    assert_eq!(
        item.loc_uri(),
        Some(
            "./User/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/Contoso.App_8wekyb3d8bbwe/StoreInstall"
        )
    );
    assert_eq!(item.meta, Some(Meta::format("xml")));
    assert_eq!(
        item.data,
        Some(Data::Xml(
            r#"<Application id="9WZDNCRFJ3PZ" flags="0" skuid="0016"/>"#.into()
        ))
    );
    assert_eq!(
        specs[1].label,
        "Install Contoso.App_8wekyb3d8bbwe from the Microsoft Store (for the enrolled user)"
    );
}

#[test]
fn hosted_install_escapes_and_lists_dependencies() {
    let app = AppPayload::Hosted {
        package_family_name: "Contoso.App_8wekyb3d8bbwe".into(),
        package_uri: r#"\\server\share\a&b.appx"#.into(),
        dependencies: vec![r#"\\server\share\fw.appx"#.into()],
        deployment_options: Some(0),
        scope: AppScope::User,
        name: Some("Contoso".into()),
    };
    let specs = build(&app, &ctx(Platform::Windows10)).unwrap();
    let item = &specs[1].command.items()[0];
    assert_eq!(
        item.data,
        Some(Data::Xml(
            r#"<Application PackageUri="\\server\share\a&amp;b.appx" DeploymentOptions="0"><Dependencies><Dependency PackageUri="\\server\share\fw.appx"/></Dependencies></Application>"#.into()
        ))
    );
}

#[test]
fn payloads_of_the_other_platform_and_bad_fields_are_refused() {
    let job = AppPayload::AppInstallJob {
        job_data: "x".into(),
        package_full_name: None,
        name: None,
    };
    assert!(matches!(
        build(&job, &ctx(Platform::Windows10)),
        Err(CatalogError::UnsupportedOnPlatform { .. })
    ));
    assert!(matches!(
        build(&msi_payload(), &ctx(Platform::Windows81)),
        Err(CatalogError::UnsupportedOnPlatform { .. })
    ));
    let mut bad = msi_payload();
    if let AppPayload::Msi { file_hash, .. } = &mut bad {
        *file_hash = "abc".into();
    }
    assert!(matches!(
        build(&bad, &ctx(Platform::Windows10)),
        Err(CatalogError::InvalidField {
            field: "app.file_hash",
            ..
        })
    ));
    let mut bad = msi_payload();
    if let AppPayload::Msi { product_id, .. } = &mut bad {
        *product_id = "not-a-guid".into();
    }
    assert!(matches!(
        build(&bad, &ctx(Platform::Windows10)),
        Err(CatalogError::InvalidField {
            field: "app.product_id",
            ..
        })
    ));
    let mut bad = msi_payload();
    if let AppPayload::Msi { content_urls, .. } = &mut bad {
        *content_urls = vec!["ftp://x/a.msi".into()];
    }
    assert!(matches!(
        build(&bad, &ctx(Platform::Windows10)),
        Err(CatalogError::InvalidField {
            field: "app.content_urls",
            ..
        })
    ));
    let device_options = AppPayload::Hosted {
        package_family_name: "P_x".into(),
        package_uri: "https://x/a.appx".into(),
        dependencies: vec![],
        deployment_options: Some(1),
        scope: AppScope::Device,
        name: None,
    };
    assert!(matches!(
        build(&device_options, &ctx(Platform::Windows10)),
        Err(CatalogError::InvalidField {
            field: "app.deployment_options",
            ..
        })
    ));
}

#[test]
fn payload_json_uses_type_tags_and_defaults() {
    let app: AppPayload = serde_json::from_str(
        r#"{"type":"msi","product_id":"{1803A630-3C38-4D2B-9B9A-0CB37243539C}","product_version":"2","content_urls":["https://x/a.msi"],"file_hash":"00"}"#,
    )
    .unwrap();
    let AppPayload::Msi {
        command_line,
        timeout_minutes,
        scope,
        ..
    } = app
    else {
        panic!("not msi")
    };
    assert_eq!(
        (command_line.as_str(), timeout_minutes, scope),
        ("/quiet", 5, AppScope::Device)
    );
    let app: AppPayload = serde_json::from_str(
        r#"{"type":"hosted","package_family_name":"P_x","package_uri":"https://x/a.appx"}"#,
    )
    .unwrap();
    assert!(matches!(
        app,
        AppPayload::Hosted {
            scope: AppScope::User,
            ..
        }
    ));
}
