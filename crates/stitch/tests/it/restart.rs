//! Data survives a graceful restart and a `kill -9` right after an acknowledged write.

use crate::Server;

#[tokio::test]
async fn restart_graceful_and_after_kill9() {
    let tmp = tempfile::tempdir().unwrap();
    let srv = Server::start(tmp.path());
    srv.ok(&["fabric", "create", "dc1"]);
    srv.ok(&["switch", "create", "leaf1", "--fabric", "dc1", "--ovsdb", "passive", "--tunnel-ip", "10.0.0.1"]);
    srv.ok(&["node", "create", "n1", "--port", "ens1f0=leaf1:swp1"]);
    let before = srv.dump().await;
    // The store says how big it is and how long its commits take.
    let metrics = reqwest::get(format!("{}/metrics", srv.url)).await.unwrap().text().await.unwrap();
    let gauge = |name: &str| metrics.lines().find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok());
    let (file, live) = (gauge("stitch_store_log_bytes"), gauge("stitch_store_live_bytes"));
    assert!(file.zip(live).is_some_and(|(f, l)| f > 0.0 && l > 0.0 && l <= f), "{metrics}");
    assert!(metrics.contains("stitch_store_commit_seconds_count"), "{metrics}");
    srv.terminate();

    let srv = Server::start(tmp.path());
    assert_eq!(srv.dump().await, before, "graceful restart lost data");

    // Acknowledged write, then SIGKILL at once.
    let created = srv.post("/v1/hardware", serde_json::json!({"name": "hw-after-ack"})).await;
    let pid = srv.pid();
    srv.kill9();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/status")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default().contains("zombie")
    );

    let srv = Server::start(tmp.path());
    let hw = srv.get("/v1/hardware?name=hw-after-ack").await;
    assert_eq!(hw["hardware"][0], created, "acknowledged write lost after kill -9");
    let after = srv.dump().await;
    assert_eq!(after["nodes"], before["nodes"]);
    assert_eq!(after["switch-ports"], before["switch-ports"]);
    srv.terminate();
}

/// The same over an etcd store: two controllers in turn (the second after a
/// kill -9 of the first) see every acknowledged write; a store error at
/// start is reported, not hidden.
#[tokio::test]
async fn etcd_store_keeps_acknowledged_writes_across_controllers() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(etcd) = stitch_testkit::Etcd::start(tmp.path()) else { return };
    let args = ["--etcd-endpoints", etcd.url.as_str()];
    let srv = Server::start_args(tmp.path(), &args);
    srv.ok(&["fabric", "create", "dc1"]);
    srv.ok(&["switch", "create", "leaf1", "--fabric", "dc1", "--ovsdb", "passive", "--tunnel-ip", "10.0.0.1"]);
    let created = srv.post("/v1/hardware", serde_json::json!({"name": "hw-after-ack"})).await;
    let before = srv.dump().await;
    srv.kill9();

    let srv = Server::start_args(tmp.path(), &args);
    assert_eq!(srv.dump().await, before, "a new controller on the same etcd sees everything");
    assert_eq!(srv.get("/v1/hardware?name=hw-after-ack").await["hardware"][0], created);
    // Refused writes change nothing there either.
    let (s, _) = srv.http(reqwest::Method::POST, "/v1/switches", Some(serde_json::json!({"name": "leaf1"}))).await;
    assert_eq!(s, 400);
    assert_eq!(srv.dump().await, before);
    srv.terminate();

    // Both stores at once is a configuration error; an unreachable etcd stops the start.
    let out = std::process::Command::new(crate::BIN).args(["serve", "--data-dir", "/tmp/x", "--etcd-endpoints", &etcd.url]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("choose one store"));
    drop(etcd);
    let out = std::process::Command::new(crate::BIN).args(["serve", "--etcd-endpoints", "http://127.0.0.1:9"]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("cannot reach etcd"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn bad_config_fails_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = crate::write(tmp.path(), "stitch.toml", "[store]\ndata_dir = \"x\"\ncolour = 1\n");
    let out = std::process::Command::new(crate::BIN).args(["serve", "--config"]).arg(&cfg).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field") && err.contains("colour"), "{err}");
    let out = std::process::Command::new(crate::BIN).args(["serve"]).env_remove("STITCH_DATA_DIR").env_remove("STITCH_CONFIG").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no data directory"));
    // Config file with env override of the listen address; the server uses the file's data dir.
    let cfg = crate::write(
        tmp.path(),
        "ok.toml",
        &format!("[store]\ndata_dir = {:?}\n[api]\nlisten = \"127.0.0.1:1\"\n", tmp.path().join("d").display().to_string()),
    );
    let mut child = std::process::Command::new(crate::BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .env("STITCH_LISTEN", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("stitch: listening on http://127.0.0.1:") && !line.contains(":1\n"), "{line}");
    assert!(tmp.path().join("d").join("stitch.log").exists());
}

/// A data directory from before the store log (a redb `stitch.redb`) is
/// imported once at start: every object is there, writes go on, and the
/// old file is kept renamed, not imported again.
#[tokio::test]
async fn an_older_redb_store_is_imported_once() {
    use stitch_store::{LogStore, Op, RedbStore, Store};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let srv = Server::start(tmp.path());
    srv.ok(&["fabric", "create", "dc1"]);
    srv.ok(&["switch", "create", "leaf1", "--fabric", "dc1", "--ovsdb", "passive", "--tunnel-ip", "10.0.0.1"]);
    srv.ok(&["node", "create", "n1", "--port", "ens1f0=leaf1:swp1"]);
    let before = srv.dump().await;
    srv.terminate();

    // The same objects in a redb store, as an older Stitch kept them.
    let (kvs, _) = LogStore::open(&data.join("stitch.log")).unwrap().range("").await.unwrap();
    assert!(kvs.len() >= 4, "{} keys", kvs.len());
    let redb = RedbStore::open(&data.join("stitch.redb")).unwrap();
    redb.txn(vec![], kvs.into_iter().map(|kv| Op::Put { key: kv.key, value: kv.value }).collect()).await.unwrap();
    drop(redb);
    std::fs::remove_file(data.join("stitch.log")).unwrap();

    let srv = Server::start(tmp.path());
    assert_eq!(srv.dump().await, before, "the import lost or changed objects");
    assert!(data.join("stitch.redb.imported").exists() && !data.join("stitch.redb").exists());
    let created = srv.post("/v1/hardware", serde_json::json!({"name": "hw-after-import"})).await;
    srv.terminate();

    let srv = Server::start(tmp.path());
    assert_eq!(srv.get("/v1/hardware?name=hw-after-import").await["hardware"][0], created);
    let after = srv.dump().await;
    assert_eq!(after["nodes"], before["nodes"]);
    assert_eq!(after["switches"], before["switches"]);
    srv.terminate();
}
