//! `GET /api/media/progress?ids=…`: the processing of up to 50 items as Server-Sent Events, so
//! the library and My media show it live instead of asking item by item.
//!
//! Who may see which item is decided once, when the stream opens (the same rule as
//! `GET /api/media/{id}`); items the caller may not see are left out without a word, not even a
//! first event. Each followed item gets a first event with its record now (a reconnecting page
//! resynchronises from it), then one per change, whichever replica stored the change
//! (`adapters::progress`). A stream that falls too far behind is ended; its client reconnects.
//! Streams are capped per replica and per client address, hold no request timeout once their
//! head is sent (the kit's timeout layer covers the head only), and end at shutdown.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{rejection::QueryRejection, ConnectInfo, Query, State},
    http::{HeaderMap, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Extension,
};
use ferrocast_kit::{admission::Permit, client::TrustedProxies};
use futures::{stream, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, ToSchema};

use super::{
    error::ApiError,
    media::request_id,
    streams::{refusal, Slots},
    views::ProcessingView,
    AppState,
};
use crate::{
    adapters::progress::{ProgressHub, ProgressUpdate},
    domain::{
        processing::Processing,
        progress::{self, Watched},
        MediaId,
    },
};

/// Streams one replica holds at once.
pub const MAX_STREAMS: usize = 2048;
/// Streams one client address (IPv4, or IPv6 /64) holds at once on one replica: a few tabs.
pub const MAX_STREAMS_PER_ADDRESS: usize = 8;
/// A comment this often keeps proxies from closing a quiet stream.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// What the progress streams of one replica share.
#[derive(Clone)]
pub struct Streams {
    hub: ProgressHub,
    slots: Slots,
}

impl Streams {
    /// Streams fed by `hub`, their clients named behind `trusted_proxies`, ended at `shutdown`.
    pub fn new(
        hub: ProgressHub,
        trusted_proxies: TrustedProxies,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            hub,
            slots: Slots::new(
                "progress",
                MAX_STREAMS,
                MAX_STREAMS_PER_ADDRESS,
                trusted_proxies,
                shutdown,
            ),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ProgressParams {
    /// Comma-separated media ids, 1-50.
    pub ids: Option<String>,
}

/// One event of the stream (`event: processing`): an item and its processing as
/// `GET /api/media/{id}` gives it (`null` until its upload is finalized, and for images).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressEvent {
    pub id: String,
    pub processing: Option<ProcessingView>,
}

/// Follows the processing of the listed items: Server-Sent Events named `processing`, each a
/// `ProgressEvent`; a first one per item the caller may see, then one per change.
#[utoipa::path(get, path = "/api/media/progress", params(ProgressParams),
    responses(
        (status = 200, content_type = "text/event-stream", body = ProgressEvent,
            description = "a stream of `processing` events, with a comment every 15 s"),
        (status = 400, description = "no ids, more than 50, or one that is not a media id"),
        (status = 401, description = "a token came and it is not valid"),
        (status = 429, description = "this client address holds as many streams as it may"),
        (status = 503, description = "this replica holds as many streams as it may")))]
pub async fn stream(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    params: Result<Query<ProgressParams>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let ids = match params {
        Ok(Query(params)) => progress::parse_ids(params.ids.as_deref()),
        Err(_) => progress::parse_ids(None),
    };
    let ids = match ids {
        Ok(ids) => ids,
        Err(error) => return refusal(StatusCode::BAD_REQUEST, "bad_request", &error.to_string()),
    };
    let streams = &state.progress;
    let permit = match streams.slots.admit(peer, &headers) {
        Ok(permit) => permit,
        Err(refused) => return refused.into_response(),
    };
    // Subscribed before the records are read, so no change between the two is missed (one
    // that the read already saw is dropped as not newer).
    let updates = streams.hub.subscribe();
    let token = ferrocast_kit::http::caller_token(&headers);
    let visible = match state
        .catalog
        .watch(token.as_deref(), request_id(&headers), &ids)
        .await
    {
        Ok(visible) => visible,
        Err(error) => return ApiError(error).into_response(),
    };
    let mut watched = Watched::default();
    let first: Vec<_> = visible
        .into_iter()
        .filter_map(|(id, record)| {
            let event = event(id, record.as_ref());
            watched.follow(id, record);
            event.map(Ok)
        })
        .collect();
    // A first comment gets the head and a byte out at once, even with nothing to follow.
    let hello = stream::once(async { Ok(Event::default().comment("subscribed")) });
    let events = hello
        .chain(stream::iter(first))
        .chain(changes(updates, watched, permit))
        .take_until(streams.slots.shutdown().cancelled_owned());
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT))
        .into_response()
}

/// The `processing` event of `id` at `record`.
fn event(id: MediaId, record: Option<&Processing>) -> Option<Event> {
    let view = ProgressEvent {
        id: id.to_string(),
        processing: record.map(|p| ProcessingView::new(id, p.clone())),
    };
    let data = serde_json::to_string(&view).ok()?;
    Some(Event::default().event("processing").data(data))
}

/// The changes of the followed items that move them forward, until the stream falls behind
/// (its client then reconnects and starts from the records again) or the replica stops. The
/// stream's slot is held as long as it runs.
fn changes(
    updates: broadcast::Receiver<Arc<ProgressUpdate>>,
    watched: Watched,
    permit: Permit,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(
        (updates, watched, permit),
        |(mut updates, mut watched, permit)| async move {
            loop {
                match updates.recv().await {
                    Ok(update) => {
                        if !watched.admit(update.id, &update.processing) {
                            continue;
                        }
                        if let Some(event) = event(update.id, Some(&update.processing)) {
                            return Some((Ok(event), (updates, watched, permit)));
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        metrics::counter!("catalog_progress_streams_lagged_total").increment(1);
                        return None;
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;
    use crate::domain::processing::JobState;

    fn update(id: MediaId, processing: &Processing) -> Arc<ProgressUpdate> {
        Arc::new(ProgressUpdate {
            id,
            processing: processing.clone(),
        })
    }

    fn permit() -> Permit {
        ferrocast_kit::admission::Admission::new(1, 1)
            .admit(std::net::IpAddr::from([127, 0, 0, 1]))
            .expect("a slot")
    }

    #[tokio::test]
    async fn only_followed_items_moving_forward_are_sent() {
        let (sender, receiver) = broadcast::channel(8);
        let followed = MediaId(Uuid::new_v4());
        let other = MediaId(Uuid::new_v4());
        let pending = Processing::new(Uuid::new_v4(), Utc::now());
        let mut watched = Watched::default();
        watched.follow(followed, Some(pending.clone()));
        let mut events = Box::pin(changes(receiver, watched, permit()));
        let started = Processing {
            state: JobState::InProgress,
            percent: 10,
            ..pending.clone()
        };
        for (id, record) in [
            (other, &started),
            (followed, &pending),
            (followed, &started),
        ] {
            sender.send(update(id, record)).expect("a receiver");
        }
        drop(sender);
        let mut sent = 0;
        while let Some(event) = events.next().await {
            assert!(event.is_ok());
            sent += 1;
        }
        assert_eq!(sent, 1, "only the followed item's step forward");
    }

    #[tokio::test]
    async fn a_stream_that_fell_behind_ends_so_its_client_resynchronises() {
        let (sender, receiver) = broadcast::channel(2);
        let id = MediaId(Uuid::new_v4());
        let mut watched = Watched::default();
        watched.follow(id, None);
        let mut events = Box::pin(changes(receiver, watched, permit()));
        let job = Uuid::new_v4();
        for percent in 1..=5 {
            let record = Processing {
                state: JobState::InProgress,
                percent,
                ..Processing::new(job, Utc::now())
            };
            sender.send(update(id, &record)).expect("a receiver");
        }
        assert!(events.next().await.is_none(), "ended at the gap");
    }

    #[test]
    fn an_event_is_the_items_id_and_its_view_with_urls() {
        let id = MediaId(Uuid::new_v4());
        let job = Uuid::new_v4();
        let playable = Processing {
            state: JobState::InProgress,
            percent: 40,
            master: Some(format!("media/{}/vod/{job}/master.m3u8", id.0)),
            renditions: vec!["360p".into()],
            ..Processing::new(job, Utc::now())
        };
        let view = ProgressEvent {
            id: id.to_string(),
            processing: Some(ProcessingView::new(id, playable)),
        };
        let json = serde_json::to_value(&view).expect("json");
        assert_eq!(json["id"], id.to_string());
        assert_eq!(json["processing"]["status"], "IN PROGRESS");
        assert_eq!(json["processing"]["percent"], 40);
        assert_eq!(
            json["processing"]["hls_url"],
            format!("/api/media/{id}/vod/{job}/master.m3u8")
        );
        assert!(event(id, None).is_some(), "no record yet is an event too");
    }
}
