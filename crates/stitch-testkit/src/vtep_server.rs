//! A real `ovsdb-server` with the hardware_vtep schema, playing one switch:
//! it owns its `Physical_Switch` and `Physical_Port` rows, as a TOR would.
//! Started in a temp dir on a unix socket; killed (by PID) on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SCHEMA: &str = "/usr/share/openvswitch/vtep.ovsschema";

pub struct VtepServer {
    pub name: String,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    /// An extra active remote, e.g. `tcp:127.0.0.1:PORT` to connect out to
    /// a controller listening passively.
    pub connect_out: Option<String>,
    /// (CA, certificate, key) for `ssl:` remotes.
    pub tls: Option<(PathBuf, PathBuf, PathBuf)>,
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e} (is openvswitch-vtep installed?)"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl VtepServer {
    /// A switch named `name` with `tunnel_ip` and `ports`.
    pub fn start(name: &str, tunnel_ip: &str, ports: &[&str]) -> VtepServer {
        Self::start_with(name, tunnel_ip, ports, None)
    }

    /// As `start_with`, connecting out over TLS with these files.
    pub fn start_tls(name: &str, tunnel_ip: &str, ports: &[&str], connect_out: String, tls: (PathBuf, PathBuf, PathBuf)) -> VtepServer {
        Self::launch(name, tunnel_ip, ports, Some(connect_out), Some(tls))
    }

    /// As `start`, also connecting out to `connect_out`.
    pub fn start_with(name: &str, tunnel_ip: &str, ports: &[&str], connect_out: Option<String>) -> VtepServer {
        Self::launch(name, tunnel_ip, ports, connect_out, None)
    }

    fn launch(name: &str, tunnel_ip: &str, ports: &[&str], connect_out: Option<String>, tls: Option<(PathBuf, PathBuf, PathBuf)>) -> VtepServer {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("vtep.db");
        run("ovsdb-tool", &["create", db.to_str().unwrap(), SCHEMA]);
        let mut s = VtepServer { name: name.into(), dir, child: None, connect_out, tls };
        s.spawn();
        s.ctl(&["add-ps", name]);
        s.ctl(&["set", "Physical_Switch", name, &format!("tunnel_ips={tunnel_ip}")]);
        for p in ports {
            s.ctl(&["add-port", name, p]);
        }
        s
    }

    pub fn sock(&self) -> PathBuf {
        self.dir.path().join("db.sock")
    }

    pub fn target(&self) -> String {
        format!("unix:{}", self.sock().display())
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let _ = std::fs::remove_file(self.sock());
        let mut cmd = Command::new("ovsdb-server");
        if let Some(r) = &self.connect_out {
            cmd.arg(format!("--remote={r}"));
        }
        if let Some((ca, cert, key)) = &self.tls {
            cmd.arg(format!("--ca-cert={}", ca.display())).arg(format!("--certificate={}", cert.display())).arg(format!("--private-key={}", key.display()));
        }
        let child = cmd
            .arg(format!("--remote=punix:{}", self.sock().display()))
            .arg(format!("--unixctl={}", d.join("ctl").display()))
            .arg(format!("--log-file={}", d.join("ovsdb.log").display()))
            .arg(d.join("vtep.db"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ovsdb-server (is openvswitch-common installed?)");
        self.child = Some(child);
        wait_for(&self.sock(), Duration::from_secs(10));
    }

    /// Run `vtep-ctl` against this switch's database.
    pub fn ctl(&self, args: &[&str]) -> String {
        let db = format!("--db={}", self.target());
        let mut a = vec![db.as_str(), "--timeout=10"];
        a.extend_from_slice(args);
        run("vtep-ctl", &a)
    }

    /// Stop the server (the database file stays).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again on the same database file.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Stop, recreate an empty database with only the switch's own rows,
    /// start again: a switch that lost its configuration.
    pub fn wipe(&mut self, tunnel_ip: &str, ports: &[&str]) {
        self.stop();
        let db = self.dir.path().join("vtep.db");
        std::fs::remove_file(&db).unwrap();
        run("ovsdb-tool", &["create", db.to_str().unwrap(), SCHEMA]);
        self.spawn();
        self.ctl(&["add-ps", &self.name.clone()]);
        self.ctl(&["set", "Physical_Switch", &self.name.clone(), &format!("tunnel_ips={tunnel_ip}")]);
        for p in ports {
            self.ctl(&["add-port", &self.name.clone(), p]);
        }
    }
}

impl Drop for VtepServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn wait_for(p: &Path, limit: Duration) {
    let t = Instant::now();
    while !p.exists() {
        assert!(t.elapsed() < limit, "{} did not appear", p.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}
