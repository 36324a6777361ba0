//! The SyncML grammar on top of [`Cursor`]: what may appear where, required and unique elements,
//! and the conversion of values into typed fields.
//!
//! Accepted variants (what real clients send): compact or pretty XML, `SYNCML:SYNCML1.2` or `1.1`,
//! an XML declaration or none, single or double quotes, `xmlns:msft` on SyncBody, whitespace around
//! URIs and numbers, header children in any order. Refused: see [`crate::ParseErrorKind`].

use crate::codes::{AlertCode, StatusCode};
use crate::error::{ParseError, ParseErrorKind};
use crate::model::*;
use crate::reader::{Child, Cursor, Limits, excerpt};

/// Decodes a whole SyncML message with the default [`Limits`].
pub fn parse(input: &[u8]) -> Result<SyncMl, ParseError> {
    parse_with(input, Limits::default())
}

/// Decodes a whole SyncML message with explicit limits.
pub fn parse_with(input: &[u8], limits: Limits) -> Result<SyncMl, ParseError> {
    let mut cur = Cursor::new(input, limits)?;
    let root = cur.root()?;
    if root.name != "SyncML" {
        return Err(cur.error(ParseErrorKind::NotSyncMl(format!(
            "root element <{}>",
            excerpt(root.name)
        ))));
    }
    let version = root_version(&cur, &root)?;
    cur.syncml_ns = Some(version.namespace());
    let message = syncml(&mut cur, &root, version)?;
    cur.finish()?;
    Ok(message)
}

/// A piece of SyncML as documentation shows it: a whole message, a `SyncBody`, one command, one
/// `Item`, or any wrapper element holding several of those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    /// `<SyncML>`.
    Message(SyncMl),
    /// `<SyncBody>`.
    Body(SyncBody),
    /// One command element.
    Command(Command),
    /// One `<Item>`.
    Item(Item),
    /// A wrapper element's children, each a fragment.
    List(Vec<Fragment>),
}

/// Decodes a fragment (see [`Fragment`]) with the same rules as whole messages.
pub fn parse_fragment(input: &[u8]) -> Result<Fragment, ParseError> {
    let mut cur = Cursor::new(input, Limits::default())?;
    let root = cur.root()?;
    let fragment = if root.name == "SyncML" {
        let version = root_version(&cur, &root)?;
        cur.syncml_ns = Some(version.namespace());
        Fragment::Message(syncml(&mut cur, &root, version)?)
    } else {
        fragment(&mut cur, root)?
    };
    cur.finish()?;
    Ok(fragment)
}

fn fragment<'a>(cur: &mut Cursor<'a>, el: Child<'a>) -> Result<Fragment, ParseError> {
    if el.name == "SyncBody" {
        return Ok(Fragment::Body(body(cur, &el)?));
    }
    if el.name == "Item" {
        return Ok(Fragment::Item(item(cur, &el)?));
    }
    if let Some(kind) = CmdKind::from_name(el.name) {
        return Ok(Fragment::Command(command(cur, kind, &el)?));
    }
    let mut list = Vec::new();
    cur.children(&el, |cur, child| {
        list.push(fragment(cur, child)?);
        Ok(())
    })?;
    Ok(Fragment::List(list))
}

fn root_version(cur: &Cursor<'_>, root: &Child<'_>) -> Result<SyncMlVersion, ParseError> {
    let ns = cur.attribute(&root.start, "xmlns")?.unwrap_or_default();
    match ns.trim() {
        ns if ns.eq_ignore_ascii_case("SYNCML:SYNCML1.2") => Ok(SyncMlVersion::V1_2),
        ns if ns.eq_ignore_ascii_case("SYNCML:SYNCML1.1") => Ok(SyncMlVersion::V1_1),
        "" => Err(cur.error(ParseErrorKind::WrongNamespace(
            "none (expected SYNCML:SYNCML1.2)".into(),
        ))),
        other => Err(cur.error(ParseErrorKind::WrongNamespace(excerpt(other)))),
    }
}

fn syncml<'a>(
    cur: &mut Cursor<'a>,
    root: &Child<'a>,
    version: SyncMlVersion,
) -> Result<SyncMl, ParseError> {
    let mut header = None;
    let mut sync_body = None;
    cur.children(root, |cur, child| {
        match child.name {
            "SyncHdr" if header.is_none() && sync_body.is_none() => {
                header = Some(sync_hdr(cur, &child)?)
            }
            "SyncBody" if header.is_some() && sync_body.is_none() => {
                sync_body = Some(body(cur, &child)?)
            }
            "SyncBody" if header.is_none() => {
                return Err(cur.error(ParseErrorKind::MissingElement("SyncHdr")));
            }
            name => return Err(unexpected(cur, name)),
        }
        Ok(())
    })?;
    let header = header.ok_or_else(|| cur.error(ParseErrorKind::MissingElement("SyncHdr")))?;
    let body = sync_body.ok_or_else(|| cur.error(ParseErrorKind::MissingElement("SyncBody")))?;
    Ok(SyncMl {
        version,
        header,
        body,
    })
}

fn sync_hdr<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<SyncHdr, ParseError> {
    let (mut ver_dtd, mut ver_proto, mut session_id, mut msg_id) = (None, None, None, None);
    let (mut target, mut source, mut resp_uri, mut cred, mut meta) = (None, None, None, None, None);
    let mut no_resp = false;
    cur.children(el, |cur, child| match child.name {
        "VerDTD" => set_once(&mut ver_dtd, "VerDTD", trimmed(cur, &child)?, cur),
        "VerProto" => set_once(&mut ver_proto, "VerProto", trimmed(cur, &child)?, cur),
        "SessionID" => set_once(&mut session_id, "SessionID", trimmed(cur, &child)?, cur),
        "MsgID" => {
            let id = MsgId(number(cur, &child, false)?);
            set_once(&mut msg_id, "MsgID", id, cur)
        }
        "Target" => set_once(&mut target, "Target", location(cur, &child)?, cur),
        "Source" => set_once(&mut source, "Source", location(cur, &child)?, cur),
        "RespURI" => set_once(&mut resp_uri, "RespURI", trimmed(cur, &child)?, cur),
        "Cred" => set_once(&mut cred, "Cred", credentials(cur, &child)?, cur),
        "Meta" => set_once(&mut meta, "Meta", metadata(cur, &child)?, cur),
        "NoResp" => {
            cur.empty(&child)?;
            no_resp = true;
            Ok(())
        }
        name => Err(unexpected(cur, name)),
    })?;
    let missing = |name| cur.error(ParseErrorKind::MissingElement(name));
    Ok(SyncHdr {
        ver_dtd: ver_dtd.ok_or_else(|| missing("VerDTD"))?,
        ver_proto: ver_proto.ok_or_else(|| missing("VerProto"))?,
        session_id: session_id.ok_or_else(|| missing("SessionID"))?,
        msg_id: msg_id.ok_or_else(|| missing("MsgID"))?,
        target: target.ok_or_else(|| missing("Target"))?,
        source: source.ok_or_else(|| missing("Source"))?,
        resp_uri,
        no_resp,
        cred,
        meta,
    })
}

fn body<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<SyncBody, ParseError> {
    let mut out = SyncBody::default();
    cur.children(el, |cur, child| {
        if out.is_final {
            return Err(unexpected(cur, child.name));
        }
        if child.name == "Final" {
            cur.empty(&child)?;
            out.is_final = true;
            return Ok(());
        }
        let kind = command_kind(cur, child.name)?;
        out.commands.push(command(cur, kind, &child)?);
        Ok(())
    })?;
    Ok(out)
}

fn command_kind(cur: &Cursor<'_>, name: &str) -> Result<CmdKind, ParseError> {
    match CmdKind::from_name(name) {
        Some(CmdKind::SyncHdr) | None => Err(unexpected(cur, name)),
        Some(kind) => Ok(kind),
    }
}

fn command<'a>(cur: &mut Cursor<'a>, kind: CmdKind, el: &Child<'a>) -> Result<Command, ParseError> {
    cur.count_command()?;
    Ok(match kind {
        CmdKind::Add => Command::Add(item_command(cur, el, false)?),
        CmdKind::Delete => Command::Delete(item_command(cur, el, false)?),
        CmdKind::Exec => Command::Exec(item_command(cur, el, true)?),
        CmdKind::Get => Command::Get(item_command(cur, el, false)?),
        CmdKind::Replace => Command::Replace(item_command(cur, el, false)?),
        CmdKind::Alert => Command::Alert(alert(cur, el)?),
        CmdKind::Atomic => Command::Atomic(container(cur, el)?),
        CmdKind::Sequence => Command::Sequence(container(cur, el)?),
        CmdKind::Results => Command::Results(results(cur, el)?),
        CmdKind::Status => Command::Status(status(cur, el)?),
        CmdKind::SyncHdr => return Err(unexpected(cur, el.name)),
    })
}

fn item_command<'a>(
    cur: &mut Cursor<'a>,
    el: &Child<'a>,
    exec: bool,
) -> Result<ItemCommand, ParseError> {
    let (mut cmd_id, mut correlator, mut meta) = (None, None, None);
    let mut no_resp = false;
    let mut items = Vec::new();
    cur.children(el, |cur, child| match child.name {
        "CmdID" => set_once(
            &mut cmd_id,
            "CmdID",
            CmdId(number(cur, &child, false)?),
            cur,
        ),
        "NoResp" => {
            cur.empty(&child)?;
            no_resp = true;
            Ok(())
        }
        "Meta" => set_once(&mut meta, "Meta", metadata(cur, &child)?, cur),
        "Correlator" if exec => set_once(&mut correlator, "Correlator", trimmed(cur, &child)?, cur),
        "Item" => {
            items.push(item(cur, &child)?);
            Ok(())
        }
        name => Err(unexpected(cur, name)),
    })?;
    let cmd_id = cmd_id.ok_or_else(|| cur.error(ParseErrorKind::MissingElement("CmdID")))?;
    Ok(ItemCommand {
        cmd_id,
        no_resp,
        correlator,
        meta,
        items,
    })
}

fn alert<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<Alert, ParseError> {
    let (mut cmd_id, mut correlator, mut code) = (None, None, None);
    let mut no_resp = false;
    let mut items = Vec::new();
    cur.children(el, |cur, child| match child.name {
        "CmdID" => set_once(
            &mut cmd_id,
            "CmdID",
            CmdId(number(cur, &child, false)?),
            cur,
        ),
        "NoResp" => {
            cur.empty(&child)?;
            no_resp = true;
            Ok(())
        }
        "Data" => {
            let value = code_value(cur, &child)?;
            set_once(&mut code, "Data", AlertCode::from_code(value), cur)
        }
        "Correlator" => set_once(&mut correlator, "Correlator", trimmed(cur, &child)?, cur),
        "Item" => {
            items.push(item(cur, &child)?);
            Ok(())
        }
        name => Err(unexpected(cur, name)),
    })?;
    Ok(Alert {
        cmd_id: cmd_id.ok_or_else(|| cur.error(ParseErrorKind::MissingElement("CmdID")))?,
        no_resp,
        correlator,
        code: code.ok_or_else(|| cur.error(ParseErrorKind::MissingElement("Data")))?,
        items,
    })
}

fn container<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<Container, ParseError> {
    let (mut cmd_id, mut meta) = (None, None);
    let mut no_resp = false;
    let mut commands = Vec::new();
    cur.children(el, |cur, child| match child.name {
        "CmdID" => set_once(
            &mut cmd_id,
            "CmdID",
            CmdId(number(cur, &child, false)?),
            cur,
        ),
        "NoResp" => {
            cur.empty(&child)?;
            no_resp = true;
            Ok(())
        }
        "Meta" => set_once(&mut meta, "Meta", metadata(cur, &child)?, cur),
        name => {
            let kind = command_kind(cur, name)?;
            commands.push(command(cur, kind, &child)?);
            Ok(())
        }
    })?;
    let cmd_id = cmd_id.ok_or_else(|| cur.error(ParseErrorKind::MissingElement("CmdID")))?;
    Ok(Container {
        cmd_id,
        no_resp,
        meta,
        commands,
    })
}

fn results<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<Results, ParseError> {
    let (mut cmd_id, mut msg_ref, mut cmd_ref, mut cmd, mut meta) = (None, None, None, None, None);
    let (mut target_refs, mut source_refs, mut items) = (Vec::new(), Vec::new(), Vec::new());
    cur.children(el, |cur, child| match child.name {
        "CmdID" => set_once(
            &mut cmd_id,
            "CmdID",
            CmdId(number(cur, &child, false)?),
            cur,
        ),
        // MsgRef 0: Windows refers to a server message it could not process this way, and the
        // OMA-DM 1.2 Representation Protocol examples use it too (docs/protocol.md, "MsgRef 0").
        "MsgRef" => set_once(
            &mut msg_ref,
            "MsgRef",
            MsgId(number(cur, &child, true)?),
            cur,
        ),
        "CmdRef" => set_once(&mut cmd_ref, "CmdRef", number(cur, &child, true)?, cur),
        "Cmd" => set_once(&mut cmd, "Cmd", cmd_name(cur, &child)?, cur),
        "Meta" => set_once(&mut meta, "Meta", metadata(cur, &child)?, cur),
        "TargetRef" => {
            let _: () = target_refs.push(trimmed(cur, &child)?);
            Ok(())
        }
        "SourceRef" => {
            let _: () = source_refs.push(trimmed(cur, &child)?);
            Ok(())
        }
        "Item" => {
            let _: () = items.push(item(cur, &child)?);
            Ok(())
        }
        name => Err(unexpected(cur, name)),
    })?;
    let missing = |name| cur.error(ParseErrorKind::MissingElement(name));
    Ok(Results {
        cmd_id: cmd_id.ok_or_else(|| missing("CmdID"))?,
        msg_ref,
        cmd_ref: cmd_ref.ok_or_else(|| missing("CmdRef"))?,
        cmd,
        meta,
        target_refs,
        source_refs,
        items,
    })
}

fn status<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<Status, ParseError> {
    let (mut cmd_id, mut msg_ref, mut cmd_ref, mut cmd) = (None, None, None, None);
    let (mut cred, mut chal, mut code, mut original_error) = (None, None, None, None);
    let (mut target_refs, mut source_refs, mut items) = (Vec::new(), Vec::new(), Vec::new());
    cur.children(el, |cur, child| match child.name {
        "CmdID" => set_once(
            &mut cmd_id,
            "CmdID",
            CmdId(number(cur, &child, false)?),
            cur,
        ),
        // MsgRef 0: Windows refers to a server message it could not process this way, and the
        // OMA-DM 1.2 Representation Protocol examples use it too (docs/protocol.md, "MsgRef 0").
        "MsgRef" => set_once(
            &mut msg_ref,
            "MsgRef",
            MsgId(number(cur, &child, true)?),
            cur,
        ),
        "CmdRef" => set_once(&mut cmd_ref, "CmdRef", number(cur, &child, true)?, cur),
        "Cmd" => set_once(&mut cmd, "Cmd", cmd_name(cur, &child)?, cur),
        "TargetRef" => {
            let _: () = target_refs.push(trimmed(cur, &child)?);
            Ok(())
        }
        "SourceRef" => {
            let _: () = source_refs.push(trimmed(cur, &child)?);
            Ok(())
        }
        "Cred" => set_once(&mut cred, "Cred", credentials(cur, &child)?, cur),
        "Chal" => set_once(&mut chal, "Chal", challenge(cur, &child)?, cur),
        "Data" => {
            if !child.start.attributes_raw().is_empty() {
                original_error = cur.attribute(&child.start, "msft:originalerror")?;
            }
            let value = code_value(cur, &child)?;
            set_once(&mut code, "Data", StatusCode::from_code(value), cur)
        }
        "Item" => {
            let _: () = items.push(item(cur, &child)?);
            Ok(())
        }
        name => Err(unexpected(cur, name)),
    })?;
    let missing = |name| cur.error(ParseErrorKind::MissingElement(name));
    Ok(Status {
        cmd_id: cmd_id.ok_or_else(|| missing("CmdID"))?,
        msg_ref: msg_ref.ok_or_else(|| missing("MsgRef"))?,
        cmd_ref: cmd_ref.ok_or_else(|| missing("CmdRef"))?,
        cmd: cmd.ok_or_else(|| missing("Cmd"))?,
        target_refs,
        source_refs,
        cred,
        chal,
        code: code.ok_or_else(|| missing("Data"))?,
        original_error,
        items,
    })
}

fn item<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<Item, ParseError> {
    let mut out = Item::default();
    cur.children(el, |cur, child| match child.name {
        "Target" => set_once(&mut out.target, "Target", location(cur, &child)?, cur),
        "Source" => set_once(&mut out.source, "Source", location(cur, &child)?, cur),
        "Meta" => set_once(&mut out.meta, "Meta", metadata(cur, &child)?, cur),
        "Data" => set_once(&mut out.data, "Data", cur.data(&child)?, cur),
        "MoreData" => {
            cur.empty(&child)?;
            out.more_data = true;
            Ok(())
        }
        name => Err(unexpected(cur, name)),
    })?;
    Ok(out)
}

fn location<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<Location, ParseError> {
    let (mut loc_uri, mut loc_name) = (None, None);
    cur.children(el, |cur, child| match child.name {
        "LocURI" => set_once(&mut loc_uri, "LocURI", trimmed(cur, &child)?, cur),
        "LocName" => set_once(&mut loc_name, "LocName", trimmed(cur, &child)?, cur),
        name => Err(unexpected(cur, name)),
    })?;
    let loc_uri = loc_uri.ok_or_else(|| cur.error(ParseErrorKind::MissingElement("LocURI")))?;
    Ok(Location { loc_uri, loc_name })
}

fn credentials<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<Cred, ParseError> {
    let (mut meta, mut data) = (None, None);
    cur.children(el, |cur, child| match child.name {
        "Meta" => set_once(&mut meta, "Meta", metadata(cur, &child)?, cur),
        "Data" => set_once(&mut data, "Data", trimmed(cur, &child)?, cur),
        name => Err(unexpected(cur, name)),
    })?;
    let data = data.ok_or_else(|| cur.error(ParseErrorKind::MissingElement("Data")))?;
    Ok(Cred { meta, data })
}

fn challenge<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<Chal, ParseError> {
    let mut meta = None;
    cur.children(el, |cur, child| match child.name {
        "Meta" => set_once(&mut meta, "Meta", metadata(cur, &child)?, cur),
        name => Err(unexpected(cur, name)),
    })?;
    let meta = meta.ok_or_else(|| cur.error(ParseErrorKind::MissingElement("Meta")))?;
    Ok(Chal { meta })
}

/// `<Meta>`: children in `syncml:metinf`, declared on each child (as Windows does), on `<Meta>`,
/// or inherited; kept in their original order.
fn metadata<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<Meta, ParseError> {
    let mut meta = Meta::default();
    cur.children(el, |cur, child| {
        let Some(field) = MetInf::from_name(child.name) else {
            return Err(unexpected(cur, child.name));
        };
        if meta.get(field).is_some() {
            return Err(cur.error(ParseErrorKind::DuplicateElement(field.as_str())));
        }
        let value = trimmed(cur, &child)?;
        meta.fields.push((field, value));
        Ok(())
    })?;
    Ok(meta)
}

fn set_once<T>(
    slot: &mut Option<T>,
    name: &'static str,
    value: T,
    cur: &Cursor<'_>,
) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(cur.error(ParseErrorKind::DuplicateElement(name)));
    }
    *slot = Some(value);
    Ok(())
}

fn unexpected(cur: &Cursor<'_>, name: &str) -> ParseError {
    cur.error(ParseErrorKind::UnexpectedElement(excerpt(name)))
}

fn trimmed<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<String, ParseError> {
    let text = cur.text(el)?;
    let trimmed = text.trim();
    Ok(if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    })
}

/// A decimal integer; 0 only where `zero_ok` (CmdRef may reference the SyncHdr as 0; MsgRef may
/// be 0 in a device's Status and Results).
fn number<'a>(cur: &mut Cursor<'a>, el: &Child<'a>, zero_ok: bool) -> Result<u32, ParseError> {
    let text = cur.text(el)?;
    match text.trim().parse::<u32>() {
        Ok(0) if !zero_ok => Err(invalid(cur, "a positive integer", &text)),
        Ok(n) => Ok(n),
        Err(_) => Err(invalid(
            cur,
            if zero_ok {
                "an integer"
            } else {
                "a positive integer"
            },
            &text,
        )),
    }
}

fn code_value<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<u16, ParseError> {
    let text = cur.text(el)?;
    text.trim()
        .parse::<u16>()
        .map_err(|_| invalid(cur, "a numeric code", &text))
}

fn cmd_name<'a>(cur: &mut Cursor<'a>, el: &Child<'a>) -> Result<CmdKind, ParseError> {
    let text = cur.text(el)?;
    CmdKind::from_name(text.trim()).ok_or_else(|| invalid(cur, "a command name", &text))
}

fn invalid(cur: &Cursor<'_>, expected: &'static str, found: &str) -> ParseError {
    let found: String = found.chars().take(64).collect();
    cur.error(ParseErrorKind::InvalidValue { expected, found })
}
