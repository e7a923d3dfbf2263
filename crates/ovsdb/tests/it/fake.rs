//! A scripted fake OVSDB server on a unix socket, for behaviour a real
//! ovsdb-server cannot be made to show (missing methods, silence, garbage).
#![allow(dead_code)]

use std::path::PathBuf;

use futures::{SinkExt, StreamExt};
use ovsdb::codec::MessageCodec;
use ovsdb::message::Message;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::codec::Framed;

use crate::PATIENCE;

pub type Conn = Framed<UnixStream, MessageCodec>;

pub struct FakeServer {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    listener: UnixListener,
}

impl FakeServer {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("ovsdb-fake-").tempdir().unwrap();
        let path = dir.path().join("fake.sock");
        let listener = UnixListener::bind(&path).unwrap();
        FakeServer { _dir: dir, path, listener }
    }

    pub fn remote(&self) -> String {
        format!("unix:{}", self.path.display())
    }

    pub async fn accept(&self) -> Conn {
        let (s, _) = tokio::time::timeout(PATIENCE, self.listener.accept()).await.expect("client connects").unwrap();
        Framed::new(s, MessageCodec::default())
    }
}

/// The next message from the client.
pub async fn recv(conn: &mut Conn) -> Message {
    tokio::time::timeout(PATIENCE, conn.next()).await.expect("message in time").expect("connection open").expect("valid message")
}

/// The next request; returns (id, method, params).
pub async fn recv_request(conn: &mut Conn) -> (serde_json::Value, String, Vec<serde_json::Value>) {
    match recv(conn).await {
        Message::Request { id, method, params } => (id, method, params),
        other => panic!("expected a request, got {other:?}"),
    }
}

pub async fn send(conn: &mut Conn, msg: Message) {
    conn.send(msg).await.unwrap();
}
