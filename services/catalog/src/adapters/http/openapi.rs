//! `GET /api/media/openapi.json`: the OpenAPI document of the catalogue's REST surface. A copy
//! is committed as `frontend/openapi/catalog.json`, which the web client builds its types from;
//! the test below fails when the copy and the code disagree.

use axum::Json;
use utoipa::OpenApi;

use super::{keys, media, playback, progress, recordings, views};
use crate::domain::{MediaKind, MediaStatus, Visibility};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ferrocast catalog",
        description = "Videos and images: uploads straight to storage, tags, search"
    ),
    paths(
        media::create,
        media::parts,
        media::finalize,
        media::get_one,
        media::update,
        media::delete,
        media::original,
        media::vod_file,
        media::search,
        media::tags,
        keys::licence,
        keys::settings,
        keys::save_settings,
        recordings::recent,
        progress::stream,
        playback::ask,
        playback::list,
        playback::heartbeat,
        playback::end,
        playback::stop,
        playback::events
    ),
    components(schemas(
        MediaKind,
        MediaStatus,
        Visibility,
        views::MediaView,
        views::ProcessingView,
        views::EncryptionView,
        crate::domain::OwnerSettings,
        crate::domain::SettingsChange,
        crate::domain::processing::JobState,
        views::SignedRequest,
        views::UploadView,
        views::CreatedMedia,
        views::CreateMedia,
        views::UpdateMedia,
        views::PartDigest,
        views::PartsRequest,
        views::PartUrl,
        views::PartUrls,
        views::MediaPage,
        views::TagView,
        views::TagList,
        recordings::RecordingView,
        recordings::RecordingList,
        progress::ProgressEvent,
        playback::PlaybackAsk,
        playback::PlaybackAsked,
        playback::SessionView,
        playback::SessionList,
        playback::Heartbeat,
        crate::domain::playback::ActiveSession,
        crate::domain::playback::QueuedRequest
    ))
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::ApiDoc;

    #[test]
    fn committed_document_matches_the_code() {
        let document = ApiDoc::openapi()
            .to_pretty_json()
            .expect("the document serialises");
        ferrocast_testkit::openapi::assert_committed_document("catalog", &document);
    }
}
