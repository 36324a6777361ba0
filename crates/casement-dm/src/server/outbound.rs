//! Building replies: the header, statuses, and the selection of pending commands the context
//! allows, within the message budget.

use casement_syncml::{
    Alert, AlertCode, CmdId, CmdKind, Command, Location, MsgId, Status, StatusCode, SyncBody,
    SyncHdr, SyncMl,
};
use serde::{Deserialize, Serialize};

use super::{ActiveSession, Effect, InFlight, ServerConfig, needs_status};
use crate::command::PendingCommand;
use crate::context::CommandClass;

/// Limits on one reply. An Atomic or Sequence counts as one command and is never split; a single
/// command larger than `max_bytes` is still sent, alone, so that it cannot block the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Most new commands in one reply.
    pub max_commands: usize,
    /// Most bytes of new commands in one reply (their compact XML).
    pub max_bytes: usize,
}

impl Default for Budget {
    /// 50 commands, 128 KiB: small messages, since Windows handles large ones poorly
    /// ([MS-MDM] App. B <13>; a Windows 11 client aborted with 1223 on a large result).
    fn default() -> Self {
        Self {
            max_commands: 50,
            max_bytes: 128 * 1024,
        }
    }
}

impl ActiveSession {
    /// Appends to `reply` the pending commands the session's context allows, in queue order,
    /// until the budget is spent; records them in flight. Returns how many were added.
    pub(super) fn send_pending(
        &mut self,
        now: i64,
        pending: &[PendingCommand],
        config: &ServerConfig,
        reply: &mut SyncMl,
        reply_msg: MsgId,
        effects: &mut Vec<Effect>,
    ) -> usize {
        let context = self.decision.context;
        let (mut count, mut bytes) = (0usize, 0usize);
        for p in pending {
            if self.sent.contains(&p.id) || !config.policy.allows(p.class, context) {
                continue;
            }
            if p.expires_at.is_some_and(|at| at <= now) {
                effects.push(Effect::CommandExpired {
                    command: p.id.clone(),
                });
                continue;
            }
            if count >= config.budget.max_commands {
                break;
            }
            let mut command = p.command.clone();
            let cmd_id = self.take_cmd_id();
            command.set_cmd_id(cmd_id);
            let nested = self.renumber_nested(&mut command);
            let size = casement_syncml::command_to_string(&command).len();
            if count > 0 && bytes + size > config.budget.max_bytes {
                break;
            }
            count += 1;
            bytes += size;
            self.in_flight.push(InFlight {
                command: p.id.clone(),
                class: p.class,
                msg_id: reply_msg,
                cmd_id,
                kind: command.kind(),
                target: command
                    .items()
                    .first()
                    .and_then(|i| i.loc_uri())
                    .map(str::to_owned),
                nested,
                item_count: command.items().len(),
                status: None,
                item_statuses: Vec::new(),
                results: Vec::new(),
            });
            self.sent.push(p.id.clone());
            let channel_seen = effects
                .iter()
                .any(|e| matches!(e, Effect::ChannelObserved { .. }));
            if p.class == CommandClass::PushConfiguration && !channel_seen {
                effects.push(Effect::ChannelObserved {
                    channel: super::verdict::configuring(),
                });
            }
            effects.push(Effect::CommandSent {
                command: p.id.clone(),
                class: p.class,
                msg_id: reply_msg,
                cmd_id,
            });
            reply.body.commands.push(command);
        }
        count
    }

    /// Gives fresh CmdIDs to the commands nested in an Atomic or Sequence; returns them.
    fn renumber_nested(&mut self, command: &mut Command) -> Vec<CmdId> {
        let mut ids = Vec::new();
        if let Command::Atomic(c) | Command::Sequence(c) = command {
            for inner in &mut c.commands {
                let id = self.take_cmd_id();
                inner.set_cmd_id(id);
                ids.push(id);
                ids.extend(self.renumber_nested(inner));
            }
        }
        ids
    }
}

/// The reply's header: the device's SessionID, our MsgID, Target and Source swapped.
pub(super) fn reply_skeleton(session: &ActiveSession, message: &SyncMl, msg_id: MsgId) -> SyncMl {
    SyncMl {
        version: message.version,
        header: SyncHdr {
            ver_dtd: "1.2".into(),
            ver_proto: "DM/1.2".into(),
            session_id: session.session_id.clone(),
            msg_id,
            target: Location::uri(session.device_id.clone()),
            source: Location::uri(session.server_uri.clone()),
            resp_uri: None,
            no_resp: false,
            cred: None,
            meta: None,
        },
        body: SyncBody::default(),
    }
}

/// The Status for the client's SyncHdr (`CmdRef` 0).
pub(super) fn header_status(message: &SyncMl, cmd_id: CmdId, code: StatusCode) -> Command {
    Command::Status(status(
        message.header.msg_id,
        cmd_id,
        0,
        CmdKind::SyncHdr,
        code,
    ))
}

/// The Status answering one client command.
pub(super) fn status_for(
    msg_ref: MsgId,
    command: &Command,
    cmd_id: CmdId,
    code: StatusCode,
) -> Command {
    debug_assert!(needs_status(command));
    Command::Status(status(
        msg_ref,
        cmd_id,
        command.cmd_id().0,
        command.kind(),
        code,
    ))
}

/// A server alert without items (e.g. 1222, next message).
pub(super) fn alert(cmd_id: CmdId, code: AlertCode) -> Command {
    Command::Alert(Alert {
        cmd_id,
        no_resp: false,
        correlator: None,
        code,
        items: Vec::new(),
    })
}

fn status(msg_ref: MsgId, cmd_id: CmdId, cmd_ref: u32, cmd: CmdKind, code: StatusCode) -> Status {
    Status {
        cmd_id,
        msg_ref,
        cmd_ref,
        cmd,
        target_refs: Vec::new(),
        source_refs: Vec::new(),
        cred: None,
        chal: None,
        code,
        original_error: None,
        items: Vec::new(),
    }
}
