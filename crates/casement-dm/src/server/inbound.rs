//! Reading a client message: statuses and results matched to what was sent, alerts, DevInfo.

use casement_syncml::{AlertCode, Command, MsgId, Results, Status, StatusCode};

use super::verdict::{Answer, judge};
use super::{
    ActiveSession, Effect, ItemFailure, ItemOutcomes, SessionOutcome, SessionWarning, Step,
    outbound,
};
use crate::command::{PendingCommand, ResultItem};
use crate::evidence::LOGIN_STATUS_TYPE;
use crate::server::ServerConfig;

/// The generic-alert type Windows sends when the user disconnects the device (alert 1226).
pub const UNENROLL_ALERT_TYPE: &str = "com.microsoft:mdm.unenrollment.userrequest";

impl ActiveSession {
    /// Handles a client message already known to be the next one of this session.
    pub(super) fn handle(
        mut self,
        now: i64,
        message: &casement_syncml::SyncMl,
        pending: &[PendingCommand],
        config: &ServerConfig,
    ) -> Step {
        let previous_reply = self.last_server_msg;
        self.last_client_msg = message.header.msg_id;
        self.last_seen_at = now;
        let reply_msg = MsgId(previous_reply.0 + 1);
        let mut reply = outbound::reply_skeleton(&self, message, reply_msg);
        let header_cmd = self.take_cmd_id();
        reply
            .body
            .commands
            .push(outbound::header_status(message, header_cmd, StatusCode::Ok));
        let mut effects = Vec::new();
        let mut aborted = false;

        for command in &message.body.commands {
            let code = match command {
                Command::Status(status) => {
                    self.record_status(status, &mut effects);
                    continue;
                }
                Command::Results(results) => {
                    self.record_results(results, previous_reply, &mut effects);
                    StatusCode::Ok
                }
                Command::Alert(alert) => {
                    match alert.code {
                        AlertCode::SessionAbort => aborted = true,
                        AlertCode::Generic | AlertCode::ClientEvent => {
                            read_event_alert(alert, &mut effects)
                        }
                        _ => {}
                    }
                    StatusCode::Ok
                }
                Command::Replace(c) | Command::Add(c) => {
                    let items = c
                        .items
                        .iter()
                        .filter_map(|i| ResultItem::from_item(i, c.meta.as_ref()))
                        .filter(|i| self.is_own_dev_id(i, &mut effects))
                        .collect();
                    effects.push(Effect::DeviceInfo { items });
                    StatusCode::Ok
                }
                // A Windows client never asks the server to run these.
                _ => StatusCode::OptionalFeatureNotSupported,
            };
            let cmd_id = self.take_cmd_id();
            reply.body.commands.push(outbound::status_for(
                message.header.msg_id,
                command,
                cmd_id,
                code,
            ));
        }

        if message.body.is_final || aborted {
            let installs_waiting = pending
                .iter()
                .any(|p| p.class == crate::context::CommandClass::AppManagement);
            self.settle(now, installs_waiting, &mut effects);
        }
        // Inventory read in two steps (Windows 8.1 WMI classes: the instance list, then the
        // instances' properties): the second step goes out first, in this same session.
        let follow_ups = super::upkeep::inventory_follow_ups(&effects);
        // A profile's next step (read-back, fallback, re-apply) also goes out in this session.
        let profile_steps = if self.profiles.is_empty() {
            super::profiles::ProfileSteps::default()
        } else {
            super::profiles::follow_ups(&mut self, &effects, now)
        };
        let with_follow_ups: Vec<PendingCommand>;
        let pending = if follow_ups.is_empty() && profile_steps.candidates.is_empty() {
            effects.extend(profile_steps.effects);
            pending
        } else {
            with_follow_ups = follow_ups
                .iter()
                .map(|q| q.pending.clone())
                .chain(profile_steps.candidates)
                .chain(pending.iter().cloned())
                .collect();
            effects.extend(follow_ups.into_iter().map(|q| q.effect));
            effects.extend(profile_steps.effects);
            &with_follow_ups
        };
        reply.body.is_final = true;
        self.last_server_msg = reply_msg;

        // The user disconnected the device: Windows has already removed the enrollment and sends
        // the 1226 alert as a last word (windows-itpro-docs disconnecting-from-mdm-unenrollment.md:
        // "the server gets no further sessions"), so nothing new is sent; the session ends here.
        let unenrolled = effects.contains(&Effect::UnenrollmentRequested);
        let next = if aborted {
            effects.push(Effect::SessionEnded {
                outcome: SessionOutcome::AbortedByDevice,
            });
            None
        } else if unenrolled {
            effects.push(Effect::SessionEnded {
                outcome: SessionOutcome::Completed,
            });
            None
        } else if !message.body.is_final {
            // The client's package goes on: ask for the next message, send nothing new yet.
            let cmd_id = self.take_cmd_id();
            reply
                .body
                .commands
                .push(outbound::alert(cmd_id, AlertCode::NextMessage));
            Some(self)
        } else if self.send_pending(now, pending, config, &mut reply, reply_msg, &mut effects) > 0 {
            Some(self)
        } else {
            effects.push(Effect::SessionEnded {
                outcome: SessionOutcome::Completed,
            });
            None
        };
        let reply_xml = casement_syncml::to_string(&reply);
        let next = next.map(|mut session| {
            session.last_reply = reply_xml.clone();
            session
        });
        Step {
            reply,
            reply_xml,
            effects,
            next,
        }
    }

    /// Matches a Status to a command in flight by MsgRef and CmdRef (and, for a per-item
    /// Status, to its Item by `TargetRef`); anything else is reported as unmatched and not
    /// trusted. The device's Status for our SyncHdr needs nothing unless it is an error.
    fn record_status(&mut self, status: &Status, effects: &mut Vec<Effect>) {
        if status.cmd_ref == 0 && status.cmd == casement_syncml::CmdKind::SyncHdr {
            if !status.code.is_success() {
                self.our_message_failed(status, effects);
            }
            return;
        }
        let in_flight = self.in_flight.iter_mut().find(|f| {
            f.msg_id == status.msg_ref
                && (f.cmd_id.0 == status.cmd_ref || f.nested.iter().any(|n| n.0 == status.cmd_ref))
        });
        match in_flight {
            // One Status per Item, each naming its Item (Windows 10/11): each keeps its code.
            Some(f)
                if f.cmd_id.0 == status.cmd_ref
                    && f.kind == status.cmd
                    && !status.target_refs.is_empty() =>
            {
                for target in &status.target_refs {
                    match f.item_statuses.iter_mut().find(|(t, _)| t == target) {
                        Some(known) => known.1 = status.code,
                        None => f.item_statuses.push((target.clone(), status.code)),
                    }
                }
            }
            Some(f)
                if f.cmd_id.0 == status.cmd_ref && f.kind == status.cmd && f.status.is_none() =>
            {
                f.status = Some((status.code, status.original_error.clone()));
            }
            // A nested command's status: its container's status decides.
            Some(f) if f.cmd_id.0 != status.cmd_ref => {}
            _ => effects.push(Effect::UnmatchedStatus {
                msg_ref: status.msg_ref,
                cmd_ref: status.cmd_ref,
                cmd: status.cmd,
                code: status.code,
            }),
        }
    }

    /// Attaches Results to the Get (possibly nested) they answer. Without MsgRef, Results answer
    /// our previous reply.
    fn record_results(
        &mut self,
        results: &Results,
        previous_reply: MsgId,
        effects: &mut Vec<Effect>,
    ) {
        let msg_ref = results.msg_ref.unwrap_or(previous_reply);
        let in_flight = self.in_flight.iter_mut().find(|f| {
            f.msg_id == msg_ref
                && (f.cmd_id.0 == results.cmd_ref
                    || f.nested.iter().any(|n| n.0 == results.cmd_ref))
        });
        match in_flight {
            Some(f) => f.results.extend(
                results
                    .items
                    .iter()
                    .filter_map(|i| ResultItem::from_item(i, results.meta.as_ref())),
            ),
            None => effects.push(Effect::UnmatchedResults {
                msg_ref: results.msg_ref,
                cmd_ref: results.cmd_ref,
            }),
        }
    }

    /// The device answered our SyncHdr with an error: it could not process the message `MsgRef`
    /// names (0, as Windows sends it at the head of package 1: our last message, in the session
    /// this one replaced). The commands that message carried go back to pending, keeping their
    /// identity (their attempt is counted); they are not sent again in this session. The session
    /// goes on.
    fn our_message_failed(&mut self, status: &Status, effects: &mut Vec<Effect>) {
        let failed = if status.msg_ref.0 == 0 {
            self.last_server_msg
        } else {
            status.msg_ref
        };
        let (requeued, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|f| f.msg_id == failed && f.status.is_none() && f.item_statuses.is_empty());
        self.in_flight = kept;
        effects.push(Effect::Warning {
            warning: SessionWarning::DeviceCouldNotProcess {
                msg_ref: status.msg_ref,
                status: status.code,
                requeued: requeued.len(),
            },
        });
        effects.extend(
            requeued
                .into_iter()
                .map(|f| Effect::CommandUnanswered { command: f.command }),
        );
    }

    /// After the client's final message of a package: every command in flight is either reported
    /// with its verdict ([`verdict`](super::verdict)) or, without a status, unanswered (it goes
    /// back to pending). `installs_waiting`: app-management commands are pending.
    fn settle(&mut self, now: i64, installs_waiting: bool, effects: &mut Vec<Effect>) {
        // Once a report named the channel's URI, later partial reports in the same message do
        // not replace it.
        let mut channel_named = false;
        for f in self.in_flight.drain(..) {
            let (status, items) = match (f.status, f.item_statuses.is_empty()) {
                (Some(status), true) => (Some(status), ItemOutcomes::default()),
                (status, false) => {
                    let items = ItemOutcomes {
                        total: f.item_count.max(f.item_statuses.len()),
                        failed: f
                            .item_statuses
                            .iter()
                            .filter(|(_, code)| !code.is_success())
                            .map(|(loc_uri, code)| ItemFailure {
                                loc_uri: loc_uri.clone(),
                                status: *code,
                            })
                            .collect(),
                    };
                    // The command's own status if it sent one, else its first successful Item's,
                    // else its first failed Item's.
                    let derived = f
                        .item_statuses
                        .iter()
                        .find(|(_, code)| code.is_success())
                        .or_else(|| f.item_statuses.first())
                        .map(|(_, code)| (*code, None));
                    (status.or(derived), items)
                }
                (None, true) => (None, ItemOutcomes::default()),
            };
            let Some((status, original_error)) = status else {
                effects.push(Effect::CommandUnanswered { command: f.command });
                continue;
            };
            // A command answered item by item says how many Items failed, and how.
            let detail = match (items.summary(), &original_error) {
                (Some(summary), Some(e)) => Some(format!("{summary}; {e}")),
                (summary, e) => summary.or_else(|| e.clone()),
            };
            let judged = judge(
                &Answer {
                    class: f.class,
                    target: f.target.as_deref(),
                    status,
                    detail,
                    results: &f.results,
                },
                now,
                installs_waiting,
            );
            effects.push(Effect::CommandReported {
                command: f.command,
                class: f.class,
                verdict: judged.verdict,
                status,
                original_error,
                results: f.results,
                target: f.target,
                items,
            });
            if let Some(channel) = judged.channel {
                let names_uri = channel.report.as_ref().is_some_and(|r| r.uri.is_some());
                if channel.report.is_none() || !channel_named {
                    channel_named |= names_uri;
                    effects.push(Effect::ChannelObserved { channel });
                }
            }
            if let Some(reason) = judged.retire {
                effects.push(Effect::DeviceRetired { reason });
            }
            if let Some(why) = judged.wake {
                effects.push(Effect::WakeDevice { why });
            }
        }
    }
}

impl ActiveSession {
    /// False (with a warning) for a `./DevInfo/DevId` that names another device than the one the
    /// session belongs to (the certificate's, checked against the SyncHdr Source): the
    /// certificate decides the identity, the reported value is not kept.
    fn is_own_dev_id(&self, item: &ResultItem, effects: &mut Vec<Effect>) -> bool {
        if item.loc_uri != DEV_ID_URI {
            return true;
        }
        let reported = item.data.as_deref().unwrap_or_default().trim();
        if reported == self.device_id {
            return true;
        }
        effects.push(Effect::Warning {
            warning: SessionWarning::DevIdMismatch {
                reported: reported.chars().take(64).collect(),
                device_id: self.device_id.clone(),
            },
        });
        false
    }
}

/// The node holding the device's identity in package 1 ([MS-MDM] §3.1.5.1.1: `./DevInfo/DevId`).
const DEV_ID_URI: &str = "./DevInfo/DevId";

/// Generic alerts (1226) and client events (1224) other than LoginStatus, which the context
/// decision already read.
fn read_event_alert(alert: &casement_syncml::Alert, effects: &mut Vec<Effect>) {
    for item in &alert.items {
        let alert_type = item.meta.as_ref().and_then(|m| m.type_value());
        if alert_type == Some(LOGIN_STATUS_TYPE) {
            continue;
        }
        if alert.code == AlertCode::Generic && alert_type == Some(UNENROLL_ALERT_TYPE) {
            effects.push(Effect::UnenrollmentRequested);
            continue;
        }
        effects.push(Effect::Alert {
            code: alert.code.code(),
            alert_type: alert_type.map(str::to_owned),
            data: item.data.as_ref().map(|d| d.as_str().to_owned()),
        });
    }
}
