//! A real `ovsdb-server` with the vtep schema, started in a temp dir and
//! killed (only its own PID) on drop. Shared with the benchmark example.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const VTEP_SCHEMA: &str = "/usr/share/openvswitch/vtep.ovsschema";
pub const DB: &str = "hardware_vtep";

/// PEM files for TLS tests, written into the server's directory.
#[derive(Clone, Debug)]
pub struct CertFiles {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

#[derive(Default, Clone, Debug)]
pub struct Opts {
    /// One-member RAFT cluster instead of a standalone DB.
    pub clustered: bool,
    /// Also listen on ptcp:PORT:127.0.0.1.
    pub tcp: bool,
    /// Also listen on pssl:PORT:127.0.0.1 with these certificates.
    pub ssl: Option<CertFiles>,
    /// Extra `--remote=` values (e.g. an active `tcp:127.0.0.1:PORT`).
    pub remotes: Vec<String>,
    /// Use these certificates for --private-key etc. without a pssl remote
    /// (for an active `ssl:` remote).
    pub certs: Option<CertFiles>,
}

pub struct OvsdbServer {
    pub dir: tempfile::TempDir,
    pub sock: PathBuf,
    pub tcp_port: Option<u16>,
    pub ssl_port: Option<u16>,
    pub opts: Opts,
    child: Option<Child>,
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl OvsdbServer {
    pub fn start(opts: Opts) -> Self {
        let dir = tempfile::Builder::new().prefix("ovsdb-it-").tempdir().expect("tempdir");
        let db = dir.path().join("db.db");
        let status = if opts.clustered {
            let raft = format!("unix:{}", dir.path().join("raft.sock").display());
            Command::new("ovsdb-tool").args(["create-cluster"]).arg(&db).arg(VTEP_SCHEMA).arg(raft).stderr(Stdio::null()).status()
        } else {
            Command::new("ovsdb-tool").arg("create").arg(&db).arg(VTEP_SCHEMA).status()
        };
        assert!(status.expect("run ovsdb-tool").success(), "ovsdb-tool create failed");
        let sock = dir.path().join("db.sock");
        let tcp_port = opts.tcp.then(free_port);
        let ssl_port = opts.ssl.as_ref().map(|_| free_port());
        let mut s = OvsdbServer { dir, sock, tcp_port, ssl_port, opts, child: None };
        s.spawn(&s.sock.clone());
        s
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn unix_remote(&self) -> String {
        format!("unix:{}", self.sock.display())
    }

    pub fn ctl(&self) -> PathBuf {
        self.dir.path().join("ctl")
    }

    /// Starts the process with its unix remote at `sock`.
    fn spawn(&mut self, sock: &Path) {
        let d = self.dir.path();
        let mut cmd = Command::new("ovsdb-server");
        cmd.arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--unixctl={}", self.ctl().display()))
            .arg(format!("--log-file={}", d.join("ovsdb-server.log").display()))
            .arg(format!("--pidfile={}", d.join("ovsdb-server.pid").display()))
            .arg("--no-chdir")
            .arg("-vconsole:off");
        if let Some(p) = self.tcp_port {
            cmd.arg(format!("--remote=ptcp:{p}:127.0.0.1"));
        }
        if let Some(c) = self.opts.ssl.as_ref().or(self.opts.certs.as_ref()) {
            cmd.arg(format!("--private-key={}", c.server_key.display()))
                .arg(format!("--certificate={}", c.server_cert.display()))
                .arg(format!("--ca-cert={}", c.ca.display()));
        }
        if let Some(p) = self.ssl_port {
            cmd.arg(format!("--remote=pssl:{p}:127.0.0.1"));
        }
        for r in &self.opts.remotes {
            cmd.arg(format!("--remote={r}"));
        }
        cmd.arg(d.join("db.db")).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        self.child = Some(cmd.spawn().expect("spawn ovsdb-server"));
        self.wait_ready(sock);
    }

    fn wait_ready(&self, sock: &Path) {
        let start = Instant::now();
        loop {
            let unix_ok = std::os::unix::net::UnixStream::connect(sock).is_ok();
            let tcp_ok = self.tcp_port.is_none_or(|p| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok());
            let ssl_ok = self.ssl_port.is_none_or(|p| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok());
            if unix_ok && tcp_ok && ssl_ok {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "ovsdb-server did not come up; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ovsdb-server.log")).unwrap_or_default()
    }

    /// Kills the server process (ours only) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same database and remotes.
    pub fn restart(&mut self) {
        self.stop();
        let sock = self.sock.clone();
        self.spawn(&sock);
    }

    /// Starts it again with its unix remote at another path, so existing
    /// clients cannot reconnect until [`add_remote`](Self::add_remote).
    pub fn restart_hidden(&mut self) -> PathBuf {
        self.stop();
        let alt = self.dir.path().join("hidden.sock");
        self.spawn(&alt);
        alt
    }

    /// `ovs-appctl ovsdb-server/add-remote`.
    pub fn add_remote(&self, remote: &str) {
        self.appctl(&["ovsdb-server/add-remote", remote]);
    }

    pub fn appctl(&self, args: &[&str]) -> String {
        let out = Command::new("ovs-appctl").arg("-t").arg(self.ctl()).args(args).output().expect("run ovs-appctl");
        assert!(out.status.success(), "ovs-appctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a transaction with `ovsdb-client` (an independent client) on
    /// the given remote and returns its JSON result.
    pub fn client_transact_on(remote: &str, txn: &serde_json::Value) -> serde_json::Value {
        let out = Command::new("ovsdb-client").args(["transact", remote, &txn.to_string()]).output().expect("run ovsdb-client");
        assert!(out.status.success(), "ovsdb-client transact: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("ovsdb-client output is JSON")
    }

    pub fn client_transact(&self, txn: &serde_json::Value) -> serde_json::Value {
        Self::client_transact_on(&self.unix_remote(), txn)
    }

    /// Sorted values of `column` of every row of `table`, read with
    /// `ovsdb-client` (JSON select).
    pub fn column_values(&self, table: &str, column: &str) -> Vec<serde_json::Value> {
        let r = self.client_transact(&serde_json::json!([DB, {"op": "select", "table": table, "where": [], "columns": [column]}]));
        let mut v: Vec<_> = r[0]["rows"].as_array().expect("rows").iter().map(|row| row[column].clone()).collect();
        v.sort_by_key(|a| a.to_string());
        v
    }

    /// `vtep-ctl --db=unix:SOCK ARGS...` output.
    pub fn vtep_ctl(&self, args: &[&str]) -> String {
        let out = Command::new("vtep-ctl").arg(format!("--db={}", self.unix_remote())).args(args).output().expect("run vtep-ctl");
        assert!(out.status.success(), "vtep-ctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Offline transaction on the (stopped, standalone) database file.
    pub fn tool_transact(&self, txn: &serde_json::Value) -> serde_json::Value {
        let out = Command::new("ovsdb-tool").arg("transact").arg(self.dir.path().join("db.db")).arg(txn.to_string()).output().expect("run ovsdb-tool");
        assert!(out.status.success(), "ovsdb-tool transact: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("ovsdb-tool output is JSON")
    }
}

impl Drop for OvsdbServer {
    fn drop(&mut self) {
        self.stop();
    }
}
