//! Test support: enrolled devices without an enrollment, tree helpers, and a scripted in-memory
//! management server.

use std::collections::VecDeque;
use std::sync::Mutex;

use casement_dm::device::{DeviceTree, NodeValue};
use casement_syncml::{
    CmdId, CmdKind, Command, Container, Data, ItemCommand, Location, MsgId, Status, StatusCode,
    SyncBody, SyncHdr, SyncMl, SyncMlVersion,
};
use time::OffsetDateTime;
use time::macros::datetime;

use super::AgentState;
use super::tree::TreeEnv;
use super::triggers::UserAccess;
use crate::enroll::{Hardware, WindowsRelease};
use crate::http::{HttpRequest, HttpResponse, Transport, TransportError};
use crate::state::EnrolledDevice;

/// A weekday morning.
pub const NOW: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);
/// The management URL of the fixtures.
pub const SERVER: &str = "https://mdm.test/ManagementServer/MDM.svc";

/// An enrolled device of `platform` (fake PEM blocks, enough for save/load).
pub fn device(platform: WindowsRelease) -> EnrolledDevice {
    let hardware = Hardware {
        hw_dev_id: "A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90".into(),
        macs: vec!["00-0C-29-51-60-9D".into(), "00-0C-29-51-60-A7".into()],
        imei: None,
        os_version: platform.default_os_version().into(),
        os_edition: 48,
        locale: "en-US".into(),
    };
    EnrolledDevice {
        device_id: "B5B954E81FBCB94EB79BD08BE625F4EE".into(),
        device_name: "DESKTOP-SIM0001".into(),
        platform,
        upn: "ann@example.com".into(),
        auth_policy: "Federated".into(),
        enrollment_version: None,
        hardware,
        management_url: SERVER.into(),
        provider_id: "Casement".into(),
        certificate_thumbprint: "00".repeat(20),
        poll: None,
        enrolled_at: NOW - time::Duration::days(1),
        private_key_pem: "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n".into(),
        certificate_pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".into(),
        ca_certificates_pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
            .into(),
    }
}

/// A fresh agent state at [`NOW`].
pub fn state(device: &EnrolledDevice) -> AgentState {
    AgentState::new(device, NOW)
}

/// The environment of a run.
pub fn env(device: &EnrolledDevice, access: UserAccess) -> TreeEnv<'_> {
    TreeEnv {
        device,
        now: NOW,
        access,
    }
}

/// Get as `(format, data)` or the status code.
pub fn get(tree: &mut dyn DeviceTree, uri: &str) -> Result<(String, String), u16> {
    tree.get(uri)
        .map(|NodeValue { format, data }| (format, data))
        .map_err(|c| c.code())
}

/// The data of a Get that must succeed.
pub fn value(tree: &mut dyn DeviceTree, uri: &str) -> String {
    match get(tree, uri) {
        Ok((_, data)) => data,
        Err(code) => panic!("Get {uri}: {code}"),
    }
}

/// Text data.
pub fn text(s: &str) -> Option<Data> {
    Some(Data::text(s))
}

fn item_command(uri: &str, data: Option<&str>) -> ItemCommand {
    let mut c = ItemCommand::target(CmdId(1), uri);
    c.items[0].data = data.map(Data::text);
    c
}

/// A server Get.
pub fn get_cmd(uri: &str) -> Command {
    Command::Get(item_command(uri, None))
}

/// A server Exec.
pub fn exec_cmd(uri: &str, data: Option<&str>) -> Command {
    Command::Exec(item_command(uri, data))
}

/// A server Replace.
pub fn replace_cmd(uri: &str, data: &str) -> Command {
    Command::Replace(item_command(uri, Some(data)))
}

/// A server Atomic.
pub fn atomic_cmd(commands: Vec<Command>) -> Command {
    Command::Atomic(Container {
        cmd_id: CmdId(1),
        no_resp: false,
        meta: None,
        commands,
    })
}

/// What the fake server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The URL.
    pub url: String,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The message.
    pub message: SyncMl,
}

impl Seen {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A management server that answers each package 1 with the next scripted batch of commands
/// (none left: ends the session) and every later message with a status-only end.
#[derive(Debug, Default)]
pub struct FakeServer {
    /// Batches still to send, one per session.
    pub script: Mutex<VecDeque<Vec<Command>>>,
    /// Every request, in order.
    pub seen: Mutex<Vec<Seen>>,
    /// Answer every request with this HTTP status instead.
    pub fail_with: Mutex<Option<u16>>,
}

impl FakeServer {
    /// A server with a script.
    pub fn new(script: Vec<Vec<Command>>) -> Self {
        Self {
            script: Mutex::new(script.into()),
            ..Self::default()
        }
    }

    /// The messages received.
    pub fn messages(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Transport for FakeServer {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let message = casement_syncml::parse(&request.body)
            .map_err(|e| TransportError::Other(format!("device sent invalid SyncML: {e}")))?;
        self.seen.lock().unwrap().push(Seen {
            url: request.url.clone(),
            headers: request.headers.clone(),
            message: message.clone(),
        });
        if let Some(status) = *self.fail_with.lock().unwrap() {
            return Ok(HttpResponse {
                status,
                url: request.url,
                headers: vec![],
                body: b"server error".to_vec(),
            });
        }
        let batch = if message.header.msg_id == MsgId(1) {
            self.script.lock().unwrap().pop_front().unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut commands = vec![Command::Status(Status {
            cmd_id: CmdId(1),
            msg_ref: message.header.msg_id,
            cmd_ref: 0,
            cmd: CmdKind::SyncHdr,
            target_refs: vec![],
            source_refs: vec![],
            cred: None,
            chal: None,
            code: StatusCode::Ok,
            original_error: None,
            items: vec![],
        })];
        let mut next = 2u32;
        for mut command in batch {
            number(&mut command, &mut next);
            commands.push(command);
        }
        let reply = SyncMl {
            version: SyncMlVersion::V1_2,
            header: SyncHdr {
                ver_dtd: "1.2".into(),
                ver_proto: "DM/1.2".into(),
                session_id: message.header.session_id.clone(),
                msg_id: message.header.msg_id,
                target: Location::uri(message.header.source.loc_uri.clone()),
                source: Location::uri(SERVER),
                resp_uri: None,
                no_resp: false,
                cred: None,
                meta: None,
            },
            body: SyncBody {
                commands,
                is_final: true,
            },
        };
        Ok(HttpResponse {
            status: 200,
            url: request.url,
            headers: vec![("content-type".into(), casement_syncml::CONTENT_TYPE.into())],
            body: casement_syncml::to_string(&reply).into_bytes(),
        })
    }
}

fn number(command: &mut Command, next: &mut u32) {
    command.set_cmd_id(CmdId(*next));
    *next += 1;
    if let Command::Atomic(c) | Command::Sequence(c) = command {
        for inner in &mut c.commands {
            number(inner, next);
        }
    }
}
