//! `GET /api/users/openapi.json`: the OpenAPI document of the public REST surface.
//!
//! A copy is committed as `frontend/openapi/users.json`; the web client generates its API types
//! from that file at build time, and the test below fails when the copy and the code disagree,
//! so the browser's types cannot drift from the handlers.

use utoipa::OpenApi;

use super::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ferrocast users",
        description = "Accounts, sessions and stream keys"
    ),
    paths(
        routes::signup,
        routes::login,
        routes::logout,
        routes::me,
        routes::profile,
        routes::rotate_stream_key,
        routes::stream_key_info
    )
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::ApiDoc;

    #[test]
    fn committed_document_matches_the_code() {
        let document = ApiDoc::openapi()
            .to_pretty_json()
            .expect("the document serialises");
        ferrocast_testkit::openapi::assert_committed_document("users", &document);
    }
}
