//! Encoding: SyncML as Windows expects it — elements in DTD order, `Meta` children each with
//! `xmlns="syncml:metinf"` (as in every Windows capture), text escaped, `Data` written back exactly.

use crate::model::*;
use crate::parse::Fragment;

/// The namespace Windows uses for `msft:` attributes ([MS-MDM] §2.2.4.3).
const MSFT_NS: &str = "http://schemas.microsoft.com/MobileDevice/MDM";

/// Encodes a message compactly (no whitespace between elements), as sent on the wire.
pub fn to_string(message: &SyncMl) -> String {
    let mut w = Writer {
        out: String::with_capacity(1024),
        indent: None,
        level: 0,
    };
    w.message(message);
    w.out
}

/// Encodes a message indented by two spaces per level, for people to read.
pub fn to_string_pretty(message: &SyncMl) -> String {
    let mut w = Writer {
        out: String::with_capacity(2048),
        indent: Some(2),
        level: 0,
    };
    w.message(message);
    w.out.push('\n');
    w.out
}

/// Encodes one command compactly (used to store queued commands and to measure message budgets).
pub fn command_to_string(command: &Command) -> String {
    let mut w = Writer {
        out: String::with_capacity(256),
        indent: None,
        level: 0,
    };
    w.command(command);
    w.out
}

/// Encodes a fragment compactly; a [`Fragment::List`] is written as its parts one after another
/// (the wrapper element's name is not kept).
pub fn fragment_to_string(fragment: &Fragment) -> String {
    let mut w = Writer {
        out: String::with_capacity(512),
        indent: None,
        level: 0,
    };
    w.fragment(fragment);
    w.out
}

struct Writer {
    out: String,
    indent: Option<usize>,
    level: usize,
}

impl Writer {
    fn fragment(&mut self, fragment: &Fragment) {
        match fragment {
            Fragment::Message(m) => self.message(m),
            Fragment::Body(b) => {
                self.open("SyncBody");
                for command in &b.commands {
                    self.command(command);
                }
                self.flag("Final", b.is_final);
                self.close("SyncBody");
            }
            Fragment::Command(c) => self.command(c),
            Fragment::Item(i) => self.items(std::slice::from_ref(i)),
            Fragment::List(list) => list.iter().for_each(|f| self.fragment(f)),
        }
    }

    fn message(&mut self, m: &SyncMl) {
        self.out.push_str("<SyncML xmlns=\"");
        self.out.push_str(m.version.namespace());
        self.out.push_str("\">");
        self.level += 1;
        self.header(&m.header);
        self.open("SyncBody");
        for command in &m.body.commands {
            self.command(command);
        }
        self.flag("Final", m.body.is_final);
        self.close("SyncBody");
        self.level -= 1;
        self.newline();
        self.out.push_str("</SyncML>");
    }

    fn header(&mut self, h: &SyncHdr) {
        self.open("SyncHdr");
        self.leaf("VerDTD", &h.ver_dtd);
        self.leaf("VerProto", &h.ver_proto);
        self.leaf("SessionID", &h.session_id);
        self.number("MsgID", h.msg_id.0);
        self.location("Target", &h.target);
        self.location("Source", &h.source);
        if let Some(uri) = &h.resp_uri {
            self.leaf("RespURI", uri);
        }
        self.flag("NoResp", h.no_resp);
        if let Some(cred) = &h.cred {
            self.cred(cred);
        }
        self.meta(h.meta.as_ref());
        self.close("SyncHdr");
    }

    fn command(&mut self, c: &Command) {
        match c {
            Command::Add(x) => self.item_command("Add", x),
            Command::Delete(x) => self.item_command("Delete", x),
            Command::Exec(x) => self.item_command("Exec", x),
            Command::Get(x) => self.item_command("Get", x),
            Command::Replace(x) => self.item_command("Replace", x),
            Command::Alert(x) => self.alert(x),
            Command::Atomic(x) => self.container("Atomic", x),
            Command::Sequence(x) => self.container("Sequence", x),
            Command::Results(x) => self.results(x),
            Command::Status(x) => self.status(x),
        }
    }

    fn item_command(&mut self, name: &str, c: &ItemCommand) {
        self.open(name);
        self.number("CmdID", c.cmd_id.0);
        self.flag("NoResp", c.no_resp);
        self.meta(c.meta.as_ref());
        if let Some(correlator) = &c.correlator {
            self.leaf("Correlator", correlator);
        }
        self.items(&c.items);
        self.close(name);
    }

    fn alert(&mut self, a: &Alert) {
        self.open("Alert");
        self.number("CmdID", a.cmd_id.0);
        self.flag("NoResp", a.no_resp);
        self.number("Data", u32::from(a.code.code()));
        if let Some(correlator) = &a.correlator {
            self.leaf("Correlator", correlator);
        }
        self.items(&a.items);
        self.close("Alert");
    }

    fn container(&mut self, name: &str, c: &Container) {
        self.open(name);
        self.number("CmdID", c.cmd_id.0);
        self.flag("NoResp", c.no_resp);
        self.meta(c.meta.as_ref());
        for command in &c.commands {
            self.command(command);
        }
        self.close(name);
    }

    fn results(&mut self, r: &Results) {
        self.open("Results");
        self.number("CmdID", r.cmd_id.0);
        if let Some(msg_ref) = r.msg_ref {
            self.number("MsgRef", msg_ref.0);
        }
        self.number("CmdRef", r.cmd_ref);
        if let Some(cmd) = r.cmd {
            self.leaf("Cmd", cmd.as_str());
        }
        self.meta(r.meta.as_ref());
        self.refs(&r.target_refs, &r.source_refs);
        self.items(&r.items);
        self.close("Results");
    }

    fn status(&mut self, s: &Status) {
        self.open("Status");
        self.number("CmdID", s.cmd_id.0);
        self.number("MsgRef", s.msg_ref.0);
        self.number("CmdRef", s.cmd_ref);
        self.leaf("Cmd", s.cmd.as_str());
        self.refs(&s.target_refs, &s.source_refs);
        if let Some(cred) = &s.cred {
            self.cred(cred);
        }
        if let Some(chal) = &s.chal {
            self.open("Chal");
            self.meta(Some(&chal.meta));
            self.close("Chal");
        }
        self.newline();
        match &s.original_error {
            Some(hresult) => {
                self.out.push_str("<Data xmlns:msft=\"");
                self.out.push_str(MSFT_NS);
                self.out.push_str("\" msft:originalerror=\"");
                escape_into(&mut self.out, hresult, true);
                self.out.push_str("\">");
            }
            None => self.out.push_str("<Data>"),
        }
        push_number(&mut self.out, u32::from(s.code.code()));
        self.out.push_str("</Data>");
        self.items(&s.items);
        self.close("Status");
    }

    fn refs(&mut self, targets: &[String], sources: &[String]) {
        for target in targets {
            self.leaf("TargetRef", target);
        }
        for source in sources {
            self.leaf("SourceRef", source);
        }
    }

    fn items(&mut self, items: &[Item]) {
        for item in items {
            self.open("Item");
            if let Some(target) = &item.target {
                self.location("Target", target);
            }
            if let Some(source) = &item.source {
                self.location("Source", source);
            }
            self.meta(item.meta.as_ref());
            if let Some(data) = &item.data {
                self.data(data);
            }
            self.flag("MoreData", item.more_data);
            self.close("Item");
        }
    }

    fn data(&mut self, data: &Data) {
        self.newline();
        self.out.push_str("<Data>");
        match data {
            Data::Text(text) => escape_into(&mut self.out, text, false),
            Data::Cdata(text) => {
                // A "]]>" inside CDATA must be split across two sections.
                self.out.push_str("<![CDATA[");
                self.out.push_str(&text.replace("]]>", "]]]]><![CDATA[>"));
                self.out.push_str("]]>");
            }
            Data::Xml(xml) => self.out.push_str(xml),
        }
        self.out.push_str("</Data>");
    }

    fn location(&mut self, name: &str, l: &Location) {
        self.open(name);
        self.leaf("LocURI", &l.loc_uri);
        if let Some(loc_name) = &l.loc_name {
            self.leaf("LocName", loc_name);
        }
        self.close(name);
    }

    fn cred(&mut self, c: &Cred) {
        self.open("Cred");
        self.meta(c.meta.as_ref());
        self.leaf("Data", &c.data);
        self.close("Cred");
    }

    fn meta(&mut self, meta: Option<&Meta>) {
        let Some(m) = meta else { return };
        self.open("Meta");
        for (field, value) in &m.fields {
            let name = field.as_str();
            self.newline();
            self.out.push('<');
            self.out.push_str(name);
            self.out.push_str(" xmlns=\"syncml:metinf\">");
            escape_into(&mut self.out, value, false);
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push('>');
        }
        self.close("Meta");
    }

    fn open(&mut self, name: &str) {
        self.newline();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.level += 1;
    }

    fn close(&mut self, name: &str) {
        self.level -= 1;
        self.newline();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.newline();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape_into(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn number(&mut self, name: &str, value: u32) {
        self.newline();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        push_number(&mut self.out, value);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn flag(&mut self, name: &str, on: bool) {
        if on {
            self.newline();
            self.out.push('<');
            self.out.push_str(name);
            self.out.push_str("/>");
        }
    }

    fn newline(&mut self) {
        if let Some(width) = self.indent {
            self.out.push('\n');
            for _ in 0..self.level * width {
                self.out.push(' ');
            }
        }
    }
}

fn push_number(out: &mut String, mut value: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

/// Escapes `&`, `<`, `>` (and `"` in attributes) into `out`.
fn escape_into(out: &mut String, text: &str, attribute: bool) {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let replacement = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' if attribute => "&quot;",
            _ => continue,
        };
        out.push_str(&text[last..i]);
        out.push_str(replacement);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}
