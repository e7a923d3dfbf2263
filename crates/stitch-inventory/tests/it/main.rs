//! Integration tests for stitch-inventory (one binary, see DESIGN.md "Tests").

mod csv_props;
mod lldp;
mod yaml_docs;
