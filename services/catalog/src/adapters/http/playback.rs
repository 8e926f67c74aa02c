//! Playback sessions over HTTP (docs/api.md, "playback sessions"): ask, keep alive, end, list,
//! and the account's event stream that every decision is pushed to, whichever replica made it.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{rejection::JsonRejection, ConnectInfo, Path, State},
    http::{HeaderMap, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Extension, Json,
};
use ferrocast_kit::{
    admission::Permit,
    client::TrustedProxies,
    fanout::{Fanout, Subscription},
};
use futures::{stream, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    error::ApiError,
    media::{body, caller},
    streams::Slots,
    AppState,
};
use crate::{
    domain::{
        playback::{ActiveSession, PlaybackEvent, QueuedRequest},
        MediaId,
    },
    service::{AccountSessions, Catalog, CatalogError},
};

/// Event streams one replica holds at once.
pub const MAX_STREAMS: usize = 2048;
/// Event streams one client address holds at once on one replica: a few tabs.
pub const MAX_STREAMS_PER_ADDRESS: usize = 8;
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Events of one account a replica holds for its streams that have not read them yet; a stream
/// further behind ends, and its page reconnects (and starts from a snapshot).
pub const EVENTS_CAPACITY: usize = 64;

/// Each account's events, to that account's streams only.
pub type AccountEvents = Fanout<String, PlaybackEvent>;

/// What the playback event streams of one replica share.
#[derive(Clone)]
pub struct Events {
    accounts: AccountEvents,
    slots: Slots,
}

impl Events {
    pub fn new(
        accounts: AccountEvents,
        trusted_proxies: TrustedProxies,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            accounts,
            slots: Slots::new(
                "playback",
                MAX_STREAMS,
                MAX_STREAMS_PER_ADDRESS,
                trusted_proxies,
                shutdown,
            ),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybackAsk {
    #[schema(value_type = String)]
    pub media_id: String,
    /// What the viewer calls this device ("Firefox on Linux"); up to 60 characters kept.
    pub device: Option<String>,
    /// Wait in line when the account has no free slot (else the answer is `denied`).
    #[serde(default)]
    pub wait: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaybackAsked {
    #[schema(value_type = String)]
    pub request_id: Uuid,
}

/// A live session with its token (only ever shown to its own account).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: ActiveSession,
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
    pub queued: Vec<QueuedRequest>,
}

impl From<AccountSessions> for SessionList {
    fn from(account: AccountSessions) -> Self {
        Self {
            sessions: account
                .sessions
                .into_iter()
                .map(|(session, token)| SessionView { session, token })
                .collect(),
            queued: account.queued,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Heartbeat {
    pub expires_at_ms: u64,
}

fn session_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError(CatalogError::NotFound))
}

/// Asks to play a video. The decision is pushed to the account's event streams.
#[utoipa::path(post, path = "/api/playback", request_body = PlaybackAsk,
    responses((status = 202, body = PlaybackAsked), (status = 401, description = "not signed in"),
        (status = 404, description = "no such video to play for this account"),
        (status = 422, description = "malformed"), (status = 429, description = "too many requests from this account")))]
pub async fn ask(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Json<PlaybackAsk>, JsonRejection>,
) -> Result<(StatusCode, Json<PlaybackAsked>), ApiError> {
    let caller = caller(&state, &headers).await?;
    let request = body(request)?;
    let media = MediaId::parse(&request.media_id).ok_or(CatalogError::NotFound)?;
    let request_id = state
        .catalog
        .request_playback(&caller, media, request.device.as_deref(), request.wait)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(PlaybackAsked { request_id })))
}

/// The account's live sessions (with their tokens) and waiting requests.
#[utoipa::path(get, path = "/api/playback",
    responses((status = 200, body = SessionList), (status = 401, description = "not signed in")))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SessionList>, ApiError> {
    let caller = caller(&state, &headers).await?;
    Ok(Json(state.catalog.account_sessions(&caller).await?.into()))
}

/// Keeps a session alive for another lease.
#[utoipa::path(post, path = "/api/playback/{id}/heartbeat",
    responses((status = 200, body = Heartbeat), (status = 410, description = "the session has ended: stop playing")))]
pub async fn heartbeat(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Heartbeat>, ApiError> {
    let caller = caller(&state, &headers).await?;
    let session = session_id(&id).map_err(|_| ApiError(CatalogError::SessionEnded))?;
    let expires_at_ms = state.catalog.heartbeat(&caller, session).await?;
    Ok(Json(Heartbeat { expires_at_ms }))
}

/// Ends one of the account's sessions (on any of its devices) or withdraws a waiting request.
#[utoipa::path(delete, path = "/api/playback/{id}",
    responses((status = 204), (status = 404, description = "no such session or request of this account")))]
pub async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    end_as(&state, &id, &headers, false).await
}

/// Its own player stopping a session (`navigator.sendBeacon` on page close posts here).
#[utoipa::path(post, path = "/api/playback/{id}/stop",
    responses((status = 204), (status = 404, description = "no such session or request of this account")))]
pub async fn stop(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    end_as(&state, &id, &headers, true).await
}

async fn end_as(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    own: bool,
) -> Result<StatusCode, ApiError> {
    let caller = caller(state, headers).await?;
    state
        .catalog
        .end_session(&caller, session_id(id)?, own)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account's playback events: `snapshot` first, then `granted`, `denied`,
/// `queued`, `ended` as they happen on any replica.
#[utoipa::path(get, path = "/api/playback/events",
    responses((status = 200, content_type = "text/event-stream", description = "the account's events"),
        (status = 401, description = "not signed in"),
        (status = 429, description = "this client address holds as many streams as it may"),
        (status = 503, description = "this replica holds as many streams as it may")))]
pub async fn events(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&state, &headers).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let streams = &state.playback;
    let permit = match streams.slots.admit(peer, &headers) {
        Ok(permit) => permit,
        Err(refused) => return refused.into_response(),
    };
    // Subscribed before the snapshot is read, so nothing between the two is missed.
    let updates = streams.accounts.subscribe(caller.user_id.clone());
    let snapshot = match state.catalog.account_sessions(&caller).await {
        Ok(sessions) => SessionList::from(sessions),
        Err(error) => return ApiError(error).into_response(),
    };
    let first = Event::default()
        .event("snapshot")
        .json_data(&snapshot)
        .unwrap_or_else(|_| Event::default().comment("snapshot"));
    let events = stream::once(async move { Ok(first) })
        .chain(account_events(
            updates,
            state.catalog.clone(),
            caller.user_id,
            permit,
        ))
        .take_until(streams.slots.shutdown().cancelled_owned());
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT))
        .into_response()
}

/// `user`'s events as SSE, a granted session with its token; ends when the stream falls
/// behind (its page reconnects and reads a snapshot) or the replica stops.
fn account_events(
    updates: Subscription<String, PlaybackEvent>,
    catalog: Arc<Catalog>,
    user: String,
    permit: Permit,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(
        (updates, catalog, user, permit),
        |(mut updates, catalog, user, permit)| async move {
            match updates.recv().await {
                Ok(update) => {
                    let event = to_event(&catalog, &user, update);
                    Some((Ok(event), (updates, catalog, user, permit)))
                }
                Err(RecvError::Lagged(_) | RecvError::Closed) => None,
            }
        },
    )
}

fn to_event(catalog: &Catalog, user: &str, event: PlaybackEvent) -> Event {
    let name = match &event {
        PlaybackEvent::Granted { .. } => "granted",
        PlaybackEvent::Denied { .. } => "denied",
        PlaybackEvent::Queued { .. } => "queued",
        PlaybackEvent::Ended { .. } => "ended",
    };
    let mut data = serde_json::to_value(&event).unwrap_or_default();
    if let PlaybackEvent::Granted {
        request_id,
        media_id,
        ..
    } = event
    {
        if let Some(token) = catalog.session_token(request_id, user, media_id) {
            data["token"] = token.into();
        }
    }
    if let Some(object) = data.as_object_mut() {
        object.remove("kind");
    }
    Event::default().event(name).data(data.to_string())
}
