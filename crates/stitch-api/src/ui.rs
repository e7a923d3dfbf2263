//! The web UI at `/ui/`: three static files compiled into the binary (no
//! build step, no framework), a thin client of the `/v1` API — every write
//! goes through the same validated endpoints as the CLI.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;

use crate::AppState;

const INDEX: &str = include_str!("../ui/index.html");
const APP: &str = include_str!("../ui/app.js");
const STYLE: &str = include_str!("../ui/style.css");

fn file(ty: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, ty), (header::CACHE_CONTROL, "no-cache")], body)
}

pub fn routes(r: Router<AppState>) -> Router<AppState> {
    r.route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(|| async { file("text/html; charset=utf-8", INDEX) }))
        .route("/ui/app.js", get(|| async { file("text/javascript; charset=utf-8", APP) }))
        .route("/ui/style.css", get(|| async { file("text/css; charset=utf-8", STYLE) }))
}
