//! The typed inputs of the provisioning document: certificates and thumbprints, the w7 account
//! values and the platform-specific DM client settings. Values a server could get wrong are
//! parsed ([`ManagementUrl`], [`ProviderId`], [`Thumbprint`]), so the builder cannot fail on them.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{EnrollError, clip};

/// A SHA-1 certificate thumbprint, written as 40 upper-case hex digits (the form the
/// CertificateStore CSP node names and the 8.1 registry values use).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Thumbprint([u8; 20]);

impl Thumbprint {
    /// From the 20 digest bytes.
    pub const fn from_bytes(bytes: [u8; 20]) -> Thumbprint {
        Thumbprint(bytes)
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl FromStr for Thumbprint {
    type Err = EnrollError;

    /// 40 hex digits, either case; spaces and colons between digits are ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || EnrollError::InvalidConfig {
            field: "thumbprint",
            reason: format!("{:?} is not 40 hex digits", clip(s)),
        };
        let digits: Vec<u8> = s.bytes().filter(|b| *b != b' ' && *b != b':').collect();
        if digits.len() != 40 {
            return Err(bad());
        }
        let mut out = [0u8; 20];
        for (slot, pair) in out.iter_mut().zip(digits.chunks(2)) {
            let text = std::str::from_utf8(pair).map_err(|_| bad())?;
            *slot = u8::from_str_radix(text, 16).map_err(|_| bad())?;
        }
        Ok(Thumbprint(out))
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({self})")
    }
}

/// A certificate as the CA hands it over: DER bytes and SHA-1 thumbprint (computed by the CA;
/// this crate does not hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    thumbprint: Thumbprint,
}

impl Certificate {
    /// Pairs DER bytes with their thumbprint. Refuses empty DER.
    pub fn new(der: Vec<u8>, thumbprint: Thumbprint) -> Result<Certificate, EnrollError> {
        if der.is_empty() {
            return Err(EnrollError::InvalidConfig {
                field: "certificate",
                reason: "empty DER".into(),
            });
        }
        Ok(Certificate { der, thumbprint })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The SHA-1 thumbprint.
    pub fn thumbprint(&self) -> Thumbprint {
        self.thumbprint
    }

    pub(crate) fn base64(&self) -> String {
        STANDARD.encode(&self.der)
    }
}

/// The management server URL for `ADDR`: `https://`, no query and no fragment.
///
/// The DM client appends `?mode=<Maintenance|Machine>&Platform=WoA` itself (MS-MDM §2.1; seen
/// on a real Windows 10: ADDR `…/MDM.svc` → `POST /MDM.svc?mode=Maintenance&Platform=WoA`);
/// what it does with an ADDR that already has a query is unknown, so such a URL is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementUrl(String);

impl ManagementUrl {
    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ManagementUrl {
    type Err = EnrollError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| EnrollError::InvalidConfig {
            field: "addr",
            reason: format!("{:?}: {reason}", clip(s)),
        };
        let https = s
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
            && s.len() > 8;
        if !https {
            return Err(bad("not an https:// URL"));
        }
        if s.contains('?') {
            return Err(bad(
                "ADDR must not carry a query (the DM client appends ?mode=…&Platform=WoA)",
            ));
        }
        if s.contains('#') || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("fragment, whitespace or control character"));
        }
        Ok(ManagementUrl(s.to_owned()))
    }
}

/// The `PROVIDER-ID` of the w7 account, also the node name under `DMClient/Provider/` (which
/// "MUST equal" it, windows-itpro-docs sample comment). Non-empty, at most 128 characters, no
/// `/` and no control character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderId(String);

impl ProviderId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ProviderId {
    type Err = EnrollError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty()
            || s.chars().count() > 128
            || s.contains('/')
            || s.chars().any(char::is_control)
        {
            return Err(EnrollError::InvalidConfig {
                field: "provider_id",
                reason: format!(
                    "{:?}: must be 1-128 characters without '/' or control characters",
                    clip(s)
                ),
            });
        }
        Ok(ProviderId(s.to_owned()))
    }
}

/// w7 connection retry parameters (MS-MDE §3.6 sample values by default: 6, 30 s, 120 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionRetry {
    /// `CONNRETRYFREQ`: retries per connection attempt.
    pub conn_retry_freq: u32,
    /// `INITIALBACKOFFTIME` in milliseconds.
    pub initial_backoff_ms: u32,
    /// `MAXBACKOFFTIME` in milliseconds.
    pub max_backoff_ms: u32,
}

impl Default for ConnectionRetry {
    fn default() -> Self {
        ConnectionRetry {
            conn_retry_freq: 6,
            initial_backoff_ms: 30_000,
            max_backoff_ms: 120_000,
        }
    }
}

/// The two `APPAUTH` characteristics. Both levels MUST be present (MS-MDE2 §2.2.9.5); both
/// use DIGEST (`syncml:auth-md5`), the only type allowed at CLIENT level. TLS client
/// certificates are what actually authenticates the device; these are required placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAuth {
    /// CLIENT level (server → client credential): `AAUTHSECRET`.
    pub client_secret: String,
    /// CLIENT level `AAUTHDATA`: base64 nonce.
    pub client_nonce: String,
    /// APPSRV level (client → server credential): `AAUTHNAME`.
    pub server_name: String,
    /// APPSRV level `AAUTHSECRET`.
    pub server_secret: String,
    /// APPSRV level `AAUTHDATA`: base64 nonce.
    pub server_nonce: String,
}

/// Windows 8.1 `HKLM\Security\MachineEnrollment\OmaDmRetry` values (minutes; MS-MDE §3.6
/// sample values by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OmaDmRetry {
    /// `NumRetries`.
    pub num_retries: u32,
    /// `RetryInterval` (minutes).
    pub retry_interval: u32,
    /// `AuxNumRetries`.
    pub aux_num_retries: u32,
    /// `AuxRetryInterval`.
    pub aux_retry_interval: u32,
    /// `Aux2NumRetries`.
    pub aux2_num_retries: u32,
    /// `Aux2RetryInterval`.
    pub aux2_retry_interval: u32,
}

impl Default for OmaDmRetry {
    fn default() -> Self {
        OmaDmRetry {
            num_retries: 8,
            retry_interval: 15,
            aux_num_retries: 5,
            aux_retry_interval: 3,
            aux2_num_retries: 0,
            aux2_retry_interval: 480,
        }
    }
}

/// Windows 10/11 `DMClient/Provider/<ProviderID>/Poll` schedule (MS-MDE2 §2.2.9.3). Defaults are
/// the windows-itpro-docs sample values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSchedule {
    /// `NumberOfFirstRetries` (0 = infinite).
    pub number_of_first_retries: u32,
    /// `IntervalForFirstSetOfRetries` (minutes).
    pub interval_for_first_set_of_retries: u32,
    /// `NumberOfSecondRetries`.
    pub number_of_second_retries: u32,
    /// `IntervalForSecondSetOfRetries` (minutes).
    pub interval_for_second_set_of_retries: u32,
    /// `NumberOfRemainingScheduledRetries` (0 = forever).
    pub number_of_remaining_scheduled_retries: u32,
    /// `IntervalForRemainingScheduledRetries` (minutes; Microsoft recommends ≥ 1440 with push).
    pub interval_for_remaining_scheduled_retries: u32,
    /// `PollOnLogin`: start a session when a user logs on.
    pub poll_on_login: bool,
}

impl Default for PollSchedule {
    fn default() -> Self {
        PollSchedule {
            number_of_first_retries: 8,
            interval_for_first_set_of_retries: 15,
            number_of_second_retries: 5,
            interval_for_second_set_of_retries: 3,
            number_of_remaining_scheduled_retries: 0,
            interval_for_remaining_scheduled_retries: 1560,
            poll_on_login: true,
        }
    }
}

/// Windows 10/11 automatic renewal (`CertificateStore/My/WSTEP/Renew`, windows-itpro-docs
/// sample): ROBO (renew on behalf of) with the given period and retry interval (days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoboRenewal {
    /// `RenewPeriod`: days before expiry to start renewing.
    pub renew_period_days: u32,
    /// `RetryInterval`: days between renewal attempts.
    pub retry_interval_days: u32,
}

/// The platform-specific part of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformProvisioning {
    /// Windows 8.1: the MS-MDE `Registry` characteristics.
    Windows81(Windows81Provisioning),
    /// Windows 10/11: the DMClient CSP.
    Windows10Plus(Windows10Provisioning),
}

/// Windows 8.1 settings (MS-MDE §3.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows81Provisioning {
    /// `HKLM\Security\MachineEnrollment` `RenewalPeriod` (the sample has 363; unit undocumented,
    /// presumably days).
    pub renewal_period: u32,
    /// `OmaDmRetry` values.
    pub oma_dm_retry: OmaDmRetry,
    /// The key name under `HKLM\Security\Provisioning\OMADM\Accounts\` (32 upper-case hex in the
    /// sample, `037B1F0D3842015588E753CDE76EC724`; its derivation is undocumented). Must be
    /// non-empty and free of `\`.
    pub omadm_account_id: String,
}

/// Windows 10/11 settings (MS-MDE2 §2.2.9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows10Provisioning {
    /// `EntDMID`: the enterprise device id the server assigns (returned by the device later).
    pub ent_dm_id: String,
    /// The poll schedule.
    pub poll: PollSchedule,
    /// Optional automatic renewal.
    pub robo_renewal: Option<RoboRenewal>,
}

/// Everything the provisioning document is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningInput {
    /// Our CA certificate, installed in `Root/System`.
    pub root_ca: Certificate,
    /// Intermediate CA certificates, installed in `CA/System` (usually none).
    pub intermediate_cas: Vec<Certificate>,
    /// The device certificate just issued, installed in `My/User`.
    pub device_cert: Certificate,
    /// The CN of the device certificate's subject, for `SSLCLIENTCERTSEARCHCRITERIA` and the 8.1
    /// `SslClientCertSubjectName` (percent-encoded here).
    pub device_cert_subject_cn: String,
    /// `PROVIDER-ID`.
    pub provider_id: ProviderId,
    /// `NAME`: the management service name shown to the user.
    pub name: String,
    /// `ADDR`.
    pub addr: ManagementUrl,
    /// `ServerList` (omitted when `None`).
    pub server_list: Option<String>,
    /// `SSPHyperlink`: a link the enrollment UI may show (omitted when `None`).
    pub ssp_hyperlink: Option<String>,
    /// `CRLCheck` 0/1 (omitted when `None`; the MS-MDE sample sends 0).
    pub crl_check: Option<bool>,
    /// Connection retry parameters.
    pub connection: ConnectionRetry,
    /// APPAUTH credentials.
    pub app_auth: AppAuth,
    /// The device name (8.1 `DeviceName` registry value, empty when `None`; Windows 10
    /// `EntDeviceName`, omitted when `None`).
    pub device_name: Option<String>,
    /// Platform-specific settings.
    pub platform: PlatformProvisioning,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_round_trips_upper_case() {
        let t: Thumbprint = "5be128213d05dc6cb87a059469130fc6686992ef".parse().unwrap();
        assert_eq!(t.to_string(), "5BE128213D05DC6CB87A059469130FC6686992EF");
        assert!("5BE1".parse::<Thumbprint>().is_err());
        assert!(
            "ZZE128213D05DC6CB87A059469130FC6686992EF"
                .parse::<Thumbprint>()
                .is_err()
        );
    }

    #[test]
    fn addr_with_query_is_refused() {
        let err = "https://mdm.example/ManagementServer/MDM.svc?mode=Machine"
            .parse::<ManagementUrl>()
            .unwrap_err();
        assert!(
            matches!(err, EnrollError::InvalidConfig { field: "addr", .. }),
            "{err}"
        );
        assert!("http://mdm.example/x".parse::<ManagementUrl>().is_err());
        assert!("https://mdm.example/x#f".parse::<ManagementUrl>().is_err());
        assert_eq!(
            "https://mdm.example/x"
                .parse::<ManagementUrl>()
                .unwrap()
                .as_str(),
            "https://mdm.example/x"
        );
    }

    #[test]
    fn provider_id_refuses_slash_and_empty() {
        assert!("a/b".parse::<ProviderId>().is_err());
        assert!(" ".parse::<ProviderId>().is_err());
        assert_eq!(
            "Casement MDM".parse::<ProviderId>().unwrap().as_str(),
            "Casement MDM"
        );
    }
}
