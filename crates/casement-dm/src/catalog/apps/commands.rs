//! Building the commands of an app install: [`build`] dispatches on payload and platform, the
//! Windows 8.1 `CreateJob` Exec and the Windows 10/11 Store and hosted installs are built here,
//! with the helpers shared with the MSI builder.
//!
//! Contract: a payload of the other platform is refused with
//! [`CatalogError::UnsupportedOnPlatform`]; every Windows 10/11 install is an `Add` of the install
//! node, the `Exec`, then a check `Get`; values placed in XML are escaped.

use casement_syncml::{Command, Data, Meta};

use super::msi::msi;
use super::payload::{AppPayload, AppScope};
use crate::catalog::install_check::{application_check, modern_check};
use crate::catalog::uri::{
    APP_INSTALL_JOB_CLASS, CREATE_JOB_METHOD, app_install_job_create, modern_app_hosted_install,
    modern_app_installation, modern_app_store_install,
};
use crate::catalog::{
    CatalogContext, CatalogError, QueuedSpec, chr_text, exec, item_command, required, spec,
    target_item,
};
use crate::context::CommandClass;
use crate::device::Platform;

/// Builds the commands of an app-install request.
pub(in crate::catalog) fn build(
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

/// The Add that creates an install node (no Meta, no Data, as in the docs' samples).
pub(super) fn add_node(label: String, loc_uri: String) -> QueuedSpec {
    spec(
        CommandClass::AppManagement,
        label,
        Command::Add(item_command(vec![target_item(loc_uri, None, None)])),
    )
}

pub(super) fn display<'a>(name: Option<&'a str>, fallback: &'a str) -> &'a str {
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
pub(super) fn escape_xml(value: &str) -> String {
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
