//! App installation. Class app management: Maintenance or Apps sessions (docs/product.md §2, §3 flow 5).
//!
//! # Windows 8.1: `MDM_AppInstallJob.CreateJob` ([`AppPayload::AppInstallJob`])
//!
//! `uint32 CreateJob([in] string JobData)` — "The data for the job", nothing more
//! (MicrosoftDocs/win32 `desktop-src/MDMAppProv/createjob-mdm-appinstalljob.md`). **The JobData
//! format is not documented publicly** (the "Windows 8.1 Enterprise Device Management Protocol"
//! document that described it is not available; protocol notes §6.1), so the administrator
//! supplies it and the catalog sends it verbatim: `Exec ./cimv2/MDM_AppInstallJob/Exec=CreateJob`,
//! `Format chr`, `Type text/plain`, `Data` `JobData=<JobData>`. `CreateJob` creates the instance,
//! so it is addressed on the class (static method; inferred, see [`super::uri`]). The job's
//! progress is read later from the `MDM_AppInstallJob` instances (`Status`, `Progress`,
//! `LastError`) and the result from `MDM_Application`.
//!
//! # Windows 10/11: two tracked commands each
//!
//! Every CSP install is an `Add` of the install node followed by an `Exec`, as the docs require
//! ("The Add command is required to precede the Exec command", `enterprisedesktopappmanagement-
//! csp.md`; "The Add command for the package family name is required to ensure proper removal of
//! the app at unenrollment", `enterprise-app-management.md`). They are two commands, not a
//! Sequence, so that the Exec's own status (the install's outcome, 200/202 or an error) is what
//! the administrator sees; the Add may answer 418 (Already exists) when the node is left from an
//! earlier install, which is harmless.
//!
//! - [`AppPayload::Store`] (user only: "This feature is only supported in the user context"):
//!   `Add ./User/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/<PFN>`, then
//!   `Exec …/<PFN>/StoreInstall`, `Format xml`, `Data` `<Application id="<ProductID>"
//!   flags="0|1" skuid="<SkuID>"/>` (`enterprise-app-management.md`, "Deploy apps to user from the
//!   Store").
//! - [`AppPayload::Hosted`]: `Add ./{User,Device}/…/AppInstallation/<PFN>`, then `Exec
//!   …/<PFN>/HostedInstall`, `Format xml`, `Data` `<Application PackageUri="…"
//!   [DeploymentOptions="n"]>[<Dependencies><Dependency PackageUri="…"/>…</Dependencies>]
//!   </Application>` ("Deploy apps to a user from a hosted location", "Provision apps for all
//!   users"; `DeploymentOptions` "is only available in the user context").
//! - [`AppPayload::Msi`]: `Add ./{User,Device}/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/
//!   %7B<GUID>%7D/DownloadInstall`, then `Exec` of the same node, `Format xml`, `Type text/plain`,
//!   `Data` a nested `<MsiInstallJob id="{GUID}"><Product Version="…"><Download><ContentURLList>
//!   <ContentURL>…</ContentURL>…</ContentURLList></Download><Validation><FileHash>…</FileHash>
//!   </Validation><Enforcement><CommandLine>…</CommandLine><TimeOut>…</TimeOut><RetryCount>…
//!   </RetryCount><RetryInterval>…</RetryInterval></Enforcement></Product></MsiInstallJob>`
//!   (`enterprisedesktopappmanagement-csp.md`, examples and DownloadInstall XSD).
//!
//! Values placed in the nested XML are escaped; it is stored as [`Data::Xml`] and written verbatim.

use casement_syncml::{Command, Data, MetInf, Meta};
use serde::{Deserialize, Serialize};

use super::install_check::{application_check, modern_check, msi_check};
use super::uri::{
    APP_INSTALL_JOB_CLASS, CREATE_JOB_METHOD, app_install_job_create, modern_app_hosted_install,
    modern_app_installation, modern_app_store_install, msi_download_install,
};
use super::{
    CatalogContext, CatalogError, QueuedSpec, chr_text, exec, item_command, required, spec,
    target_item,
};
use crate::context::CommandClass;
use crate::device::Platform;

/// Whom a Windows 10/11 install is for: the LocURI's `./User` or `./Device` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppScope {
    /// `./User/...`: the enrolled user.
    User,
    /// `./Device/...`: the device (provisioned for every user / per-machine MSI).
    Device,
}

impl AppScope {
    /// The LocURI prefix.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::User => "./User",
            Self::Device => "./Device",
        }
    }

    const fn describe(self) -> &'static str {
        match self {
            Self::User => "for the enrolled user",
            Self::Device => "for all users",
        }
    }
}

/// What to install, tagged by `type`: `app-install-job` (Windows 8.1), `store`, `hosted`, `msi`
/// (Windows 10/11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum AppPayload {
    /// Windows 8.1 `MDM_AppInstallJob.CreateJob` with the administrator's JobData (format
    /// undocumented publicly; sent verbatim).
    AppInstallJob {
        /// The JobData string.
        job_data: String,
        /// The installed package's full name (`MDM_Application.PackageFullName`, e.g.
        /// `Contoso.Notes_2.1.0.0_x64__8wekyb3d8bbwe`): when given, the install is confirmed by
        /// reading that instance afterwards; without it, only the job's creation is known.
        #[serde(default)]
        package_full_name: Option<String>,
        /// A display name for labels.
        #[serde(default)]
        name: Option<String>,
    },
    /// Windows 10/11 Microsoft Store install for the enrolled user (`StoreInstall`).
    Store {
        /// The package family name.
        package_family_name: String,
        /// The Store product ID (`Application/@id`).
        product_id: String,
        /// The SKU ID (`Application/@skuid`, required).
        sku_id: String,
        /// `Application/@flags`: 0 (the server syncs the seat with the Store) or 1 (the CSP claims
        /// a seat).
        #[serde(default)]
        flags: u8,
        /// A display name for labels.
        #[serde(default)]
        name: Option<String>,
    },
    /// Windows 10/11 appx/msix from a hosted location (`HostedInstall`).
    Hosted {
        /// The package family name.
        package_family_name: String,
        /// Where the package is: local path, UNC path or HTTPS URL.
        package_uri: String,
        /// Framework dependencies' package URIs.
        #[serde(default)]
        dependencies: Vec<String>,
        /// `DeploymentOptions` (user scope only).
        #[serde(default)]
        deployment_options: Option<u32>,
        /// User (default) or device (provisioned for all users).
        #[serde(default = "user_scope")]
        scope: AppScope,
        /// A display name for labels.
        #[serde(default)]
        name: Option<String>,
    },
    /// Windows 10/11 MSI (`EnterpriseDesktopAppManagement` `DownloadInstall`).
    Msi {
        /// The MSI product code, a GUID (braces optional).
        product_id: String,
        /// `Product/@Version`.
        product_version: String,
        /// Download URLs (`ContentURL`), at least one, `http://` or `https://`.
        content_urls: Vec<String>,
        /// SHA-256 of the file, 64 hex digits.
        file_hash: String,
        /// `CommandLine` for msiexec (default `/quiet`).
        #[serde(default = "quiet")]
        command_line: String,
        /// `TimeOut` in minutes (default 5).
        #[serde(default = "five")]
        timeout_minutes: u8,
        /// `RetryCount` (default 3).
        #[serde(default = "three")]
        retry_count: u8,
        /// `RetryInterval` in minutes (default 5).
        #[serde(default = "five")]
        retry_interval_minutes: u8,
        /// Device (default, per-machine) or user (per-user MSI).
        #[serde(default = "device_scope")]
        scope: AppScope,
        /// A display name for labels.
        #[serde(default)]
        name: Option<String>,
    },
}

fn user_scope() -> AppScope {
    AppScope::User
}
fn device_scope() -> AppScope {
    AppScope::Device
}
fn quiet() -> String {
    "/quiet".into()
}
const fn five() -> u8 {
    5
}
const fn three() -> u8 {
    3
}

/// Builds the commands of an app-install request.
pub(super) fn build(
    app: &AppPayload,
    ctx: &CatalogContext,
) -> Result<Vec<QueuedSpec>, CatalogError> {
    match (app, ctx.platform) {
        (
            AppPayload::AppInstallJob {
                job_data,
                package_full_name,
                name,
            },
            Platform::Windows81,
        ) => {
            required("app.job_data", job_data)?;
            let data = Data::text(format!("JobData={job_data}"));
            let shown = display(name.as_deref(), "an application");
            let mut specs = vec![spec(
                CommandClass::AppManagement,
                format!("Install {shown} ({APP_INSTALL_JOB_CLASS}.{CREATE_JOB_METHOD})"),
                exec(app_install_job_create(), Some(chr_text()), Some(data)),
            )];
            if let Some(full_name) = package_full_name.as_deref().map(str::trim) {
                required("app.package_full_name", full_name)?;
                specs.push(application_check(full_name, shown));
            }
            Ok(specs)
        }
        (AppPayload::AppInstallJob { .. }, Platform::Windows10) => Err(unsupported(
            ctx.platform,
            "app-install-job",
            "MDM_AppInstallJob is the Windows 8.1 app provider; use store, hosted or msi",
        )),
        (_, Platform::Windows81) => Err(unsupported(
            ctx.platform,
            app.type_name(),
            "Windows 8.1 has no EnterpriseModernAppManagement or EnterpriseDesktopAppManagement CSP; use app-install-job",
        )),
        (
            AppPayload::Store {
                package_family_name,
                product_id,
                sku_id,
                flags,
                name,
            },
            Platform::Windows10,
        ) => store(
            package_family_name,
            product_id,
            sku_id,
            *flags,
            name.as_deref(),
        ),
        (
            AppPayload::Hosted {
                package_family_name,
                package_uri,
                dependencies,
                deployment_options,
                scope,
                name,
            },
            Platform::Windows10,
        ) => hosted(
            package_family_name,
            package_uri,
            dependencies,
            *deployment_options,
            *scope,
            name.as_deref(),
        ),
        (AppPayload::Msi { .. }, Platform::Windows10) => msi(app),
    }
}

impl AppPayload {
    /// The payload's `type`, as in the API.
    pub const fn type_name(&self) -> &'static str {
        match self {
            Self::AppInstallJob { .. } => "app-install-job",
            Self::Store { .. } => "store",
            Self::Hosted { .. } => "hosted",
            Self::Msi { .. } => "msi",
        }
    }
}

fn store(
    pfn: &str,
    product_id: &str,
    sku_id: &str,
    flags: u8,
    name: Option<&str>,
) -> Result<Vec<QueuedSpec>, CatalogError> {
    required("app.package_family_name", pfn)?;
    required("app.product_id", product_id)?;
    required("app.sku_id", sku_id)?;
    if flags > 1 {
        return Err(CatalogError::InvalidField {
            field: "app.flags",
            reason: "must be 0 or 1".into(),
        });
    }
    let scope = AppScope::User;
    let xml = format!(
        r#"<Application id="{}" flags="{flags}" skuid="{}"/>"#,
        escape_xml(product_id),
        escape_xml(sku_id)
    );
    Ok(vec![
        add_node(
            format!("Prepare the install of {pfn} (AppInstallation node)"),
            modern_app_installation(scope, pfn),
        ),
        spec(
            CommandClass::AppManagement,
            format!(
                "Install {} from the Microsoft Store ({})",
                display(name, pfn),
                scope.describe()
            ),
            exec(
                modern_app_store_install(scope, pfn),
                Some(Meta::format("xml")),
                Some(Data::Xml(xml)),
            ),
        ),
        modern_check(&modern_app_installation(scope, pfn), display(name, pfn)),
    ])
}

fn hosted(
    pfn: &str,
    package_uri: &str,
    dependencies: &[String],
    deployment_options: Option<u32>,
    scope: AppScope,
    name: Option<&str>,
) -> Result<Vec<QueuedSpec>, CatalogError> {
    required("app.package_family_name", pfn)?;
    required("app.package_uri", package_uri)?;
    for dependency in dependencies {
        required("app.dependencies", dependency)?;
    }
    if deployment_options.is_some() && scope == AppScope::Device {
        return Err(CatalogError::InvalidField {
            field: "app.deployment_options",
            reason: "DeploymentOptions is only available in the user scope".into(),
        });
    }
    let mut xml = format!(r#"<Application PackageUri="{}""#, escape_xml(package_uri));
    if let Some(options) = deployment_options {
        xml.push_str(&format!(r#" DeploymentOptions="{options}""#));
    }
    if dependencies.is_empty() {
        xml.push_str("/>");
    } else {
        xml.push_str("><Dependencies>");
        for dependency in dependencies {
            xml.push_str(&format!(
                r#"<Dependency PackageUri="{}"/>"#,
                escape_xml(dependency)
            ));
        }
        xml.push_str("</Dependencies></Application>");
    }
    Ok(vec![
        add_node(
            format!("Prepare the install of {pfn} (AppInstallation node)"),
            modern_app_installation(scope, pfn),
        ),
        spec(
            CommandClass::AppManagement,
            format!(
                "Install {} from {package_uri} ({})",
                display(name, pfn),
                scope.describe()
            ),
            exec(
                modern_app_hosted_install(scope, pfn),
                Some(Meta::format("xml")),
                Some(Data::Xml(xml)),
            ),
        ),
        modern_check(&modern_app_installation(scope, pfn), display(name, pfn)),
    ])
}

fn msi(app: &AppPayload) -> Result<Vec<QueuedSpec>, CatalogError> {
    let AppPayload::Msi {
        product_id,
        product_version,
        content_urls,
        file_hash,
        command_line,
        timeout_minutes,
        retry_count,
        retry_interval_minutes,
        scope,
        name,
    } = app
    else {
        unreachable!("msi() is called for Msi payloads only")
    };
    let guid = guid(product_id)?;
    required("app.product_version", product_version)?;
    if content_urls.is_empty() {
        return Err(CatalogError::InvalidField {
            field: "app.content_urls",
            reason: "at least one download URL is needed".into(),
        });
    }
    for url in content_urls {
        required("app.content_urls", url)?;
        let lower = url.trim().to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return Err(CatalogError::InvalidField {
                field: "app.content_urls",
                reason: format!("{url:?} is not an http:// or https:// URL"),
            });
        }
    }
    let hash = file_hash.trim();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CatalogError::InvalidField {
            field: "app.file_hash",
            reason: "must be the SHA-256 of the file, 64 hexadecimal digits".into(),
        });
    }
    if command_line.chars().any(char::is_control) {
        return Err(CatalogError::InvalidField {
            field: "app.command_line",
            reason: "must not contain control characters".into(),
        });
    }
    let mut xml = format!(
        r#"<MsiInstallJob id="{guid}"><Product Version="{}"><Download><ContentURLList>"#,
        escape_xml(product_version.trim())
    );
    for url in content_urls {
        xml.push_str(&format!(
            "<ContentURL>{}</ContentURL>",
            escape_xml(url.trim())
        ));
    }
    xml.push_str(&format!(
        "</ContentURLList></Download><Validation><FileHash>{}</FileHash></Validation>\
         <Enforcement><CommandLine>{}</CommandLine><TimeOut>{timeout_minutes}</TimeOut>\
         <RetryCount>{retry_count}</RetryCount><RetryInterval>{retry_interval_minutes}</RetryInterval>\
         </Enforcement></Product></MsiInstallJob>",
        hash.to_ascii_uppercase(),
        escape_xml(command_line)
    ));
    let node = msi_download_install(*scope, &guid);
    Ok(vec![
        add_node(
            format!("Prepare the MSI install of {guid} (DownloadInstall node)"),
            node.clone(),
        ),
        spec(
            CommandClass::AppManagement,
            format!(
                "Install {} (MSI {guid} version {}, {})",
                display(name.as_deref(), "an application"),
                product_version.trim(),
                scope.describe()
            ),
            exec(
                node.clone(),
                Some(Meta::format("xml").with(MetInf::Type, "text/plain")),
                Some(Data::Xml(xml)),
            ),
        ),
        msi_check(&node, display(name.as_deref(), &guid)),
    ])
}

/// The Add that creates an install node (no Meta, no Data, as in the docs' samples).
fn add_node(label: String, loc_uri: String) -> QueuedSpec {
    spec(
        CommandClass::AppManagement,
        label,
        Command::Add(item_command(vec![target_item(loc_uri, None, None)])),
    )
}

/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`, upper-case, from a GUID with or without braces.
fn guid(value: &str) -> Result<String, CatalogError> {
    let v = value.trim();
    let inner = v
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(v);
    let groups: Vec<&str> = inner.split('-').collect();
    let shape_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if !shape_ok {
        return Err(CatalogError::InvalidField {
            field: "app.product_id",
            reason: format!("{value:?} is not an MSI product code (a GUID)"),
        });
    }
    Ok(format!("{{{}}}", inner.to_ascii_uppercase()))
}

fn display<'a>(name: Option<&'a str>, fallback: &'a str) -> &'a str {
    name.map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(fallback)
}

fn unsupported(platform: Platform, what: &str, reason: &str) -> CatalogError {
    CatalogError::UnsupportedOnPlatform {
        what: format!("app-install of type {what}"),
        platform,
        reason: reason.into(),
    }
}

/// Escapes text for an XML attribute value or element content.
fn escape_xml(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::ctx;

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
}
