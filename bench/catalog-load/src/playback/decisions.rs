//! Decisions under a steady load: many accounts, each with its event stream open on one of two
//! replicas, and `POST /api/playback` spread over them at a fixed rate, alternating replicas,
//! so half of the decisions reach their stream through the replica that made them and half
//! through the other. Each is timed from its scheduled send to the decision arriving on the
//! account's stream, and to the POST's answer.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::setup::Viewer;
use crate::{load::Percentiles, pacer::paced, sse::Stream};

/// How long a decision may take to arrive after the last POST's answer before it counts as
/// lost.
const DRAIN: Duration = Duration::from_secs(5);

struct Sent {
    account: usize,
    replica: usize,
    scheduled: Instant,
    answered: Duration,
    status: Option<u16>,
    request_id: Option<String>,
}

pub struct Decisions {
    /// The 202's round trip, of every POST sent (a refusal or no answer is an error).
    pub post: Percentiles,
    /// POST sent → decision on the stream, every POST that was not rate-limited.
    pub all: Percentiles,
    /// … with the account's stream on the replica that decided.
    pub same: Percentiles,
    /// … on the other replica.
    pub other: Percentiles,
    pub sent: usize,
    /// 429 answers (the load stays under the per-account rate, so 0 expected).
    pub limited: usize,
    /// Answers other than 202 and 429, and requests without an answer.
    pub failed: usize,
    /// 202s whose decision never arrived.
    pub lost: usize,
    /// Decisions by kind (`granted`, `denied`, `queued`).
    pub kinds: BTreeMap<String, usize>,
    pub late_sends: usize,
    pub rate: f64,
}

/// The load: viewers with their streams open, two replicas, one video, a rate.
pub struct Load<'a> {
    pub http: &'a reqwest::Client,
    pub bases: &'a [String; 2],
    pub viewers: &'a [Viewer],
    pub streams: Vec<Stream>,
    /// The replica holding each viewer's stream.
    pub home: Vec<usize>,
    pub media: Uuid,
    pub rate: f64,
}

/// The POST's cost without its decision, at the same rate: no token (401: HTTP alone), and an
/// unknown video (404: the token (checked over gRPC once, then remembered) and the video read
/// from PostgreSQL, no Redis).
pub struct Layers {
    pub unauthenticated: Percentiles,
    pub unknown: Percentiles,
}

impl Load<'_> {
    /// `count` requests at the load's rate. Request `i` is account `a = i % n`'s (round
    /// `r = i / n`), sent to replica `(a + a / 2 + r) % 2` while `a`'s stream is on replica
    /// `a % 2`: the stream is on the deciding replica for two requests, then on the other for
    /// two, so a stall of the shared machine lands on both kinds alike, and each account asks
    /// both replicas in turn.
    pub async fn decisions(&mut self, count: usize) -> anyhow::Result<Decisions> {
        for stream in &mut self.streams {
            stream.drain();
        }
        let shared = Arc::new((self.http.clone(), self.bases.clone(), self.viewers.to_vec()));
        let (n, media) = (self.viewers.len(), self.media);
        let sent = paced(self.rate, count, move |i, scheduled| {
            let shared = shared.clone();
            async move {
                let (http, bases, viewers) = &*shared;
                let (account, round) = (i % n, i / n);
                let replica = (account + account / 2 + round) % 2;
                let viewer = &viewers[account];
                let answer = http
                    .post(format!("{}/api/playback", bases[replica]))
                    .bearer_auth(&viewer.token)
                    .header("x-forwarded-for", &viewer.client)
                    .json(&serde_json::json!({"media_id": media, "device": "Bench", "wait": false}))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                let (status, request_id) = match answer {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body: serde_json::Value = response.json().await.unwrap_or_default();
                        (Some(status), body["request_id"].as_str().map(str::to_owned))
                    }
                    Err(_) => (None, None),
                };
                Sent {
                    account,
                    replica,
                    scheduled,
                    answered: scheduled.elapsed(),
                    status,
                    request_id,
                }
            }
        })
        .await?;
        let arrived = self.arrivals(&sent.results).await;
        let mut post = Vec::with_capacity(count);
        let (mut all, mut same, mut other) = (Vec::new(), Vec::new(), Vec::new());
        let (mut limited, mut failed, mut lost) = (0, 0, 0);
        let mut kinds = BTreeMap::new();
        for s in &sent.results {
            post.push((s.status == Some(202)).then_some(s.answered));
            match (s.status, &s.request_id) {
                (Some(429), _) => {
                    limited += 1;
                    continue;
                }
                (Some(202), Some(_)) => {}
                _ => failed += 1,
            }
            let decision = s.request_id.as_ref().and_then(|id| arrived.get(id));
            if let Some((kind, _)) = decision {
                *kinds.entry(kind.clone()).or_insert(0) += 1;
            } else if s.status == Some(202) {
                lost += 1;
            }
            let latency = decision.map(|(_, at)| at.saturating_duration_since(s.scheduled));
            all.push(latency);
            if s.replica == self.home[s.account] {
                same.push(latency);
            } else {
                other.push(latency);
            }
        }
        Ok(Decisions {
            post: Percentiles::of_times(post),
            all: Percentiles::of_times(all),
            same: Percentiles::of_times(same),
            other: Percentiles::of_times(other),
            sent: sent.results.len(),
            limited,
            failed,
            lost,
            kinds,
            late_sends: sent.late,
            rate: sent.rate,
        })
    }

    /// The decision events of the requests `sent` by request id, as they arrived: until all
    /// came, or [`DRAIN`] after the last answer.
    async fn arrivals(&mut self, sent: &[Sent]) -> HashMap<String, (String, Instant)> {
        let expected = sent
            .iter()
            .filter(|s| s.status == Some(202) && s.request_id.is_some())
            .count();
        let mut arrived = HashMap::with_capacity(expected);
        let deadline = Instant::now() + DRAIN;
        loop {
            for stream in &mut self.streams {
                for event in stream.drain() {
                    if matches!(event.name.as_str(), "granted" | "denied" | "queued") {
                        arrived.entry(event.id).or_insert((event.name, event.at));
                    }
                }
            }
            if arrived.len() >= expected || Instant::now() > deadline {
                return arrived;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `count` POSTs of each layer below a decision, at the load's rate.
    pub async fn layers(&self, count: usize) -> anyhow::Result<Layers> {
        let (http, bases, viewers, rate) = (self.http, self.bases, self.viewers, self.rate);
        Ok(Layers {
            unauthenticated: layer(http, bases, viewers, rate, count, false).await?,
            unknown: layer(http, bases, viewers, rate, count, true).await?,
        })
    }
}

/// `count` POSTs for an unknown video at `rate`, with the viewers' tokens or none; only the
/// expected refusal (404 or 401) counts as answered.
async fn layer(
    http: &reqwest::Client,
    bases: &[String; 2],
    viewers: &[Viewer],
    rate: f64,
    count: usize,
    signed_in: bool,
) -> anyhow::Result<Percentiles> {
    let shared = Arc::new((http.clone(), bases.clone(), viewers.to_vec()));
    let n = viewers.len();
    let unknown = Uuid::new_v4();
    let expected = if signed_in { 404 } else { 401 };
    let timed = paced(rate, count, move |i, scheduled| {
        let shared = shared.clone();
        async move {
            let (http, bases, viewers) = &*shared;
            let viewer = &viewers[i % n];
            let mut request = http
                .post(format!("{}/api/playback", bases[(i + i / n) % 2]))
                .header("x-forwarded-for", &viewer.client)
                .json(&serde_json::json!({"media_id": unknown, "wait": false}))
                .timeout(Duration::from_secs(10));
            if signed_in {
                request = request.bearer_auth(&viewer.token);
            }
            let answer = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    response.bytes().await.ok().map(|_| status)
                }
                Err(_) => None,
            };
            (answer == Some(expected)).then(|| scheduled.elapsed())
        }
    })
    .await?;
    Ok(Percentiles::of_times(timed.results))
}
