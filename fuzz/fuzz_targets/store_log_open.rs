//! Opens arbitrary bytes as a store log (what `stitch serve` reads at
//! start). Nothing may panic; what opens must open again the same (the
//! recovery that cut a torn tail off left a clean log). The proptest
//! `damage_never_opens_a_state_that_was_not_acknowledged` in
//! `crates/stitch-store/tests/it/log.rs` damages real logs in every
//! `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stitch_store::LogStore;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("stitch-fuzz-log-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("s.log");
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, data).unwrap();
    if let Ok(s) = LogStore::open(&path) {
        let len = s.file_len();
        drop(s);
        let again = LogStore::open(&path).expect("a log that opened opens again");
        assert_eq!(again.file_len(), len);
    }
});
