//! Confirming an install: after the install command, one Get reads where the install stands, and
//! [`judge_install_check`] turns the device's answer into [`InstallProgress`]. Pure.
//!
//! Installs run asynchronously on the device (EnterpriseDesktopAppManagement: "Application
//! installations can take some time to complete, hence they are done asynchronously",
//! `enterprisedesktopappmanagement-csp.md`), so an install command's 200/202 only says the device
//! accepted it. The check is queued right after it, in the same class (app management: Maintenance
//! and Apps sessions), and the server sends it again in a later session while the answer is
//! "still installing", up to the command's attempts.
//!
//! | install | check (Get) | installed | failed | still installing |
//! |---|---|---|---|---|
//! | Store / hosted appx (10/11) | `…/EnterpriseModernAppManagement/AppInstallation/<pfn>/Status` | 3, or 404: "Once an install is successful this node is cleaned up" | 2 | 0, 1 |
//! | MSI (10/11) | `…/EnterpriseDesktopAppManagement/MSI/<guid>/Status` | 70 | 30 (download failed), 60 (enforcement failed) | 10, 20, 25, 40, 48, 50, 55 |
//! | `MDM_AppInstallJob` (8.1) | `./cimv2/MDM_Application/MDM_Application.PackageFullName=%22<name>%22/PackageVersion` | 2xx (the app is in the installed-application inventory) | — | 404 (not listed yet) |
//!
//! Status values: AppInstallation `Status` from the EnterpriseModernAppManagement DDF ("NOT_INSTALLED
//! (0) … INSTALLING (1) … FAILED (2) … INSTALLED (3)"); MSI `Status` from
//! `enterprisedesktopappmanagement-csp.md` (10 Initialized, 20 Download In Progress, 25 Pending
//! Download Retry, 30 Download Failed, 40 Download Completed, 48 Pending User Session, 50
//! Enforcement In Progress, 55 Pending Enforcement Retry, 60 Enforcement Failed, 70 Enforcement
//! Completed). On Windows 8.1 the `MDM_AppInstallJob` status values are not documented
//! publicly, so the check reads the installed-application class `MDM_Application` instead, keyed
//! by the package full name the administrator gives with the app.
//!
//! Any other answer (an error status, e.g. 500 when MDMAgent could not act as the user) counts
//! as "still installing": the check is retried, bounded by its attempts.

use casement_syncml::StatusCode;
use serde::{Deserialize, Serialize};

use super::uri::{APPLICATION_CLASS, WMI_ROOT, wmi_instance, wmi_property};
use super::{QueuedSpec, get, spec};
use crate::command::ResultItem;
use crate::context::CommandClass;

/// The key property of `MDM_Application`.
pub const APPLICATION_KEY: &str = "PackageFullName";

/// Where an install stands, as the device's answer to its check shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "detail", rename_all = "kebab-case")]
pub enum InstallProgress {
    /// The app is installed.
    Installed(String),
    /// The install failed on the device.
    Failed(String),
    /// Not finished (or not readable) yet: ask again in a later session.
    Installing(String),
}

/// The check for a Windows 10/11 appx install (Store or hosted): its AppInstallation `Status`.
pub(super) fn modern_check(install_node: &str, name: &str) -> QueuedSpec {
    spec(
        CommandClass::AppManagement,
        format!("Confirm the install of {name} (AppInstallation Status)"),
        get([format!("{install_node}/Status")]),
    )
}

/// The check for a Windows 10/11 MSI install: `MSI/<guid>/Status`. `download_install` is the
/// `…/MSI/<guid>/DownloadInstall` node.
pub(super) fn msi_check(download_install: &str, name: &str) -> QueuedSpec {
    let product = download_install
        .strip_suffix("/DownloadInstall")
        .unwrap_or(download_install);
    spec(
        CommandClass::AppManagement,
        format!("Confirm the install of {name} (MSI Status)"),
        get([format!("{product}/Status")]),
    )
}

/// The check for a Windows 8.1 install job: the app's `MDM_Application` instance.
pub(super) fn application_check(package_full_name: &str, name: &str) -> QueuedSpec {
    let instance = wmi_instance(APPLICATION_CLASS, APPLICATION_KEY, package_full_name);
    spec(
        CommandClass::AppManagement,
        format!("Confirm the install of {name} (MDM_Application)"),
        get([wmi_property(&instance, "PackageVersion")]),
    )
}

/// Judges the device's answer to an install check. `target` is the checked LocURI, `status` the
/// device's status for the Get and `results` its Results. `None` when `target` is not an install
/// check, so the caller may ask for every app-management command.
pub fn judge_install_check(
    target: &str,
    status: StatusCode,
    results: &[ResultItem],
) -> Option<InstallProgress> {
    let kind = CheckKind::of(target)?;
    let value = results
        .iter()
        .find_map(|r| r.data.as_deref())
        .map(str::trim);
    let code = status.code();
    Some(match (kind, status.is_success()) {
        (CheckKind::Modern, true) => match value.and_then(|v| v.parse::<u32>().ok()) {
            Some(3) => InstallProgress::Installed("the PC reports the app installed".into()),
            Some(2) => InstallProgress::Failed(
                "the installation failed on the PC (AppInstallation Status 2, FAILED)".into(),
            ),
            Some(0) => InstallProgress::Installing("the installation has not started yet".into()),
            Some(1) => InstallProgress::Installing("the app is being installed".into()),
            _ => InstallProgress::Installing(format!(
                "the PC answered an unknown install status {value:?}"
            )),
        },
        (CheckKind::Modern, false) if code == 404 => InstallProgress::Installed(
            "the PC removed the install node, which Windows does once an install succeeds".into(),
        ),
        (CheckKind::Msi, true) => match value.and_then(|v| v.parse::<u32>().ok()) {
            Some(70) => InstallProgress::Installed("the PC reports the MSI installed".into()),
            Some(30) => InstallProgress::Failed("the PC could not download the installer".into()),
            Some(60) => InstallProgress::Failed("the installer failed on the PC".into()),
            Some(n @ (10 | 20 | 25 | 40 | 48 | 50 | 55)) => {
                InstallProgress::Installing(msi_progress(n).into())
            }
            _ => InstallProgress::Installing(format!(
                "the PC answered an unknown MSI status {value:?}"
            )),
        },
        (CheckKind::Application, true) => InstallProgress::Installed(match value {
            Some(v) if !v.is_empty() => format!("the app is installed (version {v})"),
            _ => "the app is installed".into(),
        }),
        (CheckKind::Application, false) if code == 404 => {
            InstallProgress::Installing("the app is not among the PC's installed apps yet".into())
        }
        (_, false) => InstallProgress::Installing(format!(
            "the PC could not report the install's progress (status {code}, {})",
            status.meaning()
        )),
    })
}

/// Whether `target` is the LocURI an install check reads.
pub fn is_install_check(target: &str) -> bool {
    CheckKind::of(target).is_some()
}

/// The in-progress MSI states, in words.
const fn msi_progress(status: u32) -> &'static str {
    match status {
        10 => "the install is prepared",
        20 => "the installer is being downloaded",
        25 => "the download will be retried",
        40 => "the installer is downloaded",
        48 => "the install waits for the user to sign in",
        50 => "the app is being installed",
        _ => "the install will be retried",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckKind {
    Modern,
    Msi,
    Application,
}

impl CheckKind {
    fn of(target: &str) -> Option<Self> {
        let segments: Vec<&str> = target.trim().split('/').collect();
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match segments.as_slice() {
            [.., csp, node, _, leaf]
                if eq(csp, "EnterpriseModernAppManagement")
                    && eq(node, "AppInstallation")
                    && eq(leaf, "Status") =>
            {
                Some(Self::Modern)
            }
            [.., csp, node, _, leaf]
                if eq(csp, "EnterpriseDesktopAppManagement")
                    && eq(node, "MSI")
                    && eq(leaf, "Status") =>
            {
                Some(Self::Msi)
            }
            [dot, root, class, _, leaf]
                if eq(&format!("{dot}/{root}"), WMI_ROOT)
                    && eq(class, APPLICATION_CLASS)
                    && eq(leaf, "PackageVersion") =>
            {
                Some(Self::Application)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODERN: &str = "./User/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/Contoso.Notes_8wekyb3d8bbwe/Status";
    const MSI: &str = "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B1803A630-3C38-4D2B-9B9A-0CB37243539C%7D/Status";
    const APP: &str = "./cimv2/MDM_Application/MDM_Application.PackageFullName=%22Contoso.Notes_2.1.0.0_x64__8wekyb3d8bbwe%22/PackageVersion";

    fn value(uri: &str, v: &str) -> Vec<ResultItem> {
        vec![ResultItem {
            loc_uri: uri.into(),
            format: Some("int".into()),
            r#type: None,
            data: Some(v.into()),
        }]
    }

    fn judge(uri: &str, code: u16, v: Option<&str>) -> Option<InstallProgress> {
        let results = v.map(|v| value(uri, v)).unwrap_or_default();
        judge_install_check(uri, StatusCode::from_code(code), &results)
    }

    fn state(p: Option<InstallProgress>) -> &'static str {
        match p {
            Some(InstallProgress::Installed(_)) => "installed",
            Some(InstallProgress::Failed(_)) => "failed",
            Some(InstallProgress::Installing(_)) => "installing",
            None => "not a check",
        }
    }

    #[test]
    fn appinstallation_status_values_follow_the_ddf() {
        assert_eq!(state(judge(MODERN, 200, Some("0"))), "installing");
        assert_eq!(state(judge(MODERN, 200, Some("1"))), "installing");
        assert_eq!(state(judge(MODERN, 200, Some("2"))), "failed");
        assert_eq!(state(judge(MODERN, 200, Some("3"))), "installed");
        assert_eq!(state(judge(MODERN, 200, Some("x"))), "installing");
    }

    #[test]
    fn a_cleaned_up_appinstallation_node_means_installed() {
        assert_eq!(state(judge(MODERN, 404, None)), "installed");
    }

    #[test]
    fn msi_status_values_follow_the_csp_docs() {
        for n in ["10", "20", "25", "40", "48", "50", "55"] {
            assert_eq!(state(judge(MSI, 200, Some(n))), "installing", "{n}");
        }
        assert_eq!(state(judge(MSI, 200, Some("30"))), "failed");
        assert_eq!(state(judge(MSI, 200, Some("60"))), "failed");
        assert_eq!(state(judge(MSI, 200, Some("70"))), "installed");
        assert_eq!(state(judge(MSI, 404, None)), "installing");
    }

    #[test]
    fn windows_81_apps_are_confirmed_by_the_installed_application_class() {
        match judge(APP, 200, Some("2.1.0.0")) {
            Some(InstallProgress::Installed(d)) => assert!(d.contains("2.1.0.0"), "{d}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(state(judge(APP, 404, None)), "installing");
    }

    #[test]
    fn device_errors_mean_ask_again_and_other_uris_are_not_checks() {
        // MDMAgent could not act as the user (an interactive run): 500.
        assert_eq!(state(judge(MODERN, 500, None)), "installing");
        assert_eq!(state(judge(APP, 500, None)), "installing");
        assert_eq!(
            state(judge(
                "./Vendor/MSFT/DMClient/Provider/X/Push/Status",
                200,
                Some("0")
            )),
            "not a check"
        );
        assert_eq!(
            state(judge(
                "./User/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/P/HostedInstall",
                200,
                None
            )),
            "not a check"
        );
    }

    #[test]
    fn checks_read_the_nodes_the_judge_recognises() {
        for spec in [
            modern_check(
                "./User/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/Contoso.Notes_8wekyb3d8bbwe",
                "Notes",
            ),
            msi_check(
                "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B1803A630-3C38-4D2B-9B9A-0CB37243539C%7D/DownloadInstall",
                "Notes",
            ),
            application_check("Contoso.Notes_2.1.0.0_x64__8wekyb3d8bbwe", "Notes"),
        ] {
            let uri = spec.command.items()[0].loc_uri().unwrap().to_owned();
            assert!(CheckKind::of(&uri).is_some(), "{uri}");
            assert_eq!(spec.class, CommandClass::AppManagement);
        }
        assert_eq!(
            application_check("Contoso.Notes_2.1.0.0_x64__8wekyb3d8bbwe", "Notes")
                .command
                .items()[0]
                .loc_uri(),
            Some(APP)
        );
    }
}
