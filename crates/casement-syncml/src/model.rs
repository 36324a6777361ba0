//! The typed SyncML 1.2 message as Windows speaks it ([MS-MDM] §2.2; OMA SyncML RepPro 1.2).
//!
//! Element order inside `SyncBody`, `Atomic` and `Sequence` is kept exactly as received: the
//! protocol answers commands in order and the server's `Status` list must follow it.

use serde::{Deserialize, Serialize};

use crate::codes::{AlertCode, StatusCode};

/// A whole SyncML message: `<SyncML xmlns="SYNCML:SYNCML1.2">`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMl {
    /// The namespace version on the root element (`SYNCML:SYNCML1.2` or `1.1`).
    pub version: SyncMlVersion,
    /// `SyncHdr`.
    pub header: SyncHdr,
    /// `SyncBody`.
    pub body: SyncBody,
}

/// The SyncML namespace on the root element; [MS-MDM] §2.2.2 requires 1.2, Windows 11 also
/// accepts 1.1 from a server, and some OMA-DM clients still send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SyncMlVersion {
    /// `SYNCML:SYNCML1.1`
    V1_1,
    /// `SYNCML:SYNCML1.2`
    V1_2,
}

impl SyncMlVersion {
    /// The namespace URI written on the root element.
    pub const fn namespace(self) -> &'static str {
        match self {
            Self::V1_1 => "SYNCML:SYNCML1.1",
            Self::V1_2 => "SYNCML:SYNCML1.2",
        }
    }
}

/// A message identifier: starts at 1 in each session and direction ([MS-MDM] §2.2.3.6). As a
/// `MsgRef` it may be 0: a Status the device sends about a server message it could not process
/// (see `docs/protocol.md`, "MsgRef 0").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MsgId(pub u32);

/// A command identifier, unique within a message and never 0 ([MS-MDM] §2.2.3.2). `CmdRef` 0
/// means the SyncHdr, so a [`CmdRef`] may be 0 while a `CmdId` may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CmdId(pub u32);

/// `SyncHdr` ([MS-MDM] §2.2.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncHdr {
    /// `VerDTD`, `1.2`.
    pub ver_dtd: String,
    /// `VerProto`, `DM/1.2`.
    pub ver_proto: String,
    /// `SessionID`: opaque, chosen by the client, echoed by the server.
    pub session_id: String,
    /// `MsgID`.
    pub msg_id: MsgId,
    /// `Target`: the recipient (server URL from a client, device ID from a server).
    pub target: Location,
    /// `Source`: the sender.
    pub source: Location,
    /// `RespURI`: where the next message should go.
    pub resp_uri: Option<String>,
    /// `NoResp`: the sender wants no status for the header.
    pub no_resp: bool,
    /// `Cred`: application-level credentials (basic or MD5 digest).
    pub cred: Option<Cred>,
    /// `Meta` (Windows ignores it on input).
    pub meta: Option<Meta>,
}

/// A `Target` or `Source`: `LocURI` and an optional `LocName`. The URI is stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Location {
    /// `LocURI`.
    pub loc_uri: String,
    /// `LocName`.
    pub loc_name: Option<String>,
}

impl Location {
    /// A location with only a URI.
    pub fn uri(loc_uri: impl Into<String>) -> Self {
        Self {
            loc_uri: loc_uri.into(),
            loc_name: None,
        }
    }
}

/// `Cred`: credentials with their `Meta` (type `syncml:auth-md5` or `syncml:auth-basic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cred {
    /// `Meta`.
    pub meta: Option<Meta>,
    /// `Data`, usually base64.
    pub data: String,
}

/// `Chal`: a challenge in a Status, carrying the next nonce in its `Meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chal {
    /// `Meta` (Type, Format, NextNonce).
    pub meta: Meta,
}

/// `SyncBody`: the commands in their original order and whether `Final` closes the message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncBody {
    /// The commands, in order.
    pub commands: Vec<Command>,
    /// `<Final/>`: this message is the last of its package.
    pub is_final: bool,
}

/// One command of a `SyncBody` (or inside `Atomic` / `Sequence`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// `Add`.
    Add(ItemCommand),
    /// `Alert`.
    Alert(Alert),
    /// `Atomic`: all or nothing.
    Atomic(Container),
    /// `Delete`.
    Delete(ItemCommand),
    /// `Exec`.
    Exec(ItemCommand),
    /// `Get`.
    Get(ItemCommand),
    /// `Replace`.
    Replace(ItemCommand),
    /// `Results`: the answer to a `Get`.
    Results(Results),
    /// `Sequence`: in order.
    Sequence(Container),
    /// `Status`.
    Status(Status),
}

impl Command {
    /// The element name, as used in `Status/Cmd`.
    pub fn kind(&self) -> CmdKind {
        match self {
            Self::Add(_) => CmdKind::Add,
            Self::Alert(_) => CmdKind::Alert,
            Self::Atomic(_) => CmdKind::Atomic,
            Self::Delete(_) => CmdKind::Delete,
            Self::Exec(_) => CmdKind::Exec,
            Self::Get(_) => CmdKind::Get,
            Self::Replace(_) => CmdKind::Replace,
            Self::Results(_) => CmdKind::Results,
            Self::Sequence(_) => CmdKind::Sequence,
            Self::Status(_) => CmdKind::Status,
        }
    }

    /// The command's `CmdID`.
    pub fn cmd_id(&self) -> CmdId {
        match self {
            Self::Add(c) | Self::Delete(c) | Self::Exec(c) | Self::Get(c) | Self::Replace(c) => {
                c.cmd_id
            }
            Self::Alert(c) => c.cmd_id,
            Self::Atomic(c) | Self::Sequence(c) => c.cmd_id,
            Self::Results(c) => c.cmd_id,
            Self::Status(c) => c.cmd_id,
        }
    }

    /// Sets the command's `CmdID` (used when a queued command is placed in a message).
    pub fn set_cmd_id(&mut self, id: CmdId) {
        match self {
            Self::Add(c) | Self::Delete(c) | Self::Exec(c) | Self::Get(c) | Self::Replace(c) => {
                c.cmd_id = id
            }
            Self::Alert(c) => c.cmd_id = id,
            Self::Atomic(c) | Self::Sequence(c) => c.cmd_id = id,
            Self::Results(c) => c.cmd_id = id,
            Self::Status(c) => c.cmd_id = id,
        }
    }

    /// The items of an item-carrying command (empty for Atomic, Sequence and Status).
    pub fn items(&self) -> &[Item] {
        match self {
            Self::Add(c) | Self::Delete(c) | Self::Exec(c) | Self::Get(c) | Self::Replace(c) => {
                &c.items
            }
            Self::Alert(c) => &c.items,
            Self::Results(c) => &c.items,
            Self::Status(c) => &c.items,
            Self::Atomic(_) | Self::Sequence(_) => &[],
        }
    }
}

/// The names of SyncML commands, plus `SyncHdr` (a Status may answer the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CmdKind {
    /// `SyncHdr` (only as `Status/Cmd`).
    SyncHdr,
    /// `Add`.
    Add,
    /// `Alert`.
    Alert,
    /// `Atomic`.
    Atomic,
    /// `Delete`.
    Delete,
    /// `Exec`.
    Exec,
    /// `Get`.
    Get,
    /// `Replace`.
    Replace,
    /// `Results`.
    Results,
    /// `Sequence`.
    Sequence,
    /// `Status`.
    Status,
}

impl CmdKind {
    /// The element name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SyncHdr => "SyncHdr",
            Self::Add => "Add",
            Self::Alert => "Alert",
            Self::Atomic => "Atomic",
            Self::Delete => "Delete",
            Self::Exec => "Exec",
            Self::Get => "Get",
            Self::Replace => "Replace",
            Self::Results => "Results",
            Self::Sequence => "Sequence",
            Self::Status => "Status",
        }
    }

    /// The kind for an element name (exact, case-sensitive as XML is).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "SyncHdr" => Self::SyncHdr,
            "Add" => Self::Add,
            "Alert" => Self::Alert,
            "Atomic" => Self::Atomic,
            "Delete" => Self::Delete,
            "Exec" => Self::Exec,
            "Get" => Self::Get,
            "Replace" => Self::Replace,
            "Results" => Self::Results,
            "Sequence" => Self::Sequence,
            "Status" => Self::Status,
            _ => return None,
        })
    }
}

impl std::fmt::Display for CmdKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Add`, `Delete`, `Exec`, `Get` and `Replace`: a command over items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemCommand {
    /// `CmdID`.
    pub cmd_id: CmdId,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Correlator` (Exec only; unsupported by Windows but accepted).
    pub correlator: Option<String>,
    /// `Meta` that applies to every item.
    pub meta: Option<Meta>,
    /// `Item`s, at least one on a valid command.
    pub items: Vec<Item>,
}

impl ItemCommand {
    /// A command with one item targeting `loc_uri`.
    pub fn target(cmd_id: CmdId, loc_uri: impl Into<String>) -> Self {
        Self {
            cmd_id,
            no_resp: false,
            correlator: None,
            meta: None,
            items: vec![Item {
                target: Some(Location::uri(loc_uri)),
                ..Item::default()
            }],
        }
    }
}

/// `Alert`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// `CmdID`.
    pub cmd_id: CmdId,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Correlator`.
    pub correlator: Option<String>,
    /// `Data`: the alert code.
    pub code: AlertCode,
    /// `Item`s (typed by `Meta/Type` for 1224 and 1226).
    pub items: Vec<Item>,
}

/// `Atomic` and `Sequence`: nested commands kept whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// `CmdID`.
    pub cmd_id: CmdId,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Meta`.
    pub meta: Option<Meta>,
    /// The nested commands, in order.
    pub commands: Vec<Command>,
}

/// `Results`: what a `Get` read ([MS-MDM] §2.2.7.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Results {
    /// `CmdID`.
    pub cmd_id: CmdId,
    /// `MsgRef`: the message of the Get (absent means the previous message of the peer).
    pub msg_ref: Option<MsgId>,
    /// `CmdRef`: the Get's CmdID.
    pub cmd_ref: u32,
    /// `Cmd`, `Get` in practice (optional in the DTD).
    pub cmd: Option<CmdKind>,
    /// `Meta`.
    pub meta: Option<Meta>,
    /// `TargetRef`s.
    pub target_refs: Vec<String>,
    /// `SourceRef`s.
    pub source_refs: Vec<String>,
    /// `Item`s: one per node read.
    pub items: Vec<Item>,
}

/// `Status`: the outcome of one command (or of the SyncHdr when `cmd_ref` is 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// `CmdID`.
    pub cmd_id: CmdId,
    /// `MsgRef`: the message that carried the command.
    pub msg_ref: MsgId,
    /// `CmdRef`: the command's CmdID, 0 for the SyncHdr.
    pub cmd_ref: u32,
    /// `Cmd`: the command's name.
    pub cmd: CmdKind,
    /// `TargetRef`s.
    pub target_refs: Vec<String>,
    /// `SourceRef`s.
    pub source_refs: Vec<String>,
    /// `Cred`.
    pub cred: Option<Cred>,
    /// `Chal`.
    pub chal: Option<Chal>,
    /// `Data`: the status code.
    pub code: StatusCode,
    /// `msft:originalerror` on `Data` (Windows 10+, SyncApplicationVersion ≥ 3.0): the HRESULT
    /// behind the status ([MS-MDM] §2.2.5.1).
    pub original_error: Option<String>,
    /// `Item`s.
    pub items: Vec<Item>,
}

/// `Item`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Item {
    /// `Target`.
    pub target: Option<Location>,
    /// `Source`.
    pub source: Option<Location>,
    /// `Meta`.
    pub meta: Option<Meta>,
    /// `Data`.
    pub data: Option<Data>,
    /// `<MoreData/>`: more chunks of this large object follow.
    pub more_data: bool,
}

impl Item {
    /// The item's URI: its target if it has one, else its source.
    pub fn loc_uri(&self) -> Option<&str> {
        self.target
            .as_ref()
            .or(self.source.as_ref())
            .map(|l| l.loc_uri.as_str())
    }
}

/// `Data` content kept exactly as it came, so that a message written back is equivalent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Data {
    /// Character data, entities already decoded (`&lt;x&gt;` is stored as `<x>`), whitespace kept.
    Text(String),
    /// One `<![CDATA[…]]>` section (surrounding whitespace dropped), written back as CDATA.
    Cdata(String),
    /// Nested XML elements (e.g. EnterpriseDesktopAppManagement `<MsiInstallJob>`), stored as the
    /// exact inner XML text and written back verbatim.
    Xml(String),
}

impl Data {
    /// Plain text data.
    pub fn text(value: impl Into<String>) -> Self {
        Self::Text(value.into())
    }

    /// The value with insignificant surrounding whitespace removed (for Xml, the raw markup).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Text(s) | Self::Cdata(s) | Self::Xml(s) => s.trim(),
        }
    }
}

/// `Meta`, whose children live in the `syncml:metinf` namespace ([MS-MDM] §2.2.5.3), kept in
/// the order they came in (Windows writes `Type` before `Format`, the spec samples the reverse).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Meta {
    /// The fields in order; each field appears at most once.
    pub fields: Vec<(MetInf, String)>,
}

impl Meta {
    /// A Meta with only a format.
    pub fn format(format: impl Into<String>) -> Self {
        Self::default().with(MetInf::Format, format)
    }

    /// A Meta with only a type.
    pub fn of_type(r#type: impl Into<String>) -> Self {
        Self::default().with(MetInf::Type, r#type)
    }

    /// This Meta with `field` set to `value` (replacing an earlier value in place).
    pub fn with(mut self, field: MetInf, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.fields.iter_mut().find(|(f, _)| *f == field) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((field, value)),
        }
        self
    }

    /// The value of a field.
    pub fn get(&self, field: MetInf) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
    }

    /// `Format`.
    pub fn format_value(&self) -> Option<&str> {
        self.get(MetInf::Format)
    }

    /// `Type`.
    pub fn type_value(&self) -> Option<&str> {
        self.get(MetInf::Type)
    }
}

/// The `syncml:metinf` elements this codec reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MetInf {
    /// `Format` (`chr`, `int`, `bool`, `b64`, `node`, `xml`, …).
    Format,
    /// `Type` (a MIME type, or an alert type such as `com.microsoft/MDM/LoginStatus`).
    Type,
    /// `Mark` (`critical`, …).
    Mark,
    /// `Size` in bytes (first chunk of a large object).
    Size,
    /// `NextNonce` (digest authentication).
    NextNonce,
    /// `MaxMsgSize`.
    MaxMsgSize,
    /// `MaxObjSize`.
    MaxObjSize,
    /// `Version`.
    Version,
}

impl MetInf {
    /// The element name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Format => "Format",
            Self::Type => "Type",
            Self::Mark => "Mark",
            Self::Size => "Size",
            Self::NextNonce => "NextNonce",
            Self::MaxMsgSize => "MaxMsgSize",
            Self::MaxObjSize => "MaxObjSize",
            Self::Version => "Version",
        }
    }

    /// The field for an element name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Format,
            Self::Type,
            Self::Mark,
            Self::Size,
            Self::NextNonce,
            Self::MaxMsgSize,
            Self::MaxObjSize,
            Self::Version,
        ]
        .into_iter()
        .find(|f| f.as_str() == name)
    }
}
