//! The rooms REST handlers (docs/api.md): listing, one room, viewer heartbeats, reading and
//! setting one's own title, and the gateway's internal lookup of a room's HLS origin.

use std::net::SocketAddr;

use axum::{
    extract::{rejection::JsonRejection, ConnectInfo, Path, Query, State},
    http::HeaderMap,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{error::ApiError, request_id, AppState};
use crate::{domain::RoomView, service::RoomsError};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// 1-100, default 24.
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoomList {
    rooms: Vec<RoomView>,
    next_cursor: Option<String>,
}

/// A heartbeat: `{}` the first time, then the `viewer_token` of the previous answer. The
/// `viewer_id` older pages send is ignored (a client-chosen id is never counted).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct Heartbeat {
    /// The token of the previous answer; absent, invalid, expired or another room's: a fresh
    /// one is issued.
    viewer_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Viewers {
    viewers: u64,
    /// Send it with the next heartbeat (it may differ from the one sent: renewed or new).
    viewer_token: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TitleBody {
    title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InternalRoom {
    username: String,
    session_id: String,
    origin: String,
}

fn invalid_body(rejection: JsonRejection) -> ApiError {
    ApiError(RoomsError::Validation {
        field: "body",
        message: rejection.body_text(),
    })
}

/// Live rooms, newest first.
#[utoipa::path(get, path = "/api/rooms", params(ListQuery),
    responses((status = 200, body = RoomList), (status = 422, description = "bad limit or cursor")))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<RoomList>, ApiError> {
    let limit = query
        .limit
        .map(|raw| raw.parse::<usize>())
        .transpose()
        .map_err(|_| RoomsError::Validation {
            field: "limit",
            message: "limit must be a number".into(),
        })?;
    let (rooms, next_cursor) = state.rooms.list(limit, query.cursor.as_deref()).await?;
    Ok(Json(RoomList { rooms, next_cursor }))
}

/// One live room.
#[utoipa::path(get, path = "/api/rooms/{username}",
    responses((status = 200, body = RoomView), (status = 404, description = "offline")))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Json<RoomView>, ApiError> {
    let room = state.rooms.live_room(&username).await?;
    Ok(Json(RoomView::from(&room)))
}

/// A viewer's heartbeat; answers the number of distinct viewers seen recently and the viewer
/// token to send next time. Each client address counts a few viewers per room at most.
#[utoipa::path(post, path = "/api/rooms/{username}/viewers", request_body = Heartbeat,
    responses((status = 200, body = Viewers), (status = 404, description = "offline"),
        (status = 422, description = "body is not a JSON object")))]
pub async fn heartbeat(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(username): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Heartbeat>, JsonRejection>,
) -> Result<Json<Viewers>, ApiError> {
    let Json(body) = body.map_err(invalid_body)?;
    // Behind the gateway the peer is the gateway; the client is what it appended.
    let client = state.trusted_proxies.client(peer.ip(), &headers);
    let presence = state
        .rooms
        .heartbeat(&username, body.viewer_token.as_deref(), client)
        .await?;
    Ok(Json(Viewers {
        viewers: presence.viewers,
        viewer_token: presence.viewer_token,
    }))
}

/// The signed-in user's stored title, also while offline; `""` before one is set.
#[utoipa::path(get, path = "/api/rooms/me/title",
    responses((status = 200, body = TitleBody), (status = 401, description = "not signed in")))]
pub async fn get_title(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<TitleBody>, ApiError> {
    let token = ferrocast_kit::http::caller_token(&headers);
    let title = state
        .rooms
        .own_title(token.as_deref(), request_id(&headers))
        .await?;
    // An unset title answers "" (the value a room without a title shows), so the dashboard
    // needs no special case for a user who never set one.
    Ok(Json(TitleBody {
        title: title.map(|t| t.as_str().to_owned()).unwrap_or_default(),
    }))
}

/// Sets the signed-in user's title, for the current and later streams.
#[utoipa::path(put, path = "/api/rooms/me/title", request_body = TitleBody,
    responses((status = 200, body = TitleBody), (status = 401, description = "not signed in"),
        (status = 422, description = "1-140 characters")))]
pub async fn set_title(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<TitleBody>, JsonRejection>,
) -> Result<Json<TitleBody>, ApiError> {
    let token = ferrocast_kit::http::caller_token(&headers);
    // Authentication before body validation: strangers learn nothing about the rules.
    let title = match body {
        Ok(Json(body)) => body.title,
        Err(rejection) if token.is_some() => return Err(invalid_body(rejection)),
        Err(_) => return Err(ApiError(RoomsError::Unauthorized)),
    };
    let title = state
        .rooms
        .set_title(token.as_deref(), &title, request_id(&headers))
        .await?;
    Ok(Json(TitleBody {
        title: title.as_str().to_owned(),
    }))
}

/// For the gateway: where the HLS of a live room is served from. Not proxied to browsers.
#[utoipa::path(get, path = "/internal/rooms/{username}",
    responses((status = 200, body = InternalRoom), (status = 404, description = "offline")))]
pub async fn internal(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Json<InternalRoom>, ApiError> {
    let room = state.rooms.live_room(&username).await?;
    Ok(Json(InternalRoom {
        username: room.username.to_string(),
        session_id: room.session_id,
        origin: room.origin,
    }))
}
