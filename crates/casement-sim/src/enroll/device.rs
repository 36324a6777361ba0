//! What a simulated device is: its Windows version, how it authenticates, its hardware, and
//! the random identities new devices get.

use casement_enroll::EnrollmentVersion;
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

/// The Windows release a simulated device runs: a device model, finer than the protocol
/// [`casement_enroll::Platform`] it speaks (Windows 10 and 11 differ in RequestVersion and
/// client details, not in protocol); [`Self::protocol`] maps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowsRelease {
    /// Windows 8.1 (MS-MDE): Federated only, MDMAgent.exe.
    Windows81,
    /// Windows 10 (MS-MDE2), modelled on the real 21H1 build 19043.2364: RequestVersion 4.0.
    Windows10,
    /// Windows 11 (MS-MDE2), 22H2 build 22621: RequestVersion 6.0.
    Windows11,
}

impl WindowsRelease {
    /// The platform the server sees.
    pub fn protocol(self) -> casement_enroll::Platform {
        match self {
            WindowsRelease::Windows81 => casement_enroll::Platform::Windows81,
            WindowsRelease::Windows10 | WindowsRelease::Windows11 => {
                casement_enroll::Platform::Windows10
            }
        }
    }

    /// The enrollment client's `User-Agent`: `ENROLLClient` (real Windows 10); `Windows
    /// Enrollment Client` for 8.1 (windows-itpro-docs samples; no 8.1 capture exists).
    pub fn user_agent(self) -> &'static str {
        match self {
            WindowsRelease::Windows81 => "Windows Enrollment Client",
            WindowsRelease::Windows10 | WindowsRelease::Windows11 => "ENROLLClient",
        }
    }

    /// The `User-Agent` of the web authentication broker showing the sign-in page (inferred:
    /// the IE 11 engine's string on that Windows version).
    pub fn browser_user_agent(self) -> &'static str {
        match self {
            WindowsRelease::Windows81 => {
                "Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko"
            }
            WindowsRelease::Windows10 | WindowsRelease::Windows11 => {
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko"
            }
        }
    }

    /// Discover's `RequestVersion`: none for 8.1 (sent empty), 4.0 for Windows 10 19043, 6.0
    /// for Windows 11 22621 (docs/protocol.md §1.7).
    pub fn request_version(self) -> Option<EnrollmentVersion> {
        match self {
            WindowsRelease::Windows81 => None,
            WindowsRelease::Windows10 => Some(EnrollmentVersion::V4_0),
            WindowsRelease::Windows11 => Some(EnrollmentVersion::new(6, 0)),
        }
    }

    /// The OS build a new simulated device reports (`OSVersion`, `ApplicationVersion`).
    pub fn default_os_version(self) -> &'static str {
        match self {
            // Windows 8.1 with Update (KB 2919355); ResetUserPassword needs 8.1 Update.
            WindowsRelease::Windows81 => "6.3.9600.17031",
            WindowsRelease::Windows10 => "10.0.19043.2364",
            WindowsRelease::Windows11 => "10.0.22621.1702",
        }
    }
}

/// Which authentication the simulated enrollment uses.
///
/// A Windows 10/11 device always offers OnPremise and Federated in Discover and follows the
/// server's choice; [`AuthMode::Federated`] / [`AuthMode::OnPremise`] additionally require the
/// server to choose that one (a test asserting a flow). Windows 8.1 is always Federated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Whatever the server chooses among OnPremise and Federated (a real device).
    #[default]
    Any,
    /// Federated: the sign-in page of the server's STS.
    Federated,
    /// OnPremise: user name and password in a `wsse:UsernameToken`.
    OnPremise,
}

/// What the device reports about itself beyond its id and name (RST AdditionalContext, later
/// DevInfo/DevDetail in management sessions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hardware {
    /// `HWDevID`: 64 upper-case hex digits.
    pub hw_dev_id: String,
    /// `MAC` values, `00-0C-29-51-60-9D` style, one per adapter.
    pub macs: Vec<String>,
    /// `IMEI` of a built-in modem, if any.
    pub imei: Option<String>,
    /// The OS build (`10.0.19043.2364`).
    pub os_version: String,
    /// `OSEdition` (MS-MDE2 §2.2.9.6): 48 Professional, 4 Enterprise, 72 Enterprise Evaluation.
    pub os_edition: u32,
    /// `Locale` (`en-US`).
    pub locale: String,
}

impl Hardware {
    /// A random desktop of `platform`: random HWDevID, two MACs with the VMware OUI (as in the
    /// real capture), the platform's default build, Professional edition, `en-US`, no modem.
    pub fn random<R: RngCore + ?Sized>(platform: WindowsRelease, rng: &mut R) -> Hardware {
        let mut mac = || {
            let mut b = [0u8; 3];
            rng.fill_bytes(&mut b);
            format!("00-0C-29-{:02X}-{:02X}-{:02X}", b[0], b[1], b[2])
        };
        let macs = vec![mac(), mac()];
        Hardware {
            hw_dev_id: random_hex(rng, 32),
            macs,
            imei: None,
            os_version: platform.default_os_version().to_owned(),
            os_edition: 48,
            locale: "en-US".to_owned(),
        }
    }
}

/// A random MDM device id as Windows 10 makes them: 32 upper-case hex digits.
pub fn random_device_id<R: RngCore + ?Sized>(rng: &mut R) -> String {
    random_hex(rng, 16)
}

/// A random computer name: `DESKTOP-XXXXXXX` (Windows 10/11 setup) or `WIN-XXXXXXXXXXX`
/// (Windows 8.1 setup).
pub fn random_device_name<R: RngCore + ?Sized>(platform: WindowsRelease, rng: &mut R) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let (prefix, len) = match platform {
        WindowsRelease::Windows81 => ("WIN-", 11),
        WindowsRelease::Windows10 | WindowsRelease::Windows11 => ("DESKTOP-", 7),
    };
    let suffix: String = (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

fn random_hex<R: RngCore + ?Sized>(rng: &mut R, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_identities_have_the_windows_shapes() {
        let rng = &mut rand::rng();
        let id = random_device_id(rng);
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
        let name = random_device_name(WindowsRelease::Windows10, rng);
        assert!(name.starts_with("DESKTOP-") && name.len() == 15, "{name}");
        assert!(random_device_name(WindowsRelease::Windows81, rng).starts_with("WIN-"));
        let hw = Hardware::random(WindowsRelease::Windows11, rng);
        assert_eq!(hw.hw_dev_id.len(), 64);
        assert_eq!(hw.macs.len(), 2);
        assert_eq!(hw.os_version, "10.0.22621.1702");
    }
}
