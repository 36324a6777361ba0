//! Stored values in words: times, platforms, contexts, channel states, install statuses. The
//! portal speaks to end users (no protocol terms); the console to administrators.

use casement_store::{ChannelState, Context, Device, Platform};
use maud::{Markup, html};
use time::OffsetDateTime;
use time::macros::format_description;

/// A time as `2026-11-01 14:03 UTC` in a `<time>` element, with how long ago it was.
pub fn when(at_ms: i64, now_ms: i64) -> Markup {
    html! {
        time datetime=(iso(at_ms)) title=(absolute(at_ms)) { (ago(at_ms, now_ms)) }
    }
}

/// `2026-11-01T14:03:05Z`.
pub fn iso(at_ms: i64) -> String {
    datetime(at_ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `2026-11-01 14:03:05 UTC`.
pub fn absolute(at_ms: i64) -> String {
    datetime(at_ms)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default()
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago" (or "in 5 minutes" for the future).
pub fn ago(at_ms: i64, now_ms: i64) -> String {
    let seconds = (now_ms - at_ms) / 1000;
    let (future, s) = (seconds < 0, seconds.unsigned_abs());
    let amount = match s {
        0..=44 => return "just now".into(),
        45..=5_399 => plural(s.div_ceil(60).max(1), "minute"),
        5_400..=129_599 => plural((s + 1_800) / 3_600, "hour"),
        _ => plural((s + 43_200) / 86_400, "day"),
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn datetime(at_ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// "Windows 8.1", "Windows 10/11".
pub fn platform(p: Platform) -> &'static str {
    match p {
        Platform::Windows81 => "Windows 8.1",
        Platform::Windows10 => "Windows 10/11",
    }
}

/// The device's name, or a stand-in.
pub fn device_name(d: &Device) -> String {
    d.name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Unnamed PC".into())
}

/// The model the device reported (`./DevInfo/Mod` in its last package 1), and its maker.
pub fn model(d: &Device) -> Option<String> {
    let info: serde_json::Value = serde_json::from_str(d.devinfo.as_deref()?).ok()?;
    let model = info.get("./DevInfo/Mod")?.as_str()?.trim().to_owned();
    let maker = info
        .get("./DevInfo/Man")
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .trim();
    Some(if maker.is_empty() || model.starts_with(maker) {
        model
    } else {
        format!("{maker} {model}")
    })
}

/// The operating system: the platform and the version it enrolled with.
pub fn os(d: &Device) -> String {
    match d.context_value("OSVersion") {
        Some(v) if !v.trim().is_empty() => format!("{} ({})", platform(d.platform), v.trim()),
        _ => platform(d.platform).to_owned(),
    }
}

/// The context of a sync, for an end user: what was going on on the PC.
pub fn context_for_user(context: Context) -> &'static str {
    match context {
        Context::Machine => "while nobody was signed in to it",
        Context::Maintenance => "while you were signed in",
        Context::Apps => "to install apps",
    }
}

/// What a context allows, for an administrator (docs/product.md §2).
pub fn context_for_admin(context: Context) -> &'static str {
    match context {
        Context::Machine => "no user session: inventory, password reset, unenrollment only",
        Context::Maintenance => "the enrolled user's session: everything",
        Context::Apps => "started by a push: inventory and apps",
    }
}

/// How a session's context was determined, in words (the stored `ContextReason`).
pub fn context_reason(reason: &str) -> &'static str {
    match reason {
        "mode-parameter" => "the device's ?mode= parameter",
        "login-status-shows-no-enrolled-user" => {
            "mode=Maintenance, but the LoginStatus alert says the enrolled user is not logged on"
        }
        "push-triggered" => "the device said a push started the session (Alert 1200)",
        "login-status-proves-user" => {
            "no usable mode, but LoginStatus=user proves the enrolled user's session"
        }
        "missing-mode-defaults-to-machine" => {
            "no ?mode= parameter and no proof of a user: the most restrictive context"
        }
        "unknown-mode-defaults-to-machine" => {
            "an unknown ?mode= value and no proof of a user: the most restrictive context"
        }
        _ => "not recorded",
    }
}

/// The push channel's state for an end user: can an install start right away?
pub fn channel_for_user(state: Option<ChannelState>) -> (&'static str, &'static str) {
    match state.unwrap_or(ChannelState::Unconfigured) {
        ChannelState::Active | ChannelState::Expiring => ("ok", "Installs start right away."),
        ChannelState::Configuring => (
            "wait",
            "Being set up for instant installs. Until then, installs start the next time it checks in.",
        ),
        ChannelState::Revoked => (
            "wait",
            "Can't be woken up right now. Installs start the next time you sign in to it.",
        ),
        ChannelState::Failed => (
            "bad",
            "Can't be woken up. Installs start the next time it checks in.",
        ),
        _ => (
            "wait",
            "Not set up for instant installs yet. Installs start the next time it checks in.",
        ),
    }
}

/// The push channel's state for an administrator.
pub fn channel_for_admin(state: Option<ChannelState>) -> (&'static str, &'static str) {
    let state = state.unwrap_or(ChannelState::Unconfigured);
    let tone = match state {
        ChannelState::Active => "ok",
        ChannelState::Expiring | ChannelState::Configuring => "wait",
        ChannelState::Revoked | ChannelState::Failed => "bad",
        ChannelState::Unconfigured => "none",
    };
    (tone, state.as_str())
}

/// An install status as a short label for a person, with its tone.
pub fn install_label(status: &str) -> (&'static str, &'static str) {
    match status {
        "queued" => ("wait", "Waiting"),
        "pushed" => ("wait", "Starting"),
        "delivered" => ("wait", "Installing"),
        "installed" => ("ok", "Installed"),
        "failed" => ("bad", "Failed"),
        _ => ("none", "Unknown"),
    }
}

/// A command state's tone.
pub fn command_tone(state: &str) -> &'static str {
    match state {
        "done" => "ok",
        "pending" | "sent" => "wait",
        "failed" | "expired" => "bad",
        _ => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_a_person_says_them() {
        let now = 10_000_000_000;
        assert_eq!(ago(now - 10_000, now), "just now");
        assert_eq!(ago(now - 60_000, now), "1 minute ago");
        assert_eq!(ago(now - 5 * 60_000, now), "5 minutes ago");
        assert_eq!(ago(now - 2 * 3_600_000, now), "2 hours ago");
        assert_eq!(ago(now - 3 * 86_400_000, now), "3 days ago");
        assert_eq!(ago(now + 10 * 60_000, now), "in 10 minutes");
        assert_eq!(absolute(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(iso(1_000), "1970-01-01T00:00:01Z");
    }
}
