//! The Windows generation a device enrolled as — the one `Platform` every crate shares
//! (enrollment decides it from the request, the session core and the catalog act on it, storage
//! keeps it, the simulator plays it). Windows 10 and 11 speak the same protocols (MS-MDE2,
//! CSPs, the LoginStatus alert) and are one platform here; the simulator's device models tell
//! them apart where their behaviour differs.

use serde::{Deserialize, Serialize};

/// The protocol family of a device.
///
/// Named in the API and in storage by [`Platform::as_str`] (`windows-8.1`, `windows-10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Platform {
    /// Windows 8.1: MS-MDE (Federated only), MDMAgent.exe, the WMI bridge, `Registry`
    /// characteristics in the provisioning document, no LoginStatus alert.
    #[serde(rename = "windows-8.1", alias = "windows81")]
    Windows81,
    /// Windows 10 and 11: MS-MDE2 (OnPremise, Federated, Certificate; EnrollmentVersion
    /// negotiation), CSPs, DMClient in the provisioning document, the LoginStatus alert.
    #[serde(rename = "windows-10", alias = "windows10")]
    Windows10,
}

impl Platform {
    /// Both platforms.
    pub const ALL: [Platform; 2] = [Platform::Windows81, Platform::Windows10];

    /// The name in the API and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Windows81 => "windows-8.1",
            Self::Windows10 => "windows-10",
        }
    }

    /// The platform for its name ([`Self::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serde_uses_them() {
        for p in Platform::ALL {
            assert_eq!(Platform::from_name(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert_eq!(Platform::from_name("windows-11"), None);
    }

    #[test]
    fn state_written_by_earlier_builds_still_reads() {
        // The session core's serialized state used the variant names in kebab case.
        let p: Platform = serde_json::from_str("\"windows81\"").unwrap();
        assert_eq!(p, Platform::Windows81);
        let p: Platform = serde_json::from_str("\"windows10\"").unwrap();
        assert_eq!(p, Platform::Windows10);
    }
}
