//! lock / steal / unlock, the locked and stolen notifications, assert, and
//! re-locking after a reconnect.

use ovsdb::{Client, Event, Operation};

use crate::{DB, Opts, OvsdbServer, connect, expect_event, test_config};

async fn holds(client: &Client, lock: &str) -> bool {
    let r = client.transact(DB, &[Operation::Assert { lock: lock.into() }]).await.unwrap();
    match r.error() {
        None => true,
        Some(e) if e.error.error == "not owner" => false,
        Some(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_steal_unlock() {
    let server = OvsdbServer::start(Opts::default());
    let (a, mut a_ev) = connect(&server.unix_remote(), test_config()).await;
    let (b, mut b_ev) = connect(&server.unix_remote(), test_config()).await;

    assert!(a.lock("L").await.unwrap());
    assert!(!b.lock("L").await.unwrap(), "queued behind a");
    assert!(holds(&a, "L").await);
    assert!(!holds(&b, "L").await);

    a.unlock("L").await.unwrap();
    let ev = expect_event(&mut b_ev, "Locked", |e| matches!(e, Event::Locked { .. })).await;
    assert_eq!(ev, Event::Locked { lock: "L".into() });
    assert!(holds(&b, "L").await);
    assert!(!holds(&a, "L").await);

    assert!(a.steal("L").await.unwrap());
    let ev = expect_event(&mut b_ev, "Stolen", |e| matches!(e, Event::Stolen { .. })).await;
    assert_eq!(ev, Event::Stolen { lock: "L".into() });
    assert!(holds(&a, "L").await);
    assert!(!holds(&b, "L").await);
    assert!(a_ev.try_recv().is_none_or(|e| !matches!(e, Event::Stolen { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_is_requested_again_after_reconnect() {
    let mut server = OvsdbServer::start(Opts::default());
    let (a, mut a_ev) = connect(&server.unix_remote(), test_config()).await;
    assert!(a.lock("L").await.unwrap());
    server.restart();
    expect_event(&mut a_ev, "Connected", |e| matches!(e, Event::Connected { generation: 2 })).await;
    let ev = expect_event(&mut a_ev, "Locked", |e| matches!(e, Event::Locked { .. })).await;
    assert_eq!(ev, Event::Locked { lock: "L".into() });
    assert!(holds(&a, "L").await);
    // Unlocked locks are not requested again.
    a.unlock("L").await.unwrap();
    let (b, _b_ev) = connect(&server.unix_remote(), test_config()).await;
    assert!(b.lock("L").await.unwrap());
}
