//! An open loop kept by a thread of its own with the OS's high-resolution sleep: job `i` is
//! started at `start + i / rate` whatever the earlier ones do, and is handed its scheduled
//! instant, from which it times itself (a stalled server shows in the latency instead of
//! slowing the load). tokio's timer wheel has 1 ms ticks, which alone would add up to 1 ms to
//! every figure of a 5 ms target.

use std::{
    future::Future,
    time::{Duration, Instant},
};

pub struct Paced<T> {
    pub results: Vec<T>,
    /// Jobs started more than 5 ms after their time: the client could not keep the schedule.
    pub late: usize,
    /// Requests per second actually started.
    pub rate: f64,
}

/// Runs `count` jobs at `rate` per second on the current runtime; their results in order.
pub async fn paced<T, F, Fut>(rate: f64, count: usize, job: F) -> anyhow::Result<Paced<T>>
where
    T: Send + 'static,
    F: Fn(usize, Instant) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let runtime = tokio::runtime::Handle::current();
    let pacer = std::thread::spawn(move || {
        let start = Instant::now() + Duration::from_millis(10);
        let mut tasks = Vec::with_capacity(count);
        let mut late = 0;
        for i in 0..count {
            let scheduled = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if scheduled > now {
                std::thread::sleep(scheduled - now);
            } else if now - scheduled > Duration::from_millis(5) {
                late += 1;
            }
            tasks.push(runtime.spawn(job(i, scheduled)));
        }
        (tasks, late, start.elapsed())
    });
    let (tasks, late, took) = tokio::task::spawn_blocking(move || pacer.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the pacer thread panicked"))?;
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await?);
    }
    Ok(Paced {
        results,
        late,
        // The first job starts at 0 and the last at (count - 1) / rate.
        rate: count.saturating_sub(1) as f64 / took.as_secs_f64().max(1e-9),
    })
}
