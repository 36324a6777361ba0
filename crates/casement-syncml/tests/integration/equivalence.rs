//! XML equivalence that ignores insignificant whitespace, comments, the XML declaration and
//! namespace-declaration attributes (`xmlns`, `xmlns:*`), but not element names, namespaces,
//! attribute values, order or text.

use roxmltree::{Document, Node};

/// Panics with the first difference between two XML documents.
pub fn assert_equivalent(expected: &str, actual: &str) {
    let a = Document::parse(expected).expect("expected side parses");
    let b = Document::parse(actual).expect("actual side parses");
    if let Err(difference) = compare(a.root_element(), b.root_element(), &mut String::new()) {
        panic!("not equivalent: {difference}\n--- expected\n{expected}\n--- actual\n{actual}");
    }
}

fn compare(a: Node<'_, '_>, b: Node<'_, '_>, path: &mut String) -> Result<(), String> {
    let len = path.len();
    path.push('/');
    path.push_str(a.tag_name().name());
    if a.tag_name() != b.tag_name() {
        return Err(format!(
            "{path}: element {:?} vs {:?}",
            a.tag_name(),
            b.tag_name()
        ));
    }
    let attrs = |n: Node<'_, '_>| {
        let mut v: Vec<(String, String)> = n
            .attributes()
            .map(|x| {
                (
                    format!("{:?}{}", x.namespace(), x.name()),
                    x.value().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    if attrs(a) != attrs(b) {
        return Err(format!(
            "{path}: attributes {:?} vs {:?}",
            attrs(a),
            attrs(b)
        ));
    }
    let (ka, kb) = (significant_children(a), significant_children(b));
    if ka.len() != kb.len() {
        return Err(format!("{path}: {} vs {} children", ka.len(), kb.len()));
    }
    for (x, y) in ka.into_iter().zip(kb) {
        match (x.is_element(), y.is_element()) {
            (true, true) => compare(x, y, path)?,
            (false, false) => {
                let (tx, ty) = (x.text().unwrap_or("").trim(), y.text().unwrap_or("").trim());
                if tx != ty {
                    return Err(format!("{path}: text {tx:?} vs {ty:?}"));
                }
            }
            _ => return Err(format!("{path}: element vs text")),
        }
    }
    path.truncate(len);
    Ok(())
}

fn significant_children<'a, 'i>(n: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    n.children()
        .filter(|c| c.is_element() || (c.is_text() && !c.text().unwrap_or("").trim().is_empty()))
        .collect()
}
