//! LLDP discovery with real lldpd: a "server" and a "switch" network
//! namespace joined by a veth pair (the cable), lldpd on both; the switch
//! side announces itself as `leaf1` with port `swp7`. The server's
//! `lldpcli -f json` output and a raw frame captured with tcpdump go through
//! the binary (`stitch node lldp`, `POST /v1/nodes/{id}/lldp`).
//!
//! Needs root, `ip`, `lldpd`/`lldpcli` and `tcpdump`; outside CI a missing
//! prerequisite skips with a message, under `CI=true` it fails. Everything
//! started here is stopped by process group and the namespaces are deleted
//! on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Server;

fn have(cmd: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {cmd}")]).stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn prerequisites() -> bool {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let missing: Vec<&str> = ["ip", "lldpd", "lldpcli", "tcpdump"].into_iter().filter(|c| !have(c)).collect();
    if root && missing.is_empty() {
        return true;
    }
    let why = format!("root: {root}, missing: {missing:?}");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and the LLDP test cannot run: {why}");
    }
    eprintln!("SKIPPED: LLDP test prerequisites missing ({why}); set CI=true to make this a failure");
    false
}

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two namespaces, a cable, two lldpd daemons; torn down on drop.
struct Cable {
    srv: String,
    sw: String,
    dir: PathBuf,
    daemons: Vec<Child>,
}

impl Cable {
    fn new(dir: &Path, attempt: u32) -> Cable {
        let tag = std::process::id() % 10_000 * 10 + attempt;
        let (srv, sw) = (format!("sll{tag}-srv"), format!("sll{tag}-sw"));
        let mut c = Cable { srv: srv.clone(), sw: sw.clone(), dir: dir.to_path_buf(), daemons: Vec::new() };
        run(&["ip", "netns", "add", &srv]);
        run(&["ip", "netns", "add", &sw]);
        let (a, b) = (format!("lla{tag}"), format!("llb{tag}"));
        run(&["ip", "link", "add", &a, "type", "veth", "peer", "name", &b]);
        run(&["ip", "link", "set", &a, "netns", &srv]);
        run(&["ip", "link", "set", &b, "netns", &sw]);
        run(&["ip", "-n", &srv, "link", "set", &a, "name", "ens1f0"]);
        run(&["ip", "-n", &sw, "link", "set", &b, "name", "swp7"]);
        // lldpd drops privileges: its socket's directory must be reachable.
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        // Both daemons are configured while the cable is down, so no frame
        // ever goes out under a default identity (a neighbor would keep it).
        for (ns, nic, name) in [(&sw, "swp7", "leaf1"), (&srv, "ens1f0", "n1")] {
            let sock = dir.join(format!("{name}.sock"));
            let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
            let child = std::os::unix::process::CommandExt::process_group(
                Command::new("ip").args(["netns", "exec", ns, "lldpd", "-d", "-u"]).arg(&sock).args(["-I", nic]),
                0,
            )
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
            c.daemons.push(child);
            c.lldpcli_until_ok(ns, &sock, &["configure", "system", "hostname", name]);
            c.lldpcli_until_ok(ns, &sock, &["configure", "lldp", "tx-interval", "1"]);
            if name == "leaf1" {
                c.lldpcli_until_ok(ns, &sock, &["configure", "lldp", "portidsubtype", "ifname"]);
            }
        }
        for (ns, nic) in [(&srv, "ens1f0"), (&sw, "swp7")] {
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            run(&["ip", "-n", ns, "link", "set", nic, "up"]);
        }
        c
    }

    fn lldpcli(&self, ns: &str, sock: &Path, args: &[&str]) -> std::process::Output {
        Command::new("ip").args(["netns", "exec", ns, "lldpcli", "-u"]).arg(sock).args(args).output().unwrap()
    }

    /// lldpd takes a moment to open its socket.
    fn lldpcli_until_ok(&self, ns: &str, sock: &Path, args: &[&str]) {
        let t = Instant::now();
        loop {
            let out = self.lldpcli(ns, sock, args);
            if out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("unable to connect") {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "lldpcli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the server's lldpd reports once it has heard the switch.
    /// A cable whose two daemons see each other. lldpd started in a fresh
    /// namespace sometimes never notices its link or its neighbor (seen
    /// here in about one start of four, with either side stuck at zero
    /// frames received or sent); such a cable is torn down and laid again.
    fn laid(dir: &Path) -> Cable {
        for attempt in 0..5 {
            let c = Cable::new(dir, attempt);
            if c.wait_neighbor(Duration::from_secs(12)) {
                return c;
            }
            eprintln!("lldpd did not see its neighbor on cable {attempt}; laying it again");
        }
        panic!("lldpd never saw its neighbor on five fresh cables");
    }

    fn wait_neighbor(&self, within: Duration) -> bool {
        let sock = self.dir.join("n1.sock");
        let t = Instant::now();
        while t.elapsed() < within {
            let out = self.lldpcli(&self.srv, &sock, &["-f", "json", "show", "neighbors", "details"]);
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("leaf1") && text.contains("swp7") {
                return true;
            }
            let _ = self.lldpcli(&self.sw, &self.dir.join("leaf1.sock"), &["update"]);
            let _ = self.lldpcli(&self.srv, &sock, &["update"]);
            std::thread::sleep(Duration::from_millis(500));
        }
        false
    }

    fn neighbors(&self, format: &str) -> Vec<u8> {
        let sock = self.dir.join("n1.sock");
        let t = Instant::now();
        loop {
            let out = self.lldpcli(&self.srv, &sock, &["-f", format, "show", "neighbors", "details"]);
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains("leaf1") && text.contains("swp7") {
                return out.stdout;
            }
            // Have both daemons look at their interfaces again and send now
            // (lldpd in a fresh namespace may miss the link coming up).
            let _ = self.lldpcli(&self.sw, &self.dir.join("leaf1.sock"), &["update"]);
            let _ = self.lldpcli(&self.srv, &sock, &["update"]);
            if t.elapsed() > stitch_testkit::PATIENCE {
                let log = |n: &str| std::fs::read_to_string(self.dir.join(format!("{n}.log"))).unwrap_or_default();
                let mut stats = self.lldpcli(&self.srv, &sock, &["show", "statistics"]);
                stats.stdout.extend(self.lldpcli(&self.sw, &self.dir.join("leaf1.sock"), &["show", "statistics"]).stdout);
                stats.stdout.extend(Command::new("ip").args(["-n", &self.srv, "-s", "link"]).output().unwrap().stdout);
                stats.stdout.extend(Command::new("ip").args(["-n", &self.sw, "-s", "link"]).output().unwrap().stdout);
                panic!(
                    "lldpd never saw the switch: {text}\nstatistics: {}\n--- leaf1.log\n{}\n--- n1.log\n{}",
                    String::from_utf8_lossy(&stats.stdout),
                    log("leaf1"),
                    log("n1")
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// One LLDP frame as it arrives on the server's NIC, captured with tcpdump.
    fn capture_frame(&self) -> Vec<u8> {
        let pcap = self.dir.join("frame.pcap");
        let out = Command::new("timeout")
            // Incoming only: the server's own lldpd sends on this NIC too.
            .args(["20", "ip", "netns", "exec", &self.srv, "tcpdump", "-Q", "in", "-c", "1", "-i", "ens1f0", "-w"])
            .arg(&pcap)
            .args(["ether", "proto", "0x88cc"])
            .output()
            .unwrap();
        assert!(out.status.success(), "tcpdump: {}", String::from_utf8_lossy(&out.stderr));
        let b = std::fs::read(&pcap).unwrap();
        // pcap: 24-byte file header, 16-byte record header (incl_len at 8..12).
        let len = u32::from_le_bytes(b[32..36].try_into().unwrap()) as usize;
        b[40..40 + len].to_vec()
    }
}

impl Drop for Cable {
    fn drop(&mut self) {
        for d in &mut self.daemons {
            let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", d.id())]).status();
            let _ = d.wait();
        }
        for ns in [&self.srv, &self.sw] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lldp_from_real_lldpd_checks_and_records_cabling() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cable = Cable::laid(dir.path());
    let server = Server::start(dir.path());
    server
        .post(
            "/v1/apply",
            json!({
                "fabrics": [{"name": "dc1", "vni_range": [5000, 5999]}],
                "switches": [{"name": "leaf1", "fabric": "dc1", "ovsdb": "tcp:127.0.0.1:6640", "tunnel_ip": "10.0.0.1"}],
                "hardware": [{"name": "r650"}],
                "node_profiles": [{"name": "p", "hardware": ["r650"]}],
                // The inventory is wrong: the cable is in swp7.
                "nodes": [{"name": "n1", "node_profile": "p", "ports": [{"name": "ens1f0", "switch": "leaf1", "switch_port": "swp1"}]}],
            }),
        )
        .await;

    // lldpcli's JSON through the CLI: the wrong cabling is found...
    let file = dir.path().join("lldp.json");
    std::fs::write(&file, cable.neighbors("json")).unwrap();
    let v = server.json(&["node", "lldp", "n1", file.to_str().unwrap()]);
    let f = &v["findings"][0];
    assert_eq!((f["nic"].as_str(), f["verdict"].as_str()), (Some("ens1f0"), Some("differs")), "{v}");
    assert_eq!(f["seen"]["switch_port"], "swp7");
    assert_eq!(f["recorded"]["switch_port"], "swp1");
    assert_eq!(v["applied"], false);
    let node = server.get("/v1/nodes?name=n1").await;
    assert_eq!(node["nodes"][0]["ports"][0]["switch_port"], "swp1", "a check alone changes nothing");

    // ... and recorded with --apply; the table output names the verdict.
    let out = server.ok(&["node", "lldp", "n1", file.to_str().unwrap(), "--apply"]);
    assert!(out.contains("differs") && out.contains("leaf1:swp7") && out.contains("cabling recorded"), "{out}");
    let node = server.get("/v1/nodes?name=n1").await;
    assert_eq!(node["nodes"][0]["ports"][0]["switch_port"], "swp7");
    let id = node["nodes"][0]["id"].as_str().unwrap().to_string();

    // json0, and a raw frame captured on the wire, agree: it matches now.
    let v: Value = server.post(&format!("/v1/nodes/{id}/lldp"), serde_json::from_slice(&cable.neighbors("json0")).unwrap()).await;
    assert_eq!(v["findings"][0]["verdict"], "matches", "{v}");
    let frame = cable.capture_frame();
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    let v = server.post(&format!("/v1/nodes/{id}/lldp"), json!({"frames": [{"interface": "ens1f0", "frame": hex}]})).await;
    assert_eq!(v["findings"][0]["verdict"], "matches", "{v}");

    // Garbage is refused with where and why; nothing changes.
    let before = server.dump().await;
    let (s, e) = server
        .http(reqwest::Method::POST, &format!("/v1/nodes/{id}/lldp?apply=true"), Some(json!({"frames": [{"interface": "ens1f0", "frame": "0180c200000e"}]})))
        .await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("frames[0].frame")), "{e}");
    let (s, e) = server.http(reqwest::Method::POST, &format!("/v1/nodes/{id}/lldp?apply=true"), Some(json!({"lldp": 7}))).await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(server.dump().await, before);
}
