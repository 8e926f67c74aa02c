//! The cargo-fuzz corpus as a regression suite under `cargo test`: every input the fuzzers kept
//! (services/ingest/fuzz/corpus/) runs again through the guard alone and through guard +
//! rml_rtmp's ServerSession, with the same reads and checks as the fuzz targets. A crash found by
//! fuzzing is added to the corpus and stays covered here, on stable Rust, in CI.

use std::path::{Path, PathBuf};

use ferrocast_ingest::adapters::rtmp::harness::{guard_only, guard_then_session};

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, run: impl Fn(&[u8])) {
    let files = corpus_files(target);
    assert!(
        !files.is_empty(),
        "the {target} corpus is empty: this suite would prove nothing"
    );
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // A panic here names the input through the test's output.
        eprintln!("replaying {}", file.display());
        run(&data);
    }
}

#[test]
fn every_guard_corpus_input_is_handled_without_panic() {
    // The same property the `guard` fuzz target checks: splitting the reads never changes the
    // verdict.
    replay("guard", |data| {
        let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
        let (a, b) = data.split_at(split);
        assert_eq!(guard_only([a, b]), guard_only([data]));
    });
}

#[test]
fn every_guard_session_corpus_input_is_handled_without_panic() {
    replay("guard_session", |data| {
        let _ = guard_then_session(data.chunks(1024));
    });
}
