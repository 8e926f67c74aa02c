//! Text rules for ffmpeg's variant playlists (`{rendition}/index.m3u8`): which segment a playlist
//! ends with, and the same playlist closed with `#EXT-X-ENDLIST`.
//!
//! The stall watchdog measures progress by the newest segment, not by the file's mtime: on a
//! full disk ffmpeg keeps rewriting its playlist (empty) while every segment write fails, so an
//! mtime looks alive while viewers get nothing. The closing rule serves a pipeline that gave up
//! (a SIGKILLed ffmpeg cannot write the end tag): players must see an ended stream, not a frozen
//! live one.

/// The tag that tells players no segment will follow.
const ENDLIST: &str = "#EXT-X-ENDLIST";

/// The last segment URI listed, if any. ffmpeg names segments with a rising counter and never
/// lists a segment before it is complete, so a new name here means a new segment.
pub fn last_segment(playlist: &str) -> Option<&str> {
    playlist
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Whether players are already told the stream ended.
pub fn is_ended(playlist: &str) -> bool {
    playlist.lines().any(|line| line.trim() == ENDLIST)
}

/// `playlist` closed with `#EXT-X-ENDLIST`, or `None` when it already is.
///
/// A playlist without its `#EXTM3U` header (ffmpeg's rewrite that hit a full disk leaves an
/// empty file) is replaced by an empty ended one, since a player cannot parse a bare end tag;
/// `target_seconds` fills its mandatory `#EXT-X-TARGETDURATION`.
pub fn with_endlist(playlist: &str, target_seconds: u32) -> Option<String> {
    if is_ended(playlist) {
        return None;
    }
    if !playlist.trim_start().starts_with("#EXTM3U") {
        return Some(format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target_seconds}\n\
             #EXT-X-MEDIA-SEQUENCE:0\n{ENDLIST}\n"
        ));
    }
    let mut closed = String::with_capacity(playlist.len() + ENDLIST.len() + 2);
    closed.push_str(playlist);
    // A line glued to the tag would make both unreadable.
    if !closed.ends_with('\n') {
        closed.push('\n');
    }
    closed.push_str(ENDLIST);
    closed.push('\n');
    Some(closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n\
        #EXT-X-MEDIA-SEQUENCE:4\n#EXTINF:2.000000,\nab12cd34_00004.ts\n\
        #EXT-X-DISCONTINUITY\n#EXTINF:2.000000,\nab12cd34_00005.ts\n";

    #[test]
    fn the_last_listed_uri_is_the_newest_segment() {
        assert_eq!(last_segment(LIVE), Some("ab12cd34_00005.ts"));
        assert_eq!(
            last_segment("#EXTM3U\r\n#EXTINF:1,\r\nx_00001.ts\r\n"),
            Some("x_00001.ts")
        );
    }

    #[test]
    fn playlists_without_segments_show_no_progress() {
        // What ffmpeg leaves on a full disk: an empty file, or a header and no segment.
        assert_eq!(last_segment(""), None);
        assert_eq!(
            last_segment("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:0\n"),
            None
        );
    }

    #[test]
    fn rewriting_the_same_segments_is_not_progress_but_a_new_one_is() {
        let rewritten = LIVE.replace("#EXT-X-VERSION:3\n", "#EXT-X-VERSION:3\n\n");
        assert_eq!(last_segment(&rewritten), last_segment(LIVE));
        let newer = format!("{LIVE}#EXTINF:2.000000,\nab12cd34_00006.ts\n");
        assert_ne!(last_segment(&newer), last_segment(LIVE));
    }

    #[test]
    fn a_live_playlist_gets_the_end_tag_appended_once() {
        let closed = with_endlist(LIVE, 2).expect("closed");
        assert_eq!(closed, format!("{LIVE}#EXT-X-ENDLIST\n"));
        assert!(is_ended(&closed));
        assert_eq!(with_endlist(&closed, 2), None);
        // Segments stay listed: the ended stream remains playable until cleanup.
        assert_eq!(last_segment(&closed), Some("ab12cd34_00005.ts"));
    }

    #[test]
    fn a_missing_final_newline_does_not_glue_the_tag_to_a_uri() {
        let closed = with_endlist(LIVE.trim_end(), 2).expect("closed");
        assert!(
            closed.ends_with("ab12cd34_00005.ts\n#EXT-X-ENDLIST\n"),
            "{closed}"
        );
    }

    #[test]
    fn an_empty_or_headerless_playlist_becomes_a_valid_ended_one() {
        for broken in ["", "\n", "#EXTINF:2.0,\n"] {
            let closed = with_endlist(broken, 2).expect("closed");
            assert!(closed.starts_with("#EXTM3U\n"), "{closed}");
            assert!(closed.contains("#EXT-X-TARGETDURATION:2\n"), "{closed}");
            assert!(is_ended(&closed));
            assert_eq!(last_segment(&closed), None);
        }
    }
}
