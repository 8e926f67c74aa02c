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
        routes::rotate_stream_key,
        routes::stream_key_info
    )
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use utoipa::OpenApi;

    use super::ApiDoc;

    /// Compares the committed document with the code's; `UPDATE_OPENAPI=1` rewrites it instead.
    #[test]
    fn committed_document_matches_the_code() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../frontend/openapi/users.json");
        let generated = ApiDoc::openapi()
            .to_pretty_json()
            .expect("the document serialises")
            + "\n";
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).expect("frontend/openapi/ is writable");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} differs from the users API in code; regenerate it with\n  \
             UPDATE_OPENAPI=1 cargo test -p ferrocast-users --lib openapi\nand commit it",
            path.display()
        );
    }
}
