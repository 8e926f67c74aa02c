//! Splitting request paths into segments that are safe to forward or to map onto files.
//!
//! The upstream URL is built from the browser's raw path, and URL parsers (reqwest's included)
//! resolve `..` and its percent-encoded forms (`%2e%2e`). Without this check
//! `/api/rooms/%2e%2e/%2e%2e/internal/rooms/alice` would reach the rooms service's internal routes.
//! So every dot segment, escaped dot, escaped separator and control byte is refused up front.

/// Longest request path the gateway forwards or serves.
pub const MAX_PATH_LEN: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is longer than {MAX_PATH_LEN} bytes")]
    TooLong,
    #[error("the path does not start with `/`")]
    NotAbsolute,
    #[error("the path has an empty, `.` or `..` segment")]
    DotOrEmptySegment,
    #[error("the path contains an escaped dot, slash or backslash")]
    EscapedSeparator,
    #[error("the path contains a character that is not allowed")]
    BadCharacter,
}

/// The segments of `path` (without the leading `/`). A single trailing `/` is allowed and yields
/// no empty segment; everything else that could change the path after parsing is refused.
pub fn segments(path: &str) -> Result<Vec<&str>, PathError> {
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    rest.split('/').map(check_segment).collect()
}

fn check_segment(segment: &str) -> Result<&str, PathError> {
    if segment.is_empty() || segment == "." || segment == ".." {
        return Err(PathError::DotOrEmptySegment);
    }
    if segment
        .bytes()
        .any(|b| b.is_ascii_control() || b == b'\\' || b >= 0x80)
    {
        return Err(PathError::BadCharacter);
    }
    let lower = segment.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%00"]
        .iter()
        .any(|e| lower.contains(e))
    {
        return Err(PathError::EscapedSeparator);
    }
    Ok(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_split_into_segments() {
        assert_eq!(segments("/"), Ok(vec![]));
        assert_eq!(segments("/api/rooms"), Ok(vec!["api", "rooms"]));
        assert_eq!(segments("/api/rooms/"), Ok(vec!["api", "rooms"]));
        assert_eq!(segments("/a%20b"), Ok(vec!["a%20b"]));
    }

    #[test]
    fn dot_segments_are_refused_in_every_spelling() {
        for path in [
            "/api/rooms/../internal",
            "/api/./rooms",
            "/api/rooms/%2e%2e/internal",
            "/api/rooms/%2E%2e/internal",
            "/api/rooms/.%2e/internal",
            "/api//rooms",
        ] {
            assert!(segments(path).is_err(), "{path} must be refused");
        }
    }

    #[test]
    fn escaped_separators_and_control_bytes_are_refused() {
        assert_eq!(segments("/a%2fb"), Err(PathError::EscapedSeparator));
        assert_eq!(segments("/a%5Cb"), Err(PathError::EscapedSeparator));
        assert_eq!(segments("/a%00"), Err(PathError::EscapedSeparator));
        assert_eq!(segments("/a\\b"), Err(PathError::BadCharacter));
        assert_eq!(segments("/a\tb"), Err(PathError::BadCharacter));
        assert_eq!(segments("relative"), Err(PathError::NotAbsolute));
        assert_eq!(segments(&"/a".repeat(600)), Err(PathError::TooLong));
    }
}
