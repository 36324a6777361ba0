//! The Windows 10/11 MSI install (`EnterpriseDesktopAppManagement` `DownloadInstall`): field
//! checks, the nested `MsiInstallJob` XML and the product-code normalisation.
//!
//! Contract: the product code must be a GUID (normalised to upper case with braces), at least one
//! `http://`/`https://` URL, a 64-hex-digit SHA-256 and a command line without control characters;
//! anything else is [`CatalogError::InvalidField`].

use casement_syncml::{Data, MetInf, Meta};

use super::commands::{add_node, display, escape_xml};
use super::payload::AppPayload;
use crate::catalog::install_check::msi_check;
use crate::catalog::uri::msi_download_install;
use crate::catalog::{CatalogError, QueuedSpec, exec, required, spec};
use crate::context::CommandClass;

pub(super) fn msi(app: &AppPayload) -> Result<Vec<QueuedSpec>, CatalogError> {
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
