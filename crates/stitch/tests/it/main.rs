//! End-to-end tests of the real `stitch` binary: the server on a temp dir
//! and a free port, driven over HTTP and through the CLI (one test binary).

mod acl;
mod cli;
mod errors;
mod fabric;
mod http;
mod import;
mod lab;
mod lldp;
mod openstack;
mod restart;
mod service;
mod ui;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_stitch");

/// A running `stitch serve`; killed on drop (only this child).
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub dir: PathBuf,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        Self::start_with(dir, &[])
    }

    /// Start with extra `serve` arguments (e.g. `--config FILE`).
    pub fn start_with(dir: &Path, extra: &[&str]) -> Server {
        let data = dir.join("data");
        let mut args = vec!["--data-dir", data.to_str().unwrap()];
        args.extend_from_slice(extra);
        Self::start_args(dir, &args)
    }

    /// Start with exactly these `serve` arguments besides `--listen` (no
    /// embedded data directory unless given: e.g. an etcd store).
    pub fn start_args(dir: &Path, extra: &[&str]) -> Server {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("STITCH_CONFIG")
            .env("STITCH_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("stitch: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; log: {}", std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()))
            .to_string();
        Server { child: Some(child), url, dir: dir.to_path_buf() }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM, then wait: the exit must be clean.
    pub fn terminate(mut self) {
        let mut child = self.child.take().unwrap();
        let st = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(st.success());
        let status = child.wait().unwrap();
        assert!(status.success(), "server exited with {status}");
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN).args(args).env("STITCH_URL", &self.url).env_remove("STITCH_CONFIG").output().unwrap()
    }

    /// Run the CLI and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(out.status.success(), "stitch {args:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    pub async fn http(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let c = reqwest::Client::new();
        let mut req = c.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() })
    }

    pub async fn get(&self, path: &str) -> Value {
        let (s, v) = self.http(reqwest::Method::GET, path, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.http(reqwest::Method::POST, path, Some(body.clone())).await;
        assert!(s == 201 || s == 200, "POST {path} {body}: {s} {v}");
        v
    }

    /// Every list of every kind.
    pub async fn dump(&self) -> Value {
        let mut out = serde_json::Map::new();
        for k in ["fabrics", "switches", "switch-ports", "hardware", "cards", "node-profiles", "nodes"] {
            out.insert(k.into(), self.get(&format!("/v1/{k}")).await);
        }
        Value::Object(out)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The YAML base most tests start from.
pub const FABRIC_YAML: &str = "\
fabrics:
  - name: dc1
switches:
  - name: leaf1
    fabric: dc1
    ovsdb: unix:/run/l1.sock
    tunnel_ip: 10.0.0.1
  - name: leaf2
    fabric: dc1
    ovsdb: tcp:127.0.0.1:6641
    tunnel_ip: 10.0.0.2
hardware:
  - name: hw1
    model: R650
cards:
  - name: c1
    hardware: [hw1]
    interface_map:
      - name: ens1f0
        labels: [sriov, physnet1]
node_profiles:
  - name: p1
    hardware: [hw1]
";

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
