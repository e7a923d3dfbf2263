//! Neutron list semantics over JSON representations: filters on any
//! attribute (repeated keys OR, different keys AND), `fields=`, `sort_key` /
//! `sort_dir`, and `limit` / `marker` pagination with `<collection>_links`.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use crate::error::NeutronError;

const CONTROL: [&str; 6] = ["fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"];

/// A parsed query string, keeping repeated keys.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pairs: Vec<(String, String)>,
}

impl ListQuery {
    pub fn parse(raw: Option<&str>) -> Result<Self, NeutronError> {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(k)?, decode(v)?));
        }
        Ok(ListQuery { pairs })
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// A page of the whole collection in the default (id) order: no
    /// filter, no sort key, a limit of at least 1. Returns the limit and
    /// the marker, if any.
    pub fn plain_page(&self) -> Option<(usize, Option<&str>)> {
        let only_paging = self.pairs.iter().all(|(k, _)| CONTROL.contains(&k.as_str()) && k != "sort_key" && k != "sort_dir");
        let limit = self.all("limit").last()?.parse::<usize>().ok().filter(|l| *l > 0)?;
        only_paging.then(|| (limit, self.all("marker").last().copied()))
    }

    /// The values a filter on `key` asks for (`None`: no filter on it).
    pub fn filter(&self, key: &str) -> Option<Vec<&str>> {
        let v = self.all(key);
        (!CONTROL.contains(&key) && !v.is_empty()).then_some(v)
    }
}

fn decode(s: &str) -> Result<String, NeutronError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let h = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(b) => out.push(b),
                    None => return Err(NeutronError::bad_request(format!("malformed query string near {s:?}"))),
                }
                i += 2;
            }
            b'%' => return Err(NeutronError::bad_request(format!("malformed query string near {s:?}"))),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| NeutronError::bad_request("query string is not UTF-8"))
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn filter_matches(item: &Map<String, Value>, key: &str, wanted: &[&str]) -> bool {
    let Some(v) = item.get(key) else { return false };
    match v {
        Value::Bool(b) => wanted.iter().any(|w| match w.to_ascii_lowercase().as_str() {
            "true" | "1" => *b,
            "false" | "0" => !*b,
            _ => false,
        }),
        Value::Array(a) => wanted.iter().any(|w| a.iter().any(|x| text(x).as_deref() == Some(*w))),
        _ => text(v).is_some_and(|t| wanted.contains(&t.as_str())),
    }
}

fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), Some(_)) => Ordering::Less,
        (Some(_), None | Some(Value::Null)) => Ordering::Greater,
        (Some(x), Some(y)) => text(x).cmp(&text(y)),
    }
}

/// Apply the query to `items` (each a full representation with `id`) and
/// build the response body `{"<collection>": [...], "<collection>_links": [...]}`.
/// `attributes` are the names a filter or sort key may use.
pub fn list_response(items: Vec<Map<String, Value>>, attributes: &[&str], q: &ListQuery, collection: &str, self_url: &str) -> Result<Value, NeutronError> {
    let sample: Vec<String> = items.first().map(|f| f.keys().cloned().collect()).unwrap_or_default();
    list_response_of(items, attributes, &sample, q, collection, self_url)
}

/// [`list_response`] for `items` already narrowed by some of the query's
/// filters; `sample` names the attributes of a representation of the
/// whole collection (which a filter or sort key may also use).
pub fn list_response_of(
    mut items: Vec<Map<String, Value>>,
    attributes: &[&str],
    sample: &[String],
    q: &ListQuery,
    collection: &str,
    self_url: &str,
) -> Result<Value, NeutronError> {
    let mut known: std::collections::BTreeSet<String> = attributes.iter().map(|a| a.to_string()).collect();
    known.extend(sample.iter().cloned());
    let mut filter_keys: Vec<&str> = q.pairs.iter().map(|(k, _)| k.as_str()).filter(|k| !CONTROL.contains(k)).collect();
    filter_keys.dedup();
    for k in &filter_keys {
        if !known.contains(*k) {
            return Err(NeutronError::bad_request(format!("[{k}] is invalid attribute for filtering")));
        }
    }
    items.retain(|i| filter_keys.iter().all(|k| filter_matches(i, k, &q.all(k))));

    let keys = q.all("sort_key");
    let dirs = q.all("sort_dir");
    if !dirs.is_empty() && dirs.len() != keys.len() {
        return Err(NeutronError::bad_request("The number of sort_keys and sort_dirs must be same"));
    }
    for d in &dirs {
        if *d != "asc" && *d != "desc" {
            return Err(NeutronError::bad_request(format!("{d} is invalid value for sort_dir, valid values are 'asc' and 'desc'")));
        }
    }
    for k in &keys {
        if !known.contains(*k) {
            return Err(NeutronError::bad_request(format!("{k} is invalid attribute for sort_keys")));
        }
    }
    // Always end with id so the order (and so pagination) is total.
    let mut order: Vec<(&str, bool)> = keys.iter().enumerate().map(|(i, k)| (*k, dirs.get(i).is_some_and(|d| *d == "desc"))).collect();
    order.push(("id", order.first().is_some_and(|(_, d)| *d)));
    items.sort_by(|a, b| {
        order
            .iter()
            .map(|(k, desc)| {
                let o = cmp_values(a.get(*k), b.get(*k));
                if *desc { o.reverse() } else { o }
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });

    let limit = match q.all("limit").last() {
        None => None,
        Some(l) => match l.parse::<usize>() {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(_) => return Err(NeutronError::bad_request(format!("Limit must be an integer 0 or greater and not '{l}'"))),
        },
    };
    let marker = q.all("marker").last().map(|m| m.to_string());
    let start = match &marker {
        None => 0,
        Some(m) => match items.iter().position(|i| i.get("id").and_then(Value::as_str) == Some(m.as_str())) {
            Some(p) => p + 1,
            None => return Err(NeutronError::not_found("NotFound", format!("Marker {m} could not be found."))),
        },
    };
    let rest: Vec<_> = items.into_iter().skip(start).collect();
    let more = limit.is_some_and(|l| rest.len() > l);
    let page: Vec<_> = match limit {
        Some(l) => rest.into_iter().take(l).collect(),
        None => rest,
    };

    let mut links = Vec::new();
    if let Some(l) = limit {
        let others: Vec<String> =
            q.pairs.iter().filter(|(k, _)| k != "marker" && k != "limit" && k != "page_reverse").map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        let url = |marker: &str, reverse: bool| {
            let mut parts = others.clone();
            parts.push(format!("limit={l}"));
            parts.push(format!("marker={}", encode(marker)));
            if reverse {
                parts.push("page_reverse=True".into());
            }
            format!("{self_url}?{}", parts.join("&"))
        };
        if more {
            if let Some(last) = page.last().and_then(|i| i.get("id")).and_then(Value::as_str) {
                links.push(json!({"rel": "next", "href": url(last, false)}));
            }
        }
        if marker.is_some() {
            if let Some(first) = page.first().and_then(|i| i.get("id")).and_then(Value::as_str) {
                links.push(json!({"rel": "previous", "href": url(first, true)}));
            }
        }
    }

    let fields = q.all("fields");
    let page: Vec<Value> = page
        .into_iter()
        .map(|mut i| {
            if !fields.is_empty() {
                i.retain(|k, _| fields.contains(&k.as_str()));
            }
            Value::Object(i)
        })
        .collect();
    let mut body = Map::new();
    body.insert(collection.to_string(), Value::Array(page));
    if !links.is_empty() {
        body.insert(format!("{collection}_links"), Value::Array(links));
    }
    Ok(Value::Object(body))
}

/// Apply `fields=` to a single representation.
pub fn project(item: Map<String, Value>, q: &ListQuery) -> Map<String, Value> {
    let fields = q.all("fields");
    if fields.is_empty() {
        return item;
    }
    item.into_iter().filter(|(k, _)| fields.contains(&k.as_str())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Map<String, Value>> {
        (0..5)
            .map(|i| {
                json!({"id": format!("id{i}"), "name": format!("n{}", i % 2), "size": 10 - i, "up": i % 2 == 0, "tags": ["t", format!("x{i}")]})
                    .as_object()
                    .unwrap()
                    .clone()
            })
            .collect()
    }

    fn ids(v: &Value) -> Vec<String> {
        v["things"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
    }

    fn run(q: &str) -> Result<Value, NeutronError> {
        list_response(items(), &["id"], &ListQuery::parse(Some(q)).unwrap(), "things", "http://h/v2.0/things")
    }

    #[test]
    fn filters_and_or() {
        assert_eq!(ids(&run("name=n1").unwrap()), ["id1", "id3"]);
        assert_eq!(ids(&run("name=n1&id=id3").unwrap()), ["id3"]);
        assert_eq!(ids(&run("id=id3&id=id0").unwrap()), ["id0", "id3"]);
        assert_eq!(ids(&run("up=True").unwrap()), ["id0", "id2", "id4"]);
        assert_eq!(ids(&run("size=7").unwrap()), ["id3"]);
        assert_eq!(ids(&run("tags=x2").unwrap()), ["id2"]);
        assert!(run("colour=red").is_err());
    }

    #[test]
    fn sorting_and_pagination() {
        assert_eq!(ids(&run("sort_key=size&sort_dir=asc").unwrap()), ["id4", "id3", "id2", "id1", "id0"]);
        assert_eq!(ids(&run("sort_key=name&sort_dir=desc").unwrap()), ["id3", "id1", "id4", "id2", "id0"]);
        let p1 = run("limit=2").unwrap();
        assert_eq!(ids(&p1), ["id0", "id1"]);
        let next = p1["things_links"][0]["href"].as_str().unwrap();
        assert_eq!(next, "http://h/v2.0/things?limit=2&marker=id1");
        let p2 = run("limit=2&marker=id1").unwrap();
        assert_eq!(ids(&p2), ["id2", "id3"]);
        let p3 = run("limit=2&marker=id3").unwrap();
        assert_eq!(ids(&p3), ["id4"]);
        assert_eq!(p3["things_links"].as_array().unwrap().len(), 1, "only a previous link on the last page");
        assert!(run("limit=x").is_err());
        assert!(run("marker=nope").is_err());
        assert!(run("sort_key=size&sort_dir=up").is_err());
    }

    #[test]
    fn fields_project() {
        let v = run("fields=id&fields=name&name=n0").unwrap();
        assert_eq!(v["things"][0].as_object().unwrap().len(), 2);
        assert_eq!(decode("a%3Ab+c").unwrap(), "a:b c");
        assert!(decode("%zz").is_err());
        assert!(decode("%4").is_err());
    }
}
