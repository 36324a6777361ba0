//! The WMI classes the simulated bridge serves, their instances and methods.
//!
//! Sources: MDM Settings Provider and MDM Application Provider class pages (MicrosoftDocs win32
//! `MDMSettingsProv`, `MDMAppProv`), [MS-MDM] §3.1.5.1, the Win32 class reference for the
//! `Win32_*` properties. Values are those of a Windows 8.1 Pro (6.3.9600) virtual machine, or of
//! the device's Windows 10/11 build.
//!
//! Instances are computed in [`super::values`]; methods run in [`super::methods`].

use casement_dm::device::NodeValue;

use super::super::AgentState;
use super::super::nodes::chr;
use super::super::tree::TreeEnv;
use super::values::computed;
use crate::enroll::WindowsRelease;

/// How a class's instances come about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Instances and values come from the device; only the properties marked writable change.
    Computed,
    /// One fixed instance (`<Key>="<value>"`) whose properties the server sets freely.
    Singleton(&'static str),
    /// Instances the server creates by writing them (`MDM_ConfigSetting`).
    Named,
}

/// A WMI class of the bridge.
#[derive(Debug)]
pub struct ClassSpec {
    /// The class name.
    pub name: &'static str,
    /// Its key properties.
    pub keys: &'static [&'static str],
    /// It holds the enrolled user's data: every command needs impersonation.
    pub user: bool,
    /// Also served by the Windows 10/11 bridge (the `Win32_*` classes).
    pub win10: bool,
    /// How its instances come about.
    pub kind: Kind,
    /// Its methods (`…/Exec=<Method>`).
    pub methods: &'static [&'static str],
    /// For [`Kind::Named`] classes: the property holding the value.
    pub value_property: Option<&'static str>,
}

const fn class(
    name: &'static str,
    keys: &'static [&'static str],
    user: bool,
    win10: bool,
    kind: Kind,
    methods: &'static [&'static str],
) -> ClassSpec {
    ClassSpec {
        name,
        keys,
        user,
        win10,
        kind,
        methods,
        value_property: None,
    }
}

/// Every class served, in the order `./cimv2` lists them.
pub static CLASSES: &[ClassSpec] = &[
    class(
        "Win32_OperatingSystem",
        &["Name"],
        false,
        true,
        Kind::Computed,
        &[],
    ),
    class(
        "Win32_ComputerSystem",
        &["Name"],
        false,
        true,
        Kind::Computed,
        &[],
    ),
    class(
        "Win32_BIOS",
        &[
            "Name",
            "SoftwareElementID",
            "SoftwareElementState",
            "TargetOperatingSystem",
            "Version",
        ],
        false,
        true,
        Kind::Computed,
        &[],
    ),
    class(
        "Win32_ComputerSystemProduct",
        &["IdentifyingNumber", "Name", "Version"],
        false,
        true,
        Kind::Computed,
        &[],
    ),
    class(
        "Win32_Processor",
        &["DeviceID"],
        false,
        true,
        Kind::Computed,
        &[],
    ),
    class(
        "Win32_LogicalDisk",
        &["DeviceID"],
        false,
        true,
        Kind::Computed,
        &[],
    ),
    class(
        "Win32_NetworkAdapter",
        &["DeviceID"],
        false,
        true,
        Kind::Computed,
        &[],
    ),
    class(
        "MDM_Client",
        &["DeviceClientID"],
        false,
        false,
        Kind::Computed,
        &[
            "ResetUserPassword",
            "SendUnenrollRequest",
            "LockWorkstation",
        ],
    ),
    class(
        "MDM_SecurityStatus",
        &["Key"],
        false,
        false,
        Kind::Computed,
        &[],
    ),
    class(
        "MDM_WNSConfiguration",
        &["AppId"],
        true,
        false,
        Kind::Computed,
        &["UpdateConfiguration"],
    ),
    class(
        "MDM_WNSChannel",
        &["AppId"],
        true,
        false,
        Kind::Computed,
        &[],
    ),
    class(
        "MDM_AppInstallJob",
        &["JobID"],
        true,
        false,
        Kind::Computed,
        &["CreateJob"],
    ),
    class(
        "MDM_Application",
        &["PackageFullName"],
        true,
        false,
        Kind::Computed,
        &[],
    ),
    class(
        "MDM_EASPolicy",
        &["Key"],
        false,
        false,
        Kind::Singleton("1"),
        &["SetValues"],
    ),
    ClassSpec {
        value_property: Some("SettingValue"),
        ..class(
            "MDM_ConfigSetting",
            &["SettingName"],
            false,
            false,
            Kind::Named,
            &[],
        )
    },
    class(
        "MDM_Restrictions",
        &["Key"],
        false,
        false,
        Kind::Singleton("1"),
        &[],
    ),
    class(
        "MDM_RestrictionsUser",
        &["Key"],
        true,
        false,
        Kind::Singleton("1"),
        &[],
    ),
    class(
        "MDM_Updates",
        &["Key"],
        false,
        false,
        Kind::Singleton("1"),
        &[],
    ),
    class(
        "MDM_BrowserSettings",
        &["Key"],
        true,
        false,
        Kind::Singleton("1"),
        &[],
    ),
    class(
        "MDM_BrowserSecurityZones",
        &["Key"],
        true,
        false,
        Kind::Singleton("1"),
        &[],
    ),
];

/// The classes served on `platform`.
pub fn all(platform: WindowsRelease) -> impl Iterator<Item = &'static ClassSpec> {
    CLASSES
        .iter()
        .filter(move |c| platform == WindowsRelease::Windows81 || c.win10)
}

/// The class named `name` (any case) on `platform`.
pub fn find(name: &str, platform: WindowsRelease) -> Option<&'static ClassSpec> {
    all(platform).find(|c| c.name.eq_ignore_ascii_case(name))
}

/// Key values as addressed in a URI, unquoted; empty for `Class=@`.
pub type Keys = Vec<(String, String)>;

/// Parses `Class.Key="value",Other=3` (or `Class=@`) for class `class`; `None` when the segment
/// names another class or is malformed.
pub fn parse_instance(segment: &str, class: &str) -> Option<Keys> {
    let head = segment.get(..class.len())?;
    if !head.eq_ignore_ascii_case(class) {
        return None;
    }
    let rest = &segment[class.len()..];
    if rest == "=@" {
        return Some(Vec::new());
    }
    let mut rest = rest.strip_prefix('.')?;
    let mut keys = Vec::new();
    loop {
        let (name, after) = rest.split_once('=')?;
        if name.is_empty() {
            return None;
        }
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next()? {
                    (_, '\\') => value.push(chars.next()?.1),
                    (i, '"') => break i + 1,
                    (_, c) => value.push(c),
                }
            };
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].to_owned(), &after[end..])
        };
        keys.push((name.to_owned(), value));
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None if after.is_empty() => return Some(keys),
            None => return None,
        }
    }
}

/// One property of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: NodeValue,
    /// Whether Replace may change it.
    pub writable: bool,
}

/// An instance: its keys and properties (keys included, read-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Key values, in the class's key order.
    pub keys: Vec<(&'static str, NodeValue)>,
    /// Properties.
    pub props: Vec<Prop>,
}

impl Instance {
    pub(super) fn new(class: &ClassSpec, keys: Vec<NodeValue>) -> Self {
        let keys: Vec<(&'static str, NodeValue)> = class.keys.iter().copied().zip(keys).collect();
        let props = keys
            .iter()
            .map(|(k, v)| Prop {
                name: (*k).to_owned(),
                value: v.clone(),
                writable: false,
            })
            .collect();
        Self { keys, props }
    }

    pub(super) fn with(mut self, name: &str, value: NodeValue) -> Self {
        self.props.push(Prop {
            name: name.to_owned(),
            value,
            writable: false,
        });
        self
    }

    pub(super) fn with_writable(mut self, name: &str, value: NodeValue) -> Self {
        self.props.push(Prop {
            name: name.to_owned(),
            value,
            writable: true,
        });
        self
    }

    /// An instance of a [`Kind::Named`] class made from the keys of a URI (all keys given).
    pub fn from_keys(class: &ClassSpec, keys: &Keys) -> Option<Self> {
        let values: Option<Vec<NodeValue>> = class
            .keys
            .iter()
            .map(|k| {
                keys.iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(k))
                    .map(|(_, v)| chr(v.clone()))
            })
            .collect();
        let values = values?;
        (keys.len() == class.keys.len()).then(|| Self::new(class, values))
    }

    /// The relative instance path as WMI writes it: `Class.Key="v",Num=3` (not escaped).
    pub fn path(&self, class: &ClassSpec) -> String {
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|(k, v)| {
                if v.format == "int" {
                    format!("{k}={}", v.data)
                } else {
                    format!(
                        "{k}=\"{}\"",
                        v.data.replace('\\', "\\\\").replace('"', "\\\"")
                    )
                }
            })
            .collect();
        format!("{}.{}", class.name, keys.join(","))
    }

    /// Whether the keys of a URI name this instance (`Class=@` names any; a subset of the keys
    /// is enough; string values compare case-insensitively, as WMI does).
    pub fn matches(&self, keys: &Keys) -> bool {
        keys.iter().all(|(name, value)| {
            self.keys
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(name) && v.data.eq_ignore_ascii_case(value))
        })
    }

    /// A property by name (any case).
    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.props
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// `./cimv2/<Class>/<instance path>`: where the values written to an instance are kept.
pub fn instance_uri(class: &ClassSpec, instance: &Instance) -> String {
    format!("./cimv2/{}/{}", class.name, instance.path(class))
}

/// The settings key of a property.
pub fn setting_key(class: &ClassSpec, instance: &Instance, prop: &str) -> String {
    format!("{}/{prop}", instance_uri(class, instance))
}

/// The instances of `class`, with the values the server wrote laid over them.
pub fn instances(class: &ClassSpec, env: &TreeEnv<'_>, state: &AgentState) -> Vec<Instance> {
    let mut list = match class.kind {
        Kind::Computed => computed(class, env, state),
        Kind::Singleton(key) => vec![Instance::new(class, vec![chr(key)])],
        Kind::Named => named(class, state),
    };
    for inst in &mut list {
        let prefix = format!("{}/", instance_uri(class, inst));
        for (key, value) in state.tree.settings.range(prefix.clone()..) {
            let Some(name) = key.strip_prefix(&prefix) else {
                break;
            };
            match inst.props.iter_mut().find(|p| p.name == name) {
                Some(p) => p.value = value.clone(),
                None => inst.props.push(Prop {
                    name: name.to_owned(),
                    value: value.clone(),
                    writable: true,
                }),
            }
        }
    }
    list
}

/// Instances of a Named class: those the server wrote.
fn named(class: &ClassSpec, state: &AgentState) -> Vec<Instance> {
    let prefix = format!("./cimv2/{}/", class.name);
    let mut list: Vec<Instance> = Vec::new();
    for key in state.tree.settings.keys() {
        let Some(rest) = key.strip_prefix(&prefix) else {
            continue;
        };
        let Some((segment, _)) = rest.rsplit_once('/') else {
            continue;
        };
        let Some(inst) =
            parse_instance(segment, class.name).and_then(|k| Instance::from_keys(class, &k))
        else {
            continue;
        };
        if !list.contains(&inst) {
            list.push(inst);
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_paths_parse_quoted_bare_and_singleton() {
        assert_eq!(
            parse_instance("MDM_Client.DeviceClientID=\"AB\"", "MDM_Client"),
            Some(vec![("DeviceClientID".into(), "AB".into())])
        );
        assert_eq!(
            parse_instance("mdm_client.DeviceClientID=AB", "MDM_Client"),
            Some(vec![("DeviceClientID".into(), "AB".into())])
        );
        assert_eq!(
            parse_instance(
                "Win32_BIOS.Name=\"a,b\",SoftwareElementState=3",
                "Win32_BIOS"
            ),
            Some(vec![
                ("Name".into(), "a,b".into()),
                ("SoftwareElementState".into(), "3".into())
            ])
        );
        assert_eq!(parse_instance("MDM_Updates=@", "MDM_Updates"), Some(vec![]));
        assert_eq!(parse_instance("MDM_Other.Key=1", "MDM_Client"), None);
        assert_eq!(parse_instance("MDM_Client.Key=\"1", "MDM_Client"), None);
    }
}
