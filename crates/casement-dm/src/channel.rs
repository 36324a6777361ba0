//! The push channel as a device reports it, and the state the server keeps for it (docs/product.md §3
//! flow 6). Pure: the values come from the Results of a push-configuration command.
//!
//! Windows 8.1 reports `MDM_WNSChannel` properties (`Channel`, `ExpirationTime`, `ChannelStatus`,
//! `LastError`) and `MDM_WNSConfiguration/ConfigurationStatus` (W32-SET mdm-wnschannel.md,
//! mdm-wnsconfiguration.md); Windows 10/11 report DMClient `Push/ChannelURI` and `Push/Status`
//! ([MS-MDE2] §2.2.9.3, status codes 0–8).

use serde::{Deserialize, Serialize};

use crate::command::ResultItem;

/// Where a device's push channel stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelState {
    /// No push configuration sent yet.
    Unconfigured,
    /// Push configuration sent; no channel reported yet.
    Configuring,
    /// A channel that can be pushed to.
    Active,
    /// A channel that expires within [`EXPIRING_WITHIN_DAYS`] days.
    Expiring,
    /// WNS said the channel is gone (404/410), or it expired: push configuration again.
    Revoked,
    /// The device could not set up a channel (with the reason).
    Failed,
}

impl ChannelState {
    /// Stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unconfigured => "unconfigured",
            Self::Configuring => "configuring",
            Self::Active => "active",
            Self::Expiring => "expiring",
            Self::Revoked => "revoked",
            Self::Failed => "failed",
        }
    }

    /// From the stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Unconfigured,
            Self::Configuring,
            Self::Active,
            Self::Expiring,
            Self::Revoked,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// True when a push may be sent.
    pub const fn can_push(self) -> bool {
        matches!(self, Self::Active | Self::Expiring)
    }
}

/// Windows 10 renews a channel when 15 days or fewer remain (windows-itpro-docs
/// push-notification-windows-mdm.md); a channel this close to expiry is shown as expiring.
pub const EXPIRING_WITHIN_DAYS: i64 = 15;

/// What one push-configuration command's results said about the channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelReport {
    /// The channel URI.
    pub uri: Option<String>,
    /// Expiry (unix ms), when reported and readable.
    pub expires_at: Option<i64>,
    /// `ChannelStatus` (8.1) or `Push/Status` (10/11), as reported.
    pub status: Option<String>,
    /// `LastError` (8.1).
    pub last_error: Option<String>,
    /// `ConfigurationStatus` (8.1): 1 configured, 0 not.
    pub configured: Option<bool>,
}

impl ChannelReport {
    /// Reads the channel values out of result items; `None` when none of them is about the channel.
    pub fn read(results: &[ResultItem]) -> Option<Self> {
        let mut report = Self::default();
        let mut any = false;
        for r in results {
            let uri = r.loc_uri.as_str();
            let value = r
                .data
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned);
            let wns_channel = uri.contains("/MDM_WNSChannel/");
            let slot = if (wns_channel && uri.ends_with("/Channel"))
                || uri.ends_with("/Push/ChannelURI")
            {
                &mut report.uri
            } else if wns_channel && uri.ends_with("/ExpirationTime") {
                report.expires_at = value.as_deref().and_then(parse_time);
                any = true;
                continue;
            } else if (wns_channel && uri.ends_with("/ChannelStatus"))
                || uri.ends_with("/Push/Status")
            {
                &mut report.status
            } else if wns_channel && uri.ends_with("/LastError") {
                &mut report.last_error
            } else if uri.contains("/MDM_WNSConfiguration/")
                && uri.ends_with("/ConfigurationStatus")
            {
                report.configured = value.as_deref().map(|v| v == "1");
                any = true;
                continue;
            } else {
                continue;
            };
            *slot = value;
            any = true;
        }
        any.then_some(report)
    }

    /// The state this report puts the channel in at `now`, with a reason in words when it is not
    /// usable.
    pub fn state(&self, now: i64) -> (ChannelState, Option<String>) {
        if let Some(reason) = self.status.as_deref().and_then(push_status_failure) {
            return (ChannelState::Failed, Some(reason));
        }
        if let Some(error) = self.last_error.as_deref().filter(|e| *e != "0") {
            return (
                ChannelState::Failed,
                Some(format!(
                    "the device could not create a channel (LastError {error})"
                )),
            );
        }
        if self.configured == Some(false) {
            return (
                ChannelState::Configuring,
                Some("push is not configured on the device yet".into()),
            );
        }
        let Some(_) = &self.uri else {
            return (
                ChannelState::Configuring,
                Some("no channel URI reported yet".into()),
            );
        };
        match self.expires_at {
            Some(at) if at <= now => (ChannelState::Revoked, Some("the channel expired".into())),
            Some(at) if at - now <= EXPIRING_WITHIN_DAYS * 86_400_000 => {
                (ChannelState::Expiring, None)
            }
            _ => (ChannelState::Active, None),
        }
    }
}

/// The meaning of a Windows 10/11 `Push/Status` value other than 0 ([MS-MDE2] §2.2.9.3); Windows
/// 8.1 `ChannelStatus` 1 is read the same way as "expired or revoked" (its values are undocumented).
fn push_status_failure(status: &str) -> Option<String> {
    Some(
        match status.trim() {
            "0" | "" => return None,
            "1" => "the package family name is invalid",
            "2" => "the device's MSA authentication is invalid or expired",
            "3" => "WNS registration failed (invalid or revoked package family name)",
            "4" => "no channel URI was assigned",
            "5" => "the channel URI expired",
            "6" => "the channel URI failed to be revoked",
            "7" => {
                "a push was received but the session was blocked by power or connectivity settings"
            }
            "8" => "push is not available on this Windows edition",
            other => return Some(format!("push status {other}")),
        }
        .to_owned(),
    )
}

/// Reads a WMI datetime (`yyyymmddHHMMSS.mmmmmm±UUU`, minutes offset) or an RFC 3339 time as unix ms.
fn parse_time(value: &str) -> Option<i64> {
    if let Ok(t) =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
    {
        return Some((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let digits = value.get(..14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits[r].parse::<u32>().ok();
    let date = time::Date::from_calendar_date(
        n(0..4)? as i32,
        time::Month::try_from(n(4..6)? as u8).ok()?,
        n(6..8)? as u8,
    )
    .ok()?;
    let clock = time::Time::from_hms(n(8..10)? as u8, n(10..12)? as u8, n(12..14)? as u8).ok()?;
    let offset_minutes: i64 = value.get(21..).and_then(|o| o.parse().ok()).unwrap_or(0);
    let utc = time::PrimitiveDateTime::new(date, clock).assume_utc();
    Some((utc.unix_timestamp() - offset_minutes * 60) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(uri: &str, value: &str) -> ResultItem {
        ResultItem {
            loc_uri: uri.into(),
            format: None,
            r#type: None,
            data: Some(value.into()),
        }
    }

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_windows_8_1_channel_is_read_from_the_wmi_properties() {
        let base = "./cimv2/MDM_WNSChannel/MDM_WNSChannel.AppId=%22Casement%22";
        let report = ChannelReport::read(&[
            item(
                &format!("{base}/Channel"),
                "https://hk2.notify.windows.com/?token=AwY",
            ),
            item(
                &format!("{base}/ExpirationTime"),
                "20270401120000.000000+000",
            ),
            item(&format!("{base}/ChannelStatus"), "0"),
            item(&format!("{base}/LastError"), "0"),
        ])
        .unwrap();
        assert_eq!(
            report.uri.as_deref(),
            Some("https://hk2.notify.windows.com/?token=AwY")
        );
        assert_eq!(report.expires_at, Some(1_806_580_800_000));
        assert_eq!(report.state(NOW), (ChannelState::Active, None));
        assert_eq!(
            report.state(1_806_580_800_000 - 86_400_000).0,
            ChannelState::Expiring
        );
        assert_eq!(report.state(1_806_580_800_000 + 1).0, ChannelState::Revoked);
    }

    #[test]
    fn a_windows_10_push_status_other_than_0_is_a_failure_in_words() {
        let report = ChannelReport::read(&[item(
            "./Vendor/MSFT/DMClient/Provider/Casement/Push/Status",
            "3",
        )])
        .unwrap();
        let (state, reason) = report.state(NOW);
        assert_eq!(state, ChannelState::Failed);
        assert!(reason.unwrap().contains("WNS registration failed"));
        let ok = ChannelReport::read(&[
            item(
                "./Vendor/MSFT/DMClient/Provider/Casement/Push/ChannelURI",
                "https://db5.notify.windows.com/?token=x",
            ),
            item("./Vendor/MSFT/DMClient/Provider/Casement/Push/Status", "0"),
        ])
        .unwrap();
        assert_eq!(ok.state(NOW).0, ChannelState::Active);
    }

    #[test]
    fn unrelated_results_are_not_a_channel_report() {
        assert_eq!(
            ChannelReport::read(&[item("./DevDetail/SwV", "10.0")]),
            None
        );
        let unconfigured = ChannelReport::read(&[item(
            "./cimv2/MDM_WNSConfiguration/MDM_WNSConfiguration.AppId=%22C%22/ConfigurationStatus",
            "0",
        )])
        .unwrap();
        assert_eq!(unconfigured.state(NOW).0, ChannelState::Configuring);
    }

    #[test]
    fn state_names_round_trip() {
        for s in [
            ChannelState::Unconfigured,
            ChannelState::Configuring,
            ChannelState::Active,
            ChannelState::Expiring,
            ChannelState::Revoked,
            ChannelState::Failed,
        ] {
            assert_eq!(ChannelState::from_name(s.as_str()), Some(s));
        }
    }
}
