//! A real `ovsdb-server` with the vtep schema in a temp dir, on a unix
//! socket, killed (only its own PID) on drop; `vtep-ctl` as an independent
//! reader and writer.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ovsdb::{Client, ClientConfig};

pub const VTEP_SCHEMA: &str = "/usr/share/openvswitch/vtep.ovsschema";

/// A hang guard for waiting; tests never assert on timing.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct OvsdbServer {
    _dir: tempfile::TempDir,
    pub sock: PathBuf,
    child: Child,
}

impl OvsdbServer {
    pub fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("stitch-vtep-it-").tempdir().expect("tempdir");
        let d = dir.path();
        let status = Command::new("ovsdb-tool").arg("create").arg(d.join("db")).arg(VTEP_SCHEMA).status();
        assert!(status.expect("run ovsdb-tool").success(), "ovsdb-tool create failed");
        let sock = d.join("db.sock");
        let child = Command::new("ovsdb-server")
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--unixctl={}", d.join("ctl").display()))
            .arg(format!("--pidfile={}", d.join("pid").display()))
            .arg(format!("--log-file={}", d.join("log").display()))
            .arg("--no-chdir")
            .arg("-vconsole:off")
            .arg(d.join("db"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ovsdb-server");
        let s = OvsdbServer { _dir: dir, sock, child };
        let start = Instant::now();
        while std::os::unix::net::UnixStream::connect(&s.sock).is_err() {
            assert!(start.elapsed() < PATIENCE, "ovsdb-server did not come up");
            std::thread::sleep(Duration::from_millis(10));
        }
        s
    }

    pub fn remote(&self) -> String {
        format!("unix:{}", self.sock.display())
    }

    /// `vtep-ctl --db=unix:SOCK ARGS...`; panics on failure.
    pub fn vtep_ctl(&self, args: &[&str]) -> String {
        let out = Command::new("vtep-ctl").arg(format!("--db={}", self.remote())).args(args).output().expect("run vtep-ctl");
        assert!(out.status.success(), "vtep-ctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Lines of `vtep-ctl` output, trimmed, without empty ones.
    pub fn lines(&self, args: &[&str]) -> Vec<String> {
        self.vtep_ctl(args).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
    }

    /// One column of every row of a table, as `vtep-ctl` prints it, sorted.
    pub fn column(&self, table: &str, column: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .vtep_ctl(&["--bare", &format!("--columns={column}"), "list", table])
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    }

    /// The UUID of a switch's port (port names are unique per switch
    /// only, so `vtep-ctl` cannot name it in generic commands).
    pub fn port_uuid(&self, ps: &str, port: &str) -> String {
        let ports = self.vtep_ctl(&["--bare", "get", "Physical_Switch", ps, "ports"]);
        ports
            .split(|c: char| c == ',' || c == '[' || c == ']' || c.is_whitespace())
            .filter(|u| !u.is_empty())
            .find(|u| self.vtep_ctl(&["--bare", "get", "Physical_Port", u, "name"]).trim() == port)
            .unwrap_or_else(|| panic!("no port {port} on {ps}"))
            .to_owned()
    }

    /// A connected client.
    pub async fn client(&self) -> (Client, ovsdb::Events) {
        let (c, e) = Client::connect(self.remote().parse().expect("remote"), ClientConfig::default()).expect("client");
        tokio::time::timeout(PATIENCE, c.wait_connected()).await.expect("connected in time").expect("connected");
        (c, e)
    }

    /// What a switch does at boot: its Physical_Switch with a tunnel IP
    /// and ports.
    pub fn add_switch(&self, ps: &str, tunnel_ip: &str, ports: &[&str]) {
        self.vtep_ctl(&["add-ps", ps]);
        self.vtep_ctl(&["set", "Physical_Switch", ps, &format!("tunnel_ips={tunnel_ip}")]);
        for p in ports {
            self.vtep_ctl(&["add-port", ps, p]);
        }
    }
}

impl Drop for OvsdbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
