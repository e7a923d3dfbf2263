//! A draft applied in pieces is the snapshot (and the changes) of one
//! `Snapshot::apply` of everything, and a failed attempt leaves it as it was.

use proptest::prelude::*;
use stitch_model::inventory::*;
use stitch_model::snapshot::Change;
use stitch_model::{Draft, Snapshot};

use crate::*;

fn dump(s: &Snapshot) -> String {
    Kind::ALL.iter().map(|k| format!("{:?}", s.list_any(*k))).collect::<Vec<_>>().join("\n")
}

/// Everything the snapshot holds, its indexes and generation counters
/// included (a rollback must restore those too).
fn full(s: &Snapshot) -> String {
    format!("{s:?}")
}

/// Ids from a counter of its own. The whole and the pieces must draw the
/// same ids for the objects they imply (a node's switch ports); the
/// shared [`Seq`] hands each run different ones.
struct Ids(u128);

impl stitch_model::snapshot::Context for Ids {
    fn new_id(&mut self) -> uuid::Uuid {
        self.0 += 1;
        uuid::Uuid::from_u128(self.0)
    }
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::UNIX_EPOCH
    }
}

fn change(op: u8, a: u128, b: u128) -> Change {
    match op {
        0 => switch(100 + a, &format!("sw{a}"), if b % 2 == 0 { 1 } else { 900 }),
        1 => Change::Delete(Kind::Switch, id(100 + a)),
        2 => Change::Delete(Kind::Hardware, id(4)),
        // A node cabled to switch ports that may not exist yet (implied
        // switch-port records), on a switch that may not exist (refused).
        4 => node(500 + a, &format!("n{a}"), Some(6), vec![nic("ens1f0", 100 + b, &format!("p{a}"))]),
        5 => Change::Delete(Kind::Node, id(500 + a)),
        _ => fabric(300 + a, &format!("f{b}")),
    }
}

proptest! {
    #[test]
    fn pieces_equal_one_apply(ops in proptest::collection::vec((0u8..6, 0u128..5, 0u128..5), 1..30), cut in 1usize..6) {
        let base = base();
        let all: Vec<Change> = ops.iter().map(|(o, a, b)| change(*o, *a, *b)).collect();
        let whole = base.apply(all.clone(), &mut Ids(1_000_000));
        let mut d = Draft::new(&base);
        let mut failed = false;
        let mut ids = Ids(1_000_000);
        for piece in all.chunks(cut) {
            if d.apply(piece.to_vec(), &mut ids).is_err() {
                failed = true;
                break;
            }
        }
        match whole {
            Ok((snap, effective)) => {
                prop_assert!(!failed);
                prop_assert_eq!(dump(d.snap()), dump(&snap));
                prop_assert_eq!(full(d.snap()), full(&snap));
                prop_assert_eq!(d.into_changes(), effective);
            }
            Err(_) => prop_assert!(failed, "a piece must fail when the whole does"),
        }
    }

    #[test]
    fn failed_attempts_leave_the_draft_as_it_was(ops in proptest::collection::vec((0u8..6, 0u128..5, 0u128..5), 1..30)) {
        let mut d = Draft::new(&base());
        for (o, a, b) in ops {
            let (before, n) = (full(d.snap()), d.changes().len());
            // Two changes per attempt: the first may land before the second fails.
            let res = d.attempt(|d| {
                d.apply(vec![change(o, a, b)], &mut Seq)?;
                d.apply(vec![change((o + 1) % 6, b, a)], &mut Seq)
            });
            if res.is_err() {
                prop_assert_eq!(before, full(d.snap()));
                prop_assert_eq!(n, d.changes().len());
            }
        }
    }

    #[test]
    fn failed_applies_leave_the_draft_as_it_was(ops in proptest::collection::vec((0u8..6, 0u128..5, 0u128..5), 1..30)) {
        // Several changes in one apply: the first ones are applied (in
        // place) before a later one fails.
        let mut d = Draft::new(&base());
        for (o, a, b) in ops {
            let (before, n) = (full(d.snap()), d.changes().len());
            let res = d.apply(vec![change(o, a, b), change((o + 1) % 6, b, a), change((o + 3) % 6, a, a)], &mut Seq);
            match res {
                Err(_) => {
                    prop_assert_eq!(before, full(d.snap()));
                    prop_assert_eq!(n, d.changes().len());
                }
                Ok(()) => {
                    // What the draft holds is its base with its changes applied.
                    let (again, _) = base().apply(d.changes().to_vec(), &mut Seq).unwrap();
                    prop_assert_eq!(dump(&again), dump(d.snap()));
                }
            }
        }
    }
}
