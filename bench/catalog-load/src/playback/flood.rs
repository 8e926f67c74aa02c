//! One account flooding `POST /api/playback` far past its rate, spread over two replicas, from
//! an address of its own (127.0.0.2, not a trusted proxy, so the listener's per-address
//! connection cap applies to it), while other accounts ask at an ordinary pace: the flood is
//! refused (429, or its connections past the cap) but for the few the rate allows, and the
//! others' decisions go on arriving.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
    time::{Duration, Instant},
};

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
    /// Any other answer by status, and requests without one (`none`: the connection was
    /// refused or timed out).
    pub other: BTreeMap<String, usize>,
    /// From the first request sent to the last 202 answered: the seconds the accepted ones
    /// spread over (a backlog stretches them past the flood's own length).
    pub accepted_span: Duration,
}

/// Connections the catalogue lets one address hold (`FERROCAST_HTTP_MAX_CONNECTIONS_PER_ADDRESS`'s
/// default).
const PER_ADDRESS_CONNECTIONS: usize = 64;

/// Where the flood comes from.
pub const FLOOD_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A client for the flood: its own address, a pool as large as the listener lets one address
/// hold.
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .local_address(FLOOD_ADDRESS)
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(PER_ADDRESS_CONNECTIONS)
        .build()?)
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
    let started = Instant::now();
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
            let status = match answer {
                Ok(response) => {
                    let status = response.status().as_u16();
                    response.bytes().await.ok().map(|_| status)
                }
                Err(_) => None,
            };
            (status, Instant::now())
        }
    })
    .await?;
    let (mut accepted, mut limited) = (0, 0);
    let mut other = BTreeMap::new();
    let mut last_accepted = started;
    for (status, at) in &sent.results {
        match status {
            Some(202) => {
                accepted += 1;
                last_accepted = last_accepted.max(*at);
            }
            Some(429) => limited += 1,
            Some(status) => *other.entry(status.to_string()).or_insert(0) += 1,
            None => *other.entry("none".to_owned()).or_insert(0) += 1,
        }
    }
    Ok(Flood {
        sent: sent.results.len(),
        rate: sent.rate,
        late: sent.late,
        accepted,
        limited,
        other,
        accepted_span: last_accepted - started,
    })
}
