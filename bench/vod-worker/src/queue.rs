//! The queue benchmark (section `queue`): jobs a second the worker's real loop dispatches when
//! the work itself is nothing — pulled one at a time, `started` and `done` reported and stored,
//! the message's ack confirmed — against bare JetStream (publish, pull, ack) on the same server
//! in the same run; dispatch latency at half the loop's rate; how evenly three workers share the
//! jobs; and that none is done twice. Jobs go on the queue through `ferrocast_kit::jobs::enqueue`,
//! the catalogue's publish.

use std::{
    collections::{HashMap, HashSet},
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{bail, Context};
use async_nats::jetstream::{self, consumer::PullConsumer};
use ferrocast_kit::{
    config::nats::Nats as NatsConfig,
    jobs::{self, Delivery, Event, Job, Outputs, Report},
};
use ferrocast_testkit::{nats::Nats, stats::percentile};
use ferrocast_worker::{
    adapters::queue::Queue,
    ports::{JobError, Progress, Work},
    service::Worker,
};
use futures::{future::BoxFuture, FutureExt, StreamExt};
use tokio::{
    sync::mpsc,
    task::{JoinHandle, JoinSet},
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Workers (and bare pullers) sharing the queue.
const WORKERS: usize = 3;
/// Jobs being published at once, as concurrent finalize requests publish them.
const PUBLISHING: usize = 16;
/// The paced phase's rate, as a share of the loop's burst rate: below saturation, so latency is
/// the dispatch's and not a backlog's.
const PACED_SHARE: f64 = 0.5;
/// Most jobs of one worker ÷ fewest.
const FAIRNESS_TARGET: f64 = 1.5;

/// Jobs a burst (the paced phase takes half as many), and rounds of both.
pub struct Sizes {
    pub jobs: usize,
    pub rounds: usize,
}

pub const FULL: Sizes = Sizes {
    jobs: 2000,
    rounds: 3,
};
pub const SMOKE: Sizes = Sizes {
    jobs: 200,
    rounds: 1,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Three `Worker` loops with no-op work.
    Worker,
    /// Three bare pullers: pull one, parse it, ack.
    Bare,
}

impl Mode {
    /// Its column in the results.
    fn index(self) -> usize {
        match self {
            Self::Worker => 0,
            Self::Bare => 1,
        }
    }
}

#[derive(Clone, Copy)]
enum Pace {
    /// As fast as [`PUBLISHING`] publishers go.
    Burst,
    /// Open loop at this many jobs a second; latency counts from each job's scheduled time.
    Rate(f64),
}

/// The jobs one worker (or puller) took, in order.
#[derive(Clone, Default)]
struct Taken(Arc<Mutex<Vec<Uuid>>>);

impl Taken {
    fn push(&self, job: Uuid) {
        if let Ok(mut taken) = self.0.lock() {
            taken.push(job);
        }
    }

    fn list(&self) -> Vec<Uuid> {
        self.0.lock().map(|taken| taken.clone()).unwrap_or_default()
    }
}

/// Where each job's done (bare: its ack) goes, with when it was seen.
type Dones = mpsc::UnboundedSender<(Uuid, Instant)>;

/// No work: the job's outputs named, nothing made.
struct NoWork {
    taken: Taken,
}

impl Work for NoWork {
    fn run<'a>(
        &'a self,
        job: &'a Job,
        _progress: &'a dyn Progress,
    ) -> BoxFuture<'a, Result<Outputs, JobError>> {
        self.taken.push(job.job_id);
        let prefix = &job.output_prefix;
        futures::future::ready(Ok(Outputs {
            master: format!("{prefix}master.m3u8"),
            mpd: format!("{prefix}manifest.mpd"),
            poster: format!("{prefix}poster.jpg"),
            thumbnails: format!("{prefix}thumbs/thumbnails.vtt"),
            renditions: Vec::new(),
            duration_ms: 0,
        }))
        .boxed()
    }
}

/// One phase: `count` jobs through one mode at one pace.
struct Phase {
    /// Jobs a second, first publication to last done.
    rate: f64,
    /// Each job's publication (or scheduled time) to its first done.
    latencies: Vec<Duration>,
    /// Jobs each worker (or puller) took.
    per_worker: Vec<usize>,
    /// Jobs reported done more than once, and run more than once.
    done_twice: usize,
    run_twice: usize,
}

fn error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn phase(nats: &Nats, mode: Mode, count: usize, pace: Pace) -> anyhow::Result<Phase> {
    let client = async_nats::connect(nats.url()).await?;
    let js = jetstream::new(client.clone());
    // A consumer of the phase's own: pull requests a previous phase left waiting on the server
    // go with the old one, and cannot take this phase's jobs.
    jobs::workers_consumer(&js, Delivery::default())
        .await
        .map_err(error)?;
    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let (taken, listener) = match mode {
        Mode::Worker => {
            let (taken, listener) =
                start_workers(nats, &client, &done_tx, &shutdown, &mut tasks).await?;
            (taken, Some(listener))
        }
        Mode::Bare => (
            start_pullers(nats, &done_tx, &shutdown, &mut tasks).await?,
            None,
        ),
    };
    drop(done_tx);
    // Every taker asks before the first job goes out: who connected first must not take the
    // burst's head alone.
    waiting(&js, WORKERS).await?;

    let batch: Vec<Job> = (0..count)
        .map(|_| {
            let media = Uuid::new_v4();
            Job::new(media, format!("originals/{media}"))
        })
        .collect();
    let ids: HashSet<Uuid> = batch.iter().map(|job| job.job_id).collect();
    let start = Instant::now();
    let sent = publish(&js, batch, pace, start).await?;
    let mut first_done: HashMap<Uuid, Instant> = HashMap::new();
    let mut dones = 0usize;
    let deadline = start + Duration::from_secs(60) + Duration::from_millis(count as u64 * 20);
    while first_done.len() < count {
        let Ok(Some((job, at))) = tokio::time::timeout_at(deadline, done_rx.recv()).await else {
            bail!(
                "{mode:?}: {} of {count} jobs done by the deadline",
                first_done.len()
            );
        };
        if ids.contains(&job) {
            dones += 1;
            first_done.entry(job).or_insert(at);
        }
    }
    let last = first_done.values().max().copied().unwrap_or(start);
    // Every ack has landed and nothing is left to deliver: no job can come back, so the counts
    // of doubles are final.
    settled(&js).await?;
    while let Ok((job, _)) = done_rx.try_recv() {
        if ids.contains(&job) {
            dones += 1;
        }
    }
    shutdown.cancel();
    while tasks.join_next().await.is_some() {}
    if let Some(listener) = listener {
        listener.abort();
    }
    js.get_stream(jobs::JOBS_STREAM)
        .await
        .map_err(error)?
        .delete_consumer(jobs::WORKERS_CONSUMER)
        .await
        .map_err(error)?;

    let taken: Vec<Vec<Uuid>> = taken.iter().map(Taken::list).collect();
    let all: Vec<Uuid> = taken.iter().flatten().copied().collect();
    let distinct: HashSet<&Uuid> = all.iter().collect();
    let latencies = first_done
        .iter()
        .filter_map(|(job, done)| Some(done.saturating_duration_since(*sent.get(job)?)))
        .collect();
    Ok(Phase {
        rate: count as f64 / last.duration_since(start).as_secs_f64().max(1e-6),
        latencies,
        per_worker: taken.iter().map(Vec::len).collect(),
        done_twice: dones - first_done.len(),
        run_twice: all.len() - distinct.len(),
    })
}

/// [`WORKERS`] `Worker` loops with no-op work, each on a connection of its own, and a listener
/// on `client` sending each `done` event to `done`.
async fn start_workers(
    nats: &Nats,
    client: &async_nats::Client,
    done: &Dones,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<(Vec<Taken>, JoinHandle<()>)> {
    let mut events = client.subscribe("vod.events.>").await?;
    // Subscribed before the first job is published.
    client.flush().await?;
    let done = done.clone();
    let listener = tokio::spawn(async move {
        while let Some(message) = events.next().await {
            let at = Instant::now();
            if let Ok(event) = serde_json::from_slice::<Event>(&message.payload) {
                if matches!(event.report, Report::Done(_)) {
                    let _ = done.send((event.job_id, at));
                }
            }
        }
    });
    let mut taken = Vec::new();
    for _ in 0..WORKERS {
        let delivery = Delivery::default();
        let queue = Queue::connect(&NatsConfig::new(nats.url()), delivery)
            .await
            .map_err(error)?;
        let work = NoWork {
            taken: Taken::default(),
        };
        taken.push(work.taken.clone());
        let worker = Arc::new(Worker {
            queue,
            work: Arc::new(work),
            delivery,
        });
        tasks.spawn(worker.run(shutdown.clone()));
    }
    Ok((taken, listener))
}

/// [`WORKERS`] bare pullers, each on a connection of its own.
async fn start_pullers(
    nats: &Nats,
    done: &Dones,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<Vec<Taken>> {
    let mut taken = Vec::new();
    for _ in 0..WORKERS {
        let consumer = bare_consumer(nats).await?;
        let puller = Taken::default();
        taken.push(puller.clone());
        tasks.spawn(bare_puller(
            consumer,
            puller,
            done.clone(),
            shutdown.clone(),
        ));
    }
    Ok(taken)
}

/// The workers' consumer, on a connection of its own.
async fn bare_consumer(nats: &Nats) -> anyhow::Result<PullConsumer> {
    workers(&jetstream::new(async_nats::connect(nats.url()).await?)).await
}

/// The workers' consumer (made by the phase).
async fn workers(js: &jetstream::Context) -> anyhow::Result<PullConsumer> {
    js.get_stream(jobs::JOBS_STREAM)
        .await
        .map_err(error)?
        .get_consumer(jobs::WORKERS_CONSUMER)
        .await
        .map_err(error)
}

/// Pulls one message at a time as the worker does, reads the job, acks it.
async fn bare_puller(
    consumer: PullConsumer,
    taken: Taken,
    done: Dones,
    shutdown: CancellationToken,
) {
    let Ok(messages) = consumer.stream().max_messages_per_batch(1).messages().await else {
        return;
    };
    let mut messages = Box::pin(messages.take_until(shutdown.cancelled_owned()));
    while let Some(Ok(message)) = messages.next().await {
        let Ok(job) = serde_json::from_slice::<Job>(&message.payload) else {
            continue;
        };
        if message.ack().await.is_err() {
            continue;
        }
        let at = Instant::now();
        taken.push(job.job_id);
        let _ = done.send((job.job_id, at));
    }
}

/// Publishes every job at `pace`; when each was published (burst) or due (paced).
async fn publish(
    js: &jetstream::Context,
    batch: Vec<Job>,
    pace: Pace,
    start: Instant,
) -> anyhow::Result<HashMap<Uuid, Instant>> {
    let mut sent = HashMap::with_capacity(batch.len());
    match pace {
        Pace::Burst => {
            let mut publishing = futures::stream::iter(batch.into_iter().map(|job| async move {
                let at = Instant::now();
                jobs::enqueue(js, &job).await.map(|()| (job.job_id, at))
            }))
            .buffer_unordered(PUBLISHING);
            while let Some(result) = publishing.next().await {
                let (job, at) = result.map_err(error)?;
                sent.insert(job, at);
            }
        }
        Pace::Rate(per_second) => {
            let mut publishing = JoinSet::new();
            for (i, job) in batch.into_iter().enumerate() {
                let due = start + Duration::from_secs_f64(i as f64 / per_second);
                tokio::time::sleep_until(due).await;
                sent.insert(job.job_id, due);
                let js = js.clone();
                publishing.spawn(async move { jobs::enqueue(&js, &job).await });
            }
            while let Some(result) = publishing.join_next().await {
                result?.map_err(error)?;
            }
        }
    }
    Ok(sent)
}

/// Waits until `takers` pull requests wait on the workers' consumer.
async fn waiting(js: &jetstream::Context, takers: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut consumer = workers(js).await?;
    loop {
        let info = consumer.info().await.map_err(error)?;
        if info.num_waiting >= takers {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{} of {takers} pull requests waiting", info.num_waiting);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the queue holds nothing and nothing awaits an ack.
async fn settled(js: &jetstream::Context) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut consumer = workers(js).await?;
        let info = consumer.info().await.map_err(error)?;
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            let mut stream = js.get_stream(jobs::JOBS_STREAM).await.map_err(error)?;
            if stream.info().await.map_err(error)?.state.messages == 0 {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!(
                "the queue did not settle: {} pending, {} awaiting ack",
                info.num_pending,
                info.num_ack_pending
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn yes(met: bool) -> &'static str {
    if met {
        "yes"
    } else {
        "**no**"
    }
}

/// How evenly jobs were shared: most ÷ fewest, and most ÷ the even share.
fn fairness(per_worker: &[usize]) -> (f64, f64) {
    let max = per_worker.iter().copied().max().unwrap_or(0) as f64;
    let min = per_worker.iter().copied().min().unwrap_or(0) as f64;
    let even = per_worker.iter().sum::<usize>() as f64 / per_worker.len().max(1) as f64;
    (max / min.max(1.0), max / even.max(1.0))
}

/// Runs every phase and returns the markdown section.
pub async fn section(sizes: &Sizes, smoke: bool) -> anyhow::Result<String> {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let nats = Nats::start().await?;
    let js = jetstream::new(async_nats::connect(nats.url()).await?);
    jobs::ensure_streams(&js, 1).await.map_err(error)?;

    // Indexed by [`Mode::index`].
    let mut rates: [Vec<f64>; 2] = Default::default();
    let mut latencies: [Vec<Duration>; 2] = Default::default();
    let mut counts = [vec![0usize; WORKERS], vec![0usize; WORKERS]];
    let (mut done_twice, mut run_twice) = ([0usize; 2], [0usize; 2]);
    let mut worst_spread = [1.0f64; 2];
    let mut paced_rates = Vec::new();
    for round in 0..sizes.rounds {
        // Each way first in turn.
        let order = if round % 2 == 0 {
            [Mode::Bare, Mode::Worker]
        } else {
            [Mode::Worker, Mode::Bare]
        };
        for mode in order {
            eprintln!("vod-worker queue: round {}, {mode:?}, burst", round + 1);
            let burst = phase(&nats, mode, sizes.jobs, Pace::Burst)
                .await
                .with_context(|| format!("{mode:?} burst"))?;
            let index = mode.index();
            rates[index].push(burst.rate);
            for (total, n) in counts[index].iter_mut().zip(&burst.per_worker) {
                *total += n;
            }
            worst_spread[index] = worst_spread[index].max(fairness(&burst.per_worker).0);
            done_twice[index] += burst.done_twice;
            run_twice[index] += burst.run_twice;
        }
        // Paced at half the loop's burst rate of this round, both ways, for latency.
        let rate = PACED_SHARE * rates[Mode::Worker.index()].last().copied().unwrap_or(100.0);
        paced_rates.push(rate);
        for mode in order {
            eprintln!(
                "vod-worker queue: round {}, {mode:?}, {rate:.0} jobs/s",
                round + 1
            );
            let paced = phase(&nats, mode, sizes.jobs / 2, Pace::Rate(rate))
                .await
                .with_context(|| format!("{mode:?} paced"))?;
            let index = mode.index();
            latencies[index].extend(paced.latencies);
            done_twice[index] += paced.done_twice;
            run_twice[index] += paced.run_twice;
        }
    }

    let [loop_rate, bare_rate] = rates.map(|mut rates| median(&mut rates));
    let pct = |mode: Mode, p: f64| ms(percentile(&latencies[mode.index()], p));
    let (loop_p50, loop_p99) = (pct(Mode::Worker, 50.0), pct(Mode::Worker, 99.0));
    let (bare_p50, bare_p99) = (pct(Mode::Bare, 50.0), pct(Mode::Bare, 99.0));
    let paced = median(&mut paced_rates);
    let (spread, over_even) = fairness(&counts[0]);
    let (bare_spread, bare_over_even) = fairness(&counts[1]);
    let list = |counts: &[usize]| {
        counts
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" / ")
    };

    let mut out = String::from("## VOD queue: dispatch rate, latency, fairness (no-op work)\n\n");
    let _ = writeln!(
        out,
        "- {} jobs a burst, {} round{}, each way first in turn; then {} jobs paced at {:.0} % of the round's loop rate (median {paced:.0} jobs/s), open loop",
        sizes.jobs,
        sizes.rounds,
        if sizes.rounds == 1 { "" } else { "s" },
        sizes.jobs / 2,
        PACED_SHARE * 100.0
    );
    let _ = writeln!(
        out,
        "- worker loop: {WORKERS} `Worker`s in this process, each its own NATS connection, running the real loop (one message pulled at a time, `started` and `done` stored in `VOD_EVENTS`, confirmed ack) with no-op work; done = the `done` event at a listener. Bare JetStream: {WORKERS} pullers on the same consumer pulling one at a time, parsing the job, acking; done = the ack sent"
    );
    let _ = writeln!(
        out,
        "- jobs enqueued with `ferrocast_kit::jobs::enqueue` (the catalogue's publish: message id, stored before it returns), {PUBLISHING} in flight; one nats-server of the run's own (file store); publishers, workers, listener and server share the machine"
    );
    let _ = writeln!(out, "- load average at start: {}", load.trim());
    out += "\n| figure | worker loop | bare JetStream | ratio | target | met |\n|---|---|---|---|---|---|\n";
    let _ = writeln!(
        out,
        "| jobs dispatched per second, enqueue → done, median of {} | {loop_rate:.0} | {bare_rate:.0} | {:.2}× | – | – |",
        sizes.rounds,
        loop_rate / bare_rate.max(1e-6)
    );
    let _ = writeln!(
        out,
        "| dispatch latency at {paced:.0} jobs/s, p50 / p99 ms | {loop_p50:.2} / {loop_p99:.2} | {bare_p50:.2} / {bare_p99:.2} | {:.2}× / {:.2}× | – | – |",
        loop_p50 / bare_p50.max(1e-6),
        loop_p99 / bare_p99.max(1e-6)
    );
    let _ = writeln!(
        out,
        "| jobs per worker over the bursts · max ÷ min (worst single burst) · max ÷ even share | {} · {spread:.2} ({:.2}) · {over_even:.2} | {} · {bare_spread:.2} ({:.2}) · {bare_over_even:.2} | – | max ÷ min ≤ {FAIRNESS_TARGET} | {} |",
        list(&counts[0]),
        worst_spread[0],
        list(&counts[1]),
        worst_spread[1],
        yes(spread <= FAIRNESS_TARGET)
    );
    let _ = writeln!(
        out,
        "| jobs done twice (run twice) | {} ({}) | {} ({}) | – | 0 | {} |",
        done_twice[0],
        run_twice[0],
        done_twice[1],
        run_twice[1],
        yes(done_twice[0] == 0 && run_twice[0] == 0)
    );
    out += "\nNotes:\n\n- After every phase the queue was empty with nothing awaiting an ack, so no job could be delivered again: the doubles counted are final.\n- Per job the loop stores two reports and waits for its ack's confirmation, the bare pullers store nothing and do not wait: the ratio is what the loop's bookkeeping costs, not the queue's.\n";
    let _ = writeln!(
        out,
        "- Fairness is judged on the run's totals: a burst of the loop lasts {:.1} s, so a worker the scheduler holds back for a moment (this process shares the cores with the server and the publishers) makes one burst uneven.",
        sizes.jobs as f64 / loop_rate.max(1e-6)
    );
    if smoke {
        out += "- Smoke sizes: the figures prove the harness, not the targets.\n";
    }
    Ok(out)
}
