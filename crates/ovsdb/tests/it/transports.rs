//! TCP and TLS transports against ovsdb-server, and endpoint errors.

use ovsdb::{Client, ClientConfig, ConnectionState, Endpoint, Operation, Row, TlsConfig};

use crate::{DB, Opts, OvsdbServer, certs, connect, init_tracing, test_config};

async fn insert_and_check(client: &Client, server: &OvsdbServer, name: &str) {
    client.transact(DB, &[Operation::insert("Logical_Switch", Row::new().with("name", name))]).await.unwrap().into_result().unwrap();
    assert!(server.vtep_ctl(&["list-ls"]).lines().any(|l| l == name));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp() {
    let server = OvsdbServer::start(Opts { tcp: true, ..Opts::default() });
    let remote = format!("tcp:127.0.0.1:{}", server.tcp_port.unwrap());
    let (client, _ev) = connect(&remote, test_config()).await;
    assert!(client.list_dbs().await.unwrap().contains(&DB.to_owned()));
    insert_and_check(&client, &server, "over-tcp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_with_client_certificate() {
    let pki = tempfile::tempdir().unwrap();
    // Like ovs-pki: the server certificate names no host.
    let files = certs::make(pki.path(), &[]);
    let server = OvsdbServer::start(Opts { ssl: Some(files.clone()), ..Opts::default() });
    let remote = format!("ssl:127.0.0.1:{}", server.ssl_port.unwrap());
    let tls = TlsConfig::from_files(&files.ca, &files.client_cert, &files.client_key);
    let (client, _ev) = connect(&remote, ClientConfig { tls: Some(tls), ..test_config() }).await;
    assert!(client.list_dbs().await.unwrap().contains(&DB.to_owned()));
    insert_and_check(&client, &server, "over-ssl").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_hostname_verification_and_wrong_ca() {
    let pki = tempfile::tempdir().unwrap();
    let files = certs::make(pki.path(), &["127.0.0.1"]);
    let server = OvsdbServer::start(Opts { ssl: Some(files.clone()), ..Opts::default() });
    let remote = format!("ssl:127.0.0.1:{}", server.ssl_port.unwrap());

    // Strict hostname checking works when the certificate names the IP.
    let mut tls = TlsConfig::from_files(&files.ca, &files.client_cert, &files.client_key);
    tls.verify_hostname = true;
    let (client, _ev) = connect(&remote, ClientConfig { tls: Some(tls.clone()), ..test_config() }).await;
    insert_and_check(&client, &server, "verified").await;
    client.close();

    // ... and rejects a name the certificate does not carry.
    tls.server_name = Some("not-this-host".into());
    let (client, _ev) = Client::connect(remote.parse().unwrap(), ClientConfig { tls: Some(tls), ..test_config() }).unwrap();
    let mut st = client.state();
    let s = st.wait_for(|s| matches!(s, ConnectionState::Backoff { .. })).await.unwrap().clone();
    assert!(format!("{s:?}").contains("certificate"), "{s:?}");
    client.close();

    // A CA that did not sign the server certificate.
    let other = tempfile::tempdir().unwrap();
    let rogue = certs::make(other.path(), &[]);
    let tls = TlsConfig::from_files(&rogue.ca, &rogue.client_cert, &rogue.client_key);
    let (client, _ev) = Client::connect(remote.parse().unwrap(), ClientConfig { tls: Some(tls), ..test_config() }).unwrap();
    let mut st = client.state();
    let s = st.wait_for(|s| matches!(s, ConnectionState::Backoff { .. })).await.unwrap().clone();
    let ConnectionState::Backoff { error, .. } = s else { unreachable!() };
    assert!(error.contains("handshake") && error.contains("certificate"), "{error}");
    client.close();
}

#[tokio::test]
async fn endpoint_errors_are_clear() {
    init_tracing();
    let e = Client::connect("ptcp:6640".parse().unwrap(), ClientConfig::default()).unwrap_err();
    assert!(e.to_string().contains("passive"), "{e}");
    let e = Client::connect("ssl:127.0.0.1:6640".parse().unwrap(), ClientConfig::default()).unwrap_err();
    assert!(e.to_string().contains("tls"), "{e}");
    let e = "tcp:127.0.0.1:notaport".parse::<Endpoint>().unwrap_err();
    assert!(e.to_string().contains("not a port"), "{e}");
    // Nothing listens there: the client keeps retrying and says why.
    let dir = tempfile::tempdir().unwrap();
    let remote = format!("unix:{}", dir.path().join("none.sock").display());
    let (client, _ev) = Client::connect(remote.parse().unwrap(), test_config()).unwrap();
    let mut st = client.state();
    let s = st.wait_for(|s| matches!(s, ConnectionState::Backoff { attempt: 2.., .. })).await.unwrap().clone();
    assert!(format!("{s:?}").contains("No such file"), "{s:?}");
}
