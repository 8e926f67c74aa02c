//! Fuzzes guard + rml_rtmp's ServerSession: whatever the guard lets through must not crash rml
//! (connect and publish requests are accepted, so the post-publish paths run too).
#![no_main]

use ferrocast_ingest::adapters::rtmp::harness::guard_then_session;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Reads of up to 1 KiB, like a slow socket.
    let _ = guard_then_session(data.chunks(1024));
});
