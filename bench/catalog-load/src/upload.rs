//! Upload throughput: one file through the product's presigned flow (create, part URLs, PUTs
//! straight to storage, finalize) against the same file sent to the same storage without the
//! catalogue: a plain multipart upload with the same part size and parts in flight (the fair
//! peer: the same requests carry the same bytes, so the ratio is what the product adds) and one
//! plain signed PUT (the single-stream transport, for scale).
//!
//! Every digest is computed before any clock starts, as the browser hashes the file before it
//! uploads; every PUT, the product's and the peers', carries and is checked against a signed
//! `x-amz-checksum-sha256`, so storage does the same work for each.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use bytes::Bytes;
use ferrocast_catalog::{
    domain::{ContentType, Sha256},
    ports::{ObjectStore, PresignedRequest},
};
use futures::{stream, StreamExt, TryStreamExt};
use rand::{RngCore, SeedableRng};
use serde_json::{json, Value};
use sha2::Digest;

use crate::world::World;

const CONTENT_TYPE: &str = "video/mp4";
/// The catalogue hands out part URLs in batches of at most this many.
const PART_URLS_PER_CALL: usize = 100;
const URL_TTL: Duration = Duration::from_secs(3600);

/// The file, its digest and its parts' digests.
pub struct File {
    bytes: Bytes,
    sha256: [u8; 32],
    part_size: usize,
    parts: Vec<[u8; 32]>,
    pub hashing: Duration,
}

impl File {
    /// `size` bytes starting like an MP4 (the catalogue sniffs the first bytes), the rest
    /// random so nothing on the way can compress it.
    pub fn make(size: usize, part_size: usize) -> Self {
        let mut bytes = vec![0u8; size];
        rand::rngs::StdRng::seed_from_u64(7).fill_bytes(&mut bytes);
        let ftyp = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41";
        bytes[..ftyp.len()].copy_from_slice(ftyp);
        let started = Instant::now();
        let sha256: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        let parts = bytes
            .chunks(part_size)
            .map(|part| sha2::Sha256::digest(part).into())
            .collect();
        let hashing = started.elapsed();
        Self {
            bytes: Bytes::from(bytes),
            sha256,
            part_size,
            parts,
            hashing,
        }
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn part(&self, index: usize) -> Bytes {
        let start = index * self.part_size;
        let end = (start + self.part_size).min(self.bytes.len());
        self.bytes.slice(start..end)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    Product,
    PlainMultipart,
    PlainPut,
}

impl Way {
    pub const ALL: [Way; 3] = [Way::Product, Way::PlainMultipart, Way::PlainPut];
}

/// Where the presigned flow's time went: create, part URLs, the PUTs, finalize.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stages {
    pub create: Duration,
    pub part_urls: Duration,
    pub puts: Duration,
    pub finalize: Duration,
}

/// Uploads `file` one way, timed from the first request to the last answer (and, for the
/// presigned flow, by stage); what it stored is removed afterwards, off the clock.
pub async fn upload(
    world: &World,
    file: &File,
    way: Way,
    parallel: usize,
) -> anyhow::Result<(Duration, Option<Stages>)> {
    match way {
        Way::Product => product(world, file, parallel)
            .await
            .map(|(took, stages)| (took, Some(stages))),
        Way::PlainMultipart => Ok((plain_multipart(world, file, parallel).await?, None)),
        Way::PlainPut => Ok((plain_put(world, file).await?, None)),
    }
}

async fn product(
    world: &World,
    file: &File,
    parallel: usize,
) -> anyhow::Result<(Duration, Stages)> {
    let mut stages = Stages::default();
    let started = Instant::now();
    let created = call(
        world,
        reqwest::Method::POST,
        "/api/media",
        Some(json!({
            "kind": "video",
            "title": "Upload benchmark",
            "description": "a file of random bytes",
            "tags": ["bench"],
            "size": file.size(),
            "sha256": hex::encode(file.sha256),
            "content_type": CONTENT_TYPE,
        })),
    )
    .await?;
    let id = created["media"]["id"]
        .as_str()
        .context("created media without an id")?
        .to_owned();
    let upload = &created["upload"];
    stages.create = started.elapsed();
    match upload["method"].as_str() {
        Some("multipart") => {
            ensure!(
                upload["part_size"].as_u64() == Some(file.part_size as u64),
                "the catalogue cut the file in parts of {}, the bench hashed parts of {}",
                upload["part_size"],
                file.part_size
            );
            let numbered: Vec<(usize, &[u8; 32])> = file.parts.iter().enumerate().collect();
            let mut requests = Vec::with_capacity(file.parts.len());
            for batch in numbered.chunks(PART_URLS_PER_CALL) {
                let digests: Vec<Value> = batch
                    .iter()
                    .map(|(i, digest)| json!({"number": i + 1, "sha256": hex::encode(digest)}))
                    .collect();
                let urls = call(
                    world,
                    reqwest::Method::POST,
                    &format!("/api/media/{id}/parts"),
                    Some(json!({ "parts": digests })),
                )
                .await?;
                for part in urls["parts"].as_array().context("no parts in the answer")? {
                    let number = part["number"].as_u64().context("part number")? as usize;
                    requests.push((number - 1, signed_from_json(&part["request"])?));
                }
            }
            stages.part_urls = started.elapsed() - stages.create;
            put_parts(world, file, requests, parallel).await?;
        }
        Some("put") => {
            let signed = signed_from_json(&upload["request"])?;
            put(&world.http, &signed, file.bytes.clone()).await?;
        }
        other => bail!("unknown upload method {other:?}"),
    }
    stages.puts = started.elapsed() - stages.create - stages.part_urls;
    let item = call(
        world,
        reqwest::Method::POST,
        &format!("/api/media/{id}/finalize"),
        None,
    )
    .await?;
    let elapsed = started.elapsed();
    stages.finalize = elapsed - stages.create - stages.part_urls - stages.puts;
    ensure!(item["status"] == "uploaded", "finalize answered {item}");
    call(
        world,
        reqwest::Method::DELETE,
        &format!("/api/media/{id}"),
        None,
    )
    .await?;
    Ok((elapsed, stages))
}

async fn plain_multipart(world: &World, file: &File, parallel: usize) -> anyhow::Result<Duration> {
    let objects = world.catalog.objects();
    let key = format!("bench/{}", uuid::Uuid::new_v4());
    let content_type = ContentType::parse(CONTENT_TYPE).context("content type")?;
    let started = Instant::now();
    let upload_id = objects.create_multipart(&key, content_type).await?;
    let mut requests = Vec::with_capacity(file.parts.len());
    for (index, digest) in file.parts.iter().enumerate() {
        let length = file.part(index).len() as u64;
        let number = u32::try_from(index + 1)?;
        let signed = objects
            .presign_part(&key, &upload_id, number, length, Sha256(*digest), URL_TTL)
            .await?;
        requests.push((index, Signed::from(signed)));
    }
    put_parts(world, file, requests, parallel).await?;
    objects
        .complete_multipart(&key, &upload_id, u32::try_from(file.parts.len())?)
        .await?;
    let elapsed = started.elapsed();
    objects.delete(&key).await?;
    Ok(elapsed)
}

/// One small untimed upload into the bucket: SeaweedFS creates a bucket's volumes on its first
/// write (about a second here), which would otherwise land on whichever way goes first.
pub async fn warm_up(world: &World) -> anyhow::Result<()> {
    let small = File::make(1024 * 1024, 1024 * 1024);
    plain_put(world, &small).await.map(|_| ())
}

async fn plain_put(world: &World, file: &File) -> anyhow::Result<Duration> {
    let objects = world.catalog.objects();
    let key = format!("bench/{}", uuid::Uuid::new_v4());
    let content_type = ContentType::parse(CONTENT_TYPE).context("content type")?;
    let started = Instant::now();
    let signed = objects
        .presign_put(
            &key,
            file.size(),
            Sha256(file.sha256),
            content_type,
            URL_TTL,
        )
        .await?;
    put(&world.http, &Signed::from(signed), file.bytes.clone()).await?;
    let elapsed = started.elapsed();
    objects.delete(&key).await?;
    Ok(elapsed)
}

/// A request to send to storage exactly as signed.
struct Signed {
    method: reqwest::Method,
    url: String,
    headers: Vec<(String, String)>,
}

impl From<PresignedRequest> for Signed {
    fn from(request: PresignedRequest) -> Self {
        Self {
            method: reqwest::Method::from_bytes(request.method.as_bytes())
                .unwrap_or(reqwest::Method::PUT),
            url: request.url,
            headers: request.headers,
        }
    }
}

fn signed_from_json(request: &Value) -> anyhow::Result<Signed> {
    let method = request["method"].as_str().context("signed method")?;
    Ok(Signed {
        method: reqwest::Method::from_bytes(method.as_bytes())?,
        url: request["url"].as_str().context("signed url")?.to_owned(),
        headers: request["headers"]
            .as_object()
            .context("signed headers")?
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
            .collect(),
    })
}

/// The parts, `parallel` in flight at a time, as a browser uploader sends them.
async fn put_parts(
    world: &World,
    file: &File,
    requests: Vec<(usize, Signed)>,
    parallel: usize,
) -> anyhow::Result<()> {
    stream::iter(requests)
        .map(|(index, signed)| async move { put(&world.http, &signed, file.part(index)).await })
        .buffer_unordered(parallel)
        .try_collect::<()>()
        .await
}

async fn put(http: &reqwest::Client, signed: &Signed, body: Bytes) -> anyhow::Result<()> {
    let mut request = http.request(signed.method.clone(), &signed.url);
    for (name, value) in &signed.headers {
        request = request.header(name, value);
    }
    let response = request.body(body).send().await.context("storage answers")?;
    let status = response.status();
    ensure!(
        status.is_success(),
        "storage refused a PUT ({status}): {}",
        response.text().await.unwrap_or_default()
    );
    Ok(())
}

/// A call to the catalogue as the signed-in account; the JSON answer of a 2xx.
async fn call(
    world: &World,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut request = world
        .http
        .request(method.clone(), world.url(path))
        .bearer_auth(&world.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.context("the catalogue answers")?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    ensure!(status.is_success(), "{method} {path}: {status} {text}");
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}
