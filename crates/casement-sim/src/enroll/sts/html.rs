//! Reading HTML the way a browser does, as much as the sign-in pages need: the `<form>`
//! elements with their `<input>`s, the error text shown to the user, and how a user fills a
//! sign-in form. A small tolerant tokenizer (HTML rules, simplified): quoted, single-quoted,
//! unquoted and bare attributes, character references, comments, `<!DOCTYPE>`, and the raw
//! text of `<script>`, `<style>`, `<textarea>` and `<title>`.

use crate::http::Method;

/// A `<form>` and its inputs, as a browser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlForm {
    /// `action` (entity-decoded), when present. Relative to the page URL.
    pub action: Option<String>,
    /// `method` (GET when absent or unknown, as in HTML).
    pub method: Method,
    /// The `<input>` elements in document order.
    pub inputs: Vec<FormInput>,
}

/// An `<input>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormInput {
    /// `name` (inputs without one are kept but never submitted).
    pub name: Option<String>,
    /// `type`, lower-cased; `text` when absent.
    pub kind: String,
    /// `value` (entity-decoded), empty when absent.
    pub value: String,
    /// `checked` is present.
    pub checked: bool,
}

impl HtmlForm {
    /// The first input named `name` (exact).
    pub fn input(&self, name: &str) -> Option<&FormInput> {
        self.inputs.iter().find(|i| i.name.as_deref() == Some(name))
    }

    /// Whether the form asks for a password.
    pub fn has_password_field(&self) -> bool {
        self.inputs.iter().any(|i| i.kind == "password")
    }

    /// The fields a user would submit after typing `username` and `password`: hidden and
    /// other inputs with their values, checked checkboxes/radios, the first named submit
    /// button (as if clicked), every password input set to `password`, and the user-name
    /// input set to `username`. The user-name input is the text/email input whose name looks
    /// like one (`username`, `user`, `login`, `email`, `upn`, `loginfmt`, …), else the first
    /// text or email input.
    pub fn fill_sign_in(&self, username: &str, password: &str) -> Vec<(String, String)> {
        let user_field = self
            .inputs
            .iter()
            .position(|i| is_text_like(&i.kind) && i.name.as_deref().is_some_and(is_user_name))
            .or_else(|| {
                self.inputs
                    .iter()
                    .position(|i| is_text_like(&i.kind) && i.name.is_some())
            });
        let mut submitted_button = false;
        let mut fields = Vec::new();
        for (index, input) in self.inputs.iter().enumerate() {
            let Some(name) = &input.name else { continue };
            let value = match input.kind.as_str() {
                "password" => password.to_owned(),
                "checkbox" | "radio" if !input.checked => continue,
                "checkbox" | "radio" if input.value.is_empty() => "on".to_owned(),
                "submit" | "image" | "button" if submitted_button => continue,
                "submit" | "image" => {
                    submitted_button = true;
                    input.value.clone()
                }
                "button" | "reset" | "file" => continue,
                _ if Some(index) == user_field => username.to_owned(),
                _ => input.value.clone(),
            };
            fields.push((name.clone(), value));
        }
        fields
    }
}

/// Every `<form>` of the page with its `<input>`s. Inputs outside a form are ignored; an
/// unclosed form ends at the end of the page.
pub fn parse_forms(html: &str) -> Vec<HtmlForm> {
    let mut forms = Vec::new();
    let mut current: Option<HtmlForm> = None;
    for tag in tags(html) {
        match (tag.name.as_str(), tag.closing) {
            ("form", false) => {
                if let Some(done) = current.take() {
                    forms.push(done);
                }
                let method = match tag.attr("method").map(str::to_ascii_lowercase).as_deref() {
                    Some("post") => Method::Post,
                    _ => Method::Get,
                };
                current = Some(HtmlForm {
                    action: tag.attr("action").map(str::to_owned),
                    method,
                    inputs: Vec::new(),
                });
            }
            ("form", true) => {
                if let Some(done) = current.take() {
                    forms.push(done);
                }
            }
            ("input", false) => {
                if let Some(form) = current.as_mut() {
                    form.inputs.push(FormInput {
                        name: tag.attr("name").map(str::to_owned),
                        kind: tag
                            .attr("type")
                            .map(|t| t.trim().to_ascii_lowercase())
                            .unwrap_or_else(|| "text".to_owned()),
                        value: tag.attr("value").unwrap_or_default().to_owned(),
                        checked: tag.attr("checked").is_some(),
                    });
                }
            }
            _ => {}
        }
    }
    forms.extend(current);
    forms
}

/// The text of elements that show an error to the user (`role="alert"`, or a `class`
/// containing `error`), whitespace-collapsed.
pub fn alert_texts(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in tags(html) {
        if tag.closing {
            continue;
        }
        let alert = tag
            .attr("role")
            .is_some_and(|r| r.eq_ignore_ascii_case("alert"))
            || tag
                .attr("class")
                .is_some_and(|c| c.split_whitespace().any(|c| c.contains("error")));
        if !alert {
            continue;
        }
        let rest = &html[tag.end..];
        let close = format!("</{}", tag.name);
        let end = find_ignore_case(rest, &close).unwrap_or(rest.len());
        let text = strip_tags(&rest[..end]);
        if !text.is_empty() {
            out.push(text);
        }
    }
    out
}

fn is_text_like(kind: &str) -> bool {
    matches!(kind, "text" | "email" | "tel" | "search" | "")
}

fn is_user_name(name: &str) -> bool {
    const NAMES: [&str; 9] = [
        "username",
        "user",
        "login",
        "email",
        "upn",
        "loginfmt",
        "user_name",
        "userid",
        "j_username",
    ];
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name.trim()))
}

/// A start or end tag found by [`tags`].
#[derive(Debug)]
struct Tag {
    /// Lower-cased element name.
    name: String,
    closing: bool,
    /// Attribute names lower-cased, values entity-decoded; a bare attribute has an empty value.
    attrs: Vec<(String, String)>,
    /// Byte offset just after the tag's `>`.
    end: usize,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Tokenizes the tags of an HTML page (HTML tokenizer rules, simplified): comments,
/// doctype/processing instructions are skipped; the content of `script`, `style`,
/// `textarea` and `title` is raw text.
fn tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(offset) = html[i..].find('<') {
        let start = i + offset;
        let rest = &html[start..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            i = comment
                .find("-->")
                .map_or(html.len(), |e| start + 4 + e + 3);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            i = rest.find('>').map_or(html.len(), |e| start + e + 1);
            continue;
        }
        let closing = rest.starts_with("</");
        let name_start = start + if closing { 2 } else { 1 };
        let name_len = html[name_start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(html.len() - name_start);
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            i = start + 1; // a lone '<' in text
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        let (attrs, end) = read_attributes(html, name_start + name_len);
        i = end;
        let raw_text =
            !closing && matches!(name.as_str(), "script" | "style" | "textarea" | "title");
        out.push(Tag {
            name: name.clone(),
            closing,
            attrs,
            end,
        });
        if raw_text {
            let close = format!("</{name}");
            i = find_ignore_case(&html[end..], &close).map_or(html.len(), |e| end + e);
        }
    }
    out
}

/// Reads attributes from `pos` to the end of the tag; returns them and the offset after `>`.
fn read_attributes(html: &str, mut pos: usize) -> (Vec<(String, String)>, usize) {
    let bytes = html.as_bytes();
    let mut attrs = Vec::new();
    loop {
        while pos < bytes.len() && (bytes[pos].is_ascii_whitespace() || bytes[pos] == b'/') {
            pos += 1;
        }
        if pos >= bytes.len() {
            return (attrs, bytes.len());
        }
        if bytes[pos] == b'>' {
            return (attrs, pos + 1);
        }
        let name_start = pos;
        while pos < bytes.len()
            && !bytes[pos].is_ascii_whitespace()
            && !matches!(bytes[pos], b'=' | b'>' | b'/')
        {
            pos += 1;
        }
        let name = html[name_start..pos].to_ascii_lowercase();
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let mut value = String::new();
        if pos < bytes.len() && bytes[pos] == b'=' {
            pos += 1;
            while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
            match bytes.get(pos) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let value_start = pos + 1;
                    let value_end = html[value_start..]
                        .find(quote as char)
                        .map_or(html.len(), |e| value_start + e);
                    value = decode_entities(&html[value_start..value_end]);
                    pos = (value_end + 1).min(html.len());
                }
                _ => {
                    let value_start = pos;
                    while pos < bytes.len()
                        && !bytes[pos].is_ascii_whitespace()
                        && bytes[pos] != b'>'
                    {
                        pos += 1;
                    }
                    value = decode_entities(&html[value_start..pos]);
                }
            }
        }
        if !name.is_empty() && !attrs.iter().any(|(n, _)| *n == name) {
            attrs.push((name, value));
        }
    }
}

/// Decodes character references: the five XML ones, `&nbsp;`, decimal and hex numeric
/// references. Anything else is kept as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let decoded = tail
            .find(';')
            .filter(|&semi| semi <= 12)
            .and_then(|semi| entity(&tail[1..semi]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let digits = name.strip_prefix('#')?;
            let code = match digits.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => digits.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Text content with tags removed and whitespace collapsed.
fn strip_tags(fragment: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    decode_entities(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerant_tokenizer() {
        let html = r#"<!DOCTYPE html><!-- <form action="/commented"> -->
            <script>var s = "<form action='/script'>";</script>
            <FORM Method=POST action=/login?x=1&amp;y=2>
              <input type=hidden name=a value='single &quot;q&quot;'>
              <input name="login" value="prefilled">
              <input type="PASSWORD" name="pw">
              <input type="checkbox" name="remember" checked>
              <input type="checkbox" name="unchecked">
              <input type="submit" name="go" value="Sign in"><input type="submit" name="other" value="No">
              <input disabled>
            </FORM>
            <input name="outside">"#;
        let forms = parse_forms(html);
        assert_eq!(forms.len(), 1);
        let form = &forms[0];
        assert_eq!(form.action.as_deref(), Some("/login?x=1&y=2"));
        assert_eq!(form.method, Method::Post);
        assert_eq!(form.input("a").unwrap().value, "single \"q\"");
        assert_eq!(
            form.fill_sign_in("u@x", "pw1"),
            vec![
                ("a".to_owned(), "single \"q\"".to_owned()),
                ("login".to_owned(), "u@x".to_owned()),
                ("pw".to_owned(), "pw1".to_owned()),
                ("remember".to_owned(), "on".to_owned()),
                ("go".to_owned(), "Sign in".to_owned()),
            ]
        );
    }
}
