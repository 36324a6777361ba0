//! The response side of SOAP: a minimal XML writer with fixed prefixes, the escaper, and the
//! envelope/header every response shares.

use super::{ReplyTo, ns};

// ---------------------------------------------------------------------------------------------

/// A minimal XML writer with fixed prefixes: the builders decide every name, so no namespace
/// bookkeeping is needed; all text and attribute values go through the escapers.
#[derive(Debug, Default)]
pub(crate) struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub(crate) fn new() -> XmlWriter {
        XmlWriter {
            out: String::with_capacity(2048),
        }
    }

    /// `<name a="v"...>`
    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push('>');
    }

    /// `<name a="v".../>`
    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str("/>");
    }

    /// `</name>`
    pub(crate) fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name a="v"...>text</name>`
    pub(crate) fn element(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        self.text(text);
        self.close(name);
    }

    /// `<name xsi:nil="true"/>` (the `xsi` prefix must be declared by an ancestor).
    pub(crate) fn nil(&mut self, name: &str) {
        self.empty(name, &[("xsi:nil", "true")]);
    }

    /// Escaped character data.
    pub(crate) fn text(&mut self, text: &str) {
        escape_into(&mut self.out, text, false);
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value, true);
            self.out.push('"');
        }
    }
}

/// Escapes XML text (`attr = false`) or a double-quoted attribute value (`attr = true`).
/// Characters not allowed in XML 1.0 (C0 controls other than tab/CR/LF) are dropped.
fn escape_into(out: &mut String, value: &str, attr: bool) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
}

/// Writes the response envelope start: `s:Envelope` with `s:`, `a:` (and `u:` when asked),
/// `s:Header` with `a:Action`, the optional `ActivityId`, `a:RelatesTo`; `extra_header` may add
/// more header children. Leaves the writer inside an open `s:Body`.
pub(crate) fn open_envelope(
    w: &mut XmlWriter,
    action: &str,
    reply: &ReplyTo<'_>,
    with_wsu: bool,
    extra_header: impl FnOnce(&mut XmlWriter),
) {
    let mut attrs = vec![("xmlns:s", ns::SOAP12), ("xmlns:a", ns::WSA)];
    if with_wsu {
        attrs.push(("xmlns:u", ns::WSU));
    }
    w.open("s:Envelope", &attrs);
    w.open("s:Header", &[]);
    w.element("a:Action", &[("s:mustUnderstand", "1")], action);
    if let Some(activity) = reply.activity_id {
        let id = activity.hyphenated().to_string();
        w.element(
            "ActivityId",
            &[("CorrelationId", &id), ("xmlns", ns::DIAGNOSTICS)],
            &id,
        );
    }
    if let Some(relates_to) = reply.relates_to {
        w.element("a:RelatesTo", &[], relates_to.as_str());
    }
    extra_header(w);
    w.close("s:Header");
}

/// Closes what [`open_envelope`] left open (after the caller closed `s:Body`).
pub(crate) fn close_envelope(w: &mut XmlWriter) {
    w.close("s:Envelope");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        let mut s = String::new();
        escape_into(&mut s, "a&b<c>\"d\"\n\u{1}", true);
        assert_eq!(s, "a&amp;b&lt;c&gt;&quot;d&quot;&#10;");
        let mut t = String::new();
        escape_into(&mut t, "a&b<c>\"d\"\n", false);
        assert_eq!(t, "a&amp;b&lt;c&gt;\"d\"\n");
    }
}
