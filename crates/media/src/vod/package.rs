//! Shaka Packager's command line, content keys, and what encrypted playback needs around them.
//!
//! The packager writes CMAF: one set of fMP4 segments per stream (`init.mp4` + `$Number$.m4s`)
//! that both the HLS playlists and the DASH `.mpd` point at, with a static MPD for a file
//! (`--generate_static_live_mpd`; without it the MPD is `dynamic`).
//!
//! **The key never reaches argv**, which every local user can read in `/proc/PID/cmdline`. Shaka
//! Packager (v3, abseil flags) reads any flag from a file: `--flagfile PATH`, one `--flag=value`
//! per line. The worker writes [`ContentKey::flagfile`] into a file only it can read (mode 0600)
//! and passes its path; the command line names only the file. (`--fromenv=keys` with
//! `FLAGS_keys=…` in the environment also works, but the environment is inherited by every child
//! and shown by debugging tools: the file is narrower.) The packager echoes an unparsable `--keys`
//! value in its error message, so keys are only ever built valid here ([`ContentKey`]).
//!
//! The flag file also fixes the IV (`--iv`): cbcs uses one constant IV per key anyway, and with
//! it fixed a rendition packaged again (alone for fast start, then with all the others for the
//! MPD) has byte-identical segments, so a player mixing the two runs still decrypts.

use std::{
    ffi::OsString,
    fmt::{self, Write as _},
    path::Path,
};

use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine as _,
};

use crate::ladder::argv::Args;

/// A video's content key: 128-bit key id, key and IV. Built from 16 random bytes each by the
/// worker; `Debug` shows the key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct ContentKey {
    kid: [u8; 16],
    key: [u8; 16],
    iv: [u8; 16],
}

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentKey")
            .field("kid", &hex(&self.kid))
            .finish_non_exhaustive()
    }
}

impl ContentKey {
    pub fn new(kid: [u8; 16], key: [u8; 16], iv: [u8; 16]) -> Self {
        Self { kid, key, iv }
    }

    /// Key id, key and IV in that order: what is sealed at rest.
    pub fn to_bytes(&self) -> [u8; 48] {
        let mut bytes = [0u8; 48];
        bytes[..16].copy_from_slice(&self.kid);
        bytes[16..32].copy_from_slice(&self.key);
        bytes[32..].copy_from_slice(&self.iv);
        bytes
    }

    /// The key [`ContentKey::to_bytes`] wrote; `None` for anything but 48 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; 48] = bytes.try_into().ok()?;
        let part = |at: usize| {
            let mut out = [0u8; 16];
            out.copy_from_slice(&bytes[at..at + 16]);
            out
        };
        Some(Self::new(part(0), part(16), part(32)))
    }

    pub fn kid(&self) -> [u8; 16] {
        self.kid
    }

    /// The key id as the DASH `cenc:default_KID` and licence requests spell it: 32 hex digits.
    pub fn kid_hex(&self) -> String {
        hex(&self.kid)
    }

    /// The text of the packager's flag file: the key and IV, one flag per line. Secret: write it
    /// to a file of mode 0600 and remove it after packaging.
    pub fn flagfile(&self) -> String {
        format!(
            "--keys=label=:key_id={}:key={}\n--iv={}\n",
            hex(&self.kid),
            hex(&self.key),
            hex(&self.iv)
        )
    }
}

/// One stream for the packager: an MP4 from ffmpeg and the name of its folder and playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackStream<'a> {
    pub kind: PackKind,
    pub input: &'a Path,
    /// `720p`, `audio`...: folder `{out_dir}/{name}/`, playlist `{out_dir}/{name}.m3u8`.
    pub name: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackKind {
    Video,
    /// In the HLS audio group [`AUDIO_GROUP`].
    Audio,
}

/// The HLS audio group every video variant refers to.
pub const AUDIO_GROUP: &str = "audio";

/// One packager run.
#[derive(Debug, Clone, Copy)]
pub struct Package<'a> {
    pub streams: &'a [PackStream<'a>],
    pub out_dir: &'a Path,
    pub segment_seconds: u32,
    /// The packager's own HLS master. For a run of some streams only (fast start), point it at a
    /// scratch file and serve the master of [`super::master`] instead.
    pub hls_master: &'a Path,
    /// The DASH manifest; `None` for a fast-start run of some streams only.
    pub mpd: Option<&'a Path>,
    /// The 0600 flag file holding [`ContentKey::flagfile`]; `None` for clear content.
    pub key_flagfile: Option<&'a Path>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PackageError {
    /// The packager splits stream descriptors at `,` and `=`; a path with them (or not UTF-8)
    /// would be read as other fields.
    #[error("path {0:?} cannot be given to the packager (it must be UTF-8 without ',' or '=')")]
    UnsafePath(String),
    #[error("stream name {0:?} must be 1–32 of [a-z0-9_-]")]
    BadName(String),
    #[error("nothing to package")]
    NoStreams,
}

impl Package<'_> {
    pub fn argv(&self) -> Result<Vec<OsString>, PackageError> {
        if self.streams.is_empty() {
            return Err(PackageError::NoStreams);
        }
        let mut args = Args::default();
        for stream in self.streams {
            args.0.push(self.descriptor(stream)?.into());
        }
        let segment_seconds = self.segment_seconds.max(1).to_string();
        args.push(&[
            "--segment_duration",
            &segment_seconds,
            "--generate_static_live_mpd",
        ]);
        if let Some(flagfile) = self.key_flagfile {
            args.push(&[
                "--enable_raw_key_encryption",
                "--protection_scheme",
                "cbcs",
                "--clear_lead",
                "0",
                "--flagfile",
            ]);
            args.push(&[safe(flagfile)?]);
        }
        if let Some(mpd) = self.mpd {
            args.push(&["--mpd_output", safe(mpd)?]);
        }
        args.push(&["--hls_master_playlist_output", safe(self.hls_master)?]);
        Ok(args.0)
    }

    fn descriptor(&self, stream: &PackStream) -> Result<String, PackageError> {
        let name = stream.name;
        let valid = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            return Err(PackageError::BadName(name.to_owned()));
        }
        let folder = self.out_dir.join(name);
        let mut descriptor = format!(
            "in={},stream={},init_segment={},segment_template={},playlist_name={name}.m3u8",
            safe(stream.input)?,
            match stream.kind {
                PackKind::Video => "video",
                PackKind::Audio => "audio",
            },
            safe(&folder.join("init.mp4"))?,
            safe(&folder.join("$Number$.m4s"))?,
        );
        if stream.kind == PackKind::Audio {
            let _ = write!(descriptor, ",hls_group_id={AUDIO_GROUP},hls_name={name}");
        }
        Ok(descriptor)
    }
}

fn safe(path: &Path) -> Result<&str, PackageError> {
    match path.to_str() {
        Some(text) if !text.contains([',', '=']) => Ok(text),
        _ => Err(PackageError::UnsafePath(
            path.to_string_lossy().into_owned(),
        )),
    }
}

/// The packager's encrypted HLS playlist rewritten for hls.js with EME ClearKey: its
/// `METHOD=SAMPLE-AES` key lines (`KEYFORMAT="identity"`, which hls.js cannot play) become
/// `#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,<kid>",KEYFORMAT="org.w3.clearkey",KEYFORMATVERSIONS="1"`,
/// without IV. Shaka Player rejects this form, so serve it as a second variant over the same
/// segments, never instead of the original. Other lines are kept as they are.
pub fn clearkey_hls(playlist: &str, kid: [u8; 16]) -> String {
    let line = format!(
        "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,{}\",KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"",
        STANDARD.encode(kid)
    );
    let mut out = String::with_capacity(playlist.len());
    for text in playlist.split_inclusive('\n') {
        let (body, ending) = match text.strip_suffix('\n') {
            Some(body) => (body.strip_suffix('\r').unwrap_or(body), &text[body.len()..]),
            None => (text, ""),
        };
        if body.starts_with("#EXT-X-KEY:") && body.contains("METHOD=SAMPLE-AES") {
            out.push_str(&line);
            out.push_str(if ending.is_empty() { "" } else { "\n" });
        } else {
            out.push_str(text);
        }
    }
    out
}

/// The ClearKey licence (W3C EME, JSON Web Key set) for `keys`:
/// `{"keys":[{"kty":"oct","kid":B64URL,"k":B64URL}],"type":"temporary"}`. Secret: only for a
/// viewer the caller has allowed.
pub fn clearkey_licence(keys: &[&ContentKey]) -> String {
    #[derive(serde::Serialize)]
    struct Licence {
        keys: Vec<Jwk>,
        r#type: &'static str,
    }
    #[derive(serde::Serialize)]
    struct Jwk {
        kty: &'static str,
        kid: String,
        k: String,
    }
    let licence = Licence {
        keys: keys
            .iter()
            .map(|k| Jwk {
                kty: "oct",
                kid: URL_SAFE_NO_PAD.encode(k.kid),
                k: URL_SAFE_NO_PAD.encode(k.key),
            })
            .collect(),
        r#type: "temporary",
    };
    // Serialising strings into a String cannot fail.
    serde_json::to_string(&licence).unwrap_or_default()
}

/// The most key ids one licence request may ask for; a video has one.
pub const MAX_LICENCE_KIDS: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "not a ClearKey licence request ({{\"kids\":[base64url key ids]}}, at most {MAX_LICENCE_KIDS})"
)]
pub struct LicenceRequestError;

/// The key ids of a ClearKey licence request body, `{"kids":["B64URL",...],"type":...}`.
pub fn licence_request_kids(body: &[u8]) -> Result<Vec<[u8; 16]>, LicenceRequestError> {
    #[derive(serde::Deserialize)]
    struct Request {
        kids: Vec<String>,
    }
    if body.len() > 4096 {
        return Err(LicenceRequestError);
    }
    let request: Request = serde_json::from_slice(body).map_err(|_| LicenceRequestError)?;
    if request.kids.is_empty() || request.kids.len() > MAX_LICENCE_KIDS {
        return Err(LicenceRequestError);
    }
    request
        .kids
        .iter()
        .map(|kid| {
            // Browsers send base64url without padding; accept padded too.
            let bytes = URL_SAFE_NO_PAD
                .decode(kid.trim_end_matches('='))
                .map_err(|_| LicenceRequestError)?;
            <[u8; 16]>::try_from(bytes).map_err(|_| LicenceRequestError)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(32), |mut text, b| {
        let _ = write!(text, "{b:02x}");
        text
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ladder::argv::tests::strings;

    const KID: [u8; 16] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff,
    ];
    const KEY: [u8; 16] = [0xa5; 16];

    fn key() -> ContentKey {
        ContentKey::new(KID, KEY, [0x01; 16])
    }

    fn streams() -> Vec<PackStream<'static>> {
        vec![
            PackStream {
                kind: PackKind::Audio,
                input: Path::new("/s/j1/audio.mp4"),
                name: "audio",
            },
            PackStream {
                kind: PackKind::Video,
                input: Path::new("/s/j1/720p.mp4"),
                name: "720p",
            },
        ]
    }

    fn package<'a>(streams: &'a [PackStream<'a>], flagfile: Option<&'a Path>) -> Package<'a> {
        Package {
            streams,
            out_dir: Path::new("/s/j1/out"),
            segment_seconds: 2,
            hls_master: Path::new("/s/j1/out/master.m3u8"),
            mpd: Some(Path::new("/s/j1/out/manifest.mpd")),
            key_flagfile: flagfile,
        }
    }

    #[test]
    fn cmaf_command_has_one_descriptor_per_stream_and_both_manifests() {
        let streams = streams();
        let args = strings(package(&streams, None).argv().expect("argv"));
        assert_eq!(
            args[0],
            "in=/s/j1/audio.mp4,stream=audio,init_segment=/s/j1/out/audio/init.mp4,\
             segment_template=/s/j1/out/audio/$Number$.m4s,playlist_name=audio.m3u8,\
             hls_group_id=audio,hls_name=audio"
        );
        assert_eq!(
            args[1],
            "in=/s/j1/720p.mp4,stream=video,init_segment=/s/j1/out/720p/init.mp4,\
             segment_template=/s/j1/out/720p/$Number$.m4s,playlist_name=720p.m3u8"
        );
        assert_eq!(
            args[2..],
            [
                "--segment_duration",
                "2",
                "--generate_static_live_mpd",
                "--mpd_output",
                "/s/j1/out/manifest.mpd",
                "--hls_master_playlist_output",
                "/s/j1/out/master.m3u8"
            ]
        );
    }

    #[test]
    fn encryption_names_the_flag_file_and_never_the_key() {
        let streams = streams();
        let flagfile = PathBuf::from("/s/j1/keys.flags");
        let args = strings(package(&streams, Some(&flagfile)).argv().expect("argv"));
        let joined = args.join(" ");
        assert!(joined.contains(
            "--enable_raw_key_encryption --protection_scheme cbcs --clear_lead 0 \
             --flagfile /s/j1/keys.flags"
        ));
        assert!(!joined.contains("--keys"), "{joined}");
        assert!(!joined.contains(&hex(&KEY)), "{joined}");
        assert!(!joined.contains(&hex(&KID)), "{joined}");
    }

    #[test]
    fn flag_file_holds_key_and_iv_and_debug_hides_the_key() {
        assert_eq!(
            key().flagfile(),
            "--keys=label=:key_id=00112233445566778899aabbccddeeff:\
             key=a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5\n\
             --iv=01010101010101010101010101010101\n"
        );
        let debug = format!("{:?}", key());
        assert!(
            debug.contains("00112233445566778899aabbccddeeff"),
            "{debug}"
        );
        assert!(!debug.contains("a5a5"), "{debug}");
        assert_eq!(key().kid_hex(), "00112233445566778899aabbccddeeff");
        assert_eq!(ContentKey::from_bytes(&key().to_bytes()), Some(key()));
        assert_eq!(ContentKey::from_bytes(&[0; 47]), None);
    }

    #[test]
    fn paths_and_names_that_would_break_descriptors_are_refused() {
        let comma = [PackStream {
            kind: PackKind::Video,
            input: Path::new("/s/a,stream=text/v.mp4"),
            name: "720p",
        }];
        assert!(matches!(
            package(&comma, None).argv(),
            Err(PackageError::UnsafePath(_))
        ));
        let name = [PackStream {
            kind: PackKind::Video,
            input: Path::new("/s/v.mp4"),
            name: "../720p",
        }];
        assert_eq!(
            package(&name, None).argv(),
            Err(PackageError::BadName("../720p".into()))
        );
        assert_eq!(package(&[], None).argv(), Err(PackageError::NoStreams));
    }

    #[test]
    fn key_lines_are_rewritten_for_hls_js_clearkey() {
        // As the packager writes it (v3.8.0, cbcs).
        let packaged = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n\
            #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI=\"720p/init.mp4\"\n\
            #EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,ABEiM0RVZneImaq7zN3u/w==\",\
            IV=0x30b2c614d8a3045a8ae371a74e26d46b,KEYFORMAT=\"identity\"\n\
            #EXTINF:2.000,\n720p/1.m4s\n#EXT-X-ENDLIST\n";
        let rewritten = clearkey_hls(packaged, KID);
        assert_eq!(
            rewritten,
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n\
            #EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI=\"720p/init.mp4\"\n\
            #EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,ABEiM0RVZneImaq7zN3u/w==\",\
            KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"\n\
            #EXTINF:2.000,\n720p/1.m4s\n#EXT-X-ENDLIST\n"
        );
        // Clear playlists and CRLF endings pass through; a key line loses its CR.
        let clear = "#EXTM3U\r\n#EXTINF:2.000,\r\n1.m4s";
        assert_eq!(clearkey_hls(clear, KID), clear);
        assert_eq!(
            clearkey_hls("#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"x\"\r\n", KID)
                .matches('\r')
                .count(),
            0
        );
    }

    #[test]
    fn licence_is_a_jwk_set_in_base64url() {
        assert_eq!(
            clearkey_licence(&[&key()]),
            "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"ABEiM0RVZneImaq7zN3u_w\",\
             \"k\":\"paWlpaWlpaWlpaWlpaWlpQ\"}],\"type\":\"temporary\"}"
        );
    }

    #[test]
    fn licence_requests_name_key_ids_in_base64url() {
        let body = br#"{"kids":["ABEiM0RVZneImaq7zN3u_w"],"type":"temporary"}"#;
        assert_eq!(licence_request_kids(body), Ok(vec![KID]));
        let padded = br#"{"kids":["ABEiM0RVZneImaq7zN3u_w=="]}"#;
        assert_eq!(licence_request_kids(padded), Ok(vec![KID]));
        for bad in [
            &br#"{"kids":[]}"#[..],
            br#"{"kids":["short"]}"#,
            br#"{"kids":["ABEiM0RVZneImaq7zN3u/w"]}"#,
            b"[]",
            &[b' '; 5000],
        ] {
            assert_eq!(licence_request_kids(bad), Err(LicenceRequestError));
        }
    }
}
