//! Where each item of an apply document came from, so that an error the
//! server names by document path (`nodes[3].ports[0].switch`) can be shown as
//! `file:line` and the field as the source calls it (a CSV column, a YAML key).

use std::collections::BTreeMap;

/// A position in the source file and the name the source gives the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// The field as the source names it (CSV column or YAML key path).
    pub field: Option<String>,
}

/// Document path prefix → source line, plus how to rename fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap {
    lines: BTreeMap<String, usize>,
    /// Last path component (without indexes) → source name, e.g. `name` of a
    /// node port → CSV column `nic`. Keyed by the path with indexes removed.
    columns: Vec<(String, String)>,
}

/// `nodes[3].ports[0].switch` → `nodes.ports.switch`.
pub fn strip_indexes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record that the item at `path` (e.g. `nodes[3]`) starts at `line`.
    pub fn insert(&mut self, path: impl Into<String>, line: usize) {
        self.lines.entry(path.into()).or_insert(line);
    }

    /// Name the field at index-free `path` as `column` in the source.
    pub fn rename(&mut self, path: impl Into<String>, column: impl Into<String>) {
        self.columns.push((path.into(), column.into()));
    }

    pub fn line_of(&self, path: &str) -> Option<usize> {
        self.lines.get(path).copied()
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The source location of a document path: the line of its longest
    /// recorded prefix, and the field renamed as the source calls it.
    pub fn locate(&self, path: &str) -> Option<Location> {
        let mut prefix = path;
        let line = loop {
            if let Some(l) = self.lines.get(prefix) {
                break *l;
            }
            let cut = prefix.rfind(['.', '['])?;
            prefix = &prefix[..cut];
        };
        let bare = strip_indexes(path);
        let field = self
            .columns
            .iter()
            .find(|(p, _)| *p == bare)
            .map(|(_, c)| c.clone())
            .or_else(|| (prefix != path).then(|| path[prefix.len()..].trim_start_matches('.').to_string()));
        Some(Location { line, field })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_longest_prefix_and_renames() {
        let mut m = SourceMap::new();
        m.insert("nodes[0]", 2);
        m.insert("nodes[0].ports[0]", 2);
        m.insert("nodes[0].ports[1]", 3);
        m.rename("nodes.ports.name", "nic");
        assert_eq!(m.locate("nodes[0].ports[1].name"), Some(Location { line: 3, field: Some("nic".into()) }));
        assert_eq!(m.locate("nodes[0].ports[1].switch"), Some(Location { line: 3, field: Some("switch".into()) }));
        assert_eq!(m.locate("nodes[0].aliases[2]"), Some(Location { line: 2, field: Some("aliases[2]".into()) }));
        assert_eq!(m.locate("nodes[0]"), Some(Location { line: 2, field: None }));
        assert_eq!(m.locate("switches[0].name"), None);
        assert_eq!(strip_indexes("a[1].b[22].c"), "a.b.c");
    }
}
