//! The web UI in a real browser: headless Chromium driven over WebDriver
//! (chromedriver on 127.0.0.1), against the real binary. Needs the Debian
//! packages `chromium` and `chromium-driver`; outside CI a missing one
//! skips with a message, under `CI=true` it fails. chromedriver and the
//! browser are stopped (session deleted, driver killed by PID) on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Server;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn prerequisites() -> bool {
    let missing: Vec<&str> = ["/usr/bin/chromium", "/usr/bin/chromedriver"].into_iter().filter(|p| !std::path::Path::new(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and the browser test cannot run: missing {missing:?}");
    }
    eprintln!("SKIPPED: browser test needs {missing:?} (apt-get install chromium chromium-driver); set CI=true to make this a failure");
    false
}

/// A WebDriver session in headless Chromium.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("/usr/bin/chromedriver").arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]
        }}}});
        let t = Instant::now();
        let session = loop {
            match http.post(format!("{base}/session")).json(&caps).send().await {
                Ok(r) => {
                    let v: Value = r.json().await.unwrap();
                    match v["value"]["sessionId"].as_str() {
                        Some(s) => break s.to_string(),
                        None => panic!("no WebDriver session: {v}"),
                    }
                }
                Err(_) if t.elapsed() < Duration::from_secs(20) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => panic!("chromedriver never answered: {e}"),
            }
        };
        Browser { driver, base, session, http }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let v = self.try_cmd(method, path, body).await;
        assert!(v.get("error").is_none(), "WebDriver {path}: {v}");
        v
    }

    /// The command's `value`, which is `{"error": ..}` when WebDriver refused it.
    async fn try_cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let v: Value = self.http.request(method, url).json(&body).send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    /// Run an element command on the element `css` finds, finding it again
    /// when the page re-rendered it in between ("stale element reference":
    /// the views re-render their table when their data arrives).
    async fn on_element(&self, css: &str, method: reqwest::Method, what: &str) -> Value {
        let t = Instant::now();
        loop {
            let id = self.find(css).await;
            let v = self.try_cmd(method.clone(), &format!("/element/{id}/{what}"), json!({})).await;
            match v["error"].as_str() {
                None => return v,
                Some("stale element reference") if t.elapsed() < stitch_testkit::PATIENCE => continue,
                Some(_) => panic!("WebDriver {what} on {css}: {v}"),
            }
        }
    }

    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({"url": url})).await;
    }

    async fn find(&self, css: &str) -> String {
        let t = Instant::now();
        loop {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let v: Value = self.http.post(url).json(&json!({"using": "css selector", "value": css})).send().await.unwrap().json().await.unwrap();
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return id.to_string();
            }
            assert!(t.elapsed() < stitch_testkit::PATIENCE, "no element {css}: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) {
        self.on_element(css, reqwest::Method::POST, "click").await;
    }

    async fn text(&self, css: &str) -> String {
        self.on_element(css, reqwest::Method::GET, "text").await.as_str().unwrap_or_default().to_string()
    }

    /// Open a view from the navigation and wait until its table holds that
    /// view's rows (the page marks the table once the data arrived).
    async fn open(&self, view: &str) {
        self.click(&format!("#nav a[data-view={view}]")).await;
        self.find(&format!("#items[data-view={view}]")).await;
    }

    async fn script(&self, js: &str, args: Value) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", json!({"script": js, "args": args})).await
    }

    /// Replace the editor's JSON (as a user pasting it would).
    async fn set_editor(&self, v: &Value) {
        self.script("document.querySelector('#editor').value = arguments[0];", json!([serde_json::to_string_pretty(v).unwrap()])).await;
    }

    async fn editor(&self) -> Value {
        let s = self.script("return document.querySelector('#editor').value;", json!([])).await;
        serde_json::from_str(s.as_str().unwrap()).unwrap()
    }

    /// Wait until `css`'s text satisfies `f`.
    async fn until_text(&self, css: &str, what: &str, f: impl Fn(&str) -> bool) -> String {
        let t = Instant::now();
        loop {
            let s = self.text(css).await;
            if f(&s) {
                return s;
            }
            assert!(t.elapsed() < stitch_testkit::PATIENCE, "{what}: {css} shows {s:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session ends the browser; then the driver goes by PID.
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = Command::new("curl").args(["-s", "-m", "20", "-X", "DELETE", &url]).stdout(Stdio::null()).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_lists_creates_edits_and_deletes_inventory_in_a_real_browser() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.post("/v1/fabrics", json!({"name": "dc1", "vni_range": [5000, 5999]})).await;
    let b = Browser::start().await;

    // The status view answers (no switch yet), then the fabrics list.
    b.goto(&format!("{}/ui/", server.url)).await;
    b.find("#items[data-view=status]").await;
    assert_eq!(b.text("#title").await, "Status");
    b.open("fabrics").await;
    b.until_text("#items tbody", "the stored fabric is listed", |t| t.contains("dc1")).await;

    // Create a switch through the editor.
    b.open("switches").await;
    b.until_text("#title", "switches view", |t| t == "Switches").await;
    b.click("#new").await;
    let fabric_id = server.get("/v1/fabrics").await["fabrics"][0]["id"].clone();
    b.set_editor(&json!({"name": "leaf1", "fabric_id": fabric_id, "ovsdb": "tcp:192.0.2.11:6640", "tunnel_ip": "10.0.0.1"})).await;
    b.click("#save").await;
    b.until_text("#notice", "saved", |t| t.contains("saved leaf1")).await;
    b.until_text("#items tbody", "the new switch is listed", |t| t.contains("leaf1") && t.contains("10.0.0.1")).await;
    assert_eq!(server.get("/v1/switches").await["switches"][0]["tunnel_ip"], "10.0.0.1");

    // Invalid input: the API's error is shown, nothing is stored.
    let before = server.dump().await;
    b.click("#new").await;
    b.set_editor(&json!({"name": "leaf2", "fabric_id": fabric_id, "ovsdb": "tcp:192.0.2.12:6640", "tunnel_ip": "10.0.0.999"})).await;
    b.click("#save").await;
    let e = b.until_text("#error", "a refusal", |t| t.contains("400")).await;
    assert!(e.contains("tunnel_ip"), "{e}");
    b.script("document.querySelector('#editor').value = '{\"name\": ';", json!([])).await;
    b.click("#save").await;
    b.until_text("#error", "malformed JSON refused in the page", |t| t.contains("not JSON")).await;
    assert_eq!(server.dump().await, before, "refused edits store nothing");
    b.click("#cancel").await;

    // Edit: click the row, change a field, save.
    b.click("#items tbody tr[data-name=leaf1]").await;
    let mut v = b.editor().await;
    assert_eq!(v["name"], "leaf1");
    assert!(v.get("id").is_none(), "server fields are not offered for editing: {v}");
    v["management_ip"] = json!("192.0.2.11");
    b.set_editor(&v).await;
    b.click("#save").await;
    b.until_text("#items tbody", "edited", |t| t.contains("leaf1")).await;
    b.until_text("#notice", "saved", |t| t.contains("saved leaf1")).await;
    assert_eq!(server.get("/v1/switches").await["switches"][0]["management_ip"], "192.0.2.11");

    // The status dashboard shows the switch (no reconciler connection yet: not in sync).
    b.open("status").await;
    b.until_text("#items tbody", "the switch on the dashboard", |t| t.contains("leaf1")).await;

    // Delete it.
    b.open("switches").await;
    b.click("#items tbody tr[data-name=leaf1]").await;
    b.click("#delete").await;
    b.until_text("#notice", "deleted", |t| t.contains("deleted")).await;
    assert_eq!(server.get("/v1/switches").await["switches"], json!([]));
    // A fabric still referenced cannot be deleted: the UI says why.
    server.post("/v1/switches", json!({"name": "leaf9", "fabric_id": fabric_id, "ovsdb": "tcp:192.0.2.19:6640", "tunnel_ip": "10.0.0.9"})).await;
    b.open("fabrics").await;
    b.click("#items tbody tr[data-name=dc1]").await;
    b.click("#delete").await;
    let e = b.until_text("#error", "a 409", |t| t.contains("409")).await;
    assert!(e.contains("leaf9") || e.contains("switch"), "{e}");
}
