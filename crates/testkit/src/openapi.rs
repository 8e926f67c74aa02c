//! The OpenAPI documents the frontend builds its types from (`frontend/openapi/*.json`) are
//! committed: a service's test compares the committed document with the one its code generates,
//! so the two cannot drift. `UPDATE_OPENAPI=1` rewrites the file instead of comparing.

/// Asserts that `frontend/openapi/{service}.json` holds `document` (the service's
/// `ApiDoc::openapi().to_pretty_json()`), or writes it there when `UPDATE_OPENAPI` is set.
pub fn assert_committed_document(service: &str, document: &str) {
    let path = crate::workspace_root().join(format!("frontend/openapi/{service}.json"));
    let generated = format!("{document}\n");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("frontend/openapi/ is writable");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} differs from the {service} API in code; regenerate it with\n  \
         UPDATE_OPENAPI=1 cargo test -p ferrocast-{service} --lib openapi\nand commit it",
        path.display()
    );
}
