//! The catalogue's benchmarks (bench/README.md): upload throughput and search latency.

fn main() {}
