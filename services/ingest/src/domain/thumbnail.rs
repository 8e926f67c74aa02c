//! What a live thumbnail is made from, read from the playlists a session already writes: the
//! lowest rung of the master playlist (the cheapest picture to decode) and that rung's newest
//! complete segment, with its init segment when the rung is fMP4. Every name that comes out has
//! passed the origin's path allowlist, so a playlist can never point the decoder outside the
//! session folder. Also the decoder's command line: one keyframe, scaled, as a JPEG on stdout.

use std::ffi::OsString;

use super::{is_file_name, is_rendition};

/// The newest complete segment of a rung, as names inside the rung's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRef {
    /// `#EXT-X-MAP` of an fMP4 rung: decoded in front of the segment.
    pub init: Option<String>,
    pub segment: String,
}

/// The rendition folder of the variant with the smallest picture (height, then bandwidth) in a
/// master playlist; variants without a `RESOLUTION` count as the largest.
pub fn lowest_rendition(master: &str) -> Option<String> {
    let mut best: Option<((u64, u64), String)> = None;
    let mut lines = master.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(attributes) = line.strip_prefix("#EXT-X-STREAM-INF:") else {
            continue;
        };
        let Some(uri) = lines.find(|l| !l.is_empty() && !l.starts_with('#')) else {
            break;
        };
        let Some((folder, "index.m3u8")) = uri.split_once('/') else {
            continue;
        };
        if !is_rendition(folder) {
            continue;
        }
        let height = attribute(attributes, "RESOLUTION")
            .and_then(|r| r.split_once('x'))
            .and_then(|(_, h)| h.parse().ok())
            .unwrap_or(u64::MAX);
        let bandwidth = attribute(attributes, "BANDWIDTH")
            .and_then(|b| b.parse().ok())
            .unwrap_or(u64::MAX);
        if best
            .as_ref()
            .is_none_or(|(rank, _)| (height, bandwidth) < *rank)
        {
            best = Some(((height, bandwidth), folder.to_owned()));
        }
    }
    best.map(|(_, folder)| folder)
}

/// The last segment a media playlist lists (parts and hints are tags, so this is the newest
/// complete one), with the init segment in force for it.
pub fn newest_segment(playlist: &str) -> Option<SegmentRef> {
    let mut init = None;
    let mut newest = None;
    for line in playlist.lines().map(str::trim) {
        if let Some(attributes) = line.strip_prefix("#EXT-X-MAP:") {
            init = attribute(attributes, "URI").map(|uri| uri.trim_matches('"').to_owned());
        } else if !line.is_empty() && !line.starts_with('#') {
            newest = Some(SegmentRef {
                init: init.clone(),
                segment: line.to_owned(),
            });
        }
    }
    let newest = newest?;
    let names_ok = is_file_name(&newest.segment) && newest.init.as_deref().is_none_or(is_file_name);
    names_ok.then_some(newest)
}

/// ffmpeg's arguments for one thumbnail of `input`, `width` pixels wide at most (never
/// upscaled), as a JPEG on stdout. Only keyframes are decoded (`-skip_frame nokey`), on one
/// thread: a thumbnail must cost a fraction of the stream it shows.
pub fn ffmpeg_args(input: &str, width: u32) -> Vec<OsString> {
    let scale = format!("scale='min({width},iw)':-2");
    [
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-threads",
        "1",
        "-skip_frame",
        "nokey",
        "-i",
        input,
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-vf",
        &scale,
        "-an",
        "-c:v",
        "mjpeg",
        "-q:v",
        "5",
        "-f",
        "image2pipe",
        "pipe:1",
    ]
    .into_iter()
    .map(OsString::from)
    .collect()
}

/// Whether `bytes` look like a whole JPEG (start and end markers): ffmpeg killed mid-write or
/// a decoder that found no picture must not replace a good thumbnail.
pub fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.len() > 4 && bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9])
}

/// The value of `name` in an HLS attribute list (`NAME=value,NAME="quoted, value"`).
fn attribute<'a>(attributes: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = attributes;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&after[..end + 2], quoted[end + 1..].trim_start_matches(','))
        } else {
            match after.split_once(',') {
                Some((value, next)) => (value, next),
                None => (after, ""),
            }
        };
        if key.trim() == name {
            return Some(value);
        }
        rest = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:3\n\
        #EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\"\n\
        720p/index.m3u8\n\
        #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS=\"avc1.4d401e,mp4a.40.2\"\n\
        360p/index.m3u8\n\
        #EXT-X-STREAM-INF:BANDWIDTH=1500000,RESOLUTION=854x480\n\
        480p/index.m3u8\n";

    #[test]
    fn the_lowest_rung_is_the_smallest_picture() {
        assert_eq!(lowest_rendition(MASTER).as_deref(), Some("360p"));
        assert_eq!(lowest_rendition("#EXTM3U\n"), None);
    }

    #[test]
    fn variants_outside_the_allowlist_are_never_chosen() {
        let master = "#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=16x16\n../../etc/index.m3u8\n\
            #EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=32x32\nhttp://x/index.m3u8\n\
            #EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=48x48\n160p/other.m3u8\n\
            #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n360p/index.m3u8\n";
        assert_eq!(lowest_rendition(master).as_deref(), Some("360p"));
    }

    #[test]
    fn the_newest_listed_segment_is_taken_with_its_init_segment() {
        let ts = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\na_00001.ts\n\
            #EXTINF:1.0,\na_00002.ts\n#EXT-X-PART:DURATION=0.33,URI=\"a_00003.0.ts\"\n\
            #EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"a_00003.1.ts\"\n";
        assert_eq!(
            newest_segment(ts),
            Some(SegmentRef {
                init: None,
                segment: "a_00002.ts".into()
            })
        );
        let fmp4 = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\nseg-7.m4s\n";
        assert_eq!(
            newest_segment(fmp4),
            Some(SegmentRef {
                init: Some("init.mp4".into()),
                segment: "seg-7.m4s".into()
            })
        );
        assert_eq!(newest_segment("#EXTM3U\n#EXT-X-TARGETDURATION:1\n"), None);
    }

    #[test]
    fn segments_outside_the_allowlist_are_refused() {
        for bad in ["../x.ts", "/etc/passwd", "http://x/a.ts", "a.html"] {
            assert_eq!(
                newest_segment(&format!("#EXTINF:1,\n{bad}\n")),
                None,
                "{bad}"
            );
        }
        let bad_init = "#EXT-X-MAP:URI=\"../init.mp4\"\n#EXTINF:1,\nseg-1.m4s\n";
        assert_eq!(newest_segment(bad_init), None);
    }

    #[test]
    fn attributes_are_read_around_quoted_commas() {
        let list = "BANDWIDTH=800000,CODECS=\"avc1.4d401e,mp4a.40.2\",RESOLUTION=640x360";
        assert_eq!(attribute(list, "RESOLUTION"), Some("640x360"));
        assert_eq!(attribute(list, "CODECS"), Some("\"avc1.4d401e,mp4a.40.2\""));
        assert_eq!(attribute(list, "FRAME-RATE"), None);
    }

    #[test]
    fn the_command_decodes_keyframes_only_and_never_upscales() {
        let args: Vec<String> = ffmpeg_args("a_1.ts", 320)
            .into_iter()
            .map(|a| a.into_string().unwrap_or_default())
            .collect();
        let skip = args
            .iter()
            .position(|a| a == "-skip_frame")
            .unwrap_or(usize::MAX);
        let input = args.iter().position(|a| a == "-i").unwrap_or(0);
        assert!(skip < input, "an input option: {args:?}");
        assert!(args.contains(&"scale='min(320,iw)':-2".to_owned()));
        assert_eq!(args.last().map(String::as_str), Some("pipe:1"));
    }

    #[test]
    fn only_whole_jpegs_pass() {
        assert!(is_jpeg(&[0xFF, 0xD8, 0, 0, 0xFF, 0xD9]));
        assert!(!is_jpeg(&[0xFF, 0xD8, 0, 0, 0, 0]));
        assert!(!is_jpeg(b""));
    }
}
