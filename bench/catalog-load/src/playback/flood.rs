//! One account flooding `POST /api/playback` far past its rate, spread over two replicas,
//! while other accounts ask at an ordinary pace: the flood is refused (429) but for the few the
//! rate allows, and the others' decisions go on arriving.

use std::{sync::Arc, time::Duration};

use uuid::Uuid;

use super::setup::Viewer;
use crate::pacer::paced;

/// What became of the flood's requests.
pub struct Flood {
    pub sent: usize,
    /// Requests per second actually started.
    pub rate: f64,
    /// Started more than 5 ms after their time (the client could not keep up).
    pub late: usize,
    /// 202: let through to a decision.
    pub accepted: usize,
    /// 429.
    pub limited: usize,
    /// Any other answer, or none.
    pub failed: usize,
}

/// `count` requests from `viewer` at `rate`, alternating between `bases`.
pub async fn flood(
    http: &reqwest::Client,
    bases: &[String; 2],
    viewer: &Viewer,
    media: Uuid,
    rate: f64,
    count: usize,
) -> anyhow::Result<Flood> {
    let shared = Arc::new((http.clone(), bases.clone(), viewer.clone()));
    let sent = paced(rate, count, move |i, _| {
        let shared = shared.clone();
        async move {
            let (http, bases, viewer) = &*shared;
            let answer = http
                .post(format!("{}/api/playback", bases[i % 2]))
                .bearer_auth(&viewer.token)
                .header("x-forwarded-for", &viewer.client)
                .json(&serde_json::json!({"media_id": media, "device": "Flood", "wait": false}))
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            match answer {
                Ok(response) => {
                    let status = response.status().as_u16();
                    response.bytes().await.ok().map(|_| status)
                }
                Err(_) => None,
            }
        }
    })
    .await?;
    let count_of = |status: u16| sent.results.iter().filter(|s| **s == Some(status)).count();
    let (accepted, limited) = (count_of(202), count_of(429));
    Ok(Flood {
        sent: sent.results.len(),
        rate: sent.rate,
        late: sent.late,
        accepted,
        limited,
        failed: sent.results.len() - accepted - limited,
    })
}
