//! `POST /v1/nodes/{id}/lldp`: check a node's recorded cabling against what
//! LLDP sees on its NICs, and with `?apply=true` record what LLDP saw for
//! the NICs that are new or differ (all or nothing).
//!
//! The body is what `lldpcli -f json` (or `-f json0`) `show neighbors
//! details` prints on the node, or raw frames a capture agent saw:
//! `{"frames": [{"interface": "ens1f0", "frame": "<hex>"}]}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};
use stitch_inventory::cabling;
use stitch_inventory::lldp::{Neighbor, decode_frame, parse_lldpcli};
use stitch_model::inventory::AnyObject;
use stitch_model::snapshot::Change;
use stitch_store::UpdateError;
use time::OffsetDateTime;

use crate::AppState;
use crate::error::{ApiError, code};
use crate::inventory::parse_id;

fn hex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace() && *c != ':').collect();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The neighbors in a request body.
pub fn neighbors(body: &[u8]) -> Result<Vec<Neighbor>, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ApiError::bad_request(code::MALFORMED_JSON, "", format!("the body is not JSON: {e}")))?;
    if let Some(frames) = v.get("frames") {
        let frames = frames.as_array().ok_or_else(|| ApiError::bad_request(code::INVALID_VALUE, "frames", "frames must be a list"))?;
        let mut out = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let field = |k: &str| format!("frames[{i}].{k}");
            let nic = f.get("interface").and_then(Value::as_str).filter(|s| !s.is_empty());
            let nic = nic.ok_or_else(|| ApiError::bad_request(code::MISSING_FIELD, field("interface"), "the local interface is required"))?;
            let bytes = f.get("frame").and_then(Value::as_str).and_then(hex);
            let bytes = bytes.ok_or_else(|| ApiError::bad_request(code::INVALID_VALUE, field("frame"), "frame must be a hex string"))?;
            let pdu = decode_frame(&bytes).map_err(|e| ApiError::bad_request(code::INVALID_VALUE, field("frame"), format!("not an LLDP frame: {e}")))?;
            out.push(pdu.neighbor(nic));
        }
        return Ok(out);
    }
    parse_lldpcli(&v).map_err(|e| ApiError::bad_request(code::INVALID_VALUE, e.context.clone(), format!("not lldpcli output: {}", e.message)))
}

/// `POST /v1/nodes/{id}/lldp[?apply=true]`.
pub async fn check(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let mut apply = false;
    for (k, v) in query {
        match (k.as_str(), v.as_str()) {
            ("apply", "true" | "1" | "") => apply = true,
            ("apply", "false" | "0") => apply = false,
            ("apply", _) => return Err(ApiError::bad_request(code::INVALID_VALUE, "apply", format!("apply={v:?}: expected true or false"))),
            _ => return Err(ApiError::bad_request(code::UNKNOWN_FIELD, k.as_str(), format!("unknown parameter {k:?}; expected apply"))),
        }
    }
    let seen = neighbors(&body)?;
    let snap = st.catalog.snapshot();
    let node = snap.nodes.get(&id).ok_or_else(|| ApiError::not_found(format!("node {id} not found")))?;
    let mut findings = cabling::check(&snap, node, &seen);
    let mut applied = false;
    if apply {
        // Decided again under the writer lock, on the state it commits to.
        let res = st
            .catalog
            .update(|snap| {
                let node = snap.nodes.get(&id).ok_or_else(|| ApiError::not_found(format!("node {id} not found")))?;
                findings = cabling::check(snap, node, &seen);
                Ok::<_, ApiError>(match cabling::corrected(node, &findings) {
                    Some(mut n) => {
                        n.updated_at = OffsetDateTime::now_utc();
                        vec![Change::Put(AnyObject::Node(n))]
                    }
                    None => vec![],
                })
            })
            .await;
        match res {
            Ok((_, changes)) => applied = !changes.is_empty(),
            Err(UpdateError::Refused(e)) => return Err(e),
            Err(UpdateError::Catalog(e)) => return Err(e.into()),
        }
        if applied {
            tracing::info!(node = %id, "cabling recorded from LLDP");
        }
    }
    Ok(Json(json!({ "findings": findings, "applied": applied })))
}
