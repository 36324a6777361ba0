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
//! Values placed in the nested XML are escaped; it is stored as [`Data::Xml`](casement_syncml::Data::Xml) and written verbatim.
//!
//! Layout: `payload` (the API types), `commands` (dispatch, Windows 8.1, Store, hosted, shared
//! helpers), `msi` (the MSI install).

mod commands;
mod msi;
mod payload;

pub(super) use commands::build;
pub use payload::{AppPayload, AppScope};

#[cfg(test)]
mod tests;
