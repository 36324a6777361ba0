//! Small parsed value types shared by several messages: the client platform, the enrollment
//! protocol version, the device type and the authentication policy.

use std::fmt;
use std::str::FromStr;

use crate::error::{EnrollError, clip};

/// The Windows family a request comes from, which decides the response shapes and the
/// provisioning document: Windows 8.1 is MS-MDE (v1: Federated only, no EnrollmentVersion,
/// `Registry` characteristics), Windows 10 and 11 are MS-MDE2 (OnPremise/Federated/Certificate,
/// EnrollmentVersion negotiation, DMClient CSP).
///
/// Detection rules (documented where they are implemented):
/// - Discover: [`crate::DiscoverRequest::platform`];
/// - RequestSecurityToken: [`crate::RstRequest::platform`].
pub use casement_platform::Platform;

/// An MS-MDE2 `RequestVersion` / `EnrollmentVersion` (`xsd:decimal`, in practice `3.0` … `7.0`),
/// kept in hundredths so that it orders numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnrollmentVersion(u32);

impl EnrollmentVersion {
    /// 3.0: Windows 10 RTM (MS-MDE2 App. B; windows-itpro-docs samples "Updated in Windows 10").
    pub const V3_0: EnrollmentVersion = EnrollmentVersion(300);
    /// 4.0: Windows 10 1703+. What the real Windows 10 19043 in `win10/01` asked for and got.
    pub const V4_0: EnrollmentVersion = EnrollmentVersion(400);
    /// 5.0: Windows 11 2022-10C / Windows 10 2004 2023-1C; adds AIK attestation context items.
    pub const V5_0: EnrollmentVersion = EnrollmentVersion(500);

    /// Builds `major.minor` where minor is one decimal digit (`4, 0` → 4.0).
    pub const fn new(major: u16, tenths: u8) -> EnrollmentVersion {
        EnrollmentVersion(major as u32 * 100 + (tenths as u32 % 10) * 10)
    }

    /// The integer part.
    pub fn major(self) -> u32 {
        self.0 / 100
    }
}

impl FromStr for EnrollmentVersion {
    type Err = EnrollError;

    /// Parses `4`, `4.0`, `4.00`, ` 4.0 ` (digits only; at most two significant decimals).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || EnrollError::BadValue {
            path: "RequestVersion",
            value: clip(s),
        };
        let t = s.trim();
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty() || int.len() > 4 || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || (t.contains('.') && frac.is_empty()) {
            return Err(bad());
        }
        let (significant, rest) = frac.split_at(frac.len().min(2));
        if rest.bytes().any(|b| b != b'0') {
            return Err(bad());
        }
        let major: u32 = int.parse().map_err(|_| bad())?;
        let mut hundredths: u32 = significant.parse().unwrap_or(0);
        if significant.len() == 1 {
            hundredths *= 10;
        }
        Ok(EnrollmentVersion(major * 100 + hundredths))
    }
}

impl fmt::Display for EnrollmentVersion {
    /// `4.0`, `4.5`, `4.25`: always with a fractional part, as Windows sends it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (major, frac) = (self.0 / 100, self.0 % 100);
        if frac % 10 == 0 {
            write!(f, "{major}.{}", frac / 10)
        } else {
            write!(f, "{major}.{frac:02}")
        }
    }
}

/// `DeviceType` of Discover (MS-MDE2 §3.1.4.1.3.1) and of the RST AdditionalContext.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceType {
    /// `CIMClient_Windows`: Windows desktop (8.1, 10, 11).
    CimClientWindows,
    /// `WindowsPhone`: Windows Phone 8.x / Windows 10 Mobile.
    WindowsPhone,
    /// `WindowsHandheld` (RST only, MS-MDE2 §3.4.4.1.1.1.1).
    WindowsHandheld,
    /// Anything else, kept verbatim.
    Other(String),
}

impl DeviceType {
    /// Parses the wire value (exact, after trimming).
    pub fn parse(value: &str) -> DeviceType {
        match value.trim() {
            "CIMClient_Windows" => DeviceType::CimClientWindows,
            "WindowsPhone" => DeviceType::WindowsPhone,
            "WindowsHandheld" => DeviceType::WindowsHandheld,
            other => DeviceType::Other(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            DeviceType::CimClientWindows => "CIMClient_Windows",
            DeviceType::WindowsPhone => "WindowsPhone",
            DeviceType::WindowsHandheld => "WindowsHandheld",
            DeviceType::Other(s) => s,
        }
    }
}

/// `AuthPolicy` (MS-MDE2 §3.1.4.1.3.1/2: "MUST be set to Federated, Certificate, or OnPremise").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthPolicy {
    /// The client sends user name and password in a `wsse:UsernameToken`.
    OnPremise,
    /// The client gets a token from the STS page (`AuthenticationServiceUrl`) and sends it as a
    /// `DeviceEnrollmentUserToken`. The only policy of MS-MDE (Windows 8.1).
    Federated,
    /// The client authenticates with an existing certificate and a signed Timestamp.
    Certificate,
}

impl AuthPolicy {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthPolicy::OnPremise => "OnPremise",
            AuthPolicy::Federated => "Federated",
            AuthPolicy::Certificate => "Certificate",
        }
    }

    /// Parses a wire value (exact, after trimming); `None` for an unknown policy.
    pub fn parse(value: &str) -> Option<AuthPolicy> {
        match value.trim() {
            "OnPremise" => Some(AuthPolicy::OnPremise),
            "Federated" => Some(AuthPolicy::Federated),
            "Certificate" => Some(AuthPolicy::Certificate),
            _ => None,
        }
    }
}

impl fmt::Display for AuthPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses the major number of a dotted version (`10.0.19043.2364` → 10).
pub(crate) fn dotted_major(value: &str) -> Option<u32> {
    value.trim().split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_order_and_print() {
        let v = |s: &str| s.parse::<EnrollmentVersion>().unwrap();
        assert_eq!(v("4.0"), EnrollmentVersion::V4_0);
        assert_eq!(v(" 4 "), EnrollmentVersion::V4_0);
        assert_eq!(v("4.00"), EnrollmentVersion::V4_0);
        assert!(v("4.25") < v("4.5"));
        assert!(v("3.0") < v("10.0"));
        assert_eq!(v("6.0").to_string(), "6.0");
        assert_eq!(v("4.25").to_string(), "4.25");
        for bad in ["", ".", "4.", "x", "-1", "4.001", "1e3", "12345"] {
            assert!(bad.parse::<EnrollmentVersion>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "4.000".parse::<EnrollmentVersion>().unwrap(),
            EnrollmentVersion::V4_0
        );
    }
}
