//! `stitch import FILE.csv` and `stitch apply -f FILE.yaml`: parse locally
//! (with the line of every item), send one document to `POST /v1/apply`,
//! and report an error as `file:line: field: message`.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stitch_api::ApplyReport;
use stitch_inventory::{ApplyDocument, ImportError, SourceMap};

use super::Format;
use super::client::{ApiFailure, Client};

fn bar(len: u64, phase: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{prefix:>9} [{bar:30}] {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(phase.to_string());
    pb
}

fn spinner(phase: &str, msg: String) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    if !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(ProgressStyle::with_template("{prefix:>9} {spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
    pb.set_prefix(phase.to_string());
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

fn parse_failure(file: &Path, e: ImportError) -> anyhow::Error {
    let line = e.line.map(|l| format!("{l}:")).unwrap_or_default();
    let field = e.field.map(|f| format!(" field {f}:")).unwrap_or_default();
    anyhow::anyhow!("{}:{line}{field} {}", file.display(), e.message)
}

/// The API's error, pointed back at the source line of the item it names.
pub fn locate_failure(file: &Path, map: &SourceMap, f: &ApiFailure) -> String {
    let loc = f.field.as_deref().and_then(|p| map.locate(p));
    match (loc, &f.field) {
        (Some(l), Some(path)) => format!("{}:{}: field {}: {} ({}, {path})", file.display(), l.line, l.field.as_deref().unwrap_or(path), f.message, f.code),
        (None, Some(path)) => format!("{}: field {path}: {} ({})", file.display(), f.message, f.code),
        _ => format!("{}: {} ({})", file.display(), f.message, f.code),
    }
}

async fn upload(c: &Client, file: &Path, doc: &ApplyDocument, map: &SourceMap, format: Format) -> anyhow::Result<()> {
    let pb = spinner("validate", format!("encoding {} items", doc.len()));
    let body = serde_json::to_vec(doc)?;
    pb.set_prefix("upload");
    pb.set_message(format!("applying {} items ({} bytes)", doc.len(), body.len()));
    let res = c.post_bytes("/v1/apply", body).await;
    pb.finish_and_clear();
    match res {
        Ok(v) => {
            let report: ApplyReport = serde_json::from_value(v).context("unexpected answer from /v1/apply")?;
            super::output::report(&report, format)
        }
        Err(e) => match e.downcast_ref::<ApiFailure>() {
            Some(f) => Err(anyhow::anyhow!(locate_failure(file, map, f))),
            None => Err(e),
        },
    }
}

/// `stitch import servers.csv`.
pub async fn import_csv(c: &Client, file: &Path, format: Format) -> anyhow::Result<()> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let pb = bar(len, "parse");
    let parsed = stitch_inventory::parse_csv_with_progress(std::io::BufReader::new(f), |pos| pb.set_position(pos));
    pb.finish_and_clear();
    let (doc, map) = parsed.map_err(|e| parse_failure(file, e))?;
    upload(c, file, &doc, &map, format).await
}

/// `stitch apply -f fabric.yaml`.
pub async fn apply_file(c: &Client, file: &Path, format: Format) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let pb = bar(text.len() as u64, "parse");
    let parsed = stitch_inventory::parse_yaml(&text);
    pb.finish_and_clear();
    let (doc, map) = parsed.map_err(|e| parse_failure(file, e))?;
    upload(c, file, &doc, &map, format).await
}
