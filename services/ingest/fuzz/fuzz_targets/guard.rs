//! Fuzzes the chunk guard alone: any input, split into two reads at a point the input chooses.
#![no_main]

use ferrocast_ingest::adapters::rtmp::harness::guard_only;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (a, b) = data.split_at(split);
    let whole = guard_only([data]);
    // Splitting reads must not change the verdict.
    assert_eq!(guard_only([a, b]), whole);
});
