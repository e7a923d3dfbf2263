//! `servers.csv` → apply document. One row per cabled NIC:
//!
//! ```text
//! node,node_profile,nic,mac,switch,switch_port
//! n1,p1,ens1f0,fa:16:3e:00:00:01,leaf1,swp1
//! ```
//!
//! Rows of the same node become one node item whose `ports` are exactly its
//! rows; `node_profile` and `mac` may be empty (an empty profile leaves the
//! stored one as it is). Values are trimmed. Switches and profiles are
//! referenced by name and resolved by the server.

use std::collections::HashMap;
use std::io::Read;

use stitch_model::net::MacAddr;

use crate::ImportError;
use crate::document::{ApplyDocument, NodeItem, PortItem};
use crate::source::SourceMap;

/// The columns, in the order the header normally lists them.
pub const COLUMNS: [&str; 6] = ["node", "node_profile", "nic", "mac", "switch", "switch_port"];

/// Parse a servers CSV into an apply document and the line of every item.
pub fn parse_csv<R: Read>(r: R) -> Result<(ApplyDocument, SourceMap), ImportError> {
    parse_csv_with_progress(r, |_| {})
}

/// As [`parse_csv`], calling `progress` with the byte offset after each row.
pub fn parse_csv_with_progress<R: Read>(r: R, mut progress: impl FnMut(u64)) -> Result<(ApplyDocument, SourceMap), ImportError> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).flexible(false).from_reader(r);
    let header = rdr.headers().map_err(|e| csv_error(&e, 1))?.clone();
    let mut col = [usize::MAX; 6];
    for (i, h) in header.iter().enumerate() {
        match COLUMNS.iter().position(|c| *c == h) {
            Some(c) if col[c] == usize::MAX => col[c] = i,
            Some(_) => return Err(ImportError::at(1, h, format!("column {h:?} appears twice in the header"))),
            None => {
                return Err(ImportError::at(1, h, format!("unknown column {h:?}; the header is {}", COLUMNS.join(","))));
            }
        }
    }
    if let Some(missing) = COLUMNS.iter().zip(col).find(|(_, i)| *i == usize::MAX) {
        return Err(ImportError::at(1, missing.0, format!("missing column {:?}; the header is {}", missing.0, COLUMNS.join(","))));
    }

    let mut doc = ApplyDocument::default();
    let mut map = source_map_for_csv();
    let mut node_index: HashMap<String, usize> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line_guess = rdr.position().line() as usize;
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(&e, line_guess.max(2))),
        }
        let line = record.position().map_or(line_guess, |p| p.line() as usize);
        let get = |c: usize| record.get(col[c]).unwrap_or("");
        let required = |c: usize| -> Result<String, ImportError> {
            let v = get(c);
            if v.is_empty() {
                return Err(ImportError::at(line, COLUMNS[c], format!("{} must not be empty", COLUMNS[c])));
            }
            Ok(v.to_string())
        };
        let node = required(0)?;
        let nic = required(2)?;
        let switch = required(4)?;
        let switch_port = required(5)?;
        let profile = get(1);
        let mac = match get(3) {
            "" => None,
            m => Some(m.parse::<MacAddr>().map_err(|e| ImportError::at(line, "mac", e))?),
        };
        let i = match node_index.get(&node) {
            Some(i) => *i,
            None => {
                let i = doc.nodes.len();
                doc.nodes.push(NodeItem { name: node.clone(), node_profile: None, node_type: None, aliases: None, ports: Some(Vec::new()) });
                node_index.insert(node.clone(), i);
                map.insert(format!("nodes[{i}]"), line);
                i
            }
        };
        let item = &mut doc.nodes[i];
        if !profile.is_empty() {
            match &item.node_profile {
                Some(Some(p)) if p != profile => {
                    return Err(ImportError::at(
                        line,
                        "node_profile",
                        format!("node {node:?} was given node profile {p:?} on an earlier row, {profile:?} here"),
                    ));
                }
                _ => item.node_profile = Some(Some(profile.to_string())),
            }
        }
        let ports = item.ports.get_or_insert_with(Vec::new);
        if ports.iter().any(|p| p.name == nic) {
            return Err(ImportError::at(line, "nic", format!("NIC {nic:?} of node {node:?} appears on two rows")));
        }
        let j = ports.len();
        ports.push(PortItem { name: nic, mac, switch, switch_port });
        map.insert(format!("nodes[{i}].ports[{j}]"), line);
        progress(rdr.position().byte());
    }
    Ok((doc, map))
}

/// The renames from document fields to CSV columns.
fn source_map_for_csv() -> SourceMap {
    let mut m = SourceMap::new();
    m.rename("nodes.name", "node");
    m.rename("nodes.node_profile", "node_profile");
    m.rename("nodes.ports", "nic");
    m.rename("nodes.ports.name", "nic");
    m.rename("nodes.ports.mac", "mac");
    m.rename("nodes.ports.switch", "switch");
    m.rename("nodes.ports.switch_port", "switch_port");
    m
}

fn csv_error(e: &csv::Error, fallback_line: usize) -> ImportError {
    let line = e.position().map_or(fallback_line, |p| p.line() as usize);
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "row is not valid UTF-8".to_string(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("row has {len} fields, the header has {expected_len}")
        }
        _ => e.to_string(),
    };
    ImportError { line: Some(line), field: None, message }
}

/// Render a document back to CSV (the nodes part only; for tests and export).
pub fn to_csv(doc: &ApplyDocument) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
    for n in &doc.nodes {
        let profile = n.node_profile.clone().flatten().unwrap_or_default();
        for p in n.ports.iter().flatten() {
            let mac = p.mac.map(|m| m.to_string()).unwrap_or_default();
            let _ = w.write_record([&n.name, &profile, &p.name, &mac, &p.switch, &p.switch_port]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_rows_by_node_and_maps_lines() {
        let text = "node,node_profile,nic,mac,switch,switch_port\n\
                    n1,p1,ens1f0,FA:16:3E:00:00:01,leaf1,swp1\n\
                    n2,,ens1f0,,leaf1,swp2\n\
                    n1,p1,ens1f1,,leaf2,swp1\n";
        let (doc, map) = parse_csv(text.as_bytes()).unwrap();
        assert_eq!(doc.nodes.len(), 2);
        let n1 = &doc.nodes[0];
        assert_eq!(n1.node_profile, Some(Some("p1".into())));
        let ports = n1.ports.as_ref().unwrap();
        assert_eq!(ports.len(), 2);
        assert_eq!(ports[0].mac.unwrap().to_string(), "fa:16:3e:00:00:01");
        assert_eq!(ports[1].switch, "leaf2");
        assert_eq!(doc.nodes[1].node_profile, None);
        let loc = map.locate("nodes[0].ports[1].switch").unwrap();
        assert_eq!((loc.line, loc.field.as_deref()), (4, Some("switch")));
        assert_eq!(map.locate("nodes[1].name").unwrap().line, 3);
        assert_eq!(map.locate("nodes[1].name").unwrap().field.as_deref(), Some("node"));
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let h = "node,node_profile,nic,mac,switch,switch_port\n";
        let cases = [
            (format!("{h}n1,p1,e0,zz,leaf1,swp1\n"), 2, "mac"),
            (format!("{h}n1,p1,e0,,leaf1,swp1\n,p1,e0,,leaf1,swp1\n"), 3, "node"),
            (format!("{h}n1,p1,e0,,leaf1,swp1\nn1,p2,e1,,leaf1,swp2\n"), 3, "node_profile"),
            (format!("{h}n1,p1,e0,,leaf1,swp1\nn1,p1,e0,,leaf1,swp2\n"), 3, "nic"),
            (format!("{h}n1,p1,e0,,leaf1,\n"), 2, "switch_port"),
            ("node,profile,nic,mac,switch,switch_port\n".to_string(), 1, "profile"),
        ];
        for (text, line, field) in cases {
            let e = parse_csv(text.as_bytes()).unwrap_err();
            assert_eq!((e.line, e.field.as_deref()), (Some(line), Some(field)), "{text}: {e}");
        }
        let e = parse_csv(format!("{h}n1,p1,e0\n").as_bytes()).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }
}
