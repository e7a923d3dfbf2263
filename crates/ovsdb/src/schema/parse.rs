//! Parsing of `<database-schema>` JSON.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::{BaseType, ColumnSchema, ColumnType, DatabaseSchema, RefType, TableSchema};
use crate::error::SchemaError;
use crate::notation::{AtomicType, Value, is_id, truncate};

fn invalid(msg: impl Into<String>) -> SchemaError {
    SchemaError::Invalid(msg.into())
}

fn obj<'a>(json: &'a Json, what: &str) -> Result<&'a Map<String, Json>, SchemaError> {
    json.as_object().ok_or_else(|| invalid(format!("{what} is not an object: {}", truncate(json))))
}

fn opt_str(o: &Map<String, Json>, key: &str, what: &str) -> Result<Option<String>, SchemaError> {
    match o.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(format!("{what}: \"{key}\" is not a string: {}", truncate(other)))),
    }
}

fn opt_bool(o: &Map<String, Json>, key: &str, what: &str) -> Result<Option<bool>, SchemaError> {
    match o.get(key) {
        None => Ok(None),
        Some(Json::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(invalid(format!("{what}: \"{key}\" is not a boolean: {}", truncate(other)))),
    }
}

fn opt_u64(o: &Map<String, Json>, key: &str, what: &str) -> Result<Option<u64>, SchemaError> {
    match o.get(key) {
        None => Ok(None),
        Some(j) => j.as_u64().map(Some).ok_or_else(|| invalid(format!("{what}: \"{key}\" is not a non-negative integer: {}", truncate(j)))),
    }
}

fn opt_i64(o: &Map<String, Json>, key: &str, what: &str) -> Result<Option<i64>, SchemaError> {
    match o.get(key) {
        None => Ok(None),
        Some(j) => j.as_i64().map(Some).ok_or_else(|| invalid(format!("{what}: \"{key}\" is not an integer: {}", truncate(j)))),
    }
}

fn opt_f64(o: &Map<String, Json>, key: &str, what: &str) -> Result<Option<f64>, SchemaError> {
    match o.get(key) {
        None => Ok(None),
        Some(j) => j.as_f64().map(Some).ok_or_else(|| invalid(format!("{what}: \"{key}\" is not a number: {}", truncate(j)))),
    }
}

pub(super) fn database(json: &Json) -> Result<DatabaseSchema, SchemaError> {
    let o = obj(json, "database schema")?;
    let name = opt_str(o, "name", "database schema")?.ok_or_else(|| invalid("database schema has no \"name\""))?;
    if !is_id(&name) {
        return Err(invalid(format!("database name {name:?} is not an identifier")));
    }
    let version = opt_str(o, "version", "database schema")?;
    let cksum = opt_str(o, "cksum", "database schema")?;
    let tables_json = o.get("tables").ok_or_else(|| invalid("database schema has no \"tables\""))?;
    let mut tables = BTreeMap::new();
    for (tname, tjson) in obj(tables_json, "\"tables\"")? {
        tables.insert(tname.clone(), table(tname, tjson)?);
    }
    // RFC 7047 §3.2: if no table says isRoot, every table is a root table.
    if !tables.values().any(|t| t.is_root) {
        for t in tables.values_mut() {
            t.is_root = true;
        }
    }
    for t in tables.values() {
        for c in t.columns.values() {
            for base in std::iter::once(&c.type_.key).chain(c.type_.value.as_ref()) {
                if let Some(rt) = &base.ref_table {
                    if !tables.contains_key(rt) {
                        return Err(invalid(format!("column {}.{} refers to unknown table {rt:?}", t.name, c.name)));
                    }
                }
            }
        }
    }
    Ok(DatabaseSchema { name, version, cksum, tables })
}

fn table(name: &str, json: &Json) -> Result<TableSchema, SchemaError> {
    if !is_id(name) || name.starts_with('_') {
        return Err(invalid(format!("table name {name:?} is not a valid identifier")));
    }
    let what = format!("table {name}");
    let o = obj(json, &what)?;
    let cols_json = o.get("columns").ok_or_else(|| invalid(format!("{what} has no \"columns\"")))?;
    let mut columns = BTreeMap::new();
    for (cname, cjson) in obj(cols_json, &format!("{what} \"columns\""))? {
        if !is_id(cname) || cname.starts_with('_') {
            return Err(invalid(format!("{what}: column name {cname:?} is not allowed")));
        }
        columns.insert(cname.clone(), column(name, cname, cjson)?);
    }
    let max_rows = opt_u64(o, "maxRows", &what)?;
    if max_rows == Some(0) {
        return Err(invalid(format!("{what}: maxRows must be at least 1")));
    }
    let is_root = opt_bool(o, "isRoot", &what)?.unwrap_or(false);
    let mut indexes = Vec::new();
    if let Some(ij) = o.get("indexes") {
        let arr = ij.as_array().ok_or_else(|| invalid(format!("{what}: \"indexes\" is not an array")))?;
        for index in arr {
            let cols = index.as_array().ok_or_else(|| invalid(format!("{what}: an index is not an array")))?;
            let mut names = Vec::new();
            for c in cols {
                let c = c.as_str().ok_or_else(|| invalid(format!("{what}: index column is not a string")))?;
                if !columns.contains_key(c) && c != "_uuid" && c != "_version" {
                    return Err(invalid(format!("{what}: index names unknown column {c:?}")));
                }
                names.push(c.to_owned());
            }
            if names.is_empty() {
                return Err(invalid(format!("{what}: empty index")));
            }
            indexes.push(names);
        }
    }
    Ok(TableSchema { name: name.to_owned(), columns, max_rows, is_root, indexes })
}

fn column(table: &str, name: &str, json: &Json) -> Result<ColumnSchema, SchemaError> {
    let what = format!("column {table}.{name}");
    let o = obj(json, &what)?;
    let tj = o.get("type").ok_or_else(|| invalid(format!("{what} has no \"type\"")))?;
    let type_ = column_type(tj, &what)?;
    Ok(ColumnSchema {
        name: name.to_owned(),
        type_,
        ephemeral: opt_bool(o, "ephemeral", &what)?.unwrap_or(false),
        mutable: opt_bool(o, "mutable", &what)?.unwrap_or(true),
    })
}

/// Parses a `<type>`.
pub(crate) fn column_type(json: &Json, what: &str) -> Result<ColumnType, SchemaError> {
    if let Json::String(s) = json {
        let atomic = atomic(s, what)?;
        return Ok(ColumnType::scalar(atomic));
    }
    let o = obj(json, &format!("{what} type"))?;
    let key = base_type(o.get("key").ok_or_else(|| invalid(format!("{what}: type has no \"key\"")))?, what)?;
    let value = o.get("value").map(|v| base_type(v, what)).transpose()?;
    let min = match o.get("min") {
        None => 1,
        Some(j) => match j.as_u64() {
            Some(n @ (0 | 1)) => n,
            _ => return Err(invalid(format!("{what}: \"min\" must be 0 or 1, not {}", truncate(j)))),
        },
    };
    let max = match o.get("max") {
        None => Some(1),
        Some(Json::String(s)) if s == "unlimited" => None,
        Some(j) => match j.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                return Err(invalid(format!("{what}: \"max\" must be a positive integer or \"unlimited\", not {}", truncate(j))));
            }
        },
    };
    if let Some(max) = max {
        if min > max {
            return Err(invalid(format!("{what}: min {min} exceeds max {max}")));
        }
    }
    Ok(ColumnType { key, value, min, max })
}

fn atomic(s: &str, what: &str) -> Result<AtomicType, SchemaError> {
    AtomicType::parse(s).ok_or_else(|| invalid(format!("{what}: unknown atomic type {s:?}")))
}

fn base_type(json: &Json, what: &str) -> Result<BaseType, SchemaError> {
    if let Json::String(s) = json {
        return Ok(BaseType::of(atomic(s, what)?));
    }
    let o = obj(json, &format!("{what} base type"))?;
    let t = opt_str(o, "type", what)?.ok_or_else(|| invalid(format!("{what}: base type has no \"type\"")))?;
    let atomic_t = atomic(&t, what)?;
    let mut base = BaseType::of(atomic_t);
    if let Some(ej) = o.get("enum") {
        let v = Value::from_json(ej).map_err(|e| invalid(format!("{what}: bad \"enum\": {e}")))?;
        let set = v.as_set().ok_or_else(|| invalid(format!("{what}: \"enum\" is a map")))?;
        let unconstrained = BaseType::of(atomic_t);
        let mut checked = std::collections::BTreeSet::new();
        for a in set {
            checked.insert(unconstrained.check_atom(&a).map_err(|e| invalid(format!("{what}: \"enum\": {e}")))?);
        }
        base.enum_ = Some(checked);
    }
    match atomic_t {
        AtomicType::Integer => {
            base.min_integer = opt_i64(o, "minInteger", what)?;
            base.max_integer = opt_i64(o, "maxInteger", what)?;
        }
        AtomicType::Real => {
            base.min_real = opt_f64(o, "minReal", what)?;
            base.max_real = opt_f64(o, "maxReal", what)?;
        }
        AtomicType::String => {
            base.min_length = opt_u64(o, "minLength", what)?;
            base.max_length = opt_u64(o, "maxLength", what)?;
        }
        AtomicType::Uuid => {
            base.ref_table = opt_str(o, "refTable", what)?;
            base.ref_type = match opt_str(o, "refType", what)?.as_deref() {
                None | Some("strong") => RefType::Strong,
                Some("weak") => RefType::Weak,
                Some(other) => return Err(invalid(format!("{what}: unknown refType {other:?}"))),
            };
        }
        AtomicType::Boolean => {}
    }
    Ok(base)
}
