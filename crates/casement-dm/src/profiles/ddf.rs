//! Node definitions shipped from the public CSP documentation (the DDF facts each CSP page
//! publishes: format, access type, allowed values, scope).
//!
//! Every definition below was read in MicrosoftDocs/windows-itpro-docs,
//! `windows/client-management/mdm/`; the file is named per node in [`NodeDefinition::source`]
//! and all together in [`SOURCES`] (and in `docs/profile-nodes.md`). For the Policy CSP the
//! facts come from the page's generated tables: "Applicability" (✅/❌ Device, ✅/❌ User),
//! "OmaUri", "Description framework properties" (Format, Access Type, `Allowed Values`
//! `Range: [a-b]`) and "Allowed values" (a list). The Accounts CSP facts come from its DDF
//! (`accounts-ddf-file.md`, Windows 10 1803: `AccessType` `<Add />` only) and its page
//! (`accounts-csp.md`: "Supported operation is Add. GET operation is not supported").
//!
//! | node (below `./{Device,User}/Vendor/MSFT/`) | format | allowed | device | user | Get | Delete | source |
//! |---|---|---|---|---|---|---|---|
//! | `Policy/Config/Camera/AllowCamera` | int | 0, 1 | ✓ | | ✓ | ✓ | policy-csp-camera.md |
//! | `Policy/Config/DeviceLock/DevicePasswordEnabled` | int | 0, 1 | ✓ | | ✓ | ✓ | policy-csp-devicelock.md |
//! | `Policy/Config/DeviceLock/MinDevicePasswordLength` | int | 4..=16 | ✓ | | ✓ | ✓ | policy-csp-devicelock.md |
//! | `Policy/Config/DeviceLock/MaxInactivityTimeDeviceLock` | int | 0..=999 | ✓ | | ✓ | ✓ | policy-csp-devicelock.md |
//! | `Policy/Config/Experience/AllowCortana` | int | 0, 1 | ✓ | | ✓ | ✓ | policy-csp-experience.md |
//! | `Policy/Config/Experience/AllowScreenCapture` | int | 0, 1 | ✓ | | ✓ | ✓ | policy-csp-experience.md |
//! | `Policy/Config/Experience/AllowTailoredExperiencesWithDiagnosticData` | int | 0, 1 | | ✓ | ✓ | ✓ | policy-csp-experience.md |
//! | `Policy/Config/Experience/AllowWindowsSpotlight` | int | 0, 1 | | ✓ | ✓ | ✓ | policy-csp-experience.md |
//! | `Policy/Config/Bluetooth/AllowDiscoverableMode` | int | 0, 1 | ✓ | | ✓ | ✓ | policy-csp-bluetooth.md |
//! | `Policy/Config/Connectivity/AllowBluetooth` | int | 0, 2 | ✓ | | ✓ | ✓ | policy-csp-connectivity.md |
//! | `Policy/Config/Connectivity/AllowUSBConnection` | int | 0, 1 | ✓ | | ✓ | ✓ | policy-csp-connectivity.md |
//! | `Policy/Config/Update/ActiveHoursStart` | int | 0..=23 | ✓ | | ✓ | ✓ | policy-csp-update.md |
//! | `Policy/Config/Update/ActiveHoursEnd` | int | 0..=23 | ✓ | | ✓ | ✓ | policy-csp-update.md |
//! | `Policy/Config/Defender/AllowRealtimeMonitoring` | int | 0, 1 | ✓ | | ✓ | ✓ | policy-csp-defender.md |
//! | `Policy/Config/Browser/AllowCookies` | int | 0, 1, 2 | ✓ | ✓ | ✓ | ✓ | policy-csp-browser.md |
//! | `Policy/Config/Notifications/DisallowNotificationMirroring` | int | 0, 1 | | ✓ | ✓ | ✓ | policy-csp-notifications.md |
//! | `Accounts/Domain/ComputerName` | chr | any | ✓ | | | | accounts-ddf-file.md, accounts-csp.md |
//! | `Accounts/Users/{UserName}/Password` | chr | any | ✓ | | | | accounts-ddf-file.md, accounts-csp.md |
//! | `Accounts/Users/{UserName}/LocalUserGroup` | int | any | ✓ | | | | accounts-ddf-file.md, accounts-csp.md |
//!
//! A `{Name}` segment stands for any one segment (a dynamic node the server names).

use super::setting::Format;

/// The values a node accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Any value of the node's format.
    Any,
    /// An integer in `min..=max` (the DDF's `Allowed Values: Range: [min-max]`).
    Range {
        /// The least value.
        min: i64,
        /// The greatest value.
        max: i64,
    },
    /// One of these values (the page's "Allowed values" table).
    List(&'static [&'static str]),
}

impl Allowed {
    /// True when `value` (already known to parse in the node's format) is allowed. Integers
    /// are compared as numbers (`01` is `1`).
    pub fn allows(&self, value: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Range { min, max } => value
                .trim()
                .parse::<i64>()
                .is_ok_and(|v| (*min..=*max).contains(&v)),
            Self::List(values) => {
                let number = value.trim().parse::<i64>().ok();
                values
                    .iter()
                    .any(|allowed| match (number, allowed.parse::<i64>()) {
                        (Some(n), Ok(a)) => n == a,
                        _ => allowed.eq_ignore_ascii_case(value.trim()),
                    })
            }
        }
    }

    /// The allowed values in words: "0 to 999", "one of 0, 1", "any value".
    pub fn describe(&self) -> String {
        match self {
            Self::Any => "any value".to_owned(),
            Self::Range { min, max } => format!("{min} to {max}"),
            Self::List(values) => format!("one of {}", values.join(", ")),
        }
    }
}

/// Who may be configured through a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeDefinition {
    /// The node below the CSP root, e.g. `Policy/Config/Camera/AllowCamera`.
    pub path: &'static str,
    /// Its format.
    pub format: Format,
    /// True when the device answers `Get` on it (false: write-only, read back never).
    pub readable: bool,
    /// True when `Delete` is supported.
    pub deletable: bool,
    /// True when the node exists in the device scope (`./Device/…`, `./Vendor/…`).
    pub device: bool,
    /// True when the node exists in the user scope (`./User/…`).
    pub user: bool,
    /// The values it accepts.
    pub allowed: Allowed,
    /// The public document(s) the definition was read in (windows-itpro-docs,
    /// `windows/client-management/mdm/`).
    pub source: &'static str,
}

impl NodeDefinition {
    /// The scopes the node is defined for, in words: "device", "user" or "device and user".
    pub fn scopes(&self) -> &'static str {
        match (self.device, self.user) {
            (true, true) => "device and user",
            (true, false) => "device",
            (false, true) => "user",
            (false, false) => "no scope",
        }
    }
}

const ZERO_ONE: Allowed = Allowed::List(&["0", "1"]);

/// A Policy CSP node (all documented with Access Type "Add, Delete, Get, Replace").
const fn policy(
    path: &'static str,
    allowed: Allowed,
    device: bool,
    user: bool,
    source: &'static str,
) -> NodeDefinition {
    NodeDefinition {
        path,
        format: Format::Int,
        readable: true,
        deletable: true,
        device,
        user,
        allowed,
        source,
    }
}

/// An Accounts CSP node: AccessType `<Add />` only (no Get, no Replace, no Delete), device only.
const fn accounts(path: &'static str, format: Format) -> NodeDefinition {
    NodeDefinition {
        path,
        format,
        readable: false,
        deletable: false,
        device: true,
        user: false,
        allowed: Allowed::Any,
        source: "accounts-ddf-file.md, accounts-csp.md",
    }
}

const DEVICE: (bool, bool) = (true, false);
const USER: (bool, bool) = (false, true);
const BOTH: (bool, bool) = (true, true);

macro_rules! policies {
    ($($path:literal, $allowed:expr, $scope:expr, $source:literal;)*) => {
        [$(policy($path, $allowed, $scope.0, $scope.1, $source),)*]
    };
}

const POLICIES: [NodeDefinition; 16] = policies! {
    "Policy/Config/Camera/AllowCamera", ZERO_ONE, DEVICE, "policy-csp-camera.md";
    "Policy/Config/DeviceLock/DevicePasswordEnabled", ZERO_ONE, DEVICE, "policy-csp-devicelock.md";
    "Policy/Config/DeviceLock/MinDevicePasswordLength", Allowed::Range { min: 4, max: 16 }, DEVICE, "policy-csp-devicelock.md";
    "Policy/Config/DeviceLock/MaxInactivityTimeDeviceLock", Allowed::Range { min: 0, max: 999 }, DEVICE, "policy-csp-devicelock.md";
    "Policy/Config/Experience/AllowCortana", ZERO_ONE, DEVICE, "policy-csp-experience.md";
    "Policy/Config/Experience/AllowScreenCapture", ZERO_ONE, DEVICE, "policy-csp-experience.md";
    "Policy/Config/Experience/AllowTailoredExperiencesWithDiagnosticData", ZERO_ONE, USER, "policy-csp-experience.md";
    "Policy/Config/Experience/AllowWindowsSpotlight", ZERO_ONE, USER, "policy-csp-experience.md";
    "Policy/Config/Bluetooth/AllowDiscoverableMode", ZERO_ONE, DEVICE, "policy-csp-bluetooth.md";
    "Policy/Config/Connectivity/AllowBluetooth", Allowed::List(&["0", "2"]), DEVICE, "policy-csp-connectivity.md";
    "Policy/Config/Connectivity/AllowUSBConnection", ZERO_ONE, DEVICE, "policy-csp-connectivity.md";
    "Policy/Config/Update/ActiveHoursStart", Allowed::Range { min: 0, max: 23 }, DEVICE, "policy-csp-update.md";
    "Policy/Config/Update/ActiveHoursEnd", Allowed::Range { min: 0, max: 23 }, DEVICE, "policy-csp-update.md";
    "Policy/Config/Defender/AllowRealtimeMonitoring", ZERO_ONE, DEVICE, "policy-csp-defender.md";
    "Policy/Config/Browser/AllowCookies", Allowed::List(&["0", "1", "2"]), BOTH, "policy-csp-browser.md";
    "Policy/Config/Notifications/DisallowNotificationMirroring", ZERO_ONE, USER, "policy-csp-notifications.md";
};

const ACCOUNTS: [NodeDefinition; 3] = [
    accounts("Accounts/Domain/ComputerName", Format::Chr),
    accounts("Accounts/Users/{UserName}/Password", Format::Chr),
    accounts("Accounts/Users/{UserName}/LocalUserGroup", Format::Int),
];

const fn all_definitions() -> [NodeDefinition; 19] {
    let mut out = [POLICIES[0]; 19];
    let mut i = 0;
    while i < POLICIES.len() {
        out[i] = POLICIES[i];
        i += 1;
    }
    let mut j = 0;
    while j < ACCOUNTS.len() {
        out[i + j] = ACCOUNTS[j];
        j += 1;
    }
    out
}

/// Every shipped definition.
pub static DEFINITIONS: [NodeDefinition; 19] = all_definitions();

/// Where the definitions come from (MicrosoftDocs/windows-itpro-docs,
/// `windows/client-management/mdm/`).
pub const SOURCES: &str = "MicrosoftDocs/windows-itpro-docs windows/client-management/mdm/: \
policy-csp-camera.md, policy-csp-devicelock.md, policy-csp-experience.md, \
policy-csp-bluetooth.md, policy-csp-connectivity.md, policy-csp-update.md, \
policy-csp-defender.md, policy-csp-browser.md, policy-csp-notifications.md \
(Applicability, OmaUri, Description framework properties and Allowed values tables); \
accounts-ddf-file.md and accounts-csp.md (Accounts CSP, Windows 10 1803)";

/// The CSP roots a shipped node may be addressed under, with the scope each implies.
const ROOTS: [(&str, Root); 3] = [
    ("./Device/Vendor/MSFT/", Root::Device),
    ("./User/Vendor/MSFT/", Root::User),
    ("./Vendor/MSFT/", Root::Vendor),
];

/// The root a CSP LocURI is addressed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// `./Device/Vendor/MSFT/…`.
    Device,
    /// `./User/Vendor/MSFT/…`.
    User,
    /// `./Vendor/MSFT/…`: the device (policy-configuration-service-provider.md, "Policy
    /// scope": for device-wide configuration the `Device/` portion may be omitted).
    Vendor,
}

/// The definition of the node `loc_uri` addresses, when shipped.
pub fn lookup(loc_uri: &str) -> Option<&'static NodeDefinition> {
    lookup_with_root(loc_uri).map(|(_, def)| def)
}

/// The definition of the node `loc_uri` addresses and the root it was addressed under.
pub fn lookup_with_root(loc_uri: &str) -> Option<(Root, &'static NodeDefinition)> {
    let (root, rest) = ROOTS.iter().find_map(|(prefix, root)| {
        let head = loc_uri.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix)
            .then(|| (*root, &loc_uri[prefix.len()..]))
    })?;
    DEFINITIONS
        .iter()
        .find(|def| path_matches(def.path, rest))
        .map(|def| (root, def))
}

/// True when `path` (segments, `{Name}` for any one segment) matches `actual`, ignoring case.
fn path_matches(path: &str, actual: &str) -> bool {
    let mut pattern = path.split('/');
    let mut given = actual.split('/');
    loop {
        match (pattern.next(), given.next()) {
            (None, None) => return true,
            (Some(p), Some(g)) => {
                let dynamic = p.starts_with('{') && p.ends_with('}');
                if g.is_empty() || !(dynamic || p.eq_ignore_ascii_case(g)) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_a_policy_under_each_root_ignoring_case() {
        for uri in [
            "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera",
            "./User/Vendor/MSFT/Policy/Config/Camera/AllowCamera",
            "./Vendor/MSFT/Policy/Config/Camera/AllowCamera",
            "./device/vendor/msft/policy/config/camera/allowcamera",
        ] {
            let def = lookup(uri).unwrap_or_else(|| panic!("{uri}"));
            assert_eq!(def.path, "Policy/Config/Camera/AllowCamera");
            assert_eq!(def.format, Format::Int);
        }
        assert_eq!(
            lookup_with_root("./User/Vendor/MSFT/Policy/Config/Browser/AllowCookies")
                .map(|(root, _)| root),
            Some(Root::User)
        );
    }

    #[test]
    fn lookup_misses_unknown_nodes_and_partial_paths() {
        assert!(lookup("./Device/Vendor/MSFT/Policy/Config/Camera").is_none());
        assert!(lookup("./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera/x").is_none());
        assert!(lookup("./Device/Vendor/MSFT/Policy/Config/Camera/Other").is_none());
        assert!(lookup("./cimv2/MDM_Restrictions/MDM_Restrictions.Key=%221%22/X").is_none());
        assert!(lookup("./DevDetail/SwV").is_none());
    }

    #[test]
    fn a_dynamic_segment_matches_any_name() {
        let def = lookup("./Device/Vendor/MSFT/Accounts/Users/alice/Password").unwrap();
        assert_eq!(def.path, "Accounts/Users/{UserName}/Password");
        assert!(!def.readable);
        assert!(!def.deletable);
        assert!(lookup("./Device/Vendor/MSFT/Accounts/Users//Password").is_none());
    }

    #[test]
    fn scopes_follow_the_applicability_tables() {
        let cookies = lookup("./Vendor/MSFT/Policy/Config/Browser/AllowCookies").unwrap();
        assert_eq!(cookies.scopes(), "device and user");
        let camera = lookup("./Vendor/MSFT/Policy/Config/Camera/AllowCamera").unwrap();
        assert_eq!(camera.scopes(), "device");
        let spotlight =
            lookup("./User/Vendor/MSFT/Policy/Config/Experience/AllowWindowsSpotlight").unwrap();
        assert_eq!(spotlight.scopes(), "user");
    }

    #[test]
    fn allowed_values_compare_numbers_and_ranges() {
        assert!(ZERO_ONE.allows("1"));
        assert!(ZERO_ONE.allows("01"));
        assert!(!ZERO_ONE.allows("2"));
        let range = Allowed::Range { min: 4, max: 16 };
        assert!(range.allows("4") && range.allows("16"));
        assert!(!range.allows("3") && !range.allows("17"));
        assert_eq!(range.describe(), "4 to 16");
        assert_eq!(Allowed::List(&["0", "2"]).describe(), "one of 0, 2");
    }

    #[test]
    fn every_definition_names_its_source_and_a_scope() {
        for def in &DEFINITIONS {
            assert!(SOURCES.contains(def.source.split(',').next().unwrap()));
            assert!(def.device || def.user, "{}", def.path);
        }
        let unique: std::collections::HashSet<_> = DEFINITIONS
            .iter()
            .map(|d| d.path.to_ascii_lowercase())
            .collect();
        assert_eq!(unique.len(), DEFINITIONS.len());
    }
}
