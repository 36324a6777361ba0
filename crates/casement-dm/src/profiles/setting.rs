//! What a profile is made of.

use serde::{Deserialize, Serialize};

/// Whom a profile's settings apply to. A user profile's nodes are `./User/…` (Windows 10/11);
/// they need the enrolled user signed in (docs/product.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileScope {
    /// The device: `./Device/…`, `./Vendor/…` (implicitly the device) and Windows 8.1's
    /// `./cimv2/…` WMI-bridge properties.
    Device,
    /// The enrolled user: `./User/…`.
    User,
}

impl ProfileScope {
    /// The name in the API and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::User => "user",
        }
    }

    /// The scope for its name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "device" => Some(Self::Device),
            "user" => Some(Self::User),
            _ => None,
        }
    }
}

/// A node's `Meta/Format` ([MS-MDM] §2.2.7: the OMA-DM formats Windows accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A signed 32-bit integer.
    Int,
    /// `true` or `false`.
    Bool,
    /// Text.
    Chr,
    /// Base64.
    B64,
    /// An XML document or fragment.
    Xml,
    /// A decimal number.
    Float,
    /// An ISO 8601 date.
    Date,
    /// No value (the node's existence is the setting).
    Null,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 8] = [
        Format::Int,
        Format::Bool,
        Format::Chr,
        Format::B64,
        Format::Xml,
        Format::Float,
        Format::Date,
        Format::Null,
    ];

    /// The name on the wire (`<Format xmlns="syncml:metinf">int</Format>`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Bool => "bool",
            Self::Chr => "chr",
            Self::B64 => "b64",
            Self::Xml => "xml",
            Self::Float => "float",
            Self::Date => "date",
            Self::Null => "null",
        }
    }

    /// The format for its wire name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// What unassigning a profile does to one of its nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Removal {
    /// `Delete` the node (the CSP restores its default). A CSP that refuses (405) leaves the
    /// setting on the device, which is shown as `left on device`.
    Delete,
    /// `Replace` the node with this value.
    Restore(String),
    /// Leave the value on the device.
    Leave,
}

/// One setting: a node, its format, the desired value and what removal does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Setting {
    /// The node: `./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera`,
    /// `./User/Vendor/MSFT/…`, or on Windows 8.1 a WMI-bridge property
    /// `./cimv2/MDM_ConfigSetting/MDM_ConfigSetting.SettingName=%22X%22/SettingValue`.
    pub loc_uri: String,
    /// Its format.
    pub format: Format,
    /// Its `Meta/Type`, if any (`text/plain`, a MIME type for xml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// The desired value, variables (`$DEVICE_ID`, …) not yet expanded. Empty for `null`.
    #[serde(default)]
    pub value: String,
    /// What unassigning does.
    #[serde(default = "default_removal")]
    pub removal: Removal,
}

fn default_removal() -> Removal {
    Removal::Delete
}

/// True for a Windows 8.1 WMI-bridge path (`./cimv2/…`).
pub fn is_wmi_bridge(loc_uri: &str) -> bool {
    loc_uri.starts_with("./cimv2/")
}

/// True for a `./User/…` node.
pub fn is_user_node(loc_uri: &str) -> bool {
    loc_uri.starts_with("./User/")
}
