//! Inventory: named sets of nodes, one tracked command per set.
//!
//! Each set is **one Get with one Item per node** (one tracked command, one Results with an item
//! per node; [MS-MDM] §2.2.7.8 "one per node read"). Sets are kept to a dozen small nodes so that
//! replies stay far below the sizes at which Windows 11 aborted ([GMDM-CONF], protocol notes
//! §2.8). Nodes were chosen among those the docs list for every supported build, because a node
//! that does not exist may fail the whole Get.
//!
//! # Windows 8.1 `Win32_*` classes: two steps
//!
//! A WMI-bridge property is addressed through its instance, and the instance through its key
//! (`./cimv2/<Class>/<Class>.<Key>=%22<value>%22/<Property>`). The keys of `Win32_OperatingSystem`
//! (`Name`, e.g. `Microsoft Windows 8.1 Pro|C:\Windows|\Device\Harddisk0\Partition2`),
//! `Win32_ComputerSystem` (`Name`, the computer name) and `Win32_BIOS` (five key properties) are
//! not known to the server. The only documented way to learn them is a Get of the class node,
//! which returns the instances' relative paths, `/`-separated and not URI-escaped
//! (windows-itpro-docs `wmi-providers-supported-in-windows.md`; fixture `mdm-spec/06`). So:
//!
//! 1. [`build`](super::build) queues `Get ./cimv2/Win32_OperatingSystem` (label
//!    "Read Win32_OperatingSystem (instance list)"); the device answers `Format node`, `Data`
//!    `Win32_OperatingSystem.Name="…"`.
//! 2. When that result is stored, the server calls [`follow_up`] with it, which returns one Get
//!    per listed instance (at most [`MAX_FOLLOW_UP_INSTANCES`]) with one Item per property:
//!    `./cimv2/Win32_OperatingSystem/Win32_OperatingSystem.Name=%22…%22/Caption`, … The instance
//!    path is percent-encoded by [`super::uri::encode_instance_path`] (quotes → `%22`, `\` → `%5C`,
//!    `=` and `,` kept), so a simulator decodes the segment back to the path it listed.
//!
//! `MDM_Client` needs no first step: its key is the device ID, which the server knows.
//!
//! # Application inventory is app management
//!
//! docs/product.md §2 puts "application inventory (`MDM_Application`; EnterpriseModernAppManagement)"
//! under **app management**, so the `apps` set is queued with that class (it waits for a
//! Maintenance or Apps session) and its label says so.
//! - 8.1: Get `./cimv2/MDM_Application`: the instance list *is* the inventory (key
//!   `PackageFullName` = name, version, architecture, resource id, publisher id).
//! - 10/11: Get of the interior nodes `./Device/Vendor/MSFT/EnterpriseModernAppManagement/
//!   AppManagement/AppStore` and `…/nonStore`: their child names (URI-encoded, "for interior
//!   nodes, the child node names in the Data element are returned", `oma-dm-protocol-support.md`)
//!   are the package family names of every user's apps (`./Device` = all users,
//!   `enterprise-app-management.md` "Inventory apps"). `System` apps are left out. Details per app
//!   (`…/AppStore/<PFN>?list=StructData`) are a raw Get away; a full `?list=StructData` of
//!   `AppManagement` is what the docs warn "can be resource-intensive … The data returned can also
//!   be large".

use serde::{Deserialize, Serialize};

use super::uri::{
    APPLICATION_CLASS, DEVDETAIL_ROOT, DEVICE_STATUS_ROOT, DEVINFO_ROOT, MDM_CLIENT_CLASS,
    MODERN_APP_MANAGEMENT_DEVICE, WIN32_BIOS_CLASS, WIN32_COMPUTER_SYSTEM_CLASS,
    WIN32_OPERATING_SYSTEM_CLASS, encode_instance_path, mdm_client_instance, wmi_class,
    wmi_property,
};
use super::{CatalogContext, CatalogError, QueuedSpec, get, required, spec};
use crate::command::ResultItem;
use crate::context::CommandClass;
use crate::device::Platform;

/// `Win32_OperatingSystem` properties read (MicrosoftDocs/win32 `win32-operatingsystem`).
pub const OPERATING_SYSTEM_PROPERTIES: &[&str] = &[
    "Caption",
    "Version",
    "BuildNumber",
    "OSArchitecture",
    "OSLanguage",
    "ServicePackMajorVersion",
    "InstallDate",
    "LastBootUpTime",
    "SerialNumber",
];

/// `Win32_ComputerSystem` properties read.
pub const COMPUTER_SYSTEM_PROPERTIES: &[&str] = &[
    "Manufacturer",
    "Model",
    "SystemType",
    "TotalPhysicalMemory",
    "NumberOfProcessors",
    "NumberOfLogicalProcessors",
    "Domain",
    "PartOfDomain",
];

/// `Win32_BIOS` properties read.
pub const BIOS_PROPERTIES: &[&str] = &[
    "SerialNumber",
    "SMBIOSBIOSVersion",
    "Manufacturer",
    "Version",
    "ReleaseDate",
];

/// `MDM_Client` properties read (MicrosoftDocs/win32 `MDMSettingsProv/mdm-client.md`; the key
/// `DeviceClientID` is the device ID and not read back).
pub const MDM_CLIENT_PROPERTIES: &[&str] = &[
    "DeviceName",
    "UserSid",
    "DomainSID",
    "PlatformID",
    "ProcessorDescription",
    "Version",
];

/// `./DevInfo` nodes (OMA DevInfo; the values package 1 also carries, [MS-MDM] §4).
pub const DEVINFO_NODES: &[&str] = &["DevId", "Man", "Mod", "DmV", "Lang"];

/// `./DevDetail` nodes on Windows 8.1: the OMA standard ones only (MS-MDM §4 reads `SwV`, `HwV`);
/// the `Ext/Microsoft/*` nodes are documented for Windows 10 and later.
pub const DEVDETAIL_NODES_WIN81: &[&str] = &["DevTyp", "OEM", "FwV", "SwV", "HwV", "LrgObj"];

/// `./DevDetail` nodes on Windows 10/11 (windows-itpro-docs `mdm/devdetail-csp.md`;
/// `SMBIOSSerialNumber` exists from 1809, `TotalStorage` is mobile-only and left out).
pub const DEVDETAIL_NODES_WIN10: &[&str] = &[
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
];

/// `./Vendor/MSFT/DeviceStatus` nodes read (windows-itpro-docs `mdm/devicestatus-csp.md`;
/// cellular, network and battery nodes are left out: absent on many PCs).
pub const DEVICE_STATUS_NODES: &[&str] = &[
    "OS/Edition",
    "OS/Mode",
    "Compliance/EncryptionCompliance",
    "SecureBootState",
    "DomainName",
    "Firewall/Status",
    "Antivirus/Status",
    "Antivirus/SignatureStatus",
    "UAC/Status",
];

/// The EnterpriseModernAppManagement origins listed by the Windows 10/11 `apps` set.
pub const MODERN_APP_ORIGINS: &[&str] = &["AppStore", "nonStore"];

/// At most this many instances of one class are read by [`follow_up`] (the `Win32_*` classes of
/// the catalog have one; a device listing more is not trusted to grow the queue).
pub const MAX_FOLLOW_UP_INSTANCES: usize = 8;

/// A named inventory set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InventorySet {
    /// 8.1: `Win32_OperatingSystem` (two steps, see the module doc).
    #[serde(rename = "os")]
    Os,
    /// 8.1: `Win32_ComputerSystem` (two steps).
    #[serde(rename = "computer")]
    Computer,
    /// 8.1: `Win32_BIOS` (two steps).
    #[serde(rename = "bios")]
    Bios,
    /// 8.1: `MDM_Client` properties, `UserSid` and `DeviceName` included.
    #[serde(rename = "mdm-client")]
    MdmClient,
    /// Both: `./DevInfo/*`.
    #[serde(rename = "devinfo")]
    DevInfo,
    /// Both: `./DevDetail/*`.
    #[serde(rename = "devdetail")]
    DevDetail,
    /// 10/11: `./Vendor/MSFT/DeviceStatus/*`.
    #[serde(rename = "device-status")]
    DeviceStatus,
    /// Both: the installed applications — class **app management**.
    #[serde(rename = "apps")]
    Apps,
}

impl InventorySet {
    /// Every set, in the order defaults are queued.
    pub const ALL: [InventorySet; 8] = [
        Self::Os,
        Self::Computer,
        Self::Bios,
        Self::MdmClient,
        Self::DevInfo,
        Self::DevDetail,
        Self::DeviceStatus,
        Self::Apps,
    ];

    /// The name used in the API.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Os => "os",
            Self::Computer => "computer",
            Self::Bios => "bios",
            Self::MdmClient => "mdm-client",
            Self::DevInfo => "devinfo",
            Self::DevDetail => "devdetail",
            Self::DeviceStatus => "device-status",
            Self::Apps => "apps",
        }
    }

    /// The class its command is queued with: app management for `apps`, inventory otherwise.
    pub const fn class(self) -> CommandClass {
        match self {
            Self::Apps => CommandClass::AppManagement,
            _ => CommandClass::Inventory,
        }
    }

    /// Whether the platform has it.
    pub const fn supported_on(self, platform: Platform) -> bool {
        match self {
            Self::Os | Self::Computer | Self::Bios | Self::MdmClient => {
                matches!(platform, Platform::Windows81)
            }
            Self::DeviceStatus => matches!(platform, Platform::Windows10),
            Self::DevInfo | Self::DevDetail | Self::Apps => true,
        }
    }

    /// The sets an inventory request without names reads: every set the platform has.
    pub fn defaults(platform: Platform) -> Vec<InventorySet> {
        Self::ALL
            .into_iter()
            .filter(|s| s.supported_on(platform))
            .collect()
    }

    /// The `Win32_*` class read in two steps, for those sets.
    pub const fn win32_class(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Self::Os => Some((WIN32_OPERATING_SYSTEM_CLASS, OPERATING_SYSTEM_PROPERTIES)),
            Self::Computer => Some((WIN32_COMPUTER_SYSTEM_CLASS, COMPUTER_SYSTEM_PROPERTIES)),
            Self::Bios => Some((WIN32_BIOS_CLASS, BIOS_PROPERTIES)),
            _ => None,
        }
    }
}

impl std::fmt::Display for InventorySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The set for its API name (case-insensitive, surrounding spaces ignored).
pub fn lookup_set(name: &str) -> Option<InventorySet> {
    let name = name.trim();
    InventorySet::ALL
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
}

/// Step 2 of the `os`, `computer` and `bios` sets: given a result of step 1 (the class node's
/// instance list), the Gets of the listed instances' properties, one per instance. Any other
/// result gives nothing, so the server may call it for every inventory result it stores.
/// Instances of another class than the one asked are ignored, and at most
/// [`MAX_FOLLOW_UP_INSTANCES`] are read.
pub fn follow_up(result: &ResultItem) -> Vec<QueuedSpec> {
    let Some((class, properties)) = InventorySet::ALL
        .into_iter()
        .filter_map(InventorySet::win32_class)
        .find(|(class, _)| {
            result
                .loc_uri
                .trim()
                .eq_ignore_ascii_case(&wmi_class(class))
        })
    else {
        return Vec::new();
    };
    let Some(data) = result.data.as_deref() else {
        return Vec::new();
    };
    instance_paths(data)
        .into_iter()
        .filter(|path| names_instance_of(path, class))
        .take(MAX_FOLLOW_UP_INSTANCES)
        .map(|path| {
            let node = format!("{}/{}", wmi_class(class), encode_instance_path(&path));
            spec(
                CommandClass::Inventory,
                format!("Read {class} ({})", summary(properties)),
                get(properties.iter().map(|p| wmi_property(&node, p))),
            )
        })
        .collect()
}

/// Splits a WMI class node's `Data` into relative instance paths: `/` separates them (not
/// URI-escaped, per the docs), except inside a quoted key value, where `\` escapes the next
/// character as in WMI object paths.
pub fn instance_paths(data: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in data.trim().chars() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == '/' && !quoted {
            push_path(&mut paths, &mut current);
            continue;
        }
        current.push(c);
    }
    push_path(&mut paths, &mut current);
    paths
}

/// Builds the commands of an inventory request.
pub(super) fn build(
    sets: &[InventorySet],
    ctx: &CatalogContext,
) -> Result<Vec<QueuedSpec>, CatalogError> {
    let sets = if sets.is_empty() {
        InventorySet::defaults(ctx.platform)
    } else {
        let mut unique = Vec::with_capacity(sets.len());
        for &set in sets {
            if !unique.contains(&set) {
                unique.push(set);
            }
        }
        unique
    };
    if let Some(&set) = sets.iter().find(|s| !s.supported_on(ctx.platform)) {
        return Err(CatalogError::SetUnsupported {
            set,
            platform: ctx.platform,
        });
    }
    sets.into_iter().map(|set| build_set(set, ctx)).collect()
}

fn build_set(set: InventorySet, ctx: &CatalogContext) -> Result<QueuedSpec, CatalogError> {
    if let Some((class, _)) = set.win32_class() {
        return Ok(spec(
            set.class(),
            format!("Read {class} (instance list)"),
            get([wmi_class(class)]),
        ));
    }
    Ok(match (set, ctx.platform) {
        (InventorySet::MdmClient, _) => {
            required("device_id", &ctx.device_id)
                .map_err(|e| CatalogError::InvalidContext(e.to_string()))?;
            let node = mdm_client_instance(&ctx.device_id);
            spec(
                set.class(),
                format!(
                    "Read {MDM_CLIENT_CLASS} ({})",
                    summary(MDM_CLIENT_PROPERTIES)
                ),
                get(MDM_CLIENT_PROPERTIES.iter().map(|p| wmi_property(&node, p))),
            )
        }
        (InventorySet::DevInfo, _) => nodes(set, DEVINFO_ROOT, DEVINFO_NODES),
        (InventorySet::DevDetail, Platform::Windows81) => {
            nodes(set, DEVDETAIL_ROOT, DEVDETAIL_NODES_WIN81)
        }
        (InventorySet::DevDetail, Platform::Windows10) => {
            nodes(set, DEVDETAIL_ROOT, DEVDETAIL_NODES_WIN10)
        }
        (InventorySet::DeviceStatus, _) => spec(
            set.class(),
            format!("Read DeviceStatus ({})", summary(DEVICE_STATUS_NODES)),
            get(DEVICE_STATUS_NODES
                .iter()
                .map(|n| format!("{DEVICE_STATUS_ROOT}/{n}"))),
        ),
        (InventorySet::Apps, Platform::Windows81) => spec(
            set.class(),
            format!(
                "Read the installed applications ({APPLICATION_CLASS} instances; app management)"
            ),
            get([wmi_class(APPLICATION_CLASS)]),
        ),
        (InventorySet::Apps, Platform::Windows10) => spec(
            set.class(),
            format!(
                "Read the installed applications (EnterpriseModernAppManagement {}; app management)",
                MODERN_APP_ORIGINS.join(", ")
            ),
            get(MODERN_APP_ORIGINS
                .iter()
                .map(|o| format!("{MODERN_APP_MANAGEMENT_DEVICE}/{o}"))),
        ),
        (InventorySet::Os | InventorySet::Computer | InventorySet::Bios, _) => {
            unreachable!("Win32 sets are built above")
        }
    })
}

fn nodes(set: InventorySet, root: &str, names: &[&str]) -> QueuedSpec {
    spec(
        set.class(),
        format!("Read {root} ({})", summary(names)),
        get(names.iter().map(|n| format!("{root}/{n}"))),
    )
}

/// "A, B, C, …": the first three names, for labels.
fn summary(names: &[&str]) -> String {
    let mut out = names.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 3 {
        out.push_str(", …");
    }
    out
}

fn names_instance_of(path: &str, class: &str) -> bool {
    path.len() > class.len()
        && path.is_char_boundary(class.len())
        && path[..class.len()].eq_ignore_ascii_case(class)
        && matches!(path.as_bytes()[class.len()], b'.' | b'=')
}

fn push_path(paths: &mut Vec<String>, current: &mut String) {
    let path = current.trim();
    if !path.is_empty() {
        paths.push(path.to_owned());
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::tests::ctx;
    use casement_syncml::Command;

    fn uris(spec: &QueuedSpec) -> Vec<&str> {
        spec.command
            .items()
            .iter()
            .filter_map(|i| i.loc_uri())
            .collect()
    }

    #[test]
    fn set_names_round_trip_through_serde_and_lookup() {
        for set in InventorySet::ALL {
            assert_eq!(lookup_set(set.name()), Some(set));
            assert_eq!(
                serde_json::to_value(set).unwrap(),
                serde_json::Value::String(set.name().into())
            );
        }
        assert_eq!(lookup_set(" DevInfo "), Some(InventorySet::DevInfo));
        assert_eq!(lookup_set("dev-info"), None);
        assert_eq!(lookup_set(""), None);
    }

    #[test]
    fn defaults_are_every_set_of_the_platform() {
        use InventorySet::*;
        assert_eq!(
            InventorySet::defaults(Platform::Windows81),
            [Os, Computer, Bios, MdmClient, DevInfo, DevDetail, Apps]
        );
        assert_eq!(
            InventorySet::defaults(Platform::Windows10),
            [DevInfo, DevDetail, DeviceStatus, Apps]
        );
    }

    #[test]
    fn win32_sets_start_with_the_class_node() {
        let specs = build(&[InventorySet::Os], &ctx(Platform::Windows81)).unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(uris(&specs[0]), ["./cimv2/Win32_OperatingSystem"]);
        assert_eq!(specs[0].label, "Read Win32_OperatingSystem (instance list)");
        assert_eq!(specs[0].class, CommandClass::Inventory);
        assert!(matches!(specs[0].command, Command::Get(_)));
    }

    #[test]
    fn mdm_client_reads_properties_of_the_quoted_device_instance() {
        let specs = build(&[InventorySet::MdmClient], &ctx(Platform::Windows81)).unwrap();
        let uris = uris(&specs[0]);
        assert_eq!(uris.len(), MDM_CLIENT_PROPERTIES.len());
        assert_eq!(
            uris[1],
            "./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22B5B954E81FBCB94EB79BD08BE625F4EE%22/UserSid"
        );
        assert_eq!(
            specs[0].label,
            "Read MDM_Client (DeviceName, UserSid, DomainSID, …)"
        );
    }

    #[test]
    fn duplicates_are_read_once_and_unsupported_sets_refused() {
        let specs = build(
            &[InventorySet::DevInfo, InventorySet::DevInfo],
            &ctx(Platform::Windows10),
        )
        .unwrap();
        assert_eq!(specs.len(), 1);
        let err = build(&[InventorySet::Bios], &ctx(Platform::Windows10)).unwrap_err();
        assert!(matches!(
            err,
            CatalogError::SetUnsupported {
                set: InventorySet::Bios,
                ..
            }
        ));
    }

    #[test]
    fn instance_paths_split_outside_quotes_only() {
        assert_eq!(
            instance_paths(
                r#"Win32_NetworkAdapter.DeviceID="0"/Win32_NetworkAdapter.DeviceID="1"/Win32_NetworkAdapter.DeviceID="2""#
            ),
            [
                r#"Win32_NetworkAdapter.DeviceID="0""#,
                r#"Win32_NetworkAdapter.DeviceID="1""#,
                r#"Win32_NetworkAdapter.DeviceID="2""#
            ]
        );
        assert_eq!(
            instance_paths(r#"Win32_BIOS.Name="a/b \"c/d\"",Version="x""#),
            [r#"Win32_BIOS.Name="a/b \"c/d\"",Version="x""#]
        );
        assert_eq!(instance_paths("  "), Vec::<String>::new());
    }

    #[test]
    fn follow_up_reads_each_listed_instance_of_the_class() {
        let result = ResultItem {
            loc_uri: "./cimv2/Win32_OperatingSystem".into(),
            format: Some("node".into()),
            r#type: None,
            data: Some(
                r#"Win32_OperatingSystem.Name="Microsoft Windows 8.1 Pro|C:\\Windows|\\Device\\Harddisk0\\Partition2"/Win32_Process.Handle="4""#
                    .into(),
            ),
        };
        let specs = follow_up(&result);
        assert_eq!(specs.len(), 1, "the other class is ignored");
        let spec = &specs[0];
        assert_eq!(spec.class, CommandClass::Inventory);
        assert_eq!(
            spec.label,
            "Read Win32_OperatingSystem (Caption, Version, BuildNumber, …)"
        );
        let uris = uris(spec);
        assert_eq!(uris.len(), OPERATING_SYSTEM_PROPERTIES.len());
        assert_eq!(
            uris[0],
            "./cimv2/Win32_OperatingSystem/Win32_OperatingSystem.Name=%22Microsoft%20Windows%208.1%20Pro%7CC%3A%5C%5CWindows%7C%5C%5CDevice%5C%5CHarddisk0%5C%5CPartition2%22/Caption"
        );
    }

    #[test]
    fn follow_up_ignores_other_results_and_caps_instances() {
        let other = ResultItem {
            loc_uri: "./DevDetail/SwV".into(),
            format: None,
            r#type: None,
            data: Some("6.3.9600".into()),
        };
        assert!(follow_up(&other).is_empty());
        let many = (0..20)
            .map(|i| format!("Win32_BIOS.Name=\"{i}\""))
            .collect::<Vec<_>>()
            .join("/");
        let result = ResultItem {
            loc_uri: "./cimV2/Win32_BIOS".into(),
            format: Some("node".into()),
            r#type: None,
            data: Some(many),
        };
        assert_eq!(follow_up(&result).len(), MAX_FOLLOW_UP_INSTANCES);
    }
}
