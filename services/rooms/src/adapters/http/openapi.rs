//! `GET /api/rooms/openapi.json`: the OpenAPI document of the public REST surface. It is served
//! to the internet through the gateway, so the internal room lookup (which names ingest origins)
//! is left out: it is documented in docs/api.md for operators.
//!
//! A copy is committed as `frontend/openapi/rooms.json`; the web client generates its API types
//! from that file at build time, and the test below fails when the copy and the code disagree,
//! so the browser's types cannot drift from the handlers.

use axum::Json;
use utoipa::OpenApi;

use super::rooms;
use crate::domain::{Rendition, RoomView};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ferrocast rooms",
        description = "Who is live, viewer presence and titles"
    ),
    paths(
        rooms::list,
        rooms::get_one,
        rooms::heartbeat,
        rooms::get_title,
        rooms::set_title
    ),
    components(schemas(
        RoomView,
        Rendition,
        rooms::RoomList,
        rooms::Heartbeat,
        rooms::Viewers,
        rooms::TitleBody
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
        ferrocast_testkit::openapi::assert_committed_document("rooms", &document);
    }
}
