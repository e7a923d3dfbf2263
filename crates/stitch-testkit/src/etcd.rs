//! A real etcd for tests: one member on 127.0.0.1 (free ports) in a
//! directory the caller owns; killed by PID on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A real etcd on 127.0.0.1 (free ports), in a temp dir; killed by PID on drop.
pub struct Etcd {
    child: Child,
    pub url: String,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Etcd {
    /// Start one, or `None` when etcd is not installed (a failure under `CI=true`).
    pub fn start(dir: &std::path::Path) -> Option<Etcd> {
        let have = Command::new("etcd").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        if !have {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and etcd is not installed (apt-get install etcd-server)");
            }
            eprintln!("SKIPPED: etcd is not installed (apt-get install etcd-server); set CI=true to make this a failure");
            return None;
        }
        let (client, peer) = (free_port(), free_port());
        let url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log = std::fs::File::create(dir.join("etcd.log")).unwrap();
        let child = Command::new("etcd")
            .arg("--data-dir")
            .arg(dir.join("etcd"))
            .args(["--name", "t", "--listen-client-urls", &url, "--advertise-client-urls", &url])
            .args(["--listen-peer-urls", &peer_url, "--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("t={peer_url}")])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let e = Etcd { child, url };
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", client)).is_err() {
            assert!(t.elapsed() < Duration::from_secs(30), "etcd never listened: {}", std::fs::read_to_string(dir.join("etcd.log")).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(e)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
