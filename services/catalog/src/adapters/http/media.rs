//! The catalogue's REST handlers (docs/api.md). Writes authenticate before they look at the
//! body, so strangers learn nothing about the rules; reads take a token when one comes along.

use axum::{
    body::Body,
    extract::{rejection::JsonRejection, Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use ferrocast_kit::jobs;
use uuid::Uuid;

use super::{
    error::{invalid_body, ApiError},
    views::{
        CreateMedia, CreatedMedia, MediaPage, MediaView, PartDigest, PartUrls, PartsRequest,
        SearchParams, SignedRequest, TagList, TagParams, UpdateMedia,
    },
    AppState,
};
use crate::{
    domain::{tags, Description, MediaId, Title},
    ports::{Caller, MediaChanges},
    service::{CatalogError, NewMedia, SearchRequest},
};

pub(super) fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(ferrocast_kit::http::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
}

pub(super) async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = ferrocast_kit::http::caller_token(headers);
    Ok(state
        .catalog
        .caller(token.as_deref(), request_id(headers))
        .await?)
}

pub(super) fn media_id(raw: &str) -> Result<MediaId, ApiError> {
    MediaId::parse(raw).ok_or(ApiError(CatalogError::NotFound))
}

/// The body after authentication: a malformed body is 422 only for a signed-in caller.
pub(super) fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(value)| value).map_err(invalid_body)
}

/// Creates a media item and its upload: one presigned PUT that storage accepts only with the
/// declared length and SHA-256, or a multipart upload above the threshold.
#[utoipa::path(post, path = "/api/media", request_body = CreateMedia,
    responses((status = 201, body = CreatedMedia), (status = 401, description = "not signed in"),
        (status = 413, description = "too large, or over the storage quota"),
        (status = 415, description = "not an accepted video or image type"),
        (status = 422, description = "invalid field")))]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Json<CreateMedia>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedMedia>), ApiError> {
    let caller = caller(&state, &headers).await?;
    let request = body(request)?;
    let (item, upload) = state
        .catalog
        .create(
            &caller,
            NewMedia {
                kind: request.kind,
                title: request.title,
                description: request.description,
                tags: request.tags,
                visibility: request.visibility,
                size: request.size,
                sha256: request.sha256,
                content_type: request.content_type,
                encrypt: request.encrypt,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedMedia {
            media: item.into(),
            upload: upload.into(),
        }),
    ))
}

/// Presigned URLs for parts of a multipart upload, each bound to its length and SHA-256.
#[utoipa::path(post, path = "/api/media/{id}/parts", request_body = PartsRequest,
    responses((status = 200, body = PartUrls), (status = 409, description = "not a multipart upload, or finalized")))]
pub async fn parts(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Result<Json<PartsRequest>, JsonRejection>,
) -> Result<Json<PartUrls>, ApiError> {
    let caller = caller(&state, &headers).await?;
    let request = body(request)?;
    let wanted = PartDigest::pairs(request.parts);
    let urls = state
        .catalog
        .part_urls(&caller, media_id(&id)?, &wanted)
        .await?;
    Ok(Json(urls.into()))
}

/// Checks the uploaded bytes (size, SHA-256, what the first bytes are) and marks the item
/// uploaded. Idempotent.
#[utoipa::path(post, path = "/api/media/{id}/finalize",
    responses((status = 200, body = MediaView), (status = 409, description = "nothing uploaded yet"),
        (status = 422, description = "the bytes are not what was declared; the upload was removed")))]
pub async fn finalize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<MediaView>, ApiError> {
    let caller = caller(&state, &headers).await?;
    let item = state.catalog.finalize(&caller, media_id(&id)?).await?;
    Ok(Json(item.into()))
}

#[utoipa::path(get, path = "/api/media/{id}",
    responses((status = 200, body = MediaView), (status = 404, description = "no such media, or private")))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<MediaView>, ApiError> {
    let token = ferrocast_kit::http::caller_token(&headers);
    let item = state
        .catalog
        .get(token.as_deref(), request_id(&headers), media_id(&id)?)
        .await?;
    Ok(Json(item.into()))
}

/// Changes title, description, tags or visibility (owner only).
#[utoipa::path(patch, path = "/api/media/{id}", request_body = UpdateMedia,
    responses((status = 200, body = MediaView), (status = 403, description = "someone else's"),
        (status = 422, description = "invalid field")))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    request: Result<Json<UpdateMedia>, JsonRejection>,
) -> Result<Json<MediaView>, ApiError> {
    let caller = caller(&state, &headers).await?;
    let request = body(request)?;
    let changes = MediaChanges {
        title: request
            .title
            .as_deref()
            .map(Title::parse)
            .transpose()
            .map_err(|message| CatalogError::Validation {
                field: "title",
                message,
            })?,
        description: request
            .description
            .as_deref()
            .map(Description::parse)
            .transpose()
            .map_err(|message| CatalogError::Validation {
                field: "description",
                message,
            })?,
        tags: request
            .tags
            .as_deref()
            .map(tags::parse_list)
            .transpose()
            .map_err(|message| CatalogError::Validation {
                field: "tags",
                message,
            })?,
        visibility: request.visibility,
    };
    let item = state
        .catalog
        .update(&caller, media_id(&id)?, changes)
        .await?;
    Ok(Json(item.into()))
}

/// Deletes the item and every stored object of it (owner only).
#[utoipa::path(delete, path = "/api/media/{id}",
    responses((status = 204, description = "deleted"), (status = 403, description = "someone else's")))]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let caller = caller(&state, &headers).await?;
    state.catalog.delete(&caller, media_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A short-lived download of the uploaded original (owner only).
#[utoipa::path(get, path = "/api/media/{id}/original",
    responses((status = 200, body = SignedRequest), (status = 403, description = "someone else's"),
        (status = 409, description = "nothing uploaded yet")))]
pub async fn original(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SignedRequest>, ApiError> {
    let caller = caller(&state, &headers).await?;
    let request = state.catalog.original(&caller, media_id(&id)?).await?;
    Ok(Json(request.into()))
}

/// A file of a video's processed output: the HLS master and media playlists, the DASH
/// manifest, segments, poster, thumbnails. Public and unlisted videos are cacheable by a CDN
/// (segments for a year: a job's files never change under their name); private ones only by
/// their owner's browser.
#[utoipa::path(get, path = "/api/media/{id}/vod/{job}/{file}",
    responses((status = 200, description = "the file, typed by its name"),
        (status = 404, description = "no such item, job or file, or not yours to see")))]
pub async fn vod_file(
    State(state): State<AppState>,
    Path((id, job, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let job = Uuid::parse_str(&job).map_err(|_| CatalogError::NotFound)?;
    let token = ferrocast_kit::http::caller_token(&headers);
    let session = super::playback_token(&headers);
    let (object, private) = state
        .catalog
        .stream(
            token.as_deref(),
            request_id(&headers),
            media_id(&id)?,
            job,
            &file,
            session,
        )
        .await?;
    let kind = jobs::file_kind(&file).ok_or(CatalogError::NotFound)?;
    let cache_control = if private {
        "private, max-age=60".to_owned()
    } else {
        kind.cache_control.to_owned()
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, kind.content_type.to_owned()),
            (header::CACHE_CONTROL, cache_control),
            (header::CONTENT_LENGTH, object.length.to_string()),
        ],
        Body::from_stream(object.body),
    )
        .into_response();
    if private {
        // A browser must not answer a request without the session's token from what it cached
        // for a request with one.
        response.headers_mut().insert(
            header::VARY,
            header::HeaderValue::from_static(super::PLAYBACK_TOKEN),
        );
    }
    Ok(response)
}

/// Search (ranked, with `q`) or the newest items (without), filtered by tags and owner.
#[utoipa::path(get, path = "/api/media", params(SearchParams),
    responses((status = 200, body = MediaPage), (status = 422, description = "bad query, tags or cursor"),
        (status = 503, description = "too many searches at once; retry after the Retry-After seconds")))]
pub async fn search(
    State(state): State<AppState>,
    Query(params): Query<SearchParams>,
    headers: HeaderMap,
) -> Result<Json<MediaPage>, ApiError> {
    let token = ferrocast_kit::http::caller_token(&headers);
    let page = state
        .catalog
        .search(
            token.as_deref(),
            request_id(&headers),
            SearchRequest {
                q: params.q,
                tags: params.tags,
                owner: params.owner,
                cursor: params.cursor,
                limit: params.limit,
            },
        )
        .await?;
    Ok(Json(MediaPage {
        items: page.items.into_iter().map(MediaView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Tags beginning with a prefix, most used first: the tag box's autocomplete.
#[utoipa::path(get, path = "/api/tags", params(TagParams),
    responses((status = 200, body = TagList)))]
pub async fn tags(
    State(state): State<AppState>,
    Query(params): Query<TagParams>,
) -> Result<Json<TagList>, ApiError> {
    let tags = state
        .catalog
        .tags(params.prefix.as_deref().unwrap_or(""), params.limit)
        .await?;
    Ok(Json(TagList {
        tags: tags.into_iter().map(Into::into).collect(),
    }))
}
