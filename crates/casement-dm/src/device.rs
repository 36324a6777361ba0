//! The OMA-DM session core in the device role: package 1 as Windows 8.1 and Windows 10/11 build
//! it, and answers to the server's commands from a [`DeviceTree`].
//!
//! ```text
//!  start ──package 1──▶ AwaitingReply ──server message with commands──▶ (reply: statuses, results)
//!                            │  ▲                                            │
//!                            │  └────────────────────────────────────────────┘
//!                            └── server message without commands (status only) ──▶ Done
//! ```
//!
//! Windows answers every server command with a Status in order (MsgRef = the server's MsgID,
//! CmdRef = its CmdID) and a Results after each successful Get ([MS-MDM] §3.1.5.1.6); it sends
//! nothing back to a message that carries statuses only ([MS-MDM] §2.2.6.1). Windows 10/11
//! answer a command with several Items with one Status per Item, naming it in `TargetRef`, then
//! one Results for the Items read (`docs/protocol.md`, "Per-item statuses"); Windows 8.1 gives
//! one Status per command.

use casement_syncml::{
    Alert, AlertCode, CmdId, CmdKind, Command, Container, Data, Item, ItemCommand, Location, Meta,
    MsgId, Results, Status, StatusCode, SyncBody, SyncHdr, SyncMl, SyncMlVersion,
};
use serde::{Deserialize, Serialize};

use crate::evidence::LOGIN_STATUS_TYPE;
use crate::server::UNENROLL_ALERT_TYPE;

/// A node's value as a Get returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeValue {
    /// `Meta/Format` (`chr`, `int`, `node`, …).
    pub format: String,
    /// The value.
    pub data: String,
}

/// The device's management tree (the WMI bridge on Windows 8.1, CSPs on Windows 10/11). Each
/// operation returns the status Windows would: 404 for an unknown node, 405 where the operation is
/// not allowed, a failure where impersonation is needed but impossible, …
pub trait DeviceTree {
    /// Reads a node.
    fn get(&mut self, uri: &str) -> Result<NodeValue, StatusCode>;
    /// Adds a node.
    fn add(&mut self, uri: &str, data: Option<&Data>) -> StatusCode;
    /// Replaces a node's value.
    fn replace(&mut self, uri: &str, data: Option<&Data>) -> StatusCode;
    /// Deletes a node.
    fn delete(&mut self, uri: &str) -> StatusCode;
    /// Runs a method node (`…/Exec=Method`, a CSP's Exec node).
    fn exec(&mut self, uri: &str, data: Option<&Data>) -> StatusCode;
    /// Starts an Atomic: later changes must be undoable until [`Self::end_atomic`].
    fn begin_atomic(&mut self) {}
    /// Ends an Atomic, keeping (`commit`) or undoing its changes.
    fn end_atomic(&mut self, _commit: bool) {}
}

/// Which Windows generation a device speaks like (the one type every crate shares).
pub use casement_platform::Platform;

/// What goes into package 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package1 {
    /// The device ID (`./DevInfo/DevId`, SyncHdr Source).
    pub device_id: String,
    /// The management URL (the provisioned ADDR, without query), SyncHdr Target.
    pub server_uri: String,
    /// The SessionID (Windows desktop: decimal, incremented per session).
    pub session_id: String,
    /// The platform.
    pub platform: Platform,
    /// Windows 10/11 LoginStatus value (`user`, `others`, `none`); not sent when `None`.
    pub login_status: Option<String>,
    /// A push started this session: Alert 1200 instead of 1201.
    pub push_triggered: bool,
    /// `./DevInfo/*` values, in order.
    pub devinfo: Vec<(String, String)>,
    /// The user disconnected the device: generic alert 1226 unenrollment.
    pub unenroll_request: bool,
}

/// The device side of one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSession {
    package1: Package1,
    last_msg: MsgId,
    /// True once the server ended the session.
    pub done: bool,
}

impl DeviceSession {
    /// Builds package 1 and the session that follows it.
    pub fn start(package1: Package1) -> (Self, SyncMl) {
        let mut commands = Vec::new();
        let mut ids = 1u32..;
        let mut next_id = || CmdId(ids.next().map_or(1, |i| i + 1));
        let code = if package1.push_triggered {
            AlertCode::ServerInitiatedMgmt
        } else {
            AlertCode::ClientInitiatedMgmt
        };
        commands.push(alert(next_id(), code, Vec::new()));
        if let (Platform::Windows10, Some(login)) = (package1.platform, &package1.login_status) {
            let item = Item {
                meta: Some(Meta::of_type(LOGIN_STATUS_TYPE)),
                data: Some(Data::text(login.clone())),
                ..Item::default()
            };
            commands.push(alert(next_id(), AlertCode::ClientEvent, vec![item]));
        }
        if package1.unenroll_request {
            let meta =
                Meta::of_type(UNENROLL_ALERT_TYPE).with(casement_syncml::MetInf::Format, "int");
            let item = Item {
                meta: Some(meta),
                data: Some(Data::text("1")),
                ..Item::default()
            };
            commands.push(alert(next_id(), AlertCode::Generic, vec![item]));
        }
        if !package1.devinfo.is_empty() {
            let items = package1
                .devinfo
                .iter()
                .map(|(uri, value)| Item {
                    source: Some(Location::uri(uri.clone())),
                    data: Some(Data::text(value.clone())),
                    ..Item::default()
                })
                .collect();
            commands.push(Command::Replace(ItemCommand {
                cmd_id: next_id(),
                no_resp: false,
                correlator: None,
                meta: None,
                items,
            }));
        }
        let session = Self {
            package1,
            last_msg: MsgId(1),
            done: false,
        };
        let message = session.message(MsgId(1), commands);
        (session, message)
    }

    /// The SessionID of this session.
    pub fn session_id(&self) -> &str {
        &self.package1.session_id
    }

    /// Answers a server message. `None` when the message carries no command: the session is over
    /// and nothing is sent back.
    pub fn on_server_message(
        &mut self,
        reply: &SyncMl,
        tree: &mut dyn DeviceTree,
    ) -> Option<SyncMl> {
        let has_commands = reply
            .body
            .commands
            .iter()
            .any(|c| !matches!(c, Command::Status(_)));
        if !has_commands || self.done {
            self.done = true;
            return None;
        }
        let msg_ref = reply.header.msg_id;
        let mut out = Vec::new();
        let mut ids = 1u32..;
        let mut next_id = move || CmdId(ids.next().unwrap_or(1));
        out.push(Command::Status(status(
            next_id(),
            msg_ref,
            0,
            CmdKind::SyncHdr,
            StatusCode::Ok,
        )));
        let per_item = self.package1.platform == Platform::Windows10;
        for command in &reply.body.commands {
            answer(command, msg_ref, per_item, tree, &mut next_id, &mut out);
        }
        self.last_msg = MsgId(self.last_msg.0 + 1);
        Some(self.message(self.last_msg, out))
    }

    fn message(&self, msg_id: MsgId, commands: Vec<Command>) -> SyncMl {
        SyncMl {
            version: SyncMlVersion::V1_2,
            header: SyncHdr {
                ver_dtd: "1.2".into(),
                ver_proto: "DM/1.2".into(),
                session_id: self.package1.session_id.clone(),
                msg_id,
                target: Location::uri(self.package1.server_uri.clone()),
                source: Location::uri(self.package1.device_id.clone()),
                resp_uri: None,
                no_resp: false,
                cred: None,
                meta: None,
            },
            body: SyncBody {
                commands,
                is_final: true,
            },
        }
    }
}

/// Runs one server command against the tree and appends its Status (and Results). With
/// `per_item` (Windows 10/11), a command with several Items gets one Status per Item.
fn answer(
    command: &Command,
    msg_ref: MsgId,
    per_item: bool,
    tree: &mut dyn DeviceTree,
    next_id: &mut dyn FnMut() -> CmdId,
    out: &mut Vec<Command>,
) {
    let cmd_ref = command.cmd_id().0;
    let kind = command.kind();
    match command {
        Command::Status(_) | Command::Results(_) => {}
        Command::Alert(_) => out.push(Command::Status(status(
            next_id(),
            msg_ref,
            cmd_ref,
            kind,
            StatusCode::Ok,
        ))),
        Command::Get(c) => {
            let per_item = per_item && c.items.len() > 1;
            let mut items = Vec::new();
            let mut code = StatusCode::Ok;
            for item in &c.items {
                let outcome = item.loc_uri().map_or(Err(StatusCode::BadRequest), |uri| {
                    tree.get(uri).map(|v| (uri, v))
                });
                if per_item {
                    let item_code = outcome.as_ref().map_or_else(|c| *c, |_| StatusCode::Ok);
                    out.push(Command::Status(item_status(
                        status(next_id(), msg_ref, cmd_ref, kind, item_code),
                        item,
                    )));
                }
                match outcome {
                    Ok((uri, value)) => items.push(Item {
                        source: Some(Location::uri(uri)),
                        meta: Some(Meta::format(value.format)),
                        data: Some(Data::text(value.data)),
                        ..Item::default()
                    }),
                    Err(failure) => code = failure,
                }
            }
            if !per_item {
                out.push(Command::Status(status(
                    next_id(),
                    msg_ref,
                    cmd_ref,
                    kind,
                    code,
                )));
            }
            if (per_item && !items.is_empty()) || (!per_item && code.is_success()) {
                out.push(Command::Results(Results {
                    cmd_id: next_id(),
                    msg_ref: Some(msg_ref),
                    cmd_ref,
                    cmd: Some(CmdKind::Get),
                    meta: None,
                    target_refs: Vec::new(),
                    source_refs: Vec::new(),
                    items,
                }));
            }
        }
        Command::Add(c) | Command::Replace(c) | Command::Delete(c) | Command::Exec(c)
            if per_item && c.items.len() > 1 =>
        {
            for item in &c.items {
                let code = run_item(kind, item, tree);
                out.push(Command::Status(item_status(
                    status(next_id(), msg_ref, cmd_ref, kind, code),
                    item,
                )));
            }
        }
        Command::Add(c) | Command::Replace(c) | Command::Delete(c) | Command::Exec(c) => {
            // The first status other than 200 (a failure, or 202 accepted) speaks for the command.
            let code = c
                .items
                .iter()
                .map(|item| run_item(kind, item, tree))
                .find(|code| *code != StatusCode::Ok)
                .unwrap_or(StatusCode::Ok);
            let code = if c.items.is_empty() {
                StatusCode::BadRequest
            } else {
                code
            };
            out.push(Command::Status(status(
                next_id(),
                msg_ref,
                cmd_ref,
                kind,
                code,
            )));
        }
        Command::Sequence(c) => {
            out.push(Command::Status(status(
                next_id(),
                msg_ref,
                cmd_ref,
                kind,
                StatusCode::Ok,
            )));
            for inner in &c.commands {
                answer(inner, msg_ref, per_item, tree, next_id, out);
            }
        }
        Command::Atomic(c) => atomic(c, msg_ref, per_item, tree, next_id, out),
    }
}

/// All or nothing: on any failure the tree rolls back, the Atomic reports 507 and the nested
/// commands that had succeeded report 216 ([MS-MDM] §3.1.5.1.3).
fn atomic(
    c: &Container,
    msg_ref: MsgId,
    per_item: bool,
    tree: &mut dyn DeviceTree,
    next_id: &mut dyn FnMut() -> CmdId,
    out: &mut Vec<Command>,
) {
    tree.begin_atomic();
    let mut nested = Vec::new();
    for inner in &c.commands {
        answer(inner, msg_ref, per_item, tree, next_id, &mut nested);
    }
    let failed = nested
        .iter()
        .any(|n| matches!(n, Command::Status(s) if !s.code.is_success()));
    tree.end_atomic(!failed);
    let code = if failed {
        StatusCode::AtomicFailed
    } else {
        StatusCode::Ok
    };
    out.push(Command::Status(status(
        next_id(),
        msg_ref,
        c.cmd_id.0,
        CmdKind::Atomic,
        code,
    )));
    for mut n in nested {
        if let (true, Command::Status(s)) = (failed, &mut n)
            && s.code.is_success()
        {
            s.code = StatusCode::AtomicRollBackOk;
        }
        if failed && matches!(n, Command::Results(_)) {
            continue;
        }
        out.push(n);
    }
}

fn run_item(kind: CmdKind, item: &Item, tree: &mut dyn DeviceTree) -> StatusCode {
    let Some(uri) = item.loc_uri() else {
        return StatusCode::BadRequest;
    };
    match kind {
        CmdKind::Add => tree.add(uri, item.data.as_ref()),
        CmdKind::Replace => tree.replace(uri, item.data.as_ref()),
        CmdKind::Delete => tree.delete(uri),
        CmdKind::Exec => tree.exec(uri, item.data.as_ref()),
        _ => StatusCode::OptionalFeatureNotSupported,
    }
}

/// A per-item Status: names its Item's LocURI in `TargetRef`.
fn item_status(mut status: Status, item: &Item) -> Status {
    status.target_refs = item.loc_uri().map(str::to_owned).into_iter().collect();
    status
}

fn alert(cmd_id: CmdId, code: AlertCode, items: Vec<Item>) -> Command {
    Command::Alert(Alert {
        cmd_id,
        no_resp: false,
        correlator: None,
        code,
        items,
    })
}

fn status(cmd_id: CmdId, msg_ref: MsgId, cmd_ref: u32, cmd: CmdKind, code: StatusCode) -> Status {
    Status {
        cmd_id,
        msg_ref,
        cmd_ref,
        cmd,
        target_refs: vec![],
        source_refs: vec![],
        cred: None,
        chal: None,
        code,
        original_error: None,
        items: vec![],
    }
}
