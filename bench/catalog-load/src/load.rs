//! An open-loop HTTP load: requests sent at a fixed rate whatever the answers do, each timed
//! from when it was *scheduled* to be sent, so a server that stalls shows in the latency
//! instead of slowing the load down (the closed-loop mistake).

use std::time::Duration;

use tokio::{task::JoinSet, time::Instant};

/// One planned request: what kind of query it is (for the per-kind figures) and its path.
#[derive(Clone, Debug)]
pub struct Planned {
    pub kind: &'static str,
    pub path: String,
}

#[derive(Clone, Debug)]
pub struct Sample {
    pub kind: &'static str,
    pub path: String,
    pub latency: Duration,
    pub ok: bool,
}

/// Sends `plan` round-robin to `base` at `rate` per second for `duration`; one sample per
/// request sent.
pub async fn open_loop(
    http: &reqwest::Client,
    base: &str,
    plan: &[Planned],
    rate: u32,
    duration: Duration,
) -> Vec<Sample> {
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let count = (duration.as_secs_f64() * f64::from(rate)).round() as u64;
    let start = Instant::now() + Duration::from_millis(10);
    let mut running = JoinSet::new();
    for i in 0..count {
        let scheduled = start + period.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled).await;
        let planned = plan[(i as usize) % plan.len()].clone();
        let request = http.get(format!("{base}{}", planned.path));
        running.spawn(async move {
            let ok = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    response.bytes().await.is_ok() && status.is_success()
                }
                Err(_) => false,
            };
            Sample {
                kind: planned.kind,
                path: planned.path,
                latency: scheduled.elapsed(),
                ok,
            }
        });
    }
    let mut samples = Vec::with_capacity(count as usize);
    while let Some(done) = running.join_next().await {
        if let Ok(sample) = done {
            samples.push(sample);
        }
    }
    samples
}

/// p50, p95, p99 and max of the samples' latencies, in milliseconds (nearest rank).
pub struct Percentiles {
    pub count: usize,
    pub errors: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Self {
        let mut errors = 0;
        let millis: Vec<f64> = samples
            .into_iter()
            .inspect(|s| errors += usize::from(!s.ok))
            .map(|s| s.latency.as_secs_f64() * 1000.0)
            .collect();
        Self::of_millis(millis, errors)
    }

    /// Of timings where `None` is a failure (counted, not ranked).
    pub fn of_times(times: impl IntoIterator<Item = Option<Duration>>) -> Self {
        let mut errors = 0;
        let millis: Vec<f64> = times
            .into_iter()
            .filter_map(|t| {
                errors += usize::from(t.is_none());
                t.map(|t| t.as_secs_f64() * 1000.0)
            })
            .collect();
        let mut stats = Self::of_millis(millis, errors);
        stats.count += errors;
        stats
    }

    fn of_millis(mut millis: Vec<f64>, errors: usize) -> Self {
        millis.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if millis.is_empty() {
                return f64::NAN;
            }
            let rank = ((q * millis.len() as f64).ceil() as usize).clamp(1, millis.len());
            millis[rank - 1]
        };
        Self {
            count: millis.len(),
            errors,
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}
