//! `ac:AdditionalContext` of the RST: what the device says about itself (MS-MDE2
//! §3.4.4.1.1.1.1 lists the items).

use crate::platform::DeviceType;

/// `ac:AdditionalContext`: the `ContextItem` name/value pairs in document order. Names repeat
/// (`MAC`, `IMEI`), so this is a list, not a map. Name lookups are ASCII case-insensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdditionalContext {
    pub(super) items: Vec<(String, String)>,
}

impl AdditionalContext {
    /// Builds a context from pairs (tests, simulators).
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> AdditionalContext {
        AdditionalContext {
            items: pairs
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        }
    }

    /// All items in document order.
    pub fn items(&self) -> impl Iterator<Item = (&str, &str)> {
        self.items.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.items
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `DeviceID`: the client's MDM device id (Windows 10: 32 hex digits, also in the CSR).
    pub fn device_id(&self) -> Option<&str> {
        self.get("DeviceID")
    }

    /// `HWDevID`: hardware id (64 hex digits).
    pub fn hw_dev_id(&self) -> Option<&str> {
        self.get("HWDevID")
    }

    /// `OSVersion`, e.g. `10.0.19043.2364`.
    pub fn os_version(&self) -> Option<&str> {
        self.get("OSVersion")
    }

    /// `OSEdition` as a number (MS-MDE2 §2.2.9.6); `None` when absent or not a number.
    pub fn os_edition(&self) -> Option<u32> {
        self.get("OSEdition")?.trim().parse().ok()
    }

    /// `DeviceType` (`CIMClient_Windows` is the only item MS-MDE requires).
    pub fn device_type(&self) -> Option<DeviceType> {
        self.get("DeviceType").map(DeviceType::parse)
    }

    /// `DeviceName` (the computer name).
    pub fn device_name(&self) -> Option<&str> {
        self.get("DeviceName")
    }

    /// `ApplicationVersion` (Windows 10: the OS build; Windows 8.1 on-behalf-of: `8.0.0.0`).
    pub fn application_version(&self) -> Option<&str> {
        self.get("ApplicationVersion")
    }

    /// `EnrollmentType`: `Full` (user enrollment) or `Device`.
    pub fn enrollment_type(&self) -> Option<&str> {
        self.get("EnrollmentType")
    }

    /// `EnrollmentOnBehalfOfUser`: the UPN of the user an on-behalf-of request enrolls for.
    pub fn enrollment_on_behalf_of_user(&self) -> Option<&str> {
        self.get("EnrollmentOnBehalfOfUser")
    }

    /// Every `MAC` value, in order (duplicates kept as sent).
    pub fn macs(&self) -> Vec<&str> {
        self.get_all("MAC").collect()
    }
}
