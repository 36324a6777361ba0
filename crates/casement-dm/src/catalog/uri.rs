//! The LocURIs the catalog writes, shared with the server (which reads results back by URI) and the
//! simulator (which answers them).
//!
//! # Windows 8.1 WMI bridge ([MS-MDM] §3.1.5.1.3–5; windows-itpro-docs
//! `wmi-providers-supported-in-windows.md`)
//!
//! - class: `./cimv2/<Class>`. A Get returns `Format node` and the `/`-separated, **not**
//!   URI-escaped list of the instances' relative paths, e.g. `Win32_NetworkAdapter.DeviceID="0"`.
//! - instance: `./cimv2/<Class>/<Class>.<Key>=%22<value>%22` — string keys quoted with `%22` as
//!   every MS-MDM sample does (`MDM_EASPolicy.Key=%221%22`,
//!   `MDM_ConfigSetting.SettingName=%22UnEnrollOnCertExpiry%22`).
//! - property: `<instance>/<Property>`; method: `<instance>/Exec=<Method>`, sent with `Exec`,
//!   `Data` = `<Parameter>=<value>`. A static method (`MDM_AppInstallJob.CreateJob`) has no
//!   instance: `./cimv2/<Class>/Exec=<Method>` (inferred from the instance form; no public sample).
//!
//! **`MDM_Client` key doubt** (protocol notes §6.3): the MDMAgent blog writes
//! `MDM_Client.DeviceClientID=<id>` without quotes, the MS-MDM samples quote every string key.
//! The catalog always writes the quoted form `MDM_Client.DeviceClientID=%22<id>%22`; the simulator
//! answers that form.
//!
//! The MDM classes live in WMI namespace `root\cimv2\mdm` (MicrosoftDocs/win32
//! `desktop-src/MDMSettingsProv/mdm-client.md`, Requirements) but the bridge exposes them under
//! `./cimv2/` as the MS-MDM samples do, so the catalog uses `./cimv2/` for every class.
//!
//! # Windows 10/11 CSPs
//!
//! - DMClient ([MS-MDE2] §2.2.9.3; windows-itpro-docs `mdm/dmclient-csp.md`):
//!   `./Vendor/MSFT/DMClient/Provider/<ProviderID>/{Push/PFN, Push/ChannelURI, Push/Status, Unenroll}`.
//! - EnterpriseModernAppManagement (`mdm/enterprisemodernappmanagement-csp.md`,
//!   `enterprise-app-management.md`): `./{User,Device}/Vendor/MSFT/EnterpriseModernAppManagement/…`.
//! - EnterpriseDesktopAppManagement (`mdm/enterprisedesktopappmanagement-csp.md`):
//!   `./{User,Device}/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B<GUID>%7D/DownloadInstall`.
//!
//! "To represent a Unicode string as a URI, first encode the string as UTF-8. Then encode each of
//! the UTF-8 bytes using URI encoding" (windows-itpro-docs `oma-dm-protocol-support.md`): values
//! placed in a segment go through [`encode_segment`].

use super::apps::AppScope;

/// The WMI bridge root.
pub const WMI_ROOT: &str = "./cimv2";
/// `MDM_Client`: the user-device pair; methods `ResetUserPassword`, `SendUnenrollRequest`.
pub const MDM_CLIENT_CLASS: &str = "MDM_Client";
/// The key of `MDM_Client` ("This is a device ID").
pub const MDM_CLIENT_KEY: &str = "DeviceClientID";
/// `MDM_Client.ResetUserPassword(string ConfigString)` (Windows 8.1 Update).
pub const RESET_USER_PASSWORD_METHOD: &str = "ResetUserPassword";
/// `MDM_Client.SendUnenrollRequest(string DeviceClientID)`.
pub const SEND_UNENROLL_REQUEST_METHOD: &str = "SendUnenrollRequest";
/// `MDM_WNSConfiguration`: key `AppId`, property `ConfigurationStatus`, method
/// `UpdateConfiguration`.
pub const WNS_CONFIGURATION_CLASS: &str = "MDM_WNSConfiguration";
/// `MDM_WNSChannel` (read-only): key `AppId`; `Channel`, `ExpirationTime`, `ChannelStatus`,
/// `LastError`.
pub const WNS_CHANNEL_CLASS: &str = "MDM_WNSChannel";
/// The key of `MDM_WNSConfiguration` and `MDM_WNSChannel`.
pub const WNS_KEY: &str = "AppId";
/// `MDM_WNSConfiguration.UpdateConfiguration(string ConfigString)`, `<AppId>;<PFN>`.
pub const UPDATE_CONFIGURATION_METHOD: &str = "UpdateConfiguration";
/// `MDM_AppInstallJob`: method `CreateJob(string JobData)` (8.1).
pub const APP_INSTALL_JOB_CLASS: &str = "MDM_AppInstallJob";
/// `MDM_AppInstallJob.CreateJob`.
pub const CREATE_JOB_METHOD: &str = "CreateJob";
/// `MDM_Application`: installed packages, key `PackageFullName`.
pub const APPLICATION_CLASS: &str = "MDM_Application";
/// `Win32_OperatingSystem` (key `Name`, unknown to the server).
pub const WIN32_OPERATING_SYSTEM_CLASS: &str = "Win32_OperatingSystem";
/// `Win32_ComputerSystem` (key `Name`, the computer name).
pub const WIN32_COMPUTER_SYSTEM_CLASS: &str = "Win32_ComputerSystem";
/// `Win32_BIOS` (five key properties).
pub const WIN32_BIOS_CLASS: &str = "Win32_BIOS";

/// `./DevInfo`.
pub const DEVINFO_ROOT: &str = "./DevInfo";
/// `./DevDetail`.
pub const DEVDETAIL_ROOT: &str = "./DevDetail";
/// `./Vendor/MSFT/DeviceStatus`.
pub const DEVICE_STATUS_ROOT: &str = "./Vendor/MSFT/DeviceStatus";
/// `./Vendor/MSFT/DMClient/Provider`.
pub const DMCLIENT_PROVIDER_ROOT: &str = "./Vendor/MSFT/DMClient/Provider";
/// `./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement`: the device-wide app
/// inventory (all users).
pub const MODERN_APP_MANAGEMENT_DEVICE: &str =
    "./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement";

/// `./cimv2/<class>`: the class node; a Get lists the instances.
pub fn wmi_class(class: &str) -> String {
    format!("{WMI_ROOT}/{class}")
}

/// `./cimv2/<class>/<class>.<key>=%22<value>%22`, the value percent-encoded.
pub fn wmi_instance(class: &str, key: &str, value: &str) -> String {
    format!(
        "{WMI_ROOT}/{class}/{class}.{key}=%22{}%22",
        encode_segment(value)
    )
}

/// `<node>/<property>`.
pub fn wmi_property(node: &str, property: &str) -> String {
    format!("{node}/{property}")
}

/// `<node>/Exec=<method>` (an instance for instance methods, the class for static ones).
pub fn wmi_method(node: &str, method: &str) -> String {
    format!("{node}/Exec={method}")
}

/// `./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22<device_id>%22`.
pub fn mdm_client_instance(device_id: &str) -> String {
    wmi_instance(MDM_CLIENT_CLASS, MDM_CLIENT_KEY, device_id)
}

/// `./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22<app_id>%22`.
pub fn wns_configuration_instance(app_id: &str) -> String {
    wmi_instance(WNS_CONFIGURATION_CLASS, WNS_KEY, app_id)
}

/// `./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22<app_id>%22`.
pub fn wns_channel_instance(app_id: &str) -> String {
    wmi_instance(WNS_CHANNEL_CLASS, WNS_KEY, app_id)
}

/// `./cimv2/MDM_AppInstallJob/Exec=CreateJob`.
pub fn app_install_job_create() -> String {
    wmi_method(&wmi_class(APP_INSTALL_JOB_CLASS), CREATE_JOB_METHOD)
}

/// `./Vendor/MSFT/DMClient/Provider/<provider>`.
pub fn dmclient_provider(provider: &str) -> String {
    format!("{DMCLIENT_PROVIDER_ROOT}/{}", encode_segment(provider))
}

/// `./Vendor/MSFT/DMClient/Provider/<provider>/Push/PFN` (Add, Get, Replace).
pub fn dmclient_push_pfn(provider: &str) -> String {
    format!("{}/Push/PFN", dmclient_provider(provider))
}

/// `./Vendor/MSFT/DMClient/Provider/<provider>/Push/ChannelURI` (Get).
pub fn dmclient_push_channel_uri(provider: &str) -> String {
    format!("{}/Push/ChannelURI", dmclient_provider(provider))
}

/// `./Vendor/MSFT/DMClient/Provider/<provider>/Push/Status` (Get; 0 = success … 8).
pub fn dmclient_push_status(provider: &str) -> String {
    format!("{}/Push/Status", dmclient_provider(provider))
}

/// `./Vendor/MSFT/DMClient/Provider/<provider>/Unenroll` (Exec, Data = the ProviderID).
pub fn dmclient_unenroll(provider: &str) -> String {
    format!("{}/Unenroll", dmclient_provider(provider))
}

/// `./{User,Device}/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/<pfn>`.
pub fn modern_app_installation(scope: AppScope, pfn: &str) -> String {
    format!(
        "{}/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/{}",
        scope.prefix(),
        encode_segment(pfn)
    )
}

/// `…/AppInstallation/<pfn>/StoreInstall` (Exec, Format xml).
pub fn modern_app_store_install(scope: AppScope, pfn: &str) -> String {
    format!("{}/StoreInstall", modern_app_installation(scope, pfn))
}

/// `…/AppInstallation/<pfn>/HostedInstall` (Exec, Format xml).
pub fn modern_app_hosted_install(scope: AppScope, pfn: &str) -> String {
    format!("{}/HostedInstall", modern_app_installation(scope, pfn))
}

/// `./{User,Device}/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B<GUID>%7D/DownloadInstall`;
/// `product_id` is a brace-wrapped GUID, encoded as the CSP's samples do.
pub fn msi_download_install(scope: AppScope, product_id: &str) -> String {
    format!(
        "{}/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/{}/DownloadInstall",
        scope.prefix(),
        encode_segment(product_id)
    )
}

/// Percent-encodes a value for one LocURI segment: UTF-8 bytes, everything but the RFC 3986
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`) as `%XX` (upper-case hex).
pub fn encode_segment(value: &str) -> String {
    encode(value, b"")
}

/// Percent-encodes a WMI relative instance path as a device listed it
/// (`Win32_BIOS.Name="x",Version="y"`) for use as one segment: like [`encode_segment`] but `=`
/// and `,` stay, as in the MS-MDM samples (`MDM_EASPolicy.Key=%221%22`).
pub fn encode_instance_path(path: &str) -> String {
    encode(path, b"=,")
}

/// Whether a LocURI is user-scoped (`./User/...`, case-insensitive): such commands run as the
/// enrolled user and need a user session (docs/product.md §2; windows-itpro-docs
/// `oma-dm-protocol-support.md`, "User targeted vs. Device targeted configuration").
pub fn is_user_scoped(loc_uri: &str) -> bool {
    let uri = loc_uri.trim_start().as_bytes();
    const PREFIX: &[u8] = b"./user";
    uri.len() >= PREFIX.len()
        && uri[..PREFIX.len()].eq_ignore_ascii_case(PREFIX)
        && (uri.len() == PREFIX.len() || uri[PREFIX.len()] == b'/')
}

fn encode(value: &str, keep: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wmi_paths_follow_the_ms_mdm_samples() {
        assert_eq!(
            wmi_instance("MDM_EASPolicy", "Key", "1"),
            "./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22"
        );
        assert_eq!(
            wmi_method(&wmi_instance("MDM_EASPolicy", "Key", "1"), "SetValues"),
            "./cimv2/MDM_EASPolicy/MDM_EASPolicy.Key=%221%22/Exec=SetValues"
        );
        assert_eq!(
            mdm_client_instance("B5B954E81FBCB94EB79BD08BE625F4EE"),
            "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22B5B954E81FBCB94EB79BD08BE625F4EE%22"
        );
        assert_eq!(
            wns_configuration_instance("Casement"),
            "./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22Casement%22"
        );
        assert_eq!(
            app_install_job_create(),
            "./cimv2/MDM_AppInstallJob/Exec=CreateJob"
        );
    }

    #[test]
    fn dmclient_paths_encode_the_provider() {
        assert_eq!(
            dmclient_push_pfn("Casement"),
            "./Vendor/MSFT/DMClient/Provider/Casement/Push/PFN"
        );
        assert_eq!(
            dmclient_unenroll("MS DM Server"),
            "./Vendor/MSFT/DMClient/Provider/MS%20DM%20Server/Unenroll"
        );
    }

    #[test]
    fn app_paths_follow_the_csp_samples() {
        assert_eq!(
            msi_download_install(AppScope::Device, "{1803A630-3C38-4D2B-9B9A-0CB37243539C}"),
            "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B1803A630-3C38-4D2B-9B9A-0CB37243539C%7D/DownloadInstall"
        );
        assert_eq!(
            modern_app_hosted_install(AppScope::User, "Contoso.App_8wekyb3d8bbwe"),
            "./User/Vendor/MSFT/EnterpriseModernAppManagement/AppInstallation/Contoso.App_8wekyb3d8bbwe/HostedInstall"
        );
    }

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(encode_segment("a b\"c/d%é"), "a%20b%22c%2Fd%25%C3%A9");
        assert_eq!(encode_segment("Contoso.App_1~-"), "Contoso.App_1~-");
        assert_eq!(
            encode_instance_path(r#"Win32_BIOS.Name="Default System BIOS",SoftwareElementState=3"#),
            "Win32_BIOS.Name=%22Default%20System%20BIOS%22,SoftwareElementState=3"
        );
    }

    #[test]
    fn user_scope_is_a_prefix_segment() {
        assert!(is_user_scoped("./User/Vendor/MSFT/Policy/Config/X"));
        assert!(is_user_scoped("  ./user/vendor/x"));
        assert!(is_user_scoped("./USER"));
        assert!(!is_user_scoped("./UserData/x"));
        assert!(!is_user_scoped("./Device/Vendor/MSFT/X"));
        assert!(!is_user_scoped("./Vendor/MSFT/DMClient"));
    }
}
