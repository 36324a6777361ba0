//! The app-install payload as the API accepts it: [`AppScope`] and [`AppPayload`] (serde shape,
//! `type` tags and field defaults).
//!
//! Contract: pure data; no validation happens here (the builders in `commands` and `msi` refuse
//! bad fields with [`CatalogError::InvalidField`](crate::catalog::CatalogError::InvalidField)).

use serde::{Deserialize, Serialize};

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

    pub(super) const fn describe(self) -> &'static str {
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
pub(super) fn quiet() -> String {
    "/quiet".into()
}
const fn five() -> u8 {
    5
}
const fn three() -> u8 {
    3
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
