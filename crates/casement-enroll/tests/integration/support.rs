//! Fixture loading and XML comparison helpers.

use roxmltree::{Document, Node, ParsingOptions};

pub const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const WSA: &str = "http://www.w3.org/2005/08/addressing";

/// Bytes of `testdata/<path>`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/testdata/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Text of `testdata/<path>`.
pub fn fixture_text(path: &str) -> String {
    String::from_utf8(fixture(path)).expect("fixture is UTF-8")
}

/// Parses XML for comparison (DOCTYPE allowed: test-side parsing of our own HTML pages).
pub fn parse(xml: &str) -> Document<'_> {
    Document::parse_with_options(
        xml,
        ParsingOptions {
            allow_dtd: true,
            ..ParsingOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("not well-formed: {e}\n{xml}"))
}

/// The element reached by following `(namespace, local)` steps from the root element, whose own
/// name is the first step.
pub fn at<'a, 'i>(doc: &'a Document<'i>, path: &[(&str, &str)]) -> Node<'a, 'i> {
    let mut node = doc.root_element();
    let (first, rest) = path.split_first().expect("non-empty path");
    assert!(
        node.has_tag_name(*first),
        "root is {:?}, expected {first:?}",
        node.tag_name()
    );
    for step in rest {
        node = node
            .children()
            .find(|n| n.is_element() && n.has_tag_name(*step))
            .unwrap_or_else(|| panic!("no {step:?} under {:?}", node.tag_name()));
    }
    node
}

/// Trimmed own text of an element.
pub fn text(node: Node<'_, '_>) -> String {
    node.children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// One line per element in document order: `depth {ns}local [attrs sorted] = text`, with
/// namespace URIs resolved (prefixes do not matter). `mask` replaces the text of the named
/// local names with `*`.
pub fn outline(node: Node<'_, '_>, mask: &[&str]) -> Vec<String> {
    let mut lines = Vec::new();
    walk(node, 0, mask, &mut lines);
    lines
}

fn walk(node: Node<'_, '_>, depth: usize, mask: &[&str], lines: &mut Vec<String>) {
    let name = node.tag_name();
    let mut attrs: Vec<String> = node
        .attributes()
        .map(|a| {
            format!(
                "{{{}}}{}={}",
                a.namespace().unwrap_or(""),
                a.name(),
                a.value().trim()
            )
        })
        .collect();
    attrs.sort();
    let own = if mask.contains(&name.name()) {
        "*".to_owned()
    } else {
        text(node)
    };
    lines.push(format!(
        "{depth} {{{}}}{} [{}] = {own}",
        name.namespace().unwrap_or(""),
        name.name(),
        attrs.join(" ")
    ));
    for child in node.children().filter(|n| n.is_element()) {
        walk(child, depth + 1, mask, lines);
    }
}

/// Canonical lines of a wap-provisioningdoc: `C <type path>` per characteristic and
/// `P <type path> | name | value | datatype` per parm, in document order. EncodedCertificate
/// values are replaced by `*` when `mask_certs`.
pub fn provisioning_lines(xml: &str, mask_certs: bool) -> Vec<String> {
    let doc = parse(xml);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "wap-provisioningdoc");
    assert_eq!(root.attribute("version"), Some("1.1"));
    let mut lines = Vec::new();
    prov_walk(root, &mut Vec::new(), mask_certs, &mut lines);
    lines
}

fn prov_walk(node: Node<'_, '_>, path: &mut Vec<String>, mask: bool, lines: &mut Vec<String>) {
    for child in node.children().filter(|n| n.is_element()) {
        match child.tag_name().name() {
            "characteristic" => {
                path.push(
                    child
                        .attribute("type")
                        .expect("characteristic type")
                        .to_owned(),
                );
                lines.push(format!("C {}", path.join("/")));
                prov_walk(child, path, mask, lines);
                path.pop();
            }
            "parm" => {
                let name = child.attribute("name").expect("parm name");
                let mut value = child
                    .attribute("value")
                    .map(str::to_owned)
                    .unwrap_or_else(|| "<none>".into());
                if mask && name == "EncodedCertificate" {
                    value = "*".into();
                }
                let datatype = child.attribute("datatype").unwrap_or("-");
                lines.push(format!(
                    "P {} | {name} | {value} | {datatype}",
                    path.join("/")
                ));
            }
            other => panic!("unexpected element {other}"),
        }
    }
}

/// Values of every `EncodedCertificate` parm, in order.
pub fn encoded_certificates(xml: &str) -> Vec<String> {
    let doc = parse(xml);
    doc.descendants()
        .filter(|n| n.has_tag_name("parm") && n.attribute("name") == Some("EncodedCertificate"))
        .map(|n| n.attribute("value").unwrap_or_default().to_owned())
        .collect()
}
