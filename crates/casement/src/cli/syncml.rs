//! `casement syncml check FILE` and `casement syncml show FILE`: validate and pretty-print a
//! SyncML message, or a fragment of one (a `SyncBody`, a command, an `Item`, or a wrapper element
//! holding several), as documentation shows them.
//!
//! A file whose root element is `SyncML` is decoded with [`casement_syncml::parse`]; any other
//! root with [`casement_syncml::parse_fragment`]. Invalid input is reported with the byte offset,
//! the element path, the line and column, and the offending line with a caret under the spot.

use std::path::PathBuf;

use anyhow::Context;
use casement_syncml::{CmdKind, Command, Fragment, ParseError, ParseErrorKind, SyncMl};
use clap::{Args, Subcommand};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::{Invalid, print_stdout, read_input};

/// `casement syncml …`
#[derive(Debug, Args)]
pub struct SyncmlArgs {
    #[command(subcommand)]
    command: SyncmlCommand,
}

#[derive(Debug, Subcommand)]
enum SyncmlCommand {
    /// Validate a SyncML message or fragment: exit 0 if valid, 1 with the byte offset and
    /// element path if not, 2 if the file cannot be read.
    Check {
        /// The file to check (`-` for stdin).
        file: PathBuf,
    },
    /// Pretty-print a SyncML message or fragment (same exit codes as `check`).
    Show {
        /// The file to show (`-` for stdin).
        file: PathBuf,
    },
}

/// Runs a `syncml` subcommand.
pub fn run(args: SyncmlArgs) -> anyhow::Result<()> {
    match args.command {
        SyncmlCommand::Check { file } => {
            let (name, bytes) = read_input(&file)?;
            let decoded = decode(&name, &bytes)?;
            print_stdout(&format!("ok: {}\n", decoded.summary()))
        }
        SyncmlCommand::Show { file } => {
            let (name, bytes) = read_input(&file)?;
            let decoded = decode(&name, &bytes)?;
            print_stdout(&decoded.pretty())
        }
    }
}

/// A decoded input.
enum Decoded {
    Message(SyncMl),
    /// A fragment, with the element tree of its input (for the names of wrapper elements, which
    /// [`Fragment::List`] does not keep).
    Fragment(Fragment, Element),
}

fn decode(name: &str, bytes: &[u8]) -> anyhow::Result<Decoded> {
    let invalid = |err: ParseError| Invalid(describe(name, bytes, &err));
    match casement_syncml::parse(bytes) {
        Ok(message) => Ok(Decoded::Message(message)),
        // Some other root element: a fragment.
        Err(err) if matches!(err.kind, ParseErrorKind::NotSyncMl(_)) => {
            let fragment = casement_syncml::parse_fragment(bytes).map_err(invalid)?;
            let tree = std::str::from_utf8(bytes)
                .ok()
                .and_then(element_tree)
                .context("the fragment decoded but its element tree could not be read")?;
            Ok(Decoded::Fragment(fragment, tree))
        }
        Err(err) => Err(invalid(err).into()),
    }
}

impl Decoded {
    /// `SyncML 1.2 message, 3 commands (2 Alert, 1 Replace)`.
    fn summary(&self) -> String {
        match self {
            Self::Message(m) => {
                let kinds: Vec<_> = m.body.commands.iter().map(Command::kind).collect();
                let version = match m.version {
                    casement_syncml::SyncMlVersion::V1_1 => "1.1",
                    casement_syncml::SyncMlVersion::V1_2 => "1.2",
                };
                format!("SyncML {version} message, {}", count_commands(&kinds))
            }
            Self::Fragment(fragment, tree) => {
                let mut kinds = Vec::new();
                let mut items = 0;
                tally(fragment, &mut kinds, &mut items);
                let mut out = format!(
                    "SyncML fragment <{}>, {}",
                    tree.name,
                    count_commands(&kinds)
                );
                if items > 0 {
                    out.push_str(&format!(", {items} {}", plural(items, "item")));
                }
                out
            }
        }
    }

    /// The pretty form: for a message [`casement_syncml::to_string_pretty`]; for a fragment the
    /// same layout, built from the codec's compact encoding, wrapper elements taken from the
    /// input. Either way, decoding the output gives back the same value.
    fn pretty(&self) -> String {
        match self {
            Self::Message(m) => casement_syncml::to_string_pretty(m),
            Self::Fragment(fragment, tree) => {
                let mut out = String::new();
                pretty_fragment(fragment, Some(tree), 0, &mut out);
                out
            }
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// `3 commands (2 Alert, 1 Replace)`: top-level commands, kinds in order of first appearance.
fn count_commands(kinds: &[CmdKind]) -> String {
    let mut counts: Vec<(CmdKind, usize)> = Vec::new();
    for &kind in kinds {
        match counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind, 1)),
        }
    }
    let mut out = format!("{} {}", kinds.len(), plural(kinds.len(), "command"));
    if !counts.is_empty() {
        let parts: Vec<_> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        out.push_str(&format!(" ({})", parts.join(", ")));
    }
    out
}

fn tally(fragment: &Fragment, kinds: &mut Vec<CmdKind>, items: &mut usize) {
    match fragment {
        Fragment::Message(m) => kinds.extend(m.body.commands.iter().map(Command::kind)),
        Fragment::Body(b) => kinds.extend(b.commands.iter().map(Command::kind)),
        Fragment::Command(c) => kinds.push(c.kind()),
        Fragment::Item(_) => *items += 1,
        Fragment::List(list) => list.iter().for_each(|f| tally(f, kinds, items)),
    }
}

// ---------------------------------------------------------------------------------------------
// Error report

/// Only this many characters of the offending line are shown (compact messages are one line).
const SNIPPET_CHARS: usize = 100;
/// Characters kept before the caret when the line is cut.
const SNIPPET_BEFORE: usize = 40;

/// The full error report:
///
/// ```text
/// msg.xml: invalid SyncML at byte 412 (/SyncML/SyncBody/Status/CmdRef): expected …, found "x"
///   --> msg.xml:17:7
///    |
/// 17 |       <CmdRef>x</CmdRef>
///    |       ^
/// ```
fn describe(name: &str, bytes: &[u8], err: &ParseError) -> String {
    let offset = err.offset.min(bytes.len());
    let line_start = bytes[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = bytes[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| offset + i);
    let line_no = 1 + bytes[..line_start].iter().filter(|&&b| b == b'\n').count();
    let before: Vec<char> = String::from_utf8_lossy(&bytes[line_start..offset])
        .chars()
        .collect();
    let after: Vec<char> = String::from_utf8_lossy(&bytes[offset..line_end])
        .trim_end_matches('\r')
        .chars()
        .collect();
    let column = before.len() + 1;

    // Cut long lines around the caret.
    let skip = before.len().saturating_sub(SNIPPET_BEFORE);
    let shown_before = &before[skip..];
    let room = SNIPPET_CHARS - shown_before.len();
    let shown_after = &after[..after.len().min(room)];
    let mut snippet = String::new();
    if skip > 0 {
        snippet.push('…');
    }
    let printable = |c: char| if c.is_control() { ' ' } else { c };
    snippet.extend(shown_before.iter().copied().map(printable));
    let caret_at = snippet.chars().count();
    snippet.extend(shown_after.iter().copied().map(printable));
    if shown_after.len() < after.len() {
        snippet.push('…');
    }

    let gutter = " ".repeat(line_no.to_string().len());
    format!(
        "{name}: invalid SyncML {err}\n\
         {gutter}--> {name}:{line_no}:{column}\n\
         {gutter} |\n\
         {line_no} | {snippet}\n\
         {gutter} | {caret}^",
        caret = " ".repeat(caret_at),
    )
}

// ---------------------------------------------------------------------------------------------
// Pretty form of fragments

/// An element of the input: its start tag as written and its child elements. Only used to give
/// back the wrapper elements a [`Fragment::List`] stands for.
#[derive(Debug)]
struct Element {
    name: String,
    start_tag: String,
    self_closing: bool,
    children: Vec<Element>,
}

/// The element tree of an input the codec already accepted.
fn element_tree(input: &str) -> Option<Element> {
    let mut reader = Reader::from_str(input);
    let mut open: Vec<Element> = Vec::new();
    loop {
        let before = usize::try_from(reader.buffer_position()).ok()?;
        let event = reader.read_event().ok()?;
        let after = usize::try_from(reader.buffer_position()).ok()?;
        let element = |start: &quick_xml::events::BytesStart<'_>, self_closing| {
            Some(Element {
                name: start.name().as_ref().to_owned(),
                start_tag: input.get(before..after)?.to_owned(),
                self_closing,
                children: Vec::new(),
            })
        };
        let complete = match event {
            Event::Start(start) => {
                open.push(element(&start, false)?);
                continue;
            }
            Event::Empty(start) => element(&start, true)?,
            Event::End(_) => open.pop()?,
            Event::Eof => return None,
            _ => continue,
        };
        match open.last_mut() {
            Some(parent) => parent.children.push(complete),
            None => return Some(complete),
        }
    }
}

fn pretty_fragment(fragment: &Fragment, tree: Option<&Element>, level: usize, out: &mut String) {
    match (fragment, tree) {
        (Fragment::List(parts), Some(wrapper)) => {
            push_line(out, level, &wrapper.start_tag);
            for (i, part) in parts.iter().enumerate() {
                pretty_fragment(part, wrapper.children.get(i), level + 1, out);
            }
            if !wrapper.self_closing {
                push_line(out, level, &format!("</{}>", wrapper.name));
            }
        }
        (Fragment::List(parts), None) => {
            // Not expected: the tree mirrors the input. Keep the parts, unwrapped.
            for part in parts {
                pretty_fragment(part, None, level, out);
            }
        }
        (other, _) => pretty_xml(&casement_syncml::fragment_to_string(other), level, out),
    }
}

/// Indents the codec's compact output: one element per line, two spaces per level. Elements with
/// character data (and every `Data`, which may hold XML kept verbatim) stay on one line exactly as
/// written, so the value read back is unchanged.
fn pretty_xml(compact: &str, level: usize, out: &mut String) {
    let mut pretty = String::with_capacity(compact.len() * 2);
    if indent_xml(compact, level, &mut pretty).is_some() {
        out.push_str(&pretty);
    } else {
        // Not expected for the codec's own output; better unindented than lost.
        push_line(out, level, compact);
    }
}

fn indent_xml(compact: &str, mut level: usize, out: &mut String) -> Option<()> {
    let mut reader = Reader::from_str(compact);
    loop {
        let before = usize::try_from(reader.buffer_position()).ok()?;
        let event = reader.read_event().ok()?;
        let after = usize::try_from(reader.buffer_position()).ok()?;
        match event {
            Event::Start(start) => {
                let rest = &compact[after..];
                let leaf = start.local_name().as_ref() == "Data"
                    || !rest.starts_with('<')
                    || rest.starts_with("</")
                    || rest.starts_with("<![CDATA[");
                if leaf {
                    reader.read_to_end(start.name()).ok()?;
                    let end = usize::try_from(reader.buffer_position()).ok()?;
                    push_line(out, level, compact.get(before..end)?);
                } else {
                    push_line(out, level, compact.get(before..after)?);
                    level += 1;
                }
            }
            Event::End(_) => {
                level = level.checked_sub(1)?;
                push_line(out, level, compact.get(before..after)?);
            }
            Event::Eof => return Some(()),
            _ => push_line(out, level, compact.get(before..after)?),
        }
    }
}

fn push_line(out: &mut String, level: usize, text: &str) {
    for _ in 0..level {
        out.push_str("  ");
    }
    out.push_str(text);
    out.push('\n');
}
