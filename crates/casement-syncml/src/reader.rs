//! The event cursor under the SyncML grammar: well-formedness, limits, namespaces, element paths
//! and the exact capture of `<Data>`. It knows nothing of SyncML's element names beyond the
//! namespace rules.

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::error::{ParseError, ParseErrorKind};
use crate::model::Data;

/// Bounds applied while decoding, so that hostile input is refused early and cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted message in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting, counting the root as 1 (nested XML inside `<Data>` included).
    pub max_depth: usize,
    /// Most commands in one message, nested ones included.
    pub max_commands: usize,
}

impl Default for Limits {
    /// 4 MiB, depth 32, 10,000 commands: far above what Windows sends (it does not upload large
    /// objects in one message, [MS-MDM] App. B <13>), far below what hurts.
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 32,
            max_commands: 10_000,
        }
    }
}

/// The namespace of `<Meta>` children.
pub(crate) const METINF_NS: &str = "syncml:metinf";

/// An element start as the grammar sees it.
#[derive(Debug)]
pub(crate) struct Child<'a> {
    pub name: &'a str,
    pub empty: bool,
    pub start: BytesStart<'a>,
}

/// The decoding cursor.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    reader: Reader<&'a [u8]>,
    input: &'a str,
    limits: Limits,
    /// Open elements: name, 1-based index among same-named siblings, start offset.
    frames: Vec<Frame<'a>>,
    /// Same-named sibling counters: (depth, name, count).
    siblings: Vec<(usize, &'a str, u32)>,
    /// Offset of the event most recently read.
    event_start: usize,
    commands: usize,
    /// The SyncML namespace in force, if the root declared one (fragments may not).
    pub syncml_ns: Option<&'static str>,
}

#[derive(Debug, Clone, Copy)]
struct Frame<'a> {
    name: &'a str,
    index: u32,
    start: usize,
}

impl<'a> Cursor<'a> {
    /// Checks size and encoding, then readies a cursor. A UTF-8 byte order mark is skipped.
    pub fn new(input: &'a [u8], limits: Limits) -> Result<Self, ParseError> {
        let at = |offset, kind| ParseError {
            offset,
            path: "/".into(),
            kind,
        };
        if input.len() > limits.max_bytes {
            return Err(at(
                limits.max_bytes,
                ParseErrorKind::TooLarge {
                    size: input.len(),
                    limit: limits.max_bytes,
                },
            ));
        }
        let text = std::str::from_utf8(input)
            .map_err(|e| at(e.valid_up_to(), ParseErrorKind::InvalidUtf8))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // XML 1.0 `Char` excludes the C0 controls but tab, LF and CR (NUL above all): refused
        // anywhere, before any event is read.
        if let Some(offset) = text.bytes().position(is_forbidden_control) {
            return Err(at(
                offset,
                ParseErrorKind::ForbiddenCharacter(u32::from(text.as_bytes()[offset])),
            ));
        }
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        Ok(Self {
            reader,
            input: text,
            limits,
            frames: Vec::with_capacity(16),
            siblings: Vec::with_capacity(32),
            event_start: 0,
            commands: 0,
            syncml_ns: None,
        })
    }

    /// An error at the current element.
    pub fn error(&self, kind: ParseErrorKind) -> ParseError {
        let offset = self.frames.last().map_or(self.event_start, |f| f.start);
        self.error_at(offset, kind)
    }

    /// An error at the most recently read event.
    pub fn error_here(&self, kind: ParseErrorKind) -> ParseError {
        self.error_at(self.event_start, kind)
    }

    fn error_at(&self, offset: usize, kind: ParseErrorKind) -> ParseError {
        let mut path = String::new();
        for frame in &self.frames {
            path.push('/');
            path.push_str(&excerpt(frame.name));
            if frame.index > 1 {
                path.push_str(&format!("[{}]", frame.index));
            }
        }
        if path.is_empty() {
            path.push('/');
        }
        ParseError { offset, path, kind }
    }

    /// Counts one command against the limit.
    pub fn count_command(&mut self) -> Result<(), ParseError> {
        self.commands += 1;
        if self.commands > self.limits.max_commands {
            return Err(self.error(ParseErrorKind::TooManyCommands {
                limit: self.limits.max_commands,
            }));
        }
        Ok(())
    }

    /// Reads the next event, refusing DOCTYPE and recording where it started.
    fn next(&mut self) -> Result<Event<'a>, ParseError> {
        self.event_start = self.reader.buffer_position() as usize;
        match self.reader.read_event() {
            Ok(Event::DocType(_)) => Err(self.error_here(ParseErrorKind::Doctype)),
            Ok(event) => Ok(event),
            Err(e) => {
                let offset = (self.reader.error_position() as usize).max(self.event_start);
                Err(self.error_at(offset, ParseErrorKind::Syntax(excerpt(&e.to_string()))))
            }
        }
    }

    /// Finds the root element, skipping the XML declaration, comments, PIs and whitespace.
    pub fn root(&mut self) -> Result<Child<'a>, ParseError> {
        loop {
            match self.next()? {
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) if is_blank(&t) => {}
                Event::Start(start) => return self.enter(start, false),
                Event::Empty(start) => return self.enter(start, true),
                Event::Eof => {
                    return Err(self.error_here(ParseErrorKind::NotSyncMl("empty document".into())));
                }
                _ => return Err(self.error_here(ParseErrorKind::UnexpectedText)),
            }
        }
    }

    /// After the root element: only comments, PIs and whitespace may follow.
    pub fn finish(&mut self) -> Result<(), ParseError> {
        loop {
            match self.next()? {
                Event::Eof => return Ok(()),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) if is_blank(&t) => {}
                _ => return Err(self.error_here(ParseErrorKind::TrailingContent)),
            }
        }
    }

    /// Calls `on_child` for each child element of the current element, until its end tag.
    /// `on_child` must consume the child entirely (with [`Self::text`], [`Self::data`],
    /// [`Self::children`] or [`Self::empty`]). Blank text, comments and PIs are skipped; other
    /// character data is refused.
    pub fn children<F>(&mut self, parent: &Child<'a>, mut on_child: F) -> Result<(), ParseError>
    where
        F: FnMut(&mut Self, Child<'a>) -> Result<(), ParseError>,
    {
        if parent.empty {
            return Ok(());
        }
        loop {
            let child = match self.next()? {
                Event::Start(start) => self.enter(start, false)?,
                Event::Empty(start) => self.enter(start, true)?,
                Event::End(_) => return Ok(()),
                Event::Text(t) if is_blank(&t) => continue,
                Event::Comment(_) | Event::PI(_) => continue,
                Event::Eof => {
                    return Err(
                        self.error_here(ParseErrorKind::Syntax("unexpected end of input".into()))
                    );
                }
                _ => return Err(self.error_here(ParseErrorKind::UnexpectedText)),
            };
            let metinf = parent.name == "Meta" || child.name == "Meta";
            self.check_namespace(&child, if metinf { &[METINF_NS] } else { &[] })?;
            on_child(self, child)?;
            self.frames.pop();
        }
    }

    /// Reads the character content of a leaf element (entities decoded, CDATA included). Child
    /// elements are refused.
    pub fn text(&mut self, child: &Child<'a>) -> Result<String, ParseError> {
        if child.empty {
            return Ok(String::new());
        }
        let mut out = String::new();
        loop {
            match self.next()? {
                Event::Text(t) => out.push_str(&t.xml10_content()),
                Event::CData(c) => out.push_str(&c.xml10_content()),
                Event::GeneralRef(r) => out.push(self.resolve(&r)?),
                Event::End(_) => break,
                Event::Comment(_) | Event::PI(_) => {}
                Event::Start(s) | Event::Empty(s) => {
                    let name = excerpt(s.name().as_ref());
                    return Err(self.error_here(ParseErrorKind::UnexpectedElement(name)));
                }
                _ => {
                    return Err(
                        self.error_here(ParseErrorKind::Syntax("unexpected end of input".into()))
                    );
                }
            }
        }
        Ok(out)
    }

    /// Consumes an element that must have no content (e.g. `<Final/>`, `<NoResp/>`).
    pub fn empty(&mut self, child: &Child<'a>) -> Result<(), ParseError> {
        let text = self.text(child)?;
        if !text.trim().is_empty() {
            return Err(self.error(ParseErrorKind::UnexpectedText));
        }
        Ok(())
    }

    /// Reads `<Data>` exactly: text, one CDATA section, or nested XML kept verbatim (see [`Data`]).
    pub fn data(&mut self, child: &Child<'a>) -> Result<Data, ParseError> {
        if child.empty {
            return Ok(Data::Text(String::new()));
        }
        let content_start = self.reader.buffer_position() as usize;
        let mut text = String::new();
        let mut cdata_sections = 0usize;
        let mut only_blank_text = true;
        let mut nested = 0usize;
        let mut is_xml = false;
        loop {
            let event = self.next()?;
            match event {
                Event::Start(_) => {
                    is_xml = true;
                    nested += 1;
                    if self.frames.len() + nested > self.limits.max_depth {
                        return Err(self.error_here(ParseErrorKind::TooDeep {
                            limit: self.limits.max_depth,
                        }));
                    }
                }
                Event::Empty(_) => is_xml = true,
                Event::End(_) if nested > 0 => nested -= 1,
                Event::End(_) => break,
                Event::Text(t) => {
                    if !is_blank(&t) {
                        only_blank_text = false;
                    }
                    if !is_xml {
                        text.push_str(&t.xml10_content());
                    }
                }
                Event::CData(c) => {
                    cdata_sections += 1;
                    if !is_xml {
                        text.push_str(&c.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    let ch = self.resolve(&r)?;
                    only_blank_text = false;
                    if !is_xml {
                        text.push(ch);
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                _ => {
                    return Err(
                        self.error_here(ParseErrorKind::Syntax("unexpected end of input".into()))
                    );
                }
            }
        }
        let content_end = self.event_start;
        Ok(if is_xml {
            Data::Xml(self.input[content_start..content_end].to_owned())
        } else if cdata_sections == 1 && only_blank_text {
            Data::Cdata(text.trim_matches(is_xml_space).to_owned())
        } else {
            Data::Text(text)
        })
    }

    /// Value of an attribute by exact qualified name, entities decoded.
    pub fn attribute(
        &self,
        start: &BytesStart<'a>,
        name: &str,
    ) -> Result<Option<String>, ParseError> {
        for attr in start.attributes() {
            let attr =
                attr.map_err(|e| self.error(ParseErrorKind::Syntax(excerpt(&e.to_string()))))?;
            if attr.key.as_ref() == name {
                let value = attr
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|_| {
                        self.error(ParseErrorKind::UndefinedEntity(excerpt(
                            &attr.value.to_string(),
                        )))
                    })?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }

    /// Opens a frame for an element: depth limit, sibling index, namespace rules.
    fn enter(&mut self, start: BytesStart<'a>, empty: bool) -> Result<Child<'a>, ParseError> {
        // The reader works on the input slice, so the name sits right after the '<' that starts
        // this event; borrowing it from the input gives it the input's lifetime.
        let name_len = start.name().as_ref().len();
        let name: &'a str = self
            .input
            .get(self.event_start + 1..self.event_start + 1 + name_len)
            .unwrap_or_default();
        if name != start.name().as_ref() {
            return Err(self.error_here(ParseErrorKind::Syntax("element name".into())));
        }
        let depth = self.frames.len() + 1;
        if depth > self.limits.max_depth {
            return Err(self.error_here(ParseErrorKind::TooDeep {
                limit: self.limits.max_depth,
            }));
        }
        self.siblings.retain(|&(d, _, _)| d <= depth);
        let index = match self
            .siblings
            .iter_mut()
            .find(|(d, n, _)| *d == depth && *n == name)
        {
            Some(entry) => {
                entry.2 += 1;
                entry.2
            }
            None => {
                self.siblings.push((depth, name, 1));
                1
            }
        };
        self.frames.push(Frame {
            name,
            index,
            start: self.event_start,
        });
        if name.contains(':') {
            return Err(self.error(ParseErrorKind::WrongNamespace(format!(
                "prefixed element <{}>",
                excerpt(name)
            ))));
        }
        Ok(Child { name, empty, start })
    }

    /// Checks the default namespace declared on an element, if any: `allowed` lists what it may be
    /// (compared ASCII-case-insensitively); the SyncML namespace in force is always allowed.
    fn check_namespace(&self, child: &Child<'a>, allowed: &[&str]) -> Result<(), ParseError> {
        if child.start.attributes_raw().is_empty() {
            return Ok(());
        }
        let Some(ns) = self.attribute(&child.start, "xmlns")? else {
            return Ok(());
        };
        let ns = ns.trim();
        let ok = allowed
            .iter()
            .chain(self.syncml_ns.iter())
            .any(|a| a.eq_ignore_ascii_case(ns));
        if ok {
            Ok(())
        } else {
            Err(self.error(ParseErrorKind::WrongNamespace(excerpt(ns))))
        }
    }

    /// Resolves a general reference: a character reference or one of the five predefined entities.
    fn resolve(&self, r: &BytesRef<'a>) -> Result<char, ParseError> {
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
                Ok(Some(ch)) if u8::try_from(ch).is_ok_and(is_forbidden_control) => {
                    Err(self.error_here(ParseErrorKind::ForbiddenCharacter(u32::from(ch))))
                }
                Ok(Some(ch)) => Ok(ch),
                // quick-xml refuses `&#0;` itself; say what it is.
                _ => Err(self.error_here(match char_ref_value(&r) {
                    Some(c) if u8::try_from(c).is_ok_and(is_forbidden_control) => {
                        ParseErrorKind::ForbiddenCharacter(c)
                    }
                    _ => ParseErrorKind::UndefinedEntity(excerpt(&r.to_string())),
                })),
            };
        }
        match &**r {
            "lt" => Ok('<'),
            "gt" => Ok('>'),
            "amp" => Ok('&'),
            "quot" => Ok('"'),
            "apos" => Ok('\''),
            other => Err(self.error_here(ParseErrorKind::UndefinedEntity(excerpt(other)))),
        }
    }
}

/// Longest excerpt of the input an error repeats (in characters): an error answer or a log line
/// never echoes more of what a peer sent.
pub(crate) const EXCERPT_CHARS: usize = 64;

/// At most [`EXCERPT_CHARS`] characters of `text`, with `…` when cut.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The code point a character reference (`#10`, `#x1B`) names, if it is a number.
fn char_ref_value(r: &BytesRef<'_>) -> Option<u32> {
    let text = r.to_string();
    let digits = text.strip_prefix('#')?;
    match digits.strip_prefix('x') {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => digits.parse().ok(),
    }
}

/// A C0 control character other than tab, LF and CR: not an XML 1.0 `Char`.
fn is_forbidden_control(b: u8) -> bool {
    b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_blank(text: &str) -> bool {
    text.chars().all(is_xml_space)
}
