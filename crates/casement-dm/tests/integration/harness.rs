//! A two-party harness (after quinn's `Pair`): the server core, a device core with an in-memory
//! tree, a queue model that applies the server's effects as storage will, a clock, and a hook to
//! alter or drop a message in flight.

use std::collections::BTreeMap;

use casement_dm::device::{DeviceSession, DeviceTree, NodeValue, Package1, Platform};
use casement_dm::server::{self, ActiveSession, Effect, ServerConfig};
use casement_dm::*;
use casement_syncml::{Command, Data, ItemCommand, StatusCode, SyncMl};

/// Where a command stands in the queue model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Pending,
    Sent,
    Done(StatusCode, Vec<ResultItem>),
    Failed(StatusCode),
    Expired,
}

#[derive(Debug, Clone)]
pub struct Queued {
    pub pending: PendingCommand,
    pub state: State,
    pub attempts: u32,
}

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToServer,
    ToDevice,
}

/// What the in-flight hook decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Deliver,
    Drop,
}

type Hook = Box<dyn FnMut(Direction, &mut SyncMl) -> Delivery>;

/// A device tree: nodes with values, exec calls recorded, some URIs failing with a status.
#[derive(Debug, Default)]
pub struct MemoryTree {
    pub nodes: BTreeMap<String, String>,
    pub execs: Vec<(String, Option<String>)>,
    pub failing: BTreeMap<String, StatusCode>,
    pub exec_status: Option<StatusCode>,
    atomic_backup: Option<BTreeMap<String, String>>,
}

impl DeviceTree for MemoryTree {
    fn get(&mut self, uri: &str) -> Result<NodeValue, StatusCode> {
        if let Some(code) = self.failing.get(uri) {
            return Err(*code);
        }
        self.nodes
            .get(uri)
            .map(|v| NodeValue {
                format: "chr".into(),
                data: v.clone(),
            })
            .ok_or(StatusCode::NotFound)
    }
    fn add(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        if self.nodes.contains_key(uri) {
            return StatusCode::AlreadyExists;
        }
        self.replace(uri, data)
    }
    fn replace(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        if let Some(code) = self.failing.get(uri) {
            return *code;
        }
        self.nodes.insert(
            uri.into(),
            data.map(|d| d.as_str().to_owned()).unwrap_or_default(),
        );
        StatusCode::Ok
    }
    fn delete(&mut self, uri: &str) -> StatusCode {
        if self.nodes.remove(uri).is_some() {
            StatusCode::Ok
        } else {
            StatusCode::NotFound
        }
    }
    fn exec(&mut self, uri: &str, data: Option<&Data>) -> StatusCode {
        if let Some(code) = self.failing.get(uri) {
            return *code;
        }
        self.execs
            .push((uri.into(), data.map(|d| d.as_str().to_owned())));
        self.exec_status.unwrap_or(StatusCode::Ok)
    }
    fn begin_atomic(&mut self) {
        self.atomic_backup = Some(self.nodes.clone());
    }
    fn end_atomic(&mut self, commit: bool) {
        if let (false, Some(backup)) = (commit, self.atomic_backup.take()) {
            self.nodes = backup;
        }
    }
}

/// What one session did.
#[derive(Debug, Default)]
pub struct Transcript {
    pub context: Option<Context>,
    pub messages: Vec<(Direction, SyncMl)>,
    pub effects: Vec<Effect>,
    /// Commands each server reply carried, by queue id.
    pub delivered: Vec<CommandRef>,
}

pub struct Pair {
    pub config: ServerConfig,
    pub server: Option<ActiveSession>,
    pub tree: MemoryTree,
    pub queue: Vec<Queued>,
    pub now: i64,
    pub device_id: String,
    pub platform: Platform,
    pub hook: Option<Hook>,
    sessions: u32,
}

impl Pair {
    pub fn new(platform: Platform) -> Self {
        Self {
            config: ServerConfig::default(),
            server: None,
            tree: MemoryTree::default(),
            queue: Vec::new(),
            now: 1_700_000_000_000,
            device_id: "B5B954E81FBCB94EB79BD08BE625F4EE".into(),
            platform,
            hook: None,
            sessions: 0,
        }
    }

    /// Queues a command; returns its id.
    pub fn queue(&mut self, id: &str, class: CommandClass, command: Command) -> CommandRef {
        let id = CommandRef(id.into());
        self.queue.push(Queued {
            pending: PendingCommand {
                id: id.clone(),
                class,
                command,
                expires_at: None,
            },
            state: State::Pending,
            attempts: 0,
        });
        id
    }

    pub fn state(&self, id: &str) -> &State {
        &self
            .queue
            .iter()
            .find(|q| q.pending.id.0 == id)
            .expect("queued")
            .state
    }

    pub fn attempts(&self, id: &str) -> u32 {
        self.queue
            .iter()
            .find(|q| q.pending.id.0 == id)
            .expect("queued")
            .attempts
    }

    /// What the storage layer would hand the core: pending commands in queue order.
    fn pending(&self) -> Vec<PendingCommand> {
        self.queue
            .iter()
            .filter(|q| q.state == State::Pending)
            .map(|q| q.pending.clone())
            .collect()
    }

    /// Runs one session from package 1 until the server ends it, the device stops, or a message
    /// is dropped. `mode` is the query value; `login` the Windows 10 LoginStatus.
    pub fn session(
        &mut self,
        mode: Option<&str>,
        login: Option<&str>,
        push_triggered: bool,
    ) -> Transcript {
        self.sessions += 1;
        let package1 = Package1 {
            device_id: self.device_id.clone(),
            server_uri: "https://mdm.example/ManagementServer/MDM.svc".into(),
            session_id: self.sessions.to_string(),
            platform: self.platform,
            login_status: login.map(str::to_owned),
            push_triggered,
            devinfo: vec![
                ("./DevInfo/DevId".into(), self.device_id.clone()),
                ("./DevInfo/Man".into(), "Contoso".into()),
            ],
            unenroll_request: false,
        };
        let (mut device, first) = DeviceSession::start(package1);
        self.drive(&mut device, first, ModeParam::parse(mode))
    }

    /// Runs a session from a given first message (e.g. a real capture).
    pub fn drive(
        &mut self,
        device: &mut DeviceSession,
        first: SyncMl,
        mode: ModeParam,
    ) -> Transcript {
        let mut transcript = Transcript::default();
        let mut outgoing = first;
        let mut first_message = true;
        loop {
            self.now += 50;
            if self.deliver(Direction::ToServer, &mut outgoing, &mut transcript) == Delivery::Drop {
                return transcript;
            }
            let previous = self.server.take();
            if let (true, Some(old)) = (first_message, &previous) {
                // A new session replaces the old one: its unanswered commands are pending again
                // before the new session's snapshot is taken.
                let effects = old.clone().abandon();
                self.apply(&effects, &mut transcript);
            }
            let pending = self.pending();
            let step = match (first_message, previous) {
                (true, _) => {
                    server::start(self.now, &outgoing, mode.clone(), &pending, &self.config)
                }
                (false, Some(active)) => {
                    active.on_message(self.now, &outgoing, &pending, &self.config)
                }
                (false, None) => panic!("device sent a message after the session ended"),
            };
            first_message = false;
            // The reply on the wire must be what the core returned.
            assert_eq!(
                casement_syncml::parse(step.reply_xml.as_bytes()).unwrap(),
                step.reply
            );
            self.apply(&step.effects, &mut transcript);
            self.server = step.next;
            let mut reply = step.reply;
            if self.deliver(Direction::ToDevice, &mut reply, &mut transcript) == Delivery::Drop {
                return transcript;
            }
            match device.on_server_message(&reply, &mut self.tree) {
                Some(next) => outgoing = next,
                None => return transcript,
            }
        }
    }

    fn deliver(
        &mut self,
        direction: Direction,
        message: &mut SyncMl,
        transcript: &mut Transcript,
    ) -> Delivery {
        // Every message crosses the wire as XML.
        *message = casement_syncml::parse(casement_syncml::to_string(message).as_bytes()).unwrap();
        let delivery = self
            .hook
            .as_mut()
            .map_or(Delivery::Deliver, |hook| hook(direction, message));
        transcript.messages.push((direction, message.clone()));
        delivery
    }

    /// Applies effects to the queue model the way the storage layer will.
    fn apply(&mut self, effects: &[Effect], transcript: &mut Transcript) {
        for effect in effects {
            transcript.effects.push(effect.clone());
            match effect {
                Effect::SessionStarted { decision } => transcript.context = Some(decision.context),
                Effect::CommandSent { command, .. } => {
                    transcript.delivered.push(command.clone());
                    let q = self
                        .queue
                        .iter_mut()
                        .find(|q| &q.pending.id == command)
                        .expect("sent command is queued");
                    assert_eq!(q.state, State::Pending, "{command} sent while not pending");
                    q.state = State::Sent;
                    q.attempts += 1;
                }
                Effect::CommandReported {
                    command,
                    verdict,
                    status,
                    results,
                    ..
                } => {
                    let q = self
                        .queue
                        .iter_mut()
                        .find(|q| &q.pending.id == command)
                        .expect("reported command is queued");
                    assert_eq!(q.state, State::Sent, "{command} reported while not sent");
                    q.state = match verdict {
                        server::Verdict::Done(_) => State::Done(*status, results.clone()),
                        server::Verdict::Failed(_) => State::Failed(*status),
                        server::Verdict::Retry(_) => State::Pending,
                    };
                }
                Effect::CommandUnanswered { command } => {
                    let q = self
                        .queue
                        .iter_mut()
                        .find(|q| &q.pending.id == command)
                        .expect("queued");
                    q.state = State::Pending;
                }
                Effect::CommandExpired { command } => {
                    let q = self
                        .queue
                        .iter_mut()
                        .find(|q| &q.pending.id == command)
                        .expect("queued");
                    q.state = State::Expired;
                }
                _ => {}
            }
        }
    }
}

/// A Get of one node.
pub fn get(uri: &str) -> Command {
    Command::Get(ItemCommand::target(casement_syncml::CmdId(1), uri))
}

/// An Exec with chr data.
pub fn exec(uri: &str, data: &str) -> Command {
    let mut c = ItemCommand::target(casement_syncml::CmdId(1), uri);
    c.items[0].meta = Some(casement_syncml::Meta::format("chr"));
    c.items[0].data = Some(Data::text(data));
    Command::Exec(c)
}

/// A Replace of one node.
pub fn replace(uri: &str, value: &str) -> Command {
    let mut c = ItemCommand::target(casement_syncml::CmdId(1), uri);
    c.items[0].data = Some(Data::text(value));
    Command::Replace(c)
}
