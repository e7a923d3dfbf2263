//! `fabric.yaml` → apply document, with the line each list item starts on.
//!
//! serde_yaml_ng reports no positions for values that parse, so the item
//! lines come from a light scan of the block structure: a top-level key
//! (`nodes:`) opens a section, each `- ` at the section's item indentation
//! starts an item, and inside an item a key followed by `- ` entries (e.g.
//! `ports:`) gives the lines of the nested items. Flow-style lists fall
//! back to the line of their key.

use crate::ImportError;
use crate::document::{ApplyDocument, SECTIONS};
use crate::source::SourceMap;

/// Parse a YAML (or JSON) apply document and map each item to its line.
pub fn parse_yaml(text: &str) -> Result<(ApplyDocument, SourceMap), ImportError> {
    let map = scan_lines(text);
    if text.trim().is_empty() {
        return Ok((ApplyDocument::default(), map));
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let doc: ApplyDocument = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.location().map(|l| l.line()).or_else(|| map.locate(&path).map(|l| l.line));
        let mut message = inner.to_string();
        // serde_yaml_ng appends " at line L column C"; the caller prints the line itself.
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        // ... and may start with the path, which `field` carries already.
        if let Some(rest) = message.strip_prefix(&format!("{path}: ")) {
            message = rest.to_string();
        }
        let field = (path != "." && !path.is_empty()).then_some(path);
        ImportError { line, field, message }
    })?;
    Ok((doc, map))
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Key of a `key:` or `key: value` line (after any `- `), if it has one.
fn key_of(s: &str) -> Option<&str> {
    let (k, rest) = s.split_once(':')?;
    let ok = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    (ok && (rest.is_empty() || rest.starts_with(' '))).then_some(k)
}

/// Record `section[i]` and `section[i].key[j]` lines for block-style YAML.
fn scan_lines(text: &str) -> SourceMap {
    struct Section<'a> {
        name: &'a str,
        item_indent: Option<usize>,
        count: usize,
    }
    struct Nested {
        key: String,
        key_indent: usize,
        dash: Option<usize>,
        count: usize,
    }
    let mut map = SourceMap::new();
    let mut section: Option<Section> = None;
    let mut item_path = String::new();
    let mut key_indent: Option<usize> = None;
    let mut nested: Option<Nested> = None;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let trimmed = raw.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let ind = indent_of(raw);
        if ind == 0 && !trimmed.starts_with('-') {
            section = key_of(trimmed).filter(|k| SECTIONS.contains(k)).map(|name| Section { name, item_indent: None, count: 0 });
            if let Some(s) = &section {
                map.insert(s.name.to_string(), line_no);
            }
            nested = None;
            continue;
        }
        let Some(sec) = section.as_mut() else { continue };
        if let Some(rest) = trimmed.strip_prefix('-').filter(|r| r.is_empty() || r.starts_with(' ')) {
            if sec.item_indent.is_none() || sec.item_indent == Some(ind) {
                sec.item_indent = Some(ind);
                item_path = format!("{}[{}]", sec.name, sec.count);
                map.insert(item_path.clone(), line_no);
                sec.count += 1;
                nested = None;
                let inner = rest.trim_start();
                key_indent = key_of(inner).map(|_| ind + 1 + (rest.len() - inner.len()));
                continue;
            }
            if let Some(nd) = nested.as_mut() {
                if ind >= nd.key_indent && (nd.dash.is_none() || nd.dash == Some(ind)) {
                    nd.dash = Some(ind);
                    map.insert(format!("{item_path}.{}[{}]", nd.key, nd.count), line_no);
                    nd.count += 1;
                }
            }
            continue;
        }
        let Some(k) = key_of(trimmed) else { continue };
        if sec.item_indent.is_none_or(|i| ind <= i) {
            continue;
        }
        if key_indent.is_none() {
            key_indent = Some(ind);
        }
        if key_indent == Some(ind) {
            map.insert(format!("{item_path}.{k}"), line_no);
            nested = Some(Nested { key: k.to_string(), key_indent: ind, dash: None, count: 0 });
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
fabrics:
  - name: dc1
    vlan_range: [2, 3000]
switches:
  - name: leaf1
    fabric: dc1
    ovsdb: unix:/run/l1.sock
    tunnel_ip: 10.0.0.1
# a comment
nodes:
- name: n1
  node_profile: p1
  ports:
  - name: ens1f0
    switch: leaf1
    switch_port: swp1
  - name: ens1f1
    switch: leaf1
    switch_port: swp2
- name: n2
";

    #[test]
    fn parses_and_maps_item_lines() {
        let (doc, map) = parse_yaml(DOC).unwrap();
        assert_eq!(doc.fabrics[0].name, "dc1");
        assert_eq!(doc.switches[0].fabric.as_deref(), Some("dc1"));
        assert_eq!(doc.nodes.len(), 2);
        assert_eq!(map.line_of("fabrics[0]"), Some(2));
        assert_eq!(map.line_of("switches[0]"), Some(5));
        assert_eq!(map.line_of("nodes[0]"), Some(11));
        assert_eq!(map.line_of("nodes[0].ports[1]"), Some(17));
        assert_eq!(map.locate("nodes[0].ports[1].switch").unwrap().line, 17);
        assert_eq!(map.locate("nodes[0].node_profile").unwrap().line, 12);
        assert_eq!(map.line_of("nodes[1]"), Some(20));
    }

    #[test]
    fn bad_values_name_line_and_path() {
        let text = "switches:\n  - name: leaf1\n    fabric: dc1\n    tunnel_ip: 10.0.0.300\n";
        let e = parse_yaml(text).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("switches[0].tunnel_ip"), "{e}");
        assert_eq!(e.line, Some(4), "{e}");
        let e = parse_yaml("nodes:\n  - name: n1\n    colour: red\n").unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        assert_eq!(e.line, Some(3), "{e}");
    }
}
