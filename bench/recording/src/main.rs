//! Past broadcasts' benchmark, run by `bench/run` (section `recording`, bench/README.md): a
//! streamer publishes an H.264/AAC stream for N s to the real ingest (past broadcasts on), with the
//! real catalogue (PostgreSQL, SeaweedFS, NATS) and a real worker; timed from the publisher's end
//! (the stream ends) to the past broadcast's first playable rendition (`processing.hls_url`, fast
//! start), with its steps (registered and uploaded, processing started). The peer, in the same
//! run: the very file the recording became, uploaded as an ordinary video by the catalogue's
//! public flow (create → PUT → finalize) → playable. Prints a markdown section; exit status 0
//! whenever it ran to the end: a missed target is a cell, not a failure.

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use ferrocast_testkit::{
    catalog::Catalog,
    platform::{ingest_config, start_ingest, SERVICE_TOKEN},
    publisher, Options, Platform, Streamer,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Stream end → past broadcast playable, s (H.264/AAC, fast start).
const PLAYABLE_TARGET: f64 = 5.0;
/// How often the catalogue is asked.
const POLL: Duration = Duration::from_millis(50);

struct Run {
    platform: Platform,
    catalog: Catalog,
    http: reqwest::Client,
}

impl Run {
    async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, self.catalog.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status} {body}");
        }
        Ok(body)
    }

    async fn past_broadcast(&self, streamer: &Streamer) -> anyhow::Result<Option<Value>> {
        let page = self
            .json(
                reqwest::Method::GET,
                &format!("/api/media?owner={}&tags=past-broadcast", streamer.username),
                &streamer.token,
                None,
            )
            .await?;
        Ok(page["items"]
            .as_array()
            .and_then(|items| items.first().cloned()))
    }

    async fn item(&self, streamer: &Streamer, id: &str) -> anyhow::Result<Value> {
        self.json(
            reqwest::Method::GET,
            &format!("/api/media/{id}"),
            &streamer.token,
            None,
        )
        .await
    }
}

fn playable(item: &Value) -> bool {
    item["processing"]["hls_url"].is_string()
}

#[derive(Default)]
struct Steps {
    registered: Option<f64>,
    uploaded: Option<f64>,
    playable: Option<f64>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let seconds: u32 = if smoke { 4 } else { 20 };
    let limit = Duration::from_secs(if smoke { 120 } else { 300 });
    let mut notes = Vec::new();

    let platform = Platform::start(Options {
        gateway: false,
        ..Options::without_ingest()
    })
    .await?;
    // The product's upload sizes (the test config splits anything over 1 MiB into parts).
    let catalog = Catalog::start_with(&platform.users_grpc_url(), |config| {
        config.uploads.multipart_threshold = 64 * 1024 * 1024;
        config.uploads.part_size = 16 * 1024 * 1024;
        config.uploads.max_size = 4 * 1024 * 1024 * 1024;
        config.uploads.quota = 20 * 1024 * 1024 * 1024;
    })
    .await?;
    let scratch = tempfile::tempdir()?;
    let mut worker_config = ferrocast_worker::Config::for_tests(
        catalog.nats.url(),
        catalog.config.storage.clone(),
        scratch.path().to_owned(),
        SERVICE_TOKEN,
    );
    worker_config.work.packager = std::env::var_os("PACKAGER").map_or_else(
        || ferrocast_testkit::workspace_root().join(".ferrocast/venv/bin/packager"),
        Into::into,
    );
    let worker_stop = tokio_util::sync::CancellationToken::new();
    let _worker = ferrocast_worker::start(worker_config, worker_stop.clone()).await?;
    let recordings = tempfile::tempdir()?;
    let hls = tempfile::tempdir()?;
    let mut config = ingest_config(
        &platform.options,
        platform.users_grpc,
        platform.rooms_http(),
    )?;
    config.recording.dir = recordings.path().to_owned();
    config.recording.catalog_http_url = catalog.url("");
    config.recording.rooms_http_url = platform.rooms_url("");
    config.recording.min_duration = Duration::from_secs(1);
    let (_ingest, rtmp, _, _) = start_ingest(
        &platform.options,
        platform.users_grpc,
        platform.rooms_http(),
        &hls.path().join("hls"),
        Some(config),
    )
    .await?;
    let run = Run {
        platform,
        catalog,
        http: reqwest::Client::new(),
    };
    let streamer = run.platform.streamer().await;

    // The stream: N s of 640x360 H.264 (a keyframe a second) and AAC, in real time.
    let url = format!("rtmp://{rtmp}/live/{}", streamer.key);
    let status = publisher::publish_with(&url, &["-t", &seconds.to_string()])
        .wait()
        .await?;
    if !status.success() {
        bail!("the publisher failed: {status}");
    }
    let ended = Instant::now();
    let mut steps = Steps::default();
    let mut id = None;
    while steps.playable.is_none() && ended.elapsed() < limit {
        if id.is_none() {
            if let Some(item) = run.past_broadcast(&streamer).await? {
                steps.registered = Some(ended.elapsed().as_secs_f64());
                id = item["id"].as_str().map(str::to_owned);
            }
        }
        if let Some(id) = &id {
            let item = run.item(&streamer, id).await?;
            if steps.uploaded.is_none() && item["status"] == "uploaded" {
                steps.uploaded = Some(ended.elapsed().as_secs_f64());
            }
            if playable(&item) {
                steps.playable = Some(ended.elapsed().as_secs_f64());
            }
        }
        tokio::time::sleep(POLL).await;
    }
    let id = id.context("no past broadcast registered")?;

    // The peer: the same bytes (the uploaded original), as an ordinary upload.
    let signed = run
        .json(
            reqwest::Method::GET,
            &format!("/api/media/{id}/original"),
            &streamer.token,
            None,
        )
        .await?;
    let bytes = run
        .http
        .get(signed["url"].as_str().context("a URL")?)
        .send()
        .await?
        .bytes()
        .await?;
    let started = Instant::now();
    let created = run
        .json(
            reqwest::Method::POST,
            "/api/media",
            &streamer.token,
            Some(json!({
                "kind": "video", "title": "the same file, uploaded", "size": bytes.len(),
                "sha256": hex::encode(Sha256::digest(&bytes)), "content_type": "video/mp4",
            })),
        )
        .await?;
    let request = &created["upload"]["request"];
    let mut put = run
        .http
        .put(request["url"].as_str().context("a single PUT")?);
    for (name, value) in request["headers"].as_object().context("headers")? {
        put = put.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    put.body(bytes.clone()).send().await?.error_for_status()?;
    let upload_id = created["media"]["id"].as_str().context("an id")?.to_owned();
    run.json(
        reqwest::Method::POST,
        &format!("/api/media/{upload_id}/finalize"),
        &streamer.token,
        None,
    )
    .await?;
    let mut upload_playable = None;
    while upload_playable.is_none() && started.elapsed() < limit {
        if playable(&run.item(&streamer, &upload_id).await?) {
            upload_playable = Some(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(POLL).await;
    }
    worker_stop.cancel();

    let cell = |value: Option<f64>| {
        value.map_or_else(
            || format!("not within {} s", limit.as_secs()),
            |v| format!("{v:.2} s"),
        )
    };
    let mut md = String::new();
    writeln!(md, "## Past broadcasts: stream end → playable\n")?;
    writeln!(
        md,
        "A {seconds} s 640x360 H.264/AAC live stream (1 s segments) recorded by the ingest, registered with the catalogue and processed by one worker (fast start); the peer is the same MP4 ({} bytes) uploaded as a video in the same run. Polled every {} ms.\n",
        bytes.len(),
        POLL.as_millis()
    )?;
    writeln!(
        md,
        "| step | past broadcast (from the stream's end) | the same file uploaded (from create) |"
    )?;
    writeln!(md, "|---|---|---|")?;
    writeln!(
        md,
        "| registered (item listed) | {} | – |",
        cell(steps.registered)
    )?;
    writeln!(
        md,
        "| uploaded and finalized | {} | – |",
        cell(steps.uploaded)
    )?;
    writeln!(
        md,
        "| playable (`hls_url`) | {} | {} |",
        cell(steps.playable),
        cell(upload_playable)
    )?;
    match (steps.playable, upload_playable) {
        (Some(past), Some(upload)) if upload > 0.0 => {
            let verdict = if past <= PLAYABLE_TARGET {
                "met"
            } else {
                "missed"
            };
            writeln!(md, "\nRatio past broadcast ÷ upload: **{:.2}×**; target ≤ {PLAYABLE_TARGET} s from the stream's end: {verdict}.", past / upload)?;
        }
        _ => notes.push("no ratio: one side never became playable".to_owned()),
    }
    for note in notes {
        writeln!(md, "\nNote: {note}")?;
    }
    println!("{md}");
    Ok(())
}
