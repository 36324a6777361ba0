//! Node values, LocURI handling and the read-only nodes both trees share (`./DevInfo`,
//! `./DevDetail`), with the facts of the simulated hardware they report.

use casement_dm::device::NodeValue;
use casement_syncml::{Data, StatusCode};
use sha1::{Digest, Sha1};

use super::clock::rfc3339;
use super::tree::TreeEnv;
use crate::enroll::WindowsRelease;
use crate::state::EnrolledDevice;

/// A `chr` value.
pub fn chr(value: impl Into<String>) -> NodeValue {
    NodeValue {
        format: "chr".into(),
        data: value.into(),
    }
}

/// An `int` value.
pub fn int(value: impl std::fmt::Display) -> NodeValue {
    NodeValue {
        format: "int".into(),
        data: value.to_string(),
    }
}

/// A `bool` value (`true` / `false`).
pub fn boolean(value: bool) -> NodeValue {
    NodeValue {
        format: "bool".into(),
        data: value.to_string(),
    }
}

/// An interior node's value: its children's names, `/`-separated.
pub fn node_list<I, S>(children: I) -> NodeValue
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let names: Vec<String> = children
        .into_iter()
        .map(|c| c.as_ref().to_owned())
        .collect();
    NodeValue {
        format: "node".into(),
        data: names.join("/"),
    }
}

/// A value written by the server, stored with the format its text suggests.
pub fn stored(data: Option<&Data>) -> NodeValue {
    let text = data.map(|d| d.as_str().to_owned()).unwrap_or_default();
    if matches!(data, Some(Data::Xml(_))) {
        return NodeValue {
            format: "xml".into(),
            data: text,
        };
    }
    let is_int = !text.is_empty()
        && text.len() < 19
        && text
            .strip_prefix('-')
            .unwrap_or(&text)
            .bytes()
            .all(|b| b.is_ascii_digit());
    if is_int {
        int(text)
    } else if text == "true" || text == "false" {
        NodeValue {
            format: "bool".into(),
            data: text,
        }
    } else {
        chr(text)
    }
}

/// Percent-decodes one URI segment (invalid UTF-8 is replaced).
pub fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// Characters escaped in node names of node lists (CSP interior nodes).
const NODE_NAME: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b'@')
    .remove(b':');

/// Percent-encodes a node name for a node list ("child names URI-encoded", ITPRO).
pub fn encode(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, NODE_NAME).to_string()
}

/// Splits `./A/B/C` into its decoded segments (`A`, `B`, `C`); `None` for a URI that does not
/// start with `./` or has an empty segment. A trailing `/` is ignored.
pub fn segments(uri: &str) -> Option<Vec<String>> {
    let rest = uri.trim().strip_prefix("./")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return None;
    }
    let raw: Vec<&str> = rest.split('/').collect();
    if raw.iter().any(|s| s.is_empty()) {
        return None;
    }
    Some(raw.into_iter().map(decode).collect())
}

/// `Name=value` method data: `(Some(name), value)` when the text before the first `=` is an
/// identifier, else `(None, whole text)`.
pub fn named_value(data: &str) -> (Option<&str>, &str) {
    if let Some((name, value)) = data.split_once('=')
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return (Some(name), value);
    }
    (None, data)
}

/// The value of a method's single parameter `param`: `param=value` or a bare value; a different
/// parameter name is a bad request.
pub fn method_param(data: Option<&Data>, param: &str) -> Result<String, StatusCode> {
    let text = data.map(Data::as_str).unwrap_or_default();
    match named_value(text) {
        (Some(name), value) if name.eq_ignore_ascii_case(param) => Ok(value.to_owned()),
        (Some(_), _) => Err(StatusCode::BadRequest),
        (None, value) => Ok(value.to_owned()),
    }
}

/// Read-only leaves by full URI, in order; interior nodes are implied by the paths.
#[derive(Debug, Default)]
pub struct LeafTable(pub Vec<(String, NodeValue)>);

impl LeafTable {
    /// Adds a leaf.
    pub fn leaf(&mut self, uri: impl Into<String>, value: NodeValue) {
        self.0.push((uri.into(), value));
    }

    /// A leaf's value, or an interior node's children (case-insensitive, like Windows);
    /// `None` when the URI names neither.
    pub fn get(&self, uri: &str) -> Option<NodeValue> {
        let uri = uri.trim().trim_end_matches('/');
        if let Some((_, value)) = self.0.iter().find(|(u, _)| u.eq_ignore_ascii_case(uri)) {
            return Some(value.clone());
        }
        let prefix = format!("{}/", uri.to_ascii_lowercase());
        let mut children: Vec<&str> = Vec::new();
        for (u, _) in &self.0 {
            let lower = u.to_ascii_lowercase();
            if lower.starts_with(&prefix) {
                let child = &u[prefix.len()..];
                let child = child.split('/').next().unwrap_or(child);
                if !children.contains(&child) {
                    children.push(child);
                }
            }
        }
        (!children.is_empty()).then(|| node_list(children))
    }

    /// Whether the URI names a leaf or interior node of the table.
    pub fn contains(&self, uri: &str) -> bool {
        self.get(uri).is_some()
    }
}

/// Facts about the simulated hardware and OS, derived from the enrolled device.
#[derive(Debug, Clone)]
pub struct Facts {
    /// `VMware, Inc.` (the real capture's hardware).
    pub manufacturer: &'static str,
    /// `VMware7,1`.
    pub model: &'static str,
    /// BIOS version.
    pub firmware: &'static str,
    /// BIOS serial number, derived from the HWDevID.
    pub serial: String,
    /// `Microsoft Windows 8.1 Pro`, `Microsoft Windows 10 Pro`, …
    pub os_caption: String,
    /// `6.3.9600`, `10.0.19043`.
    pub os_version: String,
    /// `9600`, `19043`.
    pub build: String,
    /// Full build `6.3.9600.17031`.
    pub os_full_version: String,
    /// Memory in MB.
    pub ram_mb: u64,
    /// System disk size in MB.
    pub disk_mb: u64,
    /// Processor name.
    pub processor: &'static str,
}

impl Facts {
    /// The facts of `device`.
    pub fn of(device: &EnrolledDevice) -> Self {
        let full = device.hardware.os_version.clone();
        let parts: Vec<&str> = full.split('.').collect();
        let os_version = parts.iter().take(3).copied().collect::<Vec<_>>().join(".");
        let build = parts.get(2).copied().unwrap_or("0").to_owned();
        let product = match device.platform {
            WindowsRelease::Windows81 => "Windows 8.1",
            WindowsRelease::Windows10 => "Windows 10",
            WindowsRelease::Windows11 => "Windows 11",
        };
        let edition = match device.hardware.os_edition {
            4 => "Enterprise",
            72 => "Enterprise Evaluation",
            101 => "Home",
            121 => "Education",
            _ => "Pro",
        };
        let hw = &device.hardware.hw_dev_id;
        let pairs: Vec<&str> = (0..16)
            .filter_map(|i| hw.get(i * 2..i * 2 + 2))
            .map(|s| if s.is_empty() { "00" } else { s })
            .collect();
        let serial = if pairs.len() == 16 {
            format!(
                "VMware-{}-{}",
                pairs[..8].join(" ").to_ascii_lowercase(),
                pairs[8..].join(" ").to_ascii_lowercase()
            )
        } else {
            format!("VMware-{}", hw.to_ascii_lowercase())
        };
        Self {
            manufacturer: "VMware, Inc.",
            model: "VMware7,1",
            firmware: "VMW71.00V.16707776.B64.2008070230",
            serial,
            os_caption: format!("Microsoft {product} {edition}"),
            os_version,
            build,
            os_full_version: full,
            ram_mb: 4096,
            disk_mb: 61_440,
            processor: "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz",
        }
    }
}

/// A stable user SID for the enrolled user of `device_id` (`S-1-5-21-a-b-c-1001`).
pub fn user_sid_for(device_id: &str) -> String {
    let digest = Sha1::digest(device_id.as_bytes());
    let word = |i: usize| {
        u32::from_le_bytes([
            digest[i * 4],
            digest[i * 4 + 1],
            digest[i * 4 + 2],
            digest[i * 4 + 3],
        ])
    };
    format!("S-1-5-21-{}-{}-{}-1001", word(0), word(1), word(2))
}

/// The package-1 `./DevInfo` values, in the order Windows sends them.
pub fn devinfo(device: &EnrolledDevice) -> Vec<(String, String)> {
    let facts = Facts::of(device);
    vec![
        ("./DevInfo/DevId".into(), device.device_id.clone()),
        ("./DevInfo/Man".into(), facts.manufacturer.into()),
        ("./DevInfo/Mod".into(), facts.model.into()),
        ("./DevInfo/DmV".into(), "1.3".into()),
        ("./DevInfo/Lang".into(), device.hardware.locale.clone()),
    ]
}

/// `./DevInfo/*` and `./DevDetail/*` (read-only; both platforms, Windows 10/11 with a few more
/// `Ext` nodes).
pub fn standard_nodes(env: &TreeEnv<'_>) -> LeafTable {
    let device = env.device;
    let facts = Facts::of(device);
    let mut t = LeafTable::default();
    for (uri, value) in devinfo(device) {
        t.leaf(uri, chr(value));
    }
    let d = "./DevDetail";
    t.leaf(format!("{d}/DevTyp"), chr(facts.model));
    t.leaf(format!("{d}/OEM"), chr(facts.manufacturer));
    t.leaf(format!("{d}/FwV"), chr(facts.firmware));
    t.leaf(format!("{d}/SwV"), chr(facts.os_full_version.clone()));
    t.leaf(format!("{d}/HwV"), chr("Version 1.0"));
    t.leaf(format!("{d}/LrgObj"), boolean(false));
    t.leaf(format!("{d}/URI/MaxDepth"), int(32));
    t.leaf(format!("{d}/URI/MaxTotLen"), int(1024));
    t.leaf(format!("{d}/URI/MaxSegLen"), int(127));
    let m = format!("{d}/Ext/Microsoft");
    t.leaf(format!("{m}/MobileID"), chr("Not Present"));
    t.leaf(format!("{m}/RadioSwV"), chr("Not Present"));
    t.leaf(format!("{m}/Resolution"), chr("1920x1080"));
    t.leaf(format!("{m}/CommercializationOperator"), chr("Not Present"));
    t.leaf(format!("{m}/ProcessorArchitecture"), int(9));
    t.leaf(format!("{m}/ProcessorType"), int(8664));
    t.leaf(
        format!("{m}/OSPlatform"),
        chr(facts.os_caption.trim_start_matches("Microsoft ").to_owned()),
    );
    t.leaf(format!("{m}/LocalTime"), chr(rfc3339(env.now)));
    t.leaf(format!("{m}/DeviceName"), chr(device.device_name.clone()));
    t.leaf(format!("{m}/TotalStorage"), int(facts.disk_mb));
    t.leaf(format!("{m}/TotalRAM"), int(facts.ram_mb));
    if device.platform != WindowsRelease::Windows81 {
        t.leaf(
            format!("{m}/DNSComputerName"),
            chr(device.device_name.clone()),
        );
        t.leaf(format!("{m}/SMBIOSSerialNumber"), chr(facts.serial.clone()));
        t.leaf(format!("{m}/OSEdition"), int(device.hardware.os_edition));
    }
    let mac = device
        .hardware
        .macs
        .first()
        .map(|m| m.replace('-', ":"))
        .unwrap_or_default();
    t.leaf(format!("{d}/Ext/WLANMACAddress"), chr(mac));
    t.leaf(format!("{d}/Ext/VoLTEServiceSetting"), chr("Not Present"));
    t.leaf(format!("{d}/Ext/WlanIPv4Address"), chr("Not Present"));
    t.leaf(format!("{d}/Ext/WlanIPv6Address"), chr("Not Present"));
    t.leaf(format!("{d}/Ext/WlanDnsSuffix"), chr("Not Present"));
    t.leaf(format!("{d}/Ext/WlanSubnetMask"), chr("Not Present"));
    t
}

/// The simulated IPv4 address of adapter `index` (for inventories).
pub fn ipv4(index: usize) -> String {
    format!("192.168.56.{}", 101 + index.min(150))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_split_into_decoded_segments() {
        assert_eq!(
            segments("./cimv2/MDM_Client/MDM_Client.DeviceClientID=%22A%22"),
            Some(vec![
                "cimv2".to_owned(),
                "MDM_Client".to_owned(),
                "MDM_Client.DeviceClientID=\"A\"".to_owned()
            ])
        );
        assert_eq!(segments("/DevInfo"), None);
        assert_eq!(segments("./a//b"), None);
        assert_eq!(segments("./DevInfo/"), Some(vec!["DevInfo".to_owned()]));
    }

    #[test]
    fn method_data_is_name_equals_value_or_bare() {
        let d = Data::text("ConfigString=a@b.c;pw=1");
        assert_eq!(
            method_param(Some(&d), "ConfigString").as_deref(),
            Ok("a@b.c;pw=1")
        );
        assert_eq!(
            method_param(Some(&d), "JobData"),
            Err(StatusCode::BadRequest)
        );
        let xml = Data::text("<Job a=\"1\"/>");
        assert_eq!(
            method_param(Some(&xml), "JobData").as_deref(),
            Ok("<Job a=\"1\"/>")
        );
    }

    #[test]
    fn stored_values_guess_their_format() {
        assert_eq!(stored(Some(&Data::text("8"))).format, "int");
        assert_eq!(stored(Some(&Data::text("true"))).format, "bool");
        assert_eq!(stored(Some(&Data::text("abc"))).format, "chr");
        assert_eq!(stored(None).format, "chr");
    }

    #[test]
    fn leaf_tables_answer_interior_nodes_with_their_children() {
        let mut t = LeafTable::default();
        t.leaf("./DevDetail/SwV", chr("1"));
        t.leaf("./DevDetail/URI/MaxDepth", int(32));
        assert_eq!(t.get("./devdetail/swv").unwrap().data, "1");
        let node = t.get("./DevDetail").unwrap();
        assert_eq!(
            (node.format.as_str(), node.data.as_str()),
            ("node", "SwV/URI")
        );
        assert!(t.get("./DevDetail/Nope").is_none());
    }

    #[test]
    fn user_sids_are_stable_per_device() {
        assert_eq!(user_sid_for("A"), user_sid_for("A"));
        assert_ne!(user_sid_for("A"), user_sid_for("B"));
        assert!(user_sid_for("A").starts_with("S-1-5-21-"));
    }

    #[test]
    fn node_names_are_uri_encoded() {
        assert_eq!(encode("{A1}"), "%7BA1%7D");
        assert_eq!(
            encode("Microsoft.App_8wekyb3d8bbwe"),
            "Microsoft.App_8wekyb3d8bbwe"
        );
    }
}
