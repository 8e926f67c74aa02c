//! Load client for `users.v1.Auth/AuthenticateStreamKey`, run by `bench/run` for its gRPC auth
//! figures (latency at a fixed rate, then the most it answers).
//!
//! usage: `ferrocast-bench-auth-load HOST:PORT fixed|max SECONDS RATE`, with the service token in
//! `FERROCAST_BENCH_SERVICE_TOKEN` and the stream key in `FERROCAST_BENCH_STREAM_KEY` (secrets never
//! go through argv). Prints one JSON line.
//!
//! - `fixed`: open loop, one call every 1/RATE s whatever the answers; latency is measured from the
//!   scheduled send time, so a slow server cannot hide behind a client that waits (no coordinated
//!   omission). A dedicated thread keeps the schedule with the OS's high-resolution sleep: tokio's
//!   timer wheel has 1 ms ticks, which alone would add up to 1 ms to every figure.
//! - `max`: closed loop, 2 connections × 32 calls in flight; prints the achieved rate.
//!
//! It replaces a Python grpcio client whose own CPU and asyncio timer jitter were a large part of
//! the p99 it reported on these 2 cores.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ferrocast_proto::client::{UsersAuth, UsersAuthConfig, UsersAuthError};
use serde_json::json;

const CONNECTIONS: usize = 2;
const IN_FLIGHT_PER_CONNECTION: usize = 32;

struct Args {
    url: String,
    mode: Mode,
    seconds: f64,
    rate: f64,
    token: String,
    key: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Fixed,
    Max,
}

fn args() -> Result<Args, String> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let [target, mode, seconds, rate] = argv.as_slice() else {
        return Err("usage: ferrocast-bench-auth-load HOST:PORT fixed|max SECONDS RATE".into());
    };
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    Ok(Args {
        url: format!("http://{target}"),
        mode: match mode.as_str() {
            "fixed" => Mode::Fixed,
            "max" => Mode::Max,
            other => return Err(format!("unknown mode {other:?}")),
        },
        seconds: seconds.parse().map_err(|_| "SECONDS must be a number")?,
        rate: rate.parse().map_err(|_| "RATE must be a number")?,
        token: env("FERROCAST_BENCH_SERVICE_TOKEN")?,
        key: env("FERROCAST_BENCH_STREAM_KEY")?,
    })
}

fn main() -> Result<(), String> {
    let args = args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    // The lazy channel spawns its connection task: it needs the runtime's context.
    let _context = runtime.enter();
    let clients = (0..CONNECTIONS)
        .map(|_| {
            UsersAuth::connect_lazy(&UsersAuthConfig::new(args.url.clone(), args.token.clone()))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut out = match args.mode {
        Mode::Fixed => fixed(&runtime, &clients[0], &args),
        Mode::Max => runtime.block_on(max(&clients, &args)),
    };
    out["client_cpu"] = json!((cpu_seconds() - cpu_before) / started.elapsed().as_secs_f64());
    println!("{out}");
    Ok(())
}

fn fixed(runtime: &tokio::runtime::Runtime, client: &UsersAuth, args: &Args) -> serde_json::Value {
    // Connect and warm up with sequential calls (never a burst), at most 3 s.
    let warm_until = Instant::now() + Duration::from_secs(3);
    runtime.block_on(async {
        for _ in 0..100 {
            if Instant::now() > warm_until {
                break;
            }
            let _ = client.authenticate_stream_key(&args.key, None).await;
        }
    });
    let calls = (args.seconds * args.rate) as usize;
    let outcomes = Arc::new(Mutex::new(Vec::with_capacity(calls)));
    let start = Instant::now() + Duration::from_millis(10);
    let mut late = 0;
    let mut tasks = Vec::with_capacity(calls);
    for i in 0..calls {
        let scheduled = start + Duration::from_secs_f64(i as f64 / args.rate);
        let now = Instant::now();
        if scheduled > now {
            std::thread::sleep(scheduled - now);
        } else if now - scheduled > Duration::from_millis(5) {
            late += 1; // the client itself could not keep the schedule
        }
        let (client, key, outcomes) = (client.clone(), args.key.clone(), outcomes.clone());
        tasks.push(runtime.spawn(async move {
            let result = client.authenticate_stream_key(&key, None).await;
            let outcome = result.map(|_| scheduled.elapsed()).map_err(code);
            outcomes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(outcome);
        }));
    }
    let sent_for = start.elapsed().as_secs_f64();
    runtime.block_on(async {
        for task in tasks {
            let _ = task.await;
        }
    });
    let outcomes = outcomes.lock().unwrap_or_else(|e| e.into_inner());
    let (latencies, errors) = split(&outcomes);
    json!({
        "n": calls,
        "rate": calls as f64 / sent_for,
        "late_sends": late,
        "p50_ms": percentile_ms(&latencies, 50.0),
        "p99_ms": percentile_ms(&latencies, 99.0),
        "max_ms": latencies.last().map(|d| d.as_secs_f64() * 1e3),
        "errors": errors.len(),
        "error_codes": first_codes(errors),
    })
}

async fn max(clients: &[UsersAuth], args: &Args) -> serde_json::Value {
    for client in clients {
        let _ = client.authenticate_stream_key(&args.key, None).await;
    }
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(args.seconds);
    let mut workers = Vec::new();
    for client in clients {
        for _ in 0..IN_FLIGHT_PER_CONNECTION {
            let (client, key) = (client.clone(), args.key.clone());
            workers.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while Instant::now() < end {
                    let sent = Instant::now();
                    let result = client.authenticate_stream_key(&key, None).await;
                    outcomes.push(result.map(|_| sent.elapsed()).map_err(code));
                }
                outcomes
            }));
        }
    }
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.unwrap_or_default());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (latencies, errors) = split(&outcomes);
    json!({
        "rate": latencies.len() as f64 / elapsed,
        "errors": errors.len(),
        "p99_ms": percentile_ms(&latencies, 99.0),
        "clients": CONNECTIONS,
        "concurrency": IN_FLIGHT_PER_CONNECTION,
    })
}

type Outcome = Result<Duration, &'static str>;

fn code(error: UsersAuthError) -> &'static str {
    match error {
        UsersAuthError::Rejected => "rejected",
        UsersAuthError::Unavailable(_) => "unavailable",
        _ => "other",
    }
}

/// Sorted latencies and the error codes.
fn split(outcomes: &[Outcome]) -> (Vec<Duration>, Vec<&'static str>) {
    let mut latencies: Vec<Duration> = outcomes.iter().filter_map(|o| o.ok()).collect();
    latencies.sort();
    let errors = outcomes.iter().filter_map(|o| o.err()).collect();
    (latencies, errors)
}

fn first_codes(mut errors: Vec<&'static str>) -> Vec<&'static str> {
    errors.sort_unstable();
    errors.dedup();
    errors.truncate(3);
    errors
}

/// Nearest-rank percentile of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], percent: f64) -> Option<f64> {
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .map(|d| d.as_secs_f64() * 1e3)
}

/// User + system CPU time of this process so far, from /proc (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile_ms(&sorted, 50.0), Some(50.0));
        assert_eq!(percentile_ms(&sorted, 99.0), Some(99.0));
        assert_eq!(percentile_ms(&[], 99.0), None);
    }
}
