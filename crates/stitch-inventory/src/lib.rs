//! Inventory import, as pure functions over text: the apply document that
//! `POST /v1/apply` takes, and the parsers that build one from a servers CSV
//! or a declarative YAML file, each with a [`SourceMap`] from document paths
//! back to source lines so errors can be shown as `file:line`; and LLDP
//! ([`lldp`]) as a source of cabling, checked against the inventory
//! ([`cabling`]).

pub mod cabling;
pub mod csv_import;
pub mod document;
pub mod lldp;
pub mod source;
pub mod yaml;

pub use csv_import::{parse_csv, parse_csv_with_progress};
pub use document::ApplyDocument;
pub use source::{Location, SourceMap};
pub use yaml::parse_yaml;

/// A parse error with the source line and the field (CSV column or document
/// path) it is about, when known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default(), field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct ImportError {
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl ImportError {
    pub fn at(line: usize, field: &str, message: impl Into<String>) -> Self {
        ImportError { line: Some(line), field: Some(field.to_string()), message: message.into() }
    }
}
