//! What a device's answer to one command means: done, failed, or back to pending for a later
//! session — and what else it tells the server (the push channel's state, a retired device, a
//! reason to wake the device). Every such rule lives here, so that the service only stores what
//! the core decided.
//!
//! | the device answered | class | verdict |
//! |---|---|---|
//! | an install check (`…/Status`, `MDM_Application`) | app management | installed → done; failed → failed with the reason; still installing → back to pending, and wake the device |
//! | anything but 2xx | push configuration, app management | back to pending (MDMAgent could not impersonate the user: an interactive run); a later session whose context allows it retries, bounded by attempts |
//! | 2xx | any | done |
//! | anything else | any | failed |
//!
//! Besides: Results that describe the push channel (8.1 `MDM_WNSChannel`, 10/11 DMClient `Push/*`)
//! observe the channel, and a channel able to take pushes while installs wait wakes the device; a
//! push configuration the device refused marks the channel failed; an acknowledged unenrollment
//! retires the device, and so does an acknowledged wipe ([`WIPE_ACKNOWLEDGED`]: "wipe acknowledged —
//! the PC is resetting"; reboot and lock done are just done); a push configuration sent marks the channel as being configured.

use casement_syncml::StatusCode;
use serde::{Deserialize, Serialize};

use crate::catalog::{InstallProgress, judge_install_check};
use crate::channel::{ChannelReport, ChannelState};
use crate::command::ResultItem;
use crate::context::CommandClass;

/// Why a device whose wipe was acknowledged is retired (the status administrators read; the
/// server also records a `device.wiped` event for it).
pub const WIPE_ACKNOWLEDGED: &str = "wipe acknowledged — the PC is resetting";

/// Where a reported command goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "verdict", content = "reason")]
pub enum Verdict {
    /// Carried out; the reason, when there is one, says more (e.g. how many Items failed).
    Done(Option<String>),
    /// Not carried out, for good; the reason in words when known.
    Failed(Option<String>),
    /// Back to pending for a later session whose context allows it (the command keeps its
    /// identity; its attempts bound the retries). The reason in words when known.
    Retry(Option<String>),
}

/// What the push channel was seen to be, for the service to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelObservation {
    /// The state it is in now.
    pub state: ChannelState,
    /// What the device reported, when it reported the channel.
    pub report: Option<ChannelReport>,
    /// Why, in words, when the state needs a reason.
    pub reason: Option<String>,
}

/// One command's verdict, with its side observations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Judged {
    pub verdict: Verdict,
    pub channel: Option<ChannelObservation>,
    pub retire: Option<String>,
    pub wake: Option<String>,
}

/// What the device said about one command, as the core collected it.
#[derive(Debug)]
pub(super) struct Answer<'a> {
    pub class: CommandClass,
    pub target: Option<&'a str>,
    pub status: StatusCode,
    /// The device's own error text (`msft:originalerror`) and/or the per-item summary.
    pub detail: Option<String>,
    pub results: &'a [ResultItem],
}

/// Judges one answer at `now`. `installs_waiting`: app-management commands are pending for the
/// device (a usable channel then wakes it).
pub(super) fn judge(answer: &Answer<'_>, now: i64, installs_waiting: bool) -> Judged {
    let mut judged = Judged {
        verdict: Verdict::Done(None),
        channel: None,
        retire: None,
        wake: None,
    };
    let success = answer.status.is_success();
    let install_check = answer
        .target
        .filter(|_| answer.class == CommandClass::AppManagement)
        .and_then(|t| judge_install_check(t, answer.status, answer.results));
    judged.verdict = match install_check {
        Some(InstallProgress::Installing(why)) => {
            // Ask again soon: wake the device so that the check confirms the install.
            judged.wake = Some("install check: the app is still installing".into());
            Verdict::Retry(Some(why))
        }
        // What it found is in the results; there is no error to keep.
        Some(InstallProgress::Installed(_)) => Verdict::Done(None),
        Some(InstallProgress::Failed(why)) => Verdict::Failed(Some(why)),
        // Commands that impersonate the enrolled user fail when MDMAgent cannot (an interactive
        // run): they are retried in a later session whose context allows them.
        None if !success && answer.class.impersonates_user() => {
            Verdict::Retry(answer.detail.clone())
        }
        None if success => Verdict::Done(answer.detail.clone()),
        None => Verdict::Failed(answer.detail.clone()),
    };
    if let Some(report) = ChannelReport::read(answer.results) {
        let (state, reason) = report.state(now);
        if state.can_push() && installs_waiting {
            // A channel is back: the installs still pending are pushed again.
            judged.wake = Some("channel available: pending installs".into());
        }
        judged.channel = Some(ChannelObservation {
            state,
            report: Some(report),
            reason,
        });
    } else if !success && answer.class == CommandClass::PushConfiguration {
        judged.channel = Some(ChannelObservation {
            state: ChannelState::Failed,
            report: None,
            reason: Some(format!(
                "push configuration failed on the device (status {}); retried in a later Maintenance session",
                answer.status.code()
            )),
        });
    }
    if success && answer.class == CommandClass::Wipe {
        // The PC resets itself: it will not come back with this enrollment (issue 15 part 1).
        judged.retire = Some(WIPE_ACKNOWLEDGED.into());
    }
    if success && answer.class == CommandClass::Unenrollment {
        judged.retire =
            Some("unenrolled by the server (the device acknowledged the command)".into());
    }
    judged
}

/// The channel once push configuration was sent (before the device reports it).
pub(super) fn configuring() -> ChannelObservation {
    ChannelObservation {
        state: ChannelState::Configuring,
        report: None,
        reason: Some("push configuration sent to the device".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer<'a>(
        class: CommandClass,
        status: StatusCode,
        results: &'a [ResultItem],
    ) -> Answer<'a> {
        Answer {
            class,
            target: None,
            status,
            detail: None,
            results,
        }
    }

    #[test]
    fn success_is_done_and_failure_failed_except_for_commands_that_impersonate_the_user() {
        for class in CommandClass::ALL {
            let ok = judge(&answer(class, StatusCode::Ok, &[]), 0, false);
            assert_eq!(ok.verdict, Verdict::Done(None), "{class:?}");
            let failed = judge(&answer(class, StatusCode::CommandFailed, &[]), 0, false);
            let expected = if class.impersonates_user() {
                Verdict::Retry(None)
            } else {
                Verdict::Failed(None)
            };
            assert_eq!(failed.verdict, expected, "{class:?}");
        }
    }

    #[test]
    fn a_refused_push_configuration_marks_the_channel_failed() {
        let judged = judge(
            &answer(
                CommandClass::PushConfiguration,
                StatusCode::CommandFailed,
                &[],
            ),
            0,
            false,
        );
        let channel = judged.channel.unwrap();
        assert_eq!(channel.state, ChannelState::Failed);
        assert!(channel.reason.unwrap().contains("status 500"));
    }

    #[test]
    fn an_acknowledged_unenrollment_retires_the_device() {
        let judged = judge(
            &answer(CommandClass::Unenrollment, StatusCode::Ok, &[]),
            0,
            false,
        );
        assert!(judged.retire.is_some());
        let judged = judge(
            &answer(CommandClass::Unenrollment, StatusCode::NotFound, &[]),
            0,
            false,
        );
        assert!(judged.retire.is_none());
    }

    #[test]
    fn issue_15_an_acknowledged_wipe_is_done_and_retires_the_device() {
        let judged = judge(&answer(CommandClass::Wipe, StatusCode::Ok, &[]), 0, false);
        assert_eq!(judged.verdict, Verdict::Done(None));
        assert_eq!(
            judged.retire.as_deref(),
            Some("wipe acknowledged — the PC is resetting")
        );
        let judged = judge(
            &answer(CommandClass::Wipe, StatusCode::CommandFailed, &[]),
            0,
            false,
        );
        assert_eq!(judged.verdict, Verdict::Failed(None));
        assert!(judged.retire.is_none());
        for class in [CommandClass::Reboot, CommandClass::Lock] {
            let judged = judge(&answer(class, StatusCode::Ok, &[]), 0, false);
            assert_eq!(judged.verdict, Verdict::Done(None));
            assert!(judged.retire.is_none());
        }
    }

    #[test]
    fn a_usable_channel_wakes_the_device_only_when_installs_wait() {
        let results = [ResultItem {
            loc_uri: "./Vendor/MSFT/DMClient/Provider/Casement/Push/ChannelURI".into(),
            format: None,
            r#type: None,
            data: Some("https://db5.notify.windows.com/?token=x".into()),
        }];
        let answer = answer(CommandClass::PushConfiguration, StatusCode::Ok, &results);
        let judged = judge(&answer, 0, true);
        assert_eq!(judged.channel.as_ref().unwrap().state, ChannelState::Active);
        assert!(judged.wake.is_some());
        assert!(judge(&answer, 0, false).wake.is_none());
    }
}
