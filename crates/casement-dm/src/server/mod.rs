//! The OMA-DM session core in the server role: a pure state machine.
//!
//! ```text
//!            package 1 (Alert 1201/1200, LoginStatus, DevInfo)
//!  (none) ─────────────────────────────────────────────▶ Active ──┐ client message with statuses
//!                                                          │  ▲    │ → reply with statuses + the
//!                                                          │  └────┘   next allowed commands
//!            reply with statuses only + Final (nothing     │
//!            left to send), Alert 1223, protocol error     ▼
//!                                                        Ended
//! ```
//!
//! Inputs are `now`, the incoming message, the session state, a snapshot of the device's pending
//! commands and the [`ServerConfig`]; outputs are the reply, the [`Effect`]s the service must apply
//! (in one transaction, before the reply is written) and the next state. The state is a
//! serializable value that lives in storage between HTTP requests.
//!
//! Reply shape ([MS-MDM] §2.2.6.1, §2.2.7): Status for the SyncHdr first, one Status per received
//! command in order (Status and Results commands are not answered with a Status when they are
//! statuses themselves — Status never gets a Status), then the commands the context allows, then
//! Final. A reply with no new command ends the session: Windows does not answer it.

mod inbound;
mod outbound;
mod outcome;
mod profiles;
mod upkeep;
mod verdict;

use casement_syncml::{CmdId, CmdKind, Command, MsgId, StatusCode, SyncMl};
use serde::{Deserialize, Serialize};

use crate::command::{CommandRef, PendingCommand, ResultItem};
use crate::context::{CommandClass, ContextPolicy};
use crate::evidence::{ContextDecision, ModeParam, Package1Facts};

pub use inbound::UNENROLL_ALERT_TYPE;
pub use outbound::Budget;
pub use outcome::{ItemFailure, ItemOutcomes, SessionWarning, in_words};
pub use upkeep::ChannelUpkeep;
pub use verdict::{ChannelObservation, Verdict, WIPE_ACKNOWLEDGED};

/// What the server core needs to know besides the messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// The context policy table.
    pub policy: ContextPolicy,
    /// Limits on each reply.
    pub budget: Budget,
    /// Keep the device's push channel up ([`upkeep`]); `None`: WNS is not configured or
    /// automatic push configuration is off.
    pub channel_upkeep: Option<ChannelUpkeep>,
    /// The device's configuration profiles that need work ([`crate::profiles::work`]): read at
    /// package 1 only; the session keeps those it works on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<crate::profiles::work::DeviceProfile>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            policy: ContextPolicy::WINDOWS,
            budget: Budget::default(),
            channel_upkeep: None,
            profiles: Vec::new(),
        }
    }
}

/// A session in progress, kept in storage between the device's HTTP requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveSession {
    /// The device's `SessionID`, echoed in every reply.
    pub session_id: String,
    /// The device ID (`SyncHdr/Source/LocURI` of package 1).
    pub device_id: String,
    /// The server URI the device addressed (`SyncHdr/Target/LocURI`), our Source in replies.
    pub server_uri: String,
    /// The context and how it was determined.
    pub decision: ContextDecision,
    /// When package 1 arrived (unix milliseconds).
    pub started_at: i64,
    /// When the last client message arrived.
    pub last_seen_at: i64,
    /// The MsgID of the last client message handled.
    pub last_client_msg: MsgId,
    /// The MsgID of our last reply.
    pub last_server_msg: MsgId,
    /// The next CmdID to assign (unique across the session's replies).
    pub next_cmd_id: u32,
    /// Commands sent whose outcome has not been reported yet.
    pub in_flight: Vec<InFlight>,
    /// Commands sent in this session (never sent twice in one session).
    pub sent: Vec<CommandRef>,
    /// Our last reply, compact XML, replayed if the device sends the same message again.
    pub last_reply: String,
    /// The configuration profiles with a command in flight in this session, followed as the
    /// device answers ([`crate::profiles::work`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<crate::profiles::work::DeviceProfile>,
}

/// A command sent and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// The queued command.
    pub command: CommandRef,
    /// Its class.
    pub class: CommandClass,
    /// The reply that carried it.
    pub msg_id: MsgId,
    /// Its CmdID in that reply.
    pub cmd_id: CmdId,
    /// Its element name.
    pub kind: CmdKind,
    /// The LocURI of its first item (what a Get read, what an Exec ran), so that a reported
    /// outcome can be judged by what it was about (e.g. an install check). Absent in session
    /// states recorded before it existed.
    #[serde(default)]
    pub target: Option<String>,
    /// CmdIDs of commands nested in it (Atomic, Sequence), whose statuses belong to it.
    pub nested: Vec<CmdId>,
    /// How many Items it has (its per-item statuses are counted against it). Absent (0) in
    /// session states recorded before it existed.
    #[serde(default)]
    pub item_count: usize,
    /// Its status, once received.
    pub status: Option<(StatusCode, Option<String>)>,
    /// Statuses received one per Item (`TargetRef` and code), when the device answers that way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_statuses: Vec<(String, StatusCode)>,
    /// Results received for it (Get).
    pub results: Vec<ResultItem>,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "detail")]
pub enum SessionOutcome {
    /// The server sent a status-only reply: nothing left to do.
    Completed,
    /// The device sent Alert 1223.
    AbortedByDevice,
    /// A newer session of the device replaced this one before it ended (e.g. a lost reply).
    Abandoned,
    /// The device broke the protocol (wrong SessionID, MsgID out of order, …).
    ProtocolError(String),
}

/// A change the service applies to storage, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "effect")]
pub enum Effect {
    /// Package 1 arrived: the session exists with this context.
    SessionStarted {
        /// The context and its evidence.
        decision: ContextDecision,
    },
    /// DevInfo (or other) values the device replaced on its own (package 1's `./DevInfo/*`).
    DeviceInfo {
        /// The values.
        items: Vec<ResultItem>,
    },
    /// The core queued a command of its own ([`upkeep`]: the second step of an inventory read,
    /// the push channel's upkeep). It is a candidate for this very reply: store it before the
    /// `CommandSent` that may follow.
    CommandQueued {
        /// Its id.
        command: CommandRef,
        /// What it is part of.
        kind: crate::catalog::CommandKind,
        /// The command.
        spec: crate::catalog::QueuedSpec,
    },
    /// A queued command went out in this reply.
    CommandSent {
        /// The command.
        command: CommandRef,
        /// Its class.
        class: CommandClass,
        /// The reply's MsgID.
        msg_id: MsgId,
        /// Its CmdID.
        cmd_id: CmdId,
    },
    /// The device reported a command's outcome, and what it means ([`Verdict`]: done, failed,
    /// or back to pending). A command answered item by item is reported with the status of its
    /// first successful Item (the first failure's when none succeeded) and every failed Item in
    /// `items`.
    CommandReported {
        /// The command.
        command: CommandRef,
        /// Its class.
        class: CommandClass,
        /// Where it goes.
        verdict: Verdict,
        /// The device's status for it.
        status: StatusCode,
        /// `msft:originalerror`, if given.
        original_error: Option<String>,
        /// Results (for a Get).
        results: Vec<ResultItem>,
        /// The LocURI of the command's first item, when it has items.
        target: Option<String>,
        /// How its Items fared, when the device answered them one by one.
        items: ItemOutcomes,
    },
    /// A device × profile moved on ([`crate::profiles::work`]): its nodes as they are now, the
    /// status they give, and the drift found (to count and record).
    ProfileProgress {
        /// The profile's id.
        profile: String,
        /// The profile revision the nodes are of.
        revision: i64,
        /// The status the nodes give.
        status: crate::profiles::work::ProfileStatus,
        /// Every node's state.
        nodes: Vec<crate::profiles::work::NodeRecord>,
        /// Nodes a drift check found changed on the device (re-applied).
        drift: Vec<crate::profiles::work::DriftFound>,
    },
    /// A command sent but never answered (lost reply, aborted or abandoned session): it goes
    /// back to pending, keeping its identity.
    CommandUnanswered {
        /// The command.
        command: CommandRef,
    },
    /// A pending command expired before it could be sent.
    CommandExpired {
        /// The command.
        command: CommandRef,
    },
    /// A Status for a command this session never sent: reported, not trusted.
    UnmatchedStatus {
        /// Its MsgRef.
        msg_ref: MsgId,
        /// Its CmdRef.
        cmd_ref: u32,
        /// Its Cmd.
        cmd: CmdKind,
        /// Its code.
        code: StatusCode,
    },
    /// Results for a Get this session never sent: reported, not stored.
    UnmatchedResults {
        /// Its MsgRef, if given.
        msg_ref: Option<MsgId>,
        /// Its CmdRef.
        cmd_ref: u32,
    },
    /// The user disconnected the device (generic alert 1226 `com.microsoft:mdm.unenrollment.userrequest`).
    UnenrollmentRequested,
    /// Another generic alert (1226) or client event (1224) the core does not act on.
    Alert {
        /// The alert code.
        code: u16,
        /// `Item/Meta/Type`.
        alert_type: Option<String>,
        /// `Item/Data`.
        data: Option<String>,
    },
    /// What the push channel is now (reported by the device, refused, or being configured).
    ChannelObserved {
        /// The observation.
        channel: ChannelObservation,
    },
    /// The device is retired (it acknowledged an unenrollment); its certificate is refused from
    /// now on.
    DeviceRetired {
        /// Why, in words.
        reason: String,
    },
    /// Wake the device by push (no sooner than the channel's push interval) so that it comes back
    /// soon: an install still running, or a channel back while installs wait.
    WakeDevice {
        /// Why, in words.
        why: String,
    },
    /// Something the administrator should know about this session (recorded and shown).
    Warning {
        /// What.
        warning: SessionWarning,
    },
    /// The session is over.
    SessionEnded {
        /// How.
        outcome: SessionOutcome,
    },
}

/// The result of handling one client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The reply to send.
    pub reply: SyncMl,
    /// The reply as compact XML (what goes on the wire; a replay returns the same bytes).
    pub reply_xml: String,
    /// The changes to apply before replying.
    pub effects: Vec<Effect>,
    /// The state to store; `None` when the session has ended.
    pub next: Option<ActiveSession>,
}

/// Handles package 1 of a new session. `mode` is the query parameter as received.
pub fn start(
    now: i64,
    message: &SyncMl,
    mode: ModeParam,
    pending: &[PendingCommand],
    config: &ServerConfig,
) -> Step {
    let decision = ContextDecision::decide(mode, Package1Facts::read(message));
    start_decided(now, message, decision, pending, config)
}

/// [`start`] with the context already decided ([`ContextDecision::decide`] on this package 1
/// and the request's `mode`), for a caller that needs the decision to choose what is pending
/// (e.g. the periodic channel re-read only a Maintenance session may carry): the context is
/// decided once.
pub fn start_decided(
    now: i64,
    message: &SyncMl,
    decision: ContextDecision,
    pending: &[PendingCommand],
    config: &ServerConfig,
) -> Step {
    let session = ActiveSession {
        session_id: message.header.session_id.clone(),
        device_id: message.header.source.loc_uri.clone(),
        server_uri: message.header.target.loc_uri.clone(),
        decision: decision.clone(),
        started_at: now,
        last_seen_at: now,
        last_client_msg: MsgId(message.header.msg_id.0.saturating_sub(1)),
        last_server_msg: MsgId(0),
        next_cmd_id: 1,
        in_flight: Vec::new(),
        sent: Vec::new(),
        last_reply: String::new(),
        profiles: Vec::new(),
    };
    let mut effects = vec![Effect::SessionStarted {
        decision: decision.clone(),
    }];
    let mut session = session;
    let planned = profiles::plan(&mut session, config, decision.context, now);
    let upkeep = upkeep::channel_upkeep(
        config.channel_upkeep.as_ref(),
        &config.policy,
        decision.context,
        pending,
        &session.device_id,
        now,
    );
    let mut step = if upkeep.is_empty() && planned.candidates.is_empty() {
        effects.extend(planned.effects);
        session.handle(now, message, pending, config)
    } else {
        let candidates: Vec<PendingCommand> = upkeep
            .iter()
            .map(|q| q.pending.clone())
            .chain(planned.candidates)
            .chain(pending.iter().cloned())
            .collect();
        effects.extend(upkeep.into_iter().map(|q| q.effect));
        effects.extend(planned.effects);
        session.handle(now, message, &candidates, config)
    };
    effects.append(&mut step.effects);
    step.effects = effects;
    step
}

impl ActiveSession {
    /// Handles a further client message of this session. A repeat of the last message (same
    /// MsgID) gets the same reply again and changes nothing.
    pub fn on_message(
        self,
        now: i64,
        message: &SyncMl,
        pending: &[PendingCommand],
        config: &ServerConfig,
    ) -> Step {
        if message.header.session_id != self.session_id
            || message.header.source.loc_uri != self.device_id
        {
            let reason = "SessionID or Source does not match the session".to_owned();
            return self.fail(now, message, reason);
        }
        if message.header.msg_id == self.last_client_msg {
            return self.replay();
        }
        if message.header.msg_id.0 != self.last_client_msg.0 + 1 {
            let reason = format!(
                "MsgID {} out of order (expected {})",
                message.header.msg_id.0,
                self.last_client_msg.0 + 1
            );
            return self.fail(now, message, reason);
        }
        self.handle(now, message, pending, config)
    }

    /// Ends a session that will get no further message (a new session of the same device began,
    /// or it timed out): every command sent and not answered goes back to pending. Apply these
    /// effects before taking the pending snapshot for the device's next session.
    pub fn abandon(self) -> Vec<Effect> {
        let mut effects = self.unanswered();
        effects.push(Effect::SessionEnded {
            outcome: SessionOutcome::Abandoned,
        });
        effects
    }

    fn replay(self) -> Step {
        let reply =
            casement_syncml::parse(self.last_reply.as_bytes()).expect("our own reply parses");
        Step {
            reply,
            reply_xml: self.last_reply.clone(),
            effects: Vec::new(),
            next: Some(self),
        }
    }

    /// Answers a protocol violation with a 400 for the header and ends the session.
    fn fail(self, _now: i64, message: &SyncMl, reason: String) -> Step {
        let mut reply = outbound::reply_skeleton(&self, message, MsgId(self.last_server_msg.0 + 1));
        reply.body.commands.push(outbound::header_status(
            message,
            CmdId(1),
            StatusCode::BadRequest,
        ));
        reply.body.is_final = true;
        let mut effects = self.unanswered();
        effects.push(Effect::SessionEnded {
            outcome: SessionOutcome::ProtocolError(reason),
        });
        let reply_xml = casement_syncml::to_string(&reply);
        Step {
            reply,
            reply_xml,
            effects,
            next: None,
        }
    }

    /// `CommandUnanswered` for every command in flight.
    fn unanswered(&self) -> Vec<Effect> {
        self.in_flight
            .iter()
            .map(|f| Effect::CommandUnanswered {
                command: f.command.clone(),
            })
            .collect()
    }

    fn take_cmd_id(&mut self) -> CmdId {
        let id = CmdId(self.next_cmd_id);
        self.next_cmd_id += 1;
        id
    }
}

/// True when `command` is one a status-only reply would need to answer (everything but Status).
pub(crate) fn needs_status(command: &Command) -> bool {
    !matches!(command, Command::Status(_))
}
