//! Playback sessions: how fast a decision reaches the page that asked, under a steady load on
//! two replicas, and how fast a freed slot reaches the viewer waiting for it (ended by another
//! device, or lapsed), each against bare Redis from the same process in the same run.

mod decisions;
mod flood;
mod handover;
pub mod setup;

use std::time::Duration;

use anyhow::Context;
use uuid::Uuid;

use self::setup::{Replica, Viewer};
use crate::{bare_redis::Bare, cpu, load::Percentiles, met, sse::Stream, world::World, Report};

/// Decision latency target (POST sent → decision on the stream), p99, ms.
const DECISION_P99_MS: f64 = 5.0;
/// Slot freed → the waiting viewer's grant on the stream, p99, ms.
const HANDOVER_P99_MS: f64 = 100.0;
/// Lease end → the waiting viewer's grant: one sweep (every replica sweeps each second) and a
/// push within the handover target.
const LAPSE_MAX_MS: i64 = 1100;
/// The lapse figure's lease (the shortest the configuration takes).
const LAPSE_LEASE: Duration = Duration::from_secs(2);
/// Between handovers: one at a time, the path alone.
const HANDOVER_GAP: Duration = Duration::from_millis(20);
/// Requests per account per second during the flood: the configuration's default.
const FLOOD_PER_SECOND: u32 = 10;

pub struct Sizes {
    pub rate: u32,
    pub seconds: u64,
    pub warmup_seconds: u64,
    /// Of each of the POST's layers (401, 404) at the load's rate.
    pub layer_seconds: u64,
    pub accounts: usize,
    pub handovers: usize,
    pub handover_accounts: usize,
    pub lapses: usize,
    /// One account's flood, requests per second, and how long.
    pub flood_rate: u32,
    pub flood_seconds: u64,
    /// Other accounts asking meanwhile (their first `flood_accounts` of the load's), and their
    /// requests per second together (each under the flood replicas' rate).
    pub flood_accounts: usize,
    pub flood_others_rate: u32,
}

impl Sizes {
    pub fn full() -> Self {
        Self {
            rate: 1000,
            seconds: 15,
            warmup_seconds: 2,
            layer_seconds: 3,
            accounts: 200,
            handovers: 500,
            handover_accounts: 10,
            lapses: 5,
            flood_rate: 10_000,
            flood_seconds: 3,
            flood_accounts: 50,
            flood_others_rate: 200,
        }
    }

    pub fn smoke() -> Self {
        Self {
            rate: 100,
            seconds: 2,
            warmup_seconds: 1,
            layer_seconds: 1,
            accounts: 20,
            handovers: 20,
            handover_accounts: 2,
            lapses: 1,
            flood_rate: 500,
            flood_seconds: 1,
            flood_accounts: 10,
            flood_others_rate: 20,
        }
    }
}

/// Measures, then removes the run's keys from Redis whatever happened.
pub async fn measure(world: &World, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    let playback = &world.catalog.config.playback;
    let outcome = run(world, sizes, report).await;
    match setup::forget(&playback.redis_url, &playback.key_prefix).await {
        Ok(keys) => eprintln!("catalog-load: {keys} playback keys removed from Redis"),
        Err(error) => report.notes.push(format!(
            "The run's Redis keys (`{}*`) were not removed: {error:#}.",
            playback.key_prefix
        )),
    }
    outcome
}

async fn run(world: &World, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    let redis_url = world.catalog.config.playback.redis_url.clone();
    let media = setup::video(world).await.context("seeding a video")?;
    let wanted = sizes.accounts + sizes.handover_accounts + 2;
    eprintln!("catalog-load: signing up {wanted} viewers");
    let mut viewers = setup::viewers(world, wanted).await;
    let lapse_viewer = viewers.pop().context("a viewer for the lapses")?;
    let flooder = viewers.pop().context("a viewer for the flood")?;
    let handover_viewers = viewers.split_off(sizes.accounts);
    let shared = Shared {
        world,
        sizes,
        // Event streams never time out; requests do.
        streams_http: reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?,
        http: reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(256)
            .build()?,
        media,
    };
    let http = &shared.http;
    let second = Replica::start(world.catalog.config.clone()).await?;
    let bases = [world.url(""), second.base.clone()];
    let rate = f64::from(sizes.rate);
    let count = usize::try_from(u64::from(sizes.rate) * sizes.seconds)?;
    report.context.push(format!(
        "playback: {} accounts, each with its event stream open (half on each of 2 catalogue \
         replicas with the same config, in this process), one public video; limit {} sessions \
         per account, {} requests/s per account allowed, lease {} s; {} req/s for {} s after \
         {} s of warm-up, latency from each request's scheduled send time; handovers: limit 1, \
         {} rounds over {} accounts one at a time, {} ms apart; lapses: lease {} s, one account, \
         rounds: {} (each a session granted at a random moment, a request waiting behind it)",
        sizes.accounts,
        setup::LOAD_LIMIT,
        setup::PER_SECOND,
        setup::LOAD_LEASE.as_secs(),
        sizes.rate,
        sizes.seconds,
        sizes.warmup_seconds,
        sizes.handovers,
        sizes.handover_accounts,
        HANDOVER_GAP.as_millis(),
        LAPSE_LEASE.as_secs(),
        sizes.lapses,
    ));

    eprintln!("catalog-load: opening {} event streams", sizes.accounts);
    let home: Vec<usize> = (0..sizes.accounts).map(|a| a % 2).collect();
    let mut streams = Vec::with_capacity(sizes.accounts);
    for (viewer, &replica) in viewers.iter().zip(&home) {
        streams.push(shared.open(&bases[replica], viewer).await?);
    }
    let mut load = decisions::Load {
        http,
        bases: &bases,
        viewers: &viewers,
        streams,
        home,
        media,
        rate,
    };
    let bare_channel = format!("{}bare", world.catalog.config.playback.key_prefix);
    let mut bare = Bare::connect(&redis_url, &bare_channel).await?;
    let warmup = usize::try_from(u64::from(sizes.rate) * sizes.warmup_seconds)?;
    eprintln!("catalog-load: warming up ({warmup} requests)");
    load.decisions(warmup).await?;
    bare.publish(rate, warmup).await?;

    eprintln!("catalog-load: bare Redis at {rate} req/s");
    let ping = bare.ping(rate, count).await?;
    let ping = Percentiles::of_times(ping.results);
    let published = bare.publish(rate, count).await?;
    let bare_reply = Percentiles::of_times(published.results.iter().map(|t| t.reply));
    let bare_pushed = Percentiles::of_times(published.results.iter().map(|t| t.pushed));

    eprintln!("catalog-load: the POST's layers at {rate} req/s");
    let layered = usize::try_from(u64::from(sizes.rate) * sizes.layer_seconds)?;
    let layers = load.layers(layered).await?;

    eprintln!("catalog-load: {count} playback requests at {rate} req/s");
    let pids = crate::backend_pids(world.catalog.postgres.url())
        .await
        .unwrap_or_default();
    let redis_pid = setup::redis_pid(&redis_url).await;
    let before = (
        cpu::Snapshot::take(&pids),
        cpu::Snapshot::take(redis_pid.as_slice()),
    );
    let decided = load.decisions(count).await?;
    let used = cpu::Snapshot::take(&pids).since(&before.0);
    let redis_used = cpu::Snapshot::take(redis_pid.as_slice()).since(&before.1);
    drop(load);

    let label = format!(
        "playback decision at {} req/s, {} accounts with their streams open, 2 replicas: POST \
         sent → decision on the account's stream, p50 / p99 (max) ms, errors of sent",
        sizes.rate, sizes.accounts
    );
    let peer = format!(
        "bare `EVALSHA` (publishes) → subscriber: {}",
        triple(&bare_pushed)
    );
    for (label, stats) in [
        (label.as_str(), &decided.all),
        ("… the stream on the replica that decided", &decided.same),
        ("… the stream on the other replica", &decided.other),
    ] {
        report.row([
            label,
            &with_errors(stats),
            &peer,
            &ratio(stats.p99, bare_pushed.p99),
            &format!("p99 ≤ {DECISION_P99_MS} ms"),
            met(stats.p99 <= DECISION_P99_MS && stats.errors == 0),
        ]);
    }
    report.row([
        "… `POST /api/playback` round trip alone (202), p50 / p99 (max) ms, errors of sent",
        &with_errors(&decided.post),
        &format!("bare `EVALSHA` round trip: {}", triple(&bare_reply)),
        &ratio(decided.post.p99, bare_reply.p99),
        "–",
        "–",
    ]);
    report.row([
        &format!(
            "… its layers at {} req/s for {} s each, p50 / p99 (max) ms: no token (401: HTTP \
             alone) · unknown video (404: + the token, checked once over gRPC then remembered, + a \
             PostgreSQL read, no Redis)",
            sizes.rate, sizes.layer_seconds
        ),
        &format!(
            "{} · {}",
            triple(&layers.unauthenticated),
            triple(&layers.unknown)
        ),
        "–",
        "–",
        "–",
        "–",
    ]);
    report.row([
        &format!(
            "for scale: bare Redis `PING` round trip at {} req/s, p50 / p99 (max) ms",
            sizes.rate
        ),
        "–",
        &triple(&ping),
        "–",
        "–",
        "–",
    ]);
    let kinds: Vec<String> = decided
        .kinds
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    report.notes.push(format!(
        "Playback load: {} POSTs sent at {:.0} req/s ({} more than 5 ms late), decisions {}; \
         {} rate-limited (429), {} other refusals or no answer, {} decisions that never \
         arrived. Account a's stream is on replica a mod 2; request i, account a's in round r \
         (a = i mod accounts, r = i div accounts), goes to replica (a + a div 2 + r) mod 2: two \
         requests decided where their stream is, then two elsewhere, and each account asks both \
         replicas in turn. Every decision \
         reaches the streams through Redis pub/sub, on the replica that made it as on the other \
         (the second row against the third). The streams and requests carry one \
         `X-Forwarded-For` address per account, as through the gateway (the catalogue holds at \
         most 8 streams per client address). The video is written straight into PostgreSQL as \
         processed; its files are never read. Bare Redis: the same rate, the same count, one \
         multiplexed connection and one subscriber in this process; the script does nothing but \
         `PUBLISH` its argument. CPU during the playback window: {used}; Redis {}; other work \
         on the shared machine ≈ {:.0} %.",
        decided.sent,
        decided.rate,
        decided.late_sends,
        if kinds.is_empty() {
            "none".to_owned()
        } else {
            kinds.join(", ")
        },
        decided.limited,
        decided.failed,
        decided.lost,
        redis_pid.map_or("not on this machine".to_owned(), |_| format!(
            "{:.0} % of a core",
            redis_used.backends
        )),
        (used.machine - used.own - used.backends - redis_used.backends).max(0.0),
    ));

    shared
        .handovers(&handover_viewers, &mut bare, report)
        .await?;
    shared.lapses(&lapse_viewer, report).await?;
    let others = &viewers[..sizes.flood_accounts.min(viewers.len())];
    shared.flood(others, &flooder, report).await?;
    second.stop().await;
    Ok(())
}

/// What every figure of the run uses.
struct Shared<'a> {
    world: &'a World,
    sizes: &'a Sizes,
    streams_http: reqwest::Client,
    http: reqwest::Client,
    media: Uuid,
}

impl Shared<'_> {
    async fn open(&self, base: &str, viewer: &Viewer) -> anyhow::Result<Stream> {
        Stream::open(&self.streams_http, base, &viewer.token, &viewer.client).await
    }

    async fn handovers(
        &self,
        viewers: &[Viewer],
        bare: &mut Bare,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let (world, sizes, http, media) = (self.world, self.sizes, &self.http, self.media);
        eprintln!("catalog-load: {} handovers", sizes.handovers);
        let replica =
            Replica::start(setup::variant(world, "freed", 1, Duration::from_secs(30))).await?;
        let mut streams = Vec::with_capacity(viewers.len());
        for viewer in viewers {
            streams.push(self.open(&replica.base, viewer).await?);
        }
        let freed = handover::freed(
            http,
            &replica.base,
            viewers,
            &mut streams,
            media,
            sizes.handovers,
            HANDOVER_GAP,
        )
        .await?;
        drop(streams);
        replica.stop().await;
        let bare_pushed = bare
            .publish_one_by_one(sizes.handovers, HANDOVER_GAP)
            .await?;
        let granted = Percentiles::of_times(freed.granted);
        let delete = Percentiles::of_times(freed.delete);
        let bare_pushed = Percentiles::of_times(bare_pushed);
        report.row([
            &format!(
                "slot freed → waiting viewer granted: `DELETE` of the playing session sent → \
             `granted` of the waiting request on the stream (limit 1, {} rounds one at a time), \
             p50 / p99 (max) ms, errors",
                sizes.handovers
            ),
            &with_errors(&granted),
            &format!(
                "bare `EVALSHA` → subscriber, one at a time: {}",
                triple(&bare_pushed)
            ),
            &ratio(granted.p99, bare_pushed.p99),
            &format!("p99 ≤ {HANDOVER_P99_MS} ms"),
            met(granted.p99 <= HANDOVER_P99_MS && granted.errors == 0),
        ]);
        report.row([
            "… `DELETE /api/playback/{id}` round trip alone (204), p50 / p99 (max) ms, errors",
            &with_errors(&delete),
            "–",
            "–",
            "–",
            "–",
        ]);
        Ok(())
    }

    async fn lapses(&self, viewer: &Viewer, report: &mut Report) -> anyhow::Result<()> {
        let (world, sizes, http, media) = (self.world, self.sizes, &self.http, self.media);
        eprintln!("catalog-load: {} lapses", sizes.lapses);
        let replica = Replica::start(setup::variant(world, "lapse", 1, LAPSE_LEASE)).await?;
        let mut stream = self.open(&replica.base, viewer).await?;
        let lapsed = handover::lapsed(
            http,
            &replica.base,
            viewer,
            &mut stream,
            media,
            sizes.lapses,
            LAPSE_LEASE,
        )
        .await?;
        drop(stream);
        replica.stop().await;
        let shown: Vec<String> = lapsed
            .iter()
            .map(|ms| ms.map_or("never".to_owned(), |ms| ms.to_string()))
            .collect();
        let worst = lapsed.iter().map(|ms| ms.unwrap_or(i64::MAX)).max();
        report.row([
            &format!(
                "lease lapsed (lease {} s, no heartbeat) → waiting viewer granted: lease end → \
             `granted` on the stream, ms, each round",
                LAPSE_LEASE.as_secs()
            ),
            &shown.join(", "),
            "–",
            "–",
            &format!("≤ {LAPSE_MAX_MS} ms (the 1 s sweep)"),
            met(worst.is_some_and(|w| w <= LAPSE_MAX_MS)),
        ]);
        Ok(())
    }
}

impl Shared<'_> {
    async fn flood(
        &self,
        others: &[Viewer],
        flooder: &Viewer,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let (world, sizes, http, media) = (self.world, self.sizes, &self.http, self.media);
        let config = || {
            let mut config = setup::variant(world, "flood", setup::LOAD_LIMIT, setup::LOAD_LEASE);
            config.playback.per_second = FLOOD_PER_SECOND;
            config
        };
        let replicas = [
            Replica::start(config()).await?,
            Replica::start(config()).await?,
        ];
        let bases = [replicas[0].base.clone(), replicas[1].base.clone()];
        let home: Vec<usize> = (0..others.len()).map(|a| a % 2).collect();
        let mut streams = Vec::with_capacity(others.len());
        for (viewer, &replica) in others.iter().zip(&home) {
            streams.push(self.open(&bases[replica], viewer).await?);
        }
        let others_rate = f64::from(sizes.flood_others_rate);
        let mut load = decisions::Load {
            http,
            bases: &bases,
            viewers: others,
            streams,
            home,
            media,
            rate: others_rate,
        };
        let others_count =
            usize::try_from(u64::from(sizes.flood_others_rate) * sizes.flood_seconds)?;
        let flood_count = usize::try_from(u64::from(sizes.flood_rate) * sizes.flood_seconds)?;
        eprintln!(
            "catalog-load: {} accounts at {others_rate} req/s, alone then beside one account's \
             {} req/s",
            others.len(),
            sizes.flood_rate
        );
        let quiet = load.decisions(others_count).await?;
        let flood_http = flood::client()?;
        let (beside, flooded) = tokio::join!(
            load.decisions(others_count),
            flood::flood(
                &flood_http,
                &bases,
                flooder,
                media,
                f64::from(sizes.flood_rate),
                flood_count
            )
        );
        let (beside, flooded) = (beside?, flooded?);
        drop(load);
        for replica in replicas {
            replica.stop().await;
        }
        // Each replica refuses past the rate on its own and Redis counts both: at most the rate
        // gets through in each wall-clock second the accepted ones spread over.
        let allowed = u64::from(FLOOD_PER_SECOND)
            * (flooded.accepted_span.as_secs().max(sizes.flood_seconds) + 1);
        let other: Vec<String> = flooded
            .other
            .iter()
            .map(|(status, n)| format!("{n}× {status}"))
            .collect();
        report.row([
            &format!(
                "one account flooding `POST /api/playback` at {} req/s for {} s over 2 replicas \
                 from an address of its own (its rate: {FLOOD_PER_SECOND}/s): let through (202) \
                 · refused (429) · other answers or none (connection refused past the \
                 per-address cap, or no answer in 10 s)",
                sizes.flood_rate, sizes.flood_seconds
            ),
            &format!(
                "{} · {} · {} of {} ({:.0} req/s started, {} late; the 202s spread over {:.1} s)",
                flooded.accepted,
                flooded.limited,
                if other.is_empty() {
                    "0".to_owned()
                } else {
                    other.join(", ")
                },
                flooded.sent,
                flooded.rate,
                flooded.late,
                flooded.accepted_span.as_secs_f64()
            ),
            "–",
            "–",
            &format!("≤ {allowed} let through, the rest 429"),
            met(u64::try_from(flooded.accepted)? <= allowed),
        ]);
        report.row([
            &format!(
                "… meanwhile {} other accounts at {} req/s together: POST sent → decision on \
                 the stream, p50 / p99 (max) ms, errors (429, refused or lost: {})",
                others.len(),
                sizes.flood_others_rate,
                beside.limited + beside.failed + beside.lost
            ),
            &with_errors(&beside.all),
            &format!("the same without the flood: {}", with_errors(&quiet.all)),
            &ratio(beside.all.p99, quiet.all.p99),
            "every decision arrives, none refused",
            met(beside.all.errors == 0 && beside.limited + beside.failed + beside.lost == 0),
        ]);
        Ok(())
    }
}

/// A latency in ms with three significant figures or so.
fn ms(value: f64) -> String {
    if value.is_nan() {
        "–".to_owned()
    } else if value < 1.0 {
        format!("{value:.3}")
    } else if value < 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

fn triple(stats: &Percentiles) -> String {
    format!("{} / {} ({})", ms(stats.p50), ms(stats.p99), ms(stats.max))
}

fn with_errors(stats: &Percentiles) -> String {
    format!("{}, {} of {}", triple(stats), stats.errors, stats.count)
}

fn ratio(ours: f64, bare: f64) -> String {
    format!("{:.1}×", ours / bare)
}
