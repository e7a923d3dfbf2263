//! A small client of the `/v1` API that turns error bodies into [`ApiFailure`]s.

use serde_json::Value;
use stitch_model::inventory::Kind;
use uuid::Uuid;

/// An error answered by the API, as its body describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl std::error::Error for ApiFailure {}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} (field {field}, {}, HTTP {})", self.message, self.code, self.status),
            None => write!(f, "{} ({}, HTTP {})", self.message, self.code, self.status),
        }
    }
}

pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder().build()?;
        Ok(Client { base: base.trim_end_matches('/').to_string(), http })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let resp = req.send().await.map_err(|e| anyhow::anyhow!("cannot reach the Stitch API at {}: {e}", self.base))?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if status.is_success() {
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            return Ok(serde_json::from_slice(&bytes)?);
        }
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let e = &body["error"];
        Err(ApiFailure {
            status: status.as_u16(),
            code: e["code"].as_str().unwrap_or("unknown").to_string(),
            message: e["message"].as_str().map(str::to_string).unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned()),
            field: e["field"].as_str().map(str::to_string),
        }
        .into())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, query: &[(String, String)]) -> anyhow::Result<Value> {
        self.send(self.http.get(self.url(path)).query(query)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.post(self.url(path)).json(body)).await
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> anyhow::Result<Value> {
        self.send(self.http.post(self.url(path)).header("content-type", "application/json").body(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.patch(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.delete(self.url(path))).await
    }

    /// Every object of a kind matching `query`.
    pub async fn list(&self, kind: Kind, query: &[(String, String)]) -> anyhow::Result<Vec<Value>> {
        let v = self.get(&format!("/v1/{}", kind.plural()), query).await?;
        let key = kind.plural().replace('-', "_");
        Ok(v.get(&key).and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// The id of the object a user named: a UUID as is, otherwise a name
    /// looked up with `?name=` (switch ports: `SWITCH:PORT`).
    pub async fn resolve(&self, kind: Kind, reference: &str) -> anyhow::Result<Uuid> {
        if let Ok(id) = Uuid::parse_str(reference) {
            return Ok(id);
        }
        let mut query = vec![("name".to_string(), reference.to_string())];
        if kind == Kind::SwitchPort {
            let (sw, port) = reference.split_once(':').ok_or_else(|| anyhow::anyhow!("a switch port is named SWITCH:PORT or by its id, not {reference:?}"))?;
            let sw = Box::pin(self.resolve(Kind::Switch, sw)).await?;
            query = vec![("name".to_string(), port.to_string()), ("switch_id".to_string(), sw.to_string())];
        }
        let found = self.list(kind, &query).await?;
        match found.as_slice() {
            [one] => one["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(|| anyhow::anyhow!("the API returned a {kind} without an id")),
            [] => anyhow::bail!("no {kind} named {reference:?}"),
            _ => anyhow::bail!("several {kind} objects are named {reference:?}; use an id"),
        }
    }
}
