//! Mapping browser paths onto files of the built frontend, and how long each may be cached.
//!
//! Vite names everything under `/assets/` after its content hash, so those files never change and
//! are cached for a year (`immutable`). `index.html` names the current hashes, so it is revalidated
//! on every load (`no-cache`); so are the few unhashed root files (favicon, robots.txt).
//!
//! A path without a file extension is a browser route (`/watch/alice`) and gets `index.html` (SPA
//! fallback). A path with one is a file: missing means 404, never `index.html`, or a missing
//! script would be answered with HTML. Dotfiles and the services' prefixes are never served.

use super::{path::segments, route::is_reserved, route::RouteError};

pub const INDEX: &str = "index.html";
const ASSETS: &str = "assets";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaticKind {
    /// `index.html`, directly or as the SPA fallback.
    Page,
    /// A content-hashed build output under `/assets/`.
    Asset,
    /// Any other file at the root of the build output.
    File,
}

impl StaticKind {
    /// The `Cache-Control` value for a successful answer.
    pub fn cache_control(self) -> &'static str {
        match self {
            Self::Asset => "public, max-age=31536000, immutable",
            Self::Page | Self::File => "no-cache",
        }
    }
}

/// A file of the build output, relative to its root, and what kind of file it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticTarget {
    pub file: String,
    pub kind: StaticKind,
}

impl StaticTarget {
    pub fn parse(path: &str) -> Result<Self, RouteError> {
        let parts = segments(path)?;
        let Some((last, _)) = parts.split_last() else {
            return Ok(Self::page());
        };
        if parts.first().is_some_and(|first| is_reserved(first)) {
            return Err(RouteError::NotFound);
        }
        if !parts.iter().all(|p| is_file_name(p)) {
            return Err(RouteError::NotFound);
        }
        let in_assets = parts.first() == Some(&ASSETS);
        if !last.contains('.') {
            // Browser routes never live under /assets/.
            return if in_assets {
                Err(RouteError::NotFound)
            } else {
                Ok(Self::page())
            };
        }
        let kind = match (in_assets, parts.as_slice()) {
            (true, _) => StaticKind::Asset,
            (false, [INDEX]) => StaticKind::Page,
            (false, _) => StaticKind::File,
        };
        Ok(Self {
            file: parts.join("/"),
            kind,
        })
    }

    fn page() -> Self {
        Self {
            file: INDEX.to_owned(),
            kind: StaticKind::Page,
        }
    }
}

/// Build output names: letters, digits and `._-~@+`, not starting with a dot (no dotfiles).
fn is_file_name(name: &str) -> bool {
    !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-~@+".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::path::PathError;

    fn target(path: &str) -> Result<(String, StaticKind), RouteError> {
        StaticTarget::parse(path).map(|t| (t.file, t.kind))
    }

    #[test]
    fn browser_routes_fall_back_to_index() {
        for path in ["/", "/login", "/watch/alice", "/dashboard/", "/index.html"] {
            assert_eq!(target(path), Ok((INDEX.into(), StaticKind::Page)), "{path}");
        }
    }

    #[test]
    fn files_map_to_their_kind_and_cache_policy() {
        let asset = target("/assets/index-3f2a9c.js");
        assert_eq!(
            asset,
            Ok(("assets/index-3f2a9c.js".into(), StaticKind::Asset))
        );
        assert_eq!(
            target("/favicon.svg"),
            Ok(("favicon.svg".into(), StaticKind::File))
        );
        assert!(StaticKind::Asset.cache_control().contains("immutable"));
        assert_eq!(StaticKind::Page.cache_control(), "no-cache");
    }

    #[test]
    fn dotfiles_service_prefixes_and_asset_routes_are_not_found() {
        for path in [
            "/.env",
            "/assets/.hidden.js",
            "/internal/x",
            "/callbacks",
            "/api/x",
            "/assets/x",
            "/a b",
        ] {
            assert_eq!(target(path), Err(RouteError::NotFound), "{path}");
        }
    }

    #[test]
    fn traversal_is_a_bad_path() {
        let traversal = target("/assets/../../etc/passwd");
        assert_eq!(
            traversal,
            Err(RouteError::BadPath(PathError::DotOrEmptySegment))
        );
        let escaped = target("/%2e%2e/etc/passwd");
        assert_eq!(
            escaped,
            Err(RouteError::BadPath(PathError::EscapedSeparator))
        );
    }
}
