//! The catalogue's benchmarks, run by `bench/run` (sections `catalog` and `playback`,
//! bench/README.md): upload throughput through the presigned flow against plain S3 uploads of
//! the same file to the same storage, search latency at a fixed request rate over a seeded
//! catalogue, and playback session decisions and handovers against bare Redis. Prints a
//! markdown section (context, a table of figures with their ratios, notes and, for a figure
//! that misses its target, the plans PostgreSQL ran). Exit status 0 whenever it ran to the
//! end: a missed target is a cell, not a failure.

mod bare_redis;
mod cpu;
mod load;
mod pacer;
mod playback;
mod search;
mod seed;
mod sse;
mod storage;
mod upload;
mod world;

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use anyhow::{bail, Context};

use crate::{
    load::{Percentiles, Sample},
    search::Query,
    upload::{File, Way},
    world::World,
};

const MIB: u64 = 1024 * 1024;
/// Search p99 target, ms.
const SEARCH_P99_MS: f64 = 20.0;
/// Upload throughput target, × the fair peer's.
const UPLOAD_RATIO: f64 = 0.95;

struct Settings {
    smoke: bool,
    upload: bool,
    search: bool,
    playback: bool,
    sizes: playback::Sizes,
    upload_mib: u64,
    part_mib: u64,
    parallel: usize,
    rounds: usize,
    items: usize,
    tags: usize,
    rate: u32,
    seconds: u64,
    warmup_seconds: u64,
}

impl Settings {
    fn parse() -> anyhow::Result<Self> {
        let mut settings = Self {
            smoke: false,
            upload: true,
            search: true,
            playback: true,
            sizes: playback::Sizes::full(),
            upload_mib: 1024,
            part_mib: 16,
            parallel: 4,
            rounds: 3,
            items: 100_000,
            tags: 5_000,
            rate: 200,
            seconds: 30,
            warmup_seconds: 3,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--smoke" => {
                    settings.smoke = true;
                    settings.upload_mib = 16;
                    settings.part_mib = 5;
                    settings.rounds = 1;
                    settings.items = 2_000;
                    settings.tags = 500;
                    settings.seconds = 5;
                    settings.warmup_seconds = 1;
                    settings.sizes = playback::Sizes::smoke();
                }
                "--only" => {
                    let only = value()?;
                    let parts: Vec<&str> = only.split(',').map(str::trim).collect();
                    if let Some(other) = parts
                        .iter()
                        .find(|p| !["upload", "search", "playback"].contains(p))
                    {
                        bail!(
                            "--only takes upload, search, playback (comma-separated), not {other}"
                        );
                    }
                    settings.upload = parts.contains(&"upload");
                    settings.search = parts.contains(&"search");
                    settings.playback = parts.contains(&"playback");
                }
                "--upload-mib" => settings.upload_mib = value()?.parse()?,
                "--part-mib" => settings.part_mib = value()?.parse()?,
                "--parallel" => settings.parallel = value()?.parse()?,
                "--rounds" => settings.rounds = value()?.parse()?,
                "--items" => settings.items = value()?.parse()?,
                "--tags" => settings.tags = value()?.parse()?,
                "--rate" => settings.rate = value()?.parse()?,
                "--seconds" => settings.seconds = value()?.parse()?,
                "--playback-rate" => settings.sizes.rate = value()?.parse()?,
                "--playback-seconds" => settings.sizes.seconds = value()?.parse()?,
                "--accounts" => settings.sizes.accounts = value()?.parse()?,
                "--handovers" => settings.sizes.handovers = value()?.parse()?,
                "--lapses" => settings.sizes.lapses = value()?.parse()?,
                "--help" | "-h" => {
                    println!(
                        "ferrocast-bench-catalog-load [--smoke] [--only upload,search,playback] \
                         [--upload-mib 1024] [--part-mib 16] [--parallel 4] [--rounds 3] \
                         [--items 100000] [--tags 5000] [--rate 200] [--seconds 30] \
                         [--playback-rate 1000] [--playback-seconds 15] [--accounts 200] \
                         [--handovers 500] [--lapses 5]"
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other} (see --help)"),
            }
        }
        Ok(settings)
    }
}

/// The markdown the run prints.
#[derive(Default)]
struct Report {
    context: Vec<String>,
    rows: Vec<String>,
    notes: Vec<String>,
    plans: Vec<String>,
}

impl Report {
    fn row(&mut self, cells: [&str; 6]) {
        self.rows.push(format!("| {} |", cells.join(" | ")));
    }

    fn markdown(&self, settings: &Settings) -> String {
        let parts: Vec<&str> = [
            (settings.upload, "uploads"),
            (settings.search, "search"),
            (settings.playback, "playback sessions"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
        let title = match parts.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => "nothing".to_owned(),
        };
        let mut out = format!("## Catalogue: {title}\n\n");
        for line in &self.context {
            let _ = writeln!(out, "- {line}");
        }
        out +=
            "\n| figure | ferrocast | peer | ratio | target | met |\n|---|---|---|---|---|---|\n";
        for row in &self.rows {
            let _ = writeln!(out, "{row}");
        }
        if !self.notes.is_empty() {
            out += "\nNotes:\n\n";
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        for plan in &self.plans {
            out += "\n";
            out += plan;
        }
        out
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "**no**"
    }
}

fn main() -> anyhow::Result<()> {
    let settings = Settings::parse()?;
    let shared = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    // Kept until the end: dropping it stops the server.
    let mut weed_server = None;
    let storage = if shared("FERROCAST_TEST_S3_ENDPOINT") {
        "SeaweedFS from `FERROCAST_TEST_S3_ENDPOINT`".to_owned()
    } else {
        let weed = storage::Weed::start()?;
        // Set before the runtime's threads exist: nothing else reads the environment yet.
        std::env::set_var("FERROCAST_TEST_S3_ENDPOINT", &weed.endpoint);
        std::env::set_var("FERROCAST_TEST_S3_ACCESS_KEY", &weed.access_key);
        std::env::set_var("FERROCAST_TEST_S3_SECRET_KEY", &weed.secret_key);
        let described =
            "a `weed server` of the run's own (1 GiB volumes, data under /tmp)".to_owned();
        weed_server = Some(weed);
        described
    };
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(settings, storage));
    drop(weed_server);
    outcome
}

async fn run(settings: Settings, storage: String) -> anyhow::Result<()> {
    let mut report = Report::default();
    let profile = if cfg!(debug_assertions) {
        "debug build: figures not representative"
    } else {
        "release build"
    };
    report.context.push(format!(
        "services: users and the catalogue **in-process** in the bench binary ({profile}; the test \
         kit's start: `Platform::start(Options::users())`, `catalog::Catalog::start`), the load \
         client in the same process; PostgreSQL from `FERROCAST_TEST_POSTGRES_URL` or \
         127.0.0.1:5432 (a database of the run's own), {storage}"
    ));
    report.context.push(format!(
        "machine: {} cores shared with other work; load average at start {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu::load_average()
    ));
    let part_bytes = settings.part_mib * MIB;
    let upload_bytes = settings.upload_mib * MIB;
    let world = World::start(part_bytes, upload_bytes, playback::setup::configure).await?;
    eprintln!("catalog-load: services up at {}", world.url(""));
    let outcome = async {
        if settings.upload {
            measure_upload(&world, &settings, &mut report).await?;
        }
        if settings.search {
            measure_search(&world, &settings, &mut report).await?;
        }
        if settings.playback {
            playback::measure(&world, &settings.sizes, &mut report).await?;
        }
        anyhow::Ok(())
    }
    .await;
    report
        .context
        .push(format!("load average at end {}", cpu::load_average()));
    world.stop().await;
    if let Err(error) = &outcome {
        report.notes.push(format!("BENCH ERROR: {error:#}"));
    }
    print!("{}", report.markdown(&settings));
    outcome
}

async fn measure_upload(
    world: &World,
    settings: &Settings,
    report: &mut Report,
) -> anyhow::Result<()> {
    let size = usize::try_from(settings.upload_mib * MIB)?;
    let part = usize::try_from(settings.part_mib * MIB)?;
    eprintln!(
        "catalog-load: making and hashing a {} MiB file",
        settings.upload_mib
    );
    let file = File::make(size, part);
    upload::warm_up(world)
        .await
        .context("warming the bucket up")?;
    let mut times: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut stages: Vec<upload::Stages> = Vec::new();
    for round in 0..settings.rounds {
        // Each way goes first, second and third in turn, so a slow spell of the shared
        // machine does not always land on the same one.
        let mut order = Way::ALL.to_vec();
        let turn = round % order.len();
        order.rotate_left(turn);
        for way in order {
            let (took, stages_of) = upload::upload(world, &file, way, settings.parallel)
                .await
                .with_context(|| format!("uploading {way:?}"))?;
            stages.extend(stages_of);
            let mib_s = file.size() as f64 / MIB as f64 / took.as_secs_f64();
            eprintln!("catalog-load: round {round} {way:?}: {mib_s:.0} MiB/s");
            times.entry(name(way)).or_default().push(mib_s);
        }
    }
    let median = |way: Way| median(&times[name(way)]);
    let all = |way: Way| {
        times[name(way)]
            .iter()
            .map(|v| format!("{v:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let product = median(Way::Product);
    let parts = file.size().div_ceil(part as u64);
    for (peer, label, target) in [
        (
            Way::PlainMultipart,
            format!(
                "upload {} MiB, presigned flow vs plain multipart ({parts} parts of {} MiB, {} in \
                 flight), MiB/s, median of {} (each)",
                settings.upload_mib, settings.part_mib, settings.parallel, settings.rounds
            ),
            true,
        ),
        (
            Way::PlainPut,
            "same, vs one plain signed PUT of the file, MiB/s".to_owned(),
            false,
        ),
    ] {
        let ratio = product / median(peer);
        report.row([
            &label,
            &format!("{product:.0} ({})", all(Way::Product)),
            &format!("{:.0} ({})", median(peer), all(peer)),
            &format!("{ratio:.2}×"),
            if target { "≥ 0.95×" } else { "–" },
            if target {
                met(ratio >= UPLOAD_RATIO)
            } else {
                "–"
            },
        ]);
    }
    let hashing = file.size() as f64 * 2.0 / MIB as f64 / file.hashing.as_secs_f64();
    report.row([
        "SHA-256 of the file and of each part, before any upload (the browser's work), MiB/s hashed",
        &format!("{hashing:.0} ({:.2} s)", file.hashing.as_secs_f64()),
        "–",
        "–",
        "–",
        "–",
    ]);
    let ms = |d: Duration| format!("{:.0}", d.as_secs_f64() * 1000.0);
    let rounds: Vec<String> = stages
        .iter()
        .map(|s| {
            format!(
                "{} / {} / {} / {}",
                ms(s.create),
                ms(s.part_urls),
                ms(s.puts),
                ms(s.finalize)
            )
        })
        .collect();
    report.notes.push(format!(
        "Presigned flow by stage, ms, each round: create / part URLs / PUTs / finalize: {}.",
        rounds.join("; ")
    ));
    report.notes.push(format!(
        "Upload: every digest (the file's, for `POST /api/media`, and each part's, for the part \
         URLs) is computed before any clock starts, as the browser hashes before it uploads; the \
         hashing row says what that costs here. The presigned flow is timed from `POST \
         /api/media` to the answer of `POST /api/media/{{id}}/finalize` (create, part URLs in \
         batches of ≤ 100, the PUTs straight to storage with the signed headers, finalize: \
         ListParts, CompleteMultipartUpload, HEAD, the first bytes read back). The fair peer is \
         a plain multipart upload with the same part size, the same {} parts in flight and the \
         same signed `x-amz-checksum-sha256` on each part, signed by the bench itself and \
         completed directly: the same bytes in the same requests to the same storage, so the \
         ratio is what the catalogue adds. One plain signed PUT of the whole file (checksum \
         signed too) is shown for scale: it differs in transport (one stream instead of {}), \
         so its ratio compares multipart with a single stream on this machine more than the \
         product with S3. Rounds rotate which way goes first; what each upload stored is \
         deleted off the clock.",
        settings.parallel, settings.parallel
    ));
    Ok(())
}

fn name(way: Way) -> &'static str {
    match way {
        Way::Product => "product",
        Way::PlainMultipart => "multipart",
        Way::PlainPut => "put",
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

async fn measure_search(
    world: &World,
    settings: &Settings,
    report: &mut Report,
) -> anyhow::Result<()> {
    let url = world.catalog.postgres.url().to_owned();
    eprintln!(
        "catalog-load: seeding {} items and {} tags",
        settings.items, settings.tags
    );
    let seeded = seed::seed(&url, settings.items, settings.tags).await?;
    report.context.push(format!(
        "search: {} items (all uploaded and public), {} tags, {} item-tag links, written straight \
         into PostgreSQL in {:.0} s (then VACUUM ANALYZE); {} req/s open loop for {} s per \
         endpoint after {} s of warm-up, latency from each request's scheduled send time",
        seeded.items,
        seeded.tags,
        seeded.links,
        seeded.took.as_secs_f64(),
        settings.rate,
        settings.seconds,
        settings.warmup_seconds
    ));
    let base = world.url("");
    // One client with a keep-alive pool, as a gateway in front of the catalogue would be.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()?;
    let cursors = search::listing_cursors(&http, &base, 40).await?;
    let count = usize::try_from(u64::from(settings.rate) * settings.seconds)?.max(1);
    let media = search::media_plan(count, settings.tags, &cursors);
    let tags = search::tag_plan(count, settings.tags);
    let mut explained: Vec<&Query> = Vec::new();
    let by_path: BTreeMap<String, &Query> = media
        .iter()
        .chain(tags.iter())
        .map(|q| (q.path(), q))
        .collect();
    for (endpoint, plan) in [("GET /api/media", &media), ("GET /api/tags", &tags)] {
        let planned = search::planned(plan);
        let warmup = Duration::from_secs(settings.warmup_seconds);
        load::open_loop(&http, &base, &planned, settings.rate, warmup).await;
        let pids = backend_pids(&url).await.unwrap_or_default();
        let before = cpu::Snapshot::take(&pids);
        let samples = load::open_loop(
            &http,
            &base,
            &planned,
            settings.rate,
            Duration::from_secs(settings.seconds),
        )
        .await;
        let used = cpu::Snapshot::take(&pids).since(&before);
        let overall = Percentiles::of(&samples);
        let cells = latency_row(
            &format!(
                "{endpoint} at {} req/s, all queries: p50 / p95 / p99 (max) ms, errors of sent",
                settings.rate
            ),
            &overall,
        );
        report.row(cells.each_ref().map(String::as_str));
        let mut kinds: Vec<&'static str> = samples.iter().map(|s| s.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        if kinds.len() > 1 {
            for kind in kinds {
                let of_kind: Vec<&Sample> = samples.iter().filter(|s| s.kind == kind).collect();
                let stats = Percentiles::of(of_kind.iter().copied());
                let cells = latency_row(&format!("… {kind}"), &stats);
                report.row(cells.each_ref().map(String::as_str));
            }
        }
        report
            .notes
            .push(format!("CPU during the {endpoint} window: {used}."));
        // The slowest request of each kind that missed the target: its plan says why.
        let mut slowest: BTreeMap<&'static str, &Sample> = BTreeMap::new();
        for sample in &samples {
            let entry = slowest.entry(sample.kind).or_insert(sample);
            if sample.latency > entry.latency {
                *entry = sample;
            }
        }
        for (kind, sample) in slowest {
            let kind_p99 = Percentiles::of(samples.iter().filter(|s| s.kind == kind)).p99;
            if kind_p99 > SEARCH_P99_MS {
                if let Some(query) = by_path.get(&sample.path) {
                    explained.push(query);
                }
            }
        }
    }
    if !explained.is_empty() {
        // Planned on the quiet database after the load, so the plan's own times are the
        // query's, not the queueing's.
        match search::explain(&url, &explained).await {
            Ok(plans) => {
                for query in &explained {
                    if let Some(plan) = plans.get(&query.path()) {
                        report.plans.push(format!(
                            "Plan of the slowest `{}` request of its kind ({}), on the idle \
                             database after the load:\n\n```\n{plan}\n```\n",
                            query.path(),
                            query.kind
                        ));
                    }
                }
            }
            Err(error) => report.notes.push(format!("EXPLAIN failed: {error:#}")),
        }
    }
    report.notes.push(format!(
        "Search mix (`GET /api/media`): 30 % whole words (one or two, drawn by the same Zipf law \
         as the seeded texts), 20 % prefixes of a word being typed, 15 % a word with one wrong \
         letter, 15 % tag filters (one or two tags, half with a word), 20 % the newest-first \
         listing without q (a quarter the first page, the rest one of {} cursors walked before \
         the load). `GET /api/tags`: 10 % without a prefix (the most used tags), the rest the \
         first 1-3 letters of a tag. Ratio: p99 ÷ the {SEARCH_P99_MS} ms target. The seeded \
         vocabulary has {} words, so a common word is in a large share of the items, as \
         \"stream\" or \"live\" would be on a streaming site.",
        cursors.len(),
        seed::WORDS.len()
    ));
    Ok(())
}

fn latency_row(label: &str, stats: &Percentiles) -> [String; 6] {
    [
        label.to_owned(),
        format!(
            "{:.1} / {:.1} / {:.1} ({:.0}), {} of {}",
            stats.p50, stats.p95, stats.p99, stats.max, stats.errors, stats.count
        ),
        "–".to_owned(),
        format!("{:.2}×", stats.p99 / SEARCH_P99_MS),
        format!("p99 ≤ {SEARCH_P99_MS} ms"),
        met(stats.p99 <= SEARCH_P99_MS && stats.errors == 0).to_owned(),
    ]
}

/// The PostgreSQL processes serving the catalogue's database (its pool is open by now).
async fn backend_pids(url: &str) -> anyhow::Result<Vec<u32>> {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url).await?;
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut connection)
    .await?;
    connection.close().await.ok();
    Ok(pids
        .into_iter()
        .filter_map(|p| u32::try_from(p).ok())
        .collect())
}
