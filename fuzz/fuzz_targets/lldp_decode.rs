//! Feeds arbitrary bytes to the LLDP decoders: as an Ethernet frame / bare
//! LLDPDU, and (when the bytes are JSON) as lldpcli output. Nothing may
//! panic. The property tests in `crates/stitch-inventory/tests/it/lldp.rs`
//! run the same decoders on random inputs in every `cargo test`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stitch_inventory::lldp::{decode_frame, parse_lldpcli};

fuzz_target!(|data: &[u8]| {
    if let Ok(pdu) = decode_frame(data) {
        let _ = pdu.neighbor("eth0");
        // What decodes re-encodes to something that decodes the same.
        assert_eq!(stitch_inventory::lldp::decode_lldpdu(&pdu.encode()).ok(), Some(pdu));
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = parse_lldpcli(&v);
    }
});
